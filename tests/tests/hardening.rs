//! What the server does against clients that send slowly, send what nobody
//! will read, or open too many connections, and what it refuses to put on
//! the wire for a handler: over real sockets on 127.0.0.1, against
//! `examples/api` and against servers started here with short limits.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Api, Conn, Running, CLOSE_TIMEOUT};
use sutegi::server::HeadVerdict;
use sutegi::{Bytes, Form, Handler, Json, Limits, Method, Path, Request, Response, Router};

/// An upload route, a listing, and handlers writing what must not go out.
fn app() -> Router {
    Router::new()
        .post("/upload", |body: Bytes| format!("got {}", body.len()))
        .get("/items", || "[]")
        .get("/bad-header", || {
            Response::text("ok")
                .header("X-Esc", "\u{1b}[2J")
                .header("X-Del", "a\u{7f}")
                .header("X(bad)", "v")
                .header("X-Fine", "tab\there")
        })
        .get("/no-content", || Response::with_body(204, "not sent"))
        .get("/not-modified", || Response::with_body(304, "not sent"))
}

/// A head declaring a large body, then a few of its bytes: the client
/// could send the rest, but should not have to.
fn large_body_head(method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n{extra}\r\nabcd")
        .into_bytes()
}

#[test]
fn the_router_decides_from_the_head_which_bodies_it_wants() {
    let app = app().into_handler().unwrap();
    let verdict = |method, path: &str| app.check_head(&Request::new(method, path, &[], vec![]));
    assert_eq!(
        verdict(Method::Post, "/upload"),
        HeadVerdict::ReadBody { limit: None }
    );
    // No route, or not this method: the body cannot change the answer.
    assert_eq!(verdict(Method::Post, "/nope"), HeadVerdict::AnswerFromHead);
    assert_eq!(verdict(Method::Put, "/items"), HeadVerdict::AnswerFromHead);
    assert_eq!(
        verdict(Method::Options, "/items"),
        HeadVerdict::AnswerFromHead
    );
    // A route's own limit is the verdict's; a fallback wants every body.
    let limited = Router::new()
        .route(sutegi::Route::new(&[Method::Put], "/big", || "ok").body_limit(64 << 20))
        .fallback(|| "anything")
        .into_handler()
        .unwrap();
    let head = |path: &str| Request::new(Method::Put, path, &[], vec![]);
    assert_eq!(
        limited.check_head(&head("/big")),
        HeadVerdict::ReadBody {
            limit: Some(64 << 20)
        }
    );
    assert_eq!(
        limited.check_head(&head("/elsewhere")),
        HeadVerdict::ReadBody { limit: None }
    );
}

