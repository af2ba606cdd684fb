//! The threads that run streamed responses, kept a while for reuse.
//!
//! A stream's producer is user code that blocks (sleeps, waits on a model,
//! reads a channel), so each stream has a thread of its own. Starting one
//! costs the worker that does it 0.1–1 ms here (p50 265 µs, p90 1.5 ms while
//! a thousand streams started at once), far more than handing the stream to
//! a thread that is already waiting; and short streams (a completion of a
//! few tokens) come and go all the time. So a thread whose stream ended
//! waits [`IDLE_FOR`] for another before it exits.
//!
//! When many streams start at once (clients reconnecting after a restart),
//! a worker starts at most one thread and queues the rest; each new thread
//! starts the next before it takes a stream. The workers go back to
//! ordinary requests at once instead of spending the burst starting threads
//! (1,000 streams at once cost them 643 ms of thread starts before).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a stream thread with nothing to run waits for another stream.
const IDLE_FOR: Duration = Duration::from_secs(10);

/// One stream to run, start to end.
pub(crate) type StreamTask = Box<dyn FnOnce() + Send + 'static>;

/// Stream threads, started on demand and reused while they wait.
#[derive(Default)]
pub(crate) struct StreamRunners {
    state: Mutex<State>,
    /// Signalled for each queued task, and on close.
    ready: Condvar,
}

#[derive(Default)]
struct State {
    tasks: VecDeque<StreamTask>,
    /// Threads waiting for a task.
    idle: usize,
    /// Threads started that have not yet taken a task.
    starting: usize,
    /// The server stopped: waiting threads exit.
    closed: bool,
}

impl StreamRunners {
    /// Runs `task` on a waiting stream thread, queues it for a thread being
    /// started, or starts a thread for it. Fails only when that thread could
    /// not be started; `task` is dropped then.
    pub(crate) fn run(self: &Arc<Self>, task: StreamTask) -> io::Result<()> {
        let mut state = self.lock();
        if !state.closed && (state.tasks.len() < state.idle || state.starting > 0) {
            // A waiting thread takes it, or the thread being started starts
            // the next one before taking a stream.
            state.tasks.push_back(task);
            self.ready.notify_one();
            return Ok(());
        }
        state.starting += 1;
        drop(state);
        let started = self.start_thread(Some(task));
        if started.is_err() {
            self.lock().starting -= 1;
        }
        started
    }

    /// Starts a stream thread that runs `first` (if any) and then queued
    /// tasks.
    fn start_thread(self: &Arc<Self>, first: Option<StreamTask>) -> io::Result<()> {
        let runners = Arc::clone(self);
        std::thread::Builder::new()
            .name("sutegi-stream".into())
            .spawn(move || {
                let takes_from_queue = first.is_none();
                runners.start_next_if_needed(takes_from_queue);
                if let Some(task) = first {
                    task();
                }
                runners.run_until_idle();
            })
            .map(drop)
    }

    /// A new thread's first step: while more tasks wait than the waiting
    /// threads (and this one) will take, start the next thread.
    fn start_next_if_needed(self: &Arc<Self>, takes_from_queue: bool) {
        let mut state = self.lock();
        state.starting -= 1;
        let takers = state.idle + usize::from(takes_from_queue);
        if state.tasks.len() <= takers || state.starting > 0 || state.closed {
            return;
        }
        state.starting += 1;
        drop(state);
        if let Err(error) = self.start_thread(None) {
            // The queued tasks wait for a thread whose stream ends.
            log::error!("could not start a stream thread: {error}");
            self.lock().starting -= 1;
        }
    }

    /// Runs queued tasks until none comes for [`IDLE_FOR`], or the server
    /// stops.
    fn run_until_idle(&self) {
        let mut state = self.lock();
        loop {
            if let Some(task) = state.tasks.pop_front() {
                drop(state);
                task();
                state = self.lock();
                continue;
            }
            if state.closed {
                return;
            }
            state.idle += 1;
            let (next, wait) = self
                .ready
                .wait_timeout(state, IDLE_FOR)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = next;
            state.idle -= 1;
            if wait.timed_out() && state.tasks.is_empty() {
                return;
            }
        }
    }

    /// Lets waiting threads exit at once (at shutdown, so a process whose
    /// streams ended does not wait out their idle time); later tasks each
    /// get a thread of their own.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Instant;

    fn current_thread_id() -> std::thread::ThreadId {
        std::thread::current().id()
    }

    #[test]
    fn a_thread_whose_stream_ended_runs_the_next_one() {
        let runners = Arc::new(StreamRunners::default());
        let (sent, got) = mpsc::channel();
        let first = sent.clone();
        runners
            .run(Box::new(move || first.send(current_thread_id()).unwrap()))
            .unwrap();
        let first_thread = got.recv_timeout(Duration::from_secs(5)).unwrap();
        // Wait until the thread is back waiting, then hand it the next one.
        let deadline = Instant::now() + Duration::from_secs(5);
        while runners.lock().idle == 0 {
            assert!(Instant::now() < deadline, "the thread never came back");
            std::thread::sleep(Duration::from_millis(1));
        }
        runners
            .run(Box::new(move || sent.send(current_thread_id()).unwrap()))
            .unwrap();
        let second_thread = got.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(first_thread, second_thread);
        runners.close();
    }

    #[test]
    fn streams_beyond_the_waiting_threads_each_get_a_new_thread() {
        let runners = Arc::new(StreamRunners::default());
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let started = Arc::new(AtomicUsize::new(0));
        // Sixteen at once: one thread started by the caller, each next one
        // by the thread before it.
        for _ in 0..16 {
            let gate = Arc::clone(&gate);
            let started = Arc::clone(&started);
            runners
                .run(Box::new(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = gate.lock().unwrap().recv();
                }))
                .unwrap();
        }
        // All run at once: none waited behind another.
        let deadline = Instant::now() + Duration::from_secs(5);
        while started.load(Ordering::SeqCst) < 16 {
            assert!(Instant::now() < deadline, "streams waited for a thread");
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(release);
        runners.close();
    }

    #[test]
    fn closing_ends_the_waiting_threads() {
        let runners = Arc::new(StreamRunners::default());
        runners.run(Box::new(|| {})).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while runners.lock().idle == 0 {
            assert!(Instant::now() < deadline, "the thread never came back");
            std::thread::sleep(Duration::from_millis(1));
        }
        runners.close();
        while runners.lock().idle > 0 {
            assert!(Instant::now() < deadline, "a waiting thread did not exit");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Only the test still holds the runners once the thread is gone.
        while Arc::strong_count(&runners) > 1 {
            assert!(Instant::now() < deadline, "the thread did not exit");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
