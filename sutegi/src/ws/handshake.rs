//! The opening handshake (RFC 6455 §4.2): which requests are upgraded,
//! what the others are told, and the 101 that switches the connection.

use std::io;
use std::sync::Arc;

use crate::error::Error;
use crate::extract::{FromRequest, RequestContext};
use crate::server::{Method, Request, Response, Version};

use super::socket::WebSocket;

/// The only protocol version RFC 6455 defines.
const VERSION: &str = "13";

/// Options for the WebSocket routes of a router, given as state:
/// `router.with_state(WsOptions::new().protocols(["chat.v2"]))`. Without it,
/// no subprotocol is chosen and every `Origin` is accepted.
#[derive(Clone, Debug, Default)]
pub struct WsOptions {
    protocols: Vec<String>,
    origins: Option<Vec<String>>,
}

impl WsOptions {
    /// Options that accept every origin and choose no subprotocol.
    pub fn new() -> WsOptions {
        WsOptions::default()
    }

    /// The subprotocols the server speaks, in order of preference: the
    /// first of them that the client offers in `Sec-WebSocket-Protocol` is
    /// chosen and answered; [`WebSocket::protocol`] tells which. A client
    /// that offers none of them is served without a subprotocol.
    pub fn protocols<I, S>(mut self, protocols: I) -> WsOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Only requests whose `Origin` is one of these (`https://app.example`,
    /// compared ASCII case-insensitively) are upgraded; others get 403. A
    /// browser always sends `Origin`, so this stops other sites' pages from
    /// opening sockets with the user's cookies. Requests without `Origin`
    /// (not from a browser) are let through.
    pub fn allow_origins<I, S>(mut self, origins: I) -> WsOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }
}

/// A request that asked for a WebSocket and may have one: the extractor a
/// `#[ws]` route runs before its other extractors, and that closures take
/// to answer with [`on_upgrade`](WebSocketUpgrade::on_upgrade).
///
/// It refuses, as the usual JSON error:
/// - a plain request (no `Upgrade` field): 426, naming what is missing;
/// - `Sec-WebSocket-Version` missing or not 13: 426 with
///   `Sec-WebSocket-Version: 13`;
/// - an `Origin` outside [`WsOptions::allow_origins`]: 403;
/// - anything else that is not a valid opening handshake (not `GET`, not
///   HTTP/1.1, another `Upgrade`, no `upgrade` token in `Connection`, a key
///   that is not 16 bytes in base64): 400.
///
/// ```
/// use sutegi::ws::{Message, WebSocketUpgrade};
/// use sutegi::Router;
///
/// let app = Router::new().get("/echo", |ws: WebSocketUpgrade| {
///     ws.on_upgrade(|ws| {
///         while let Some(message) = ws.recv()? {
///             ws.send(message)?;
///         }
///         Ok(())
///     })
/// });
/// # app.into_handler().unwrap();
/// ```
#[derive(Debug)]
pub struct WebSocketUpgrade {
    accept: String,
    protocol: Option<String>,
}

impl WebSocketUpgrade {
    /// Checks `request` against the opening handshake and `options`.
    pub fn check(request: &Request, options: &WsOptions) -> Result<WebSocketUpgrade, Response> {
        check(request, options)
    }

    /// The subprotocol chosen, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The 101 answer: once it is written, `handler` runs on a stream thread
    /// with the open socket. When it returns, the socket is closed with
    /// 1000 (normal) if it returned `Ok`, 1011 (internal error) if it
    /// returned an error while the socket was still open.
    pub fn on_upgrade<F>(self, handler: F) -> Response
    where
        F: FnOnce(&mut WebSocket) -> io::Result<()> + Send + 'static,
    {
        let WebSocketUpgrade { accept, protocol } = self;
        let answered = protocol.clone();
        let mut response = Response::upgrade("websocket", move |upgraded| {
            let mut ws = WebSocket::server(upgraded, protocol);
            let result = handler(&mut ws);
            ws.finish(result);
        })
        .header("Sec-WebSocket-Accept", accept);
        if let Some(protocol) = answered {
            response.append_header("Sec-WebSocket-Protocol", protocol);
        }
        response
    }
}

impl<'r> FromRequest<'r> for WebSocketUpgrade {
    type Rejection = Response;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Response> {
        let default = WsOptions::default();
        let options = cx.state::<WsOptions>().map_or(&default, Arc::as_ref);
        check(cx.request(), options)
    }
}

