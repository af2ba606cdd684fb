//! The server's resource bounds: sizes, deadlines and counts that keep one
//! client, or many, from taking the server down.

use std::time::Duration;

/// Resource bounds of a server. Every field is public so a program can
/// start from [`Limits::default`] and change what it needs:
///
/// ```
/// let limits = sutegi::Limits { max_body_bytes: 64 << 20, ..sutegi::Limits::default() };
/// assert_eq!(limits.max_head_bytes, 16 * 1024);
/// ```
///
/// The defaults are those of production servers (nginx, hyper): a request
/// that crosses a bound is refused with the status named on each field, and
/// the connection is closed.
/// (Not `#[non_exhaustive]`, so that struct-update syntax works from other
/// crates; new bounds may still be added before 1.0.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Request line plus header fields, in bytes (431 over; default 16 KiB,
    /// at most 64 KiB).
    pub max_head_bytes: usize,
    /// Number of header fields (431 over; default 100).
    pub max_headers: usize,
    /// Request target length in bytes (414 over; default 8 KiB).
    pub max_target_bytes: usize,
    /// Request body in bytes (413 over; default 2 MiB). Decided from
    /// `Content-Length` before any of the body is read; counted as it arrives
    /// when chunked. A handler can raise it per route (see
    /// `Handler::body_limit`).
    pub max_body_bytes: u64,
    /// The whole request head must arrive within this time from its first
    /// byte (408 over; default 10 s). It is a deadline, not a per-read
    /// timeout, so a client sending a byte a second cannot hold on.
    pub head_timeout: Duration,
    /// A body must make progress at least this often (408 over; default 10 s).
    pub body_timeout: Duration,
    /// An idle keep-alive connection is closed after this (default 60 s).
    pub idle_timeout: Duration,
    /// A client that reads nothing of its response for this long is dropped
    /// (default 30 s), so a slow reader cannot hold a worker or a stream.
    pub write_timeout: Duration,
    /// Whether connections persist between requests (default `true`).
    /// `false` gives every response `Connection: close`.
    pub keep_alive: bool,
    /// Requests served on one connection before it is closed (default 1,000).
    pub max_requests_per_connection: usize,
    /// Concurrent streaming responses (SSE, raw streams); a stream request
    /// over the bound gets 503 (default 4,096).
    pub max_streams: usize,
    /// Open connections; at the bound the server stops accepting until one
    /// closes (default 16,384).
    pub max_connections: usize,
    /// A stream silent for this long gets a `: keep-alive` comment (SSE
    /// only) so proxies do not cut it (default 15 s).
    pub sse_keep_alive: Duration,
    /// After shutdown begins, how long the server keeps accepting and
    /// serving while health routes answer 503 (default 0; a few seconds in
    /// a pod, so the load balancer stops routing first).
    pub drain_delay: Duration,
    /// How long in-flight requests get to finish once the listener is
    /// closed (default 20 s, below Kubernetes' 30 s termination grace).
    pub shutdown_grace: Duration,
    /// Threads that may sit inside blocking handlers beyond the seats
    /// (default 256). A thread inside one handler for more than about two
    /// milliseconds gives its seat to a spare so the requests behind it go
    /// on; past this bound a seat whose thread blocked waits for one to
    /// come back (see `queue_timeout`). Each such thread costs its stack.
    pub max_blocked_workers: usize,
    /// How long a ready request may wait for a thread when every seat's
    /// thread is blocked and no spare is left (default 10 s); past it the
    /// request is answered 503 with `Retry-After: 1` and its connection
    /// closes, so no request waits without bound.
    pub queue_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_target_bytes: 8 * 1024,
            max_body_bytes: 2 * 1024 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            keep_alive: true,
            max_requests_per_connection: 1_000,
            max_streams: 4_096,
            max_connections: 16_384,
            sse_keep_alive: Duration::from_secs(15),
            drain_delay: Duration::ZERO,
            shutdown_grace: Duration::from_secs(20),
            max_blocked_workers: 256,
            queue_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The head bound actually applied: request head offsets are kept as
    /// `u16`, so anything above 64 KiB is clamped.
    pub(crate) fn head_bytes(&self) -> usize {
        self.max_head_bytes.clamp(64, u16::MAX as usize)
    }
}
