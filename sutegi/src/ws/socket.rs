//! An open WebSocket on the server's side: messages in and out over
//! `tungstenite`'s framing, and the bounds the server keeps on them.
//!
//! `tungstenite` reads and writes frames (masking, fragments, control
//! frames, the close handshake); this module decides when: how long a read
//! waits, when silence earns a ping and then a close, which close code a
//! broken frame gets, and how shutdown says goodbye.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use crate::server::Upgraded;

/// How often a blocked read looks up from the socket to see whether the
/// server is shutting down or the idle ping is due: shutdown is noticed
/// within this much.
const TICK: Duration = Duration::from_millis(50);
/// How long a socket that sent its Close waits for the peer's.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);
/// Bytes read from the socket at once. Small, because a thousand open
/// sockets each keep one; a larger message arrives over several reads.
const READ_BUFFER: usize = 8 * 1024;

/// A complete message: text or binary, reassembled from its fragments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8, checked on arrival).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The message's bytes, text or binary.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }

    /// The text, if it is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }
}

/// The close codes the server sends itself (RFC 6455 §7.4.1).
pub mod close_code {
    /// The handler finished.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down, or the peer stayed silent past the
    /// idle limit and did not answer a ping.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame broke the protocol (unmasked, unknown opcode, …).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message was not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// A message was larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// The handler returned an error.
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// One WebSocket connection, lent to a `#[ws]` handler (or an
/// [`on_upgrade`](super::WebSocketUpgrade::on_upgrade) closure) on a stream
/// thread of its own.
///
/// `tungstenite` does the framing; pings are answered as they arrive. The
/// server's bounds apply (see [`Limits`](crate::Limits)): a message over
/// `ws_max_message_bytes` closes with 1009, invalid UTF-8 with 1007, an
/// unmasked or unknown frame with 1002; a peer silent for `ws_ping_after`
/// gets a ping, and if it stays silent `ws_ping_timeout` more, a close
/// (1001). A peer that takes nothing for `write_timeout` makes sends fail.
/// When the server shuts down, the socket sends Close 1001, and `recv`
/// returns `None` (sends fail) so the handler finishes.
pub struct WebSocket {
    inner: tungstenite::WebSocket<Upgraded>,
    protocol: Option<String>,
    ping_after: Duration,
    ping_timeout: Duration,
    last_heard: Instant,
    ping_sent: Option<Instant>,
    read_timeout: Option<Duration>,
    closed: bool,
    peer_close: Option<u16>,
}

/// What one wait for a message ended in.
enum Received {
    Message(Message),
    Closed,
    TimedOut,
}

impl WebSocket {
    /// The server's side of a socket just upgraded.
    pub(crate) fn server(upgraded: Upgraded, protocol: Option<String>) -> WebSocket {
        let limits = upgraded.limits();
        let max_message = limits
            .ws_max_message_bytes
            .unwrap_or(limits.max_body_bytes)
            .try_into()
            .unwrap_or(usize::MAX);
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(0)
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let ping_after = limits.ws_ping_after;
        let ping_timeout = limits.ws_ping_timeout;
        WebSocket {
            inner: tungstenite::WebSocket::from_raw_socket(upgraded, Role::Server, Some(config)),
            protocol,
            ping_after,
            ping_timeout,
            last_heard: Instant::now(),
            ping_sent: None,
            read_timeout: None,
            closed: false,
            peer_close: None,
        }
    }

    /// The subprotocol chosen in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The code of the Close the peer sent, once it sent one.
    pub fn peer_close_code(&self) -> Option<u16> {
        self.peer_close
    }

    /// Whether the socket is closed (by either side, or broken).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Waits for the next message. `Ok(None)` once the socket is closed:
    /// the peer closed it (its Close was answered with the same code), a
    /// bound closed it, or the server is shutting down.
    pub fn recv(&mut self) -> io::Result<Option<Message>> {
        loop {
            match self.receive(None)? {
                Received::Message(message) => return Ok(Some(message)),
                Received::Closed => return Ok(None),
                Received::TimedOut => {}
            }
        }
    }

