//! Testing an app without a socket: [`TestClient`] sends requests to a
//! router (or any handler) in process and collects whole responses,
//! streamed ones included, as [`TestResponse`]s.
//!
//! This module owns the in-process round trip, and adds no HTTP rule of
//! its own: the request is encoded as a client would send it and fed to
//! the server's own request decoder (so its limits and refusals, 413
//! against the route's body limit, 414, 431, answer as they would on a
//! socket, rendered by `Handler::refuse`), the handler is called as a
//! worker calls it (a panic is the same 500), and the response head is
//! written by the server's encoder (its framing headers, no body for
//! `HEAD`, 1xx, 204 and 304) and read back. A streamed body is run to its
//! end on the calling thread; [`TestResponse`] then reads text, JSON or
//! Server-Sent Events (parsed in `sse.rs`). Left to the server and its
//! socket suites in `tests/`: deadlines, keep-alive, and bytes arriving
//! in pieces. (The file runs a little past 600 lines: most of it is the
//! documented builder and reader methods of the client's public API.)
//!
//! ```
//! use sutegi::test::TestClient;
//! use sutegi::{get, post, routes, sse, Json, SseSink, Status};
//! use serde::{Deserialize, Serialize};
//!
//! # #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User { id: u64, name: String }
//!
//! # #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
//! #[derive(Deserialize)]
//! struct NewUser { name: String }
//!
//! #[get("/users/{id}")]
//! fn user(id: u64) -> Json<User> {
//!     Json(User { id, name: format!("user{id}") })
//! }
//!
//! #[post("/users")]
//! fn create(Json(new): Json<NewUser>) -> (Status, Json<User>) {
//!     (Status::CREATED, Json(User { id: 1, name: new.name }))
//! }
//!
//! #[sse("/events")]
//! fn events(sink: &mut SseSink) -> std::io::Result<()> {
//!     for i in 0..3 {
//!         sink.event("tick", &i.to_string())?;
//!     }
//!     Ok(())
//! }
//!
//! let client = TestClient::new(routes![user, create, events]);
//!
//! let response = client.get("/users/7").send();
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.json::<User>(), User { id: 7, name: "user7".into() });
//!
//! // A capture that does not parse is a 400 in the JSON error shape.
//! assert_eq!(client.get("/users/seven").send().status(), 400);
//!
//! let created = client.post("/users").json(&serde_json::json!({ "name": "ada" })).send();
//! assert_eq!(created.status(), 201);
//! assert_eq!(created.json::<User>().name, "ada");
//!
//! // Streams run to their end; `events()` reads the frames back.
//! let ticks = client.get("/events").send().events();
//! assert_eq!(ticks.len(), 3);
//! assert_eq!(ticks[2].event.as_deref(), Some("tick"));
//! assert_eq!(ticks[2].data, "2");
//! ```
//!
//! A handler is still a plain function, so a unit test can also call it
//! directly (`user(7)`); the client is for what the router adds: matching,
//! extraction, refusals, status codes and headers.

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::server::{
    encode_head, handle_or_500, panic_message, render_refusal, status_allows_body, Body,
    BodyReader, Handler, IntoHandler, Limits, Method, Outcome, Producer, RequestDecoder, Response,
    ResponseFraming, StreamSink,
};

/// Sends requests to an app in process, through the same [`Handler`]
/// calls the server makes, and returns whole responses.
///
/// Build one per test (it is cheap) or share one: it is `Clone`, `Send`
/// and `Sync`, and every request is independent. Requests are answered on
/// the calling thread, streamed bodies included, so a stream that never
/// ends never returns: give such handlers a bound (a query parameter) in
/// tests.
///
/// What the server does around the handler, the client does too, through
/// the server's own code:
/// - the request's bytes go through the server's decoder under the
///   client's [`Limits`]: a body over [`Limits::max_body_bytes`] or the
///   route's own limit (as `Handler::body_limit` says) is the server's 413,
///   a target longer than [`Limits::max_target_bytes`] its 414, each
///   rendered by `Handler::refuse` (so a `Router` answers in its error
///   shape);
/// - a panicking handler becomes the server's 500;
/// - `HEAD` responses, and 1xx/204/304 ones, carry no body and their
///   streams are not run;
/// - framing headers the handler set are dropped and `Content-Length` (or
///   `Transfer-Encoding: chunked` for a stream) is added as the server
///   would on HTTP/1.1. `Date` and `Connection` are not added.
///
/// Each request carries `Host: localhost` unless it sets its own, and
/// `Content-Length` when it has a body, as a real client's would.
#[derive(Clone)]
pub struct TestClient {
    handler: Arc<dyn Handler>,
    limits: Limits,
}

