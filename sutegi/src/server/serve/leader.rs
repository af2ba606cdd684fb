//! Dispatch and leadership: how workers share the readiness set
//! (leader/follower), when a sleeping worker is woken, and a worker's turn
//! with a connection it learned is ready. The worker that learns a socket is
//! readable serves it itself, so an ordinary request costs no hand-off
//! between threads.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use polling::Event;

use super::super::conn::{Placement, ReadBuffer, Turn};
use super::super::handler::{panic_message, Handler};
use super::slots::Slot;
use super::{lock, Phase, Shared, LISTENER_KEY, TICK};

/// How workers share the readiness set: at most one waits on it (the
/// leader, holding no lock while it does), what it learns goes into one
/// queue, and awake workers take from the queue before anyone sleeps.
///
/// Waking a sleeping worker costs two futex calls and a context switch, so
/// a sleeper is woken only when the queue has work and fewer workers are
/// awake than the cores can run (plus one, to lead): on a busy server the
/// awake workers drain the queue themselves. A worker stuck in a slow
/// handler still counts as awake; the supervisor's tick wakes a sleeper when
/// work waited a whole tick or nobody led for one, so blocking handlers
/// cannot starve the rest.
///
/// Sleepers wake last-in first-out: the worker that went to sleep most
/// recently has a warm cache and a short sleep behind it, and on a steady
/// load the same few workers keep serving while the rest stay asleep,
/// instead of every worker taking turns (which lengthened the slowest
/// requests' wait for a core).
#[derive(Default)]
pub(super) struct Dispatch {
    queue: VecDeque<Event>,
    /// A worker is waiting on the readiness set.
    leading: bool,
    /// Workers asleep, the most recent last.
    pub(super) sleepers: Vec<Arc<Sleeper>>,
    /// Events taken from the queue so far.
    taken: u64,
    /// The count `taken` must reach for every event queued at the last tick
    /// to have been taken.
    taken_by_next_tick: u64,
    /// Turns at leading so far.
    leads: u64,
    /// `leads` at the last tick.
    leads_at_last_tick: u64,
}

/// A sleeping worker's wake-up call.
pub(super) struct Sleeper {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl Sleeper {
    pub(super) fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

impl<H: Handler> Shared<H> {
    /// A worker's life: lead or wait to lead, serve what became ready.
    pub(super) fn work(self: &Arc<Self>) {
        let mut scratch = ReadBuffer::new();
        let mut out = Vec::with_capacity(1024);
        while let Some(event) = self.next_event() {
            if event.key == LISTENER_KEY {
                self.accept_ready();
                continue;
            }
            let key = event.key;
            let taken = catch_unwind(AssertUnwindSafe(|| {
                self.serve_connection(key, &mut scratch, &mut out)
            }));
            if let Err(panic) = taken {
                // A bug in the server, not the handler (those are caught
                // closer). The connection is lost; the worker is not.
                log::error!("a worker recovered from a panic: {}", panic_message(&panic));
                let mut conns = lock(&self.conns);
                if matches!(conns.get(key), Some(Slot::Busy)) {
                    conns.remove(key);
                }
            }
        }
    }

