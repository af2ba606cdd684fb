//! Graceful shutdown, in the order the [`server`](super::super) module's
//! "Shutdown" section gives: keep serving for the drain delay (health
//! answers 503), take the backlog and close the listener, tell streams to
//! end and close idle connections, let in-flight requests finish within the
//! grace period, then stop the workers.

use std::io;
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::conn::{Conn, Wait};
use super::super::handler::Handler;
use super::super::pool::ThreadPool;
use super::slots::Slot;
use super::{lock, Phase, Shared, FIRST_BYTES_GRACE, TICK};

impl<H: Handler> Shared<H> {
    /// Graceful shutdown, step by step.
    pub(super) fn shut_down(self: &Arc<Self>, pool: ThreadPool) {
        let started = Instant::now();
        self.set_phase(Phase::Draining);
        let _ = catch_unwind(AssertUnwindSafe(|| self.handler.shutdown_started()));
        // 1. Keep serving (health answers 503) for the drain delay.
        while started.elapsed() < self.limits.drain_delay {
            std::thread::sleep(TICK);
            self.tick();
        }
        // 2. Take what is in the backlog, then close the listener.
        if let Some(listener) = lock(&self.listener).take() {
            while let Ok((socket, peer)) = listener.accept() {
                self.register(socket, peer);
            }
            // Dropping the guard takes the listener out of the poller and
            // closes it.
            drop(listener);
        }
        self.set_phase(Phase::Closing);
        self.stop_streams.store(true, Ordering::SeqCst);
        self.close_idle_connections();
        // 3. In-flight requests finish within the grace period.
        let deadline = Instant::now() + self.limits.shutdown_grace;
        while Instant::now() < deadline {
            if lock(&self.conns).is_empty() && self.streams.load(Ordering::SeqCst) == 0 {
                break;
            }
            std::thread::sleep(TICK);
            self.tick();
        }
        let left = lock(&self.conns).len();
        if left > 0 {
            log::warn!("shutdown grace over; abandoning {left} connection(s) still in flight");
        }
        self.set_phase(Phase::Stopped);
        self.runners.close();
        let _ = self.poller.notify();
        {
            let mut dispatch = lock(&self.dispatch);
            while !dispatch.sleepers.is_empty() {
                Self::wake_one(&mut dispatch);
            }
        }
        let stuck = pool.join_within(Duration::from_secs(1));
        if stuck > 0 {
            log::warn!("{stuck} worker(s) were still busy when the server stopped");
        }
    }

    /// At shutdown: connections idle since their last response close now;
    /// those with request bytes here or readable stay to be served; those
    /// that have sent nothing yet get a short grace for their first bytes.
    pub(super) fn close_idle_connections(&self) {
        let now = Instant::now();
        let idle: Vec<(usize, Box<Conn>)> = {
            let mut conns = lock(&self.conns);
            let mut idle_keys = Vec::new();
            for (key, slot) in conns.iter_mut() {
                let Slot::Parked(conn) = slot else { continue };
                if conn.has_request_in_flight() || conn.wait == Wait::Lingering {
                    continue;
                }
                let mut probe = [0u8; 1];
                match conn.socket.peek(&mut probe) {
                    Ok(n) if n > 0 => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && conn.wait == Wait::New => {
                        conn.shorten_deadline(now + FIRST_BYTES_GRACE);
                    }
                    _ => idle_keys.push(key),
                }
            }
            idle_keys
                .into_iter()
                .filter_map(|key| match conns.remove(key) {
                    Slot::Parked(conn) => Some((key, conn)),
                    _ => None,
                })
                .collect()
        };
        for (_, conn) in idle {
            let _ = conn.socket.shutdown(Shutdown::Both);
        }
    }
}
