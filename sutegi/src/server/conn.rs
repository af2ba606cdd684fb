//! One connection's life on a worker: read what arrived, feed the codec,
//! answer every complete request (pipelined ones straight from the buffer),
//! and decide where the connection goes next: back to the readiness set,
//! to a stream thread, or closed.
//!
//! A parked connection owns no read buffer: workers read into their own
//! scratch buffer and a connection keeps only the bytes of a request still
//! arriving, so an idle keep-alive connection costs about a hundred bytes.
//!
//! The file runs past 600 lines because the states of one connection (head,
//! body, answer, outbox, linger) share its buffer and deadlines: split
//! apart, each piece would need the others' private fields. Its tests are
//! in `conn/tests.rs`.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::body_reader::{BodyEnd, BodyReader};
use super::codec::{Outcome, Refusal, RequestDecoder};
use super::handler::{handle_or_500, safe_refuse, Handler, HeadVerdict};
use super::limits::{BodyWindow, Limits, PeerSlot};
use super::registered::Registered;
use super::request::{Method, Request, Version};
use super::response::{Body, HeaderText, Producer, Response};
use super::upgrade::UpgradeHandler;
use super::write::{encode_head, status_allows_body, ResponseFraming};

/// Bytes a worker reads at most per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// Reads per readiness event before the connection goes back in line, so
/// one fast uploader cannot keep a worker to itself.
const READS_PER_TURN: usize = 8;
/// How long a closing connection waits for more of the client's bytes
/// before it is dropped (so the response is not lost to a reset): a
/// client still sending (the rest of an upload refused half way) extends
/// it with each read, up to `LINGER_TOTAL`, as nginx's `lingering_close`.
const LINGER: Duration = Duration::from_secs(2);
/// The longest a closing connection lingers, however busy its client.
const LINGER_TOTAL: Duration = Duration::from_secs(30);

/// A worker's read buffer. Its bytes stay initialised across reads, so a
/// read does not pay for zeroing 64 KiB first (it did: a tenth of the CPU
/// time per request); `filled` says how much of it holds input.
pub(crate) struct ReadBuffer {
    bytes: Vec<u8>,
    filled: usize,
}

impl ReadBuffer {
    pub(crate) fn new() -> ReadBuffer {
        ReadBuffer {
            bytes: vec![0; READ_CHUNK],
            filled: 0,
        }
    }

    /// The input held.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.filled == 0
    }

    pub(crate) fn clear(&mut self) {
        self.filled = 0;
    }

    /// Drops the first `count` bytes of input.
    pub(crate) fn consume(&mut self, count: usize) {
        let count = count.min(self.filled);
        self.bytes.copy_within(count..self.filled, 0);
        self.filled -= count;
    }

    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        self.spare(data.len())[..data.len()].copy_from_slice(data);
        self.filled += data.len();
    }

    /// Room for at least `at_least` more bytes after the input, to read into.
    pub(crate) fn spare(&mut self, at_least: usize) -> &mut [u8] {
        if self.bytes.len() - self.filled < at_least {
            self.bytes.resize(self.filled + at_least, 0);
        }
        &mut self.bytes[self.filled..]
    }

    /// Marks `count` bytes after the input (just read into `spare`) as input.
    pub(crate) fn advance(&mut self, count: usize) {
        self.filled = (self.filled + count).min(self.bytes.len());
    }
}

/// What a parked connection waits for, which decides its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Opened, nothing sent yet: idle rules (keep-alive timeout).
    New,
    /// Between requests: idle rules.
    Idle,
    /// A request head is arriving: the head deadline, from its first byte.
    Head,
    /// A body is arriving: it must progress every `body_timeout`, and meet
    /// each window's share of `min_body_rate`.
    Body,
    /// The client is not taking the response fast enough: `write_timeout`.
    Writing,
    /// Closing: reading and discarding until the client closes too.
    Lingering,
}

/// What happens when a parked connection's deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Close silently (idle, lingering, a client that stopped reading).
    Close,
    /// Answer 408, then close (a request that stopped arriving).
    Timeout,
}

/// Response bytes the socket would not take yet.
struct Outbox {
    head: Vec<u8>,
    body: Cow<'static, [u8]>,
    sent: usize,
    /// Close (lingering) once it is out, instead of reading on.
    then_close: bool,
}

