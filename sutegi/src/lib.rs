//! sutegi: a small synchronous HTTP/1.1 web framework on `std::net`.
//!
//! (The crate guide is written as the router lands.)

extern crate self as sutegi;

pub mod extract;
pub mod respond;
pub mod router;
pub mod server;

pub use extract::{
    Bytes, Extension, Form, FromRequest, Headers, Json, LastEventId, Path, Query, RequestContext,
    State, StateRequirement,
};
pub use respond::{Error, Html, IntoResponse, Redirect, Status};
pub use router::{
    Location, Route, RouteFn, RouteKind, RouteSource, RouteSummary, Router, RouterError,
    RouterHandler, RouterProblem, UrlError,
};
pub use server::*;
pub use sutegi_macros::{delete, get, head, options, patch, post, put, route, routes, sse};

/// What the route macros' generated code names. Not a public API: it may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::extract::RequestContext as Context;
    pub use crate::router::{
        boxed_handler, build_path, PathPiece, RouteInfo, RouteKind, RouteSource,
    };
}
