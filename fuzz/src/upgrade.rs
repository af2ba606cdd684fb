//! The WebSocket opening handshake (RFC 6455 §4.2.1) under arbitrary
//! request bytes: every request the codec reads is put to
//! [`WebSocketUpgrade::check`] and to a router whose every path is a
//! WebSocket route, and both are held to a reading of the RFC written here,
//! apart from the server's.
//!
//! The reading: a request is upgraded exactly when it is a `GET` over
//! HTTP/1.1 whose `Upgrade` holds the `websocket` token, whose `Connection`
//! holds the `upgrade` token (both compared ASCII case-insensitively, list
//! elements trimmed of spaces and tabs only), with exactly one
//! `Sec-WebSocket-Version`, equal to `13`, and exactly one
//! `Sec-WebSocket-Key` that decodes from base64 to 16 bytes (RFC 6455
//! §11.3.1 and §11.3.5: each "MUST NOT appear more than once"). The 101
//! then carries the accept key computed here with SHA-1; every refusal is a
//! JSON error with a 4xx status, and a 426 names the version spoken.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::Engine as _;
use sha1::{Digest, Sha1};
use std::sync::OnceLock;

use sutegi::server::Version;
use sutegi::ws::{WebSocketUpgrade, WsOptions};
use sutegi::{parse_request, Handler, Incoming, Method, Request, Response, Router, RouterHandler};

use crate::split::fuzz_limits;

/// The GUID RFC 6455 §1.3 appends to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Reads up to 8 requests from `data` (after its first byte, which the
/// request fuzzer's corpus uses to pick cuts and this target ignores, so
/// that corpus serves here as it is) and checks each handshake.
pub fn ws_upgrade_case(data: &[u8]) {
    let Some((_, mut bytes)) = data.split_first() else {
        return;
    };
    let limits = fuzz_limits();
    for _ in 0..8 {
        match parse_request(&mut bytes, &limits) {
            Ok(Some(Incoming::Request(request))) => check_handshake(request),
            Ok(_) => return,
            Err(error) => panic!("reading from memory failed: {error}"),
        }
    }
}

fn check_handshake(request: Request) {
    let expected_key = reference_key(&request);
    match WebSocketUpgrade::check(&request, &WsOptions::new()) {
        Ok(upgrade) => {
            let key = expected_key.as_deref().unwrap_or_else(|| {
                panic!("upgraded a request the RFC refuses: {}", describe(&request))
            });
            let response = upgrade.on_upgrade(|_| Ok(()));
            check_switch(&response, key);
        }
        Err(refusal) => {
            assert!(
                expected_key.is_none(),
                "refused ({}) a valid handshake: {}",
                refusal.status(),
                describe(&request)
            );
            check_refusal(&refusal);
        }
    }
    // The same through routing, as a `#[ws]` route is reached: a method
    // other than GET or HEAD never gets to the handshake (405, or the
    // automatic answer to OPTIONS).
    let method = request.method();
    let response = router().handle(request);
    match response.status() {
        101 => check_switch(
            &response,
            expected_key.as_deref().expect("101 only for a valid one"),
        ),
        // The automatic answers to methods the route does not take.
        405 => assert!(!matches!(method, Method::Get | Method::Head)),
        204 => assert_eq!(method, Method::Options),
        _ => {
            assert!(
                expected_key.is_none(),
                "the router refused a valid handshake"
            );
            check_refusal(&response);
        }
    }
}

fn router() -> &'static RouterHandler {
    static ROUTER: OnceLock<RouterHandler> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let socket = |ws: WebSocketUpgrade| ws.on_upgrade(|_| Ok(()));
        Router::new()
            .get("/", socket)
            .get("/{*rest}", socket)
            .into_handler()
            .expect("the fuzz router checks out")
    })
}

/// The key to answer, when the RFC's reading upgrades `request`.
fn reference_key(request: &Request) -> Option<String> {
    if request.method() != Method::Get || request.version() != Version::Http11 {
        return None;
    }
    if !has_token(request, "upgrade", b"websocket") || !has_token(request, "connection", b"upgrade")
    {
        return None;
    }
    let [version] = request
        .header_all("sec-websocket-version")
        .collect::<Vec<_>>()[..]
    else {
        return None;
    };
    if trim_ows(version) != b"13" {
        return None;
    }
    let [key] = request.header_all("sec-websocket-key").collect::<Vec<_>>()[..] else {
        return None;
    };
    let key = trim_ows(key);
    // Lenient about the unused low bits of the last character: the RFC asks
    // for a value that decodes to 16 bytes, and such a value does.
    let lenient = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    match lenient.decode(key) {
        Ok(decoded) if decoded.len() == 16 => Some(String::from_utf8(key.to_vec()).ok()?),
        _ => None,
    }
}

/// Whether any line of the comma-separated field `name` holds `token`.
fn has_token(request: &Request, name: &str, token: &[u8]) -> bool {
    request.header_all(name).any(|line| {
        line.split(|&b| b == b',')
            .any(|element| trim_ows(element).eq_ignore_ascii_case(token))
    })
}

/// `value` without the optional whitespace (spaces and tabs) around it.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

fn check_switch(response: &Response, key: &str) {
    assert_eq!(response.status(), 101);
    assert!(response.is_upgrade());
    let accept = STANDARD.encode(Sha1::digest(format!("{key}{GUID}").as_bytes()));
    assert_eq!(
        response.header_value("sec-websocket-accept"),
        Some(accept.as_str())
    );
    assert!(response
        .header_value("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket")));
    for framing in ["content-length", "transfer-encoding"] {
        assert!(
            response.header_value(framing).is_none(),
            "a 101 with {framing}"
        );
    }
}

fn check_refusal(response: &Response) {
    let status = response.status();
    assert!((400..500).contains(&status), "refused with {status}");
    assert!(response
        .header_value("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    let body = response
        .body()
        .as_bytes()
        .expect("a refusal's body is in memory");
    assert!(!body.is_empty());
    if status == 426 {
        assert_eq!(response.header_value("sec-websocket-version"), Some("13"));
    }
}

fn describe(request: &Request) -> String {
    let fields: Vec<String> = request
        .headers()
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value)))
        .collect();
    format!(
        "{:?} {} {:?} [{}]",
        request.method(),
        request.target(),
        request.version(),
        fields.join(" | ")
    )
}
