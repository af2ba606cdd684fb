//! Multipart bodies stream to their handler, over real sockets on
//! 127.0.0.1: the handler reads a part while the rest of the body is still
//! on its way, the connection carries on with the requests behind a body
//! read to its end and closes behind one that was not, `100 Continue` is
//! sent when the handler first reads, a stalled body is a 408, a chunked
//! body is de-chunked under the route's limit, and uploads waiting for
//! bytes stall nothing else. (Memory held by a large upload is measured in
//! `upload_memory.rs`, alone in its process.)

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{assert_error, Running};
use sutegi::extract::{BodyReader, Multipart};
use sutegi::{get, post, put, routes, Error, Limits};

const BOUNDARY: &str = "stream-test-boundary";

/// The start of a part, up to its content.
fn part_head(name: &str, filename: Option<&str>) -> String {
    let file = filename.map_or(String::new(), |f| format!("; filename=\"{f}\""));
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n")
}

fn closing() -> String {
    format!("\r\n--{BOUNDARY}--\r\n")
}

/// A whole form of `(name, content)` parts.
fn form(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (name, content)) in parts.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(part_head(name, None).as_bytes());
        body.extend_from_slice(content);
    }
    body.extend_from_slice(closing().as_bytes());
    body
}

/// Waits (at most 10 s) until a handler has published `at_least` in
/// `count`, failing with what was awaited and how far it got.
fn wait_for_count(count: &AtomicU64, at_least: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count.load(Ordering::SeqCst) < at_least {
        assert!(
            Instant::now() < deadline,
            "waited 10 s for {what} (at {} of {at_least})",
            count.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn head(path: &str, length: usize, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n{extra}\r\n"
    )
}

/// Bytes of the first part the `/progress` handler has read so far.
static FIRST_PART_READ: AtomicU64 = AtomicU64::new(0);

/// Reports each part's size; while reading the first it publishes how far
/// it got, so the test can see the handler at work mid-body.
#[post("/progress", body_limit = "8MiB")]
fn progress(mut form: Multipart) -> Result<String, Error> {
    let mut sizes = Vec::new();
    let mut first = true;
    while let Some(mut field) = form.next_field()? {
        let mut size = 0u64;
        while let Some(chunk) = field.chunk()? {
            size += chunk.len() as u64;
            if first {
                FIRST_PART_READ.store(size, Ordering::SeqCst);
            }
        }
        first = false;
        sizes.push(format!("{}={size}", field.name().unwrap_or("")));
    }
    Ok(sizes.join(","))
}

/// Counts the parts, reading each through `Read`.
#[post("/count", body_limit = "1MiB")]
fn count(mut form: Multipart) -> Result<String, Error> {
    let mut total = 0;
    let mut parts = 0;
    while let Some(mut field) = form.next_field()? {
        let mut content = Vec::new();
        field.read_to_end(&mut content)?;
        total += content.len();
        parts += 1;
    }
    Ok(format!("{parts} parts, {total} bytes"))
}

/// Set once the `/hold` handler runs.
static HOLDING: AtomicU64 = AtomicU64::new(0);

/// Says it started, then counts the parts like `/count`.
#[post("/hold")]
fn hold(form: Multipart) -> Result<String, Error> {
    HOLDING.store(1, Ordering::SeqCst);
    count(form)
}

/// Refuses before reading anything.
#[post("/closed")]
fn closed(_form: Multipart) -> Error {
    Error::forbidden("uploads are closed")
}

/// Bytes of its body the `/raw` handler has read so far.
static RAW_READ: AtomicU64 = AtomicU64::new(0);

/// Counts a raw body as it arrives, publishing how far it got.
#[put("/raw", body_limit = "8MiB")]
fn raw(mut body: BodyReader) -> Result<String, Error> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            return Ok(format!("{total} bytes"));
        }
        total += n as u64;
        RAW_READ.store(total, Ordering::SeqCst);
    }
}

#[get("/plaintext")]
fn plaintext() -> &'static str {
    "Hello, World!"
}

fn app() -> sutegi::Router {
    routes![progress, count, hold, closed, raw, plaintext]
}

#[test]
fn the_handler_reads_a_part_while_the_rest_of_the_body_is_on_its_way() {
    let server = Running::start(Limits::default(), app());
    let big = vec![b'a'; 200_000];
    let body = form(&[("big", &big), ("small", b"xyz")]);
    let sent_first = 150_000;
    let mut conn = server.connect();
    conn.send_ok(head("/progress", body.len(), "").as_bytes());
    conn.send_ok(&body[..sent_first]);
    // The body is not complete, yet the handler runs and reads what came.
    wait_for_count(
        &FIRST_PART_READ,
        100_000,
        "the handler to see the first part before the body was whole",
    );
    conn.send_ok(&body[sent_first..]);
    let r = conn.response();
    assert_eq!((r.status, r.text()), (200, "big=200000,small=3".to_owned()));
    assert!(
        !r.says_close(),
        "a body read to its end keeps the connection"
    );
}

