//! Middleware: functions around a whole [`Router`](crate::Router), added
//! with [`Router::layer`](crate::Router::layer), and the three every small
//! API wants: an [`AccessLog`], [`Cors`] and request ids ([`RequestIds`],
//! readable by handlers as [`Extension<RequestId>`](crate::Extension)); plus
//! [`TrustedProxies`], which finds the client's address behind a proxy.
//!
//! A middleware is anything [`Middleware`]: a closure
//! `Fn(&mut Request, Next<'_>) -> Response` or a type of your own. It gets
//! the request before the router, decides whether to call
//! [`Next::run`] (the inner layers, then the router) or to answer itself
//! (an auth check's 401), and may change the response on its way out
//! (headers). It sees everything the router answers: routes, 404s, 405s,
//! the automatic `OPTIONS` 204, extractor refusals and handler panics as
//! 500s.
//!
//! ```
//! use sutegi::middleware::{AccessLog, Cors, RequestIds};
//! use sutegi::{Method, Next, Request, Response, Router};
//!
//! let app = Router::new()
//!     .get("/", || "hello")
//!     // Added first, so innermost: runs last on the way in.
//!     .layer(|request: &mut Request, next: Next<'_>| {
//!         if request.header("authorization") != Some("Bearer secret") {
//!             return Response::new(401).header("WWW-Authenticate", "Bearer");
//!         }
//!         next.run(request)
//!     })
//!     .layer(RequestIds::new())
//!     .layer(Cors::new().allow_origin("http://localhost:3000"))
//!     // Added last, so outermost: it also logs the 401s and the preflights.
//!     .layer(AccessLog::new());
//! # app.into_handler().unwrap();
//! ```
//!
//! # Order
//!
//! **The layer added last is the outermost**, as with axum's and tower's
//! `layer` and actix-web's `wrap`: in `.layer(a).layer(b)`, `b` sees the
//! request first and the response last. Read a chain of `.layer` calls
//! bottom-up to follow a request in.
//!
//! # What a middleware does not see
//!
//! The server's own refusals of requests that never became a [`Request`]
//! (a malformed head's 400, 408, 413, 414, 431, 501, 505) and the 503 of a
//! stream refused because too many are open are written without the
//! router, so no middleware runs for them (they still come in the router's
//! error shape). A streamed body (Server-Sent Events) is produced after the
//! middleware returned: a middleware sees and may change its status and
//! headers, never its body.
//!
//! # Cost
//!
//! A router with no layer runs no middleware code at all: no allocation
//! and no dynamic call beyond what routing already does. Each layer adds
//! one dynamic call and a `catch_unwind` (free unless a panic happens): a
//! panicking middleware is a 500 in the error shape, like a panicking
//! handler, and the layers outside it still run.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::respond::{render_error, Error};
use crate::router::Location;
use crate::server::{Body, HeaderText, Method, Request, Response};

// ------------------------------------------------------------ the contract

/// A function around the router: it receives the request and the rest of
/// the chain ([`Next`]), and answers.
///
/// Closures `Fn(&mut Request, Next<'_>) -> Response + Send + Sync +
/// 'static` are middleware (name the argument types:
/// `|request: &mut Request, next: Next<'_>| …`); a type of your own
/// implements this trait when it carries configuration, as [`Cors`] does.
///
/// The request is lent, not moved: a middleware passes the same request on
/// with `next.run(request)` and can still read it afterwards (the access
/// log reads the method, path and peer once the response is known, with no
/// copy). It can also replace it (`*request = …`) or attach values for the
/// handlers through [`Request::extensions_mut`], which they read with the
/// [`Extension<T>`](crate::Extension) extractor.
///
/// ```
/// use sutegi::middleware::Middleware;
/// use sutegi::{Extension, Next, Request, Response, Router};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// /// Answers 401 without a token; otherwise tells the handlers who asked.
/// struct Auth;
///
/// impl Middleware for Auth {
///     fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
///         let Some(token) = request.header("authorization") else {
///             return Response::new(401);
///         };
///         let user = User(token.trim_start_matches("Bearer ").to_owned());
///         request.extensions_mut().insert(user);
///         let mut response = next.run(request);
///         response.set_header("Cache-Control", "private");
///         response
///     }
/// }
///
/// let app = Router::new()
///     .get("/me", |Extension(user): Extension<User>| user.0)
///     .layer(Auth);
/// # app.into_handler().unwrap();
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Answers `request`, calling `next.run(request)` for what the inner
    /// layers and the router answer, or not at all to short-circuit.
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response;
}

impl<F> Middleware for F
where
    F: Fn(&mut Request, Next<'_>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        self(request, next)
    }
}

