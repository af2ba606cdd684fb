//! The handshake's options and the socket's messages, in process.

use crate::test::TestClient;
use crate::ws::{Message, WebSocketUpgrade, WsOptions};
use crate::{Response, Router};

fn echo(ws: WebSocketUpgrade) -> Response {
    let chosen = ws.protocol().map(str::to_owned);
    ws.on_upgrade(move |ws| {
        assert_eq!(ws.protocol(), chosen.as_deref());
        while let Some(message) = ws.recv()? {
            ws.send(message)?;
        }
        Ok(())
    })
}

#[test]
fn the_first_subprotocol_the_server_prefers_is_chosen() {
    let app = Router::new()
        .get("/ws", echo)
        .with_state(WsOptions::new().protocols(["v2", "v1"]));
    let client = TestClient::new(app);
    let socket = client
        .get("/ws")
        .header("Sec-WebSocket-Protocol", "v1, v2")
        .websocket()
        .unwrap();
    assert_eq!(socket.header("sec-websocket-protocol"), Some("v2"));
    assert_eq!(socket.close(1000).unwrap(), Some(1000));
    let socket = client.get("/ws").websocket().unwrap();
    assert_eq!(socket.header("sec-websocket-protocol"), None);
    assert_eq!(socket.close(1000).unwrap(), Some(1000));
}

#[test]
fn origins_outside_the_allow_list_get_403() {
    let app = Router::new()
        .get("/ws", echo)
        .with_state(WsOptions::new().allow_origins(["https://app.example"]));
    let client = TestClient::new(app);
    let refused = client
        .get("/ws")
        .header("Origin", "https://evil.example")
        .websocket()
        .unwrap_err();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().contains("evil.example"));
    let mut socket = client
        .get("/ws")
        .header("Origin", "https://APP.example")
        .websocket()
        .unwrap();
    socket.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(socket.recv().unwrap(), Some(Message::Binary(vec![1, 2, 3])));
    assert_eq!(socket.close(4001).unwrap(), Some(4001));
}

#[test]
fn a_handler_error_closes_with_1011_and_a_return_with_1000() {
    let app = Router::new()
        .get("/fail", |ws: WebSocketUpgrade| {
            ws.on_upgrade(|_| Err(std::io::Error::other("upstream down")))
        })
        .get("/done", |ws: WebSocketUpgrade| {
            ws.on_upgrade(|ws| ws.send_text("bye"))
        });
    let client = TestClient::new(app);
    let mut socket = client.get("/fail").websocket().unwrap();
    assert_eq!(socket.recv().unwrap(), None);
    assert_eq!(socket.close(1000).unwrap(), Some(1011));
    let mut socket = client.get("/done").websocket().unwrap();
    assert_eq!(socket.recv().unwrap(), Some(Message::Text("bye".into())));
    assert_eq!(socket.recv().unwrap(), None);
    assert_eq!(socket.close(1000).unwrap(), Some(1000));
}

#[test]
fn a_refusal_before_the_upgrade_is_the_json_error() {
    let client = TestClient::new(Router::new().get("/ws", echo));
    let plain = client.get("/ws").send();
    assert_eq!(plain.status(), 426);
    assert_eq!(plain.header("upgrade"), Some("websocket"));
    assert!(plain.text().contains("\"message\""), "{}", plain.text());
    let post = client.post("/ws").websocket().unwrap_err();
    assert_eq!(post.status(), 405);
}

/// A head as a client would send it, with `extra` fields after the four a
/// handshake needs but a key and a version of its own.
fn handshake(fields: &[(&str, &str)]) -> crate::Request {
    let mut all = vec![
        ("Host", "t"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
    ];
    all.extend_from_slice(fields);
    crate::Request::new(crate::Method::Get, "/ws", &all, Vec::new())
}

#[test]
fn the_key_and_the_version_must_each_appear_once() {
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    let check = |fields: &[(&str, &str)]| {
        WebSocketUpgrade::check(&handshake(fields), &WsOptions::new()).map_err(|r| r.status())
    };
    assert!(check(&[("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "13")]).is_ok());
    let two_keys = [
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ];
    assert_eq!(check(&two_keys).unwrap_err(), 400);
    let two_versions = [
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Version", "13"),
    ];
    assert_eq!(check(&two_versions).unwrap_err(), 400);
    // Only spaces and tabs edge a value: a no-break space is part of it.
    let nbsp_key = format!("{KEY}\u{a0}");
    let nbsp = [
        ("Sec-WebSocket-Key", nbsp_key.as_str()),
        ("Sec-WebSocket-Version", "13"),
    ];
    assert_eq!(check(&nbsp).unwrap_err(), 400);
    let tabbed_key = format!("\t{KEY} ");
    let tabbed = [
        ("Sec-WebSocket-Key", tabbed_key.as_str()),
        ("Sec-WebSocket-Version", "13"),
    ];
    assert!(check(&tabbed).is_ok());
}

#[test]
fn an_upgrade_line_that_is_not_utf8_does_not_hide_the_handshake() {
    // `Upgrade` is a list across lines (RFC 9110 §5.3): a first line of
    // stray bytes beside a second `websocket` line is still a handshake,
    // not a plain GET to be told 426.
    let wire: &[u8] = b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: x\xff\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let mut reader = wire;
    let Ok(Some(crate::server::Incoming::Request(request))) =
        crate::server::parse_request(&mut reader, &crate::Limits::default())
    else {
        panic!("the request should parse");
    };
    assert!(WebSocketUpgrade::check(&request, &WsOptions::new()).is_ok());
}