#[test]
fn requests_behind_a_streamed_body_are_answered_on_the_same_connection() {
    let server = Running::start(Limits::default(), app());
    let one = form(&[("a", b"hello"), ("b", &[b'x'; 70_000])]);
    let two = form(&[("c", b"1")]);
    let mut wire = head("/count", one.len(), "").into_bytes();
    wire.extend_from_slice(&one);
    wire.extend_from_slice(head("/count", two.len(), "").as_bytes());
    wire.extend_from_slice(&two);
    wire.extend_from_slice(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut conn = server.connect();
    conn.send_ok(&wire);
    let answers: Vec<(u16, String)> = (0..3)
        .map(|_| {
            let r = conn.response();
            assert!(!r.says_close(), "{}", conn.transcript());
            (r.status, r.text())
        })
        .collect();
    assert_eq!(
        answers,
        [
            (200, "2 parts, 70005 bytes".to_owned()),
            (200, "1 parts, 1 bytes".to_owned()),
            (200, "Hello, World!".to_owned()),
        ]
    );
    conn.assert_open(Duration::from_millis(200), "three answers in a row");
}

#[test]
fn a_body_the_handler_did_not_read_closes_the_connection_after_the_answer() {
    let server = Running::start(Limits::default(), app());
    let mut conn = server.connect();
    // 1 MB declared, 10 KB sent: the refusal comes at once.
    conn.send_ok(head("/closed", 1_000_000, "").as_bytes());
    conn.send_ok(&[b'z'; 10_000]);
    let r = conn.response();
    assert_error(
        &r,
        403,
        Some("uploads are closed"),
        "refused before reading",
    );
    assert!(
        r.says_close(),
        "the unread body cannot be skipped: {}",
        conn.transcript()
    );
    conn.assert_closed("an unread streamed body");
}

#[test]
fn continue_is_sent_when_the_handler_first_reads_and_never_before_a_refusal() {
    let server = Running::start(Limits::default(), app());
    let body = form(&[("a", b"hello")]);
    let mut conn = server.connect();
    conn.send_ok(head("/count", body.len(), "Expect: 100-continue\r\n").as_bytes());
    let interim = conn.response();
    assert_eq!(interim.status, 100, "{}", conn.transcript());
    conn.send_ok(&body);
    let r = conn.response();
    assert_eq!((r.status, r.text()), (200, "1 parts, 5 bytes".to_owned()));

    let mut conn = server.connect();
    conn.send_ok(head("/closed", body.len(), "Expect: 100-continue\r\n").as_bytes());
    let r = conn.response();
    assert_error(&r, 403, None, "a refusal instead of 100 Continue");
}

#[test]
fn a_body_that_stops_arriving_is_refused_with_408() {
    let limits = Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = Running::start(limits, app());
    let body = form(&[("a", &[b'q'; 5_000])]);
    let mut conn = server.connect();
    conn.send_ok(head("/count", body.len(), "").as_bytes());
    conn.send_ok(&body[..2_000]);
    let started = Instant::now();
    let r = conn.response();
    assert_error(&r, 408, None, "a stalled streamed body");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "408 took {:?}",
        started.elapsed()
    );
    conn.assert_closed("a body refused half way");
}