/// A connection between requests or inside one.
pub(crate) struct Conn {
    /// The socket, in the poller for as long as the connection lives.
    pub(crate) socket: Registered<TcpStream>,
    peer: SocketAddr,
    decoder: RequestDecoder,
    /// Input not yet consumed: a partial head or chunk line, or pipelined
    /// requests waiting behind a response.
    pending: Vec<u8>,
    outbox: Option<Box<Outbox>>,
    served: usize,
    /// While a body arrives: when its current rate window began, and the
    /// body bytes received by then.
    body_window: BodyWindow,
    /// This connection's place in its peer's count, if the count is
    /// bounded; dropping the connection frees it.
    pub(crate) peer_slot: Option<PeerSlot>,
    pub(crate) wait: Wait,
    pub(crate) deadline: Instant,
    /// While lingering: when it must end at the latest.
    linger_ends: Option<Instant>,
    /// The last turn read the socket until it had nothing more (a read
    /// would block, or returned less than it asked). The readiness set
    /// reports a socket only when new bytes arrive (edge-triggered), so a
    /// connection parked without this must be served again, not waited on.
    pub(crate) drained: bool,
}

/// What the readiness set should wait for on a parked connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
}

/// A streamed response ready to run on a stream thread.
pub(crate) struct StreamJob {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(HeaderText, HeaderText)>,
    pub(crate) producer: StreamWork,
    pub(crate) framing: ResponseFraming,
}

/// What a stream thread runs: a body's producer, or an upgraded connection
/// (which never comes back to HTTP).
pub(crate) enum StreamWork {
    Produce(Producer),
    Upgrade(UpgradeHandler),
}

/// The response to a codec refusal. One decided once the head was parsed
/// (413, 417) goes to [`Handler::refuse_request`] with that head, so a
/// router's middleware runs around it (CORS headers, request id, access
/// log), and a 413 names the limit that applied; a refusal of bytes that
/// never became a head goes to [`Handler::refuse`]. Rendering that panics
/// falls back to plain text: a refusal must always go out.
pub(crate) fn render_refusal<H: Handler + ?Sized>(
    handler: &H,
    limits: &Limits,
    head: Option<&Request>,
    refusal: Refusal,
) -> Response {
    let Some(head) = head else {
        return safe_refuse(handler, refusal.status(), refusal.message());
    };
    let message: Cow<'static, str> = match refusal {
        Refusal::BodyTooLarge => match handler.body_limit(head.method(), head.path()) {
            Some(limit) => format!("the body exceeds this route's limit of {limit} bytes").into(),
            None => format!(
                "the body exceeds the server's limit of {} bytes",
                limits.max_body_bytes
            )
            .into(),
        },
        other => other.message().into(),
    };
    refuse_with_head(handler, head, refusal.status(), &message)
}

/// The handler's refusal of a request whose head it has (so a router's
/// middleware runs around it); plain text if rendering it panics.
fn refuse_with_head<H: Handler + ?Sized>(
    handler: &H,
    head: &Request,
    status: u16,
    message: &str,
) -> Response {
    catch_unwind(AssertUnwindSafe(|| {
        handler.refuse_request(head, status, message)
    }))
    .unwrap_or_else(|_| safe_refuse(handler, status, message))
}

/// A place among the handlers reading a streamed body, given back when
/// the handler is done.
struct StreamedBodySlot<'a>(&'a AtomicUsize);

impl<'a> StreamedBodySlot<'a> {
    /// A place, unless `bound` handlers already hold one.
    fn take(count: &'a AtomicUsize, bound: usize) -> Option<StreamedBodySlot<'a>> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                (held < bound).then_some(held + 1)
            })
            .ok()
            .map(|_| StreamedBodySlot(count))
    }
}

impl Drop for StreamedBodySlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What became of a request's body by the time the handler answered.
enum BodyState<'a> {
    /// Read whole before the handler ran.
    Read,
    /// Left on the wire (answered from the head).
    Unread,
    /// Read by the handler itself, holding a place among the handlers
    /// reading a streamed body; the `BodyEnd` says whether to its end.
    Streamed(&'a BodyEnd, StreamedBodySlot<'a>),
}

/// Where a connection goes after its turn on a worker.
pub(crate) enum Placement {
    Park(Box<Conn>, Interest),
    Close(Box<Conn>),
    Stream(Box<Conn>, StreamJob),
}

