//! WebSockets over real sockets on 127.0.0.1, with `tungstenite` as the
//! client: the reference API's `/ws/echo` (echo, fragments, ping, close
//! codes, refusals, SIGTERM), and a server of the test's own for the bounds
//! that need other limits (idle ping, `max_streams`, stop-while-streaming).
//! Every wait is bounded.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Api;
use sutegi::ws::{Message as WsMessage, WebSocketUpgrade};
use sutegi::{Limits, Router, Server};
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::{Message, WebSocket};

const WAIT: Duration = Duration::from_secs(10);

fn open(addr: SocketAddr, path: &str) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let (socket, response) = tungstenite::client(format!("ws://{addr}{path}"), stream)
        .unwrap_or_else(|e| panic!("handshake with {path} failed: {e}"));
    assert_eq!(response.status(), 101);
    socket
}

/// Reads until the server's Close; its code.
fn close_code(socket: &mut WebSocket<TcpStream>) -> Option<u16> {
    let until = Instant::now() + WAIT;
    while Instant::now() < until {
        match socket.read() {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(e) => panic!("no Close before the error {e}"),
        }
    }
    panic!("no Close within {WAIT:?}")
}

/// A raw handshake, for what `tungstenite`'s client would never send.
fn raw_open(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(
            b"GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the head was cut");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    stream
}

#[test]
fn echoes_text_and_binary_and_fragments() {
    let api = Api::start();
    let mut socket = open(api.addr(), "/ws/echo");
    socket.send(Message::text("héllo")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("héllo"));
    socket.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(
        socket.read().unwrap(),
        Message::binary(vec![0u8, 1, 2, 255])
    );
    // One text message in three frames comes back whole.
    for (part, op, fin) in [
        ("frag", OpCode::Data(Data::Text), false),
        ("men", OpCode::Data(Data::Continue), false),
        ("ted", OpCode::Data(Data::Continue), true),
    ] {
        socket
            .send(Message::Frame(Frame::message(
                part.as_bytes().to_vec(),
                op,
                fin,
            )))
            .unwrap();
    }
    assert_eq!(socket.read().unwrap(), Message::text("fragmented"));
    socket
        .send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    assert_eq!(
        socket.read().unwrap(),
        Message::Pong(b"are you there".to_vec().into())
    );
    socket
        .close(Some(tungstenite::protocol::CloseFrame {
            code: CloseCode::from(4000),
            reason: "bye".into(),
        }))
        .unwrap();
    assert_eq!(
        close_code(&mut socket),
        Some(4000),
        "the close is answered with its code"
    );
    api.assert_alive("a WebSocket session");
}

#[test]
fn broken_messages_close_with_their_codes() {
    let api = Api::start();
    // Over the limit (the body limit, 2 MiB by default): 1009.
    let mut socket = open(api.addr(), "/ws/echo");
    socket.send(Message::binary(vec![7u8; 3 << 20])).unwrap();
    assert_eq!(close_code(&mut socket), Some(1009));
    // Invalid UTF-8 in a text message: 1007.
    let mut socket = open(api.addr(), "/ws/echo");
    socket
        .send(Message::Frame(Frame::message(
            vec![b'a', 0xff, 0xfe],
            OpCode::Data(Data::Text),
            true,
        )))
        .unwrap();
    assert_eq!(close_code(&mut socket), Some(1007));
    // An unmasked client frame, and a reserved opcode: 1002.
    for frame in [&[0x81u8, 0x02, b'h', b'i'][..], &[0x83, 0x80, 1, 2, 3, 4]] {
        let mut stream = raw_open(api.addr());
        stream.write_all(frame).unwrap();
        let mut close = [0u8; 4];
        stream.read_exact(&mut close).unwrap();
        assert_eq!(close[0], 0x88, "a Close frame, got {close:?}");
        assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1002, "{frame:?}");
    }
    api.assert_alive("broken frames");
}

#[test]
fn requests_that_are_not_handshakes_are_refused() {
    let api = Api::start();
    let plain = api.get("/ws/echo");
    assert_eq!(plain.status, 426);
    let body = String::from_utf8_lossy(&plain.body).into_owned();
    assert!(
        body.contains("Upgrade: websocket") && body.contains("Sec-WebSocket-Key"),
        "{body}"
    );
    assert_eq!(plain.header("sec-websocket-version"), Some("13"));

    let handshake = |extra: &str| {
        let mut conn = api.connect();
        conn.send_ok(
            format!("GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n{extra}\r\n")
                .as_bytes(),
        );
        conn.response()
    };
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let old = handshake(&format!("{key}Sec-WebSocket-Version: 8\r\n"));
    assert_eq!(old.status, 426);
    assert_eq!(old.header("sec-websocket-version"), Some("13"));
    let missing = handshake(key);
    assert_eq!(missing.status, 426);
    let bad_key = handshake("Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n");
    assert_eq!(bad_key.status, 400);
    assert!(String::from_utf8_lossy(&bad_key.body).contains("\"error\""));
    // Several `Connection` tokens; the upgrade works.
    let ok = handshake(&format!("{key}Sec-WebSocket-Version: 13\r\n"));
    assert_eq!(ok.status, 101);
}

