//! Serving a checked router: [`RouterHandler`], the [`Handler`] the server
//! calls for every request. It matches the raw path with matchit, runs the
//! route of the method (`HEAD` by `GET`), answers the automatic `OPTIONS`
//! and the 405 with `Allow`, then asks the fallbacks, then answers 404; a
//! handler's panic becomes a 500 in the error shape. The middleware chain
//! ([`layers`](super::layers)) runs around all of it.
//!
//! What it serves was checked and compiled by [`build`](super::build);
//! nothing here can fail but a handler.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::extract::{RequestContext, StateEntry};
use crate::respond::{render_error, Error, ErrorShape, ErrorShapeGuard, Status};
use crate::server::{Handler, HeadVerdict, Method, Request, Response};

use super::error::UrlError;
use super::fallback::CompiledFallbacks;
use super::layers::{Chain, Layer};
use super::pattern;
use super::route::{method_index, IntoRoute, MethodSet, RouteSummary, METHOD_COUNT};
use super::route_fn::BoxedHandler;
use super::table::RouteTable;

/// A route once checked: what dispatch needs.
pub(super) struct CompiledRoute {
    pub(super) handler: BoxedHandler,
    /// Its routers' states, nearest first.
    pub(super) states: Box<[StateEntry]>,
    /// Layers of the routers it was mounted from, outermost first; empty
    /// (no allocation, no chain) for most routes.
    pub(super) layers: Box<[Layer]>,
    pub(super) body_limit: Option<u64>,
    /// Its body extractor's `Content-Type` check: a request failing it is
    /// answered from the head (see `check_head`).
    pub(super) content_type_check: Option<fn(Option<&str>) -> bool>,
    /// Its body extractor reads the body as it arrives: the handler runs
    /// on the head (see `check_head`).
    pub(super) streams_body: bool,
    pub(super) summary: RouteSummary,
}

/// One distinct path pattern and the route of each method on it.
pub(super) struct PathEntry {
    /// Index into the compiled routes, per method.
    pub(super) by_method: [Option<u32>; METHOD_COUNT],
    pub(super) methods: MethodSet,
    /// The `Allow` header of the path.
    pub(super) allow: String,
}

impl PathEntry {
    /// The route answering `method` here (`HEAD` by `GET` when no route
    /// claims it).
    pub(super) fn route_for(&self, method: Method) -> Option<u32> {
        match self.by_method[method_index(method)] {
            None if method == Method::Head => self.by_method[method_index(Method::Get)],
            found => found,
        }
    }
}

/// A checked [`Router`](super::Router), ready to serve: the [`Handler`] that
/// [`serve`](crate::serve) runs on every worker.
///
/// Tests call [`handle`](Handler::handle) directly, no socket needed:
///
/// ```
/// use sutegi::{Handler, Method, Request, Router};
/// let app = Router::new().get("/hi", || "hello").into_handler().unwrap();
/// let response = app.handle(Request::new(Method::Get, "/hi", &[], vec![]));
/// assert_eq!(response.body().as_bytes(), Some(&b"hello"[..]));
/// assert_eq!(app.handle(Request::new(Method::Get, "/nope", &[], vec![])).status(), 404);
/// ```
pub struct RouterHandler {
    /// Pattern → index into `paths`.
    pub(super) matcher: matchit::Router<u32>,
    pub(super) paths: Vec<PathEntry>,
    pub(super) routes: Vec<CompiledRoute>,
    pub(super) fallbacks: CompiledFallbacks,
    /// `Allow` for `OPTIONS *`: every method some route takes.
    pub(super) server_allow: String,
    pub(super) error_shape: Option<ErrorShape>,
    /// Set once shutdown begins; health routes read it.
    pub(super) shutting_down: Arc<AtomicBool>,
    /// Middleware, outermost first; empty costs nothing per request.
    pub(super) layers: Box<[Layer]>,
}

impl RouterHandler {
    /// The full path of `route`, mount prefixes included; see
    /// [`Router::url_for`](super::Router::url_for).
    pub fn url_for(
        &self,
        route: impl IntoRoute,
        args: &[&dyn fmt::Display],
    ) -> Result<String, UrlError> {
        // A compiled route's summary keeps its full path and what
        // identifies its declaration.
        let declared = self
            .routes
            .iter()
            .map(|route| (route.summary.declaration(), route.summary.path.as_str()));
        pattern::url_for(route, declared, args)
    }

    /// Every route it serves, then the fallbacks; see
    /// [`Router::routes`](super::Router::routes).
    pub fn routes(&self) -> RouteTable {
        let fallbacks = self.fallbacks.prefixed.iter().chain(&self.fallbacks.root);
        let routes = self
            .routes
            .iter()
            .map(|route| route.summary.clone())
            .chain(fallbacks.map(|fallback| fallback.summary.clone()))
            .collect();
        RouteTable::new(routes)
    }