/// One middleware as a router holds it: shared (a `Router` is `Clone`),
/// with a name and the place it was added, for the log when it panics.
#[derive(Clone)]
pub(crate) struct Layer {
    middleware: Arc<dyn Middleware>,
    name: &'static str,
    location: Location,
}

impl Layer {
    pub(crate) fn new<M: Middleware>(middleware: M, location: Location) -> Layer {
        let full = std::any::type_name::<M>();
        Layer {
            middleware: Arc::new(middleware),
            name: if full.contains("{{closure}}") {
                "closure"
            } else {
                crate::extract::shorten_type_name(full)
            },
            location,
        }
    }
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.name, self.location)
    }
}

/// The rest of the chain, handed to a [`Middleware`]: the layers inside it,
/// then the router. Running it is how a middleware lets the request
/// through; dropping it unrun short-circuits.
pub struct Next<'a> {
    /// The layers still to run, outermost first.
    layers: &'a [Layer],
    /// What answers once every layer has run (the router's dispatch).
    endpoint: &'a (dyn Fn(&mut Request) -> Response + 'a),
}

impl<'a> Next<'a> {
    pub(crate) fn new(
        layers: &'a [Layer],
        endpoint: &'a (dyn Fn(&mut Request) -> Response + 'a),
    ) -> Next<'a> {
        Next { layers, endpoint }
    }

    /// Runs the inner layers and the router on `request` and returns their
    /// response. A panic in an inner layer comes back as a 500 in the
    /// router's error shape (the message goes to the log), so this layer
    /// still finishes its work.
    pub fn run(self, request: &mut Request) -> Response {
        let Some((layer, inner)) = self.layers.split_first() else {
            return (self.endpoint)(request);
        };
        let next = Next {
            layers: inner,
            endpoint: self.endpoint,
        };
        match catch_unwind(AssertUnwindSafe(|| layer.middleware.handle(request, next))) {
            Ok(response) => response,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(a panic payload that is not a string)");
                log::error!(
                    "middleware `{}` (added at {}) panicked on {} {}: {message}",
                    layer.name,
                    layer.location,
                    request.method(),
                    request.path(),
                );
                render_error(&Error::internal(
                    "the server failed to answer this request; the server log has the details",
                ))
            }
        }
    }
}