impl TestClient {
    /// A client for `app`: a [`Router`](crate::Router), a closure
    /// `Fn(Request) -> Response`, any [`IntoHandler`].
    ///
    /// # Panics
    ///
    /// When `app` does not check out (a `Router` with conflicting routes, a
    /// missing state, …), with the router's own message listing every
    /// problem: in a test, that is the failure to see. Use
    /// [`try_new`](TestClient::try_new) to inspect the error instead.
    #[track_caller]
    pub fn new(app: impl IntoHandler) -> TestClient {
        match TestClient::try_new(app) {
            Ok(client) => client,
            Err(error) => panic!("the app given to TestClient does not check out: {error}"),
        }
    }

    /// A client for `app`, or the error `serve` would have refused it with
    /// (for a `Router`, an `InvalidInput` error wrapping the
    /// [`RouterError`](crate::RouterError)).
    pub fn try_new(app: impl IntoHandler) -> io::Result<TestClient> {
        let handler = app.into_server_handler()?;
        Ok(TestClient {
            handler: Arc::new(handler),
            limits: Limits::default(),
        })
    }

    /// Applies these limits (the body and target bounds; the rest concern
    /// sockets and deadlines, which there are none of here). Default:
    /// [`Limits::default`], as `serve` uses.
    pub fn limits(mut self, limits: Limits) -> TestClient {
        self.limits = limits;
        self
    }

    /// Tells the app that shutdown began (`Handler::shutdown_started`), as
    /// the server does on SIGTERM: health routes answer 503 from then on.
    pub fn begin_shutdown(&self) {
        self.handler.shutdown_started();
    }

    /// A `GET` of `target` (a path with an optional query, already
    /// percent-encoded: it is sent as written).
    pub fn get(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Get, target)
    }

    /// A `POST` of `target`.
    pub fn post(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Post, target)
    }

    /// A `PUT` of `target`.
    pub fn put(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Put, target)
    }

    /// A `PATCH` of `target`.
    pub fn patch(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Patch, target)
    }

    /// A `DELETE` of `target`.
    pub fn delete(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Delete, target)
    }

    /// A `HEAD` of `target`: the response has the status and headers of a
    /// `GET`, and no body.
    pub fn head(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Head, target)
    }

    /// An `OPTIONS` of `target`.
    pub fn options(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::Options, target)
    }

    /// A request with any method. `target` is sent as written, so
    /// percent-encode what a real client would (`/files/a%20b`).
    ///
    /// # Panics
    ///
    /// [`send`](TestRequest::send) panics when `target` holds a byte no
    /// request line may carry (a space, a control character, non-ASCII).
    pub fn request(&self, method: Method, target: &str) -> TestRequest<'_> {
        TestRequest {
            client: self,
            method,
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            peer: None,
        }
    }
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A request being built: add headers and a body, then
/// [`send`](TestRequest::send) it.
#[must_use = "a TestRequest does nothing until `.send()`"]
pub struct TestRequest<'c> {
    client: &'c TestClient,
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    peer: Option<SocketAddr>,
}