#[test]
fn a_chunked_body_is_dechunked_and_held_to_the_routes_limit() {
    let server = Running::start(Limits::default(), app());
    let body = form(&[("a", b"hello"), ("b", &[b'x'; 40_000])]);
    let mut wire = format!(
        "POST /count HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(7_000) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut conn = server.connect();
    conn.send_ok(&wire);
    let r = conn.response();
    assert_eq!(
        (r.status, r.text()),
        (200, "2 parts, 40005 bytes".to_owned())
    );
    assert_eq!(conn.response().text(), "Hello, World!");

    // Over the route's 1 MiB, counted as the chunks arrive.
    let mut conn = server.connect();
    conn.send_ok(
        format!(
            "POST /count HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .as_bytes(),
    );
    let mut chunk = part_head("big", Some("big.bin")).into_bytes();
    chunk.resize(600_000, b'y');
    for _ in 0..2 {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        if conn.send(&framed).is_err() {
            break;
        }
    }
    let r = conn.response();
    assert_error(
        &r,
        413,
        Some("limit of 1048576 bytes"),
        "a chunked body over the route's limit",
    );
}

#[test]
fn uploads_waiting_for_their_bytes_stall_nothing_else() {
    let server = Running::start(Limits::default(), app());
    // More stalled uploads than the server has seats: each holds a
    // handler waiting in a read.
    let mut stalled = Vec::new();
    for _ in 0..6 {
        let mut conn = server.connect();
        conn.send_ok(head("/count", 10_000, "").as_bytes());
        conn.send_ok(part_head("a", None).as_bytes());
        stalled.push(conn);
    }
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..20 {
        let started = Instant::now();
        let mut conn = server.connect();
        conn.send_ok(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = conn.response();
        assert_eq!(r.status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "a fresh request waited {:?} behind stalled uploads",
            started.elapsed()
        );
    }
    drop(stalled);
}

/// `Read` on a field gives back the reader's own refusals.
#[test]
fn a_reader_error_reaches_the_handler_as_the_clients_status() {
    let server = Running::start(Limits::default(), app());
    let mut conn = server.connect();
    // The connection ends before the declared length.
    let body = form(&[("a", &[b'q'; 1_000])]);
    conn.send_ok(head("/count", body.len() + 500, "").as_bytes());
    conn.send_ok(&body);
    conn.shutdown_write();
    let r = conn.response();
    assert_error(
        &r,
        400,
        Some("ended before the request body did"),
        "a body cut short",
    );
}

#[test]
fn uploads_past_max_streamed_bodies_get_503_and_others_go_on() {
    let limits = Limits {
        max_streamed_bodies: 1,
        ..Limits::default()
    };
    let server = Running::start(limits, app());
    let body = form(&[("a", b"hello")]);
    // The first upload holds the one place, waiting for its body.
    let mut first = server.connect();
    first.send_ok(head("/hold", body.len(), "").as_bytes());
    first.send_ok(&body[..10]);
    wait_for_count(&HOLDING, 1, "the first upload to reach its handler");

    let mut second = server.connect();
    second.send_ok(head("/count", body.len(), "").as_bytes());
    let r = second.response();
    assert_error(
        &r,
        503,
        Some("too many uploads"),
        "an upload over the bound",
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.says_close());

    let mut plain = server.connect();
    plain.send_ok(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(plain.response().status, 200, "other requests go on");

    // Once the first is done, its place is free again.
    first.send_ok(&body[10..]);
    assert_eq!(first.response().text(), "1 parts, 5 bytes");
    let mut third = server.connect();
    third.send_ok(head("/count", body.len(), "").as_bytes());
    third.send_ok(&body);
    assert_eq!(third.response().text(), "1 parts, 5 bytes");
}

/// A client that sends its whole upload before reading (as Python's
/// `requests` does) still gets the early refusal: the closing connection
/// keeps reading while the client keeps sending, past the 2 s a silent
/// client gets.
#[test]
fn a_refused_upload_still_arriving_is_read_until_its_end_not_reset() {
    let server = Running::start(Limits::default(), app());
    let piece = vec![b'z'; 128 * 1024];
    let total = piece.len() * 5;
    let mut conn = server.connect();
    conn.send_ok(head("/closed", total, "").as_bytes());
    let started = Instant::now();
    for i in 0..5 {
        // One piece a second: the last goes out 4 s after the refusal.
        let due = started + Duration::from_secs(i);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if let Err(e) = conn.send(&piece) {
            panic!("piece {i} at {:?}: {e}", started.elapsed());
        }
    }
    let r = conn.response();
    assert_error(
        &r,
        403,
        Some("uploads are closed"),
        "read after the whole upload was sent",
    );
    conn.assert_closed("a refused upload, read to its end");
}

#[test]
fn a_raw_body_extractor_reads_a_put_while_it_arrives() {
    let server = Running::start(Limits::default(), app());
    let mut conn = server.connect();
    conn.send_ok(b"PUT /raw HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: 300000\r\n\r\n");
    conn.send_ok(&[b'r'; 200_000]);
    wait_for_count(
        &RAW_READ,
        150_000,
        "the handler to read the body before it was whole",
    );
    conn.send_ok(&[b'r'; 100_000]);
    let r = conn.response();
    assert_eq!((r.status, r.text()), (200, "300000 bytes".to_owned()));
    // The next request on the connection, chunked this time.
    conn.send_ok(b"PUT /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n");
    assert_eq!(conn.response().text(), "8 bytes");
}

#[test]
fn a_body_trickling_below_min_body_rate_is_refused_with_408() {
    let limits = Limits {
        min_body_rate: 1_000,
        body_rate_window: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = Running::start(limits, app());
    let body = form(&[("a", &[b'q'; 20_000])]);
    let mut conn = server.connect();
    conn.send_ok(head("/count", body.len(), "").as_bytes());
    // 100 bytes every 200 ms: never silent, half the rate.
    let started = Instant::now();
    for piece in body.chunks(100).take(40) {
        if conn.send(piece).is_err() || !conn.peek_raw(1, Duration::from_millis(200)).is_empty() {
            break;
        }
    }
    let r = conn.response();
    assert_error(&r, 408, None, "a streamed body below the minimum rate");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "408 came after {:?}",
        started.elapsed()
    );
}
