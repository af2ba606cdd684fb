//! Routing: the [`Router`] builder (routes from the macros or from
//! closures, mounting, fallbacks, states, the error shape), the checks that
//! turn it into a [`RouterHandler`] (conflicts, capture names, missing
//! states, each reported with source locations), and the dispatch the
//! handler does for every request (match, 404, 405 with `Allow`, `HEAD`,
//! `OPTIONS`, trailing-slash 308s, panics to 500), with the router's
//! middleware layers around it and those of mounted routers around their
//! routes. It also lists the routes ([`Router::routes`], a [`RouteTable`]) and
//! holds the health route ([`Router::health`]).
//!
//! # Trailing slashes
//!
//! `/notes` and `/notes/` are different paths. For `GET` and `HEAD` only, a
//! path that no route matches but that matches one in its other form (with
//! the trailing `/` removed, or one added) answers **308** with `Location`
//! set to that form, the query kept (`/notes/?page=2` → `/notes?page=2`);
//! 308 keeps the method, and browsers and clients follow it. Any other
//! method, and a path that matches in neither form, stays a 404 (or goes to
//! a fallback). A form starting with `//` is never a target: it would
//! leave the site.
//!
//! # Layers on mounted routers
//!
//! Layers added to a router wrap what that router answers. On the top
//! router that is every request (404s, 405s, the automatic `OPTIONS`, and
//! the server's refusals decided after the head, through
//! `Handler::refuse_request`); on a [mounted](Router::mount) router it is
//! its routes and its fallback. The order is the outer router's layers,
//! then the mounted router's, then the handler. A route with no scoped
//! layer runs none of this (no allocation, no extra dynamic call); the
//! route table lists the layers around each route.
//!
//! Matching is [matchit]'s radix tree on the raw, still percent-encoded
//! path, so its cost stays flat as the table grows and nothing is allocated
//! beyond the captured parameters; captures are decoded by the extractors
//! afterwards ([`extract`](crate::extract)). The server ([`server`](crate::server))
//! knows nothing of routes: it calls the [`Handler`](crate::Handler) hooks
//! this module implements (`handle`, `refuse` for the error shape,
//! `refuse_request` for refusals through the layers, `body_limit` per
//! route, `shutdown_started`). The route macros
//! (`sutegi-macros`) generate [`Route`]s through `sutegi::__private`.
//!
//! The router knows nothing of what is added on top of it: `Router::layer`
//! lives with the middleware (`middleware/mod.rs`) and `Router::serve_dir`
//! with the files (`files.rs`); the router holds the layers type-erased
//! (`layers.rs`), and neither module is imported here.
//!
//! The files, each depending only on those listed before it:
//! - `layers.rs`: the type-erased middleware chain;
//! - `route_fn.rs`: [`RouteFn`], what can answer a route, and the boxed
//!   handler it becomes;
//! - `route.rs`: [`Route`], [`Location`], [`RouteSummary`], [`IntoRoute`],
//!   the method set, the macros' route record;
//! - `table.rs`: [`RouteTable`], the listing and its printed form;
//! - `error.rs`: [`RouterError`], [`RouterProblem`], [`UrlError`];
//! - `pattern.rs`: reading path patterns and building paths (`url_for`,
//!   the macros' path builders);
//! - `fallback.rs`: fallbacks, declared, checked and compiled;
//! - `dispatch.rs`: [`RouterHandler`], serving a checked router;
//! - `build.rs`: checking a router and compiling it;
//! - `mod.rs` (this file): the [`Router`] builder. It runs a little past
//!   600 lines because every builder method users call is here with its
//!   documentation and example, beside the hand-over to the `openapi`
//!   feature.
//!
//! [matchit]: https://docs.rs/matchit

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod dispatch;
mod error;
mod fallback;
pub(crate) mod layers;
// `pattern`, `route` and `route_fn` hold items the route macros' code
// names; `sutegi::__private` re-exports them, and only it.
pub(crate) mod pattern;
pub(crate) mod route;
pub(crate) mod route_fn;
mod table;

