//! The fixed-size pool of worker threads.
//!
//! A general-purpose pool for applications (the server itself runs its
//! seats' threads and spares in `serve/seats.rs`, not here): a queue of
//! jobs, a condition variable, and threads that survive a panicking job.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct PoolShared {
    queue: Mutex<Queue>,
    available: Condvar,
    /// Signalled each time a thread exits, for a bounded `join`.
    exited: Condvar,
    running: Mutex<usize>,
}

/// A fixed number of worker threads running queued jobs.
///
/// A job that panics is caught and logged; its thread takes the next job, so
/// the pool keeps its size. Dropping the pool lets queued jobs finish and
/// then joins the threads.
pub struct ThreadPool {
    shared: Arc<PoolShared>,
    threads: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `size` threads (at least one) named `sutegi-worker-N`.
    pub fn new(size: usize) -> std::io::Result<ThreadPool> {
        let shared = Arc::new(PoolShared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            available: Condvar::new(),
            exited: Condvar::new(),
            running: Mutex::new(0),
        });
        let mut threads = Vec::with_capacity(size.max(1));
        for index in 0..size.max(1) {
            let worker_shared = Arc::clone(&shared);
            *shared.running.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            let spawned = std::thread::Builder::new()
                .name(format!("sutegi-worker-{index}"))
                .spawn(move || run_jobs(&worker_shared));
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(error) => {
                    *shared.running.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                    // Dropping the pool closes the queue and joins what started.
                    drop(ThreadPool { shared, threads });
                    return Err(error);
                }
            }
        }
        Ok(ThreadPool { shared, threads })
    }

    /// The number of threads.
    pub fn size(&self) -> usize {
        self.threads.len()
    }

    /// Queues a job; the next free thread runs it.
    pub fn execute<F: FnOnce() + Send + 'static>(&self, job: F) {
        let mut queue = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.jobs.push_back(Box::new(job));
        drop(queue);
        self.shared.available.notify_one();
    }

    /// Stops taking jobs once the queue is empty and waits up to `timeout`
    /// for the threads to finish. Returns how many were still running (their
    /// threads are left to finish on their own).
    pub fn join_within(mut self, timeout: Duration) -> usize {
        self.close();
        let deadline = Instant::now() + timeout;
        let mut running = self
            .shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        while *running > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            running = match self.shared.exited.wait_timeout(running, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        let left = *running;
        drop(running);
        if left == 0 {
            for handle in self.threads.drain(..) {
                let _ = handle.join();
            }
        } else {
            // Detach: a job stuck past the deadline must not hold the caller.
            self.threads.clear();
        }
        left
    }

    fn close(&self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closed = true;
        self.shared.available.notify_all();
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.close();
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

fn run_jobs(shared: &PoolShared) {
    loop {
        let job = {
            let mut queue = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break Some(job);
                }
                if queue.closed {
                    break None;
                }
                queue = shared
                    .available
                    .wait(queue)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(job) = job else { break };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            log::error!("a job on the worker pool panicked; the worker lives on");
        }
    }
    *shared.running.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
    shared.exited.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_every_job_and_survives_panics() {
        let pool = ThreadPool::new(3).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..30 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                if i % 7 == 0 {
                    panic!("job {i} fails on purpose");
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(pool.size(), 3);
        assert_eq!(pool.join_within(Duration::from_secs(10)), 0);
        assert_eq!(done.load(Ordering::SeqCst), 30 - 5);
    }

    #[test]
    fn join_within_gives_up_on_a_stuck_job() {
        let pool = ThreadPool::new(1).unwrap();
        pool.execute(|| std::thread::sleep(Duration::from_millis(500)));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(pool.join_within(Duration::from_millis(50)), 1);
    }
}
