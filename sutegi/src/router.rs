//! Routing: the [`Router`] builder (routes from the macros or from
//! closures, mounting, fallbacks, states, the error shape), the checks that
//! turn it into a [`RouterHandler`] (conflicts, capture names, missing
//! states, each reported with source locations), and the dispatch the
//! handler does for every request (match, 404, 405 with `Allow`, `HEAD`,
//! `OPTIONS`, panics to 500), with the router's middleware layers around
//! it (the layers themselves live in [`middleware`](crate::middleware)).
//! It also lists the routes ([`Router::routes`], a [`RouteTable`]) and
//! holds the health route ([`Router::health`]).
//!
//! Matching is [matchit]'s radix tree on the raw, still percent-encoded
//! path, so its cost stays flat as the table grows and nothing is allocated
//! beyond the captured parameters; captures are decoded by the extractors
//! afterwards ([`extract`](crate::extract)). The server ([`server`](crate::server))
//! knows nothing of routes: it calls the [`Handler`] hooks this module
//! implements (`handle`, `refuse` for the error shape, `body_limit` per
//! route, `shutdown_started`). The route macros (`sutegi-macros`) generate
//! [`Route`]s through the `__private` items at the end of this file.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::extract::{
    shorten_type_name, FromRequest, RequestContext, StateEntry, StateRequirement,
};
use crate::middleware::{Layer, Middleware, Next};
use crate::respond::{render_error, Error, ErrorShape, ErrorShapeGuard, IntoResponse, Status};
use crate::server::{Handler, HeadVerdict, IntoHandler, Method, Request, Response};

/// The type-erased function a route runs: extract, call, respond.
pub(crate) type BoxedHandler =
    Arc<dyn for<'a, 'b> Fn(&'a RequestContext<'b>) -> Response + Send + Sync + 'static>;

/// Where in the source a route (or a `mount`, a `fallback`) was declared,
/// so errors about it can point there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    file: &'static str,
    line: u32,
    column: u32,
}

impl Location {
    /// The caller's location (of a `#[track_caller]` builder method).
    #[track_caller]
    pub(crate) fn caller() -> Location {
        let here = std::panic::Location::caller();
        Location {
            file: here.file(),
            line: here.line(),
            column: here.column(),
        }
    }

    /// The source file.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line, from 1.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The column, from 1.
    pub fn column(&self) -> u32 {
        self.column
    }
}

impl fmt::Display for Location {
    /// `src/main.rs:12:5`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Whether a route answers with a buffered body or a stream. Streams
/// (`#[sse]`) are listed as such; the router serves both the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteKind {
    /// An ordinary handler.
    Plain,
    /// A handler whose response is a stream (Server-Sent Events, raw).
    Stream,
}

/// A set of methods, one bit per [`Method::ALL`] position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct MethodSet(u16);

const METHOD_COUNT: usize = Method::ALL.len();

fn method_index(method: Method) -> usize {
    match method {
        Method::Get => 0,
        Method::Head => 1,
        Method::Post => 2,
        Method::Put => 3,
        Method::Delete => 4,
        Method::Patch => 5,
        Method::Options => 6,
        Method::Trace => 7,
        Method::Connect => 8,
    }
}

impl MethodSet {
    fn of(methods: &[Method]) -> MethodSet {
        MethodSet(
            methods
                .iter()
                .fold(0, |bits, m| bits | 1 << method_index(*m)),
        )
    }

    fn contains(self, method: Method) -> bool {
        self.0 & 1 << method_index(method) != 0
    }

    fn intersects(self, other: MethodSet) -> bool {
        self.0 & other.0 != 0
    }

    fn union(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 | other.0)
    }

    fn iter(self) -> impl Iterator<Item = Method> {
        Method::ALL.into_iter().filter(move |m| self.contains(*m))
    }

    /// The `Allow` header: these methods, `HEAD` where `GET` is, and
    /// `OPTIONS` (answered for every path).
    fn allow_header(self) -> String {
        let mut allowed = self;
        if self.contains(Method::Get) {
            allowed = allowed.union(MethodSet::of(&[Method::Head]));
        }
        allowed = allowed.union(MethodSet::of(&[Method::Options]));
        allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn describe(self) -> String {
        self.iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A route as it is listed and named in errors: its methods, its full path
/// (mount prefixes included), the handler's name and where it was declared.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteSummary {
    /// The methods it answers (`HEAD` is implied by `GET` and not listed).
    pub methods: Vec<Method>,
    /// The full path pattern, mount prefixes included (`/admin/users/{id}`).
    pub path: String,
    /// The handler's name: the function of a route macro, the closure's
    /// type name otherwise.
    pub name: String,
    /// The module the route was declared in.
    pub module: &'static str,
    /// Where it was declared.
    pub location: Location,
    /// Whether it answers with a stream (`#[sse]`).
    pub kind: RouteKind,
}

impl fmt::Display for RouteSummary {
    /// `GET /users/{id} (`user` at src/main.rs:10:1)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let methods: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
        write!(
            f,
            "`{} {}` (`{}` at {})",
            methods.join(", "),
            self.path,
            self.name,
            self.location
        )
    }
}

/// The routes of a router, as [`Router::routes`] lists them: a slice of
/// [`RouteSummary`] (it derefs to one) whose `Display` is a table for
/// people, one route a line:
///
/// ```text
/// METHOD     PATH         HANDLER                SOURCE
/// GET        /users/{id}  app::user              src/main.rs:12:1
/// GET, POST  /slow        app::slow              src/main.rs:30:1
/// GET        /events      app::events (stream)   src/main.rs:41:1
/// *          /*           fallback closure       src/main.rs:60:10
/// ```
///
/// `GET` routes answer `HEAD` too (not listed); a fallback answers any
/// method (`*`). Every line ends with a newline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<RouteSummary>,
}

impl RouteTable {
    /// The summaries, in the router's order.
    pub fn as_slice(&self) -> &[RouteSummary] {
        &self.routes
    }

    /// The summaries, owned.
    pub fn into_vec(self) -> Vec<RouteSummary> {
        self.routes
    }
}

impl std::ops::Deref for RouteTable {
    type Target = [RouteSummary];

    fn deref(&self) -> &[RouteSummary] {
        &self.routes
    }
}

