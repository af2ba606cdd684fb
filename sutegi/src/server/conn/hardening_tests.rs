//! The connection's defences against clients that send slowly or send what
//! nobody will read, driven directly over a socket pair on 127.0.0.1: the
//! minimum body rate, answering from the head without reading the body
//! (with and without `Expect: 100-continue`), and a `100 Continue` that the
//! socket will not take at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::tests::until_readable;
use super::*;

/// A server-side connection and the client end of its socket.
fn pair(limits: &Limits) -> (Box<Conn>, TcpStream) {
    super::tests::pair_with(limits)
}

/// Answers `/up` with the body's length; wants no body anywhere else.
struct Upload;

impl Handler for Upload {
    fn handle(&self, request: Request) -> Response {
        match request.path() {
            "/up" => Response::text(format!("got {}", request.body().len())),
            path => Response::with_body(404, format!("no route matches {path}"))
                .header("X-From", "handle"),
        }
    }

    fn check_head(&self, head: &Request) -> HeadVerdict {
        if head.path() == "/up" {
            HeadVerdict::ReadBody { limit: None }
        } else {
            HeadVerdict::AnswerFromHead
        }
    }
}

fn turn(conn: Box<Conn>, limits: &Limits) -> Placement {
    let mut scratch = ReadBuffer::new();
    let mut out = Vec::new();
    let mut turn = Turn {
        handler: &Upload,
        limits,
        closing: &|| false,
        may_stream: &|| true,
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

#[test]
fn a_body_below_the_minimum_rate_meets_its_window_deadline() {
    let limits = Limits {
        min_body_rate: 1_000,
        body_rate_window: Duration::from_millis(500),
        ..Limits::default()
    };
    let (conn, mut client) = pair(&limits);
    client
        .write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nab")
        .unwrap();
    until_readable(&conn);
    let started = Instant::now();
    let conn = parked(turn(conn, &limits), Interest::Read);
    let finished = Instant::now();
    assert_eq!(conn.wait, Wait::Body);
    // The window, not the 10 s progress timeout, bounds a trickle.
    let window_end = conn.deadline;
    assert!(window_end >= started + limits.body_rate_window);
    assert!(window_end <= finished + limits.body_rate_window);
    // A byte within the window is progress, but not the window's quota
    // (500 bytes): the deadline stays where it was.
    client.write_all(b"c").unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert_eq!((conn.wait, conn.deadline), (Wait::Body, window_end));
    // The quota met, a new window starts from now.
    std::thread::sleep(Duration::from_millis(20));
    client.write_all(&[b'x'; 600]).unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert!(conn.deadline > window_end, "a new window should start");
    assert_eq!(conn.expiry(), Expiry::Timeout);
}

#[test]
fn without_a_minimum_rate_only_the_progress_timeout_applies() {
    let limits = Limits {
        min_body_rate: 0,
        body_rate_window: Duration::from_millis(1),
        ..Limits::default()
    };
    let (conn, mut client) = pair(&limits);
    client
        .write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    until_readable(&conn);
    let started = Instant::now();
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert!(conn.deadline >= started + limits.body_timeout - Duration::from_secs(1));
}

/// Reads what the server sends until it closes its write side.
fn read_all(client: &mut TcpStream) -> String {
    let mut text = Vec::new();
    let _ = client.read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn a_body_nobody_wants_is_not_read_the_answer_goes_out_and_the_connection_closes() {
    let limits = Limits::default();
    let (conn, mut client) = pair(&limits);
    // 50 MB declared, a few bytes sent: far over the 2 MiB limit too, but
    // what the client learns is that the path does not exist.
    client
        .write_all(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\nabc")
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert_eq!(conn.wait, Wait::Lingering);
    let text = read_all(&mut client);
    assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
    // Rendered by `handle` from the head, so its headers are there.
    assert!(text.contains("X-From: handle\r\n"), "{text}");
    assert!(text.contains("Connection: close\r\n"), "{text}");
    assert!(text.ends_with("no route matches /nope"), "{text}");
    drop(conn);
}

#[test]
fn an_expect_continue_to_an_unwanted_body_gets_the_answer_not_100() {
    let limits = Limits::default();
    let (conn, mut client) = pair(&limits);
    client
        .write_all(
            b"PUT /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 9000000\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert_eq!(conn.wait, Wait::Lingering);
    let text = read_all(&mut client);
    assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    drop(conn);
}

#[test]
fn a_small_unwanted_body_already_here_is_answered_as_usual_and_the_connection_kept() {
    let limits = Limits::default();
    let (conn, mut client) = pair(&limits);
    client
        .write_all(
            b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
              POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
        )
        .unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert_eq!(conn.wait, Wait::Idle);
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.contains("got 2") {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
    assert!(!text.contains("Connection: close"), "{text}");
    drop(conn);
}

#[test]
fn a_100_continue_the_socket_will_not_take_waits_in_the_outbox_whole() {
    let limits = Limits::default();
    let (conn, mut client) = pair(&limits);
    // Fill the server's send path while the client reads nothing, until
    // the socket takes no more (bounded: a few MiB at most in practice).
    let mut filler = 0usize;
    let chunk = [b'.'; 64 * 1024];
    for _ in 0..2 {
        loop {
            match (&*conn.socket).write(&chunk) {
                Ok(n) => filler += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            assert!(filler < 256 << 20, "the socket never filled");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    client
        .write_all(
            b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .unwrap();
    until_readable(&conn);
    let mut conn = parked(turn(conn, &limits), Interest::Write);
    assert_eq!(conn.wait, Wait::Writing);
    // The client reads the filler, then must find the interim response
    // whole, before it sends its body.
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; filler + 25];
        client.read_exact(&mut got).unwrap();
        assert!(got[..filler].iter().all(|&b| b == b'.'));
        assert_eq!(&got[filler..], b"HTTP/1.1 100 Continue\r\n\r\n");
        client.write_all(b"hello").unwrap();
        client
    });
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "outbox never drained"
        );
        match turn(conn, &limits) {
            Placement::Park(next, Interest::Write) => conn = next,
            Placement::Park(next, Interest::Read) => {
                conn = next;
                break;
            }
            _ => panic!("the connection should stay open"),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Out of the outbox, the connection waits for the body.
    assert_eq!(conn.wait, Wait::Body);
    let mut client = reader.join().unwrap();
    until_readable(&conn);
    let conn = parked(turn(conn, &limits), Interest::Read);
    assert_eq!(conn.wait, Wait::Idle);
    let mut buf = [0u8; 4096];
    let n = client.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("got 5"),
        "{text}"
    );
}
