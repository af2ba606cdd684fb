//! Request bodies read while the handler runs: the [`BodyReader`] a route
//! that streams its body (a [`Multipart`](crate::extract::Multipart)
//! upload, or a handler taking the `BodyReader` itself) gets instead of a
//! body buffered whole.
//!
//! Most bodies are read by the connection, between the worker's turns,
//! into one buffer the handler borrows: cheap for the JSON bodies of an
//! API, and a slow client costs no thread. An upload is different: holding
//! a 100 MiB file in memory to write it to disk is what a server must not
//! do. So when [`Handler::check_head`](super::Handler::check_head) answers
//! [`HeadVerdict::StreamBody`](super::HeadVerdict::StreamBody), the
//! handler runs as soon as the head is parsed and reads the body from the
//! socket as it arrives, on its worker. While it waits for bytes it counts
//! as a blocked handler, so a spare thread serves the other connections.
//!
//! The reader applies the rules the connection would have: the body limit
//! (413), the chunked grammar (400), `body_timeout` and `min_body_rate`
//! (408), an early end of the connection (400); it sends `100 Continue`
//! when the handler first asks for bytes the client holds back. Each
//! refusal comes out of `read` as an `io::Error` wrapping the
//! [`Error`](crate::Error), which `?` into `sutegi::Error` gives back as it
//! was. It never reads past the body: bytes of a pipelined request behind
//! it go back to the connection, which carries on with them once the
//! handler has answered. A body the handler did not read to its end (it
//! answered early, or a refusal cut it) cannot be skipped safely, so that
//! connection closes after the answer.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::codec::{Refusal, StreamFraming, StreamedBody};
use super::limits::{BodyWindow, Limits};
use super::request::Request;
use crate::error::Error;

/// How many bytes one read of a chunked body asks the socket for.
const RAW_CHUNK: usize = 16 * 1024;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Where the bytes come from after those already received.
enum Input {
    /// The connection's socket (non-blocking; the reader waits with
    /// `poll` under the body's deadline).
    Socket {
        socket: TcpStream,
        limits: Box<Limits>,
        window: BodyWindow,
        expects_continue: bool,
    },
    /// Nothing more: every byte was given up front (`TestClient`).
    Nothing,
}

/// What the connection learns once the handler is done with the body: the
/// bytes received behind it (a pipelined request), set when the body was
/// read to its end. Unset after the handler answered, the body was not
/// read through and the connection must close.
#[derive(Default)]
pub(crate) struct BodyEnd(Mutex<Option<Vec<u8>>>);