impl<'a> IntoIterator for &'a RouteTable {
    type Item = &'a RouteSummary;
    type IntoIter = std::slice::Iter<'a, RouteSummary>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.iter()
    }
}

impl IntoIterator for RouteTable {
    type Item = RouteSummary;
    type IntoIter = std::vec::IntoIter<RouteSummary>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.into_iter()
    }
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .routes
            .iter()
            .map(|route| {
                let methods = if route.methods.is_empty() {
                    "*".to_owned()
                } else {
                    route
                        .methods
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut handler = if route.module.is_empty() {
                    route.name.clone()
                } else {
                    format!("{}::{}", route.module, route.name)
                };
                if route.kind == RouteKind::Stream {
                    handler.push_str(" (stream)");
                }
                [
                    methods,
                    route.path.clone(),
                    handler,
                    route.location.to_string(),
                ]
            })
            .collect();
        let header = ["METHOD", "PATH", "HANDLER", "SOURCE"].map(str::to_owned);
        let mut widths = [0; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            for (cell, width) in row.iter().zip(widths) {
                write!(f, "{cell:<width$}  ")?;
            }
            writeln!(f, "{}", row[3])?;
        }
        Ok(())
    }
}

/// One route: methods, a path pattern and the handler that answers it.
///
/// Route macros (`#[get("/users/{id}")]`) make one from a function;
/// [`Route::new`] makes one from a closure or function taking extractors.
/// A [`Router`] collects them.
#[derive(Clone)]
pub struct Route {
    methods: MethodSet,
    path: Cow<'static, str>,
    name: Cow<'static, str>,
    module: &'static str,
    location: Location,
    body_limit: Option<u64>,
    kind: RouteKind,
    state_requirements: Vec<StateRequirement>,
    /// More than one body extractor (closures only: macros refuse it at
    /// compile time).
    body_readers: usize,
    handler: BoxedHandler,
    /// States of the routers this route was mounted through, nearest first.
    scoped_states: Vec<StateEntry>,
}

impl Route {
    /// A route answering `methods` on `path` with `handler`: any function
    /// or closure whose arguments are extractors and whose value is a
    /// response (see [`RouteFn`]).
    ///
    /// ```
    /// use sutegi::{Method, Route, Router};
    /// let ping = Route::new(&[Method::Get, Method::Post], "/ping", || "pong");
    /// let app = Router::new().route(ping);
    /// # app.into_handler().unwrap();
    /// ```
    ///
    /// The path follows matchit's syntax (`{name}` captures one segment,
    /// `{*rest}` the rest of the path); a malformed one is reported by
    /// [`Router::into_handler`], with this call's location.
    #[track_caller]
    pub fn new<A>(
        methods: &[Method],
        path: impl Into<Cow<'static, str>>,
        handler: impl RouteFn<A>,
    ) -> Route {
        Route::from_fn(methods, path.into(), handler, Location::caller())
    }

    fn from_fn<A, F: RouteFn<A>>(
        methods: &[Method],
        path: Cow<'static, str>,
        handler: F,
        location: Location,
    ) -> Route {
        Route {
            methods: MethodSet::of(methods),
            path,
            name: Cow::Borrowed(handler_name::<F>()),
            module: "",
            location,
            body_limit: None,
            kind: RouteKind::Plain,
            state_requirements: F::state_requirements(),
            body_readers: F::body_readers(),
            handler: handler.into_boxed_handler(),
            scoped_states: Vec::new(),
        }
    }

    /// Raises (or lowers) the request body limit for this route above the
    /// server's [`Limits::max_body_bytes`](crate::Limits): an upload route
    /// can take 64 MiB while the rest keep the default.
    pub fn body_limit(mut self, bytes: u64) -> Route {
        self.body_limit = Some(bytes);
        self
    }

    /// Names the route (for errors and listings) instead of the closure's
    /// type name.
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Route {
        self.name = name.into();
        self
    }

    /// The route's path pattern, relative to the router it is in.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The methods it answers.
    pub fn methods(&self) -> Vec<Method> {
        self.methods.iter().collect()
    }

    /// What the route macros generate. Not for hand-written code: use
    /// [`Route::new`].
    #[doc(hidden)]
    pub fn __from_macro(info: RouteInfo) -> Route {
        Route {
            methods: MethodSet::of(info.methods),
            path: Cow::Borrowed(info.path),
            name: Cow::Borrowed(info.name),
            module: info.module,
            location: Location {
                file: info.file,
                line: info.line,
                column: info.column,
            },
            body_limit: info.body_limit,
            kind: info.kind,
            state_requirements: info.state_requirements.into_iter().flatten().collect(),
            body_readers: 0,
            handler: info.handler,
            scoped_states: Vec::new(),
        }
    }

    fn summary(&self) -> RouteSummary {
        RouteSummary {
            methods: self.methods.iter().collect(),
            path: self.path.to_string(),
            name: self.name.to_string(),
            module: self.module,
            location: self.location,
            kind: self.kind,
        }
    }

    /// Whether `other` is the same declaration (for `url_for`).
    fn same_declaration(&self, other: &Route) -> bool {
        self.name == other.name && self.module == other.module && self.location == other.location
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("methods", &self.methods.describe())
            .field("path", &self.path)
            .field("name", &self.name)
            .field("location", &self.location)
            .field("body_limit", &self.body_limit)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A handler for a route: a function or closure taking up to eight
/// extractors (every argument implements [`FromRequest`] for any lifetime,
/// i.e. is owned) and returning an [`IntoResponse`]. A first argument of
/// type `&Request` is allowed too.
///
/// ```
/// use sutegi::{Json, Path, Query, Request, Router, State};
/// # #[derive(serde::Deserialize)] struct Page { n: u32 }
/// struct Db;
/// let app = Router::new()
///     .get("/", || "home")
///     .get("/users/{id}", |Path(id): Path<u64>, _db: State<Db>| format!("user {id}"))
///     .get("/page", |q: Query<Page>| q.n.to_string())
///     .post("/echo", |body: Vec<u8>| body)
///     .get("/whoami", |req: &Request| req.peer_addr().to_string())
///     .with_state(Db);
/// # app.into_handler().unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot answer a route",
    label = "not a route handler",
    note = "a route handler is a function or closure whose arguments are extractors (`Query<T>`, `Json<T>`, `Path<T>`, `State<T>`, …; at most eight) and whose return type implements `sutegi::IntoResponse`; annotate closure arguments with their types"
)]
pub trait RouteFn<Args>: Send + Sync + Sized + 'static {
    /// Wraps the function into what the router calls.
    #[doc(hidden)]
    fn into_boxed_handler(self) -> BoxedHandler;

    /// The states its extractors need.
    #[doc(hidden)]
    fn state_requirements() -> Vec<StateRequirement>;

    /// How many of its extractors read the body.
    #[doc(hidden)]
    fn body_readers() -> usize;
}

