//! Sinks that streaming bodies write to: [`StreamSink`] for raw bytes and
//! [`SseSink`] for Server-Sent Events, plus the one heartbeat thread that
//! keeps silent event streams alive through proxies.
//!
//! Every sink call writes one chunk and flushes it, so the client sees it at
//! once. A sink call fails (and the producer should return) when the client
//! went away, when it stopped reading for [`Limits::write_timeout`], or when
//! the server is shutting down; the server then ends the stream. The writer
//! sits behind a lock so the heartbeat thread can write a `: keep-alive`
//! comment while the producer blocks elsewhere.
//!
//! # Noticing the client leaving, and saying goodbye at shutdown
//!
//! While a producer runs, the server keeps watching the stream's socket
//! for the client hanging up or resetting; [`SseSink::is_closed`] turns
//! true within a few milliseconds of it, even when the producer has written
//! nothing. A producer that waits (for a model's first token, a timer, a
//! queue) waits with [`SseSink::wait_closed`] instead of sleeping, and
//! stops the work nobody will read:
//!
//! ```no_run
//! # use std::time::Duration;
//! # fn next_token() -> Option<String> { None }
//! let body = sutegi::Body::sse(|sink| {
//!     loop {
//!         if sink.wait_closed(Duration::from_millis(500)) {
//!             if sink.is_shutting_down() {
//!                 // Shutdown began: one last event, then end cleanly.
//!                 sink.event("error", "shutting down")?;
//!             }
//!             return Ok(()); // the client left, or the server is stopping
//!         }
//!         match next_token() {
//!             Some(token) => sink.data(&token)?,
//!             None => return Ok(()),
//!         }
//!     }
//! });
//! # let _ = body;
//! ```
//!
//! When shutdown begins, [`is_shutting_down`](SseSink::is_shutting_down)
//! and `is_closed` turn true and `wait_closed` returns. A producer that
//! asked (any of those three answered "shutting down") keeps a working sink
//! for the rest of [`Limits::shutdown_grace`], so it can write a last event
//! and end; one that never asks gets its next write failed with "the server
//! is shutting down", so a producer written without shutdown in mind still
//! ends at once. Either way the stream then ends with its closing chunk.
//!
//! The file runs past 600 lines: the two public sinks share one writer, its
//! heartbeat and its closed/shutdown watch, and most of the length is their
//! documented public methods.
//!
//! [`Limits::write_timeout`]: super::Limits::write_timeout
//! [`Limits::shutdown_grace`]: super::Limits::shutdown_grace

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Where a stream's bytes go: the client's socket, or any writer (tests,
/// in-process clients).
pub(crate) enum Output {
    Socket(TcpStream),
    Writer(Box<dyn Write + Send>),
    /// The stream has ended and the socket was handed back to the server.
    Detached,
}

impl Output {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Output::Socket(socket) => socket.write_all(bytes),
            Output::Writer(writer) => writer.write_all(bytes).and_then(|()| writer.flush()),
            Output::Detached => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "stream has ended",
            )),
        }
    }
}

pub(crate) struct SinkWriter {
    pub(crate) output: Output,
    /// Chunked framing (HTTP/1.1) or raw bytes delimited by close (HTTP/1.0).
    chunked: bool,
    /// Set once a write failed: the stream is broken and must not be ended
    /// with a closing chunk.
    pub(crate) failed: bool,
    last_write: Instant,
    frame: Vec<u8>,
}

impl SinkWriter {
    fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client went away",
            ));
        }
        if data.is_empty() {
            // A zero-length chunk would end the stream.
            return Ok(());
        }
        self.frame.clear();
        if self.chunked {
            let _ = write!(HexWriter(&mut self.frame), "{:x}\r\n", data.len());
            self.frame.extend_from_slice(data);
            self.frame.extend_from_slice(b"\r\n");
        } else {
            self.frame.extend_from_slice(data);
        }
        let result = self.output.write_all(&self.frame);
        if self.frame.capacity() > 64 * 1024 {
            self.frame = Vec::new();
        }
        self.last_write = Instant::now();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Ends a stream that did not fail: the zero-length chunk on HTTP/1.1.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "stream was cut"));
        }
        if self.chunked {
            self.output.write_all(b"0\r\n\r\n")?;
        }
        Ok(())
    }
}

struct HexWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for HexWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// What the server tells a running stream from outside its thread: the
/// client left (its socket hung up or reset), or shutdown began. Producers
/// read it through the sink, and [`SseSink::wait_closed`] sleeps on it.
#[derive(Default)]
pub(crate) struct StreamWatch {
    client_left: AtomicBool,
    /// Taken with `changed` so a waiter cannot miss a wake-up between its
    /// check and its wait.
    waiting: Mutex<()>,
    changed: Condvar,
}

