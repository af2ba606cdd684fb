//! What handlers take: the [`FromRequest`] trait, the [`RequestContext`]
//! extractors read from, and the built-in extractors ([`Query`], [`Json`](crate::Json),
//! [`Form`], [`State`], [`Path`], [`Headers`], [`Bytes`], [`LastEventId`],
//! [`Extension`], `&Request`, `String`, `Vec<u8>`, and `Option` / `Result`
//! of any of them).
//!
//! This module reads a matched request and refuses it in the error shape
//! ([`Error`]) when it does not fit; it does not match paths (the
//! [`router`](crate::router) does, and hands over the captures and states
//! in a [`RequestContext`]) nor render responses beyond its refusals.
//!
//! This file holds the trait, the context and the impls for `&Request`,
//! `Option` and `Result`; each extractor has its own file: `path` (with
//! the capture deserializer in `path/de.rs`), `query`, `form` (both on the
//! urlencoded decoding in `urlencoded`), `body` (`Bytes`, `String`,
//! `Vec<u8>`), `headers` (`Headers`, `LastEventId`), `state` (`State`,
//! `Extension`), `auth` (`Authorization`) and `multipart` (`Multipart`). [`Json`](crate::Json) lives in the crate's `json` module, beside its
//! responder half, and is re-exported here.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::error::{render_error, Error};
use crate::respond::IntoResponse;
use crate::server::{Request, Response};
use crate::type_name::short_type_name;

mod auth;
mod body;
mod form;
mod headers;
mod multipart;
mod path;
mod query;
mod state;
mod urlencoded;

#[cfg(test)]
mod tests;

pub use crate::server::BodyReader;
pub use auth::{AuthRealm, Authorization, Basic, Bearer, Credentials};
pub use body::Bytes;
pub use form::Form;
pub use headers::{Headers, LastEventId};
pub use multipart::{Field, Multipart, MultipartLimits};
pub use path::Path;
pub use query::Query;
pub use state::{Extension, State};

#[doc(no_inline)]
// The path the router and middleware name the shortening by.
pub(crate) use crate::type_name::shorten_type_name;

/// A type a handler can take as an argument: it is built from the request
/// before the handler runs, or it refuses the request.
///
/// Implement it for your own extractors; most read the request through
/// [`RequestContext::request`] and refuse with an [`Error`]:
///
/// ```
/// use sutegi::{Error, FromRequest, RequestContext, Status};
///
/// /// The API key of the `X-Api-Key` header.
/// struct ApiKey(String);
///
/// impl<'r> FromRequest<'r> for ApiKey {
///     type Rejection = Error;
///
///     fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
///         // Header names compare case-insensitively; so do auth schemes
///         // (RFC 9110 §11.1), which `Authorization<Bearer>` handles.
///         let key = cx.request().header("x-api-key").ok_or_else(|| {
///             Error::new(Status::UNAUTHORIZED, "send an `X-Api-Key` header").absent()
///         })?;
///         if key.is_empty() {
///             return Err(Error::new(Status::UNAUTHORIZED, "the `X-Api-Key` header is empty"));
///         }
///         Ok(ApiKey(key.to_owned()))
///     }
/// }
///
/// let request = sutegi::Request::new(sutegi::Method::Get, "/", &[("x-api-key", "abc")], vec![]);
/// let cx = RequestContext::new(&request);
/// assert_eq!(ApiKey::from_request(&cx).unwrap().0, "abc");
/// ```
///
/// For `Authorization: Bearer …` / `Basic …` use the built-in
/// [`Authorization`] extractor rather than one of your own.
///
/// The lifetime `'r` lets an extractor borrow from the request (as
/// `&Request` does); extractors of `#[sse]` routes and of closures must be
/// owned values.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not a path capture and not an extractor",
    note = "a handler argument is either a path capture (an argument named like a `{{name}}` in the path) or an extractor: `Query<T>`, `Json<T>`, `Form<T>`, `State<T>`, `Path<T>`, `Headers`, `Bytes`, `String`, `Vec<u8>`, `LastEventId`, `Extension<T>`, `Authorization<Bearer|Basic>`, `Multipart`, `BodyReader`, `CookieJar`, `SignedCookieJar`, `PrivateCookieJar`, `&Request`, or `Option`/`Result` of one",
    note = "to take your own type, implement `sutegi::FromRequest` for it"
)]
pub trait FromRequest<'r>: Sized {
    /// How the extractor refuses a request (usually [`Error`]).
    type Rejection: IntoResponse;

    /// Whether this extractor reads the request body (`Json`, `Form`,
    /// `Bytes`, `String`, `Vec<u8>`). A handler takes at most one; the
    /// route macros check it at compile time.
    const READS_BODY: bool = false;

    /// For a body extractor that refuses every other `Content-Type`
    /// whatever the body holds (`Json`, `Form`, `Multipart`): whether a
    /// `Content-Type` value (`None` when absent) is one it takes. The
    /// router asks it from the head, so a request that can only be
    /// refused is answered before its body is read (and a `100-continue`
    /// gets the refusal, not `100 Continue`); the extractor itself applies
    /// the same function, so the two cannot disagree. `None` (the
    /// default): the body is read whatever its type.
    const CONTENT_TYPE_CHECK: Option<fn(Option<&str>) -> bool> = None;

    /// Whether this extractor reads the body as it arrives, from
    /// [`Request::take_body_reader`](crate::Request::take_body_reader),
    /// instead of the body buffered whole (`Multipart`). The router then
    /// runs the handler as soon as the head is parsed (see
    /// [`HeadVerdict::StreamBody`](crate::server::HeadVerdict::StreamBody)).
    const STREAMS_BODY: bool = false;

    /// Builds the value from the request, or refuses it.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Self::Rejection>;

    /// What `Option<Self>` extracts: `Ok(None)` when what `Self` reads is
    /// absent (no body, no such header), the refusal when it is present
    /// but invalid.
    ///
    /// The default cannot tell the two apart and treats every refusal as
    /// absent; the built-in extractors refine it (with
    /// [`Error::is_absent`]), and so can yours.
    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Self::Rejection> {
        Ok(Self::from_request(cx).ok())
    }

    /// The state type this extractor needs from
    /// [`Router::with_state`](crate::Router::with_state), so a route whose
    /// state was never given is refused when the router is built rather
    /// than at its first request. `State<T>` says `T`; most say `None`.
    fn state_requirement() -> Option<StateRequirement> {
        None
    }
}