/// The marker for handlers whose first argument is `&Request`.
#[doc(hidden)]
pub struct RequestRef;

macro_rules! route_fn_impls {
    ($($arg:ident),*) => {
        impl<F, R, $($arg,)*> RouteFn<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
            R: IntoResponse,
            $($arg: for<'r> FromRequest<'r>,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn into_boxed_handler(self) -> BoxedHandler {
                Arc::new(move |cx: &RequestContext<'_>| {
                    $(
                        let $arg = match <$arg as FromRequest>::from_request(cx) {
                            Ok(value) => value,
                            Err(rejection) => return rejection.into_response(),
                        };
                    )*
                    (self)($($arg),*).into_response()
                })
            }

            fn state_requirements() -> Vec<StateRequirement> {
                let all: Vec<Option<StateRequirement>> =
                    vec![$(<$arg as FromRequest<'static>>::state_requirement()),*];
                all.into_iter().flatten().collect()
            }

            fn body_readers() -> usize {
                0 $(+ usize::from(<$arg as FromRequest<'static>>::READS_BODY))*
            }
        }

        impl<F, R, $($arg,)*> RouteFn<(RequestRef, $($arg,)*)> for F
        where
            F: for<'q> Fn(&'q Request, $($arg),*) -> R + Send + Sync + 'static,
            R: IntoResponse,
            $($arg: for<'r> FromRequest<'r>,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn into_boxed_handler(self) -> BoxedHandler {
                Arc::new(move |cx: &RequestContext<'_>| {
                    $(
                        let $arg = match <$arg as FromRequest>::from_request(cx) {
                            Ok(value) => value,
                            Err(rejection) => return rejection.into_response(),
                        };
                    )*
                    (self)(cx.request(), $($arg),*).into_response()
                })
            }

            fn state_requirements() -> Vec<StateRequirement> {
                let all: Vec<Option<StateRequirement>> =
                    vec![$(<$arg as FromRequest<'static>>::state_requirement()),*];
                all.into_iter().flatten().collect()
            }

            fn body_readers() -> usize {
                0 $(+ usize::from(<$arg as FromRequest<'static>>::READS_BODY))*
            }
        }
    };
}

route_fn_impls!();
route_fn_impls!(A1);
route_fn_impls!(A1, A2);
route_fn_impls!(A1, A2, A3);
route_fn_impls!(A1, A2, A3, A4);
route_fn_impls!(A1, A2, A3, A4, A5);
route_fn_impls!(A1, A2, A3, A4, A5, A6);
route_fn_impls!(A1, A2, A3, A4, A5, A6, A7);
route_fn_impls!(A1, A2, A3, A4, A5, A6, A7, A8);

/// Something [`Router::route`] takes: a [`Route`], or the companion item a
/// route macro generates (`routes![user]` passes `user {}`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a route",
    label = "not a route",
    note = "put `#[get(\"/path\")]` (or `#[post]`, `#[route]`, `#[sse]`, …) on the function, or build a `sutegi::Route` with `Route::new`"
)]
pub trait RouteSource {
    /// The route.
    fn into_route(self) -> Route;
}

impl RouteSource for Route {
    fn into_route(self) -> Route {
        self
    }
}

/// A fallback handler: what answers a path no route matches, under the
/// prefix of the router it was given to.
#[derive(Clone)]
struct Fallback {
    prefix: String,
    handler: BoxedHandler,
    state_requirements: Vec<StateRequirement>,
    scoped_states: Vec<StateEntry>,
    location: Location,
    name: Cow<'static, str>,
    /// `Builder::add_fallbacks`, reached through the fallbacks themselves
    /// so that a program that never calls `fallback` does not link it.
    compile: CompileFallbacks,
}

/// What [`Builder::add_fallbacks`] is: checks the fallbacks and gives their
/// matcher, those under a prefix, and the root one.
type CompileFallbacks = fn(
    &mut Builder,
    Vec<Fallback>,
    &[StateEntry],
) -> (
    matchit::Router<u32>,
    Vec<CompiledFallback>,
    Option<CompiledFallback>,
);

impl Fallback {
    fn summary(&self) -> RouteSummary {
        RouteSummary {
            methods: Vec::new(),
            path: if self.prefix.is_empty() {
                "/*".into()
            } else {
                format!("{}/*", self.prefix)
            },
            name: format!("fallback {}", self.name),
            module: "",
            location: self.location,
            kind: RouteKind::Plain,
        }
    }
}

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
/// Middleware wraps the whole router ([`layer`](Router::layer)); a health
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
}

impl Router {
    /// An empty router: every path is a 404 until routes are added.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a route: the companion of a route macro (`.route(user {})`,
    /// which `routes![user]` writes for you) or a [`Route`].
    pub fn route(mut self, route: impl RouteSource) -> Router {
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
    /// none. The prefix starts with `/` and may hold captures
    /// (`/orgs/{org}`), not a catch-all; a bad prefix is reported by
    /// [`into_handler`](Router::into_handler).
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
        } = router;
        if !layers.is_empty() {
            // Layers wrap a whole router (404s and preflights included);
            // under a prefix they would have to wrap some requests and not
            // others, and dropping them silently would drop an auth check.
            self.problems.push(RouterProblem::LayersInMountedRouter {
                prefix: prefix.clone(),
                location,
                layers: layers.iter().map(|layer| format!("{layer:?}")).collect(),
            });
        }
        for mut route in routes {
            route.path = Cow::Owned(join_path(&prefix, &route.path));
            route.scoped_states.extend(states.iter().cloned());
            route.body_limit = route.body_limit.or(body_limit);
            self.routes.push(route);
        }
        for mut fallback in fallbacks {
            fallback.prefix = format!("{prefix}{}", fallback.prefix);
            fallback.scoped_states.extend(states.iter().cloned());
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
        self.fallbacks.push(Fallback {
            prefix: String::new(),
            state_requirements: F::state_requirements(),
            handler: handler.into_boxed_handler(),
            scoped_states: Vec::new(),
            location: Location::caller(),
            name: Cow::Borrowed(handler_name::<F>()),
            compile: Builder::add_fallbacks,
        });
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
        route: impl RouteSource,
        args: &[&dyn fmt::Display],
    ) -> Result<String, UrlError> {
        let wanted = route.into_route();
        let paths: Vec<&str> = self
            .routes
            .iter()
            .filter(|candidate| candidate.same_declaration(&wanted))
            .map(|candidate| &*candidate.path)
            .collect();
        fill_path(&wanted, &paths, args)
    }

    /// Wraps the whole router in `middleware`: a closure
    /// `|request: &mut Request, next: Next<'_>| -> Response` or a
    /// [`Middleware`] type ([`AccessLog`](crate::middleware::AccessLog),
    /// [`Cors`](crate::middleware::Cors),
    /// [`RequestIds`](crate::middleware::RequestIds), your own).
    ///
    /// **The layer added last is the outermost** (as with axum's `layer`
    /// and actix-web's `wrap`): in `.layer(a).layer(b)`, `b` sees the
    /// request first and the response last. Every layer sees every request
    /// the router answers, 404s, 405s and the automatic `OPTIONS` answers
    /// included; see [`middleware`](crate::middleware) for what it does not
    /// see. Layers belong to the top router: a mounted router that has
    /// some is refused by [`into_handler`](Router::into_handler).
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
    pub fn layer(mut self, middleware: impl Middleware) -> Router {
        self.layers.push(Layer::new(middleware, Location::caller()));
        self
    }

    /// Adds a health route at `path` (`GET`, and so `HEAD`) for a load
    /// balancer or a Kubernetes readiness probe: 200
    /// `text/plain; charset=utf-8` `ok` while serving, 503 `shutting down`
    /// from the moment shutdown begins (when the server calls
    /// [`Handler::shutdown_started`], before it stops accepting: see
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
            handler,
            scoped_states: Vec::new(),
        };
        self.route(route)
    }

    /// Every route of this router, mounted ones with their prefix, in the
    /// order added, then the fallbacks: method, full path, handler name,
    /// module, source location and kind. Its `Display` is a table, one
    /// route a line.
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
        let routes = self
            .routes
            .iter()
            .map(Route::summary)
            .chain(self.fallbacks.iter().map(Fallback::summary))
            .collect();
        RouteTable { routes }
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
    /// extractors, middleware on a mounted router.
    pub fn into_handler(self) -> Result<RouterHandler, RouterError> {
        let print_routes = self.print_routes;
        let handler = Builder::default().build(self)?;
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

/// A handler's name for messages: a function's own name, `closure` for a
/// closure (its location says which).
fn handler_name<F>() -> &'static str {
    let full = std::any::type_name::<F>();
    if full.contains("{{closure}}") {
        "closure"
    } else {
        shorten_type_name(full)
    }
}

/// `/admin/` → `/admin`, `/` → ``; refuses what cannot prefix a path.
fn normalize_prefix(prefix: &str) -> Result<String, String> {
    if !prefix.starts_with('/') {
        return Err("a mount prefix starts with `/`".into());
    }
    if prefix.contains("{*") {
        return Err("a mount prefix cannot hold a catch-all `{*…}`: it would leave nothing for the mounted routes".into());
    }
    Ok(prefix.trim_end_matches('/').to_owned())
}

/// `/admin` + `/stats` → `/admin/stats`; `/admin` + `/` → `/admin`.
fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_owned()
    } else if path == "/" {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

/// What [`Router::into_handler`] found wrong: every problem of the router,
/// each naming the routes and their source locations.
#[derive(Clone, Debug)]
pub struct RouterError {
    problems: Vec<RouterProblem>,
}

impl RouterError {
    /// Each problem found.
    pub fn problems(&self) -> &[RouterProblem] {
        &self.problems
    }
}

impl fmt::Display for RouterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "the router cannot be built: {one}"),
            problems => {
                write!(
                    f,
                    "the router cannot be built ({} problems):",
                    problems.len()
                )?;
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RouterError {}

/// One thing wrong with a router (see [`RouterError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouterProblem {
    /// Two routes match the same requests with a common method.
    Conflict {
        /// The route added later.
        route: RouteSummary,
        /// The route it conflicts with.
        existing: RouteSummary,
    },
    /// Two routes name the capture at one position differently
    /// (`/users/{id}` and `/users/{name}/posts`).
    CaptureNames {
        /// The route added later.
        route: RouteSummary,
        /// The route it disagrees with.
        existing: RouteSummary,
        /// The name `route` uses.
        name: String,
        /// The name `existing` uses.
        existing_name: String,
    },
    /// A path pattern matchit refuses.
    InvalidPath {
        /// The route.
        route: RouteSummary,
        /// What is wrong with it.
        reason: String,
    },
    /// A mount prefix that cannot prefix paths.
    InvalidPrefix {
        /// The prefix given.
        prefix: String,
        /// Where `mount` was called.
        location: Location,
        /// What is wrong with it.
        reason: String,
    },
    /// A route takes a `State<T>` no router it is in was given.
    MissingState {
        /// The route.
        route: RouteSummary,
        /// `T`.
        type_name: &'static str,
    },
    /// A closure route takes more than one extractor that reads the body.
    SeveralBodyReaders {
        /// The route.
        route: RouteSummary,
    },
    /// A router with middleware layers was mounted in another: layers wrap
    /// a whole router, so they go on the outer one.
    LayersInMountedRouter {
        /// The mount prefix.
        prefix: String,
        /// Where `mount` was called.
        location: Location,
        /// Each layer, named with where it was added.
        layers: Vec<String>,
    },
}

