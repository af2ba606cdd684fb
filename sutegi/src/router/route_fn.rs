//! What can answer a route: the [`RouteFn`] trait, implemented for every
//! function or closure of up to eight extractors (and an optional leading
//! `&Request`), and the [`BoxedHandler`] it erases into, which is what the
//! router stores and calls. The route macros skip the trait: their
//! generated wrapper is boxed directly ([`boxed_handler`]).
//!
//! This file knows extractors and responders, not the router: the route
//! types ([`route`](super::route)) and the compiled dispatch
//! ([`dispatch`](super::dispatch)) hold what it makes.

use std::sync::Arc;

use crate::extract::{FromRequest, RequestContext, StateRequirement};
use crate::respond::IntoResponse;
use crate::server::{Request, Response};

/// Whether a `Content-Type` (`None`: absent) is one a body extractor
/// takes ([`FromRequest::CONTENT_TYPE_CHECK`]).
pub(crate) type ContentTypeCheck = fn(Option<&str>) -> bool;

/// The type-erased function a route runs: extract, call, respond.
pub(crate) type BoxedHandler =
    Arc<dyn for<'a, 'b> Fn(&'a RequestContext<'b>) -> Response + Send + Sync + 'static>;

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

    /// The `Content-Type` check of its body extractor, if that one refuses
    /// other types whatever the body holds ([`FromRequest::CONTENT_TYPE_CHECK`]).
    #[doc(hidden)]
    fn content_type_check() -> Option<fn(Option<&str>) -> bool>;

    /// Whether one of its extractors reads the body as it arrives
    /// ([`FromRequest::STREAMS_BODY`]).
    #[doc(hidden)]
    fn streams_body() -> bool;
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
                    vec![$(<$arg as FromRequest<'static>>::state_requirement()
                        .map(|needed| needed.needed_by(std::any::type_name::<$arg>()))),*];
                all.into_iter().flatten().collect()
            }

            fn body_readers() -> usize {
                0 $(+ usize::from(<$arg as FromRequest<'static>>::READS_BODY))*
            }

            fn content_type_check() -> Option<fn(Option<&str>) -> bool> {
                first_content_type_check(&[$(<$arg as FromRequest<'static>>::CONTENT_TYPE_CHECK),*])
            }

            fn streams_body() -> bool {
                false $(|| <$arg as FromRequest<'static>>::STREAMS_BODY)*
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
                    vec![$(<$arg as FromRequest<'static>>::state_requirement()
                        .map(|needed| needed.needed_by(std::any::type_name::<$arg>()))),*];
                all.into_iter().flatten().collect()
            }

            fn body_readers() -> usize {
                0 $(+ usize::from(<$arg as FromRequest<'static>>::READS_BODY))*
            }

            fn content_type_check() -> Option<fn(Option<&str>) -> bool> {
                first_content_type_check(&[$(<$arg as FromRequest<'static>>::CONTENT_TYPE_CHECK),*])
            }

            fn streams_body() -> bool {
                false $(|| <$arg as FromRequest<'static>>::STREAMS_BODY)*
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

/// The first of a handler's extractors' `Content-Type` checks (a handler
/// has one body extractor at most). Reached by the route macros through
/// `sutegi::__private` too.
#[doc(hidden)]
pub fn first_content_type_check(checks: &[Option<ContentTypeCheck>]) -> Option<ContentTypeCheck> {
    checks.iter().copied().flatten().next()
}

/// Boxes a route macro's generated wrapper. Not for hand-written code:
/// reached through `sutegi::__private` only.
#[doc(hidden)]
pub fn boxed_handler<F>(handler: F) -> BoxedHandler
where
    F: for<'a, 'b> Fn(&'a RequestContext<'b>) -> Response + Send + Sync + 'static,
{
    Arc::new(handler)
}