    /// Whether shutdown has begun (see [`Handler::shutdown_started`]).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    fn render(&self, error: &Error) -> Response {
        match &self.error_shape {
            Some(shape) => shape(error),
            None => error.to_json_response(),
        }
    }

    /// Routes one request: the route of its method, `HEAD` by `GET`, an
    /// automatic `OPTIONS`, 405, a fallback, a trailing-slash redirect, or
    /// 404.
    fn dispatch(&self, request: &mut Request) -> Response {
        let method = request.method();
        if let Ok(matched) = self.matcher.at(request.path()) {
            let entry = &self.paths[*matched.value as usize];
            return match entry.route_for(method) {
                Some(index) => {
                    let route = &self.routes[index as usize];
                    if route.layers.is_empty() {
                        self.run(
                            &route.handler,
                            &route.states,
                            &route.summary,
                            request,
                            matched.params,
                        )
                    } else {
                        self.run_layered_route(index, request)
                    }
                }
                None if method == Method::Options => {
                    Response::new(204).header("Allow", entry.allow.clone())
                }
                None => {
                    let message = format!(
                        "{method} is not allowed on this path; it takes {}",
                        entry.allow
                    );
                    let mut response =
                        render_error(&Error::new(Status::METHOD_NOT_ALLOWED, message));
                    response.set_header("Allow", entry.allow.clone());
                    response
                }
            };
        }
        let path = request.path();
        if path == "*" && method == Method::Options {
            return Response::new(204).header("Allow", self.server_allow.clone());
        }
        if let Some(response) = self.trailing_slash_redirect(request) {
            return response;
        }
        if let Ok(matched) = self.fallbacks.matcher.at(path) {
            let index = *matched.value as usize;
            let fallback = &self.fallbacks.prefixed[index];
            if !fallback.layers.is_empty() {
                return self.run_layered_fallback(index, request);
            }
            return self.run(
                &fallback.handler,
                &fallback.states,
                &fallback.summary,
                request,
                matched.params,
            );
        }
        if let Some(fallback) = &self.fallbacks.root {
            return self.run(
                &fallback.handler,
                &fallback.states,
                &fallback.summary,
                request,
                matchit::Params::new(),
            );
        }
        render_error(&Error::not_found(format!("no route matches {path}")))
    }

    /// For `GET` and `HEAD`, a path no route matches but whose other form
    /// (with or without the trailing `/`) one does: 308 to that form, the
    /// query kept. Everything else is `None` (and ends as a 404 or a
    /// fallback's answer).
    fn trailing_slash_redirect(&self, request: &Request) -> Option<Response> {
        if !matches!(request.method(), Method::Get | Method::Head) {
            return None;
        }
        let path = request.path();
        let other = match path.strip_suffix('/') {
            // `/` has no other form.
            Some("") => return None,
            Some(stripped) => std::borrow::Cow::Borrowed(stripped),
            None => std::borrow::Cow::Owned(format!("{path}/")),
        };
        // `//host` and `/\host` would send a browser to another site.
        if other.starts_with("//") || other.starts_with("/\\") {
            return None;
        }
        let matched = self.matcher.at(&other).ok()?;
        self.paths[*matched.value as usize].route_for(request.method())?;
        let location = match request.query() {
            Some(query) => format!("{other}?{query}"),
            None => other.into_owned(),
        };
        Some(Response::new(308).header("Location", location))
    }

    /// Runs route `index` inside the layers of the routers it was mounted
    /// from. The captures are matched again once the layers have run: a
    /// layer holds the request mutably, and one that changed its path or
    /// method has it routed again from the start.
    #[cold]
    fn run_layered_route(&self, index: u32, request: &mut Request) -> Response {
        let route = &self.routes[index as usize];
        let endpoint = |request: &mut Request| match self.matcher.at(request.path()) {
            Ok(matched)
                if self.paths[*matched.value as usize].route_for(request.method())
                    == Some(index) =>
            {
                self.run(
                    &route.handler,
                    &route.states,
                    &route.summary,
                    request,
                    matched.params,
                )
            }
            _ => self.dispatch(request),
        };
        Chain::new(&route.layers, &endpoint).run(request)
    }

    /// Runs prefixed fallback `index` inside the layers of the routers it
    /// was mounted from (see [`run_layered_route`](Self::run_layered_route)).
    #[cold]
    fn run_layered_fallback(&self, index: usize, request: &mut Request) -> Response {
        let fallback = &self.fallbacks.prefixed[index];
        let endpoint = |request: &mut Request| match self.fallbacks.matcher.at(request.path()) {
            Ok(matched) if *matched.value as usize == index => self.run(
                &fallback.handler,
                &fallback.states,
                &fallback.summary,
                request,
                matched.params,
            ),
            _ => self.dispatch(request),
        };
        Chain::new(&fallback.layers, &endpoint).run(request)
    }

    /// Runs a handler, turning a panic into a 500 whose body says nothing
    /// of the panic; the message goes to the log.
    fn run(
        &self,
        handler: &BoxedHandler,
        states: &[StateEntry],
        summary: &RouteSummary,
        request: &Request,
        captures: matchit::Params<'_, '_>,
    ) -> Response {
        let cx = RequestContext::for_route(request, captures, states, &self.shutting_down);
        match catch_unwind(AssertUnwindSafe(|| handler(&cx))) {
            Ok(response) => response,
            Err(payload) => {
                let message = crate::server::panic_message(&payload);
                log::error!(
                    "handler `{}` for {} {} ({}) panicked: {message}",
                    summary.name,
                    request.method(),
                    request.path(),
                    summary.location
                );
                render_error(&Error::internal(
                    "the handler failed; the server log has the details",
                ))
            }
        }
    }
}

