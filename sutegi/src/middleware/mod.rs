//! Middleware: functions around a [`Router`] (the whole of it, or the
//! routes of a router mounted in another), added with
//! [`Router::layer`](crate::Router::layer), and the three every small
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
//! # The server's refusals
//!
//! Refusals the server decides once a request's head is parsed, before the
//! handler runs (413 a body over the limit, naming the limit; 417 an
//! unknown `Expect`), go through the top router's layers like any answer
//! ([`Handler::refuse_request`](crate::Handler::refuse_request)): a 413
//! to an allowed origin carries `Access-Control-Allow-Origin`, so the
//! browser reports "too large" rather than a CORS failure; it gets its
//! request id and its access-log line. The layers see the head only (the
//! body was not read). 404, 405, 415 and extractor refusals come from the
//! router itself and so pass through every layer anyway.
//!
//! # What a middleware does not see
//!
//! The server's own refusals of bytes that never became a request head (a
//! malformed head's 400, 408, 414, 431, 501, 505) and the 503 of a stream
//! refused because too many are open are written without the router, so
//! no middleware runs for them (they still come in the router's error
//! shape). A streamed body (Server-Sent Events) is produced after the
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

//!
//! # Files
//!
//! `contract.rs` holds [`Middleware`] and [`Next`]; `access_log.rs`,
//! `cors.rs`, `request_id.rs` and `proxies.rs` the shipped layers, each on
//! the contract alone; this file adds [`Router::layer`]. The router holds
//! layers type-erased and knows nothing of this module.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access_log;
mod contract;
mod cors;
mod proxies;
mod request_id;

#[cfg(test)]
mod tests;

use crate::router::layers::{Chain, Layer};
use crate::router::route::handler_name;
use crate::router::{Location, Router, RouterProblem};
use crate::server::Request;

pub use self::access_log::AccessLog;
pub use self::contract::{Middleware, Next};
pub use self::cors::Cors;
pub use self::proxies::TrustedProxies;
pub use self::request_id::{RequestId, RequestIds};

/// Adding a layer: here rather than with the builder, so the router does
/// not know the middleware types.
impl Router {
    /// Wraps this router in `middleware`: a closure
    /// `|request: &mut Request, next: Next<'_>| -> Response` or a
    /// [`Middleware`] type ([`AccessLog`], [`Cors`], [`RequestIds`], your
    /// own).
    ///
    /// **The layer added last is the outermost** (as with axum's `layer`
    /// and actix-web's `wrap`): in `.layer(a).layer(b)`, `b` sees the
    /// request first and the response last. Every layer sees every request
    /// the router answers, 404s, 405s and the automatic `OPTIONS` answers
    /// included; see [`middleware`](crate::middleware) for what it does not
    /// see.
    ///
    /// On a router that is [mounted](Router::mount) in another, a layer
    /// wraps that router's routes (and its fallback) only: the outer
    /// router's layers run first, then the mounted router's, then the
    /// handler. Paths no route matches (404, 405, the automatic `OPTIONS`)
    /// belong to the top router and see its layers alone. A layer that
    /// changes the path or method sends the request through routing again.
    ///
    /// ```
    /// use sutegi::{Handler, Method, Next, Request, Response, Router};
    ///
    /// let admin = Router::new()
    ///     .get("/stats", || "secret")
    ///     .layer(|request: &mut Request, next: Next<'_>| {
    ///         match request.header("authorization") {
    ///             Some("Bearer admin-token") => next.run(request),
    ///             _ => Response::new(401).header("WWW-Authenticate", "Bearer"),
    ///         }
    ///     });
    /// let app = Router::new()
    ///     .get("/", || "public")
    ///     .mount("/admin", admin)
    ///     .into_handler()
    ///     .unwrap();
    /// let get = |path| app.handle(Request::new(Method::Get, path, &[], vec![]));
    /// assert_eq!(get("/").status(), 200);
    /// assert_eq!(get("/admin/stats").status(), 401);
    /// ```
    ///
    /// A middleware whose configuration cannot work
    /// ([`Middleware::check`], e.g. [`Cors`] allowing any origin with
    /// credentials) is refused by [`into_handler`](Router::into_handler).
    ///
    /// ```
    /// use sutegi::{Handler, Method, Next, Request, Response, Router};
    ///
    /// let app = Router::new()
    ///     .get("/", || "hello")
    ///     .layer(|request: &mut Request, next: Next<'_>| {
    ///         let mut response = next.run(request);
    ///         response.set_header("X-Frame-Options", "DENY");
    ///         response
    ///     })
    ///     .into_handler()
    ///     .unwrap();
    /// let response = app.handle(Request::new(Method::Get, "/nope", &[], vec![]));
    /// assert_eq!(response.status(), 404);
    /// assert_eq!(response.header_value("x-frame-options"), Some("DENY"));
    /// ```
    #[track_caller]
    pub fn layer<M: Middleware>(self, middleware: M) -> Router {
        let location = std::panic::Location::caller();
        let name = handler_name::<M>();
        let refused = middleware.check().err();
        let layer = Layer::new(
            move |request: &mut Request, chain: Chain<'_>| {
                middleware.handle(request, Next::new(chain))
            },
            name,
            location,
        );
        let router = match refused {
            Some(reason) => self.push_problem(RouterProblem::InvalidMiddleware {
                layer: layer.label(),
                location: Location::from_std(location),
                reason,
            }),
            None => self,
        };
        router.push_layer(layer)
    }
}
