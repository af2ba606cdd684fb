//! Connection slots: each seat's table that says where each of its
//! connections is (parked in the seat's readiness set, on a thread, or on a
//! stream thread), and what moves connections in and out of it: taking a
//! ready one, parking, closing, refusing when overloaded, and the deadline
//! sweep.
//!
//! A connection is in exactly one place. Its seat's table keeps a slot for
//! it from accept to close, so its readiness key stays its own while it is
//! away; only a parked connection is in the table itself, and a thread
//! takes it out (leaving `Busy`) before serving it. Every socket here is a
//! [`Registered`] guard: however a connection ends (closed, swept, dropped
//! by a panic), it leaves the poller first.
//!
//! [`Registered`]: super::super::registered::Registered

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use polling::{Event, PollMode};

use super::super::conn::{Conn, Expiry, Interest};
use super::super::handler::{safe_refuse, Handler};
use super::super::sink::StreamWatch;
use super::super::write::{encode_head, ResponseFraming};
use super::{lock, Shared, SWEEP_EVERY};

/// A readiness the seat learned and has not served yet.
pub(super) struct Ready {
    pub(super) key: usize,
    /// When the wait that learned it returned: the queue deadline runs
    /// from here.
    pub(super) since: Instant,
}

/// A connection's place in its seat's table, and what its socket is
/// registered for.
pub(super) struct Entry {
    pub(super) slot: Slot,
    /// What the readiness set watches on the socket; changed (one system
    /// call) only when a parked connection needs something else.
    pub(super) armed: Interest,
}

/// Where a connection is.
pub(super) enum Slot {
    Parked(Box<Conn>),
    /// On a thread. `missed`: the socket became ready meanwhile, and the
    /// edge-triggered readiness set will not say so again.
    Busy {
        missed: bool,
    },
    /// On a stream thread. The socket stays in the seat's readiness set, and
    /// its readiness is looked at through `probe` (a second descriptor of
    /// the same socket) to tell the producer when the client hung up.
    Streaming {
        watch: Arc<StreamWatch>,
        probe: TcpStream,
    },
}

pub(super) fn event_for(key: usize, interest: Interest) -> Event {
    match interest {
        Interest::Read => Event::readable(key),
        // Readable too: a request pipelined behind a slow answer is read
        // once the answer is out.
        Interest::Write => Event::all(key),
    }
}

impl<H: Handler> Shared<H> {
    /// Takes a ready connection out of its seat's table to serve it. A
    /// connection away on a thread records the readiness instead; one on a
    /// stream thread is checked for its client hanging up.
    pub(super) fn take_ready(&self, index: usize, key: usize) -> Option<Box<Conn>> {
        let mut conns = lock(&self.seats[index].conns);
        let entry = conns.get_mut(key)?;
        match &mut entry.slot {
            Slot::Parked(_) => {
                match std::mem::replace(&mut entry.slot, Slot::Busy { missed: false }) {
                    Slot::Parked(conn) => Some(conn),
                    _ => unreachable!("matched Parked"),
                }
            }
            Slot::Busy { missed } => {
                *missed = true;
                None
            }
            Slot::Streaming { watch, probe } => {
                if client_hung_up(probe) {
                    watch.client_left();
                }
                None
            }
        }
    }

    /// Puts a connection back in its seat, watched for `interest`. A
    /// connection that was not read dry, or that became ready while away,
    /// goes straight back in the seat's batch: the readiness set will not
    /// report it again.
    pub(super) fn park(
        &self,
        index: usize,
        key: usize,
        conn: Box<Conn>,
        interest: Interest,
        drained: bool,
    ) {
        let seat = &self.seats[index];
        let mut conns = lock(&seat.conns);
        let Some(entry) = conns.get_mut(key) else {
            return;
        };
        if entry.armed != interest {
            // Changing the registration makes the kernel look at the socket
            // again, so nothing ready is lost by it.
            if let Err(error) = conn.socket.modify(event_for(key, interest), PollMode::Edge) {
                log::debug!("could not re-arm a connection: {error}");
                drop(conns);
                self.close(index, key, conn);
                return;
            }
            entry.armed = interest;
        }
        let missed = matches!(entry.slot, Slot::Busy { missed: true });
        entry.slot = Slot::Parked(conn);
        drop(conns);
        if missed || (interest == Interest::Read && !drained) {
            lock(&seat.ready).push_back(Ready {
                key,
                since: Instant::now(),
            });
            // Whoever holds the seat may be waiting on it.
            let _ = seat.poller.notify();
        }
    }

