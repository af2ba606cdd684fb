//! The connection state machine driven directly: a real socket pair on
//! 127.0.0.1 (not in any poller), bytes written by the test as the client,
//! and each turn's [`Placement`] and wait state checked.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;

fn limits() -> Limits {
    Limits::default()
}

/// A server-side connection and the client end of its socket.
fn pair() -> (Box<Conn>, TcpStream) {
    pair_with(&limits())
}

/// [`pair`] under other limits (also used by the hardening tests).
pub(super) fn pair_with(limits: &Limits) -> (Box<Conn>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, peer) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let conn = Conn::new(Registered::unwatched(server), peer, limits);
    (Box::new(conn), client)
}

/// Waits (bounded) until the server side has bytes to read.
pub(super) fn until_readable(conn: &Conn) {
    let started = Instant::now();
    while conn.socket.peek(&mut [0u8; 1]).map_or(true, |n| n == 0) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no bytes arrived"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn echo_path(request: Request) -> Response {
    match request.path() {
        "/stream" => Response::stream(|sink| sink.write_all(b"x")),
        "/big" => Response::with_body(200, vec![b'b'; 8 << 20]),
        path => Response::text(path.to_owned()),
    }
}

/// Runs one turn with `echo_path` as the handler.
fn turn(conn: Box<Conn>, closing: bool, may_stream: bool) -> Placement {
    let handler = echo_path;
    let limits = limits();
    let mut scratch = ReadBuffer::new();
    let mut out = Vec::new();
    let closing = move || closing;
    let may_stream = move || may_stream;
    let mut turn = Turn {
        handler: &handler,
        limits: &limits,
        closing: &closing,
        may_stream: &may_stream,
        streamed_bodies: &AtomicUsize::new(0),
        scratch: &mut scratch,
        out: &mut out,
    };
    conn.run(&mut turn)
}

fn parked(placement: Placement, interest: Interest) -> Box<Conn> {
    match placement {
        Placement::Park(conn, got) if got == interest => conn,
        Placement::Park(_, got) => panic!("parked for {got:?}, not {interest:?}"),
        Placement::Close(_) => panic!("closed, not parked"),
        Placement::Stream(..) => panic!("streaming, not parked"),
    }
}

/// Reads from the client end until `want` responses' worth of `needle`
/// appeared (or the peer closed).
fn read_until(client: &mut TcpStream, needle: &str, want: usize) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&got).matches(needle).count() < want {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn pipelined_requests_are_answered_in_order_then_the_connection_idles() {
    let (conn, mut client) = pair();
    client
        .write_all(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, true), Interest::Read);
    assert_eq!(conn.wait, Wait::Idle);
    assert!(!conn.has_request_in_flight());
    assert_eq!(conn.expiry(), Expiry::Close);
    let text = read_until(&mut client, "HTTP/1.1 200 OK", 2);
    let (a, b) = (
        text.find("\r\n\r\n/a").unwrap(),
        text.find("\r\n\r\n/b").unwrap(),
    );
    assert!(a < b, "{text}");
}

#[test]
fn a_partial_head_waits_under_the_head_deadline_and_times_out_with_408() {
    let (conn, mut client) = pair();
    client.write_all(b"GET /slow HTTP/1.1\r\nHo").unwrap();
    until_readable(&conn);
    let before = Instant::now();
    let conn = parked(turn(conn, false, true), Interest::Read);
    assert_eq!(conn.wait, Wait::Head);
    assert!(conn.has_request_in_flight());
    assert_eq!(conn.expiry(), Expiry::Timeout);
    assert!(conn.deadline <= before + limits().head_timeout + Duration::from_secs(1));
    // The head deadline runs from the first byte: more bytes keep it.
    let deadline = conn.deadline;
    client.write_all(b"st: t\r\n").unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, true), Interest::Read);
    assert_eq!((conn.wait, conn.deadline), (Wait::Head, deadline));
    // What the sweep does at the deadline.
    let mut out = Vec::new();
    conn.refuse_late_request(&echo_path, &mut out);
    drop(conn);
    let text = read_until(&mut client, "the request did not arrive in time", 1);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    assert!(text.contains("Connection: close\r\n"), "{text}");
}

