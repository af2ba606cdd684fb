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
//! Parked in the readiness set (holding no thread and no read buffer), on a
//! worker (a request being answered), or on a stream thread (a streamed
//! response being produced). A table of slots, keyed by the connection's
//! readiness key, says which; a worker takes a parked connection out before
//! serving it, so no two threads ever hold one. Workers are
//! leader/follower: one waits on the readiness set, and the worker that
//! learns a socket is ready serves it itself.
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
//! wants (a router's 404 or 405) is not read; the answer goes out at once,
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
//!    to stop: its next sink call fails, and it ends cleanly with its
//!    closing chunk so the client reconnects elsewhere.
//! 3. In-flight requests finish within [`Limits::shutdown_grace`]; what is
//!    still running then is abandoned and logged, and `serve` returns `Ok`.

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
mod write;

pub use codec::{parse_request, Incoming, Refusal};
pub use handler::{panic_message, Handler, HeadVerdict, IntoHandler};
pub use limits::Limits;
pub use pool::ThreadPool;
pub use request::{Extensions, Method, Request, UnknownMethod, Version};
pub use response::{Body, HeaderText, Producer, Response};
pub use serve::{serve, serve_until, Server};
pub use sink::{SseEvent, SseSink, StreamSink};
pub use status::{status_reason, Status};
pub use write::{write_response, ResponseFraming};

// What the in-process test client drives, so that it answers through the
// server's own codec and rules rather than copies of them.
pub(crate) use codec::{Outcome, RequestDecoder};
pub(crate) use handler::{handle_or_500, safe_refuse};
pub(crate) use write::{encode_head, status_allows_body};
