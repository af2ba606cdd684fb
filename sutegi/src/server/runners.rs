//! The threads that run streamed responses, kept a while for reuse.
//!
//! A stream's producer is user code that blocks (sleeps, waits on a model,
//! reads a channel), so each stream has a thread of its own. Starting one
//! costs the worker that does it 0.1–1 ms here (p50 265 µs, p90 1.5 ms while
//! a thousand streams started at once), far more than handing the stream to
//! a thread that is already waiting; and short streams (a completion of a
//! few tokens) come and go all the time. So a thread whose stream ended
//! waits [`IDLE_FOR`] for another before it exits.

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
    /// The server stopped: waiting threads exit.
    closed: bool,
}

impl StreamRunners {
    /// Runs `task` on a waiting stream thread, or on a new one when none is
    /// free. Fails only when no thread could be started; `task` is dropped
    /// then.
    pub(crate) fn run(self: &Arc<Self>, task: StreamTask) -> io::Result<()> {
        let mut state = self.lock();
        // Every queued task has a waiting thread of its own.
        if !state.closed && state.idle > state.tasks.len() {
            state.tasks.push_back(task);
            self.ready.notify_one();
            return Ok(());
        }
        drop(state);
        let runners = Arc::clone(self);
        std::thread::Builder::new()
            .name("sutegi-stream".into())
            .spawn(move || {
                task();
                runners.run_until_idle();
            })
            .map(drop)
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

    /// Lets waiting threads exit; later tasks each get a thread of their own.
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
        for _ in 0..4 {
            let gate = Arc::clone(&gate);
            let started = Arc::clone(&started);
            runners
                .run(Box::new(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = gate.lock().unwrap().recv();
                }))
                .unwrap();
        }
        // All four run at once: none waited behind another.
        let deadline = Instant::now() + Duration::from_secs(5);
        while started.load(Ordering::SeqCst) < 4 {
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
