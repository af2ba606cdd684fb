//! sutegi: a small, synchronous HTTP/1.1 web framework on `std::net`.
//!
//! Plain functions become routes with an attribute, `routes![…]` collects
//! them into a [`Router`], and [`serve`] runs it on a fixed pool of worker
//! threads. No async runtime: a handler is an ordinary function that may
//! block on a database or a file, and a long stream (Server-Sent Events, an
//! LLM answer) runs on a thread of its own without holding a worker.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use sutegi::{get, post, routes, sse, Json, Query, SseSink, State, Status};
//!
//! # #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
//! #[derive(Serialize)]
//! struct User { id: u64, name: String }
//! # #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
//! #[derive(Deserialize)]
//! struct NewUser { name: String }
//! # #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
//! #[derive(Deserialize)]
//! struct Ticks { n: u32 }
//!
//! #[get("/users/{id}")]
//! fn user(id: u64) -> Json<User> {                   // `{id}` binds the argument named `id`
//!     Json(User { id, name: format!("user{id}") })
//! }
//!
//! #[post("/users")]
//! fn create(Json(new): Json<NewUser>, ids: State<AtomicU64>) -> (Status, Json<User>) {
//!     let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
//!     (Status::CREATED, Json(User { id, name: new.name }))
//! }
//!
//! #[sse("/events")]
//! fn events(q: Query<Ticks>, sink: &mut SseSink) -> std::io::Result<()> {
//!     for i in 0..q.n {
//!         sink.event("tick", &i.to_string())?;
//!     }
//!     Ok(())
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let app = routes![user, create, events].with_state(AtomicU64::new(0));
//!     sutegi::serve("127.0.0.1:8080", app)
//! }
//! ```
//!
//! # Routes
//!
//! The attributes [`get`], [`post`], [`put`], [`patch`], [`delete`],
//! [`head`], [`options`], [`route`] (several methods:
//! `#[route("/x", method = "GET", method = "POST")]`), [`sse`] and [`ws`](macro@ws)
//! (a WebSocket, see the [`ws` module](mod@ws)) leave the
//! function as it was, callable from a unit test, and add a companion item
//! of the same name that [`routes!`] collects. Each takes an optional
//! `body_limit = "64MiB"` (units `B`, `KiB`, `MiB`, `GiB`) that raises the
//! server's request body limit for that route alone.
//!
//! Paths use [matchit]'s syntax: `{name}` captures one segment, `{*rest}`
//! the rest of the path (at least one character), `{{` and `}}` are literal
//! braces. An argument named like a capture receives it, percent-decoded
//! (`%2F` is a `/` inside the value, never a separator) and parsed with
//! `FromStr`; a value that does not parse is a 400 naming the capture.
//! Routing matches the raw path before decoding, and ignores the query.
//!
//! Routes can also be closures, which read captures through [`Path`]:
//!
//! ```
//! use sutegi::{Path, Router};
//! let app = Router::new()
//!     .get("/", || "home")
//!     .get("/users/{id}", |Path(id): Path<u64>| format!("user {id}"));
//! # app.into_handler().unwrap();
//! ```
//!
//! Every `GET` route answers `HEAD` too (the server sends the head only). A
//! path that no route matches is a 404; one that matches with other
//! methods is a 405 with an `Allow` header (`Allow: GET, HEAD, OPTIONS`);
//! an `OPTIONS` no route claims gets a 204 with that `Allow`.
//!
//! # Extractors
//!
//! Every argument that is not a capture is an extractor, built from the
//! request before the handler runs (see [`FromRequest`]):
//!
//! | extractor | reads | refuses with |
//! | --- | --- | --- |
//! | [`Query<T>`] | the query string, form-decoded | 400 naming the parameter (missing, given twice, not parsing) |
//! | [`Json<T>`] | a JSON body | 415 without `Content-Type: application/json`, 400 not JSON, 422 wrong shape (naming the field) |
//! | [`Form<T>`] | an `application/x-www-form-urlencoded` body | 415 another type, 422 naming the field |
//! | [`State<T>`] | a value given to [`Router::with_state`] | refused when the router is built, if missing |
//! | [`Path<T>`] | the captures, as one value, a tuple or a struct | 400 naming the capture |
//! | [`Headers`] | an owned copy of the header fields | — |
//! | [`Bytes`], `Vec<u8>`, `String` | the body (`String`: UTF-8) | 400 not UTF-8 |
//! | [`LastEventId`] | the `Last-Event-ID` header | 400 when absent |
//! | [`Extension<T>`] | a value a middleware put in the request | 500 when absent |
//! | `&Request` | the whole [`Request`] | — |
//! | `Option<E>` | `None` when what `E` reads is absent | `E`'s refusal when present but invalid |
//! | `Result<E, E::Rejection>` | `E`, or its refusal for the handler to handle | — |
//!
//! A handler takes at most one extractor that reads the body. `#[sse]`
//! routes (and closures) take owned extractors: the stream's producer runs
//! on a thread of its own.
//!
//! # Responses
//!
//! A handler returns anything [`IntoResponse`]: `&'static str` and `String`
//! (`text/plain; charset=utf-8`), `Vec<u8>`, [`Json<T>`], [`Html<T>`],
//! [`Status`], `(Status, T)`, `(Status, [(name, value); N], T)`,
//! [`Response`], `Result<T, E>`, `Option<T>` (`None` is a 404), `()` (204)
//! and [`Redirect`].
//!
//! ```
//! use sutegi::{Error, Json, Status};
//!
//! fn rename(name: String) -> Result<(Status, [(&'static str, String); 1], Json<String>), Error> {
//!     if name.is_empty() {
//!         return Err(Error::new(Status::UNPROCESSABLE_CONTENT, "`name` must not be empty"));
//!     }
//!     Ok((Status::CREATED, [("Location", format!("/names/{name}"))], Json(name)))
//! }
//! # assert_eq!(sutegi::IntoResponse::into_response(rename(String::new())).status(), 422);
//! ```
//!
//! # One error shape
//!
//! Every refusal the framework makes (404, 405, an extractor's 4xx, the
//! server's own 400/408/413/414/431, a handler's panic as a 500) answers
//! `{"error": "<reason phrase>", "message": "<what was wrong>"}` with
//! `Content-Type: application/json`. Handlers refuse in the same shape by
//! returning an [`Error`]; [`Router::error_shape`] replaces it. A handler
//! that panics gets a 500 whose body says nothing of the panic: the panic
//! message goes to the [`log`](https://docs.rs/log) facade, and the worker
//! lives on.
//!
//! # Routers
//!
//! [`Router`] chains: [`route`](Router::route), [`mount`](Router::mount)
//! (nest a router under a prefix), [`fallback`](Router::fallback),
//! [`with_state`](Router::with_state) (several states of different types),
//! [`body_limit`](Router::body_limit). None of them panics: a router is
//! checked as a whole by [`into_handler`](Router::into_handler) (or by
//! [`serve`], before it binds), which lists every conflict, capture named
//! differently at one position, malformed path and missing state, with the
//! source location of each route involved.
//!
//! Each route macro also writes a typed path builder, so links cannot
//! drift from routes: `user::path(42) == "/users/42"`. It is relative to
//! the router the route is in; [`Router::url_for`] adds mount prefixes.
//!
//! # Testing without a socket
//!
//! [`TestClient`](test::TestClient) is where tests start: it sends
//! requests to an app in process, through the server's own decoder and
//! refusals (413, 414, 431 come out as on a socket), and gives back whole
//! responses with `text()`, `json()` and SSE `events()`.
//!
//! ```
//! use sutegi::test::TestClient;
//! use sutegi::{get, routes};
//!
//! #[get("/users/{id}")]
//! fn user(id: u64) -> String {
//!     format!("user{id}")
//! }
//!
//! let client = TestClient::new(routes![user]);
//! assert_eq!(client.get("/users/007").send().text(), "user7");
//! let refused = client.get("/users/x").send();
//! assert_eq!(refused.status(), 400);
//! assert_eq!(refused.json::<serde_json::Value>()["error"], "Bad Request");
//! assert_eq!(user(7), "user7"); // the function itself is untouched
//! ```
//!
//! Underneath, a checked router is a [`Handler`]: a test can also build a
//! [`Request`] and call [`handle`](Handler::handle) directly.
//!
//! # Middleware, health and the route table
//!
//! [`Router::layer`] wraps a router (on a router mounted in another, just
//! that router's routes) in a function
//! `Fn(&mut Request, Next<'_>) -> Response` (or a [`Middleware`] type) that
//! may answer by itself, let the request through with [`Next::run`],
//! change the response, or hand values to handlers through
//! [`Extension<T>`]. **The layer added last is the outermost.** The
//! [`middleware`] module ships an [`AccessLog`](middleware::AccessLog),
//! [`Cors`](middleware::Cors) and [`RequestIds`](middleware::RequestIds)
//! (`X-Request-Id`). [`Router::health`] adds the route a load balancer or a
//! readiness probe asks: 200 `ok` while serving, 503 from the moment
//! shutdown begins. [`Router::routes`] lists every route with its handler
//! and source location; [`Router::print_routes`] prints that table once at
//! start-up.
//!
//! ```
//! use sutegi::middleware::{AccessLog, Cors, RequestId, RequestIds};
//! use sutegi::{Extension, Method, Router};
//!
//! let app = Router::new()
//!     .get("/whoami", |Extension(id): Extension<RequestId>| format!("request {id}"))
//!     .health("/healthz")
//!     .layer(Cors::new().allow_origin("http://localhost:3000").allow_methods(&[Method::Get]))
//!     .layer(RequestIds::new())
//!     .layer(AccessLog::new()) // last, so outermost: logs what the others answered
//!     .print_routes(std::env::var("PRINT_ROUTES").is_ok());
//! # app.into_handler().unwrap();
//! ```
//!
//! # The server
//!
//! [`serve`] and [`serve_until`] take a `Router` or any
//! `Fn(Request) -> Response` closure; [`Server`] binds first (port 0
//! works) and sets [`Limits`] and the worker count. See the [`server`]
//! module.
//!
//! [matchit]: https://docs.rs/matchit

