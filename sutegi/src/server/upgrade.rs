//! Upgraded connections (`101 Switching Protocols`): after the 101 head is
//! written, the raw socket goes to the response's [`UpgradeHandler`] on a
//! stream thread, and the connection closes when the handler returns.
//!
//! The server knows no protocol beyond HTTP/1.1: it writes the 101 head
//! (with `Connection: Upgrade`), hands over the bytes the client sent after
//! its request head, counts the connection as a stream (`max_streams`), and
//! tells it when shutdown begins through [`Upgraded::stopping`]. Checking
//! whether an upgrade may happen, and the protocol spoken after it, belong
//! to the caller (the WebSocket module does both).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::limits::Limits;
use super::response::HeaderText;
use super::write::{is_field_value, is_token};

/// What runs on an upgraded connection: it owns the socket until it
/// returns; then the server closes the connection.
pub type UpgradeHandler = Box<dyn FnOnce(Upgraded) + Send + 'static>;

/// A connection after its `101 Switching Protocols`: a blocking socket with
/// the server's `write_timeout` set, plus what the client already sent
/// behind its request head. Reads take those bytes first.
pub struct Upgraded {
    socket: TcpStream,
    leftover: Vec<u8>,
    read_from: usize,
    stop: Arc<AtomicBool>,
    limits: Limits,
}

impl Upgraded {
    /// Wraps a socket that has just been switched to another protocol.
    pub(crate) fn new(
        socket: TcpStream,
        leftover: Vec<u8>,
        stop: Arc<AtomicBool>,
        limits: Limits,
    ) -> Upgraded {
        Upgraded {
            socket,
            leftover,
            read_from: 0,
            stop,
            limits,
        }
    }

    /// True once the server is shutting down: the protocol should say
    /// goodbye to its peer and return within [`Limits::shutdown_grace`].
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The server's limits, for the protocol's own bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The socket, to set read timeouts on (reads through it directly would
    /// skip the bytes already received: read through `Upgraded`).
    pub fn socket(&self) -> &TcpStream {
        &self.socket
    }

    /// The peer's address.
    pub fn peer(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }

    /// Whether bytes received before the upgrade are still unread.
    pub fn has_buffered_input(&self) -> bool {
        self.read_from < self.leftover.len()
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.has_buffered_input() {
            let rest = &self.leftover[self.read_from..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.read_from += n;
            if !self.has_buffered_input() {
                self.leftover = Vec::new();
                self.read_from = 0;
            }
            return Ok(n);
        }
        (&self.socket).read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.socket).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&self.socket).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgraded")
            .field("peer", &self.socket.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

/// The 101 head: the status line, `Connection: Upgrade`, then the
/// response's own fields (`Upgrade: websocket`, the protocol's keys). No
/// framing fields and no `Date`: nothing after it is HTTP.
pub(crate) fn encode_upgrade_head(out: &mut Vec<u8>, headers: &[(HeaderText, HeaderText)]) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || !is_token(name.as_bytes())
            || !is_field_value(value.as_bytes())
        {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Runs an upgrade on a stream thread: writes the 101 head on the
/// (blocking, write-timed) socket, then calls the handler with a duplicate
/// of the socket. The caller closes the connection afterwards. A panicking
/// handler is logged; the connection closes all the same.
pub(crate) fn run_upgrade(
    socket: &TcpStream,
    leftover: Vec<u8>,
    headers: &[(HeaderText, HeaderText)],
    handler: UpgradeHandler,
    stop: Arc<AtomicBool>,
    limits: &Limits,
) {
    if socket.set_nonblocking(false).is_err()
        || socket
            .set_write_timeout(Some(limits.write_timeout))
            .is_err()
    {
        return;
    }
    let mut head = Vec::with_capacity(256);
    encode_upgrade_head(&mut head, headers);
    if (&*socket).write_all(&head).is_err() {
        return;
    }
    let Ok(duplicate) = socket.try_clone() else {
        return;
    };
    let upgraded = Upgraded::new(duplicate, leftover, stop, limits.clone());
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(upgraded)));
    if let Err(panic) = ran {
        log::error!(
            "an upgraded connection's handler panicked: {}",
            super::handler::panic_message(&panic)
        );
    }
    let _ = socket.shutdown(Shutdown::Both);
}
