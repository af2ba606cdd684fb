//! The tiny_http 0.12 peer: the routes of `docs/reference-api.md` that a
//! benchmark drives (`/plaintext`, `/json`, `/users/{id}`, `POST /echo`,
//! `/events`), written the way tiny_http's docs write a server — four
//! threads sharing one `Arc<Server>`, each taking requests from
//! `incoming_requests()` and answering with `Response::from_*` — and routing
//! by matching on the URL, since tiny_http has no router.
//!
//! Streaming: `Request::respond` pushes a reader through a chunked encoder
//! that holds 8 KiB before it sends a chunk, so a body of small, slow SSE
//! frames would arrive late and in lumps. tiny_http's documented way out is
//! `Request::into_writer` (raw access to the socket, as its CGI example
//! uses): `/events` writes its own head and one flushed chunk per frame, on a
//! thread of its own so a long stream does not hold one of the four request
//! threads. That makes tiny_http the sync peer that can stream; rouille,
//! which answers through the same encoder and offers no raw writer, is not.
//!
//! Usage: `peer-tiny-http [ADDR]` (default `127.0.0.1:8080`; port 0 picks
//! one); prints `listening on http://ADDR` once bound.

use std::{io::Write, sync::Arc, thread, time::Duration};

use serde::Serialize;
use tiny_http::{Header, Method, Request, Response, Server};

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn json_response<T: Serialize>(status: u16, value: &T) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(serde_json::to_vec(value).expect("serializable"))
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"))
}

fn error(status: u16, message: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    json_response(status, &serde_json::json!({ "error": message }))
}

/// One query parameter, or its default when absent; `Err` names it when it
/// does not parse (the `/events` contract is a 400 then).
fn query_param<T: std::str::FromStr>(query: &str, name: &str, default: T) -> Result<T, String> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == name {
            return value.parse().map_err(|_| format!("invalid {name}"));
        }
    }
    Ok(default)
}

fn handle(mut request: Request) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let response = match (request.method(), path) {
        (Method::Get, "/plaintext") => Response::from_string("Hello, World!")
            .with_header(header("Content-Type", "text/plain; charset=utf-8")),
        (Method::Get, "/json") => json_response(
            200,
            &Message {
                message: "Hello, World!",
            },
        ),
        (Method::Get, p) if p.starts_with("/users/") => match p["/users/".len()..].parse::<u64>() {
            Ok(id) => json_response(
                200,
                &User {
                    id,
                    name: format!("user{id}"),
                },
            ),
            Err(_) => error(400, "invalid id"),
        },
        (Method::Post, "/echo") => {
            let content_type = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Content-Type"))
                .map(|h| h.value.as_str().to_owned())
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let mut body = Vec::new();
            if request.as_reader().read_to_end(&mut body).is_err() {
                return; // the client went away mid-body
            }
            Response::from_data(body).with_header(header("Content-Type", &content_type))
        }
        (Method::Get, "/events") => {
            match (
                query_param(query, "n", 5u32),
                query_param(query, "interval_ms", 0u64),
            ) {
                (Ok(n), Ok(interval_ms)) => {
                    let writer = request.into_writer();
                    thread::spawn(move || {
                        // A write error means the client left: nothing to do.
                        let _ = stream_events(writer, n, interval_ms);
                    });
                    return;
                }
                (Err(e), _) | (_, Err(e)) => error(400, &e),
            }
        }
        _ => error(404, "not found"),
    };
    // A failed respond means the client left; tiny_http closes the socket.
    let _ = request.respond(response);
}

/// Writes the `/events` response by hand: head, one chunk per SSE frame
/// (flushed at once), the closing zero chunk, which leaves the connection
/// reusable for the client's next request.
fn stream_events(mut w: Box<dyn Write + Send>, n: u32, interval_ms: u64) -> std::io::Result<()> {
    w.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
          Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n",
    )?;
    w.flush()?;
    for i in 0..n {
        if i > 0 && interval_ms > 0 {
            thread::sleep(Duration::from_millis(interval_ms));
        }
        let frame = format!("event: tick\nid: {i}\ndata: {i}\n\n");
        write!(w, "{:x}\r\n{frame}\r\n", frame.len())?;
        w.flush()?;
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server =
        Arc::new(Server::http(&addr).unwrap_or_else(|e| panic!("cannot bind {addr}: {e}")));
    let bound = server.server_addr().to_ip().expect("an IP listener");
    println!("listening on http://{bound}");

    // Four request threads, as tiny_http's own docs and examples have it.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(request);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}
