//! Testing an app without a socket: [`TestClient`] sends requests to a
//! router (or any handler) in process and collects whole responses,
//! streamed ones included, as [`TestResponse`]s.
//!
//! This module owns the in-process round trip: building the [`Request`]
//! a real client's bytes would have become, answering it through the same
//! [`Handler`] path the server takes (`IntoHandler::into_server_handler`,
//! the body limit and its 413 through `Handler::body_limit` and
//! `Handler::refuse`, a panic's 500, `HEAD` and 204/304 without a body),
//! running a streamed body to its end, and reading the result back
//! (text, JSON, Server-Sent Events). It leaves the wire to the server:
//! no parsing, no framing, no deadlines, no keep-alive; the codec has its
//! own byte-level tests and `tests/` drives real sockets.
//!
//! ```
//! use sutegi::test::TestClient;
//! use sutegi::{get, post, routes, sse, Json, SseSink, Status};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User { id: u64, name: String }
//!
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

use crate::server::{Body, Handler, IntoHandler, Limits, Method, Request, StreamSink};

/// Sends requests to an app in process, through the same [`Handler`]
/// calls the server makes, and returns whole responses.
///
/// Build one per test (it is cheap) or share one: it is `Clone`, `Send`
/// and `Sync`, and every request is independent. Requests are answered on
/// the calling thread, streamed bodies included, so a stream that never
/// ends never returns: give such handlers a bound (a query parameter) in
/// tests.
///
/// What the server does around the handler, the client does too:
/// - the body limit: [`Limits::max_body_bytes`], or the route's own (as
///   `Handler::body_limit` says), with the server's 413 rendered by
///   `Handler::refuse` (so a `Router` answers it in its error shape);
///   likewise a target longer than [`Limits::max_target_bytes`] is a 414;
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
    pub fn send(mut self) -> TestResponse {
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
        let method = self.method;
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let body_len = self.body.len() as u64;
        let mut request = Request::new(method, &self.target, &headers, self.body);
        if let Some(peer) = self.peer {
            request.set_peer_addr(peer);
        }

        // The refusals the server makes before a handler runs, worded as
        // the server words them.
        let body_limit = handler
            .body_limit(method, request.path())
            .unwrap_or(client.limits.max_body_bytes);
        let response = if self.target.len() > client.limits.max_target_bytes {
            refuse(
                handler,
                414,
                "the request target is longer than the server accepts",
            )
        } else if body_len > body_limit {
            refuse(
                handler,
                413,
                "the request body is larger than the server accepts",
            )
        } else {
            match catch_unwind(AssertUnwindSafe(|| handler.handle(request))) {
                Ok(response) => response,
                Err(_) => refuse(handler, 500, "the server failed to answer this request"),
            }
        };
        TestResponse::collect(response, method == Method::Head)
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

/// `Handler::refuse`, with the server's plain fallback should it panic.
fn refuse(handler: &dyn Handler, status: u16, message: &str) -> crate::server::Response {
    catch_unwind(AssertUnwindSafe(|| handler.refuse(status, message))).unwrap_or_else(|_| {
        crate::server::Response::with_body(status, message.to_owned())
            .header("Content-Type", "text/plain; charset=utf-8")
    })
}

/// 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1).
fn status_allows_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// The framing headers the server writes itself, replacing a handler's.
fn is_framing_header(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "date",
    ]
    .iter()
    .any(|framing| name.eq_ignore_ascii_case(framing))
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
    fn collect(mut response: crate::server::Response, head_only: bool) -> TestResponse {
        let status = response.status();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .filter(|(name, _)| !is_framing_header(name))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let sends_body = !head_only && status_allows_body(status);
        let mut collected = TestResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            streamed: false,
            stream_error: None,
        };
        match response.take_body() {
            Body::Bytes(bytes) => {
                if status_allows_body(status) {
                    headers.push(("Content-Length".to_owned(), bytes.len().to_string()));
                }
                if sends_body {
                    collected.body = bytes.into_owned();
                }
            }
            Body::Stream(producer) => {
                collected.streamed = true;
                if status_allows_body(status) {
                    headers.push(("Transfer-Encoding".to_owned(), "chunked".to_owned()));
                }
                if sends_body {
                    let (body, error) = run_stream(producer);
                    collected.body = body;
                    collected.stream_error = error;
                }
            }
        }
        collected.headers = headers;
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
fn run_stream(producer: crate::server::Producer) -> (Vec<u8>, Option<io::Error>) {
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
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            Some(io::Error::other(format!(
                "the stream's producer panicked: {message}"
            )))
        }
    };
    let body = std::mem::take(&mut *collector.0.lock().unwrap_or_else(|p| p.into_inner()));
    (body, error)
}

