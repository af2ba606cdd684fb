//! Seats: one per core, each with its own readiness set, its own
//! connections and the batch its last wait returned, held by one thread at
//! a time; and the spare threads that take a seat over when its thread
//! blocks inside a handler.
//!
//! A seat's holder loops: take the next ready connection from the seat's
//! batch, serve it, and when the batch is empty wait on the seat's poller
//! for the next one. Sockets are registered edge-triggered, so a connection
//! parked after a turn that read its socket dry costs no system call to
//! re-arm; one that was not read dry (a turn cut short, a stream that ended)
//! goes back in the batch instead, and one that got an event while away on
//! a thread records it (`missed`) so it is served again when it comes back.
//!
//! A holder marks when each turn began. The supervisor (the thread in
//! `serve_until`) sees a turn older than [`HAND_OFF_AFTER`] (a handler
//! sleeping, waiting on a database), bumps the seat's generation and gives
//! the seat to a spare thread, which carries on with the rest of the batch.
//! The blocked thread finishes its connection when the handler returns,
//! sees it lost the seat, and becomes a spare itself. Spares are started
//! lazily and bounded by [`Limits::max_blocked_workers`]; a seat left with
//! no thread keeps its events, and any that waited past
//! [`Limits::queue_timeout`] is answered 503 by the supervisor.
//!
//! [`Limits::max_blocked_workers`]: super::super::Limits::max_blocked_workers
//! [`Limits::queue_timeout`]: super::super::Limits::queue_timeout

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polling::{Events, Poller};
use slab::Slab;

use super::super::conn::{Placement, ReadBuffer, Turn};
use super::super::handler::{panic_message, Handler};
use super::slots::{Entry, Ready, Slot};
use super::{lock, Phase, Shared, TICK};

/// How long a turn (reading, the handler, writing) may run before its seat
/// is handed to a spare. Ordinary turns take microseconds; a handler past
/// this is blocked on something, and the connections behind it should not
/// wait for it. Short enough that a blocked seat costs the requests behind
/// it a few milliseconds; long enough that a thread the scheduler merely
/// preempted for a time slice seldom counts as blocked.
pub(super) const HAND_OFF_AFTER: Duration = Duration::from_millis(2);
/// A spare with no seat to take for this long exits.
const SPARE_IDLE_FOR: Duration = Duration::from_secs(30);

/// One core's share of the server.
pub(super) struct Seat {
    pub(super) poller: Arc<Poller>,
    pub(super) conns: Mutex<Slab<Entry>>,
    /// What the last waits returned and nobody has served yet. Kept here,
    /// not on a thread's stack, so a spare that takes the seat carries on.
    pub(super) ready: Mutex<VecDeque<Ready>>,
    /// The wait buffer; locked only by a thread waiting on the seat.
    events: Mutex<Events>,
    /// When the holder's current turn began (nanoseconds since the server
    /// started, plus one), or 0 between turns.
    pub(super) turn_began: AtomicU64,
    /// The turn the supervisor last handed off for, so it hands each
    /// blocked turn off once.
    pub(super) handed_off: AtomicU64,
    /// Bumped at each hand-off: a thread holding an older number has lost
    /// the seat.
    pub(super) generation: AtomicU64,
}

impl Seat {
    pub(super) fn new() -> std::io::Result<Seat> {
        Ok(Seat {
            poller: Arc::new(Poller::new()?),
            conns: Mutex::new(Slab::new()),
            ready: Mutex::new(VecDeque::new()),
            events: Mutex::new(Events::new()),
            turn_began: AtomicU64::new(0),
            handed_off: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        })
    }

    /// Waits for readiness (at most `timeout`) and adds what it learned to
    /// the batch. Returns at once, learning nothing, when another thread is
    /// waiting on this seat.
    pub(super) fn learn(&self, timeout: Option<Duration>) {
        let Ok(mut events) = self.events.try_lock() else {
            return;
        };
        events.clear();
        if let Err(error) = self.poller.wait(&mut events, timeout) {
            log::error!("waiting for readiness failed: {error}");
            std::thread::sleep(TICK);
            return;
        }
        if events.is_empty() {
            return;
        }
        let since = Instant::now();
        lock(&self.ready).extend(events.iter().map(|event| Ready {
            key: event.key,
            since,
        }));
    }
}