/// What a worker brings to a connection's turn.
pub(crate) struct Turn<'a, H> {
    pub(crate) handler: &'a H,
    pub(crate) limits: &'a Limits,
    /// True once shutdown has begun: every response closes its connection.
    /// Asked after the handler returns, so requests in flight when shutdown
    /// begins are answered with `Connection: close` too.
    pub(crate) closing: &'a dyn Fn() -> bool,
    /// Whether another stream may start (checked against `max_streams`).
    pub(crate) may_stream: &'a dyn Fn() -> bool,
    /// Handlers reading a streamed body now (against
    /// `max_streamed_bodies`).
    pub(crate) streamed_bodies: &'a AtomicUsize,
    pub(crate) scratch: &'a mut ReadBuffer,
    pub(crate) out: &'a mut Vec<u8>,
}

impl Conn {
    pub(crate) fn new(socket: Registered<TcpStream>, peer: SocketAddr, limits: &Limits) -> Conn {
        Conn {
            socket,
            peer,
            decoder: RequestDecoder::new(peer),
            pending: Vec::new(),
            outbox: None,
            served: 0,
            body_window: BodyWindow::default(),
            peer_slot: None,
            wait: Wait::New,
            deadline: Instant::now() + limits.idle_timeout,
            linger_ends: None,
            drained: false,
        }
    }

    /// Whether shutdown must serve this connection: a request is partly
    /// here, or an answer is still going out.
    pub(crate) fn has_request_in_flight(&self) -> bool {
        !self.pending.is_empty() || !self.decoder.in_head() || self.outbox.is_some()
    }

    pub(crate) fn expiry(&self) -> Expiry {
        match self.wait {
            Wait::Head | Wait::Body => Expiry::Timeout,
            _ => Expiry::Close,
        }
    }

    /// Sets what the connection waits for and its deadline.
    pub(crate) fn wait_for(&mut self, wait: Wait, limits: &Limits) {
        let now = Instant::now();
        self.deadline = match wait {
            Wait::New | Wait::Idle => now + limits.idle_timeout,
            // The head deadline runs from the head's first byte.
            Wait::Head if self.wait == Wait::Head => self.deadline,
            Wait::Head => now + limits.head_timeout,
            Wait::Body => self
                .body_window
                .deadline(now, self.decoder.body_received(), limits),
            Wait::Writing => now + limits.write_timeout,
            Wait::Lingering => now + LINGER,
        };
        self.wait = wait;
    }

    /// Gives a connection that has sent nothing a short grace to send its
    /// first bytes during shutdown.
    pub(crate) fn shorten_deadline(&mut self, until: Instant) {
        self.deadline = self.deadline.min(until);
    }

    /// Writes a refusal (best effort, without blocking) and starts closing.
    pub(crate) fn refuse_and_close<H: Handler>(
        mut self: Box<Self>,
        turn: &mut Turn<'_, H>,
        refusal: Refusal,
    ) -> Placement {
        let head = self.decoder.take_refused_head();
        let response = render_refusal(turn.handler, turn.limits, head.as_ref(), refusal);
        let framing = ResponseFraming {
            version: Version::Http11,
            head_only: false,
            keep_alive: false,
        };
        self.send(turn, response, framing);
        self.linger(turn.limits)
    }

    /// At its deadline, a request that stopped arriving gets its 408 (one
    /// write, best effort: the connection closes next either way) and the
    /// write side closes.
    pub(crate) fn refuse_late_request<H: Handler>(&self, handler: &H, out: &mut Vec<u8>) {
        let refusal = Refusal::Timeout;
        let response = safe_refuse(handler, refusal.status(), refusal.message());
        out.clear();
        let body = response.body().as_bytes().unwrap_or_default();
        encode_head(
            out,
            response.status(),
            &response.headers,
            Some(body.len()),
            ResponseFraming::keep_alive().closing(),
        );
        out.extend_from_slice(body);
        let _ = (&*self.socket).write(out);
        let _ = self.socket.shutdown(Shutdown::Write);
    }

    /// Half-closes and waits briefly for the client's remaining bytes, so a
    /// reset does not destroy the response it has not read yet.
    fn linger(mut self: Box<Self>, limits: &Limits) -> Placement {
        if self.outbox.is_some() {
            if let Some(outbox) = self.outbox.as_mut() {
                outbox.then_close = true;
            }
            self.wait_for(Wait::Writing, limits);
            return Placement::Park(self, Interest::Write);
        }
        let _ = self.socket.shutdown(Shutdown::Write);
        self.pending = Vec::new();
        self.wait_for(Wait::Lingering, limits);
        self.linger_ends = Some(Instant::now() + LINGER_TOTAL);
        Placement::Park(self, Interest::Read)
    }