    /// Waits at most `timeout` for the next message: `Ok(None)` when none
    /// came in time, so a handler can send while it listens (an LLM stream
    /// that stops when the client says `stop`). Once the socket is closed
    /// this returns an error of kind `ConnectionAborted`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> io::Result<Option<Message>> {
        match self.receive(Some(Instant::now() + timeout))? {
            Received::Message(message) => Ok(Some(message)),
            Received::TimedOut => Ok(None),
            Received::Closed => Err(closed_error()),
        }
    }

    /// Sends a message (flushed at once).
    pub fn send(&mut self, message: Message) -> io::Result<()> {
        let message = match message {
            Message::Text(text) => tungstenite::Message::Text(text.into()),
            Message::Binary(bytes) => tungstenite::Message::Binary(bytes.into()),
        };
        self.send_frame(message)
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send_frame(tungstenite::Message::Text(text.into()))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.send_frame(tungstenite::Message::Binary(bytes.to_vec().into()))
    }

    /// Sends a ping; the pong comes back through `recv` unseen (it only
    /// counts as the peer being alive).
    pub fn ping(&mut self, payload: &[u8]) -> io::Result<()> {
        self.send_frame(tungstenite::Message::Ping(payload.to_vec().into()))
    }

    /// Closes with `code` and `reason`, and waits briefly for the peer's
    /// Close. Closing a closed socket does nothing.
    pub fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        self.close_with(code, reason, true);
        Ok(())
    }

    fn send_frame(&mut self, message: tungstenite::Message) -> io::Result<()> {
        if self.closed {
            return Err(closed_error());
        }
        if self.inner.get_ref().stopping() {
            self.close_with(close_code::GOING_AWAY, "server shutting down", true);
            return Err(closed_error());
        }
        match self.inner.send(message) {
            Ok(()) => Ok(()),
            Err(error) => {
                // A write that timed out leaves a frame half-sent: the
                // socket cannot be used again.
                self.closed = true;
                Err(into_io(error))
            }
        }
    }

    /// One wait for a message, until `deadline` if given. Looks up every
    /// `TICK` for shutdown and for the idle ping.
    fn receive(&mut self, deadline: Option<Instant>) -> io::Result<Received> {
        loop {
            if self.closed {
                return Ok(Received::Closed);
            }
            if self.inner.get_ref().stopping() {
                self.close_with(close_code::GOING_AWAY, "server shutting down", true);
                return Ok(Received::Closed);
            }
            let now = Instant::now();
            // Silence: a ping first, then a close if that is not answered.
            let next_idle_event = match self.ping_sent {
                None if now >= self.last_heard + self.ping_after => {
                    self.ping_sent = Some(now);
                    if self
                        .inner
                        .send(tungstenite::Message::Ping(Vec::new().into()))
                        .is_err()
                    {
                        self.closed = true;
                        return Ok(Received::Closed);
                    }
                    now + self.ping_timeout
                }
                None => self.last_heard + self.ping_after,
                Some(sent) if now >= sent + self.ping_timeout => {
                    self.close_with(close_code::GOING_AWAY, "idle", false);
                    return Ok(Received::Closed);
                }
                Some(sent) => sent + self.ping_timeout,
            };
            if deadline.is_some_and(|d| now >= d) {
                return Ok(Received::TimedOut);
            }
            let mut wait = TICK.min(next_idle_event.saturating_duration_since(now));
            if let Some(deadline) = deadline {
                wait = wait.min(deadline.saturating_duration_since(now));
            }
            self.set_read_timeout(wait.max(Duration::from_millis(1)))?;
            match self.inner.read() {
                Ok(message) => {
                    self.last_heard = Instant::now();
                    self.ping_sent = None;
                    match message {
                        tungstenite::Message::Text(text) => {
                            return Ok(Received::Message(Message::Text(text.as_str().to_owned())))
                        }
                        tungstenite::Message::Binary(bytes) => {
                            return Ok(Received::Message(Message::Binary(bytes.into())))
                        }
                        tungstenite::Message::Ping(_) => {
                            // The pong is queued by tungstenite; send it now.
                            if self.inner.flush().is_err() {
                                self.closed = true;
                            }
                        }
                        tungstenite::Message::Pong(_) | tungstenite::Message::Frame(_) => {}
                        tungstenite::Message::Close(frame) => {
                            self.peer_close = Some(frame.map_or(1005, |f| u16::from(f.code)));
                            // tungstenite queued the reply with the same code.
                            let _ = self.inner.flush();
                            self.closed = true;
                            return Ok(Received::Closed);
                        }
                    }
                }
                Err(WsError::Io(error))
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(WsError::Io(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.fail(&error);
                    return Ok(Received::Closed);
                }
            }
        }
    }

    /// A read failed: the frame or message broke a rule (close with the
    /// code RFC 6455 gives it) or the connection is gone.
    fn fail(&mut self, error: &WsError) {
        let code = match error {
            WsError::Capacity(CapacityError::MessageTooLong { .. }) => close_code::TOO_BIG,
            WsError::Capacity(_) => close_code::TOO_BIG,
            WsError::Utf8(_) => close_code::INVALID_DATA,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                self.closed = true;
                return;
            }
            WsError::Protocol(_) => close_code::PROTOCOL_ERROR,
            _ => {
                self.closed = true;
                return;
            }
        };
        log::debug!("closing a WebSocket with {code}: {error}");
        // The stream may be mid-frame: send the Close, do not read on.
        self.close_with(code, "", false);
    }

    fn set_read_timeout(&mut self, wait: Duration) -> io::Result<()> {
        if self.read_timeout != Some(wait) {
            self.inner.get_ref().socket().set_read_timeout(Some(wait))?;
            self.read_timeout = Some(wait);
        }
        Ok(())
    }

    /// Sends a Close (if the socket is still open) and, when
    /// `await_reply`, reads until the peer's Close for a short while so the
    /// peer sees a complete closing handshake.
    fn close_with(&mut self, code: u16, reason: &str, await_reply: bool) {
        if self.closed {
            return;
        }
        self.closed = true;
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        if self.inner.close(Some(frame)).is_err() {
            return;
        }
        if !await_reply {
            self.drain();
            return;
        }
        let until = Instant::now() + CLOSE_REPLY_WAIT;
        let _ = self.set_read_timeout(TICK);
        while Instant::now() < until {
            match self.inner.read() {
                Ok(tungstenite::Message::Close(_)) => {
                    let _ = self.inner.flush();
                    return;
                }
                Ok(_) => {}
                Err(WsError::Io(error))
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }

    /// After a Close for a broken frame or message: the stream may be
    /// mid-frame, so frames cannot be read, but closing with the peer's
    /// bytes unread would send a reset, and a reset (through a proxy
    /// especially) can destroy the Close before the peer reads it. So the
    /// raw bytes are read and dropped until the peer goes quiet (it stops
    /// sending once it sees the Close), closes, or a second has passed.
    fn drain(&mut self) {
        const QUIET: Duration = Duration::from_millis(200);
        let until = Instant::now() + CLOSE_REPLY_WAIT;
        let _ = self.set_read_timeout(TICK);
        let mut last_bytes = Instant::now();
        let mut scratch = [0u8; 8 * 1024];
        while Instant::now() < until && last_bytes.elapsed() < QUIET {
            match self.inner.get_mut().read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => last_bytes = Instant::now(),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }

    /// After the handler returned: close what is still open, 1000 for a
    /// handler that finished, 1011 for one that failed.
    pub(crate) fn finish(&mut self, result: io::Result<()>) {
        match result {
            Ok(()) => self.close_with(close_code::NORMAL, "", true),
            Err(error) => {
                if !self.closed {
                    log::debug!("a WebSocket handler failed: {error}");
                }
                self.close_with(close_code::INTERNAL_ERROR, "", true);
            }
        }
    }
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("protocol", &self.protocol)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

fn closed_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the WebSocket is closed")
}

fn into_io(error: WsError) -> io::Error {
    match error {
        WsError::Io(error) => error,
        WsError::ConnectionClosed | WsError::AlreadyClosed => closed_error(),
        other => io::Error::other(other.to_string()),
    }
}