/// A thread's own buffers, kept across the seats it holds.
pub(super) struct Buffers {
    scratch: ReadBuffer,
    out: Vec<u8>,
}

/// The threads beyond the seats' holders, and the seats waiting for one.
#[derive(Default)]
pub(super) struct Spares {
    /// Seats whose thread blocked, in the order they need a new one.
    pub(super) vacant: VecDeque<usize>,
    /// Worker threads alive: holders, blocked ones and idle spares.
    pub(super) threads: usize,
    /// Spares waiting for a seat.
    pub(super) idle: usize,
}

impl<H: Handler> Shared<H> {
    /// Starts a worker thread that holds `seat` first (or waits for one).
    pub(super) fn start_worker(self: &Arc<Self>, seat: Option<usize>) -> std::io::Result<()> {
        let shared = Arc::clone(self);
        lock(&self.spares).threads += 1;
        let started = std::thread::Builder::new()
            .name("sutegi-worker".into())
            .spawn(move || shared.work(seat));
        if started.is_err() {
            lock(&self.spares).threads -= 1;
            self.spare_changed.notify_all();
        }
        started.map(drop)
    }

    /// A worker's life: hold a seat until it loses it (blocked in a
    /// handler) or the server stops, then wait as a spare for a vacant seat.
    fn work(self: &Arc<Self>, first: Option<usize>) {
        let mut buffers = Buffers {
            scratch: ReadBuffer::new(),
            out: Vec::with_capacity(1024),
        };
        let mut seat = first;
        while let Some(index) = seat.take().or_else(|| self.wait_for_vacant_seat()) {
            self.hold(index, &mut buffers);
            if self.phase() == Phase::Stopped {
                break;
            }
        }
        let mut spares = lock(&self.spares);
        spares.threads -= 1;
        drop(spares);
        self.spare_changed.notify_all();
    }

    /// A spare's wait: the next vacant seat, or `None` when the server stops
    /// or no seat needed this thread for a while.
    fn wait_for_vacant_seat(&self) -> Option<usize> {
        let mut spares = lock(&self.spares);
        let idle_until = Instant::now() + SPARE_IDLE_FOR;
        loop {
            if self.phase() == Phase::Stopped {
                return None;
            }
            if let Some(seat) = spares.vacant.pop_front() {
                return Some(seat);
            }
            let now = Instant::now();
            if now >= idle_until {
                return None;
            }
            spares.idle += 1;
            spares = self
                .spare_changed
                .wait_timeout(spares, idle_until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            spares.idle -= 1;
        }
    }

    /// Holds a seat: serve its batch, wait for more, repeat; returns when
    /// another thread took the seat over, or the server stopped.
    fn hold(self: &Arc<Self>, index: usize, buffers: &mut Buffers) {
        let seat = &self.seats[index];
        let generation = seat.generation.load(Ordering::SeqCst);
        loop {
            if seat.generation.load(Ordering::SeqCst) != generation
                || self.phase() == Phase::Stopped
            {
                return;
            }
            let next = lock(&seat.ready).pop_front();
            let Some(ready) = next else {
                // From shutdown on, wake now and then to see the phase.
                let timeout = (self.phase() >= Phase::Draining).then_some(TICK);
                seat.learn(timeout);
                continue;
            };
            if ready.since.elapsed() >= self.limits.queue_timeout {
                self.refuse_overloaded(index, ready.key);
                continue;
            }
            let key = ready.key;
            let served = catch_unwind(AssertUnwindSafe(|| self.serve(index, key, buffers)));
            if let Err(panic) = served {
                // A bug in the server, not the handler (those are caught
                // closer). The connection is lost; the thread is not.
                log::error!("a worker recovered from a panic: {}", panic_message(&panic));
                let mut conns = lock(&seat.conns);
                if matches!(
                    conns.get(key),
                    Some(Entry {
                        slot: Slot::Busy { .. },
                        ..
                    })
                ) {
                    conns.remove(key);
                    drop(conns);
                    self.connection_closed();
                }
            }
        }
    }

    /// Serves one ready connection of a seat: takes it out of the table,
    /// runs its turn, and puts it where the turn said.
    fn serve(self: &Arc<Self>, index: usize, key: usize, buffers: &mut Buffers) {
        let seat = &self.seats[index];
        let Some(conn) = self.take_ready(index, key) else {
            return;
        };
        let began = self.clock.elapsed().as_nanos() as u64 + 1;
        seat.turn_began.store(began, Ordering::SeqCst);
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
            streamed_bodies: &self.streamed_bodies,
            scratch: &mut buffers.scratch,
            out: &mut buffers.out,
        };
        let next = conn.run(&mut turn);
        // Only this turn's mark is cleared: after a hand-off the seat's new
        // holder has its own.
        let _ = seat
            .turn_began
            .compare_exchange(began, 0, Ordering::SeqCst, Ordering::SeqCst);
        self.place(index, key, next);
    }