fn refuse(status: u16, message: String) -> Response {
    Error::new(status, message).to_json_response()
}

/// Whether a comma-separated header field (in any of its lines) holds
/// `token`, compared ASCII case-insensitively.
fn has_token(request: &Request, name: &str, token: &str) -> bool {
    request.header_all(name).any(|line| {
        line.split(|&b| b == b',')
            .any(|t| trim_ows(t).eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// `value` without the optional whitespace around it: spaces and tabs
/// (RFC 9110 §5.6.3), nothing else, so a no-break space or another
/// Unicode space next to a token is not read as its edge.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// The one value of a field the handshake allows once (RFC 6455 §11.3.1,
/// §11.3.5: `Sec-WebSocket-Key` and `Sec-WebSocket-Version` "MUST NOT
/// appear more than once"), trimmed; `None` when it is missing, repeated
/// or not UTF-8.
fn single<'r>(request: &'r Request, name: &'r str) -> Option<&'r str> {
    let mut lines = request.header_all(name);
    let value = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    std::str::from_utf8(trim_ows(value)).ok()
}

/// A `Sec-WebSocket-Key` is 16 bytes in base64: 22 characters and `==`.
fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes.ends_with(b"==")
        && bytes[..22]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

fn check(request: &Request, options: &WsOptions) -> Result<WebSocketUpgrade, Response> {
    // Presence, not a readable value: an `Upgrade` line that is not
    // UTF-8 still makes this a handshake attempt, judged below.
    if request.header_all("upgrade").next().is_none() {
        let mut missing = vec!["`Upgrade: websocket`"];
        if !has_token(request, "connection", "upgrade") {
            missing.push("`Connection: Upgrade`");
        }
        if request.header_all("sec-websocket-key").next().is_none() {
            missing.push("`Sec-WebSocket-Key`");
        }
        if request.header("sec-websocket-version") != Some(VERSION) {
            missing.push("`Sec-WebSocket-Version: 13`");
        }
        let message = format!(
            "this route is a WebSocket: open it with a WebSocket client (the request lacks {})",
            missing.join(", ")
        );
        return Err(refuse(426, message)
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", VERSION));
    }
    if request.method() != Method::Get {
        return Err(refuse(400, "a WebSocket opens with a GET request".into()));
    }
    if request.version() != Version::Http11 {
        return Err(refuse(400, "a WebSocket opens over HTTP/1.1".into()));
    }
    if !has_token(request, "upgrade", "websocket") {
        return Err(refuse(
            400,
            "this route upgrades to `websocket` only (`Upgrade: websocket`)".into(),
        ));
    }
    if !has_token(request, "connection", "upgrade") {
        return Err(refuse(
            400,
            "a WebSocket handshake needs the `upgrade` token in `Connection`".into(),
        ));
    }
    if request.header_all("sec-websocket-version").nth(1).is_some() {
        return Err(refuse(
            400,
            "`Sec-WebSocket-Version` must appear once".into(),
        ));
    }
    if single(request, "sec-websocket-version") != Some(VERSION) {
        return Err(refuse(
            426,
            "`Sec-WebSocket-Version` must be 13, the version this server speaks".into(),
        )
        .header("Sec-WebSocket-Version", VERSION));
    }
    let key = match single(request, "sec-websocket-key") {
        Some(key) if is_valid_key(key) => key,
        _ => {
            return Err(refuse(
                400,
                "`Sec-WebSocket-Key` must appear once, 16 bytes in base64".into(),
            ))
        }
    };
    if let (Some(allowed), Some(origin)) = (&options.origins, request.header("origin")) {
        if !allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(origin.trim_matches([' ', '\t'])))
        {
            return Err(refuse(
                403,
                format!(
                    "WebSockets from origin `{}` are not allowed",
                    origin.trim_matches([' ', '\t'])
                ),
            ));
        }
    }
    let offered: Vec<String> = request
        .header_all("sec-websocket-protocol")
        .flat_map(|line| {
            String::from_utf8_lossy(line)
                .split(',')
                .map(|p| p.trim_matches([' ', '\t']).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let protocol = options
        .protocols
        .iter()
        .find(|p| offered.iter().any(|o| o == *p))
        .cloned();
    Ok(WebSocketUpgrade {
        accept: tungstenite::handshake::derive_accept_key(key.as_bytes()),
        protocol,
    })
}