/// One Server-Sent Event as a client reads it: the fields of one frame.
///
/// `data` joins the frame's `data:` lines with `\n`; `event` and `id` are
/// the frame's own (`None` when it had none: a browser would then use
/// `message` and the previous id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseEvent {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines, joined with `\n` (empty when there were none).
    pub data: String,
    /// The `retry:` field, in milliseconds.
    pub retry: Option<u64>,
}

/// Splits an event stream into frames as the HTML standard's parser does:
/// lines end with CRLF, LF or CR; a blank line ends a frame; `:` starts a
/// comment; one space after the field's colon is dropped.
fn parse_events(text: &str) -> Vec<SseEvent> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut events = Vec::new();
    let mut current = SseEvent::default();
    let mut has_fields = false;
    let mut has_data = false;
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            if has_fields {
                events.push(std::mem::take(&mut current));
            }
            has_fields = false;
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => current.event = Some(value.to_owned()),
            "data" => {
                if has_data {
                    current.data.push('\n');
                }
                current.data.push_str(value);
                has_data = true;
            }
            "id" if !value.contains('\0') => current.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                current.retry = value.parse().ok();
            }
            _ => continue,
        }
        has_fields = true;
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Response;
    use crate::{get, routes, sse, Form, Json, LastEventId, Path, Query, Router, SseSink, Status};
    use serde::Deserialize;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Person {
        name: String,
        age: u32,
    }

    fn app() -> Router {
        Router::new()
            .get("/hello", || "hello")
            .get("/users/{id}", |Path(id): Path<u64>| format!("user {id}"))
            .post("/people", |Json(person): Json<Person>| {
                (Status::CREATED, Json(person))
            })
            .put("/form", |Form(person): Form<Person>| {
                format!("{} is {}", person.name, person.age)
            })
            .patch("/echo", |body: Vec<u8>| body)
            .delete("/users/{id}", |Path(_id): Path<u64>| Status::NO_CONTENT)
            .get("/search", |q: Query<Person>| {
                format!("{}:{}", q.name, q.age)
            })
            .get("/whoami", |req: &Request| {
                format!("{} {}", req.header("host").unwrap_or("-"), req.peer_addr())
            })
            .get("/panic", || -> &'static str { panic!("on purpose") })
            .get("/framing", || {
                Response::text("four")
                    .header("Content-Length", "999")
                    .header("Connection", "close")
                    .header("X-Kept", "yes")
            })
    }

    #[test]
    fn each_method_reaches_its_route() {
        let client = TestClient::new(app());
        let hello = client.get("/hello").send();
        assert_eq!(hello.status(), 200);
        assert_eq!(hello.text(), "hello");
        assert_eq!(
            hello.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(hello.header("content-length"), Some("5"));
        assert_eq!(client.get("/users/12").send().text(), "user 12");
        assert_eq!(client.delete("/users/12").send().status(), 204);
        let echoed = client.patch("/echo").body(&b"\x00\xffraw"[..]).send();
        assert_eq!(echoed.body(), b"\x00\xffraw");
        let options = client.options("/users/1").send();
        assert_eq!(options.status(), 204);
        assert_eq!(options.header("allow"), Some("GET, HEAD, DELETE, OPTIONS"));
        assert_eq!(client.get("/nowhere").send().status(), 404);
        let not_allowed = client.put("/hello").send();
        assert_eq!(not_allowed.status(), 405);
        assert_eq!(not_allowed.header("allow"), Some("GET, HEAD, OPTIONS"));
    }

    #[test]
    fn json_form_and_query_bodies_are_encoded_with_their_types() {
        let client = TestClient::new(app());
        let ada = Person {
            name: "Ada L".into(),
            age: 36,
        };
        let created = client.post("/people").json(&ada).send();
        assert_eq!(created.status(), 201);
        assert_eq!(created.header("content-type"), Some("application/json"));
        assert_eq!(created.json::<Person>(), ada);
        let form = client.put("/form").form(&ada).send();
        assert_eq!(form.text(), "Ada L is 36");
        assert_eq!(client.get("/search").query(&ada).send().text(), "Ada L:36");
        assert_eq!(
            client
                .get("/search?name=x")
                .query(&[("age", 3)])
                .send()
                .text(),
            "x:3"
        );
        // A JSON body without its content type is what the extractor refuses.
        let untyped = client
            .post("/people")
            .body(r#"{"name":"a","age":1}"#)
            .send();
        assert_eq!(untyped.status(), 415);
        let error: serde_json::Value = untyped.json();
        assert_eq!(error["error"], "Unsupported Media Type");
    }

    #[test]
    fn requests_look_like_a_real_clients() {
        let client = TestClient::new(app());
        assert_eq!(client.get("/whoami").send().text(), "localhost 127.0.0.1:0");
        let peer: SocketAddr = "10.0.0.7:4321".parse().unwrap();
        let custom = client
            .get("/whoami")
            .header("Host", "api.example")
            .peer_addr(peer)
            .send();
        assert_eq!(custom.text(), "api.example 10.0.0.7:4321");
    }

    #[test]
    fn framing_headers_are_the_servers() {
        let response = TestClient::new(app()).get("/framing").send();
        assert_eq!(response.header("content-length"), Some("4"));
        assert_eq!(response.header_all("content-length").count(), 1);
        assert_eq!(response.header("connection"), None);
        assert_eq!(response.header("x-kept"), Some("yes"));
    }

    #[test]
    fn head_keeps_the_length_and_drops_the_body() {
        let response = TestClient::new(app()).head("/hello").send();
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-length"), Some("5"));
        assert!(response.body().is_empty());
    }

    #[test]
    fn a_panic_is_the_routers_500() {
        let response = TestClient::new(app()).get("/panic").send();
        assert_eq!(response.status(), 500);
        assert!(!response.text().contains("on purpose"));
        let error: serde_json::Value = response.json();
        assert_eq!(error["error"], "Internal Server Error");
        // A bare handler's panic is caught as the server catches it.
        let bare = TestClient::new(|_req: Request| -> Response { panic!("bare") });
        let response = bare.get("/").send();
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.text(),
            "Internal Server Error: the server failed to answer this request\n"
        );
    }

    #[test]
    fn the_body_limit_is_the_servers_and_the_routes() {
        let app = app().route(
            crate::Route::new(&[Method::Post], "/upload", |body: Vec<u8>| {
                body.len().to_string()
            })
            .body_limit(10),
        );
        let client = TestClient::new(app);
        let refused = client.post("/upload").body(vec![b'x'; 11]).send();
        assert_eq!(refused.status(), 413);
        let error: serde_json::Value = refused.json();
        assert_eq!(error["error"], "Content Too Large");
        assert_eq!(
            client.post("/upload").body(vec![b'x'; 10]).send().text(),
            "10"
        );
        // The server's default, 2 MiB, elsewhere.
        let big = vec![b'x'; 2 * 1024 * 1024 + 1];
        assert_eq!(client.patch("/echo").body(big).send().status(), 413);
        let tight = TestClient::new(|req: Request| Response::text(req.body().len().to_string()))
            .limits(Limits {
                max_body_bytes: 3,
                max_target_bytes: 16,
                ..Limits::default()
            });
        assert_eq!(tight.post("/").body("abc").send().text(), "3");
        let refused = tight.post("/").body("abcd").send();
        assert_eq!(refused.status(), 413);
        assert_eq!(
            refused.text(),
            "Content Too Large: the request body is larger than the server accepts\n"
        );
        assert_eq!(tight.get("/0123456789abcdef").send().status(), 414);
    }

    #[derive(Deserialize)]
    struct Ticks {
        n: u32,
    }

    #[sse("/events")]
    fn events(q: Query<Ticks>, last: Option<LastEventId>, sink: &mut SseSink) -> io::Result<()> {
        let start = last.and_then(|id| id.as_u64()).map_or(0, |k| k + 1);
        for i in start..u64::from(q.n) {
            sink.send(
                &crate::SseEvent::new()
                    .event("tick")
                    .id(i.to_string())
                    .data(i.to_string()),
            )?;
        }
        sink.comment("done")?;
        sink.data("line one\nline two")
    }

    #[get("/users/{id}")]
    fn user(id: u64) -> Json<serde_json::Value> {
        Json(serde_json::json!({ "id": id, "name": format!("user{id}") }))
    }

    #[test]
    fn sse_bodies_are_collected_and_parsed_into_frames() {
        let client = TestClient::new(routes![events, user]);
        let response = client.get("/events?n=3").send();
        assert_eq!(response.status(), 200);
        assert!(response.is_stream());
        assert!(response.stream_error().is_none());
        assert_eq!(response.header("transfer-encoding"), Some("chunked"));
        assert_eq!(response.header("cache-control"), Some("no-cache"));
        let frames = response.events();
        assert_eq!(frames.len(), 4, "{response:?}");
        for (i, frame) in frames[..3].iter().enumerate() {
            assert_eq!(frame.event.as_deref(), Some("tick"));
            assert_eq!(frame.id, Some(i.to_string()));
            assert_eq!(frame.data, i.to_string());
        }
        assert_eq!(frames[3].event, None);
        assert_eq!(frames[3].data, "line one\nline two");
        let resumed = client
            .get("/events?n=3")
            .header("Last-Event-ID", "1")
            .send()
            .events();
        assert_eq!(resumed[0].id.as_deref(), Some("2"));
        assert_eq!(
            client.get("/users/4").send().json::<serde_json::Value>()["name"],
            "user4"
        );
        assert_eq!(client.get("/events?n=x").send().status(), 400);
    }

    #[test]
    fn raw_streams_run_to_the_end_and_head_does_not_run_them() {
        static RAN: AtomicBool = AtomicBool::new(false);
        let app = Router::new()
            .get("/stream", || {
                Response::stream(|sink| {
                    RAN.store(true, Ordering::SeqCst);
                    for i in 0..3 {
                        writeln!(sink, "chunk {i}")?;
                    }
                    Ok(())
                })
            })
            .get("/broken", || {
                Response::stream(|sink| {
                    sink.send(b"partial")?;
                    panic!("mid-stream")
                })
            })
            .get("/failing", || {
                Response::stream(|sink| {
                    sink.send(b"partial")?;
                    Err(io::Error::other("the database went away"))
                })
            });
        let client = TestClient::new(app);
        let head = client.head("/stream").send();
        assert_eq!(head.status(), 200);
        assert!(head.body().is_empty());
        assert!(!RAN.load(Ordering::SeqCst), "HEAD ran the producer");
        let response = client.get("/stream").send();
        assert_eq!(response.text(), "chunk 0\nchunk 1\nchunk 2\n");
        assert!(RAN.load(Ordering::SeqCst));
        let broken = client.get("/broken").send();
        assert_eq!(broken.body(), b"partial");
        let error = broken.stream_error().unwrap().to_string();
        assert!(error.contains("mid-stream"), "{error}");
        let failing = client.get("/failing").send();
        assert_eq!(failing.body(), b"partial");
        assert!(failing.stream_error().is_some());
    }

    #[test]
    fn a_router_that_does_not_check_out_is_refused() {
        let conflicting = || Router::new().get("/a", || "1").get("/a", || "2");
        let error = TestClient::try_new(conflicting()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let panic = catch_unwind(AssertUnwindSafe(|| TestClient::new(conflicting())))
            .expect_err("TestClient::new must panic");
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("does not check out"), "{message}");
        assert!(message.contains("/a"), "{message}");
    }

    #[test]
    fn shutdown_reaches_the_handler() {
        struct Probe(Arc<AtomicBool>);
        impl Handler for Probe {
            fn handle(&self, _request: Request) -> Response {
                let down = self.0.load(Ordering::SeqCst);
                Response::new(if down { 503 } else { 200 })
            }
            fn shutdown_started(&self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let client = TestClient::new(Probe(Arc::default()));
        assert_eq!(client.get("/healthz").send().status(), 200);
        client.begin_shutdown();
        assert_eq!(client.get("/healthz").send().status(), 503);
    }

    #[test]
    #[should_panic(expected = "percent-encode it")]
    fn a_target_no_client_could_send_is_a_test_bug() {
        TestClient::new(app()).get("/a b").send();
    }

    #[test]
    #[should_panic(expected = "holds CR, LF or NUL")]
    fn a_header_no_client_could_send_is_a_test_bug() {
        let _ = TestClient::new(app())
            .get("/hello")
            .header("X-Bad", "a\r\nInjected: yes");
    }

    #[test]
    #[should_panic(expected = "needs a text/event-stream response")]
    fn events_of_a_plain_response_is_a_test_bug() {
        TestClient::new(app()).get("/hello").send().events();
    }

    #[test]
    fn event_stream_parsing_follows_the_html_standard() {
        let text = "\u{feff}: comment only\n\n\
                    event: a\r\nid: 1\r\ndata: x\r\ndata:y\r\n\r\n\
                    data\rretry: 1500\r\r\
                    id: bad\0id\ndata: z\nunknown: q\n\n\
                    data: unfinished";
        let frames = parse_events(text);
        assert_eq!(
            frames,
            vec![
                SseEvent {
                    event: Some("a".into()),
                    id: Some("1".into()),
                    data: "x\ny".into(),
                    retry: None,
                },
                SseEvent {
                    data: String::new(),
                    retry: Some(1500),
                    ..SseEvent::default()
                },
                SseEvent {
                    data: "z".into(),
                    ..SseEvent::default()
                },
            ]
        );
        assert!(parse_events("").is_empty());
        assert!(parse_events(": keep-alive\n\n").is_empty());
    }
}
