//! Streams: a streamed response runs its producer on a stream thread of
//! its own, holding the connection until the producer returns; then the
//! connection is parked for its next request or closed. Workers never block
//! on a stream.
//!
//! The socket stays in its seat's readiness set meanwhile: when the client
//! hangs up or resets, the seat sees the socket ready, finds it ended, and
//! tells the producer through the stream's watch (`SseSink::is_closed`,
//! `wait_closed`), so a producer that writes nothing for a long time still
//! stops working for nobody.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::super::conn::{Conn, Interest, StreamJob, StreamWork};
use super::super::handler::{panic_message, Handler};
use super::super::limits::Limits;
use super::super::request::Version;
use super::super::response::HeaderText;
use super::super::sink::{Output, StreamSink, StreamWatch};
use super::super::upgrade::{UpgradeHandler, Upgraded};
use super::super::write::{encode_head, encode_upgrade_head};
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
    pub(super) fn start_stream(
        self: &Arc<Self>,
        index: usize,
        key: usize,
        conn: Box<Conn>,
        job: StreamJob,
    ) {
        let Ok(probe) = conn.socket.try_clone() else {
            self.close(index, key, conn);
            return;
        };
        let watch = Arc::new(StreamWatch::default());
        self.streams.fetch_add(1, Ordering::SeqCst);
        if let Some(entry) = lock(&self.seats[index].conns).get_mut(key) {
            entry.slot = Slot::Streaming {
                watch: Arc::clone(&watch),
                probe,
            };
        }
        let shared = Arc::clone(self);
        let started = self.runners.run(Box::new(move || {
            let next = shared.run_stream(conn, job, watch);
            shared.streams.fetch_sub(1, Ordering::SeqCst);
            match next {
                // Bytes that arrived during the stream were seen by the
                // watch, not read: the connection is served again at once.
                StreamEnd::Reuse(conn, interest) => shared.park(index, key, conn, interest, false),
                StreamEnd::Close(conn) => {
                    let _ = conn.socket.shutdown(Shutdown::Both);
                    shared.close(index, key, conn);
                }
            }
        }));
        if let Err(error) = started {
            log::error!("could not start a stream thread: {error}");
            self.streams.fetch_sub(1, Ordering::SeqCst);
            // The task that owned the connection is gone with its guard;
            // the slot goes too, and accepting resumes if it was full.
            self.free_slot(index, key);
        }
    }

    /// Tells every running stream that shutdown began (wakes producers in
    /// `wait_closed`).
    pub(super) fn wake_streams(&self) {
        for seat in self.seats.iter() {
            for (_, entry) in lock(&seat.conns).iter() {
                if let Slot::Streaming { watch, .. } = &entry.slot {
                    watch.wake();
                }
            }
        }
    }

    /// Runs a stream's producer on this (stream) thread, and says whether
    /// the connection may carry another request.
    pub(super) fn run_stream(
        &self,
        conn: Box<Conn>,
        job: StreamJob,
        watch: Arc<StreamWatch>,
    ) -> StreamEnd {
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
        let mut sink = StreamSink::watched(
            Output::Socket(output),
            chunked,
            Arc::clone(&self.stop_streams),
            self.limits.sse_keep_alive,
            self.limits.write_timeout,
            watch,
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

/// Runs an upgrade on a stream thread: writes the 101 head on the
/// (blocking, write-timed) socket, then calls the handler with a duplicate
/// of the socket. The caller closes the connection afterwards. A panicking
/// handler is logged; the connection closes all the same.
fn run_upgrade(
    socket: &TcpStream,
    leftover: Vec<u8>,
    headers: &[(HeaderText, HeaderText)],
    handler: UpgradeHandler,
    stop: Arc<AtomicBool>,
    limits: &Limits,
) {
    if socket.set_nonblocking(false).is_err()
        || socket
            .set_write_timeout(Some(limits.write_timeout))
            .is_err()
    {
        return;
    }
    let mut head = Vec::with_capacity(256);
    encode_upgrade_head(&mut head, headers);
    if (&*socket).write_all(&head).is_err() {
        return;
    }
    let Ok(duplicate) = socket.try_clone() else {
        return;
    };
    let upgraded = Upgraded::new(duplicate, leftover, stop, limits.clone());
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(upgraded)));
    if let Err(panic) = ran {
        log::error!(
            "an upgraded connection's handler panicked: {}",
            panic_message(&panic)
        );
    }
    let _ = socket.shutdown(Shutdown::Both);
}