impl fmt::Display for RouterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouterProblem::Conflict { route, existing } => write!(
                f,
                "route {route} conflicts with route {existing}: both match the same requests; change one path or method, or remove one"
            ),
            RouterProblem::CaptureNames { route, existing, name, existing_name } => write!(
                f,
                "route {route} names a capture `{{{name}}}` where route {existing} names it `{{{existing_name}}}`: captures at one position of the path must share a name; rename one"
            ),
            RouterProblem::InvalidPath { route, reason } => {
                write!(f, "route {route} has an invalid path: {reason}")
            }
            RouterProblem::InvalidPrefix { prefix, location, reason } => {
                write!(f, "mount prefix `{prefix}` at {location} is invalid: {reason}")
            }
            RouterProblem::MissingState { route, type_name } => {
                let short = shorten_type_name(type_name);
                write!(
                    f,
                    "route {route} takes `State<{short}>` but no router it is in was given one: add `.with_state(value)` with a `{type_name}`"
                )
            }
            RouterProblem::SeveralBodyReaders { route } => write!(
                f,
                "route {route} takes more than one extractor that reads the request body, which can be read once: keep one"
            ),
            RouterProblem::LayersInMountedRouter { prefix, location, layers } => write!(
                f,
                "the router mounted at `{prefix}` ({location}) has middleware ({}), but layers wrap a whole router: add them to the outer router with `.layer(..)`, checking `request.path()` there to limit one to `{prefix}`",
                layers.join(", ")
            ),
        }
    }
}

