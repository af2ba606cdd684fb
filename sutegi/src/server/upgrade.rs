//! Upgraded connections (`101 Switching Protocols`): the types a response
//! hands its raw socket over with. [`UpgradeHandler`] owns the socket once
//! the 101 head is out; [`Upgraded`] is that socket, with the bytes the
//! client sent behind its request head.
//!
//! The server knows no protocol beyond HTTP/1.1: it writes the 101 head
//! (with `Connection: Upgrade`, `write::encode_upgrade_head`), runs the
//! handler on a stream thread counted in `max_streams`
//! (`serve::streams`), and tells it when shutdown begins through
//! [`Upgraded::stopping`]. Checking whether an upgrade may happen, and the
//! protocol spoken after it, belong to the caller (the WebSocket module
//! does both).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::limits::Limits;

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