impl fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- AccessLog

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
/// when a [`RequestIds`] layer gave one (at any position in the chain).
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
fn access_line(request: &Request, response: &Response, elapsed: Duration) -> String {
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

// --------------------------------------------------------------------- CORS

/// Which origins [`Cors`] lets in.
#[derive(Clone, Debug)]
enum Origins {
    /// Exactly these (`scheme://host[:port]`, compared byte for byte).
    List(Vec<String>),
    /// Any origin.
    Any,
}

/// Which request headers a preflight may announce.
#[derive(Clone, Debug)]
enum AllowedHeaders {
    /// These, joined for `Access-Control-Allow-Headers` (empty: none).
    List(String),
    /// Whatever the preflight's `Access-Control-Request-Headers` asks.
    Mirror,
}

/// Cross-origin resource sharing: which other origins' pages may call this
/// API from a browser, with which methods and headers, with or without
/// credentials.
///
/// ```
/// use std::time::Duration;
/// use sutegi::{middleware::Cors, Method, Router};
///
/// let cors = Cors::new()
///     .allow_origin("http://localhost:3000")
///     .allow_methods(&[Method::Get, Method::Post])
///     .allow_headers(["Content-Type"])
///     .max_age(Duration::from_secs(600));
/// let app = Router::new().get("/json", || "{}").layer(cors);
/// # app.into_handler().unwrap();
/// ```
///
/// For a request whose `Origin` is allowed:
/// - a preflight (`OPTIONS` with `Origin` and
///   `Access-Control-Request-Method`) is answered here, without the
///   router: 204 with `Access-Control-Allow-Origin: <origin>`,
///   `Access-Control-Allow-Methods`, `Access-Control-Allow-Headers` (when
///   some are allowed), `Access-Control-Max-Age` (when set),
///   `Access-Control-Allow-Credentials: true` (when opted in) and
///   `Vary: Origin`. The lists are the configured ones whatever the
///   preflight asked: the browser compares them with what it wants.
/// - any other request goes to the router, and its response (a stream
///   too: only headers are touched) gets `Access-Control-Allow-Origin`,
///   `Vary: Origin` (merged into an existing `Vary`), and, when
///   configured, `Access-Control-Allow-Credentials` and
///   `Access-Control-Expose-Headers`.
///
/// A request without `Origin`, or from an origin not allowed, is answered
/// exactly as without this layer: no `Access-Control-*` header is added,
/// and a refused preflight reaches the router (the automatic `OPTIONS`
/// answer, 204 with `Allow`), so the browser refuses the call. Responses to
/// them carry no `Vary: Origin` either; a shared cache in front of the API
/// should key on `Origin` if it caches responses that CORS decorates.
///
/// With [`allow_any_origin`](Cors::allow_any_origin) the origin is
/// answered `*`, except with credentials: the Fetch standard forbids `*`
/// there, so the request's own origin is echoed instead.
#[derive(Clone, Debug)]
pub struct Cors {
    origins: Origins,
    /// `Access-Control-Allow-Methods`, joined.
    methods: String,
    headers: AllowedHeaders,
    /// `Access-Control-Expose-Headers`, joined (empty: not sent).
    expose: String,
    credentials: bool,
    /// `Access-Control-Max-Age` in seconds.
    max_age: Option<u64>,
}

impl Cors {
    /// A CORS layer that allows no origin yet, with the methods `GET`,
    /// `HEAD` and `POST`, no request headers beyond the CORS-safelisted
    /// ones, no credentials and no max-age. Add origins with
    /// [`allow_origin`](Cors::allow_origin) or
    /// [`allow_any_origin`](Cors::allow_any_origin).
    pub fn new() -> Cors {
        Cors {
            origins: Origins::List(Vec::new()),
            methods: "GET, HEAD, POST".to_owned(),
            headers: AllowedHeaders::List(String::new()),
            expose: String::new(),
            credentials: false,
            max_age: None,
        }
    }

    /// Allows one more origin, as browsers send it: `scheme://host` with
    /// the port when it is not the scheme's default
    /// (`http://localhost:3000`, `https://example.com`). Compared byte for
    /// byte with the request's `Origin`; a trailing `/` is dropped, since
    /// an `Origin` never has one. `"*"` means any origin.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Cors {
        let origin = origin.into();
        let origin = origin.trim().trim_end_matches('/');
        if origin == "*" {
            self.origins = Origins::Any;
        } else if let Origins::List(list) = &mut self.origins {
            if !list.iter().any(|known| known == origin) {
                list.push(origin.to_owned());
            }
        }
        self
    }

    /// Allows each of `origins` (see [`allow_origin`](Cors::allow_origin)).
    pub fn allow_origins<I, S>(self, origins: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        origins.into_iter().fold(self, Cors::allow_origin)
    }

    /// Allows every origin: a public API. Answered with
    /// `Access-Control-Allow-Origin: *`, or the request's origin when
    /// credentials are allowed.
    pub fn allow_any_origin(mut self) -> Cors {
        self.origins = Origins::Any;
        self
    }

    /// The methods a preflight is told (`Access-Control-Allow-Methods`),
    /// replacing the default `GET, HEAD, POST`.
    pub fn allow_methods(mut self, methods: &[Method]) -> Cors {
        self.methods = methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        self
    }

    /// The request headers a preflight is told
    /// (`Access-Control-Allow-Headers`), e.g. `["Content-Type",
    /// "Authorization"]`: what a page may send beyond the CORS-safelisted
    /// headers.
    pub fn allow_headers<I, S>(mut self, headers: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.headers = AllowedHeaders::List(join(headers));
        self
    }

    /// Allows whatever request headers a preflight asks for (its
    /// `Access-Control-Request-Headers` is echoed back).
    pub fn allow_any_header(mut self) -> Cors {
        self.headers = AllowedHeaders::Mirror;
        self
    }

    /// Response headers a page's script may read beyond the safelisted
    /// ones (`Access-Control-Expose-Headers`), e.g. `["X-Request-Id"]`.
    pub fn expose_headers<I, S>(mut self, headers: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.expose = join(headers);
        self
    }

    /// Opts in to credentialed requests (cookies, `Authorization`):
    /// `Access-Control-Allow-Credentials: true` on allowed responses, and
    /// the origin is always echoed, never `*`.
    pub fn allow_credentials(mut self, allow: bool) -> Cors {
        self.credentials = allow;
        self
    }

    /// How long a browser may cache a preflight's answer
    /// (`Access-Control-Max-Age`, whole seconds).
    pub fn max_age(mut self, max_age: Duration) -> Cors {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, or `None` when
    /// it is not allowed.
    fn allowed_origin(&self, origin: &str) -> Option<HeaderText> {
        match &self.origins {
            Origins::Any if !self.credentials => Some(Cow::Borrowed("*")),
            Origins::Any => Some(Cow::Owned(origin.to_owned())),
            Origins::List(list) if list.iter().any(|known| known == origin) => {
                Some(Cow::Owned(origin.to_owned()))
            }
            Origins::List(_) => None,
        }
    }

    fn preflight(&self, request: &Request, allow_origin: HeaderText) -> Response {
        let mut response = Response::new(204)
            .header("Access-Control-Allow-Origin", allow_origin)
            .header("Access-Control-Allow-Methods", self.methods.clone());
        let mut vary = "Origin";
        match &self.headers {
            AllowedHeaders::List(list) if list.is_empty() => {}
            AllowedHeaders::List(list) => {
                response.append_header("Access-Control-Allow-Headers", list.clone())
            }
            AllowedHeaders::Mirror => {
                // The answer now depends on what was asked.
                vary = "Origin, Access-Control-Request-Headers";
                if let Some(asked) = request.header("access-control-request-headers") {
                    if !asked.is_empty() {
                        response.append_header("Access-Control-Allow-Headers", asked.to_owned());
                    }
                }
            }
        }
        if self.credentials {
            response.append_header("Access-Control-Allow-Credentials", "true");
        }
        if let Some(seconds) = self.max_age {
            response.append_header("Access-Control-Max-Age", seconds.to_string());
        }
        response.append_header("Vary", vary);
        response
    }
}

impl Default for Cors {
    fn default() -> Cors {
        Cors::new()
    }
}

impl Middleware for Cors {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        // No `Origin`: not a CORS request, nothing to do (and nothing
        // allocated).
        let Some(origin) = request.header("origin") else {
            return next.run(request);
        };
        let Some(allow_origin) = self.allowed_origin(origin) else {
            return next.run(request);
        };
        if request.method() == Method::Options
            && request
                .header_bytes("access-control-request-method")
                .is_some()
        {
            return self.preflight(request, allow_origin);
        }
        let mut response = next.run(request);
        response.set_header("Access-Control-Allow-Origin", allow_origin);
        if self.credentials {
            response.set_header("Access-Control-Allow-Credentials", "true");
        }
        if !self.expose.is_empty() {
            response.set_header("Access-Control-Expose-Headers", self.expose.clone());
        }
        add_vary(&mut response, "Origin");
        response
    }
}