#[test]
fn sigterm_closes_every_socket_with_1001_and_the_server_exits() {
    let mut api = Api::start();
    let mut sockets: Vec<_> = (0..8).map(|_| open(api.addr(), "/ws/echo")).collect();
    for socket in &mut sockets {
        socket.send(Message::text("hi")).unwrap();
        assert_eq!(socket.read().unwrap(), Message::text("hi"));
    }
    common::signal(api.pid(), "TERM");
    for socket in &mut sockets {
        assert_eq!(close_code(socket), Some(1001));
    }
    let status = api
        .wait_exit(WAIT)
        .expect("the server exits after its sockets closed");
    assert!(status.success(), "{status}");
}

/// A server of the test's own, until dropped.
struct Running {
    addr: SocketAddr,
    flag: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(limits: Limits, app: Router) -> Running {
        let server = Server::bind("127.0.0.1:0")
            .unwrap()
            .limits(limits)
            .workers(2)
            .handle_signals(false);
        let addr = server.local_addr().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&flag);
        let thread = std::thread::spawn(move || server.serve_until(app, &stop));
        Running {
            addr,
            flag,
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Tokens every 10 ms until the client says `stop`.
fn tokens(ws: WebSocketUpgrade) -> sutegi::Response {
    ws.on_upgrade(|ws| {
        for i in 0..10_000 {
            ws.send_text(&format!("token {i}"))?;
            if let Some(WsMessage::Text(text)) = ws.recv_timeout(Duration::from_millis(10))? {
                if text == "stop" {
                    ws.send_text("stopped")?;
                    break;
                }
            }
        }
        Ok(())
    })
}

#[test]
fn a_stop_sent_while_streaming_stops_the_tokens_quickly() {
    let server = Running::start(Limits::default(), Router::new().get("/tokens", tokens));
    let mut socket = open(server.addr, "/tokens");
    for _ in 0..5 {
        assert!(matches!(socket.read().unwrap(), Message::Text(_)));
    }
    socket.send(Message::text("stop")).unwrap();
    let sent = Instant::now();
    loop {
        match socket.read().unwrap() {
            Message::Text(text) if text.as_str() == "stopped" => break,
            Message::Text(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        sent.elapsed() < Duration::from_millis(50),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(close_code(&mut socket), Some(1000));
}

#[test]
fn silence_earns_a_ping_then_a_close_and_max_streams_bounds_sockets() {
    let limits = Limits {
        ws_ping_after: Duration::from_millis(200),
        ws_ping_timeout: Duration::from_millis(300),
        max_streams: 1,
        ..Limits::default()
    };
    let echo = |ws: WebSocketUpgrade| {
        ws.on_upgrade(|ws| {
            while let Some(message) = ws.recv()? {
                ws.send(message)?;
            }
            Ok(())
        })
    };
    let server = Running::start(limits, Router::new().get("/echo", echo));
    // The raw socket reads frames itself, so its pings go unanswered.
    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let (mut socket, _) =
        tungstenite::client(format!("ws://{}/echo", server.addr), stream).unwrap();
    // A second socket is over `max_streams`: 503.
    let second = TcpStream::connect(server.addr).unwrap();
    match tungstenite::client(format!("ws://{}/echo", server.addr), second) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected a 503, got {:?}", other.map(|_| ())),
    }
    let started = Instant::now();
    // tungstenite's client answers the ping by itself on its next read; to
    // stay silent, read the raw frames instead.
    let stream = socket.get_mut();
    let mut frame = [0u8; 2];
    stream.read_exact(&mut frame).unwrap();
    assert_eq!(frame[0], 0x89, "a ping first");
    let pinged = started.elapsed();
    assert!(pinged >= Duration::from_millis(150), "{pinged:?}");
    let mut rest = vec![0u8; usize::from(frame[1] & 0x7f)];
    stream.read_exact(&mut rest).unwrap();
    stream.read_exact(&mut frame).unwrap();
    assert_eq!(frame[0], 0x88, "then a close");
    let mut code = [0u8; 2];
    stream.read_exact(&mut code).unwrap();
    assert_eq!(u16::from_be_bytes(code), 1001);
    assert!(started.elapsed() >= Duration::from_millis(450));
}