impl StreamWatch {
    /// The server saw the client hang up or reset.
    pub(crate) fn client_left(&self) {
        self.client_left.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Wakes a producer in `wait_closed` (shutdown began, or the client left).
    pub(crate) fn wake(&self) {
        let _guard = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        self.changed.notify_all();
    }

    fn has_client_left(&self) -> bool {
        self.client_left.load(Ordering::SeqCst)
    }
}

pub(crate) struct SinkShared {
    pub(crate) writer: Mutex<SinkWriter>,
    /// The server's shutdown flag. Once set, the producer is told (see the
    /// module docs); a producer that never asked has its next call failed.
    stop: Arc<AtomicBool>,
    /// The producer has seen that shutdown began, and may write its goodbye.
    saw_shutdown: AtomicBool,
    watch: Arc<StreamWatch>,
    heartbeat_every: Duration,
    write_timeout: Duration,
}

/// A sink for a raw streamed body. Every write is one chunk, flushed at
/// once. Implements [`std::io::Write`], so `write!` works.
pub struct StreamSink {
    shared: Arc<SinkShared>,
}

impl StreamSink {
    pub(crate) fn new(
        output: Output,
        chunked: bool,
        stop: Arc<AtomicBool>,
        heartbeat_every: Duration,
        write_timeout: Duration,
    ) -> StreamSink {
        StreamSink::watched(
            output,
            chunked,
            stop,
            heartbeat_every,
            write_timeout,
            Arc::default(),
        )
    }

    /// A sink whose stream the server watches through `watch` (client
    /// hang-up, shutdown).
    pub(crate) fn watched(
        output: Output,
        chunked: bool,
        stop: Arc<AtomicBool>,
        heartbeat_every: Duration,
        write_timeout: Duration,
        watch: Arc<StreamWatch>,
    ) -> StreamSink {
        let writer = SinkWriter {
            output,
            chunked,
            failed: false,
            last_write: Instant::now(),
            frame: Vec::new(),
        };
        StreamSink {
            shared: Arc::new(SinkShared {
                writer: Mutex::new(writer),
                stop,
                saw_shutdown: AtomicBool::new(false),
                watch,
                heartbeat_every,
                write_timeout,
            }),
        }
    }

    /// A sink that writes unframed bytes to any writer, for running a
    /// streamed body outside a server (tests, in-process clients).
    pub fn to_writer(writer: impl Write + Send + 'static) -> StreamSink {
        StreamSink::new(
            Output::Writer(Box::new(writer)),
            false,
            Arc::new(AtomicBool::new(false)),
            Duration::from_secs(15),
            Duration::from_secs(30),
        )
    }

    pub(crate) fn shared(&self) -> &Arc<SinkShared> {
        &self.shared
    }

    fn check_open(&self) -> io::Result<()> {
        if self.shared.watch.has_client_left() {
            self.shared
                .writer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .failed = true;
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client went away",
            ));
        }
        if self.shared.stop.load(Ordering::Relaxed)
            && !self.shared.saw_shutdown.load(Ordering::Relaxed)
        {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server is shutting down",
            ));
        }
        Ok(())
    }

    /// Writes `data` as one chunk and flushes it.
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.check_open()?;
        self.shared
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_chunk(data)
    }

    /// Whether the stream should stop: the client has gone away (noticed
    /// within milliseconds, writes or not) or the server is shutting down.
    /// After shutdown began, a `true` here leaves the sink working for a
    /// goodbye (see the module docs).
    pub fn is_closed(&self) -> bool {
        self.is_shutting_down()
            || self.shared.watch.has_client_left()
            || self.shared.writer.lock().map(|w| w.failed).unwrap_or(true)
    }

    /// Whether the server's shutdown began. Once this (or
    /// [`is_closed`](StreamSink::is_closed), or
    /// [`wait_closed`](StreamSink::wait_closed)) said so, writes keep
    /// working for the shutdown grace period: write a last event, then
    /// return.
    pub fn is_shutting_down(&self) -> bool {
        let stopping = self.shared.stop.load(Ordering::SeqCst);
        if stopping {
            self.shared.saw_shutdown.store(true, Ordering::Relaxed);
        }
        stopping
    }

    /// Waits until the stream should stop (the client left, or shutdown
    /// began) or `timeout` passed, and says whether it should stop: what a
    /// producer waiting for its next piece of work calls instead of
    /// sleeping.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let watch = &self.shared.watch;
        let mut guard = watch.waiting.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.is_closed() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = watch
                .changed
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Registers this stream with the heartbeat thread: when it has been
    /// silent for the configured interval, a `: keep-alive` comment is sent.
    pub(crate) fn enable_heartbeat(&mut self) {
        heartbeat::register(&self.shared);
    }
}

impl Write for StreamSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Every write is already flushed.
        Ok(())
    }
}

