//! Connection slots: the table that says where each connection is (parked
//! in the readiness set, on a worker, or on a stream thread), and what moves
//! connections in and out of it: accepting, parking, closing, and the
//! supervisor's tick with its deadline sweep.
//!
//! A connection is in exactly one place. The table keeps a slot for it from
//! accept to close, so its readiness key stays its own while it is away on a
//! worker or a stream thread; only a parked connection is in the table
//! itself, and a worker takes it out (leaving `Busy`) before serving it.
//! Every socket here is a [`Registered`] guard: however a connection ends
//! (closed, swept, dropped by a panic), it leaves the poller first.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use polling::Event;

use super::super::conn::{Conn, Expiry, Interest};
use super::super::handler::Handler;
use super::super::limits::PeerCounts;
use super::super::registered::Registered;
use super::{lock, Shared, ACCEPT_BACKOFF, LISTENER_KEY, SWEEP_EVERY};

/// Where a connection is, by its key in the table.
pub(super) enum Slot {
    Parked(Box<Conn>),
    /// On a worker.
    Busy,
    /// On a stream thread.
    Streaming,
}

#[derive(Default)]
pub(super) struct AcceptState {
    /// Accepting stopped at `max_connections`, until a connection closes.
    at_capacity: bool,
    /// Out of file descriptors: accepting resumes at this time.
    paused_until: Option<Instant>,
    /// The descriptor shortage was logged (once, not per accept).
    logged_shortage: bool,
    /// Open connections per client address (`max_connections_per_peer`).
    peers: PeerCounts,
    /// A connection over `max_connections_per_peer` was logged (once).
    logged_peer_bound: bool,
}

impl<H: Handler> Shared<H> {
    /// Puts a connection back in the readiness set, armed for `interest`.
    pub(super) fn park(&self, key: usize, conn: Box<Conn>, interest: Interest) {
        let event = match interest {
            Interest::Read => Event::readable(key),
            Interest::Write => Event::writable(key),
        };
        let mut conns = lock(&self.conns);
        // Arm while holding the table, so the event cannot be served before
        // the connection is findable as parked.
        match conn.socket.modify(event) {
            Ok(()) => {
                if let Some(slot) = conns.get_mut(key) {
                    *slot = Slot::Parked(conn);
                }
            }
            Err(error) => {
                log::debug!("could not re-arm a connection: {error}");
                drop(conns);
                self.close(key, conn);
            }
        }
    }

    /// Closes a connection (its guard leaves the poller first) and frees its
    /// slot, resuming accepting if the table was full.
    pub(super) fn close(&self, key: usize, conn: Box<Conn>) {
        drop(conn);
        self.free_slot(key);
    }

    /// Frees a connection's slot (its connection is already gone),
    /// resuming accepting if the table was full.
    pub(super) fn free_slot(&self, key: usize) {
        let resumed = {
            let mut conns = lock(&self.conns);
            if conns.contains(key) {
                conns.remove(key);
            }
            let mut accept = lock(&self.accept);
            std::mem::take(&mut accept.at_capacity)
        };
        if resumed {
            self.arm_listener();
        }
    }

    pub(super) fn arm_listener(&self) {
        if let Some(listener) = lock(&self.listener).as_ref() {
            let _ = listener.modify(Event::readable(LISTENER_KEY));
        }
    }

    /// Accepts what the listener has (a bounded batch), then re-arms it.
    pub(super) fn accept_ready(&self) {
        let guard = lock(&self.listener);
        let Some(listener) = guard.as_ref() else {
            return;
        };
        for _ in 0..256 {
            if lock(&self.conns).len() >= self.limits.max_connections {
                lock(&self.accept).at_capacity = true;
                return;
            }
            match listener.accept() {
                Ok((socket, peer)) => self.register(socket, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                    // ENFILE / EMFILE: pause instead of spinning on a
                    // listener that stays readable.
                    let mut accept = lock(&self.accept);
                    accept.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    if !std::mem::replace(&mut accept.logged_shortage, true) {
                        log::warn!("out of file descriptors; accepting pauses briefly: {e}");
                    }
                    return;
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
        let _ = listener.modify(Event::readable(LISTENER_KEY));
    }

    /// Puts an accepted socket in the readiness set and parks its
    /// connection in a fresh slot.
    pub(super) fn register(&self, socket: TcpStream, peer: SocketAddr) {
        // Over its address's bound, the connection is closed unanswered
        // (dropping the socket): reading its request is the work the bound
        // is there to save.
        let peer_slot = match self.limits.max_connections_per_peer {
            None => None,
            Some(bound) => {
                let mut accept = lock(&self.accept);
                match accept.peers.take(peer.ip(), bound) {
                    Some(slot) => Some(slot),
                    None => {
                        if !std::mem::replace(&mut accept.logged_peer_bound, true) {
                            log::warn!(
                                "{} has {bound} connections open, the per-client bound \
                                 (max_connections_per_peer); further ones are closed at \
                                 once (logged only this once)",
                                peer.ip()
                            );
                        }
                        return;
                    }
                }
            }
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
        let mut conns = lock(&self.conns);
        let entry = conns.vacant_entry();
        let key = entry.key();
        match Registered::add(&self.poller, socket, Event::readable(key)) {
            Ok(socket) => {
                let mut conn = Box::new(Conn::new(socket, peer, &self.limits));
                conn.peer_slot = peer_slot;
                entry.insert(Slot::Parked(conn));
            }
            Err((error, _)) => log::warn!("could not watch a new connection: {error}"),
        }
    }

    /// The supervisor's periodic work: deadlines and accept back-off.
    pub(super) fn tick(&self) {
        self.wake_for_stalled_work();
        let now = Instant::now();
        let resume = {
            let mut accept = lock(&self.accept);
            match accept.paused_until {
                Some(until) if until <= now => {
                    accept.paused_until = None;
                    true
                }
                _ => false,
            }
        };
        if resume {
            self.arm_listener();
        }
        let due = {
            let mut last = lock(&self.last_sweep);
            let due = now.duration_since(*last) >= SWEEP_EVERY;
            if due {
                *last = now;
            }
            due
        };
        if due {
            self.sweep(now);
        }
    }

    /// Closes parked connections whose deadline passed; a request that
    /// stopped arriving is answered 408 first.
    pub(super) fn sweep(&self, now: Instant) {
        let expired: Vec<(usize, Box<Conn>)> = {
            let mut conns = lock(&self.conns);
            let keys: Vec<usize> = conns
                .iter()
                .filter_map(|(key, slot)| match slot {
                    Slot::Parked(conn) if conn.deadline <= now => Some(key),
                    _ => None,
                })
                .collect();
            keys.into_iter()
                .filter_map(|key| match conns.remove(key) {
                    Slot::Parked(conn) => Some((key, conn)),
                    _ => None,
                })
                .collect()
        };
        let mut out = Vec::new();
        for (_, conn) in expired {
            if conn.expiry() == Expiry::Timeout {
                conn.refuse_late_request(&self.handler, &mut out);
            }
            log::debug!(
                "closed a connection from {} at its deadline ({:?})",
                conn.peer(),
                conn.wait
            );
        }
        let at_capacity = std::mem::take(&mut lock(&self.accept).at_capacity);
        if at_capacity {
            self.arm_listener();
        }
    }
}
