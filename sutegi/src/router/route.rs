//! The route and method types: one [`Route`] (methods, path pattern,
//! handler, where it was declared), the [`Location`] of a declaration, the
//! bit set of methods a route answers, a route as it is listed and named
//! in errors ([`RouteSummary`]), [`IntoRoute`] (what
//! [`Router::route`](super::Router::route) takes) and the record a route
//! macro fills in ([`MacroRoute`]).
//!
//! Routes are plain data here; checking them against each other is
//! [`build`](super::build)'s, serving them [`dispatch`](super::dispatch)'s.

use std::borrow::Cow;
use std::fmt;

use crate::extract::{shorten_type_name, StateEntry, StateRequirement};
use crate::server::Method;

use super::layers::Layer;
use super::route_fn::{BoxedHandler, RouteFn};

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
        Location::from_std(std::panic::Location::caller())
    }

    /// The same place, from the standard library's location.
    pub(crate) fn from_std(here: &'static std::panic::Location<'static>) -> Location {
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
    /// A WebSocket (`#[ws]`): the handshake, then a socket of its own.
    WebSocket,
}

/// A set of methods, one bit per [`Method::ALL`] position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct MethodSet(u16);

/// How many methods there are: the length of a per-method table.
pub(super) const METHOD_COUNT: usize = Method::ALL.len();

/// A method's position in [`Method::ALL`] (and in a [`MethodSet`]).
pub(super) fn method_index(method: Method) -> usize {
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
    pub(super) fn of(methods: &[Method]) -> MethodSet {
        MethodSet(
            methods
                .iter()
                .fold(0, |bits, m| bits | 1 << method_index(*m)),
        )
    }

    pub(super) fn contains(self, method: Method) -> bool {
        self.0 & 1 << method_index(method) != 0
    }

    pub(super) fn intersects(self, other: MethodSet) -> bool {
        self.0 & other.0 != 0
    }

    pub(super) fn union(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 | other.0)
    }

    pub(super) fn iter(self) -> impl Iterator<Item = Method> {
        Method::ALL.into_iter().filter(move |m| self.contains(*m))
    }

    /// The `Allow` header: these methods, `HEAD` where `GET` is, and
    /// `OPTIONS` (answered for every path).
    pub(super) fn allow_header(self) -> String {
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

    pub(super) fn describe(self) -> String {
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
    /// The middleware around it, outermost first: the layers of the router
    /// it is served from, then those of each router it was mounted from
    /// (`Cors`, `AccessLog`, `closure at src/main.rs:12:10`).
    pub layers: Vec<String>,
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

impl RouteSummary {
    /// What identifies its declaration (for `url_for`).
    pub(super) fn declaration(&self) -> Declaration<'_> {
        Declaration {
            name: &self.name,
            module: self.module,
            location: self.location,
        }
    }
}

/// What tells one route declaration from another: the handler's name, its
/// module and where it was declared. A route mounted twice has one
/// declaration and two paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Declaration<'a> {
    name: &'a str,
    module: &'a str,
    location: Location,
}

/// One route: methods, a path pattern and the handler that answers it.
///
/// Route macros (`#[get("/users/{id}")]`) make one from a function;
/// [`Route::new`] makes one from a closure or function taking extractors.
/// A [`Router`](super::Router) collects them.
#[derive(Clone)]
pub struct Route {
    pub(super) methods: MethodSet,
    pub(super) path: Cow<'static, str>,
    pub(super) name: Cow<'static, str>,
    pub(super) module: &'static str,
    pub(super) location: Location,
    pub(super) body_limit: Option<u64>,
    pub(super) kind: RouteKind,
    pub(super) state_requirements: Vec<StateRequirement>,
    /// More than one body extractor (closures only: macros refuse it at
    /// compile time).
    pub(super) body_readers: usize,
    /// Its body extractor's `Content-Type` check, asked from the head.
    pub(super) content_type_check: Option<fn(Option<&str>) -> bool>,
    /// Its body extractor reads the body as it arrives.
    pub(super) streams_body: bool,
    pub(super) handler: BoxedHandler,
    /// States of the routers this route was mounted through, nearest first.
    pub(super) scoped_states: Vec<StateEntry>,
    /// Layers of the routers this route was mounted from, outermost first
    /// (empty for a route of the top router, whose layers wrap everything).
    pub(super) layers: Vec<Layer>,
    /// What the route macro said about the route, for self-description.
    #[cfg(feature = "openapi")]
    pub(crate) description: Option<RouteDescription>,
}