#[test]
fn a_body_in_progress_waits_under_the_body_timeout() {
    let (conn, mut client) = pair();
    client
        .write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, true), Interest::Read);
    assert_eq!(conn.wait, Wait::Body);
    assert_eq!(conn.expiry(), Expiry::Timeout);
    client.write_all(b"defghij").unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, true), Interest::Read);
    assert_eq!(conn.wait, Wait::Idle);
    assert!(read_until(&mut client, "/up", 1).contains("Content-Length: 3\r\n"));
}

#[test]
fn a_malformed_request_is_refused_and_the_connection_lingers() {
    let (conn, mut client) = pair();
    client
        .write_all(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, true), Interest::Read);
    assert_eq!(conn.wait, Wait::Lingering);
    assert_eq!(conn.expiry(), Expiry::Close);
    let mut text = String::new();
    client.read_to_string(&mut text).unwrap(); // the write side was shut
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    // What the client still sends is read and dropped; its close ends it.
    client.write_all(b"more").unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, true), Interest::Read);
    drop(client);
    std::thread::sleep(Duration::from_millis(20));
    assert!(matches!(turn(conn, false, true), Placement::Close(_)));
}

#[test]
fn a_response_the_socket_will_not_take_waits_in_the_outbox() {
    let (conn, mut client) = pair();
    client
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    until_readable(&conn);
    // 8 MiB is more than the socket buffers hold while nobody reads.
    let mut conn = parked(turn(conn, false, true), Interest::Write);
    assert_eq!(conn.wait, Wait::Writing);
    assert!(conn.has_request_in_flight());
    // Kept open, so the connection is not closed by the peer when the
    // reader is done.
    let _open = client.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut total = 0;
        let mut buf = vec![0u8; 1 << 16];
        while total < (8 << 20) {
            match client.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        total
    });
    // Each writable turn sends more, until the outbox is empty.
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "outbox never drained"
        );
        match turn(conn, false, true) {
            Placement::Park(next, Interest::Write) => conn = next,
            Placement::Park(next, Interest::Read) => {
                assert_eq!(next.wait, Wait::Idle);
                assert!(!next.has_request_in_flight());
                break;
            }
            _ => panic!("the connection should stay open"),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(reader.join().unwrap() >= 8 << 20);
}

#[test]
fn during_shutdown_a_response_closes_its_connection() {
    let (conn, mut client) = pair();
    client
        .write_all(b"GET /last HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, true, true), Interest::Read);
    assert_eq!(conn.wait, Wait::Lingering);
    let mut text = String::new();
    client.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("Connection: close\r\n") && text.ends_with("/last"),
        "{text}"
    );
}

#[test]
fn a_stream_leaves_for_a_stream_thread_unless_the_bound_is_reached() {
    let (conn, mut client) = pair();
    client
        .write_all(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    until_readable(&conn);
    match turn(conn, false, true) {
        Placement::Stream(_, job) => {
            assert_eq!(job.status, 200);
            assert!(job.framing.keep_alive);
        }
        _ => panic!("a stream should go to a stream thread"),
    }
    let (conn, mut client) = pair();
    client
        .write_all(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, false, false), Interest::Read);
    assert_eq!(conn.wait, Wait::Idle);
    let text = read_until(&mut client, "try again later", 1);
    assert!(
        text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{text}"
    );
}

#[test]
fn a_peer_that_closes_is_closed() {
    let (conn, client) = pair();
    drop(client);
    std::thread::sleep(Duration::from_millis(20));
    assert!(matches!(turn(conn, false, true), Placement::Close(_)));
}

#[test]
fn the_read_buffer_keeps_what_was_not_consumed() {
    let mut buffer = ReadBuffer::new();
    buffer.extend_from_slice(b"hello world");
    buffer.consume(6);
    assert_eq!(buffer.filled(), b"world");
    let spare = buffer.spare(4);
    spare[..4].copy_from_slice(b"!!!!");
    buffer.advance(2);
    assert_eq!(buffer.filled(), b"world!!");
    buffer.clear();
    assert!(buffer.is_empty());
}
