//! `sutegi-callgrind CASE N`: runs one case of the regression guard N times,
//! each through a `measured_*` function that `bench/callgrind/check` has
//! callgrind count (`--toggle-collect=*measured_CASE*`), so only the work
//! under test is counted: setup, request building and the client's side of
//! the socket stay outside. Instruction counts do not depend on the
//! machine's load, so CI can hold them to a baseline on a noisy machine.
//!
//! Cases (what a request costs sutegi on its hot path):
//! - `parse`: `parse_request` on the 430-byte browser request of the
//!   criterion benches (13 headers).
//! - `dispatch10`, `dispatch10000`: `Handler::handle` of a router of 10 or
//!   10,000 `GET /r{i}/items/{id}` routes on `GET /r{n/2}/items/42`
//!   (match, capture, handler, response, the request's drop); the request
//!   is parsed outside the count.
//! - `keepalive`: one keep-alive `GET /plaintext` through the codec, the
//!   router and the response encoder on a loopback socket: the request
//!   read and parsed from the socket, handled, its response written with
//!   `write_response`. The client writes the request before and reads the
//!   response after, outside the count.
//!
//! The checker runs each case twice (N and a larger N) and takes the
//! difference per iteration, so one-time costs (first allocations, lazy
//! initialisation) cancel out.

use std::{
    hint::black_box,
    io::{BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    process::ExitCode,
};

use sutegi::server::ResponseFraming;
use sutegi::{parse_request, write_response, Handler, Incoming, Limits, Request, Response, Router};
use sutegi_microbench::BROWSER_REQUEST;

/// wrk's keep-alive request for the plaintext cell.
const PLAINTEXT_REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

fn parse(bytes: &[u8]) -> Request {
    match parse_request(&mut &bytes[..], &Limits::default()) {
        Ok(Some(Incoming::Request(r))) => r,
        _ => panic!("the guard's request did not parse"),
    }
}

#[inline(never)]
fn measured_parse(bytes: &[u8], limits: &Limits) -> bool {
    matches!(
        parse_request(&mut black_box(bytes), limits),
        Ok(Some(Incoming::Request(_)))
    )
}

#[inline(never)]
fn measured_dispatch(handler: &dyn Handler, request: Request) -> Response {
    handler.handle(request)
}

#[inline(never)]
fn measured_keepalive(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    handler: &dyn Handler,
    limits: &Limits,
) -> bool {
    let Ok(Some(Incoming::Request(request))) = parse_request(reader, limits) else {
        return false;
    };
    let response = handler.handle(request);
    write_response(writer, response, ResponseFraming::keep_alive()).unwrap_or(false)
}

fn router(n: usize) -> Box<dyn Handler> {
    let mut router = Router::new();
    for i in 0..n {
        router = router.get(format!("/r{i}/items/{{id}}"), || "ok");
    }
    Box::new(router.into_handler().expect("a valid router"))
}

fn dispatch(n: usize, iterations: u64) -> Result<(), String> {
    let handler = router(n);
    let target = format!("GET /r{}/items/42 HTTP/1.1\r\nHost: x\r\n\r\n", n / 2).into_bytes();
    for _ in 0..iterations {
        let request = parse(&target);
        let response = measured_dispatch(&*handler, request);
        if response.status() != 200 {
            return Err(format!("dispatch answered {}", response.status()));
        }
    }
    Ok(())
}

fn keepalive(iterations: u64) -> Result<(), String> {
    let handler = Box::new(
        Router::new()
            .get("/plaintext", || "Hello, World!")
            .into_handler()
            .expect("a valid router"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let mut client = TcpStream::connect(listener.local_addr().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let (server, _) = listener.accept().map_err(|e| e.to_string())?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut writer = server.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(server);
    let limits = Limits::default();
    let mut response = vec![0u8; 4096];
    for _ in 0..iterations {
        client
            .write_all(PLAINTEXT_REQUEST)
            .map_err(|e| e.to_string())?;
        if !measured_keepalive(&mut reader, &mut writer, &*handler, &limits) {
            return Err("the keep-alive request was not answered for reuse".into());
        }
        // The whole response is small: one read takes it (loopback).
        let n = client.read(&mut response).map_err(|e| e.to_string())?;
        if !response[..n].starts_with(b"HTTP/1.1 200") || !response[..n].ends_with(b"Hello, World!")
        {
            return Err(format!(
                "unexpected response: {:?}",
                String::from_utf8_lossy(&response[..n])
            ));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (case, iterations) = match args.as_slice() {
        [case, n] => match n.parse::<u64>() {
            Ok(n) if n > 0 => (case.as_str(), n),
            _ => {
                eprintln!("sutegi-callgrind: N must be a positive integer");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: sutegi-callgrind parse|dispatch10|dispatch10000|keepalive N");
            return ExitCode::from(2);
        }
    };
    let result = match case {
        "parse" => {
            let limits = Limits::default();
            (0..iterations)
                .all(|_| measured_parse(BROWSER_REQUEST, &limits))
                .then_some(())
                .ok_or_else(|| "the browser request did not parse".to_owned())
        }
        "dispatch10" => dispatch(10, iterations),
        "dispatch10000" => dispatch(10_000, iterations),
        "keepalive" => keepalive(iterations),
        other => Err(format!("unknown case {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sutegi-callgrind {case}: {e}");
            ExitCode::FAILURE
        }
    }
}