    /// The next readiness to serve: from the queue, or by leading (waiting
    /// on the readiness set), or after sleeping until there is work. `None`
    /// once the server stops.
    pub(super) fn next_event(&self) -> Option<Event> {
        let me = Arc::new(Sleeper {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        });
        let mut dispatch = lock(&self.dispatch);
        loop {
            if self.phase() == Phase::Stopped {
                return None;
            }
            if let Some(event) = dispatch.queue.pop_front() {
                dispatch.taken += 1;
                if !dispatch.queue.is_empty() {
                    self.wake_helper(&mut dispatch);
                }
                return Some(event);
            }
            if !dispatch.leading {
                dispatch.leading = true;
                dispatch.leads += 1;
                drop(dispatch);
                let learned = {
                    let mut events = lock(&self.events);
                    events.clear();
                    match self.poller.wait(&mut events, None) {
                        Ok(_) => events.iter().collect::<Vec<Event>>(),
                        Err(error) => {
                            log::error!("waiting for readiness failed: {error}");
                            std::thread::sleep(TICK);
                            Vec::new()
                        }
                    }
                };
                dispatch = lock(&self.dispatch);
                dispatch.leading = false;
                dispatch.queue.extend(learned);
                // Someone must lead while this worker serves what it learned.
                self.wake_helper(&mut dispatch);
                continue;
            }
            me.woken.store(false, Ordering::Relaxed);
            dispatch.sleepers.push(Arc::clone(&me));
            drop(dispatch);
            // `park` may return spuriously; only `Sleeper::wake` ends it.
            while !me.woken.load(Ordering::Acquire) {
                std::thread::park();
            }
            dispatch = lock(&self.dispatch);
        }
    }

    /// Wakes one sleeping worker if fewer are awake than can run.
    pub(super) fn wake_helper(&self, dispatch: &mut Dispatch) {
        let awake = self.workers - dispatch.sleepers.len();
        if awake <= self.parallelism {
            Self::wake_one(dispatch);
        }
    }

    /// Wakes the most recent sleeper, if any.
    pub(super) fn wake_one(dispatch: &mut Dispatch) {
        if let Some(sleeper) = dispatch.sleepers.pop() {
            sleeper.wake();
        }
    }

    /// The supervisor's rescue: when an event has waited in the queue for a
    /// whole tick, or nobody has led for a whole tick (so nobody learns of
    /// new work), every awake worker is busy (in slow handlers, say), and a
    /// sleeper is woken. Waking one merely because the queue is not empty
    /// would, under steady load, wake every worker in turn: more runnable
    /// threads than cores, each request waiting longer for a core.
    pub(super) fn wake_for_stalled_work(&self) {
        let mut dispatch = lock(&self.dispatch);
        let queue_stalled = dispatch.taken < dispatch.taken_by_next_tick;
        let leaderless = !dispatch.leading && dispatch.leads == dispatch.leads_at_last_tick;
        if queue_stalled || leaderless {
            Self::wake_one(&mut dispatch);
        }
        dispatch.taken_by_next_tick = dispatch.taken + dispatch.queue.len() as u64;
        dispatch.leads_at_last_tick = dispatch.leads;
    }

    pub(super) fn serve_connection(
        self: &Arc<Self>,
        key: usize,
        scratch: &mut ReadBuffer,
        out: &mut Vec<u8>,
    ) {
        let conn = {
            let mut conns = lock(&self.conns);
            match conns.get_mut(key) {
                Some(slot @ Slot::Parked(_)) => match std::mem::replace(slot, Slot::Busy) {
                    Slot::Parked(conn) => conn,
                    _ => unreachable!("matched Parked"),
                },
                // A stale event: the connection moved on or closed.
                _ => return,
            }
        };
        let may_stream = || self.streams.load(Ordering::SeqCst) < self.limits.max_streams;
        // From SIGTERM on, every response closes its connection: a proxy
        // then retires each upstream connection at a response boundary during
        // the drain delay, instead of finding it closed under a request it
        // just sent (which it cannot replay if that was a POST).
        let closing = || self.phase() >= Phase::Draining;
        let mut turn = Turn {
            handler: &self.handler,
            limits: &self.limits,
            closing: &closing,
            may_stream: &may_stream,
            scratch,
            out,
        };
        let next = conn.run(&mut turn);
        self.place(key, next);
    }

    /// Puts a connection where its turn said it goes.
    pub(super) fn place(self: &Arc<Self>, key: usize, next: Placement) {
        match next {
            Placement::Park(conn, interest) => self.park(key, conn, interest),
            Placement::Close(conn) => self.close(key, conn),
            Placement::Stream(conn, job) => self.start_stream(key, conn, job),
        }
    }
}