impl BodyEnd {
    /// The bytes behind the body, if the body was read to its end.
    pub(crate) fn take_rest(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A request body read as it arrives, for routes that stream their body.
///
/// Take it as a handler argument (any `Content-Type`) to stream a raw
/// body, such as a large `PUT`, to disk; the
/// [`Multipart`](crate::extract::Multipart) extractor reads its parts from
/// it; a handler of your own takes it with
/// [`Request::take_body_reader`](super::Request::take_body_reader).
///
/// `read` returns the body's bytes, de-chunked, then `0` at its end; a
/// refusal (413 over the body limit, 400 for a malformed or cut body, 408
/// for a body that stalled or fell below `min_body_rate`) comes as an
/// `io::Error` wrapping the [`Error`](crate::Error) the client should get.
/// See the module docs for the model.
///
/// ```
/// use sutegi::extract::BodyReader;
/// use sutegi::{put, routes, test::TestClient, Error};
///
/// #[put("/files/{name}", body_limit = "1GiB")]
/// fn store(name: String, mut body: BodyReader) -> Result<String, Error> {
///     // A file in real code; `?` turns a refusal (413, 408, 400) back
///     // into the status the client gets.
///     let size = std::io::copy(&mut body, &mut std::io::sink())?;
///     Ok(format!("{name}: {size} bytes"))
/// }
///
/// let client = TestClient::new(routes![store]);
/// let r = client.put("/files/a.bin").body(vec![7u8; 100_000]).send();
/// assert_eq!(r.text(), "a.bin: 100000 bytes");
/// ```
pub struct BodyReader {
    input: Input,
    /// Received and not yet decoded: the bytes that came with the head,
    /// then (chunked bodies) reads from the socket.
    raw: Vec<u8>,
    raw_at: usize,
    framing: StreamFraming,
    /// De-chunked bytes not yet handed out.
    decoded: Vec<u8>,
    decoded_at: usize,
    limit: u64,
    received: u64,
    /// The body ended; what followed it went to `end`.
    ended: bool,
    /// The first refusal, repeated by every later read.
    failed: Option<Error>,
    end: Arc<BodyEnd>,
}

/// Where a streamed body's reader waits to be taken: an extension, so
/// requests with a buffered body (nearly all) carry nothing for it.
struct StreamingBody(Mutex<Option<BodyReader>>);

/// The request's side of a streamed body (kept here, beside the reader,
/// so the request type knows nothing of sockets).
impl Request {
    /// The body as it arrives, on a route that streams its body (see
    /// [`HeadVerdict::StreamBody`](super::HeadVerdict::StreamBody)); the
    /// first call takes it, later ones (and every other request) get
    /// `None`. On such a request [`body`](Request::body) is empty.
    pub fn take_body_reader(&self) -> Option<BodyReader> {
        let slot = self.extensions.get::<StreamingBody>()?;
        slot.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Gives the request the reader of its body, which has not been read.
    pub(crate) fn attach_body_reader(&mut self, reader: BodyReader) {
        self.extensions
            .insert(StreamingBody(Mutex::new(Some(reader))));
    }
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("received", &self.received)
            .field("limit", &self.limit)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl BodyReader {
    /// A reader of the body on `socket`, after the bytes `received` with
    /// the head (which may hold the whole body and more).
    pub(crate) fn from_socket(
        socket: TcpStream,
        received: Vec<u8>,
        body: StreamedBody,
        limits: &Limits,
    ) -> (BodyReader, Arc<BodyEnd>) {
        let mut window = BodyWindow::default();
        window.deadline(Instant::now(), 0, limits);
        let input = Input::Socket {
            socket,
            limits: Box::new(limits.clone()),
            window,
            expects_continue: body.expects_continue,
        };
        BodyReader::new(input, received, body)
    }

    /// A reader of a body whose every byte is in `received`: a body shorter
    /// than its framing says is refused as cut.
    pub(crate) fn from_bytes(received: Vec<u8>, body: StreamedBody) -> (BodyReader, Arc<BodyEnd>) {
        BodyReader::new(Input::Nothing, received, body)
    }

    /// A reader of a body already in memory, whole.
    pub(crate) fn over(body: Vec<u8>) -> BodyReader {
        let length = body.len() as u64;
        let framing = StreamedBody {
            framing: StreamFraming::Sized(length),
            limit: length,
            expects_continue: false,
        };
        BodyReader::from_bytes(body, framing).0
    }

    fn new(input: Input, raw: Vec<u8>, body: StreamedBody) -> (BodyReader, Arc<BodyEnd>) {
        let end = Arc::new(BodyEnd::default());
        let mut reader = BodyReader {
            input,
            raw,
            raw_at: 0,
            framing: body.framing,
            decoded: Vec::new(),
            decoded_at: 0,
            limit: body.limit,
            received: 0,
            ended: false,
            failed: None,
            end: Arc::clone(&end),
        };
        if matches!(reader.framing, StreamFraming::Sized(0)) {
            reader.finish();
        }
        (reader, end)
    }

    /// Body bytes received so far (de-chunked).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the whole body has been read.
    pub fn is_finished(&self) -> bool {
        self.ended && self.decoded_at == self.decoded.len()
    }

    /// The body ended: hands the bytes behind it to the connection.
    fn finish(&mut self) {
        self.ended = true;
        let rest = self.raw.split_off(self.raw_at);
        self.raw = Vec::new();
        self.raw_at = 0;
        *self.end.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(rest);
    }

    fn fail(&mut self, error: Error) -> io::Error {
        self.failed = Some(error.clone());
        io::Error::other(error)
    }

    fn refusal(&mut self, refusal: Refusal) -> io::Error {
        let error = match refusal {
            Refusal::BodyTooLarge => Error::content_too_large(format!(
                "the body exceeds this route's limit of {} bytes",
                self.limit
            )),
            other => Error::new(other.status(), other.message()),
        };
        self.fail(error)
    }

    /// Reads from the connection into `buf` (never empty), waiting under
    /// the body's deadline; an end of input before the body's end is a 400.
    fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Input::Socket {
            socket,
            limits,
            window,
            expects_continue,
        } = &mut self.input
        else {
            return Err(self.fail(cut_short()));
        };
        if std::mem::take(expects_continue) && self.received == 0 {
            if let Err(error) = send_continue(socket, limits) {
                return Err(self.fail(error));
            }
        }
        // From when the handler asks (its own pace is not the client's),
        // and within the current rate window, which moves on each time
        // its quota has arrived.
        let deadline = window.deadline(Instant::now(), self.received, limits);
        loop {
            match socket.read(buf) {
                Ok(0) => return Err(self.fail(cut_short())),
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !wait_for(socket, PollFlags::IN, deadline)? {
                        return Err(self.refusal(Refusal::Timeout));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Hands out `buf.len()` bytes at most from the sized body.
    fn read_sized(&mut self, buf: &mut [u8], remaining: u64) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let here = self.raw.len() - self.raw_at;
        let n = if here > 0 {
            let n = want.min(here);
            buf[..n].copy_from_slice(&self.raw[self.raw_at..self.raw_at + n]);
            self.raw_at += n;
            n
        } else {
            // Straight into the caller's buffer, never past the body.
            self.receive(&mut buf[..want])?
        };
        self.received += n as u64;
        self.framing = StreamFraming::Sized(remaining - n as u64);
        if remaining == n as u64 {
            self.finish();
        }
        Ok(n)
    }

    /// Decodes more of a chunked body into `decoded`, reading the socket
    /// when nothing undecoded is left.
    fn decode_more(&mut self) -> io::Result<()> {
        if self.raw_at == self.raw.len() {
            // Taken out while `receive` borrows the reader.
            let mut raw = std::mem::take(&mut self.raw);
            raw.clear();
            raw.resize(RAW_CHUNK, 0);
            self.raw_at = 0;
            let read = self.receive(&mut raw);
            raw.truncate(*read.as_ref().unwrap_or(&0));
            self.raw = raw;
            read?;
        }
        self.decoded.clear();
        self.decoded_at = 0;
        let StreamFraming::Chunked(chunks) = &mut self.framing else {
            return Ok(());
        };
        match chunks.decode(&self.raw[self.raw_at..], &mut self.decoded) {
            Ok((taken, done)) => {
                self.raw_at += taken;
                self.received += self.decoded.len() as u64;
                if done {
                    self.finish();
                }
                Ok(())
            }
            Err(refusal) => Err(self.refusal(refusal)),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(error) = &self.failed {
            return Err(io::Error::other(error.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.decoded_at < self.decoded.len() {
                let n = buf.len().min(self.decoded.len() - self.decoded_at);
                buf[..n].copy_from_slice(&self.decoded[self.decoded_at..self.decoded_at + n]);
                self.decoded_at += n;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.framing {
                StreamFraming::Sized(remaining) => return self.read_sized(buf, remaining),
                StreamFraming::Chunked(_) => self.decode_more()?,
            }
        }
    }
}

fn cut_short() -> Error {
    Error::bad_request("the connection ended before the request body did")
}

/// Writes `100 Continue`, waiting for room under `write_timeout`.
fn send_continue(socket: &mut TcpStream, limits: &Limits) -> Result<(), Error> {
    let deadline = Instant::now() + limits.write_timeout;
    let mut sent = 0;
    while sent < CONTINUE.len() {
        match socket.write(&CONTINUE[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait_for(socket, PollFlags::OUT, deadline).unwrap_or(false) {
                    return Err(cut_short());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(cut_short()),
        }
    }
    Ok(())
}

/// Waits until `socket` is ready for `flags` or `deadline` passes; `false`
/// at the deadline.
fn wait_for(socket: &TcpStream, flags: PollFlags, deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let timeout = timespec(left);
        let mut fds = [PollFd::new(socket, flags)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => {}
            // Ready, or hung up / in error: the next read or write says.
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn timespec(wait: Duration) -> Timespec {
    Timespec {
        tv_sec: wait.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: wait.subsec_nanos().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::codec::ChunkedDecoder;

    fn sized(length: u64) -> StreamedBody {
        StreamedBody {
            framing: StreamFraming::Sized(length),
            limit: 1 << 20,
            expects_continue: false,
        }
    }

    fn chunked(limit: u64) -> StreamedBody {
        StreamedBody {
            framing: StreamFraming::Chunked(ChunkedDecoder::new(limit)),
            limit,
            expects_continue: false,
        }
    }

    /// Reads to the end in small steps, as a parser would.
    fn read_all(reader: &mut BodyReader) -> Result<Vec<u8>, Error> {
        let mut body = Vec::new();
        let mut step = [0u8; 3];
        for _ in 0..10_000 {
            match reader.read(&mut step) {
                Ok(0) => return Ok(body),
                Ok(n) => body.extend_from_slice(&step[..n]),
                Err(e) => return Err(Error::from(e)),
            }
        }
        panic!("the reader never ended");
    }

    #[test]
    fn a_sized_body_is_read_to_its_length_and_what_follows_goes_back() {
        let wire = b"hello worldGET / HTTP/1.1\r\n".to_vec();
        let (mut reader, end) = BodyReader::from_bytes(wire, sized(11));
        assert_eq!(
            end.take_rest(),
            None,
            "nothing is handed back before the end"
        );
        assert_eq!(read_all(&mut reader).unwrap(), b"hello world");
        assert!(reader.is_finished());
        assert_eq!(reader.received(), 11);
        assert_eq!(end.take_rest().unwrap(), b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn a_chunked_body_is_decoded_and_stops_at_its_last_chunk() {
        let wire = b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT".to_vec();
        let (mut reader, end) = BodyReader::from_bytes(wire, chunked(1 << 20));
        assert_eq!(read_all(&mut reader).unwrap(), b"hello world");
        assert_eq!(end.take_rest().unwrap(), b"NEXT");
    }

    #[test]
    fn an_empty_sized_body_has_ended_before_any_read() {
        let (mut reader, end) = BodyReader::from_bytes(b"NEXT".to_vec(), sized(0));
        assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0);
        assert_eq!(end.take_rest().unwrap(), b"NEXT");
    }

    #[test]
    fn refusals_carry_the_status_the_client_gets_and_repeat() {
        // Cut short: the connection ended before the declared length.
        let (mut reader, end) = BodyReader::from_bytes(b"abc".to_vec(), sized(10));
        let error = read_all(&mut reader).unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.message()),
            (400, cut_short().message())
        );
        let again = Error::from(reader.read(&mut [0u8; 4]).unwrap_err());
        assert_eq!(again.status().as_u16(), 400, "a failed body stays failed");
        assert_eq!(
            end.take_rest(),
            None,
            "a cut body leaves the connection to close"
        );

        // Over the limit, counted as chunks arrive.
        let (mut reader, _) =
            BodyReader::from_bytes(b"a\r\n0123456789\r\n0\r\n\r\n".to_vec(), chunked(4));
        let error = read_all(&mut reader).unwrap_err();
        assert_eq!(error.status().as_u16(), 413);
        assert!(
            error.message().contains("limit of 4 bytes"),
            "{}",
            error.message()
        );

        // Malformed framing.
        let (mut reader, _) = BodyReader::from_bytes(b"zz\r\n".to_vec(), chunked(100));
        assert_eq!(read_all(&mut reader).unwrap_err().status().as_u16(), 400);
    }
}
