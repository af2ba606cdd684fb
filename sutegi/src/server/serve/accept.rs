//! Accepting: one thread that waits on the listener alone and hands each
//! new connection to a seat, round-robin. It never runs a handler, so
//! accepting goes on however long handlers block. It stops at
//! `max_connections` until a connection closes, pauses briefly when the
//! process is out of file descriptors (logging once), and at shutdown takes
//! what is in the backlog before the listener closes.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};

use super::super::conn::{Conn, Interest};
use super::super::handler::Handler;
use super::super::limits::PeerCounts;
use super::super::registered::Registered;
use super::slots::{Entry, Slot};
use super::{lock, Shared, ACCEPT_BACKOFF};

/// The listener's key in the acceptor's readiness set.
const LISTENER_KEY: usize = 0;

/// What the rest of the server shares with the acceptor thread.
pub(super) struct Acceptor {
    /// The acceptor waits here; notified when a connection closes while
    /// accepting is stopped at `max_connections`, and at shutdown.
    pub(super) poller: Arc<Poller>,
    /// Accepting stopped at `max_connections`.
    pub(super) at_capacity: AtomicBool,
    /// Shutdown asks the acceptor to take the backlog and close the listener.
    pub(super) close: AtomicBool,
    /// Open connections per client address (`max_connections_per_peer`).
    peers: PeerCounts,
    /// A connection over `max_connections_per_peer` was logged (once).
    logged_peer_bound: AtomicBool,
}

impl Acceptor {
    pub(super) fn new() -> io::Result<Acceptor> {
        Ok(Acceptor {
            poller: Arc::new(Poller::new()?),
            at_capacity: AtomicBool::new(false),
            close: AtomicBool::new(false),
            peers: PeerCounts::default(),
            logged_peer_bound: AtomicBool::new(false),
        })
    }
}

impl<H: Handler> Shared<H> {
    /// The acceptor thread's life, until shutdown closes the listener.
    pub(super) fn accept_loop(&self, listener: TcpListener) {
        let poller = &self.acceptor.poller;
        let listener = match Registered::add(
            poller,
            listener,
            Event::readable(LISTENER_KEY),
            PollMode::Level,
        ) {
            Ok(listener) => listener,
            Err((error, _)) => {
                log::error!("could not watch the listener: {error}");
                return;
            }
        };
        let mut events = Events::new();
        let mut logged_shortage = false;
        let mut listening = true;
        loop {
            if self.acceptor.close.load(Ordering::SeqCst) {
                // Take what is in the backlog; dropping the guard then takes
                // the listener out of the poller and closes it.
                while let Ok((socket, peer)) = listener.accept() {
                    self.register(socket, peer);
                }
                return;
            }
            let mut pause = None;
            if self.open.load(Ordering::SeqCst) >= self.limits.max_connections {
                // Stopped until a connection closes (its close notifies).
                self.acceptor.at_capacity.store(true, Ordering::SeqCst);
                if self.open.load(Ordering::SeqCst) >= self.limits.max_connections {
                    pause = Some(Duration::from_secs(1));
                }
            }
            if pause.is_none() {
                for _ in 0..256 {
                    if self.open.load(Ordering::SeqCst) >= self.limits.max_connections {
                        break;
                    }
                    match listener.accept() {
                        Ok((socket, peer)) => self.register(socket, peer),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                            // ENFILE / EMFILE: pause instead of spinning on a
                            // listener that stays readable.
                            if !std::mem::replace(&mut logged_shortage, true) {
                                log::warn!(
                                    "out of file descriptors; accepting pauses briefly: {e}"
                                );
                            }
                            pause = Some(ACCEPT_BACKOFF);
                            break;
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                            ) => {}
                        Err(e) => {
                            log::warn!("accept failed: {e}");
                            break;
                        }
                    }
                }
            }
            // While paused the listener is not watched (it would report the
            // waiting backlog at once, a spin); the pause ends at its timeout
            // or a notify.
            let watch = pause.is_none();
            if watch != listening {
                let interest = if watch {
                    Event::readable(LISTENER_KEY)
                } else {
                    Event::none(LISTENER_KEY)
                };
                if listener.modify(interest, PollMode::Level).is_ok() {
                    listening = watch;
                }
            }
            events.clear();
            if let Err(error) = poller.wait(&mut events, pause) {
                log::error!("waiting to accept failed: {error}");
                std::thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }

    /// Puts an accepted socket in the next seat's readiness set and parks
    /// its connection there.
    pub(super) fn register(&self, socket: TcpStream, peer: SocketAddr) {
        // Over its address's bound, the connection is closed unanswered
        // (dropping the socket): reading its request is the work the bound
        // is there to save.
        let peer_slot = match self.limits.max_connections_per_peer {
            None => None,
            Some(bound) => match self.acceptor.peers.take(peer.ip(), bound) {
                Some(slot) => Some(slot),
                None => {
                    if !self
                        .acceptor
                        .logged_peer_bound
                        .swap(true, Ordering::Relaxed)
                    {
                        log::warn!(
                            "{} has {bound} connections open, the per-client bound \
                             (max_connections_per_peer); further ones are closed at \
                             once (logged only this once)",
                            peer.ip()
                        );
                    }
                    return;
                }
            },
        };
        if socket.set_nonblocking(true).is_err() {
            return;
        }
        let _ = socket.set_nodelay(true);
        // The kernel drops a connection whose sent data stays unacknowledged
        // (a closed receive window included) for `write_timeout`. Blocking
        // write timeouts alone cannot tell a client that reads nothing: the
        // kernel keeps taking a little more into a growing send buffer now
        // and then, so no single write blocks for the whole timeout and a
        // stream to such a client would flow (into a few MiB of buffer)
        // forever.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ =
            socket2::SockRef::from(&socket).set_tcp_user_timeout(Some(self.limits.write_timeout));
        let index = self.next_seat.fetch_add(1, Ordering::Relaxed) % self.seats.len();
        let seat = &self.seats[index];
        let mut conns = lock(&seat.conns);
        let entry = conns.vacant_entry();
        let key = entry.key();
        // Edge-triggered: the seat hears of new bytes once, and reads until
        // the socket is dry. Adding a socket that already holds a request
        // reports it at once.
        match Registered::add(&seat.poller, socket, Event::readable(key), PollMode::Edge) {
            Ok(socket) => {
                let mut conn = Box::new(Conn::new(socket, peer, &self.limits));
                conn.peer_slot = peer_slot;
                entry.insert(Entry {
                    slot: Slot::Parked(conn),
                    armed: Interest::Read,
                });
                self.open.fetch_add(1, Ordering::SeqCst);
            }
            Err((error, _)) => log::warn!("could not watch a new connection: {error}"),
        }
    }
}