/// A state type a route needs (see [`FromRequest::state_requirement`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateRequirement {
    type_id: TypeId,
    type_name: &'static str,
    /// `State<T>`'s name, to tell a route taking it from one taking an
    /// extractor that needs it.
    state_name: &'static str,
    /// The extractor the route takes that needs the state, once the route
    /// (its macro, or `RouteFn`) has said so.
    extractor: Option<&'static str>,
}

impl StateRequirement {
    /// The requirement for `State<T>`.
    pub fn of<T: Send + Sync + 'static>() -> StateRequirement {
        StateRequirement {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            state_name: std::any::type_name::<state::State<T>>(),
            extractor: None,
        }
    }

    /// The extractor a route takes that needs this state, when it is not
    /// `State<T>` itself (a custom extractor that reads `State<Config>`),
    /// so a missing state is reported as that extractor's need.
    pub fn extractor(&self) -> Option<&'static str> {
        self.extractor.filter(|name| *name != self.state_name)
    }

    /// The same requirement, needed by the route argument `extractor` (its
    /// type name): what routes record, so the router's check can name it.
    #[doc(hidden)]
    pub fn needed_by(mut self, extractor: &'static str) -> StateRequirement {
        self.extractor = Some(extractor);
        self
    }

    /// The required type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    pub(crate) fn type_id(&self) -> TypeId {
        self.type_id
    }
}

/// A type a path capture can be parsed into: anything `FromStr` (numbers,
/// `String`, your own types with a `FromStr` impl).
///
/// It exists so that a route function taking a capture of another type
/// reads as one plain compiler error on that argument.
#[diagnostic::on_unimplemented(
    message = "a path capture cannot be parsed into `{Self}`",
    label = "a capture's type must implement `FromStr`",
    note = "an argument named like a `{{capture}}` in the path is parsed from its text with `FromStr`: use a number, `String`, or your own type with a `FromStr` impl"
)]
pub trait CaptureValue: FromStr {}

impl<T: FromStr> CaptureValue for T {}

/// One state given to a router: an `Arc<T>` behind `dyn Any`, so routes of
/// several routers (mounted) share it without `T: Clone`.
#[derive(Clone)]
pub(crate) struct StateEntry {
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    /// Holds an `Arc<T>`.
    value: Arc<dyn Any + Send + Sync>,
}

impl StateEntry {
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> StateEntry {
        StateEntry {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            value: Arc::new(Arc::new(value)),
        }
    }
}

/// Never set: the flag of contexts built outside a router.
static NOT_SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// What an extractor reads: the request, the path captures of the route it
/// matched (still percent-encoded) and the router's states.
///
/// The router builds one per request; tests of your own extractors can
/// build one with [`RequestContext::new`].
pub struct RequestContext<'a> {
    request: &'a Request,
    captures: matchit::Params<'a, 'a>,
    states: &'a [StateEntry],
    shutting_down: &'a AtomicBool,
}

