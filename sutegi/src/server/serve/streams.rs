//! Streams: a streamed response runs its producer on a stream thread of
//! its own, holding the connection (still registered with the poller, but
//! disarmed) until the producer returns; then the connection is parked for
//! its next request or closed. Workers never block on a stream.

use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::super::conn::{Conn, Interest, StreamJob, StreamWork};
use super::super::handler::{panic_message, Handler};
use super::super::request::Version;
use super::super::sink::{Output, StreamSink};
use super::super::upgrade::run_upgrade;
use super::super::write::encode_head;
use super::slots::Slot;
use super::{lock, Phase, Shared};

/// How a stream left its connection.
pub(super) enum StreamEnd {
    /// Ended with the closing chunk on a persistent connection, which waits
    /// for this next.
    Reuse(Box<Conn>, Interest),
    Close(Box<Conn>),
}

impl<H: Handler> Shared<H> {
    /// Hands a connection to a stream thread. Should no thread start, the
    /// task (and with it the connection, whose guard leaves the poller) is
    /// dropped and its slot freed.
    pub(super) fn start_stream(self: &Arc<Self>, key: usize, conn: Box<Conn>, job: StreamJob) {
        self.streams.fetch_add(1, Ordering::SeqCst);
        if let Some(slot) = lock(&self.conns).get_mut(key) {
            *slot = Slot::Streaming;
        }
        let shared = Arc::clone(self);
        let started = self.runners.run(Box::new(move || {
            let next = shared.run_stream(conn, job);
            shared.streams.fetch_sub(1, Ordering::SeqCst);
            match next {
                StreamEnd::Reuse(conn, interest) => shared.park(key, conn, interest),
                StreamEnd::Close(conn) => {
                    let _ = conn.socket.shutdown(Shutdown::Both);
                    shared.close(key, conn);
                }
            }
        }));
        if let Err(error) = started {
            log::error!("could not start a stream thread: {error}");
            self.streams.fetch_sub(1, Ordering::SeqCst);
            // The task that owned the connection is gone with its guard;
            // the slot goes too, and accepting resumes if it was full.
            self.free_slot(key);
        }
    }

    /// Runs a stream's producer on this (stream) thread, and says whether
    /// the connection may carry another request.
    pub(super) fn run_stream(&self, conn: Box<Conn>, job: StreamJob) -> StreamEnd {
        let StreamJob {
            status,
            headers,
            producer,
            framing,
        } = job;
        let key_closer = StreamEnd::Close;
        let producer = match producer {
            StreamWork::Produce(producer) => producer,
            StreamWork::Upgrade(handler) => {
                let mut conn = conn;
                let leftover = conn.take_pending();
                let stop = Arc::clone(&self.stop_streams);
                run_upgrade(
                    &conn.socket,
                    leftover,
                    &headers,
                    handler,
                    stop,
                    &self.limits,
                );
                return key_closer(conn);
            }
        };
        let socket = &conn.socket;
        if socket.set_nonblocking(false).is_err()
            || socket
                .set_write_timeout(Some(self.limits.write_timeout))
                .is_err()
        {
            return key_closer(conn);
        }
        let mut head = Vec::with_capacity(256);
        let keep = encode_head(&mut head, status, &headers, None, framing);
        if std::io::Write::write_all(&mut &*conn.socket, &head).is_err() {
            return key_closer(conn);
        }
        let Ok(output) = conn.socket.try_clone() else {
            return key_closer(conn);
        };
        let chunked = framing.version == Version::Http11;
        let mut sink = StreamSink::new(
            Output::Socket(output),
            chunked,
            Arc::clone(&self.stop_streams),
            self.limits.sse_keep_alive,
            self.limits.write_timeout,
        );
        let produced = catch_unwind(AssertUnwindSafe(|| producer(&mut sink)));
        let clean_end = {
            let mut writer = sink
                .shared()
                .writer
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let ended = match &produced {
                Ok(Ok(())) => writer.finish().is_ok(),
                // Told to stop by shutdown: end cleanly, so the client
                // knows the stream is whole so far and reconnects.
                Ok(Err(_)) if self.stop_streams.load(Ordering::SeqCst) => writer.finish().is_ok(),
                // The producer's own error (a file that shrank, a failed
                // upstream): cut, so the client does not take a partial
                // answer for a complete one.
                Ok(Err(_)) => false,
                Err(panic) => {
                    // Cut without the closing chunk: the client sees a cut,
                    // not a complete stream.
                    log::error!("a stream's producer panicked: {}", panic_message(panic));
                    false
                }
            };
            // Drop the duplicate descriptor now, whoever still holds the sink.
            writer.output = Output::Detached;
            ended
        };
        if let Ok(Err(error)) = &produced {
            log::debug!("a stream ended early: {error}");
        }
        if clean_end && keep && chunked && self.phase() < Phase::Closing {
            let mut conn = conn;
            if let Ok(interest) = conn.resume_after_stream(&self.limits) {
                return StreamEnd::Reuse(conn, interest);
            }
            return key_closer(conn);
        }
        key_closer(conn)
    }
}
