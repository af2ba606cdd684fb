//! What a handler answers: a status, header fields and a [`Body`], either
//! fully buffered bytes or a stream produced on a thread of its own.
//!
//! The server adds the framing (`Content-Length` or chunked), `Date` and
//! `Connection` itself when it writes a response (see
//! [`write_response`](super::write_response)); any framing header a handler
//! sets is ignored, so a response always carries exactly one.

use std::borrow::Cow;
use std::fmt;
use std::io;

use super::sink::{SseSink, StreamSink};
use super::status::Status;
use super::upgrade::UpgradeHandler;

/// A header field name or value: static text costs no allocation.
pub type HeaderText = Cow<'static, str>;

/// A producer of a streamed body: it runs on a stream thread and writes to a
/// [`StreamSink`] until it returns. An error (the client went away, the
/// server is shutting down) ends the stream.
pub type Producer = Box<dyn FnOnce(&mut StreamSink) -> io::Result<()> + Send + 'static>;

/// A response body: bytes known up front, a stream, or a switch to another
/// protocol.
pub enum Body {
    /// A fully buffered body, sent with `Content-Length`.
    Bytes(Cow<'static, [u8]>),
    /// A streamed body: `Transfer-Encoding: chunked` on HTTP/1.1 (each sink
    /// write is one chunk, flushed at once), delimited by closing the
    /// connection on HTTP/1.0.
    Stream(Producer),
    /// A `101 Switching Protocols` answer (see [`Response::upgrade`]): the
    /// handler gets the raw connection after the head is written.
    Upgrade(UpgradeHandler),
}

impl Body {
    /// An empty body.
    pub const fn empty() -> Body {
        Body::Bytes(Cow::Borrowed(b""))
    }

    /// A streamed body whose producer writes raw bytes.
    pub fn stream<F>(producer: F) -> Body
    where
        F: FnOnce(&mut StreamSink) -> io::Result<()> + Send + 'static,
    {
        Body::Stream(Box::new(producer))
    }

    /// A streamed body of Server-Sent Events. The sink also sends the
    /// keep-alive comment on silent streams.
    pub fn sse<F>(producer: F) -> Body
    where
        F: FnOnce(&mut SseSink) -> io::Result<()> + Send + 'static,
    {
        Body::Stream(Box::new(move |sink: &mut StreamSink| {
            sink.enable_heartbeat();
            producer(&mut SseSink::new(sink))
        }))
    }