/// One Server-Sent Event: any of an event name, an id, data, a retry hint
/// and a comment, written together as one frame.
///
/// ```
/// let event = sutegi::SseEvent::new().event("tick").id("3").data("3");
/// # let _ = event;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
    retry: Option<Duration>,
    comment: Option<String>,
}

impl SseEvent {
    /// An empty event; add its fields with the builder methods.
    pub fn new() -> SseEvent {
        SseEvent::default()
    }

    /// Sets the event name (`event:` field). CR or LF in it makes sending fail.
    pub fn event(mut self, name: impl Into<String>) -> SseEvent {
        self.event = Some(name.into());
        self
    }

    /// Sets the event id (`id:` field), which the browser sends back as
    /// `Last-Event-ID` when it reconnects. CR, LF or NUL in it makes sending fail.
    pub fn id(mut self, id: impl Into<String>) -> SseEvent {
        self.id = Some(id.into());
        self
    }

    /// Sets the data; each line becomes its own `data:` field.
    pub fn data(mut self, data: impl Into<String>) -> SseEvent {
        self.data = Some(data.into());
        self
    }

    /// Sets the reconnection delay the client should use (`retry:` field).
    pub fn retry(mut self, delay: Duration) -> SseEvent {
        self.retry = Some(delay);
        self
    }

    /// Sets a comment line (`: text`), ignored by clients.
    pub fn comment(mut self, text: impl Into<String>) -> SseEvent {
        self.comment = Some(text.into());
        self
    }

    /// Formats the frame, ending with the blank line that dispatches it.
    pub fn to_frame(&self) -> io::Result<String> {
        let invalid = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("an SSE {what} must not contain CR or LF"),
            )
        };
        let mut frame = String::new();
        if let Some(comment) = &self.comment {
            for line in split_lines(comment) {
                frame.push(':');
                frame.push(' ');
                frame.push_str(line);
                frame.push('\n');
            }
        }
        if let Some(event) = &self.event {
            if event.contains(['\r', '\n']) {
                return Err(invalid("event name"));
            }
            frame.push_str("event: ");
            frame.push_str(event);
            frame.push('\n');
        }
        if let Some(id) = &self.id {
            if id.contains(['\r', '\n', '\0']) {
                return Err(invalid("id (or NUL)"));
            }
            frame.push_str("id: ");
            frame.push_str(id);
            frame.push('\n');
        }
        if let Some(retry) = self.retry {
            let _ = writeln!(frame, "retry: {}", retry.as_millis());
        }
        if let Some(data) = &self.data {
            for line in split_lines(data) {
                frame.push_str("data: ");
                frame.push_str(line);
                frame.push('\n');
            }
        }
        frame.push('\n');
        Ok(frame)
    }
}

/// Splits on CRLF, CR or LF, as the SSE parser does; an empty string is one
/// empty line.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            Some(at) => {
                let skip = if current[at..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A sink that formats Server-Sent Events frames and flushes each one: what
/// LLM token streaming needs. Each method writes one frame.
pub struct SseSink {
    inner: StreamSink,
}

impl SseSink {
    pub(crate) fn new(sink: &mut StreamSink) -> SseSink {
        SseSink {
            inner: StreamSink {
                shared: Arc::clone(&sink.shared),
            },
        }
    }

    /// Sends one event (event name, id, data, retry together in one frame).
    pub fn send(&mut self, event: &SseEvent) -> io::Result<()> {
        let frame = event.to_frame()?;
        self.inner.send(frame.as_bytes())
    }

    /// Sends a data-only event.
    pub fn data(&mut self, data: &str) -> io::Result<()> {
        self.send(&SseEvent::new().data(data))
    }

    /// Sends a named event with data.
    pub fn event(&mut self, name: &str, data: &str) -> io::Result<()> {
        self.send(&SseEvent::new().event(name).data(data))
    }

    /// Sends an id-only frame (sets the client's last event id).
    pub fn id(&mut self, id: &str) -> io::Result<()> {
        self.send(&SseEvent::new().id(id))
    }

    /// Tells the client how long to wait before reconnecting.
    pub fn retry(&mut self, delay: Duration) -> io::Result<()> {
        self.send(&SseEvent::new().retry(delay))
    }

    /// Sends a comment line, which clients ignore (useful as a ping).
    pub fn comment(&mut self, text: &str) -> io::Result<()> {
        self.send(&SseEvent::new().comment(text))
    }

    /// Whether the stream should stop: the client went away (noticed within
    /// milliseconds, even while the producer writes nothing) or shutdown
    /// began (then the sink still works for a goodbye event; see
    /// [`is_shutting_down`](SseSink::is_shutting_down)).
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether the server's shutdown began. From the first `true`, writes
    /// keep working for the shutdown grace period, so the producer can send
    /// a last event (`event: error`, say) and return.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.is_shutting_down()
    }

    /// Waits until the client leaves, shutdown begins, or `timeout`
    /// passes; `true` when the stream should stop. A producer waiting for
    /// its next event (a model's first token) calls this instead of
    /// sleeping, so it notices a departed client at once.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        self.inner.wait_closed(timeout)
    }
}

