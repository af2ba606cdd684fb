//! The server's resource bounds: sizes, deadlines and counts that keep one
//! client, or many, from taking the server down; and the count of open
//! connections per client address that enforces
//! [`Limits::max_connections_per_peer`]. Where each bound is checked is the
//! connection's and the acceptor's business.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// This alone does not bound a body in time: a client sending one byte
    /// every few seconds resets it forever. `min_body_rate` does.
    pub body_timeout: Duration,
    /// The slowest a request body may arrive, in bytes per second (408
    /// over, and the connection closes; default 512; 0 turns the check
    /// off). It is measured over windows of `body_rate_window`: from the
    /// end of the head, a body has one window to deliver
    /// `min_body_rate × body_rate_window` bytes (or the rest of itself, if
    /// less); each time it has, the next window starts. With the defaults a
    /// body has 20 s for each 10 KiB, so a client trickling a byte every
    /// two seconds is cut off 20 s after its head, while an upload at
    /// modem speed still gets through, however large.
    ///
    /// This is what nginx's `client_body_timeout` does not do (it times
    /// single reads, like `body_timeout`) and Go's `ReadTimeout` does too
    /// bluntly (one deadline for the whole request, which a large upload
    /// on a slow link cannot meet); Apache's `mod_reqtimeout` `MinRate` is
    /// the same idea.
    pub min_body_rate: u64,
    /// The window `min_body_rate` is measured over (default 20 s). Longer
    /// windows forgive a burst of congestion; shorter ones free a slot
    /// held by a slow client sooner.
    pub body_rate_window: Duration,
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
    /// Concurrent streaming responses (SSE, raw streams) and open
    /// WebSockets; a stream request or upgrade over the bound gets 503
    /// (default 4,096).
    pub max_streams: usize,
    /// Open connections; at the bound the server stops accepting until one
    /// closes (default 16,384).
    pub max_connections: usize,
    /// Open connections from one client address (default `None`: no
    /// bound). Without it, one client that opens connections and sends
    /// slowly can hold every slot up to `max_connections`. A connection
    /// over the bound is closed as soon as it is accepted, with no
    /// response (answering would mean reading its request, the very work
    /// the bound saves), and the first one is logged.
    ///
    /// Leave it off behind a reverse proxy or load balancer that connects
    /// from its own address: every client then shares that address, and
    /// the bound would cap the whole site. (IPv4 clients on a dual-stack
    /// listener are counted by their IPv4 address.)
    pub max_connections_per_peer: Option<usize>,
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
    /// Handlers reading a streamed request body at once: uploads to a
    /// `Multipart` route, which hold their thread while the body arrives
    /// (default 64). One more is answered 503 with `Retry-After: 1` from
    /// its head and its connection closes. Kept below
    /// `max_blocked_workers`, so clients trickling uploads cannot take
    /// every spare thread from the other handlers.
    pub max_streamed_bodies: usize,
    /// The largest WebSocket message, in bytes, after its fragments are
    /// joined; a larger one closes the socket with 1009 (default `None`:
    /// `max_body_bytes`).
    pub ws_max_message_bytes: Option<u64>,
    /// A WebSocket whose peer sent nothing for this long gets a ping
    /// (default 30 s).
    pub ws_ping_after: Duration,
    /// A pinged WebSocket that stays silent this much longer is closed with
    /// 1001 (default 10 s).
    pub ws_ping_timeout: Duration,
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
            min_body_rate: 512,
            body_rate_window: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            keep_alive: true,
            max_requests_per_connection: 1_000,
            max_streams: 4_096,
            max_connections: 16_384,
            max_connections_per_peer: None,
            sse_keep_alive: Duration::from_secs(15),
            drain_delay: Duration::ZERO,
            shutdown_grace: Duration::from_secs(20),
            max_blocked_workers: 256,
            queue_timeout: Duration::from_secs(10),
            max_streamed_bodies: 64,
            ws_max_message_bytes: None,
            ws_ping_after: Duration::from_secs(30),
            ws_ping_timeout: Duration::from_secs(10),
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

/// A body's progress under the rate rule of [`Limits::min_body_rate`]:
/// when its current window began and the bytes received by then. Kept by
/// whoever reads a body (a connection between turns, a
/// [`BodyReader`](super::BodyReader) inside a handler) so both apply the
/// same deadline.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BodyWindow(Option<(Instant, u64)>);

impl BodyWindow {
    /// The deadline of a body that made progress at `now`, with `received`
    /// bytes so far: the next `body_timeout`, but no later than the end of
    /// the current rate window. A window whose quota
    /// (`min_body_rate × body_rate_window` bytes) is met ends early and the
    /// next one starts, so passing this deadline always means the body
    /// stalled or fell below the rate.
    pub(crate) fn deadline(&mut self, now: Instant, received: u64, limits: &Limits) -> Instant {
        let progress = now + limits.body_timeout;
        if limits.min_body_rate == 0 {
            return progress;
        }
        let quota =
            ((limits.min_body_rate as f64 * limits.body_rate_window.as_secs_f64()) as u64).max(1);
        let window = match self.0 {
            Some((start, at_start)) if received.saturating_sub(at_start) < quota => {
                (start, at_start)
            }
            _ => (now, received),
        };
        self.0 = Some(window);
        progress.min(window.0 + limits.body_rate_window)
    }
}

/// Open connections per client address, kept only while
/// [`Limits::max_connections_per_peer`] is set.
#[derive(Clone, Default)]
pub(crate) struct PeerCounts {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in its address's count; dropping it (with the
/// connection, however it ends) gives the place back.
pub(crate) struct PeerSlot {
    counts: PeerCounts,
    address: IpAddr,
}

impl PeerCounts {
    /// A place for one more connection from `address`, or `None` when it
    /// already has `bound` open.
    pub(crate) fn take(&self, address: IpAddr, bound: usize) -> Option<PeerSlot> {
        // An IPv4 client on a dual-stack listener arrives as
        // `::ffff:a.b.c.d`: count it with its IPv4 connections.
        let address = address.to_canonical();
        let mut counts = self.lock();
        let count = counts.entry(address).or_insert(0);
        if *count >= bound {
            if *count == 0 {
                counts.remove(&address);
            }
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            counts: self.clone(),
            address,
        })
    }

    /// Open connections counted for `address`.
    #[cfg(test)]
    pub(crate) fn count(&self, address: IpAddr) -> usize {
        self.lock()
            .get(&address.to_canonical())
            .copied()
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // A panic cannot leave a count half-updated: go on with it.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gets_its_bound_and_a_closed_connection_gives_its_place_back() {
        let counts = PeerCounts::default();
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let first = counts.take(v4, 2).unwrap();
        let second = counts.take(mapped, 2).unwrap();
        assert!(
            counts.take(v4, 2).is_none(),
            "the mapped address counts as IPv4"
        );
        assert!(
            counts.take(other, 2).is_some(),
            "other peers are not affected"
        );
        drop(first);
        assert_eq!(counts.count(v4), 1);
        let third = counts.take(v4, 2).unwrap();
        drop((second, third));
        assert_eq!(counts.count(v4), 0);
        assert!(
            counts.counts.lock().unwrap().is_empty(),
            "no entry left behind"
        );
        assert!(counts.take(v4, 0).is_none());
        assert!(counts.counts.lock().unwrap().is_empty());
    }
}