    /// Closes a connection (its guard leaves the poller first) and frees its
    /// slot.
    pub(super) fn close(&self, index: usize, key: usize, conn: Box<Conn>) {
        drop(conn);
        self.free_slot(index, key);
    }

    /// Frees a connection's slot (its connection is already gone).
    pub(super) fn free_slot(&self, index: usize, key: usize) {
        let removed = {
            let mut conns = lock(&self.seats[index].conns);
            conns.try_remove(key).is_some()
        };
        if removed {
            self.connection_closed();
        }
    }

    /// Counts a connection gone, and lets the acceptor go on if it stopped
    /// at `max_connections`.
    pub(super) fn connection_closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        if self.acceptor.at_capacity.swap(false, Ordering::SeqCst) {
            let _ = self.acceptor.poller.notify();
        }
    }

    /// Answers a request that waited past the queue deadline with 503 and
    /// `Retry-After`, through the handler's refusal (so a router renders
    /// its JSON error), and closes its connection.
    pub(super) fn refuse_overloaded(&self, index: usize, key: usize) {
        let Some(conn) = self.take_ready(index, key) else {
            return;
        };
        let mut response = safe_refuse(
            &self.handler,
            503,
            "the server is too busy to answer now; try again later",
        );
        response.set_header("Retry-After", "1");
        // Read what the client sent first, so closing with unread bytes
        // does not reset the connection under the answer.
        let mut sink = [0u8; 4096];
        for _ in 0..16 {
            match (&*conn.socket).read(&mut sink) {
                Ok(n) if n > 0 => continue,
                _ => break,
            }
        }
        let body = response.body().as_bytes().unwrap_or_default();
        let mut out = Vec::with_capacity(256 + body.len());
        encode_head(
            &mut out,
            response.status(),
            &response.headers,
            Some(body.len()),
            ResponseFraming::keep_alive().closing(),
        );
        out.extend_from_slice(body);
        let _ = (&*conn.socket).write(&out);
        let _ = conn.socket.shutdown(Shutdown::Write);
        log::warn!(
            "answered 503 to {}: it waited {:?} for a thread",
            conn.peer(),
            self.limits.queue_timeout
        );
        self.close(index, key, conn);
    }

    /// The supervisor's periodic work: deadlines, every [`SWEEP_EVERY`].
    pub(super) fn tick(&self) {
        let now = Instant::now();
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
        let mut out = Vec::new();
        for seat in self.seats.iter() {
            let expired: Vec<Box<Conn>> = {
                let mut conns = lock(&seat.conns);
                let keys: Vec<usize> = conns
                    .iter()
                    .filter_map(|(key, entry)| match &entry.slot {
                        Slot::Parked(conn) if conn.deadline <= now => Some(key),
                        _ => None,
                    })
                    .collect();
                keys.into_iter()
                    .filter_map(|key| match conns.remove(key).slot {
                        Slot::Parked(conn) => Some(conn),
                        _ => None,
                    })
                    .collect()
            };
            for conn in expired {
                if conn.expiry() == Expiry::Timeout {
                    conn.refuse_late_request(&self.handler, &mut out);
                }
                log::debug!(
                    "closed a connection from {} at its deadline ({:?})",
                    conn.peer(),
                    conn.wait
                );
                drop(conn);
                self.connection_closed();
            }
        }
    }
}

/// Whether a stream's client hung up or reset: the socket reads as ended
/// or failed. Bytes the client sent (a request pipelined behind the
/// stream) are left where they are and do not count.
fn client_hung_up(probe: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match rustix::net::recv(
        probe,
        &mut byte[..],
        rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT,
    ) {
        Ok((0, _)) => true,
        Ok(_) => false,
        Err(error) => !matches!(
            io::Error::from(error).kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
    }
}