/// The single heartbeat thread for all event streams.
mod heartbeat {
    use super::*;

    const TICK: Duration = Duration::from_millis(250);
    /// How long a heartbeat may block on a client that reads nothing; past
    /// it the stream is treated as broken rather than stalling every other
    /// stream's heartbeat behind this one.
    const HEARTBEAT_WRITE_TIMEOUT: Duration = Duration::from_millis(200);

    fn registry() -> &'static Mutex<Vec<Weak<SinkShared>>> {
        static REGISTRY: OnceLock<Mutex<Vec<Weak<SinkShared>>>> = OnceLock::new();
        REGISTRY.get_or_init(|| {
            let spawned = std::thread::Builder::new()
                .name("sutegi-heartbeat".into())
                .spawn(run);
            if let Err(error) = spawned {
                log::error!("could not start the SSE heartbeat thread: {error}");
            }
            Mutex::new(Vec::new())
        })
    }

    pub(super) fn register(shared: &Arc<SinkShared>) {
        registry()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(shared));
    }

    fn run() {
        loop {
            std::thread::sleep(TICK);
            let live: Vec<Arc<SinkShared>> = {
                let mut streams = registry().lock().unwrap_or_else(|p| p.into_inner());
                streams.retain(|weak| weak.strong_count() > 0);
                streams.iter().filter_map(Weak::upgrade).collect()
            };
            for shared in live {
                beat(&shared);
            }
        }
    }

    fn beat(shared: &SinkShared) {
        // A producer in the middle of a write holds the lock; it is not silent.
        let Ok(mut writer) = shared.writer.try_lock() else {
            return;
        };
        if writer.failed || writer.last_write.elapsed() < shared.heartbeat_every {
            return;
        }
        if let Output::Socket(socket) = &writer.output {
            let _ = socket.set_write_timeout(Some(HEARTBEAT_WRITE_TIMEOUT));
        }
        let _ = writer.write_chunk(b": keep-alive\n\n");
        if let Output::Socket(socket) = &writer.output {
            let _ = socket.set_write_timeout(Some(shared.write_timeout));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn event_fields_share_one_frame() {
        let frame = SseEvent::new()
            .event("tick")
            .id("3")
            .data("3")
            .to_frame()
            .unwrap();
        assert_eq!(frame, "event: tick\nid: 3\ndata: 3\n\n");
    }

    #[test]
    fn multi_line_data_becomes_several_data_lines() {
        let frame = SseEvent::new().data("a\nb\r\nc\rd").to_frame().unwrap();
        assert_eq!(frame, "data: a\ndata: b\ndata: c\ndata: d\n\n");
    }

    #[test]
    fn newline_in_event_name_or_id_is_an_error_not_a_broken_frame() {
        assert!(SseEvent::new().event("a\nb").to_frame().is_err());
        assert!(SseEvent::new().id("1\r").to_frame().is_err());
    }

    #[test]
    fn sse_sink_writes_frames_to_the_output() {
        let out = Shared::default();
        let mut sink = StreamSink::to_writer(out.clone());
        let mut sse = SseSink::new(&mut sink);
        sse.event("tick", "0").unwrap();
        sse.comment("hi").unwrap();
        sse.retry(Duration::from_millis(1500)).unwrap();
        let written = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "event: tick\ndata: 0\n\n: hi\n\nretry: 1500\n\n");
    }

    #[test]
    fn chunked_sink_frames_each_write() {
        let out = Shared::default();
        let mut sink = StreamSink::new(
            Output::Writer(Box::new(out.clone())),
            true,
            Arc::new(AtomicBool::new(false)),
            Duration::from_secs(15),
            Duration::from_secs(30),
        );
        sink.send(b"hello").unwrap();
        sink.send(b"").unwrap();
        sink.shared().writer.lock().unwrap().finish().unwrap();
        assert_eq!(&out.0.lock().unwrap()[..], b"5\r\nhello\r\n0\r\n\r\n");
    }

    #[test]
    fn a_stopped_server_fails_the_next_sink_call() {
        let stop = Arc::new(AtomicBool::new(false));
        let mut sink = StreamSink::new(
            Output::Writer(Box::new(Shared::default())),
            true,
            Arc::clone(&stop),
            Duration::from_secs(15),
            Duration::from_secs(30),
        );
        sink.send(b"a").unwrap();
        stop.store(true, Ordering::Relaxed);
        assert!(sink.send(b"b").is_err());
        assert!(sink.is_closed());
    }
}