impl TestRequest<'_> {
    /// Adds a header field (after any of the same name).
    ///
    /// # Panics
    ///
    /// When the name is not a token or the value holds CR, LF or NUL: no
    /// real client could send it, so the test is wrong.
    #[track_caller]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let is_token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        assert!(is_token, "`{name}` is not a valid header name");
        assert!(
            !value.contains(['\r', '\n', '\0']),
            "the value of header `{name}` holds CR, LF or NUL"
        );
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body (raw bytes; set the `Content-Type` yourself).
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = bytes.into();
        self
    }

    /// Sets the body to `value` as JSON and `Content-Type:
    /// application/json`.
    ///
    /// # Panics
    ///
    /// When `value` cannot be serialized as JSON.
    #[track_caller]
    pub fn json(self, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|error| panic!("the JSON body does not serialize: {error}"));
        self.content_type("application/json").body(body)
    }

    /// Sets the body to `value` form-encoded and `Content-Type:
    /// application/x-www-form-urlencoded`.
    ///
    /// # Panics
    ///
    /// When `value` cannot be form-encoded (it must be a struct or map of
    /// scalars).
    #[track_caller]
    pub fn form(self, value: &impl Serialize) -> Self {
        let body = serde_urlencoded::to_string(value)
            .unwrap_or_else(|error| panic!("the form body does not serialize: {error}"));
        self.content_type("application/x-www-form-urlencoded")
            .body(body)
    }

    /// Appends `value`, form-encoded, to the target's query string
    /// (`?` or `&` as needed).
    ///
    /// # Panics
    ///
    /// When `value` cannot be form-encoded.
    #[track_caller]
    pub fn query(mut self, value: &impl Serialize) -> Self {
        let query = serde_urlencoded::to_string(value)
            .unwrap_or_else(|error| panic!("the query does not serialize: {error}"));
        if !query.is_empty() {
            let separator = match self.target.find('?') {
                None => '?',
                Some(at) if at + 1 == self.target.len() || self.target.ends_with('&') => {
                    self.target.push_str(&query);
                    return self;
                }
                Some(_) => '&',
            };
            self.target.push(separator);
            self.target.push_str(&query);
        }
        self
    }

    /// The client address the handler sees (default `127.0.0.1:0`).
    pub fn peer_addr(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    fn content_type(mut self, value: &str) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        self.headers
            .push(("Content-Type".to_owned(), value.to_owned()));
        self
    }

    fn has_header(&self, wanted: &str) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
    }

    /// Sends the request and returns the whole response, a streamed body
    /// run to its end.
    ///
    /// # Panics
    ///
    /// When the target holds a byte a request line cannot carry.
    #[track_caller]
    pub fn send(self) -> TestResponse {
        let head_only = self.method == Method::Head;
        TestResponse::collect(self.respond(), head_only)
    }

    /// Encodes the request, decodes it with the server's decoder and calls
    /// the handler: the response as a worker would have it.
    #[track_caller]
    fn respond(mut self) -> Response {
        assert!(
            !self.target.is_empty() && self.target.bytes().all(|b| b.is_ascii_graphic()),
            "the target `{}` holds a byte a request line cannot carry (a space, a control \
             character, non-ASCII): percent-encode it",
            self.target
        );
        if !self.has_header("host") {
            self.headers
                .insert(0, ("Host".to_owned(), "localhost".to_owned()));
        }
        if !self.body.is_empty()
            && !self.has_header("content-length")
            && !self.has_header("transfer-encoding")
        {
            let length = self.body.len().to_string();
            self.headers.push(("Content-Length".to_owned(), length));
        }
        let client = self.client;
        let handler = &*client.handler;
        let wire = self.encode();
        let peer = self
            .peer
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        // The bytes go through the server's own decoder, so its limits and
        // refusals (414, 413 against the route's body limit, 431, …) are the
        // ones a real server would answer with, rendered by the handler.
        let mut decoder = RequestDecoder::new(peer);
        let check_head = |head: &crate::server::Request| handler.check_head(head);
        let response = match decoder.feed_judged(&wire, &client.limits, &check_head) {
            Ok(step) => match step.outcome {
                // A body the handler does not want (a chunked one to a
                // path with no route) is answered from the head, as the
                // server would.
                Outcome::Request(request) | Outcome::AnswerFromHead(request) => {
                    handle_or_500(handler, request)
                }
                // A route that streams its body reads it from the bytes
                // behind the head, through the server's own reader.
                Outcome::StreamBody(mut request, body) => {
                    let rest = wire[step.consumed..].to_vec();
                    let (reader, _) = BodyReader::from_bytes(rest, body);
                    request.attach_body_reader(reader);
                    handle_or_500(handler, request)
                }
                Outcome::NeedMore => panic!(
                    "the request is incomplete (a `Content-Length` longer than the body, or \
                     an unfinished chunked body): {self:?}"
                ),
            },
            Err(refusal) => {
                let head = decoder.take_refused_head();
                render_refusal(handler, &client.limits, head.as_ref(), refusal)
            }
        };
        response
    }

    /// The request as a client would put it on the wire.
    fn encode(&self) -> Vec<u8> {
        let mut wire = Vec::with_capacity(128 + self.body.len());
        wire.extend_from_slice(self.method.as_str().as_bytes());
        wire.push(b' ');
        wire.extend_from_slice(self.target.as_bytes());
        wire.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in &self.headers {
            wire.extend_from_slice(name.as_bytes());
            wire.extend_from_slice(b": ");
            wire.extend_from_slice(value.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&self.body);
        wire
    }
}

impl fmt::Debug for TestRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A whole response: status, headers as the server would send them
/// (without `Date` and `Connection`), and the body, a stream's collected
/// to its end.
///
/// The readers panic with the response in the message when the body is not
/// what they expect: in a test that is the failure to see.
pub struct TestResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    streamed: bool,
    stream_error: Option<io::Error>,
}

