//! The HTTP/1.1 server: connections, parsing, the worker pool, streaming
//! and graceful shutdown. It knows nothing of routes, extractors or JSON;
//! it serves any [`Handler`].
//!
//! The crate root re-exports what an application writes ([`Server`],
//! [`serve`], [`Request`], [`Response`], [`Status`], …); the wire-level
//! items (the codec's [`Refusal`], [`ResponseFraming`], [`Producer`],
//! [`HeaderText`], …) are named from here.
//!
//! # The rules the server keeps
//!
//! ## A connection is in exactly one place
//!
//! Parked in its seat's readiness set (holding no thread and no read
//! buffer), on a worker (a request being answered), or on a stream thread
//! (a streamed response being produced). Each seat's table of slots, keyed
//! by the connection's readiness key, says which; a worker takes a parked
//! connection out before serving it, so no two threads ever hold one.
//!
//! ## Seats: as many threads running request code as there are cores
//!
//! The server has one *seat* per core (the CPUs the affinity mask allows,
//! capped by a cgroup v2 CPU limit; [`Server::workers`] sets another
//! count). A seat is a readiness set of its own, the connections assigned
//! to it, and the batch of readiness its last wait returned; one thread
//! holds it at a time. An acceptor thread, which runs no handler, accepts
//! and hands each new connection to the next seat in turn.
//!
//! ```text
//!  client ──SYN──▶ acceptor thread ──(round-robin)──▶ seat k: add socket,
//!                                                     edge-triggered
//!  client ──request bytes──▶ seat k's epoll_wait returns a batch
//!        ▶ seat k's holder, for each ready connection in the batch:
//!            take it from the table (Parked → Busy)
//!            recv until dry ─▶ decode ─▶ handler ─▶ writev(head, body)
//!            park it: nothing to re-arm (edge-triggered); what the
//!            socket would not take waits in an outbox, and only then is
//!            writability asked for
//!        ▶ epoll_wait again once the batch is served
//! ```
//!
//! An ordinary keep-alive request thus costs one `recv` and one `writev`,
//! with no hand-off between threads and no re-arming: the wait that
//! learned of it is shared by the whole batch. A connection that was not
//! read dry in its turn, or that became ready while away on a thread, goes
//! back in its seat's batch, since the readiness set will not report it
//! again.
//!
//! Handlers may block. The supervisor (the thread that called `serve`)
//! watches the seats every millisecond while any is inside a turn: a turn
//! running past about 2 ms (a handler sleeping, or waiting on a database)
//! no longer counts, and its seat goes to a spare thread that carries on
//! with the batch. The blocked thread, once its handler returns, answers,
//! parks its connection and becomes a spare. Spares start lazily, are
//! bounded by [`Limits::max_blocked_workers`], and exit after 30 s unused.
//! A seat left without a thread keeps its requests waiting; one that waited
//! [`Limits::queue_timeout`] is answered 503 with `Retry-After`, in the
//! handler's refusal shape. Accepting never waits for a handler.
//!
//! Request bodies arrive between turns: a connection whose body is still
//! coming waits parked, and its handler runs once the body is whole. An
//! upload route is the exception ([`HeadVerdict::StreamBody`]): its handler
//! runs on the head and reads the body from the socket through a
//! [`BodyReader`], so a file is written out as it arrives instead of being
//! held in memory. Waiting for those bytes is blocking like any other, so
//! the seat goes to a spare; [`Limits::max_streamed_bodies`] bounds how
//! many uploads are read at once (503 past it).
//!
//! ## A socket leaves the poller before it closes
//!
//! Registering a socket with the poller is the server's only `unsafe`
//! operation: a closed descriptor's number can be reused by the kernel, and
//! the poller would report the new socket under the old key. Every
//! registered socket is therefore owned by a guard (`registered.rs`) that
//! deletes it from the poller when dropped, before the socket closes; no
//! path, a panic's unwinding included, can drop a registered socket
//! otherwise.
//!
//! ## Framing
//!
//! The server alone frames responses: it writes `Content-Length` for a
//! buffered body and `Transfer-Encoding: chunked` for a stream on HTTP/1.1
//! (the connection is reused after the closing chunk), closes the
//! connection to end a stream on HTTP/1.0, and adds `Date` and
//! `Connection`. Framing headers a handler set are dropped, so a response
//! carries exactly one framing. `HEAD`, 1xx, 204 and 304 responses carry no
//! body; their streams are not run. A header field whose name is not a
//! token or whose value holds a control byte other than tab is dropped
//! (the first one logged), so a handler cannot inject a field or a line.
//! `100 Continue` goes through the same outbox as every response, so a
//! full send buffer delays it but never cuts it.
//!
//! On the request side the codec follows RFC 9112 against smuggling:
//! `Transfer-Encoding` whose last coding is not `chunked`, `chunked` twice,
//! `Transfer-Encoding` on HTTP/1.0, a bare CR in the head, or conflicting
//! lengths are a 400; another coding before a final `chunked` is a 501.
//! Bare LF line ends are accepted in the head; chunk lines need CRLF. Every
//! refusal closes the connection.
//!
//! ## Limits
//!
//! Every bound is a [`Limits`] field, with the status a request that
//! crosses it gets (431 head, 414 target, 413 body, 408 head or body too
//! slow). When several are crossed, the first met while reading wins (a
//! 20 KiB target is a 414, not a 431). The head deadline runs from the
//! head's first byte; a connection that has sent nothing since it opened or
//! since its last response is idle, not slow. A body must progress every
//! `body_timeout` and keep to `min_body_rate` over each `body_rate_window`,
//! so a trickle cannot hold a connection forever. Before a body is read
//! the handler judges the head ([`Handler::check_head`]): a body nobody
//! wants (a router's 404 or 405, or a `Content-Type` the route's `Json`,
//! `Form` or `Multipart` refuses) is not read; the answer goes out at once,
//! instead of `100 Continue` if one was asked for, and the connection
//! closes. At `max_connections_per_peer` (off by default) a client
//! address's further connections are closed as they are accepted. At
//! `max_connections` the server stops accepting until one closes; out of file descriptors, it
//! pauses accepting briefly and logs once, never spinning. A client that
//! takes nothing of its response for `write_timeout` is dropped. A
//! handler's panic is a 500 whose body says nothing of it (the message goes
//! to the log), and the worker lives on.
//!
//! ## Shutdown
//!
//! [`serve`] on SIGINT or SIGTERM, and [`serve_until`] when its flag turns,
//! shut down in this order:
//!
//! 1. [`Handler::shutdown_started`] is called (health routes answer 503 from
//!    here), and the server keeps serving for [`Limits::drain_delay`] so a
//!    load balancer stops sending before the socket closes. From here every
//!    response closes its connection.
//! 2. What is already in the listen backlog is accepted, then the listener
//!    closes. Connections with a request in flight (on a worker, or any
//!    request bytes received or readable) are served; one that has sent
//!    nothing yet gets about half a second for its first bytes; the rest,
//!    idle since their last response, close now. Every open stream is told
//!    shutdown began (`is_shutting_down`, `is_closed`, `wait_closed`): a
//!    producer that asks may write a last event (see [`SseSink`]); one
//!    that never asks has its next sink call fail. Either way the stream
//!    ends cleanly with its closing chunk, so the client reconnects
//!    elsewhere.
//! 3. In-flight requests finish within [`Limits::shutdown_grace`]; what is
//!    still running then is abandoned and logged. The worker threads are
//!    woken and joined, stream threads waiting for another stream exit at
//!    once, and `serve` returns `Ok`.
//!
//! ## Streams notice the client leaving
//!
//! A stream's socket stays in its seat's readiness set while the producer
//! runs; when the client hangs up or resets, the seat tells the producer,
//! so [`SseSink::is_closed`] turns true within milliseconds even if the
//! producer has written nothing, and [`SseSink::wait_closed`] returns.

mod body_reader;
mod codec;
mod conn;
mod handler;
mod limits;
mod pool;
#[allow(unsafe_code)]
mod registered;
mod request;
mod response;
mod runners;
mod serve;
mod sink;
mod status;
mod upgrade;
mod write;

pub use body_reader::BodyReader;
pub use codec::{parse_request, Incoming, Refusal};
pub use handler::{panic_message, Handler, HeadVerdict, IntoHandler};
pub use limits::Limits;
pub use pool::ThreadPool;
pub use request::{Extensions, Method, Request, UnknownMethod, Version};
pub use response::{Body, HeaderText, Producer, Response};
pub use serve::{serve, serve_until, Server};
pub use sink::{SseEvent, SseSink, StreamSink};
pub use status::{status_reason, Status};
pub use upgrade::{UpgradeHandler, Upgraded};
pub use write::{write_response, ResponseFraming};

// What the in-process test client drives, so that it answers through the
// server's own codec and rules rather than copies of them.
pub(crate) use codec::{Outcome, RequestDecoder};
pub(crate) use conn::render_refusal;
pub(crate) use handler::handle_or_500;
pub(crate) use write::{encode_head, status_allows_body};