/// `a, b, c` from header names.
fn join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<String> = items
        .into_iter()
        .map(|item| item.as_ref().trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect();
    items.join(", ")
}

/// Adds `name` to the response's `Vary`, keeping what a handler put there
/// (one field, `Accept-Encoding, Origin`) and leaving `Vary: *` alone.
fn add_vary(response: &mut Response, name: &str) {
    let existing = response.header_value("vary").map(str::to_owned);
    match existing {
        None => response.append_header("Vary", name.to_owned()),
        Some(value) => {
            let present = value
                .split(',')
                .map(str::trim)
                .any(|item| item == "*" || item.eq_ignore_ascii_case(name));
            if !present {
                response.set_header("Vary", format!("{value}, {name}"));
            }
        }
    }
}

// --------------------------------------------------------------- request id

/// A request's id, as the [`RequestIds`] layer chose it: the client's
/// `X-Request-Id` when valid, else a fresh one. Handlers read it with
/// [`Extension<RequestId>`](crate::Extension) (`Option<Extension<…>>` if
/// the layer may be absent), to put it in their own logs or error reports.
///
/// ```
/// use sutegi::middleware::{RequestId, RequestIds};
/// use sutegi::{Extension, Router};
///
/// let app = Router::new()
///     .get("/", |Extension(id): Extension<RequestId>| format!("you are {id}"))
///     .layer(RequestIds::new());
/// # app.into_handler().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id's text: 1 to 128 visible ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RequestId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The longest `X-Request-Id` a client may choose; a longer one is
/// replaced (ids end up in log lines and other systems' headers).
const MAX_REQUEST_ID_LEN: usize = 128;

/// The request-id layer: every response carries `X-Request-Id`, and every
/// request a [`RequestId`] in its extensions.
///
/// The id is the request's own `X-Request-Id` when it sent one of 1 to 128
/// visible ASCII characters (`0x21`–`0x7E`; a proxy or a calling service
/// chose it, and keeping it lets logs be joined across systems), otherwise
/// a fresh one: `<16 hex digits>-<counter>`, the hex part drawn once per
/// process from std's randomly keyed hasher over the time and the process
/// id, the counter counting requests. So ids never repeat within a process
/// and are unlikely to collide across processes, without a random-number
/// crate. An id a handler set itself in the response is replaced, so the
/// header always matches the extension.
///
/// ```
/// use sutegi::{middleware::RequestIds, Handler, Method, Request, Router};
/// let app = Router::new().get("/", || "hi").layer(RequestIds::new()).into_handler().unwrap();
/// let echoed = app.handle(Request::new(Method::Get, "/", &[("X-Request-Id", "abc-1")], vec![]));
/// assert_eq!(echoed.header_value("x-request-id"), Some("abc-1"));
/// let fresh = app.handle(Request::new(Method::Get, "/", &[], vec![]));
/// assert!(fresh.header_value("x-request-id").is_some());
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RequestIds {}

