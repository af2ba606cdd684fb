//! The server's bounds that only show under pressure, over real sockets on
//! 127.0.0.1 (the rules are in docs/server.md, "Connections and limits"):
//! the SSE keep-alive heartbeat on a silent stream, the `max_connections`
//! bound (accepting stops at it and resumes when a connection closes), and
//! the back-off when the process runs out of file descriptors (no spin, no
//! exit, serving again once descriptors free up). Every loop is bounded in
//! count and time.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Api, Running};
use sutegi::{Limits, Request, Response};

fn app(req: Request) -> Response {
    match req.path() {
        // One event, a silence far longer than the heartbeat interval, then
        // a last event.
        "/quiet" => Response::sse(|sink| {
            sink.data("first")?;
            std::thread::sleep(Duration::from_millis(1_500));
            sink.data("last")
        }),
        _ => Response::text("ok"),
    }
}

/// Sends a GET on `stream` and reads until the end of a `Content-Length`
/// response, or `None` when nothing complete arrives within `wait`.
fn ask(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    stream.set_read_timeout(Some(wait)).unwrap();
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .ok()?;
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return None,
        }
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length: ").map(str::to_owned))
                .and_then(|l| l.trim().parse::<usize>().ok());
            if length.is_some_and(|len| body.len() >= len) {
                return Some(text.into_owned());
            }
        }
    }
    None
}

#[test]
fn a_silent_event_stream_gets_keep_alive_comments() {
    let running = Running::start(
        Limits {
            sse_keep_alive: Duration::from_millis(300),
            ..Limits::default()
        },
        app,
    );
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /quiet HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let started = Instant::now();
    // The stream ends after about 1.5 s and the connection closes.
    while started.elapsed() < Duration::from_secs(10) {
        let mut buf = [0; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the stream: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let first = text.find("data: first").expect(&text);
    let last = text.find("data: last").expect(&text);
    let beats = text[first..last].matches(": keep-alive").count();
    // 1.5 s of silence with a 300 ms interval (checked every 250 ms):
    // at least two comments, and not one per tick.
    assert!(
        (2..=6).contains(&beats),
        "{beats} keep-alive comments in 1.5 s of silence:\n{text}"
    );
    assert_eq!(
        text[last..].matches(": keep-alive").count(),
        0,
        "a comment after the last event: {text}"
    );
}

#[test]
fn accepting_stops_at_max_connections_and_resumes_when_one_closes() {
    const BOUND: usize = 4;
    let running = Running::start(
        Limits {
            max_connections: BOUND,
            ..Limits::default()
        },
        app,
    );
    let mut held: Vec<TcpStream> = (0..BOUND)
        .map(|i| {
            let mut stream = TcpStream::connect(running.addr).unwrap();
            ask(&mut stream, Duration::from_secs(10))
                .unwrap_or_else(|| panic!("connection {i} of {BOUND} was not answered"));
            stream
        })
        .collect();
    // The kernel completes the handshake from the backlog, but the server
    // does not take the connection, so its request waits.
    let mut waiting = TcpStream::connect(running.addr).unwrap();
    assert_eq!(
        ask(&mut waiting, Duration::from_millis(800)),
        None,
        "a connection over the bound of {BOUND} was served"
    );
    // One closes: the waiting one is accepted and its request answered.
    drop(held.pop());
    let started = Instant::now();
    let mut answer = None;
    let mut buf = [0; 1024];
    let mut got = Vec::new();
    waiting
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while started.elapsed() < Duration::from_secs(10) && answer.is_none() {
        match waiting.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(b"ok") {
                    answer = Some(String::from_utf8_lossy(&got).into_owned());
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("waiting connection: {e}"),
        }
    }
    let answer = answer.expect("the waiting connection was not served after one closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The held connections still work.
    for stream in &mut held {
        assert!(ask(stream, Duration::from_secs(10)).is_some());
    }
}

/// CPU time (user + system) of process `pid`, from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports in USER_HZ, 100 per second on every architecture it runs.
    Duration::from_millis(ticks * 10)
}

/// The numbers of the open file descriptors of process `pid`.
fn descriptor_numbers(pid: u32) -> Vec<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

#[test]
fn out_of_descriptors_the_server_backs_off_and_serves_again() {
    let mut api = Api::start();
    let pid = api.pid();
    // The address line comes when the listener is bound; the readiness sets
    // are made after it. One answer first, so the limit below is not lowered
    // under a server still starting (it would fail to start, not back off).
    let mut first = TcpStream::connect(api.addr()).unwrap();
    let answer = ask(&mut first, Duration::from_secs(5));
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 200")),
        "the server did not answer before the test: {answer:?}"
    );
    drop(first);
    // A few descriptor numbers of headroom above the low ones in use, soft
    // and hard (the server raised its soft limit at start; lowering both now
    // pins it). A high number inherited from the test runner (a jobserver
    // pipe) stays open and does not count against new ones.
    let highest_low = descriptor_numbers(pid)
        .into_iter()
        .filter(|&n| n < 64)
        .max()
        .unwrap();
    let limit = highest_low + 5;
    let status = Command::new(common::required_tool("prlimit", "util-linux"))
        .args([format!("--pid={pid}"), format!("--nofile={limit}:{limit}")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit --pid={pid} failed: {status}");

    // More connections than descriptors: the server accepts a few, then
    // accept fails with EMFILE for the rest.
    let mut clients: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(api.addr()).unwrap())
        .collect();
    for stream in &mut clients {
        let _ = stream.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    std::thread::sleep(Duration::from_millis(500));
    let numbers = descriptor_numbers(pid);
    assert!(
        (0..limit).all(|n| numbers.contains(&n)),
        "the server never ran out: descriptors {numbers:?}, limit {limit}"
    );

    // Out of descriptors with connections waiting in the backlog: the
    // listener stays readable, and a server that spun on it would burn a
    // core. Over 1.5 s it may use a small fraction of one.
    let cpu_before = cpu_time(pid);
    std::thread::sleep(Duration::from_millis(1_500));
    let used = cpu_time(pid) - cpu_before;
    assert!(
        used < Duration::from_millis(500),
        "the server used {used:?} of CPU in 1.5 s while out of descriptors"
    );
    api.assert_running("running out of descriptors");

    // Descriptors free up: every client leaves, and a fresh one is served.
    drop(clients);
    let started = Instant::now();
    let mut served = false;
    while started.elapsed() < Duration::from_secs(15) && !served {
        if let Ok(mut stream) = TcpStream::connect(api.addr()) {
            served = ask(&mut stream, Duration::from_secs(2))
                .is_some_and(|answer| answer.starts_with("HTTP/1.1 200"));
        }
        if !served {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert!(
        served,
        "not served again within 15 s of descriptors freeing up; descriptors {:?}; stderr:\n{}",
        descriptor_numbers(pid),
        api.stderr()
    );
    api.assert_alive("descriptors freed");
}