/// A checked route as self-description sees it (the `openapi` feature),
/// handed over by the router once its routes are known.
#[cfg(feature = "openapi")]
pub(crate) struct DescribedRoute {
    pub(crate) methods: Vec<crate::server::Method>,
    pub(crate) path: String,
    pub(crate) name: String,
    pub(crate) kind: RouteKind,
    pub(crate) description: RouteDescription,
}

/// A route macro's record for self-description (the `openapi` feature),
/// held without naming its type: the router only carries it and adds the
/// tags its mounts give; the `openapi` module reads it. (Naming it here
/// would make the router and its add-on import each other.)
#[cfg(feature = "openapi")]
#[derive(Clone)]
pub(crate) struct RouteDescription {
    /// The macro's `RouteDoc`, read back by the `openapi` module.
    pub(crate) doc: &'static (dyn std::any::Any + Send + Sync),
    /// The mounts' prefixes, outermost first.
    pub(crate) tags: Vec<String>,
}

#[cfg(feature = "openapi")]
impl std::fmt::Debug for RouteDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDescription")
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
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
    /// [`Router::into_handler`](super::Router::into_handler), with this
    /// call's location.
    #[track_caller]
    pub fn new<A>(
        methods: &[Method],
        path: impl Into<Cow<'static, str>>,
        handler: impl RouteFn<A>,
    ) -> Route {
        Route::from_fn(methods, path.into(), handler, Location::caller())
    }

    pub(super) fn from_fn<A, F: RouteFn<A>>(
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
            content_type_check: F::content_type_check(),
            streams_body: F::streams_body(),
            handler: handler.into_boxed_handler(),
            scoped_states: Vec::new(),
            layers: Vec::new(),
            #[cfg(feature = "openapi")]
            description: None,
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
    pub fn __from_macro(info: MacroRoute) -> Route {
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
            content_type_check: info.content_type_check,
            streams_body: info.streams_body,
            handler: info.handler,
            scoped_states: Vec::new(),
            layers: Vec::new(),
            #[cfg(feature = "openapi")]
            description: None,
        }
    }

    /// Attaches what a route macro says about its route (the `openapi`
    /// feature). Not for hand-written code.
    #[doc(hidden)]
    #[cfg(feature = "openapi")]
    pub fn __describe(mut self, doc: &'static (dyn std::any::Any + Send + Sync)) -> Route {
        self.description = Some(RouteDescription {
            doc,
            tags: Vec::new(),
        });
        self
    }

    pub(super) fn summary(&self) -> RouteSummary {
        RouteSummary {
            methods: self.methods.iter().collect(),
            path: self.path.to_string(),
            name: self.name.to_string(),
            module: self.module,
            location: self.location,
            kind: self.kind,
            layers: self.layers.iter().map(Layer::label).collect(),
        }
    }

    /// What identifies its declaration (for `url_for`).
    pub(super) fn declaration(&self) -> Declaration<'_> {
        Declaration {
            name: &self.name,
            module: self.module,
            location: self.location,
        }
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
/// Something [`Router::route`](super::Router::route) takes: a [`Route`],
/// or the companion item a route macro generates (`routes![user]` passes
/// `user {}`). The macros' generated code names it
/// `sutegi::__private::RouteSource`, its former name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a route",
    label = "not a route",
    note = "put `#[get(\"/path\")]` (or `#[post]`, `#[route]`, `#[sse]`, …) on the function, or build a `sutegi::Route` with `Route::new`"
)]
pub trait IntoRoute {
    /// The route.
    fn into_route(self) -> Route;
}

#[diagnostic::do_not_recommend]
impl IntoRoute for Route {
    fn into_route(self) -> Route {
        self
    }
}

/// A handler's name for messages: a function's own name, `closure` for a
/// closure (its location says which). Routes, fallbacks and middleware
/// layers are all named this one way.
pub(crate) fn handler_name<F>() -> &'static str {
    let full = std::any::type_name::<F>();
    if full.contains("{{closure}}") {
        "closure"
    } else {
        shorten_type_name(full)
    }
}

/// What a route macro knows about its route, turned into a [`Route`] by
/// `Route::__from_macro`. Not for hand-written code: reached through
/// `sutegi::__private` only (as `RouteInfo`, the name the macros emit).
#[doc(hidden)]
#[allow(missing_docs)] // every field is what its name says, filled by generated code
pub struct MacroRoute {
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
    pub content_type_check: Option<fn(Option<&str>) -> bool>,
    pub streams_body: bool,
    pub handler: BoxedHandler,
}