    /// The buffered bytes, or `None` for a stream.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes(bytes) => Some(bytes),
            Body::Stream(_) | Body::Upgrade(_) => None,
        }
    }

    /// Whether this body is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(self, Body::Stream(_))
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Body::Bytes({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Body::Stream(..)"),
            Body::Upgrade(_) => f.write_str("Body::Upgrade(..)"),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Bytes(Cow::Owned(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(Cow::Owned(text.into_bytes()))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::Bytes(Cow::Borrowed(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::Bytes(Cow::Borrowed(bytes))
    }
}

/// An HTTP response: status code, header fields in order, and a body.
#[derive(Debug)]
pub struct Response {
    /// Always a final code (200..=999): the constructors see to it.
    pub(crate) status: u16,
    pub(crate) headers: Vec<(HeaderText, HeaderText)>,
    pub(crate) body: Body,
}

impl Response {
    /// A response with this status, no headers and an empty body.
    ///
    /// Takes a [`Status`] or a plain `u16`. An interim (1xx) status cannot
    /// be a handler's answer: it becomes 500, logged (see [`Status`]).
    pub fn new(status: impl Into<Status>) -> Response {
        Response {
            status: status.into().final_code(),
            headers: Vec::new(),
            body: Body::empty(),
        }
    }

    /// A response with this status and body (an interim status becomes
    /// 500, as with [`new`](Response::new)). A 204 or 304 keeps its body
    /// here, but the server sends none.
    pub fn with_body(status: impl Into<Status>, body: impl Into<Body>) -> Response {
        Response {
            status: status.into().final_code(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// 200 with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<Body>) -> Response {
        Response::with_body(200, body).header("Content-Type", "text/plain; charset=utf-8")
    }

    /// 200 with a streamed `text/plain; charset=utf-8` body.
    pub fn stream<F>(producer: F) -> Response
    where
        F: FnOnce(&mut StreamSink) -> io::Result<()> + Send + 'static,
    {
        Response::with_body(200, Body::stream(producer))
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("X-Accel-Buffering", "no")
    }

    /// 200 `text/event-stream` with `Cache-Control: no-cache` and
    /// `X-Accel-Buffering: no` (so nginx does not buffer it), whose producer
    /// writes Server-Sent Events.
    pub fn sse<F>(producer: F) -> Response
    where
        F: FnOnce(&mut SseSink) -> io::Result<()> + Send + 'static,
    {
        Response::with_body(200, Body::sse(producer))
            .header("Content-Type", "text/event-stream")
            .header("Cache-Control", "no-cache")
            .header("X-Accel-Buffering", "no")
    }

    /// `101 Switching Protocols` to `protocol` (the `Upgrade` field's
    /// value): once the head is out, `on_upgrade` gets the connection on a
    /// stream thread of its own, counted against `max_streams` (over the
    /// bound the client gets 503 instead). Whether the request asked for
    /// this protocol is the caller's to check first; the WebSocket routes
    /// do it (see [`crate::ws`](mod@crate::ws)).
    pub fn upgrade<F>(protocol: &'static str, on_upgrade: F) -> Response
    where
        F: FnOnce(super::Upgraded) + Send + 'static,
    {
        Response {
            status: 101,
            headers: vec![(Cow::Borrowed("Upgrade"), Cow::Borrowed(protocol))],
            body: Body::Upgrade(Box::new(on_upgrade)),
        }
    }

    /// Whether this answer switches protocols (see [`Response::upgrade`]).
    pub fn is_upgrade(&self) -> bool {
        matches!(self.body, Body::Upgrade(_))
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Changes the status code (an interim status becomes 500, as with
    /// [`new`](Response::new)).
    pub fn set_status(&mut self, status: impl Into<Status>) {
        self.status = status.into().final_code();
    }

    /// Appends a header field (builder style). A field whose name is not a
    /// token (RFC 9110 §5.1: letters, digits and ``!#$%&'*+-.^_`|~``) or
    /// whose value holds a control byte other than horizontal tab (CR, LF,
    /// NUL, the rest of 0x01–0x1F, DEL; §5.5) is dropped when written,
    /// never sent; the first one dropped is logged as a warning.
    pub fn header(mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Appends a header field, keeping any existing field of that name.
    pub fn append_header(&mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Sets a header field, replacing every existing field of that name
    /// (compared case-insensitively).
    pub fn set_header(&mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
    }

    /// Removes every header field of that name.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The first value of a header field (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// All header fields in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Mutable access to the body.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
    }

    /// Takes the body out, leaving an empty one.
    pub fn take_body(&mut self) -> Body {
        std::mem::take(&mut self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interim_status_is_never_a_final_response() {
        assert_eq!(Response::new(Status::SWITCHING_PROTOCOLS).status(), 500);
        assert_eq!(Response::with_body(100, "x").status(), 500);
        assert_eq!(Response::new(Status::CREATED).status(), 201);
        let mut response = Response::new(204);
        response.set_status(103);
        assert_eq!(response.status(), 500);
        response.set_status(Status::ACCEPTED);
        assert_eq!(response.status(), 202);
    }

    #[test]
    fn set_header_replaces_case_insensitively() {
        let mut r = Response::new(200).header("content-type", "a");
        r.set_header("Content-Type", "b");
        assert_eq!(r.headers().count(), 1);
        assert_eq!(r.header_value("CONTENT-TYPE"), Some("b"));
    }
}
