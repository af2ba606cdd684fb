//! Graceful shutdown, in the order the [`server`](super::super) module's
//! "Shutdown" section gives: keep serving for the drain delay (health
//! answers 503), take the backlog and close the listener, tell streams
//! shutdown began and close idle connections, let in-flight requests finish
//! within the grace period, then stop and join the worker threads and let
//! waiting stream threads go.

use std::io;
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::super::conn::{Conn, Wait};
use super::super::handler::Handler;
use super::slots::Slot;
use super::{lock, Phase, Shared, FIRST_BYTES_GRACE, TICK};

impl<H: Handler> Shared<H> {
    /// Graceful shutdown, step by step.
    pub(super) fn shut_down(self: &Arc<Self>, acceptor: Option<JoinHandle<()>>) {
        let started = Instant::now();
        self.set_phase(Phase::Draining);
        let _ = catch_unwind(AssertUnwindSafe(|| self.handler.shutdown_started()));
        // 1. Keep serving (health answers 503) for the drain delay.
        while started.elapsed() < self.limits.drain_delay {
            self.supervise();
        }
        // 2. The acceptor takes what is in the backlog, then closes the
        //    listener.
        self.acceptor.close.store(true, Ordering::SeqCst);
        let _ = self.acceptor.poller.notify();
        if let Some(acceptor) = acceptor {
            let _ = acceptor.join();
        }
        self.set_phase(Phase::Closing);
        self.stop_streams.store(true, Ordering::SeqCst);
        self.wake_streams();
        self.close_idle_connections();
        // 3. In-flight requests finish within the grace period.
        let deadline = Instant::now() + self.limits.shutdown_grace;
        while Instant::now() < deadline {
            if self.open.load(Ordering::SeqCst) == 0 && self.streams.load(Ordering::SeqCst) == 0 {
                break;
            }
            self.supervise();
        }
        let left = self.open.load(Ordering::SeqCst);
        if left > 0 {
            log::warn!("shutdown grace over; abandoning {left} connection(s) still in flight");
        }
        self.set_phase(Phase::Stopped);
        // Stream threads waiting for another stream exit now, not after
        // their idle wait.
        self.runners.close();
        self.wake_all_workers();
        let stuck = self.join_workers(Duration::from_secs(1));
        if stuck > 0 {
            log::warn!("{stuck} worker(s) were still busy when the server stopped");
        }
    }

    /// At shutdown: connections idle since their last response close now;
    /// those with request bytes here or readable stay to be served; those
    /// that have sent nothing yet get a short grace for their first bytes.
    pub(super) fn close_idle_connections(&self) {
        let now = Instant::now();
        for seat in self.seats.iter() {
            let idle: Vec<Box<Conn>> = {
                let mut conns = lock(&seat.conns);
                let mut idle_keys = Vec::new();
                for (key, entry) in conns.iter_mut() {
                    let Slot::Parked(conn) = &mut entry.slot else {
                        continue;
                    };
                    if conn.has_request_in_flight() || conn.wait == Wait::Lingering {
                        continue;
                    }
                    let mut probe = [0u8; 1];
                    match conn.socket.peek(&mut probe) {
                        Ok(n) if n > 0 => {}
                        Err(e)
                            if e.kind() == io::ErrorKind::WouldBlock && conn.wait == Wait::New =>
                        {
                            conn.shorten_deadline(now + FIRST_BYTES_GRACE);
                        }
                        _ => idle_keys.push(key),
                    }
                }
                idle_keys
                    .into_iter()
                    .filter_map(|key| match conns.remove(key).slot {
                        Slot::Parked(conn) => Some(conn),
                        _ => None,
                    })
                    .collect()
            };
            for conn in idle {
                let _ = conn.socket.shutdown(Shutdown::Both);
                drop(conn);
                self.connection_closed();
            }
        }
    }

    /// One supervisor step: look at the seats (hand-offs, the queue
    /// deadline), sweep deadlines, and sleep until the next.
    pub(super) fn supervise(self: &Arc<Self>) {
        let busy = self.watch_seats();
        std::thread::sleep(if busy { BUSY_TICK } else { TICK });
        self.tick();
    }
}

/// How often the supervisor looks while a seat is inside a turn: fine
/// enough that a blocked seat is handed off within a few milliseconds.
const BUSY_TICK: Duration = Duration::from_millis(1);