// `unsafe` is refused everywhere but in the one module that registers
// sockets with the poller (`server/registered.rs`), and each block there
// says why it is sound.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate self as sutegi;

pub mod cookies;
mod error;
pub mod extract;
pub mod files;
mod json;
pub mod middleware;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod respond;
pub mod router;
pub mod server;
pub mod test;
mod type_name;
pub mod ws;

pub use extract::{
    Authorization, Basic, Bearer, Bytes, Extension, Form, FromRequest, Headers, LastEventId,
    Multipart, Path, Query, RequestContext, State,
};
pub use json::Json;
pub use middleware::{Middleware, Next};
pub use respond::{Error, Html, IntoResponse, Redirect};
pub use router::{Route, Router, RouterError, RouterHandler};
// The server's items an application writes: the seed's fourteen (from
// `Limits` to `serve_until`), then the builder, the status type, the handler
// contract and the SSE event builder. Everything else of the wire (the
// codec's refusals, response framing, producers, header text, …) is named
// through `sutegi::server`.
pub use server::{
    parse_request, serve, serve_until, status_reason, write_response, Body, Handler, Incoming,
    IntoHandler, Limits, Method, Request, Response, Server, SseEvent, SseSink, Status, StreamSink,
    ThreadPool,
};
pub use sutegi_macros::{delete, get, head, options, patch, post, put, route, routes, sse, ws};
pub use ws::WebSocket;

/// What the route macros' generated code names. Not a public API: it may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::extract::RequestContext as Context;
    #[cfg(feature = "openapi")]
    pub use crate::openapi::probe::{Capture, Fallback, Input, Known, Output, Probe};
    #[cfg(feature = "openapi")]
    pub use crate::openapi::{Described, Operation, RouteDoc};
    pub use crate::router::pattern::{build_path, PathPiece};
    pub use crate::router::route::{IntoRoute as RouteSource, MacroRoute as RouteInfo, RouteKind};
    pub use crate::router::route_fn::{boxed_handler, first_content_type_check};
}