impl TestResponse {
    /// Reads a response back as the server would send it on HTTP/1.1: the
    /// head the server's encoder writes (its framing headers replacing the
    /// handler's, without `Date` and `Connection`), and a body only where
    /// the server sends one.
    fn collect(mut response: Response, head_only: bool) -> TestResponse {
        let status = response.status();
        let body = response.take_body();
        let framing = ResponseFraming::keep_alive().head_only(head_only);
        let mut head = Vec::with_capacity(256);
        encode_head(
            &mut head,
            status,
            &response.headers,
            body.as_bytes().map(<[u8]>::len),
            framing,
        );
        let mut collected = TestResponse {
            status,
            headers: read_head(&head),
            body: Vec::new(),
            streamed: body.is_stream(),
            stream_error: None,
        };
        if head_only || !status_allows_body(status) {
            return collected;
        }
        match body {
            Body::Bytes(bytes) => collected.body = bytes.into_owned(),
            Body::Stream(producer) => {
                let (body, error) = run_stream(producer);
                collected.body = body;
                collected.stream_error = error;
            }
            // A 101 carries no body, so this is never reached; an upgrade
            // is opened with `TestClient::websocket`.
            Body::Upgrade(_) => {}
        }
        collected
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header field in order, names as the handler spelled them.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body bytes (empty for `HEAD`, 204 and 304).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body bytes, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text.
    ///
    /// # Panics
    ///
    /// When the body is not UTF-8.
    #[track_caller]
    pub fn text(&self) -> &str {
        match std::str::from_utf8(&self.body) {
            Ok(text) => text,
            Err(error) => panic!("the body is not UTF-8 ({error}): {self:?}"),
        }
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Panics
    ///
    /// When the body is not JSON of that shape; the message shows the
    /// error and the response.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(error) => panic!(
                "the body is not JSON of type `{}` ({error}): {self:?}",
                std::any::type_name::<T>()
            ),
        }
    }

    /// The Server-Sent Events of a `text/event-stream` body, one per frame,
    /// in order, parsed as a browser does (see [`SseEvent`]). Comment-only
    /// frames (`: keep-alive`) are skipped, and so is an unfinished last
    /// frame (no blank line after it), which a browser would drop too.
    ///
    /// # Panics
    ///
    /// When the response's `Content-Type` is not `text/event-stream`, or
    /// the body is not UTF-8.
    #[track_caller]
    pub fn events(&self) -> Vec<SseEvent> {
        let content_type = self.header("content-type").unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        assert!(
            essence.eq_ignore_ascii_case("text/event-stream"),
            "events() needs a text/event-stream response: {self:?}"
        );
        parse_events(self.text())
    }

    /// Whether the handler answered with a streamed body.
    pub fn is_stream(&self) -> bool {
        self.streamed
    }

    /// The error a streamed body's producer ended with (or its panic), if
    /// it did not end cleanly. The server would have cut the stream there.
    pub fn stream_error(&self) -> Option<&io::Error> {
        self.stream_error.as_ref()
    }
}

impl fmt::Debug for TestResponse {
    /// Status, headers and the body as text (lossy, cut at 2 KiB), so a
    /// failing assertion shows what came back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.body[..self.body.len().min(2048)];
        let mut body = String::from_utf8_lossy(shown).into_owned();
        if shown.len() < self.body.len() {
            body.push_str(&format!("… ({} bytes in all)", self.body.len()));
        }
        f.debug_struct("TestResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &body)
            .field("stream_error", &self.stream_error)
            .finish()
    }
}

/// Runs a streamed body's producer to its end on this thread, collecting
/// what it writes.
fn run_stream(producer: Producer) -> (Vec<u8>, Option<io::Error>) {
    #[derive(Clone)]
    struct Collector(Arc<Mutex<Vec<u8>>>);

    impl Write for Collector {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(data);
            Ok(data.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    let collector = Collector(Arc::default());
    let mut sink = StreamSink::to_writer(collector.clone());
    let outcome = catch_unwind(AssertUnwindSafe(|| producer(&mut sink)));
    drop(sink);
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(panic) => Some(io::Error::other(format!(
            "the stream's producer panicked: {}",
            panic_message(&panic)
        ))),
    };
    let body = std::mem::take(&mut *collector.0.lock().unwrap_or_else(|p| p.into_inner()));
    (body, error)
}

/// The header fields of a head the server's encoder wrote, without `Date`
/// (it changes every second) and `Connection` (the client has no
/// connection to manage).
fn read_head(head: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(head);
    text.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(": "))
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("date") && !name.eq_ignore_ascii_case("connection")
        })
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

mod sse;
mod ws;
use sse::parse_events;
pub use ws::TestWebSocket;
#[cfg(test)]
mod tests;

pub use sse::SseEvent;