/// Why [`Router::url_for`] could not build a path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The route is not in this router: add it, or ask the router it is in.
    NotInRouter {
        /// The route's path pattern as declared.
        route: String,
    },
    /// The route is mounted at several places: build the path from the
    /// router it is mounted in, plus the prefix you mean.
    Ambiguous {
        /// Each full path pattern it has.
        paths: Vec<String>,
    },
    /// `args` does not hold one value per capture.
    WrongArgumentCount {
        /// The full path pattern.
        path: String,
        /// Its number of captures.
        expected: usize,
        /// The number of values given.
        given: usize,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NotInRouter { route } => {
                write!(f, "the route `{route}` is not in this router; add it with `.route(..)` first")
            }
            UrlError::Ambiguous { paths } => write!(
                f,
                "the route is mounted at several paths ({}); build the path from the mounted router",
                paths.join(", ")
            ),
            UrlError::WrongArgumentCount { path, expected, given } => write!(
                f,
                "`{path}` has {expected} captures but {given} values were given; pass one per capture, in path order"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

fn fill_path(
    wanted: &Route,
    paths: &[&str],
    args: &[&dyn fmt::Display],
) -> Result<String, UrlError> {
    let path = match paths {
        [] => {
            return Err(UrlError::NotInRouter {
                route: wanted.path.to_string(),
            })
        }
        [first, rest @ ..] if rest.iter().all(|p| p == first) => *first,
        _ => {
            return Err(UrlError::Ambiguous {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            })
        }
    };
    let pieces = parse_pattern(path);
    let expected = pieces
        .iter()
        .filter(|p| !matches!(p, PatternPiece::Literal(_)))
        .count();
    if expected != args.len() {
        return Err(UrlError::WrongArgumentCount {
            path: path.to_owned(),
            expected,
            given: args.len(),
        });
    }
    let mut args = args.iter();
    let built: Vec<PathPiece<'_>> = pieces
        .iter()
        .map(|piece| match piece {
            PatternPiece::Literal(text) => PathPiece::Text(text),
            PatternPiece::Capture(_) => PathPiece::Capture(*args.next().expect("counted above")),
            PatternPiece::CatchAll(_) => PathPiece::CatchAll(*args.next().expect("counted above")),
        })
        .collect();
    Ok(build_path(&built))
}

/// A piece of a matchit path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternPiece<'a> {
    /// Literal text, `{{` and `}}` unescaped.
    Literal(Cow<'a, str>),
    /// `{name}`
    Capture(&'a str),
    /// `{*name}`
    CatchAll(&'a str),
}

/// Splits a pattern matchit accepted into its pieces.
fn parse_pattern(pattern: &str) -> Vec<PatternPiece<'_>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            literal.push('{');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            literal.push('}');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let end = after.find('}').unwrap_or(after.len());
            if !literal.is_empty() {
                pieces.push(PatternPiece::Literal(Cow::Owned(std::mem::take(
                    &mut literal,
                ))));
            }
            let name = &after[..end];
            pieces.push(match name.strip_prefix('*') {
                Some(name) => PatternPiece::CatchAll(name),
                None => PatternPiece::Capture(name),
            });
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let next = rest
                .char_indices()
                .find(|(_, c)| *c == '{' || *c == '}')
                .map_or(rest.len(), |(i, _)| i);
            let next = if next == 0 {
                rest.chars().next().map_or(1, char::len_utf8)
            } else {
                next
            };
            literal.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    if !literal.is_empty() {
        pieces.push(PatternPiece::Literal(Cow::Owned(literal)));
    }
    pieces
}

/// The pattern with capture names erased: two patterns that normalise
/// alike match the same paths.
fn normalized(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for piece in parse_pattern(pattern) {
        match piece {
            PatternPiece::Literal(text) => {
                out.push_str(&text.replace('{', "{{").replace('}', "}}"))
            }
            PatternPiece::Capture(_) => out.push_str("{}"),
            PatternPiece::CatchAll(_) => out.push_str("{*}"),
        }
    }
    out
}

// ------------------------------------------------------------------ building

/// A route once checked: what dispatch needs.
struct CompiledRoute {
    handler: BoxedHandler,
    states: Box<[StateEntry]>,
    body_limit: Option<u64>,
    summary: RouteSummary,
}

/// One distinct path pattern and the route of each method on it.
struct PathEntry {
    by_method: [Option<u32>; METHOD_COUNT],
    methods: MethodSet,
    allow: String,
}

impl PathEntry {
    fn route_for(&self, method: Method) -> Option<u32> {
        match self.by_method[method_index(method)] {
            None if method == Method::Head => self.by_method[method_index(Method::Get)],
            found => found,
        }
    }
}

/// A fallback once checked.
struct CompiledFallback {
    handler: BoxedHandler,
    states: Box<[StateEntry]>,
    summary: RouteSummary,
}

/// The name of the catch-all a mounted router's fallback is matched with.
const FALLBACK_REST: &str = "__sutegi_rest";

#[derive(Default)]
struct Builder {
    problems: Vec<RouterProblem>,
    matcher: matchit::Router<u32>,
    paths: Vec<PathEntry>,
    /// The pattern of each entry of `paths`, as written.
    patterns: Vec<String>,
    // Every map of the builder is this one type (a string to an index): one
    // map instantiation in the binary instead of five, and a B-tree rather
    // than a HashMap, which would bring SipHash and the random seed into
    // programs that use no HashMap of their own (11 KB less in `hello`).
    /// Pattern as written → index into `paths`.
    by_pattern: BTreeMap<String, u32>,
    /// Normalised pattern → index into `paths` of the first pattern written so.
    by_normalized: BTreeMap<String, u32>,
    routes: Vec<CompiledRoute>,
}

impl Builder {
    fn build(mut self, router: Router) -> Result<RouterHandler, RouterError> {
        let Router {
            routes,
            states,
            fallbacks,
            error_shape,
            body_limit,
            problems,
            layers,
            print_routes: _,
        } = router;
        self.problems.extend(problems);
        for mut route in routes {
            route.body_limit = route.body_limit.or(body_limit);
            self.add_route(route, &states);
        }
        self.check_capture_names();
        let (fallback_matcher, fallbacks, root_fallback) = match fallbacks.first() {
            Some(fallback) => (fallback.compile)(&mut self, fallbacks, &states),
            None => (matchit::Router::new(), Vec::new(), None),
        };

        if !self.problems.is_empty() {
            return Err(RouterError {
                problems: self.problems,
            });
        }
        let all_methods = self
            .paths
            .iter()
            .fold(MethodSet::default(), |all, entry| all.union(entry.methods));
        Ok(RouterHandler {
            matcher: self.matcher,
            paths: self.paths,
            routes: self.routes,
            fallback_matcher,
            fallbacks,
            root_fallback,
            server_allow: all_methods.allow_header(),
            error_shape,
            shutting_down: Arc::new(AtomicBool::new(false)),
            // Outermost first, the order `Next` walks them in.
            layers: layers.into_iter().rev().collect(),
        })
    }

    fn add_route(&mut self, route: Route, top_states: &[StateEntry]) {
        let summary = route.summary();
        let states: Box<[StateEntry]> = route
            .scoped_states
            .iter()
            .chain(top_states)
            .cloned()
            .collect();
        for requirement in &route.state_requirements {
            if !states
                .iter()
                .any(|state| state.type_id == requirement.type_id())
            {
                self.problems.push(RouterProblem::MissingState {
                    route: summary.clone(),
                    type_name: requirement.type_name(),
                });
            }
        }
        if route.body_readers > 1 {
            self.problems.push(RouterProblem::SeveralBodyReaders {
                route: summary.clone(),
            });
        }
        if route.methods == MethodSet::default() {
            self.problems.push(RouterProblem::InvalidPath {
                route: summary,
                reason: "the route answers no method; give it at least one".into(),
            });
            return;
        }
        let Some(entry_index) = self.path_entry(&route, &summary) else {
            return;
        };
        let entry = &mut self.paths[entry_index as usize];
        if entry.methods.intersects(route.methods) {
            let clash = route
                .methods
                .iter()
                .find(|m| entry.methods.contains(*m))
                .expect("they intersect");
            let existing = entry.by_method[method_index(clash)].expect("the method is taken");
            self.problems.push(RouterProblem::Conflict {
                route: summary,
                existing: self.routes[existing as usize].summary.clone(),
            });
            return;
        }
        let route_index = self.routes.len() as u32;
        for method in route.methods.iter() {
            entry.by_method[method_index(method)] = Some(route_index);
        }
        entry.methods = entry.methods.union(route.methods);
        entry.allow = entry.methods.allow_header();
        self.routes.push(CompiledRoute {
            handler: route.handler,
            states,
            body_limit: route.body_limit,
            summary,
        });
    }

    /// The path entry for the route's pattern, inserting it into matchit
    /// when new; `None` (and a problem recorded) when matchit refuses it.
    fn path_entry(&mut self, route: &Route, summary: &RouteSummary) -> Option<u32> {
        let pattern = &*route.path;
        if let Some(index) = self.by_pattern.get(pattern) {
            return Some(*index);
        }
        if !pattern.starts_with('/') {
            self.problems.push(RouterProblem::InvalidPath {
                route: summary.clone(),
                reason: format!("`{pattern}` does not start with `/`"),
            });
            return None;
        }
        let index = self.paths.len() as u32;
        match self.matcher.insert(pattern, index) {
            Ok(()) => {
                self.paths.push(PathEntry {
                    by_method: [None; METHOD_COUNT],
                    methods: MethodSet::default(),
                    allow: String::new(),
                });
                self.patterns.push(pattern.to_owned());
                self.by_pattern.insert(pattern.to_owned(), index);
                self.by_normalized
                    .entry(normalized(pattern))
                    .or_insert(index);
                Some(index)
            }
            Err(matchit::InsertError::Conflict { with }) => {
                let existing = self
                    .by_normalized
                    .get(&normalized(&with))
                    .and_then(|index| {
                        self.paths[*index as usize]
                            .by_method
                            .iter()
                            .flatten()
                            .next()
                    })
                    .map(|route_index| self.routes[*route_index as usize].summary.clone());
                let problem = match existing {
                    Some(existing) if normalized(&existing.path) == normalized(pattern) => {
                        let (name, existing_name) = first_name_difference(pattern, &existing.path);
                        RouterProblem::CaptureNames {
                            route: summary.clone(),
                            existing,
                            name,
                            existing_name,
                        }
                    }
                    Some(existing) => RouterProblem::Conflict {
                        route: summary.clone(),
                        existing,
                    },
                    None => RouterProblem::InvalidPath {
                        route: summary.clone(),
                        reason: format!("it conflicts with `{with}`"),
                    },
                };
                self.problems.push(problem);
                None
            }
            Err(error) => {
                self.problems.push(RouterProblem::InvalidPath {
                    route: summary.clone(),
                    reason: path_error_hint(&error),
                });
                None
            }
        }
    }

    /// matchit 0.8 accepts `/users/{id}` beside `/users/{name}/posts` and
    /// answers both with whichever name it saw first; a handler reading
    /// `name` would find nothing. Refuse it here instead.
    fn check_capture_names(&mut self) {
        // (pattern prefix up to a capture, with earlier captures erased) →
        // index into `names` of (name there, the route that set it)
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        let mut names: Vec<(&str, u32)> = Vec::new();
        // Pairs already reported: few, and only when something is wrong.
        let mut reported: Vec<(u32, u32)> = Vec::new();
        for (pattern, entry) in self.patterns.iter().zip(&self.paths) {
            let Some(route_index) = entry.by_method.iter().flatten().min().copied() else {
                continue;
            };
            let mut key = String::new();
            for piece in parse_pattern(pattern) {
                let (name, marker) = match piece {
                    PatternPiece::Literal(text) => {
                        key.push_str(&text.replace('{', "{{"));
                        continue;
                    }
                    PatternPiece::Capture(name) => (name, "{}"),
                    PatternPiece::CatchAll(name) => (name, "{*}"),
                };
                key.push_str(marker);
                match seen.get(&key).map(|index| names[*index as usize]) {
                    Some((existing_name, existing_route)) if existing_name != name => {
                        let pair = (existing_route, route_index);
                        if !reported.contains(&pair) {
                            reported.push(pair);
                            self.problems.push(RouterProblem::CaptureNames {
                                route: self.routes[route_index as usize].summary.clone(),
                                existing: self.routes[existing_route as usize].summary.clone(),
                                name: name.to_owned(),
                                existing_name: existing_name.to_owned(),
                            });
                        }
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key.clone(), names.len() as u32);
                        names.push((name, route_index));
                    }
                }
            }
        }
    }

    fn add_fallbacks(
        &mut self,
        fallbacks: Vec<Fallback>,
        top_states: &[StateEntry],
    ) -> (
        matchit::Router<u32>,
        Vec<CompiledFallback>,
        Option<CompiledFallback>,
    ) {
        let mut matcher = matchit::Router::new();
        let mut compiled = Vec::new();
        let mut root = None;
        // Prefix → index into `summaries`, the fallbacks accepted so far.
        let mut by_prefix: BTreeMap<String, u32> = BTreeMap::new();
        let mut summaries: Vec<RouteSummary> = Vec::new();
        for fallback in fallbacks {
            let summary = fallback.summary();
            let states: Box<[StateEntry]> = fallback
                .scoped_states
                .iter()
                .chain(top_states)
                .cloned()
                .collect();
            for requirement in &fallback.state_requirements {
                if !states
                    .iter()
                    .any(|state| state.type_id == requirement.type_id())
                {
                    self.problems.push(RouterProblem::MissingState {
                        route: summary.clone(),
                        type_name: requirement.type_name(),
                    });
                }
            }
            if let Some(existing) = by_prefix.get(&fallback.prefix) {
                self.problems.push(RouterProblem::Conflict {
                    route: summary,
                    existing: summaries[*existing as usize].clone(),
                });
                continue;
            }
            by_prefix.insert(fallback.prefix.clone(), summaries.len() as u32);
            summaries.push(summary.clone());
            let this = CompiledFallback {
                handler: fallback.handler,
                states,
                summary: summary.clone(),
            };
            if fallback.prefix.is_empty() {
                root = Some(this);
                continue;
            }
            let index = compiled.len() as u32;
            let prefix = &fallback.prefix;
            let patterns = [
                prefix.clone(),
                format!("{prefix}/"),
                format!("{prefix}/{{*{FALLBACK_REST}}}"),
            ];
            for pattern in patterns {
                if let Err(error) = matcher.insert(pattern, index) {
                    self.problems.push(RouterProblem::InvalidPath {
                        route: summary.clone(),
                        reason: format!("its mount prefix cannot take a fallback: {error}"),
                    });
                    break;
                }
            }
            compiled.push(this);
        }
        (matcher, compiled, root)
    }
}

/// The first capture named differently in two patterns that normalise alike.
fn first_name_difference(a: &str, b: &str) -> (String, String) {
    let names = |p| {
        parse_pattern(p)
            .into_iter()
            .filter_map(|piece| match piece {
                PatternPiece::Capture(name) | PatternPiece::CatchAll(name) => Some(name.to_owned()),
                PatternPiece::Literal(_) => None,
            })
            .collect::<Vec<_>>()
    };
    names(a)
        .into_iter()
        .zip(names(b))
        .find(|(x, y)| x != y)
        .unwrap_or_default()
}

fn path_error_hint(error: &matchit::InsertError) -> String {
    match error {
        matchit::InsertError::InvalidParamSegment => {
            "only one capture is allowed per path segment (`/{a}-{b}` is not; `/{a}/{b}` is)".into()
        }
        matchit::InsertError::InvalidParam => {
            "a capture is `{name}` with a non-empty name and matching braces; write `{{` or `}}` for a literal brace".into()
        }
        matchit::InsertError::InvalidCatchAll => {
            "a catch-all `{*name}` must be the last thing in the path".into()
        }
        other => other.to_string(),
    }
}

// ------------------------------------------------------------------ serving

/// A checked [`Router`], ready to serve: the [`Handler`] that
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
    matcher: matchit::Router<u32>,
    paths: Vec<PathEntry>,
    routes: Vec<CompiledRoute>,
    fallback_matcher: matchit::Router<u32>,
    fallbacks: Vec<CompiledFallback>,
    root_fallback: Option<CompiledFallback>,
    /// `Allow` for `OPTIONS *`: every method some route takes.
    server_allow: String,
    error_shape: Option<ErrorShape>,
    /// Set once shutdown begins; health routes read it.
    shutting_down: Arc<AtomicBool>,
    /// Middleware, outermost first; empty costs nothing per request.
    layers: Box<[Layer]>,
}