    /// Puts a connection where its turn said it goes.
    pub(super) fn place(self: &Arc<Self>, index: usize, key: usize, next: Placement) {
        match next {
            Placement::Park(conn, interest) => {
                let drained = conn.drained;
                self.park(index, key, conn, interest, drained);
            }
            Placement::Close(conn) => self.close(index, key, conn),
            Placement::Stream(conn, job) => self.start_stream(index, key, conn, job),
        }
    }

    /// The supervisor's look at the seats: a turn running longer than
    /// [`HAND_OFF_AFTER`] gets its seat handed to a spare; a seat left
    /// without a thread has requests that waited past the queue deadline
    /// refused. Says whether any seat is inside a turn (the supervisor then
    /// looks again sooner).
    pub(super) fn watch_seats(self: &Arc<Self>) -> bool {
        let now = self.clock.elapsed().as_nanos() as u64 + 1;
        let threshold = HAND_OFF_AFTER.as_nanos() as u64;
        let mut busy = false;
        for (index, seat) in self.seats.iter().enumerate() {
            let began = seat.turn_began.load(Ordering::SeqCst);
            if began == 0 {
                continue;
            }
            busy = true;
            if now.saturating_sub(began) >= threshold
                && seat.handed_off.swap(began, Ordering::SeqCst) != began
            {
                seat.generation.fetch_add(1, Ordering::SeqCst);
                self.seat_needs_thread(index);
            }
        }
        self.refuse_stale_on_vacant_seats();
        busy
    }

    /// Finds a thread for a seat: an idle spare, or a new one within the
    /// bound; else the seat waits for a blocked thread to come back.
    fn seat_needs_thread(self: &Arc<Self>, index: usize) {
        let mut spares = lock(&self.spares);
        spares.vacant.push_back(index);
        if spares.idle > 0 {
            drop(spares);
            self.spare_changed.notify_one();
            return;
        }
        let bound = self.seats.len() + self.limits.max_blocked_workers;
        if spares.threads >= bound {
            return;
        }
        drop(spares);
        if let Err(error) = self.start_worker(None) {
            log::error!("could not start a spare worker: {error}");
        }
    }

    /// On each seat that has no thread, learns what became ready (without
    /// waiting) and answers 503 to what waited past the queue deadline.
    fn refuse_stale_on_vacant_seats(self: &Arc<Self>) {
        let vacant: Vec<usize> = lock(&self.spares).vacant.iter().copied().collect();
        for index in vacant {
            let seat = &self.seats[index];
            seat.learn(Some(Duration::ZERO));
            let stale: Vec<usize> = {
                let mut ready = lock(&seat.ready);
                let deadline = self.limits.queue_timeout;
                let (stale, fresh): (VecDeque<Ready>, VecDeque<Ready>) = ready
                    .drain(..)
                    .partition(|ready| ready.since.elapsed() >= deadline);
                *ready = fresh;
                stale.into_iter().map(|ready| ready.key).collect()
            };
            for key in stale {
                self.refuse_overloaded(index, key);
            }
        }
    }

    /// Wakes every thread at stop: holders waiting on their seats, spares
    /// waiting for one.
    pub(super) fn wake_all_workers(&self) {
        for seat in self.seats.iter() {
            let _ = seat.poller.notify();
        }
        self.spare_changed.notify_all();
    }

    /// Waits up to `timeout` for every worker thread to exit; returns how
    /// many had not.
    pub(super) fn join_workers(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut spares = lock(&self.spares);
        while spares.threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            spares = self
                .spare_changed
                .wait_timeout(spares, (deadline - now).min(TICK))
                .unwrap_or_else(|p| p.into_inner())
                .0;
            drop(spares);
            self.wake_all_workers();
            spares = lock(&self.spares);
        }
        spares.threads
    }
}