#[cfg(test)]
pub(crate) mod tests;

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::extract::{RequestContext, StateEntry};
use crate::respond::{Error, ErrorShape};
use crate::server::{IntoHandler, Method, Response};

use self::build::{Builder, RouterParts};
use self::fallback::Fallback;
use self::layers::Layer;
use self::pattern::{join_path, normalize_prefix};
use self::route::MethodSet;

pub use self::dispatch::RouterHandler;
pub use self::error::{RouterError, RouterProblem, UrlError};
pub use self::route::{IntoRoute, Location, Route, RouteKind, RouteSummary};
pub use self::route_fn::RouteFn;
pub use self::table::RouteTable;

pub(crate) use self::route_fn::BoxedHandler;

/// A set of routes, built up with chained calls that never panic, checked
/// as a whole by [`into_handler`](Router::into_handler).
///
/// ```
/// use sutegi::{Path, Router, State};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let admin = Router::new().get("/stats", |hits: State<AtomicU64>| {
///     hits.load(Ordering::Relaxed).to_string()
/// });
/// let app = Router::new()
///     .get("/", || "hello")
///     .get("/users/{id}", |Path(id): Path<u64>| format!("user {id}"))
///     .mount("/admin", admin)
///     .with_state(AtomicU64::new(0));
/// let handler = app.into_handler().expect("no conflicts");
/// # let _ = handler;
/// ```
///
/// A `Router` goes to [`serve`](crate::serve) directly; a router that does
/// not check out (conflicting routes, a missing state) is refused there
/// before the socket is bound, with every problem listed.
///
/// Middleware wraps the router ([`layer`](Router::layer)), a mounted
/// router's just its own routes; a health
/// route for load balancers is one line ([`health`](Router::health)); the
/// route table is [`routes`](Router::routes), printed at start-up with
/// [`print_routes`](Router::print_routes).
#[derive(Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
    states: Vec<StateEntry>,
    fallbacks: Vec<Fallback>,
    error_shape: Option<ErrorShape>,
    body_limit: Option<u64>,
    problems: Vec<RouterProblem>,
    /// Middleware, in the order added (the last is the outermost).
    layers: Vec<Layer>,
    /// Prints the route table to stderr when the handler is built; set by
    /// `print_routes(true)`. A function rather than a flag, so a program
    /// that never asks for the table does not link its formatting.
    print_routes: Option<fn(&RouterHandler)>,
    /// Documents and tool lists to build once the routes are checked.
    #[cfg(feature = "openapi")]
    descriptions: Vec<PendingDescription>,
    /// Builds them: set by the first `openapi`/`mcp`, so a program that
    /// asks for neither does not link schema generation (as with
    /// `print_routes`).
    #[cfg(feature = "openapi")]
    describe: Option<DescribeRoutes>,
}

impl Router {
    /// An empty router: every path is a 404 until routes are added.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a route: the companion of a route macro (`.route(user {})`,
    /// which `routes![user]` writes for you) or a [`Route`].
    pub fn route(mut self, route: impl IntoRoute) -> Router {
        self.routes.push(route.into_route());
        self
    }