    /// One turn on a worker, after the readiness set said the socket is
    /// ready.
    pub(crate) fn run<H: Handler>(mut self: Box<Self>, turn: &mut Turn<'_, H>) -> Placement {
        self.drained = false;
        if self.outbox.is_some() {
            match self.flush_outbox() {
                Ok(true) => {
                    let then_close = self.outbox.take().is_some_and(|o| o.then_close);
                    if then_close {
                        return self.linger(turn.limits);
                    }
                    // Answered in full: the connection is between requests
                    // again, under the idle deadline, not the write one.
                    // (Unless what went out was a `100 Continue`: then the
                    // body is next.)
                    if self.decoder.in_head() {
                        self.wait_for(Wait::Idle, turn.limits);
                    } else {
                        self.wait_for(Wait::Body, turn.limits);
                    }
                }
                Ok(false) => return Placement::Park(self, Interest::Write),
                Err(_) => return Placement::Close(self),
            }
        }
        if self.wait == Wait::Lingering {
            return self.discard_input();
        }

        turn.scratch.clear();
        turn.scratch.extend_from_slice(&self.pending);
        self.pending = Vec::new();
        // Requests already buffered (pipelined behind a stream or a slow
        // write) are answered before reading more.
        if !turn.scratch.is_empty() {
            self = match self.process(turn, false) {
                Ok(conn) => conn,
                Err(next) => return next,
            };
        }
        for _ in 0..READS_PER_TURN {
            let (read, asked, in_place) = match self.read_body_in_place(turn) {
                Some((read, asked)) => (read, asked, true),
                None => {
                    let room = turn.scratch.spare(READ_CHUNK);
                    let asked = room.len();
                    ((&*self.socket).read(room), asked, false)
                }
            };
            match read {
                Ok(0) => {
                    // The peer closed. A half-sent request gets no answer:
                    // nobody is left to read it.
                    return Placement::Close(self);
                }
                Ok(n) => {
                    if !in_place {
                        turn.scratch.advance(n);
                    }
                    self = match self.process(turn, true) {
                        Ok(conn) => conn,
                        Err(next) => return next,
                    };
                    // A short read emptied the socket's queue, unless the
                    // client's end of stream came with the bytes: that
                    // raises no further readiness, so a request still
                    // incomplete reads on to find it (or would-block).
                    if n < asked && turn.scratch.is_empty() && self.decoder.in_head() {
                        self.drained = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Placement::Close(self),
            }
        }
        if !turn.scratch.is_empty() {
            self.pending = turn.scratch.filled().to_vec();
        }
        if (turn.closing)() && !self.has_request_in_flight() {
            return self.linger(turn.limits);
        }
        Placement::Park(self, Interest::Read)
    }

    /// While a `Content-Length` body arrives with nothing ahead of it in the
    /// scratch buffer, reads it straight into the request's own body buffer
    /// (no copy from scratch), never past the body's end so a pipelined
    /// request behind it stays in the socket. `None` when that does not
    /// apply; else the read's result (its bytes already counted by the
    /// codec) and how many bytes it asked for. Feeding the codec afterwards
    /// (with the scratch buffer still empty) finishes the request once the
    /// body is whole.
    fn read_body_in_place<H>(
        &mut self,
        turn: &mut Turn<'_, H>,
    ) -> Option<(io::Result<usize>, usize)> {
        if !turn.scratch.is_empty() {
            return None;
        }
        let (body, remaining) = self.decoder.sized_body()?;
        let remaining = usize::try_from(*remaining).unwrap_or(usize::MAX);
        if body.capacity() == body.len() {
            body.reserve_exact(remaining.min(READ_CHUNK * READS_PER_TURN));
        }
        let asked = body.capacity() - body.len();
        if asked == 0 || asked > remaining {
            // Reading all the room could take the next request's bytes.
            return None;
        }
        let read = rustix::net::recv(
            &*self.socket,
            rustix::buffer::spare_capacity(body),
            rustix::net::RecvFlags::empty(),
        )
        .map(|(read, _)| read)
        .map_err(io::Error::from);
        if let Ok(n) = read {
            self.decoder.body_arrived(n);
        }
        Some((read, asked))
    }

    /// Feeds the scratch buffer to the codec and answers every complete
    /// request in it, in order. Unconsumed bytes (a partial head) stay at
    /// the front of the scratch buffer. `Err` carries where the connection
    /// goes instead of reading on.
    fn process<H: Handler>(
        mut self: Box<Self>,
        turn: &mut Turn<'_, H>,
        fresh_bytes: bool,
    ) -> Result<Box<Self>, Placement> {
        loop {
            let handler = turn.handler;
            // A verdict that panics reads the body as if none were given;
            // `handle` will meet the same bug and answer 500.
            let check_head = |head: &Request| {
                catch_unwind(AssertUnwindSafe(|| handler.check_head(head)))
                    .unwrap_or(HeadVerdict::ReadBody { limit: None })
            };
            let step =
                match self
                    .decoder
                    .feed_judged(turn.scratch.filled(), turn.limits, &check_head)
                {
                    Ok(step) => step,
                    Err(refusal) => return Err(self.refuse_and_close(turn, refusal)),
                };
            turn.scratch.consume(step.consumed);
            if self.decoder.take_continue() {
                // The decoder asks only when the head was the last byte
                // here, so nothing is left in the scratch buffer.
                self = self.send_continue(turn)?;
            }
            match step.outcome {
                Outcome::NeedMore => {
                    if !self.decoder.in_head() {
                        if fresh_bytes || self.wait != Wait::Body {
                            self.wait_for(Wait::Body, turn.limits);
                        }
                    } else if !turn.scratch.is_empty() {
                        self.wait_for(Wait::Head, turn.limits);
                    } else if self.served > 0 {
                        self.wait_for(Wait::Idle, turn.limits);
                    }
                    return Ok(self);
                }
                Outcome::Request(request) => {
                    self.served += 1;
                    // Bytes behind this request wait in `pending` while it is
                    // answered: a stream or a slow write may take the
                    // connection elsewhere first.
                    if !turn.scratch.is_empty() {
                        self.pending = turn.scratch.filled().to_vec();
                        turn.scratch.clear();
                    }
                    self.body_window = BodyWindow::default();
                    self = self.answer(turn, request, BodyState::Read)?;
                    turn.scratch.extend_from_slice(&self.pending);
                    self.pending = Vec::new();
                }
                Outcome::StreamBody(mut request, body) => {
                    // The handler reads the body from the socket itself,
                    // starting with what arrived with the head; what it
                    // finds behind the body comes back as `pending`.
                    self.served += 1;
                    self.body_window = BodyWindow::default();
                    let Some(reading) = StreamedBodySlot::take(
                        turn.streamed_bodies,
                        turn.limits.max_streamed_bodies,
                    ) else {
                        turn.scratch.clear();
                        return Err(self.refuse_streamed_body(turn, &request));
                    };
                    let Ok(socket) = self.socket.try_clone() else {
                        return Err(Placement::Close(self));
                    };
                    let received = turn.scratch.filled().to_vec();
                    turn.scratch.clear();
                    let (reader, end) =
                        BodyReader::from_socket(socket, received, body, turn.limits);
                    request.attach_body_reader(reader);
                    self = self.answer(turn, request, BodyState::Streamed(&end, reading))?;
                    turn.scratch.extend_from_slice(&self.pending);
                    self.pending = Vec::new();
                }
                Outcome::AnswerFromHead(request) => {
                    // The body (maybe megabytes, maybe never sent after a
                    // refused `100-continue`) is not read: the answer goes
                    // out now and the connection closes, lingering briefly
                    // so the client reads the answer rather than a reset.
                    self.served += 1;
                    turn.scratch.clear();
                    self.body_window = BodyWindow::default();
                    return match self.answer(turn, request, BodyState::Unread) {
                        Ok(conn) => Err(conn.linger(turn.limits)),
                        Err(next) => Err(next),
                    };
                }
            }
        }
    }

    /// Answers an upload over `max_streamed_bodies` 503 from its head,
    /// through the layers, and closes: its body is not read.
    fn refuse_streamed_body<H: Handler>(
        self: Box<Self>,
        turn: &mut Turn<'_, H>,
        head: &Request,
    ) -> Placement {
        let mut response = refuse_with_head(
            turn.handler,
            head,
            503,
            "too many uploads are in progress; try again later",
        );
        response.set_header("Retry-After", "1");
        let framing = ResponseFraming {
            version: head.version(),
            head_only: head.method() == Method::Head,
            keep_alive: false,
        };
        match self.send_and_continue(turn, response, framing) {
            Ok(conn) => conn.linger(turn.limits),
            Err(next) => next,
        }
    }

    /// Calls the handler and writes its answer. `Ok` means the connection
    /// reads on; `Err` carries where it goes instead. A body left on the
    /// wire (unread, or streamed and not read to its end) closes the
    /// connection after the answer.
    fn answer<H: Handler>(
        mut self: Box<Self>,
        turn: &mut Turn<'_, H>,
        request: Request,
        body: BodyState<'_>,
    ) -> Result<Box<Self>, Placement> {
        let head_only = request.method() == Method::Head;
        let version = request.version();
        let asked_keep_alive = turn.limits.keep_alive
            && request.keep_alive()
            && self.served < turn.limits.max_requests_per_connection;
        let handler = turn.handler;
        let response = handle_or_500(handler, request);
        let body_unread = match body {
            BodyState::Read => false,
            BodyState::Unread => true,
            // The handler is done with the body: its place is free
            // before the answer goes out.
            BodyState::Streamed(end, _reading) => match end.take_rest() {
                Some(rest) => {
                    self.pending = rest;
                    false
                }
                None => true,
            },
        };
        let keep_alive = asked_keep_alive && !(turn.closing)() && !body_unread;
        let framing = ResponseFraming {
            version,
            head_only,
            keep_alive,
        };
        if response.is_upgrade() {
            return self.upgrade(turn, response, framing);
        }
        if response.body().is_stream() && !head_only && status_allows_body(response.status()) {
            if !(turn.may_stream)() {
                let refusal =
                    safe_refuse(handler, 503, "too many streams are open; try again later");
                return self.send_and_continue(turn, refusal, framing);
            }
            let Response {
                status,
                headers,
                body,
            } = response;
            let Body::Stream(producer) = body else {
                unreachable!("checked is_stream above")
            };
            return Err(Placement::Stream(
                self,
                StreamJob {
                    status,
                    headers,
                    producer: StreamWork::Produce(producer),
                    framing,
                },
            ));
        }
        self.send_and_continue(turn, response, framing)
    }

    /// A `101 Switching Protocols`: the connection goes to a stream thread
    /// for good, as one of the `max_streams` (503 over the bound).
    fn upgrade<H: Handler>(
        self: Box<Self>,
        turn: &mut Turn<'_, H>,
        response: Response,
        framing: ResponseFraming,
    ) -> Result<Box<Self>, Placement> {
        if !(turn.may_stream)() {
            let refusal = safe_refuse(
                turn.handler,
                503,
                "too many streams are open; try again later",
            );
            return self.send_and_continue(turn, refusal, framing.closing());
        }
        let Response {
            status,
            headers,
            body,
        } = response;
        let Body::Upgrade(handler) = body else {
            unreachable!("checked is_upgrade above")
        };
        Err(Placement::Stream(
            self,
            StreamJob {
                status,
                headers,
                producer: StreamWork::Upgrade(handler),
                framing,
            },
        ))
    }

    /// The bytes the client sent behind its last request, taken for an
    /// upgraded connection's protocol.
    pub(crate) fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    fn send_and_continue<H>(
        mut self: Box<Self>,
        turn: &mut Turn<'_, H>,
        response: Response,
        framing: ResponseFraming,
    ) -> Result<Box<Self>, Placement> {
        let keep = self.send(turn, response, framing);
        if let Some(outbox) = self.outbox.as_mut() {
            outbox.then_close = !keep;
            self.wait_for(Wait::Writing, turn.limits);
            return Err(Placement::Park(self, Interest::Write));
        }
        if !keep {
            return Err(self.linger(turn.limits));
        }
        self.wait_for(Wait::Idle, turn.limits);
        Ok(self)
    }

    /// Writes `100 Continue` like any response bytes: what the socket does
    /// not take now waits in the outbox, and the connection waits to write
    /// it before it reads the body, so the interim response is never cut.
    fn send_continue<H>(
        mut self: Box<Self>,
        turn: &mut Turn<'_, H>,
    ) -> Result<Box<Self>, Placement> {
        const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
        match write_some(&self.socket, CONTINUE, &[], 0) {
            Ok(sent) if sent == CONTINUE.len() => Ok(self),
            Ok(sent) => {
                if !turn.scratch.is_empty() {
                    self.pending = turn.scratch.filled().to_vec();
                    turn.scratch.clear();
                }
                self.outbox = Some(Box::new(Outbox {
                    head: CONTINUE.to_vec(),
                    body: Cow::Borrowed(&b""[..]),
                    sent,
                    then_close: false,
                }));
                self.wait_for(Wait::Writing, turn.limits);
                Err(Placement::Park(self, Interest::Write))
            }
            Err(_) => {
                let _ = self.socket.shutdown(Shutdown::Both);
                Err(Placement::Close(self))
            }
        }
    }

    /// Encodes and writes a response without blocking; what the socket does
    /// not take goes to the outbox. Returns whether the connection stays open.
    fn send<H>(
        &mut self,
        turn: &mut Turn<'_, H>,
        mut response: Response,
        framing: ResponseFraming,
    ) -> bool {
        turn.out.clear();
        // A stream answered without running it (HEAD, 204/304) keeps the
        // framing a GET would get.
        let (body, body_len) = match response.take_body() {
            Body::Bytes(bytes) => {
                let len = bytes.len();
                (bytes, Some(len))
            }
            Body::Stream(_) | Body::Upgrade(_) => (Cow::Borrowed(&b""[..]), None),
        };
        let keep = encode_head(
            turn.out,
            response.status(),
            &response.headers,
            body_len,
            framing,
        );
        let body = if framing.head_only || !status_allows_body(response.status()) {
            Cow::Borrowed(&b""[..])
        } else {
            body
        };
        match write_some(&self.socket, turn.out, &body, 0) {
            Ok(sent) if sent == turn.out.len() + body.len() => {}
            Ok(sent) => {
                self.outbox = Some(Box::new(Outbox {
                    head: turn.out.clone(),
                    body,
                    sent,
                    then_close: !keep,
                }));
            }
            Err(_) => {
                // The client is gone; closing is all that is left.
                let _ = self.socket.shutdown(Shutdown::Both);
                return false;
            }
        }
        keep
    }

    /// Writes what the outbox holds; `Ok(true)` once it is all out.
    fn flush_outbox(&mut self) -> io::Result<bool> {
        let Some(outbox) = self.outbox.as_mut() else {
            return Ok(true);
        };
        outbox.sent = write_some(&self.socket, &outbox.head, &outbox.body, outbox.sent)?;
        Ok(outbox.sent == outbox.head.len() + outbox.body.len())
    }

    /// Reads and drops what a closing client still sends, until it closes.
    fn discard_input(mut self: Box<Self>) -> Placement {
        let mut sink = [0u8; 4096];
        for _ in 0..16 {
            match (&*self.socket).read(&mut sink) {
                Ok(0) => return Placement::Close(self),
                Ok(_) => {
                    // Still sending: give it another spell, within the cap.
                    let next = Instant::now() + LINGER;
                    self.deadline = self.linger_ends.map_or(next, |ends| next.min(ends));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = true;
                    return Placement::Park(self, Interest::Read);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Placement::Close(self),
            }
        }
        self.pending = Vec::new();
        Placement::Park(self, Interest::Read)
    }

    /// After a stream ended cleanly on a persistent connection: the socket
    /// comes back non-blocking, and says what to wait for. Requests
    /// pipelined behind the stream are already here, so waiting for new
    /// bytes would leave them unanswered: the connection then waits for
    /// writability instead, which is immediate, and its next turn answers
    /// them from `pending`.
    pub(crate) fn resume_after_stream(&mut self, limits: &Limits) -> io::Result<Interest> {
        self.socket.set_nonblocking(true)?;
        if self.pending.is_empty() {
            self.wait_for(Wait::Idle, limits);
            Ok(Interest::Read)
        } else {
            self.wait_for(Wait::Head, limits);
            Ok(Interest::Write)
        }
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }
}

/// Writes `head ++ body` from byte `sent` on, until done or the socket
/// would block. Returns the new count of bytes sent.
fn write_some(
    mut socket: &TcpStream,
    head: &[u8],
    body: &[u8],
    mut sent: usize,
) -> io::Result<usize> {
    let total = head.len() + body.len();
    while sent < total {
        let result = if sent < head.len() {
            socket.write_vectored(&[io::IoSlice::new(&head[sent..]), io::IoSlice::new(body)])
        } else {
            socket.write(&body[sent - head.len()..])
        };
        match result {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hardening_tests;