/// Sends `bytes` (a head declaring a large body) and checks the answer is
/// `status`, closing the connection, at once: not after a body deadline,
/// and not a 413 for a body over the limit that nobody would read.
fn refused_at_once(api: &Api, bytes: &[u8], status: u16) -> common::Response {
    let started = Instant::now();
    let exchange = api.exchange(bytes);
    if let Some(problem) = exchange.refused_with(status) {
        panic!("{problem}");
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    let response = exchange.response.unwrap();
    assert!(response.says_close());
    response
}

#[test]
fn examples_api_answers_a_404_and_a_405_without_reading_a_large_body() {
    let api = Api::start();
    for (bytes, status) in [
        (large_body_head("POST", "/nothing/here", ""), 404),
        (large_body_head("PUT", "/plaintext", ""), 405),
    ] {
        let response = refused_at_once(&api, &bytes, status);
        if status == 405 {
            let allow = response.header("allow").unwrap_or_default();
            assert!(allow.contains("GET"), "{allow}");
        }
    }
    api.assert_alive("bodies answered from the head");
}

#[test]
fn expect_continue_to_a_missing_path_gets_the_404_not_100() {
    let running = Running::start(Limits::default(), app());
    let mut conn = running.connect();
    conn.send_ok(
        b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 9000000\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let response = conn.response();
    assert_eq!(response.status, 404, "{}", conn.transcript());
    assert!(response.says_close());
    conn.assert_closed("a 404 answered from the head");
    assert!(!conn.transcript().contains("100 Continue"));
}

#[test]
fn a_body_extractor_refusing_the_content_type_is_answered_from_the_head() {
    let app = Router::new()
        .post("/json", |Json(v): Json<Vec<u32>>| v.len().to_string())
        .post("/form", |Form(f): Form<Vec<(String, String)>>| {
            f.len().to_string()
        })
        .post("/maybe", |v: Option<Json<Vec<u32>>>| {
            format!("{}", v.is_some())
        })
        .post("/raw", |body: Bytes| body.len().to_string())
        .into_handler()
        .unwrap();
    let verdict = |path: &str, content_type: Option<&str>| {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("Content-Type", ct))
            .into_iter()
            .collect();
        app.check_head(&Request::new(Method::Post, path, &headers, vec![]))
    };
    let read = HeadVerdict::ReadBody { limit: None };
    // The very types the extractors take, parameters and suffixes included.
    assert_eq!(verdict("/json", Some("application/json")), read);
    assert_eq!(
        verdict("/json", Some("Application/JSON; charset=utf-8")),
        read
    );
    assert_eq!(verdict("/json", Some("application/problem+json")), read);
    assert_eq!(
        verdict("/form", Some("application/x-www-form-urlencoded")),
        read
    );
    // Any other type, or none, can only be refused: the body is not read.
    assert_eq!(
        verdict("/json", Some("text/plain")),
        HeadVerdict::AnswerFromHead
    );
    assert_eq!(verdict("/json", None), HeadVerdict::AnswerFromHead);
    assert_eq!(
        verdict("/form", Some("application/json")),
        HeadVerdict::AnswerFromHead
    );
    // An optional body, or one of any type, is read whatever it is.
    assert_eq!(verdict("/maybe", Some("text/plain")), read);
    assert_eq!(verdict("/raw", Some("text/plain")), read);
    assert_eq!(verdict("/raw", None), read);
}

#[test]
fn examples_api_answers_a_wrong_content_type_without_reading_a_large_body() {
    let api = Api::start();
    for (bytes, status, says) in [
        (
            large_body_head("POST", "/users", "Content-Type: text/plain\r\n"),
            415,
            "application/json",
        ),
        (
            large_body_head("POST", "/users", ""),
            415,
            "application/json",
        ),
        (
            large_body_head("POST", "/upload", "Content-Type: text/plain\r\n"),
            400,
            "multipart/form-data",
        ),
    ] {
        let response = refused_at_once(&api, &bytes, status);
        assert!(response.text().contains(says), "{}", response.text());
    }
    // The refusal passes through the layers: an allowed origin can read it.
    let exchange = api.exchange(&large_body_head(
        "POST",
        "/users",
        "Content-Type: text/plain\r\nOrigin: http://localhost:3000\r\n",
    ));
    if let Some(problem) = exchange.refused_with(415) {
        panic!("{problem}");
    }
    let response = exchange.response.unwrap();
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(response.header("x-request-id").is_some());
    api.assert_alive("content types refused from the head");
}

#[test]
fn expect_continue_with_a_wrong_content_type_gets_the_415_not_100() {
    let app = Router::new().post(
        "/items/{id}",
        |Path(id): Path<u64>, Json(v): Json<Vec<u32>>| format!("{id}: {}", v.len()),
    );
    let running = Running::start(Limits::default(), app);
    let mut conn = running.connect();
    conn.send_ok(
        b"POST /items/7 HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n\
          Content-Length: 9000000\r\nExpect: 100-continue\r\n\r\n",
    );
    let response = conn.response();
    assert_eq!(response.status, 415, "{}", conn.transcript());
    assert!(response.says_close());
    conn.assert_closed("a 415 answered from the head");
    assert!(!conn.transcript().contains("100 Continue"));
    // An extractor before the body still answers first, as when the body
    // is read: the capture's 400, not the 415.
    let mut conn = running.connect();
    conn.send_ok(
        b"POST /items/seven HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n\
          Content-Length: 9000000\r\n\r\nabc",
    );
    let response = conn.response();
    assert_eq!(response.status, 400, "{}", conn.transcript());
    assert!(response.text().contains("id"), "{}", response.text());
    // The right type reads the body and answers, on a kept connection.
    let mut conn = running.connect();
    conn.send_ok(
        b"POST /items/7 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 7\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(conn.response().status, 100, "{}", conn.transcript());
    conn.send_ok(b"[1,2,3]");
    let response = conn.response();
    assert_eq!((response.status, response.text().as_str()), (200, "7: 3"));
    conn.send_ok(b"GET /items/7 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.response().status, 405);
}

#[test]
fn expect_continue_to_a_route_gets_100_then_the_answer_on_the_same_connection() {
    let running = Running::start(Limits::default(), app());
    let mut conn = running.connect();
    conn.send_ok(
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let interim = conn.peek_raw(25, Duration::from_secs(5));
    assert_eq!(
        interim,
        b"HTTP/1.1 100 Continue\r\n\r\n",
        "{}",
        conn.transcript()
    );
    // The common client reads the interim response as one of its own
    // and then the final one.
    let first = conn.response();
    assert_eq!(first.status, 100);
    conn.send_ok(b"hello");
    let response = conn.response();
    assert_eq!((response.status, response.text().as_str()), (200, "got 5"));
    conn.send_ok(b"GET /items HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.response().status, 200);
}

#[test]
fn a_body_below_the_minimum_rate_gets_408_at_its_window_end() {
    let limits = Limits {
        min_body_rate: 1_000,
        body_rate_window: Duration::from_secs(1),
        ..Limits::default()
    };
    let running = Running::start(limits, app());
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    let head_sent = Instant::now();
    // A byte every 100 ms: progress far more often than `body_timeout`
    // asks, far less than the rate.
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while head_sent.elapsed() < Duration::from_secs(8) {
        let _ = stream.write_all(b"x");
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let cut_after = head_sent.elapsed();
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    assert!(text.contains("Connection: close\r\n"), "{text}");
    // The window is 1 s and the sweep runs every few hundred ms.
    assert!(
        cut_after >= Duration::from_millis(900) && cut_after < Duration::from_secs(4),
        "cut off after {cut_after:?}"
    );
}

#[test]
fn a_body_at_the_minimum_rate_gets_through() {
    let limits = Limits {
        min_body_rate: 1_000,
        body_rate_window: Duration::from_millis(500),
        ..Limits::default()
    };
    let running = Running::start(limits, app());
    let mut conn = running.connect();
    conn.send_ok(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 6000\r\n\r\n");
    // 2,000 bytes every 300 ms: above the rate in every window.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        conn.send_ok(&[b'y'; 2000]);
    }
    let response = conn.response();
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "got 6000")
    );
}

/// Whether the server closes `stream` without a byte of response.
fn closed_unanswered(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(CLOSE_TIMEOUT)).unwrap();
    let _ = stream.write_all(b"GET /items HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

#[test]
fn connections_over_the_per_peer_bound_are_closed_at_accept() {
    let limits = Limits {
        max_connections_per_peer: Some(2),
        ..Limits::default()
    };
    let running = Running::start(limits, app());
    let mut open: Vec<Conn> = (0..2).map(|_| running.connect()).collect();
    for conn in &mut open {
        conn.send_ok(b"GET /items HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(conn.response().status, 200);
    }
    let mut third = TcpStream::connect(running.addr).unwrap();
    assert!(
        closed_unanswered(&mut third),
        "a third connection from 127.0.0.1 should be closed unanswered"
    );
    // A closed connection gives its place back (bounded wait: the server
    // learns of the close on its next read of that socket).
    drop(open.pop());
    let started = Instant::now();
    loop {
        let mut next = running.connect();
        next.send_ok(b"GET /items HTTP/1.1\r\nHost: t\r\n\r\n");
        match next.read_response() {
            Ok(response) => {
                assert_eq!(response.status, 200);
                break;
            }
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(5),
                "the freed place never came back: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The bound is off by default.
    let unbounded = Running::start(Limits::default(), app());
    let mut many: Vec<Conn> = (0..5).map(|_| unbounded.connect()).collect();
    for conn in &mut many {
        conn.send_ok(b"GET /items HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(conn.response().status, 200);
    }
}

#[test]
fn control_bytes_and_non_token_names_never_reach_the_wire() {
    let running = Running::start(Limits::default(), app());
    let mut conn = running.connect();
    conn.send_ok(b"GET /bad-header HTTP/1.1\r\nHost: t\r\n\r\n");
    let response = conn.response();
    assert_eq!(response.status, 200);
    let names: Vec<&str> = response.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        !names
            .iter()
            .any(|n| ["X-Esc", "X-Del", "X(bad)"].contains(n)),
        "{names:?}"
    );
    assert_eq!(response.header("x-fine"), Some("tab\there"));
    assert!(!conn.transcript().contains('\u{1b}'));
}

#[test]
fn a_204_and_a_304_carry_no_body_on_the_wire() {
    let running = Running::start(Limits::default(), app());
    let mut conn = running.connect();
    for path in ["/no-content", "/not-modified"] {
        conn.send_ok(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let response = conn.response();
        assert!(matches!(response.status, 204 | 304));
        assert!(response.body.is_empty(), "{}", conn.transcript());
        assert_eq!(response.header("content-length"), None);
    }
    // Nothing was left behind on the connection: the next answer parses.
    conn.send_ok(b"GET /items HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.response().text(), "[]");
    assert!(!conn.transcript().contains("not sent"));
}