    /// Adds a route answering `methods` on `path` with a function or closure
    /// of extractors (see [`RouteFn`]).
    #[track_caller]
    pub fn on<A>(
        self,
        methods: &[Method],
        path: impl Into<Cow<'static, str>>,
        handler: impl RouteFn<A>,
    ) -> Router {
        let route = Route::from_fn(methods, path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds a `GET` route (which also answers `HEAD`). See [`RouteFn`].
    #[track_caller]
    pub fn get<A>(self, path: impl Into<Cow<'static, str>>, handler: impl RouteFn<A>) -> Router {
        let route = Route::from_fn(&[Method::Get], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds a `POST` route. See [`RouteFn`].
    #[track_caller]
    pub fn post<A>(self, path: impl Into<Cow<'static, str>>, handler: impl RouteFn<A>) -> Router {
        let route = Route::from_fn(&[Method::Post], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds a `PUT` route. See [`RouteFn`].
    #[track_caller]
    pub fn put<A>(self, path: impl Into<Cow<'static, str>>, handler: impl RouteFn<A>) -> Router {
        let route = Route::from_fn(&[Method::Put], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds a `PATCH` route. See [`RouteFn`].
    #[track_caller]
    pub fn patch<A>(self, path: impl Into<Cow<'static, str>>, handler: impl RouteFn<A>) -> Router {
        let route = Route::from_fn(&[Method::Patch], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds a `DELETE` route. See [`RouteFn`].
    #[track_caller]
    pub fn delete<A>(self, path: impl Into<Cow<'static, str>>, handler: impl RouteFn<A>) -> Router {
        let route = Route::from_fn(&[Method::Delete], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds a `HEAD` route (taking over from the `GET` route's automatic
    /// `HEAD`). See [`RouteFn`].
    #[track_caller]
    pub fn head<A>(self, path: impl Into<Cow<'static, str>>, handler: impl RouteFn<A>) -> Router {
        let route = Route::from_fn(&[Method::Head], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Adds an `OPTIONS` route (taking over from the automatic `204` with
    /// `Allow`). See [`RouteFn`].
    #[track_caller]
    pub fn options<A>(
        self,
        path: impl Into<Cow<'static, str>>,
        handler: impl RouteFn<A>,
    ) -> Router {
        let route = Route::from_fn(&[Method::Options], path.into(), handler, Location::caller());
        self.route(route)
    }

    /// Nests `router` under `prefix`: its `/stats` answers `/admin/stats`,
    /// and its `/` answers `/admin` itself.
    ///
    /// The nested router's states serve its own routes first (the nearest
    /// `with_state` of a type wins), then this router's; its fallback
    /// answers unmatched paths under the prefix; its
    /// [`body_limit`](Router::body_limit) applies to its routes that set
    /// none; its [`layer`](Router::layer)s wrap its routes and its
    /// fallback, inside this router's layers and outside those of the
    /// routers mounted in it. The prefix starts with `/` and may hold
    /// captures (`/orgs/{org}`), not a catch-all; a bad prefix is reported
    /// by [`into_handler`](Router::into_handler).
    ///
    /// A route macro's `path()` builder knows nothing of the prefix: use
    /// [`url_for`](Router::url_for) for the full path.
    #[track_caller]
    pub fn mount(mut self, prefix: &str, router: Router) -> Router {
        let location = Location::caller();
        let prefix = match normalize_prefix(prefix) {
            Ok(prefix) => prefix,
            Err(reason) => {
                self.problems.push(RouterProblem::InvalidPrefix {
                    prefix: prefix.to_owned(),
                    location,
                    reason,
                });
                return self;
            }
        };
        let Router {
            routes,
            states,
            fallbacks,
            error_shape,
            body_limit,
            problems,
            layers,
            // The outer router decides whether the table is printed.
            print_routes: _,
            #[cfg(feature = "openapi")]
            descriptions,
            #[cfg(feature = "openapi")]
            describe,
        } = router;
        #[cfg(feature = "openapi")]
        {
            self.descriptions.extend(descriptions);
            self.describe = self.describe.or(describe);
        }
        // The mounted router's layers wrap its own routes and fallback,
        // outside the layers of routers mounted in it and inside this
        // router's (which wrap everything it answers).
        let scoped_layers: Vec<Layer> = layers.into_iter().rev().collect();
        for mut route in routes {
            route.path = Cow::Owned(join_path(&prefix, &route.path));
            route.scoped_states.extend(states.iter().cloned());
            route.body_limit = route.body_limit.or(body_limit);
            if !scoped_layers.is_empty() {
                route.layers.splice(0..0, scoped_layers.iter().cloned());
            }
            #[cfg(feature = "openapi")]
            if let Some(description) = &mut route.description {
                // The mount's prefix is the route's tag, outermost first.
                description
                    .tags
                    .insert(0, prefix.trim_matches('/').to_owned());
            }
            self.routes.push(route);
        }
        for mut fallback in fallbacks {
            fallback.prefix = format!("{prefix}{}", fallback.prefix);
            fallback.scoped_states.extend(states.iter().cloned());
            if !scoped_layers.is_empty() {
                fallback.layers.splice(0..0, scoped_layers.iter().cloned());
            }
            self.fallbacks.push(fallback);
        }
        if self.error_shape.is_none() {
            self.error_shape = error_shape;
        }
        self.problems.extend(problems);
        self
    }

    /// Answers every path no route matches (instead of the 404) with a
    /// function or closure of extractors. A mounted router's fallback
    /// answers only under its prefix. A path that a route matches with
    /// another method is still a 405.
    #[track_caller]
    pub fn fallback<A, F: RouteFn<A>>(mut self, handler: F) -> Router {
        self.fallbacks
            .retain(|fallback| !fallback.prefix.is_empty());
        self.fallbacks
            .push(Fallback::new(handler, Location::caller()));
        self
    }

    /// Shares `value` with every handler of this router (and of the routers
    /// mounted in it), read through the [`State<T>`](crate::State)
    /// extractor.
    ///
    /// It is stored once as an `Arc<T>`: no `Clone` needed. Several states
    /// of different types may be added; giving the same type again replaces
    /// the value. A route that takes a `State<T>` no router gave is refused
    /// by [`into_handler`](Router::into_handler).
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Router {
        let entry = StateEntry::new(value);
        self.states
            .retain(|existing| existing.type_id != entry.type_id);
        self.states.push(entry);
        self
    }

    /// The request body limit of this router's routes that set none of
    /// their own (a route macro's `body_limit = "64MiB"`,
    /// [`Route::body_limit`]). Routes of neither keep the server's
    /// [`Limits::max_body_bytes`](crate::Limits).
    pub fn body_limit(mut self, bytes: u64) -> Router {
        self.body_limit = Some(bytes);
        self
    }

    /// Replaces the JSON error shape: every refusal the framework makes for
    /// this router (404, 405, an extractor's 4xx, a panic's 500, and the
    /// server's own 400/408/413/…) is rendered by `shape`.
    ///
    /// ```
    /// use sutegi::{Error, Response, Router};
    /// let app = Router::new().error_shape(|error: &Error| {
    ///     Response::with_body(error.status().as_u16(), format!("oops: {}\n", error.message()))
    ///         .header("Content-Type", "text/plain; charset=utf-8")
    /// });
    /// # let _ = app;
    /// ```
    ///
    /// Refusals rendered on the thread that runs the handler use it
    /// ([`Error`]'s `IntoResponse` looks it up); an `Error` turned into a
    /// response on a thread of your own gets the default shape.
    pub fn error_shape<F>(mut self, shape: F) -> Router
    where
        F: Fn(&Error) -> Response + Send + Sync + 'static,
    {
        self.error_shape = Some(Arc::new(shape));
        self
    }

    /// The full path of `route` in this router, mount prefixes included,
    /// with `args` filling its captures in path order (prefix captures
    /// first), each percent-encoded.
    ///
    /// `user::path(42)` (generated by the route macro) builds the path
    /// relative to the router the route was declared in; this adds what
    /// mounting put in front.
    ///
    /// ```
    /// use sutegi::{Method, Route, Router};
    /// let user = || Route::new(&[Method::Get], "/users/{id}", || "a user");
    /// let app = Router::new().mount("/admin", Router::new().route(user()));
    /// assert_eq!(app.url_for(user(), &[&42]).unwrap(), "/admin/users/42");
    /// ```
    pub fn url_for(
        &self,
        route: impl IntoRoute,
        args: &[&dyn fmt::Display],
    ) -> Result<String, UrlError> {
        let declared = self
            .routes
            .iter()
            .map(|route| (route.declaration(), route.path()));
        pattern::url_for(route, declared, args)
    }

    /// Asks for a document or a tool list to be built when the router is
    /// checked (the `openapi` feature).
    #[cfg(feature = "openapi")]
    pub(crate) fn push_description(
        &mut self,
        pending: PendingDescription,
        describe: DescribeRoutes,
    ) {
        self.descriptions.push(pending);
        self.describe = Some(describe);
    }

    /// Adds a middleware layer (outermost so far): what `Router::layer`
    /// (in the middleware module) does once it has erased the middleware's
    /// type.
    pub(crate) fn push_layer(mut self, layer: Layer) -> Router {
        self.layers.push(layer);
        self
    }

    /// Records a problem found while building, reported by
    /// [`into_handler`](Router::into_handler) with the others.
    pub(crate) fn push_problem(mut self, problem: RouterProblem) -> Router {
        self.problems.push(problem);
        self
    }

    /// Adds a health route at `path` (`GET`, and so `HEAD`) for a load
    /// balancer or a Kubernetes readiness probe: 200
    /// `text/plain; charset=utf-8` `ok` while serving, 503 `shutting down`
    /// from the moment shutdown begins (when the server calls
    /// [`Handler::shutdown_started`](crate::Handler::shutdown_started),
    /// before it stops accepting: see
    /// [`Limits::drain_delay`](crate::Limits)), so traffic moves elsewhere
    /// before the process drains. Both carry `Cache-Control: no-store`;
    /// neither is logged as an error.
    ///
    /// ```
    /// use sutegi::{Handler, Method, Request, Router};
    /// let app = Router::new().health("/healthz").into_handler().unwrap();
    /// let probe = || app.handle(Request::new(Method::Get, "/healthz", &[], vec![]));
    /// assert_eq!(probe().status(), 200);
    /// app.shutdown_started();
    /// assert_eq!(probe().status(), 503);
    /// ```
    #[track_caller]
    pub fn health(self, path: impl Into<Cow<'static, str>>) -> Router {
        let handler: BoxedHandler = Arc::new(|cx: &RequestContext<'_>| {
            if cx.shutting_down() {
                Response::with_body(503, "shutting down")
                    .header("Content-Type", "text/plain; charset=utf-8")
                    .header("Cache-Control", "no-store")
            } else {
                Response::text("ok").header("Cache-Control", "no-store")
            }
        });
        let route = Route {
            methods: MethodSet::of(&[Method::Get]),
            path: path.into(),
            name: Cow::Borrowed("health"),
            module: "",
            location: Location::caller(),
            body_limit: None,
            kind: RouteKind::Plain,
            state_requirements: Vec::new(),
            body_readers: 0,
            content_type_check: None,
            streams_body: false,
            handler,
            scoped_states: Vec::new(),
            layers: Vec::new(),
            #[cfg(feature = "openapi")]
            description: None,
        };
        self.route(route)
    }

    /// Every route of this router, mounted ones with their prefix, in the
    /// order added, then the fallbacks: method, full path, handler name,
    /// module, source location, kind and the middleware around it
    /// (outermost first). Its `Display` is a table, one route a line.
    ///
    /// ```
    /// use sutegi::Router;
    /// let app = Router::new().get("/", || "home").post("/users", || "created");
    /// let table = app.routes();
    /// assert_eq!(table.len(), 2);
    /// assert_eq!(table[1].path, "/users");
    /// println!("{table}");
    /// ```
    pub fn routes(&self) -> RouteTable {
        let mut routes: Vec<RouteSummary> = self
            .routes
            .iter()
            .map(Route::summary)
            .chain(self.fallbacks.iter().map(Fallback::summary))
            .collect();
        // This router's layers wrap every route, outside the mounted ones'.
        if !self.layers.is_empty() {
            for route in &mut routes {
                let outer = self.layers.iter().rev().map(Layer::label);
                route.layers.splice(0..0, outer);
            }
        }
        RouteTable::new(routes)
    }

    /// Prints the route table ([`routes`](Router::routes)) to standard
    /// error once the router checks out, when it is turned into a handler
    /// ([`into_handler`](Router::into_handler), or [`serve`](crate::serve)
    /// before it binds), so it appears once at start-up. Off by default;
    /// `examples/api` turns it on with `SUTEGI_LOG=routes`. The server
    /// itself knows nothing of routes, so this lives here.
    pub fn print_routes(mut self, print: bool) -> Router {
        self.print_routes = print.then_some(print_route_table as fn(&RouterHandler));
        self
    }

    /// Checks the whole router and builds the handler that serves it.
    ///
    /// Every problem is reported at once, each with the source locations of
    /// the routes involved: two routes that match the same requests with
    /// the same method, captures named differently at one position
    /// (`/users/{id}` and `/users/{name}/posts`), a malformed path or mount
    /// prefix, a `State<T>` no `with_state` gave, a closure with two body
    /// extractors.
    pub fn into_handler(self) -> Result<RouterHandler, RouterError> {
        let Router {
            routes,
            states,
            fallbacks,
            error_shape,
            body_limit,
            problems,
            layers,
            print_routes,
            #[cfg(feature = "openapi")]
            descriptions,
            #[cfg(feature = "openapi")]
            describe,
        } = self;
        #[cfg(feature = "openapi")]
        if let Some(describe) = describe {
            describe_routes(&routes, &descriptions, describe);
        }
        let parts = RouterParts {
            routes,
            states,
            fallbacks,
            error_shape,
            body_limit,
            problems,
            layers,
        };
        let handler = Builder::default().build(parts)?;
        if let Some(print) = print_routes {
            print(&handler);
        }
        Ok(handler)
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let states: Vec<&str> = self.states.iter().map(|s| s.type_name).collect();
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .field("states", &states)
            .field("fallbacks", &self.fallbacks.len())
            .field("body_limit", &self.body_limit)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

impl IntoHandler for Router {
    type Handler = RouterHandler;

    /// Checks the router; its problems become an `InvalidInput` error, so
    /// `serve` refuses it before binding.
    fn into_server_handler(self) -> io::Result<RouterHandler> {
        // The error carries the message, not the `RouterError`: boxing that
        // would link its `Debug` (every problem, summary and location) into
        // every program, for a value nobody reads but through `Display`.
        // `Router::into_handler` gives the `RouterError` itself.
        self.into_handler()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.to_string()))
    }
}

/// Writes the route table to stderr in one write, so it is not interleaved
/// with other output.
fn print_route_table(handler: &RouterHandler) {
    let table = handler.routes().to_string();
    let _ = io::Write::write_all(&mut io::stderr().lock(), table.as_bytes());
}

/// What builds a router's documents and tool lists from its routes (set by
/// the `openapi` module, which knows what the pending items are).
#[cfg(feature = "openapi")]
pub(crate) type DescribeRoutes = fn(Vec<route::DescribedRoute>, &[PendingDescription]);

/// Hands the described routes, with their full paths, to the description
/// (the `openapi` feature), once, while the router is checked.
#[cfg(feature = "openapi")]
fn describe_routes(routes: &[Route], pending: &[PendingDescription], describe: DescribeRoutes) {
    let described = routes
        .iter()
        .filter_map(|route| {
            let description = route.description.clone()?;
            Some(route::DescribedRoute {
                methods: route.methods.iter().collect(),
                path: route.path.to_string(),
                name: route.name.to_string(),
                kind: route.kind,
                description,
            })
        })
        .collect();
    describe(described, pending);
}

/// A document or tool list to build once the routes are checked, held
/// without naming its type (the `openapi` module's), for the same reason
/// as [`RouteDescription`](route::RouteDescription).
#[cfg(feature = "openapi")]
pub(crate) type PendingDescription = std::sync::Arc<dyn std::any::Any + Send + Sync>;