impl RouterHandler {
    /// The full path of `route`, mount prefixes included; see
    /// [`Router::url_for`].
    pub fn url_for(
        &self,
        route: impl RouteSource,
        args: &[&dyn fmt::Display],
    ) -> Result<String, UrlError> {
        let wanted = route.into_route();
        // A compiled route's summary keeps its full path and what
        // identifies its declaration.
        let paths: Vec<&str> = self
            .routes
            .iter()
            .map(|route| &route.summary)
            .filter(|summary| {
                summary.name == wanted.name
                    && summary.module == wanted.module
                    && summary.location == wanted.location
            })
            .map(|summary| summary.path.as_str())
            .collect();
        fill_path(&wanted, &paths, args)
    }

    /// Every route it serves, then the fallbacks; see [`Router::routes`].
    pub fn routes(&self) -> RouteTable {
        let fallbacks = self.fallbacks.iter().chain(&self.root_fallback);
        let routes = self
            .routes
            .iter()
            .map(|route| route.summary.clone())
            .chain(fallbacks.map(|fallback| fallback.summary.clone()))
            .collect();
        RouteTable { routes }
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
    /// automatic `OPTIONS`, 405, a fallback, or 404.
    fn dispatch(&self, request: &Request) -> Response {
        let method = request.method();
        let path = request.path();
        if let Ok(matched) = self.matcher.at(path) {
            let entry = &self.paths[*matched.value as usize];
            return match entry.route_for(method) {
                Some(index) => {
                    let route = &self.routes[index as usize];
                    self.run(
                        &route.handler,
                        &route.states,
                        &route.summary,
                        request,
                        matched.params,
                    )
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
        if path == "*" && method == Method::Options {
            return Response::new(204).header("Allow", self.server_allow.clone());
        }
        if let Ok(matched) = self.fallback_matcher.at(path) {
            let fallback = &self.fallbacks[*matched.value as usize];
            return self.run(
                &fallback.handler,
                &fallback.states,
                &fallback.summary,
                request,
                matched.params,
            );
        }
        if let Some(fallback) = &self.root_fallback {
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
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(a panic payload that is not a string)");
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
        if self.layers.is_empty() {
            return self.dispatch(&request);
        }
        let mut request = request;
        let dispatch = |request: &mut Request| self.dispatch(request);
        Next::new(&self.layers, &dispatch).run(&mut request)
    }

    /// The server's own refusals (400, 408, 413, …) in the router's error
    /// shape.
    fn refuse(&self, status: u16, message: &str) -> Response {
        self.render(&Error::new(status, message.to_owned()))
    }

    /// The matched route's body limit, if it has one.
    fn body_limit(&self, method: Method, path: &str) -> Option<u64> {
        let matched = self.matcher.at(path).ok()?;
        let index = self.paths[*matched.value as usize].route_for(method)?;
        self.routes[index as usize].body_limit
    }

    /// A body goes to a route or a fallback, under its limit. Where
    /// [`dispatch`](Self::dispatch) would answer from method and path
    /// alone (404, 405, the automatic `OPTIONS`), the body is not wanted:
    /// the server answers from the head (through the middleware, as
    /// always) without reading it. Middleware cannot change a request's
    /// method or path, so the verdict is the one dispatch reaches.
    /// (415 for a body extractor's media type is not decided here: routes
    /// do not record their extractors' media types, and an earlier
    /// extractor may refuse first.)
    fn check_head(&self, head: &Request) -> HeadVerdict {
        let (method, path) = (head.method(), head.path());
        if let Ok(matched) = self.matcher.at(path) {
            return match self.paths[*matched.value as usize].route_for(method) {
                Some(index) => HeadVerdict::ReadBody {
                    limit: self.routes[index as usize].body_limit,
                },
                None => HeadVerdict::AnswerFromHead,
            };
        }
        let has_fallback = self.fallback_matcher.at(path).is_ok() || self.root_fallback.is_some();
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

impl fmt::Debug for RouterHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<String> = self.routes.iter().map(|r| r.summary.to_string()).collect();
        f.debug_struct("RouterHandler")
            .field("routes", &routes)
            .finish_non_exhaustive()
    }
}

// ------------------------------------------------------- path building

/// What percent-encoding leaves alone in a path segment: RFC 3986's
/// unreserved characters, sub-delims, `:` and `@`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A catch-all keeps its `/` separators.
const CATCH_ALL: &AsciiSet = &SEGMENT.remove(b'/');

/// A piece of a path for [`build_path`].
#[doc(hidden)]
pub enum PathPiece<'a> {
    /// Literal text of the pattern, verbatim (braces unescaped).
    Literal(&'static str),
    /// Literal text not known at compile time.
    Text(&'a str),
    /// A capture's value: its `Display`, percent-encoded as one segment.
    Capture(&'a dyn fmt::Display),
    /// A catch-all's value: percent-encoded, `/` kept.
    CatchAll(&'a dyn fmt::Display),
}

/// Builds a path from literal pieces and encoded capture values (what a
/// route macro's `path(..)` builder calls).
#[doc(hidden)]
pub fn build_path(pieces: &[PathPiece<'_>]) -> String {
    let mut path = String::new();
    for piece in pieces {
        match piece {
            PathPiece::Literal(text) => path.push_str(text),
            PathPiece::Text(text) => path.push_str(text),
            PathPiece::Capture(value) => push_encoded(&mut path, &value.to_string(), SEGMENT),
            PathPiece::CatchAll(value) => {
                let value = value.to_string();
                for (i, segment) in value.split('/').enumerate() {
                    if i > 0 {
                        path.push('/');
                    }
                    push_encoded(&mut path, segment, CATCH_ALL);
                }
            }
        }
    }
    path
}

/// Encodes one segment; `.` and `..` are encoded too, so a client does not
/// resolve them away.
fn push_encoded(path: &mut String, segment: &str, set: &'static AsciiSet) {
    match segment {
        "." => path.push_str("%2E"),
        ".." => path.push_str("%2E%2E"),
        _ => path.extend(utf8_percent_encode(segment, set)),
    }
}

// --------------------------------------------------------------- macros' API

/// What a route macro knows about its route. Not for hand-written code.
#[doc(hidden)]
pub struct RouteInfo {
    pub methods: &'static [Method],
    pub path: &'static str,
    pub name: &'static str,
    pub module: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub column: u32,
    pub body_limit: Option<u64>,
    pub kind: RouteKind,
    pub state_requirements: Vec<Option<StateRequirement>>,
    pub handler: BoxedHandler,
}

/// Boxes a generated wrapper. Not for hand-written code.
#[doc(hidden)]
pub fn boxed_handler<F>(handler: F) -> BoxedHandler
where
    F: for<'a, 'b> Fn(&'a RequestContext<'b>) -> Response + Send + Sync + 'static,
{
    Arc::new(handler)
}

#[cfg(test)]
mod tests;