impl RequestIds {
    /// The layer.
    pub fn new() -> RequestIds {
        RequestIds {}
    }
}

impl Middleware for RequestIds {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        let id = match request.header_bytes("x-request-id") {
            Some(sent) if is_valid_request_id(sent) => {
                // Visible ASCII is UTF-8.
                RequestId(Arc::from(std::str::from_utf8(sent).unwrap_or_default()))
            }
            _ => RequestId(Arc::from(fresh_request_id())),
        };
        request.extensions_mut().insert(id.clone());
        let mut response = next.run(request);
        response.set_header("X-Request-Id", id.as_str().to_owned());
        response
    }
}

/// 1 to 128 bytes, each visible ASCII (`0x21`–`0x7E`).
fn is_valid_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&value.len())
        && value.iter().all(|b| (0x21..=0x7E).contains(b))
}

/// `<process prefix>-<counter>`.
fn fresh_request_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        // `RandomState` is keyed from the operating system's randomness
        // once per thread: that is what makes two processes started in the
        // same nanosecond differ. Time and pid are mixed in for good
        // measure.
        let mut hasher = RandomState::new().build_hasher();
        SystemTime::now().hash(&mut hasher);
        std::process::id().hash(&mut hasher);
        hasher.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{prefix:016x}-{n}")
}

/// Takes the client's address from `X-Forwarded-For` when, and only
/// when, the request came from one of your proxies.
///
/// Behind nginx or an ingress, [`Request::peer_addr`] is the proxy. The
/// proxy appends the address it saw to `X-Forwarded-For`, but a client can
/// send that header too, so it is only believed from a trusted peer. Walking
/// the list from the right (the entries the proxies appended), the first
/// address that is not itself a trusted proxy is the client; the request's
/// peer address is set to it (port 0, as the header carries none). A
/// request from any other peer, or without a usable header, is left as it
/// came.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use sutegi::middleware::TrustedProxies;
/// use sutegi::{Handler, Method, Request, Router};
///
/// let app = Router::new()
///     .get("/ip", |req: &Request| req.peer_addr().ip().to_string())
///     .layer(TrustedProxies::new([IpAddr::V4(Ipv4Addr::LOCALHOST)]))
///     .into_handler()
///     .unwrap();
/// // Request::new comes from 127.0.0.1, the trusted proxy here.
/// let request = Request::new(Method::Get, "/ip", &[("X-Forwarded-For", "203.0.113.9, 127.0.0.1")], vec![]);
/// assert_eq!(app.handle(request).body().as_bytes(), Some(&b"203.0.113.9"[..]));
/// ```
#[derive(Clone, Debug)]
pub struct TrustedProxies {
    proxies: Vec<std::net::IpAddr>,
}

impl TrustedProxies {
    /// Trusts `X-Forwarded-For` from these peer addresses.
    pub fn new(proxies: impl IntoIterator<Item = std::net::IpAddr>) -> TrustedProxies {
        TrustedProxies {
            proxies: proxies.into_iter().collect(),
        }
    }

    fn trusts(&self, address: std::net::IpAddr) -> bool {
        self.proxies.contains(&address)
    }

    /// The client address the header names, reading it from the right.
    fn client_from(&self, request: &Request) -> Option<std::net::IpAddr> {
        let mut last_hop = None;
        for value in request
            .header_all("x-forwarded-for")
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let text = std::str::from_utf8(value).ok()?;
            for entry in text.rsplit(',').map(str::trim) {
                let address: std::net::IpAddr = entry.parse().ok()?;
                last_hop = Some(address);
                if !self.trusts(address) {
                    return Some(address);
                }
            }
        }
        // Every entry is one of our proxies: the leftmost is the closest
        // thing to a client there is.
        last_hop
    }
}

impl Middleware for TrustedProxies {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        if self.trusts(request.peer_addr().ip()) {
            if let Some(client) = self.client_from(request) {
                request.set_peer_addr(std::net::SocketAddr::new(client, 0));
            }
        }
        next.run(request)
    }
}

#[cfg(test)]
mod tests;