impl Handler for RouterHandler {
    fn handle(&self, request: Request) -> Response {
        let _shape = self.error_shape.clone().map(ErrorShapeGuard::install);
        let mut request = request;
        if self.layers.is_empty() {
            return self.dispatch(&mut request);
        }
        let dispatch = |request: &mut Request| self.dispatch(request);
        Chain::new(&self.layers, &dispatch).run(&mut request)
    }

    /// The server's own refusals (400, 408, 413, …) in the router's error
    /// shape.
    fn refuse(&self, status: u16, message: &str) -> Response {
        self.render(&Error::new(status, message.to_owned()))
    }

    /// A refusal decided once the head was read (413, 417, …): the router's
    /// layers run around it as around any answer, with the refusal where
    /// the dispatch would be, so CORS headers, the request id and the
    /// access log line are there. The layers of mounted routers do not run:
    /// the request never reached a route.
    fn refuse_request(&self, head: &Request, status: u16, message: &str) -> Response {
        if self.layers.is_empty() {
            return self.refuse(status, message);
        }
        let _shape = self.error_shape.clone().map(ErrorShapeGuard::install);
        let mut request = copy_head(head);
        let refusal = |_: &mut Request| self.refuse(status, message);
        Chain::new(&self.layers, &refusal).run(&mut request)
    }

    /// The matched route's body limit, if it has one.
    fn body_limit(&self, method: Method, path: &str) -> Option<u64> {
        let matched = self.matcher.at(path).ok()?;
        let index = self.paths[*matched.value as usize].route_for(method)?;
        self.routes[index as usize].body_limit
    }

    /// A body goes to a route or a fallback, under its limit. Where the
    /// answer cannot depend on the body, the body is not wanted and the
    /// server answers from the head (through the layers, as always)
    /// without reading it:
    /// - routing answers from method and path alone (404, 405, the
    ///   automatic `OPTIONS`);
    /// - the route's body extractor refuses the request's `Content-Type`
    ///   whatever the body holds (`Json`'s and `Form`'s 415, `Multipart`'s
    ///   400). The handler still runs on the head, so an extractor before
    ///   it that refuses (a capture, the query, credentials) answers first,
    ///   exactly as when the body was read.
    ///
    /// A route whose body extractor reads the body as it arrives
    /// (`Multipart`) gets [`HeadVerdict::StreamBody`]: its handler runs on
    /// the head and reads the body from the socket.
    ///
    /// A layer that answers a path of its own (the MCP endpoint) registers
    /// a route there, so its body is read.
    fn check_head(&self, head: &Request) -> HeadVerdict {
        let (method, path) = (head.method(), head.path());
        if let Ok(matched) = self.matcher.at(path) {
            let Some(index) = self.paths[*matched.value as usize].route_for(method) else {
                return HeadVerdict::AnswerFromHead;
            };
            let route = &self.routes[index as usize];
            return match route.content_type_check {
                Some(takes) if !takes(head.header("content-type")) => HeadVerdict::AnswerFromHead,
                _ if route.streams_body => HeadVerdict::StreamBody {
                    limit: route.body_limit,
                },
                _ => HeadVerdict::ReadBody {
                    limit: route.body_limit,
                },
            };
        }
        let has_fallback = self.fallbacks.matcher.at(path).is_ok() || self.fallbacks.root.is_some();
        if has_fallback && !(path == "*" && method == Method::Options) {
            HeadVerdict::ReadBody { limit: None }
        } else {
            HeadVerdict::AnswerFromHead
        }
    }

    fn shutdown_started(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }
}

/// The head of `request` (no body, no extensions) as a request of its own,
/// for layers to run on when the original is the server's to keep.
fn copy_head(request: &Request) -> Request {
    Request {
        buf: request.buf.clone(),
        fields_at: request.fields_at,
        method: request.method,
        target_start: request.target_start,
        target_end: request.target_end,
        path_end: request.path_end,
        version: request.version,
        body: Vec::new(),
        peer: request.peer,
        keep_alive: request.keep_alive,
        extensions: Default::default(),
    }
}

impl fmt::Debug for RouterHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<String> = self.routes.iter().map(|r| r.summary.to_string()).collect();
        f.debug_struct("RouterHandler")
            .field("routes", &routes)
            .finish_non_exhaustive()
    }
}
