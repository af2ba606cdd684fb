//! The access log: [`AccessLog`], one line per request (method, path,
//! status, body size, time, peer, request id), to standard error or a
//! writer of your own.
//!
//! It reads the id a [`RequestIds`](super::RequestIds) layer put in the
//! request ([`request_id`](super::request_id)); it formats nothing for
//! requests a router without this layer answers.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::server::{Body, Request, Response};

use super::contract::{Middleware, Next};
use super::request_id::RequestId;

/// Where the access log writes.
enum LogTarget {
    Stderr,
    Writer(Mutex<Box<dyn Write + Send>>),
}

/// One line per request, written when its response is ready:
///
/// ```text
/// GET /users/7 200 27 153µs 127.0.0.1:50312 id=5f1c2a9e0b7d4c31-42
/// ```
///
/// method, path (without the query, which may carry secrets), status, body
/// bytes (the `Content-Length`; `stream` for a streamed body), the time in
/// microseconds from this layer to the response (for a stream: until its
/// head is ready, not until it ends), the peer address, and the request id
/// when a [`RequestIds`](super::RequestIds) layer gave one (at any position in the chain).
///
/// Off by default: a router logs nothing until you add the layer. Add it
/// last (outermost) so it times and records what every other layer did,
/// preflights and short-circuits included. Characters outside visible
/// ASCII in the path are escaped, so a line is always one line.
///
/// ```
/// use sutegi::{middleware::AccessLog, Router};
/// let app = Router::new().get("/", || "hi").layer(AccessLog::new());
/// # app.into_handler().unwrap();
/// ```
pub struct AccessLog {
    target: LogTarget,
}

impl AccessLog {
    /// An access log to standard error, one `write` per line so lines
    /// from concurrent workers do not interleave.
    pub fn new() -> AccessLog {
        AccessLog {
            target: LogTarget::Stderr,
        }
    }

    /// An access log to `writer` (a file, a buffer in a test), behind a
    /// lock; each line is written with one `write_all` and flushed.
    pub fn to_writer(writer: impl Write + Send + 'static) -> AccessLog {
        AccessLog {
            target: LogTarget::Writer(Mutex::new(Box::new(writer))),
        }
    }

    fn write_line(&self, line: &str) {
        // A log that cannot be written must not fail the request.
        match &self.target {
            LogTarget::Stderr => {
                let _ = io::stderr().lock().write_all(line.as_bytes());
            }
            LogTarget::Writer(writer) => {
                let mut writer = writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let _ = writer.write_all(line.as_bytes());
                let _ = writer.flush();
            }
        }
    }
}

impl Default for AccessLog {
    fn default() -> AccessLog {
        AccessLog::new()
    }
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match self.target {
            LogTarget::Stderr => "stderr",
            LogTarget::Writer(_) => "writer",
        };
        f.debug_struct("AccessLog")
            .field("target", &target)
            .finish()
    }
}

impl Middleware for AccessLog {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        let start = Instant::now();
        let response = next.run(request);
        let line = access_line(request, &response, start.elapsed());
        self.write_line(&line);
        response
    }
}

/// The access log's line for one request, newline included.
pub(super) fn access_line(request: &Request, response: &Response, elapsed: Duration) -> String {
    use fmt::Write as _;
    let mut line = String::with_capacity(96);
    line.push_str(request.method().as_str());
    line.push(' ');
    push_escaped(&mut line, request.path());
    let _ = write!(line, " {} ", response.status());
    match response.body() {
        Body::Bytes(bytes) => {
            let _ = write!(line, "{}", bytes.len());
        }
        Body::Stream(_) => line.push_str("stream"),
        Body::Upgrade(_) => line.push_str("upgrade"),
    }
    let _ = write!(line, " {}µs {}", elapsed.as_micros(), request.peer_addr());
    if let Some(id) = request.extensions().get::<RequestId>() {
        line.push_str(" id=");
        push_escaped(&mut line, id.as_str());
    }
    line.push('\n');
    line
}

/// Appends `text` with anything outside visible ASCII escaped (`\x20`,
/// `\u{e9}`): the parser admits only visible ASCII in a target, but a
/// hand-built request may hold anything, and a log line must stay one line
/// of space-separated fields.
fn push_escaped(out: &mut String, text: &str) {
    use fmt::Write as _;
    for c in text.chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.extend(c.escape_unicode());
        }
    }
}