impl<'a> RequestContext<'a> {
    /// A context for `request` with no captures and no states, for testing
    /// extractors by hand.
    pub fn new(request: &'a Request) -> RequestContext<'a> {
        RequestContext {
            request,
            captures: matchit::Params::new(),
            states: &[],
            shutting_down: &NOT_SHUTTING_DOWN,
        }
    }

    pub(crate) fn for_route(
        request: &'a Request,
        captures: matchit::Params<'a, 'a>,
        states: &'a [StateEntry],
        shutting_down: &'a AtomicBool,
    ) -> RequestContext<'a> {
        RequestContext {
            request,
            captures,
            states,
            shutting_down,
        }
    }

    /// The request.
    pub fn request(&self) -> &'a Request {
        self.request
    }

    /// The raw (still percent-encoded) value of the path capture `name`.
    pub fn capture_raw(&self, name: &str) -> Option<&str> {
        self.captures.get(name)
    }

    /// Every path capture as `(name, raw value)`, in path order.
    pub fn captures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.captures.iter()
    }

    /// The path capture `name`, percent-decoded (`%2F` is `/`).
    ///
    /// Refuses with 400 naming the capture when the decoded bytes are not
    /// UTF-8, and with 500 when the route has no such capture.
    pub fn capture_str(&self, name: &str) -> Result<Cow<'_, str>, Error> {
        let raw = self.capture_raw(name).ok_or_else(|| {
            Error::internal(format!("the route has no path capture `{name}`")).absent()
        })?;
        decode_capture(name, raw)
    }

    /// The path capture `name`, percent-decoded then parsed with `FromStr`.
    /// A value that does not parse is a 400 naming the capture; the refusal
    /// comes as a ready response so generated code can return it.
    pub fn capture<T: CaptureValue>(&self, name: &str) -> Result<T, Response> {
        let text = self
            .capture_str(name)
            .map_err(|error| render_error(&error))?;
        text.parse::<T>().map_err(|_| {
            render_error(&Error::bad_request(format!(
                "path parameter `{name}` is not a valid {}",
                short_type_name::<T>()
            )))
        })
    }

    /// The state of type `T` given with
    /// [`Router::with_state`](crate::Router::with_state), if any.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&'a Arc<T>> {
        let id = TypeId::of::<T>();
        self.states
            .iter()
            .find(|entry| entry.type_id == id)
            .and_then(|entry| entry.value.downcast_ref::<Arc<T>>())
    }

    /// Whether the server has begun shutting down (health routes answer 503
    /// from then on).
    #[allow(dead_code)] // read by the health route
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutting_down
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl fmt::Debug for RequestContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let states: Vec<&str> = self.states.iter().map(|s| s.type_name).collect();
        f.debug_struct("RequestContext")
            .field("request", self.request)
            .field("captures", &self.captures)
            .field("states", &states)
            .finish()
    }
}

/// A capture's raw value percent-decoded; bytes that are not UTF-8 are a
/// 400 naming the capture.
fn decode_capture<'v>(name: &str, raw: &'v str) -> Result<Cow<'v, str>, Error> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            Error::bad_request(format!(
                "path parameter `{name}` is not valid UTF-8 once percent-decoded"
            ))
        })
}

/// Turns a refusal into `None` when it says "absent" (see
/// [`FromRequest::from_request_optional`]).
pub(crate) fn optional<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_absent() => Ok(None),
        Err(error) => Err(error),
    }
}

/// `Deref` and `DerefMut` to the wrapped value, for the `Name<T>(pub T)`
/// extractors.
macro_rules! deref_wrapper {
    ($name:ident) => {
        impl<T> std::ops::Deref for $name<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> std::ops::DerefMut for $name<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }
    };
}
pub(crate) use deref_wrapper;

// ---------------------------------------------------------------- &Request

impl<'r> FromRequest<'r> for &'r Request {
    type Rejection = Infallible;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Infallible> {
        Ok(cx.request())
    }
}

// ------------------------------------------------------------ Option, Result

impl<'r, E: FromRequest<'r>> FromRequest<'r> for Option<E> {
    type Rejection = E::Rejection;
    const READS_BODY: bool = E::READS_BODY;
    const STREAMS_BODY: bool = E::STREAMS_BODY;

    /// `None` when what `E` reads is absent; `E`'s refusal when it is
    /// present but invalid.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, E::Rejection> {
        E::from_request_optional(cx)
    }
}

impl<'r, E: FromRequest<'r>> FromRequest<'r> for Result<E, E::Rejection> {
    type Rejection = Infallible;
    const READS_BODY: bool = E::READS_BODY;
    const STREAMS_BODY: bool = E::STREAMS_BODY;

    /// Hands `E`'s refusal to the handler instead of answering it.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Infallible> {
        Ok(E::from_request(cx))
    }
}
