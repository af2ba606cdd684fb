//! What handlers take: the [`FromRequest`] trait, the [`RequestContext`]
//! extractors read from, and the built-in extractors ([`Query`], [`Json`],
//! [`Form`], [`State`], [`Path`], [`Headers`], [`Bytes`], [`LastEventId`],
//! [`Extension`], `&Request`, `String`, `Vec<u8>`, and `Option` / `Result`
//! of any of them).
//!
//! This module reads a matched request and refuses it in the error shape
//! ([`Error`]) when it does not fit; it does not match paths (the
//! [`router`](crate::router) does, and hands over the captures and states
//! in a [`RequestContext`]) nor render responses beyond its refusals.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::respond::{render_error, Error, IntoResponse, Status};
use crate::server::{Request, Response};

/// A type a handler can take as an argument: it is built from the request
/// before the handler runs, or it refuses the request.
///
/// Implement it for your own extractors; most read the request through
/// [`RequestContext::request`] and refuse with an [`Error`]:
///
/// ```
/// use sutegi::{Error, FromRequest, RequestContext, Status};
///
/// /// The bearer token of the `Authorization` header.
/// struct Bearer(String);
///
/// impl<'r> FromRequest<'r> for Bearer {
///     type Rejection = Error;
///
///     fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
///         let header = cx.request().header("authorization").ok_or_else(|| {
///             Error::new(Status::UNAUTHORIZED, "send `Authorization: Bearer <token>`").absent()
///         })?;
///         match header.strip_prefix("Bearer ") {
///             Some(token) => Ok(Bearer(token.to_owned())),
///             None => Err(Error::new(Status::UNAUTHORIZED, "the `Authorization` header is not `Bearer <token>`")),
///         }
///     }
/// }
///
/// let request = sutegi::Request::new(sutegi::Method::Get, "/", &[("Authorization", "Bearer abc")], vec![]);
/// let cx = RequestContext::new(&request);
/// assert_eq!(Bearer::from_request(&cx).unwrap().0, "abc");
/// ```
///
/// The lifetime `'r` lets an extractor borrow from the request (as
/// `&Request` does); extractors of `#[sse]` routes and of closures must be
/// owned values.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not a path capture and not an extractor",
    note = "a handler argument is either a path capture (an argument named like a `{{name}}` in the path) or an extractor: `Query<T>`, `Json<T>`, `Form<T>`, `State<T>`, `Path<T>`, `Headers`, `Bytes`, `String`, `Vec<u8>`, `LastEventId`, `Extension<T>`, `&Request`, or `Option`/`Result` of one",
    note = "to take your own type, implement `sutegi::FromRequest` for it"
)]
pub trait FromRequest<'r>: Sized {
    /// How the extractor refuses a request (usually [`Error`]).
    type Rejection: IntoResponse;

    /// Whether this extractor reads the request body (`Json`, `Form`,
    /// `Bytes`, `String`, `Vec<u8>`). A handler takes at most one; the
    /// route macros check it at compile time.
    const READS_BODY: bool = false;

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
}

impl StateRequirement {
    /// The requirement for `State<T>`.
    pub fn of<T: Send + Sync + 'static>() -> StateRequirement {
        StateRequirement {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
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

fn decode_capture<'v>(name: &str, raw: &'v str) -> Result<Cow<'v, str>, Error> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            Error::bad_request(format!(
                "path parameter `{name}` is not valid UTF-8 once percent-decoded"
            ))
        })
}

/// `alloc::string::String` → `String`, `u64` → `u64`; generic types keep
/// their full name.
pub(crate) fn short_type_name<T>() -> &'static str {
    shorten_type_name(std::any::type_name::<T>())
}

/// The last path segment of a type name without generics.
pub(crate) fn shorten_type_name(full: &'static str) -> &'static str {
    if full.contains('<') {
        full
    } else {
        full.rsplit("::").next().unwrap_or(full)
    }
}

/// Turns a refusal into `None` when it says "absent" (see
/// [`FromRequest::from_request_optional`]).
fn optional<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_absent() => Ok(None),
        Err(error) => Err(error),
    }
}

macro_rules! deref_wrapper {
    ($name:ident) => {
        impl<T> Deref for $name<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> DerefMut for $name<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }
    };
}

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

    /// `None` when what `E` reads is absent; `E`'s refusal when it is
    /// present but invalid.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, E::Rejection> {
        E::from_request_optional(cx)
    }
}

impl<'r, E: FromRequest<'r>> FromRequest<'r> for Result<E, E::Rejection> {
    type Rejection = Infallible;
    const READS_BODY: bool = E::READS_BODY;

    /// Hands `E`'s refusal to the handler instead of answering it.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Infallible> {
        Ok(E::from_request(cx))
    }
}

// -------------------------------------------------------------------- Query

/// The query string, form-decoded into `T` (`+` is a space, escapes
/// decoded, an empty value is an empty string).
///
/// A parameter given twice, a missing required parameter and a value that
/// does not parse (a number, a bool) are 400s naming the parameter. Read it
/// as `Query(q): Query<T>` or through `Deref` (`q.page`).
///
/// ```
/// # use serde::Deserialize;
/// #[derive(Deserialize)]
/// struct Search { q: String, #[serde(default)] limit: Option<u32> }
///
/// fn search(query: sutegi::Query<Search>) -> String {
///     format!("{} (at most {})", query.q, query.limit.unwrap_or(10))
/// }
/// # let _ = search;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);
deref_wrapper!(Query);

impl<'r, T: DeserializeOwned> FromRequest<'r> for Query<T> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        let query = cx.request().query().unwrap_or("");
        decode_urlencoded(query.as_bytes(), "query parameter", Status::BAD_REQUEST).map(Query)
    }

    /// `None` when the target has no `?` at all.
    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        match cx.request().query() {
            None => Ok(None),
            Some(_) => Self::from_request(cx).map(Some),
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` bytes into `T`, naming the
/// parameter (`what`, e.g. "query parameter") in every refusal.
fn decode_urlencoded<T: DeserializeOwned>(
    input: &[u8],
    what: &str,
    status: Status,
) -> Result<T, Error> {
    refuse_repeated_key(input, what, status)?;
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(deserializer)
        .map_err(|error| urlencoded_refusal(&error, what, status))
}

/// Refuses urlencoded input that gives a key twice, naming it.
fn refuse_repeated_key(input: &[u8], what: &str, status: Status) -> Result<(), Error> {
    match repeated_key(input) {
        Some(name) => Err(Error::new(
            status,
            format!("{what} `{name}` is given more than once; give it once"),
        )),
        None => Ok(()),
    }
}

/// The refusal of urlencoded input that does not fit the target type,
/// naming the parameter.
fn urlencoded_refusal(
    error: &serde_path_to_error::Error<serde_urlencoded::de::Error>,
    what: &str,
    status: Status,
) -> Error {
    let path = error.path().to_string();
    let inner = error.inner().to_string();
    let message = match inner.strip_prefix("missing field ") {
        Some(name) => format!("missing {what} {name}"),
        None if path == "." => format!("invalid {what}s: {inner}"),
        None => format!("invalid {what} `{path}`: {inner}"),
    };
    Error::new(status, message)
}

/// The first key (in sorted order) that appears twice in a urlencoded
/// string. Sorting keeps a long query at O(n log n).
fn repeated_key(input: &[u8]) -> Option<String> {
    let mut keys: Vec<Cow<'_, str>> = form_urlencoded::parse(input).map(|(key, _)| key).collect();
    if keys.len() < 2 {
        return None;
    }
    keys.sort_unstable();
    keys.windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].to_string())
}

// --------------------------------------------------------------------- Form

/// An `application/x-www-form-urlencoded` body decoded into `T`, as HTML
/// forms post it.
///
/// Another `Content-Type` is a 415; a body that does not fit `T` (a field
/// missing, given twice, or not parsing) is a 422 naming the field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);
deref_wrapper!(Form);

impl<'r, T: DeserializeOwned> FromRequest<'r> for Form<T> {
    type Rejection = Error;
    const READS_BODY: bool = true;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        let body = form_body(cx.request())?;
        decode_urlencoded(body, "form field", Status::UNPROCESSABLE_CONTENT).map(Form)
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}

/// The body of a form request, or the refusal of one that is not.
///
/// This and every other step that does not depend on `T` live in plain
/// functions: a generic `from_request` is compiled once per target type, so
/// only the deserializing call should be in it.
fn form_body(request: &Request) -> Result<&[u8], Error> {
    let absent = request.body().is_empty();
    let content_type = request.header("content-type");
    if !content_type.is_some_and(|ct| media_type_is(ct, "application/x-www-form-urlencoded")) {
        let error = Error::new(
            Status::UNSUPPORTED_MEDIA_TYPE,
            "expected `Content-Type: application/x-www-form-urlencoded`",
        );
        return Err(if absent { error.absent() } else { error });
    }
    if absent {
        return Err(Error::new(Status::UNPROCESSABLE_CONTENT, "the form body is empty").absent());
    }
    Ok(request.body())
}

/// Whether a `Content-Type` value names `expected` (case-insensitive,
/// parameters ignored).
fn media_type_is(content_type: &str, expected: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(expected)
}

/// `application/json` or `application/<anything>+json`, parameters allowed.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        return true;
    }
    let lower = essence.to_ascii_lowercase();
    lower.strip_prefix("application/").is_some_and(|subtype| {
        subtype.len() > "+json".len() && subtype.ends_with("+json") && !subtype.contains('/')
    })
}

// --------------------------------------------------------------------- Json

/// A JSON body decoded into `T`, or a value answered as JSON.
///
/// As an extractor it needs `Content-Type: application/json` (or
/// `application/*+json`, parameters allowed): absent or another type is a
/// 415; a body that is not JSON is a 400; JSON of the wrong shape (a field
/// missing or of the wrong type) is a 422 naming the field. As a responder
/// it answers 200 `application/json`.
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// #[derive(Deserialize)]
/// struct NewUser { name: String }
/// #[derive(Serialize)]
/// struct User { id: u64, name: String }
///
/// fn create(sutegi::Json(new): sutegi::Json<NewUser>) -> (sutegi::Status, sutegi::Json<User>) {
///     (sutegi::Status::CREATED, sutegi::Json(User { id: 1, name: new.name }))
/// }
/// # let _ = create;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);
deref_wrapper!(Json);

impl<'r, T: DeserializeOwned> FromRequest<'r> for Json<T> {
    type Rejection = Error;
    const READS_BODY: bool = true;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        decode_json(json_body(cx.request())?).map(Json)
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}

/// The body of a JSON request, or the refusal of one that is not (see
/// [`form_body`] for why this is not in `from_request`).
fn json_body(request: &Request) -> Result<&[u8], Error> {
    let body = request.body();
    let absent = body.is_empty();
    if !request.header("content-type").is_some_and(is_json) {
        let error = Error::new(
            Status::UNSUPPORTED_MEDIA_TYPE,
            "expected `Content-Type: application/json` with a JSON body",
        );
        return Err(if absent { error.absent() } else { error });
    }
    if absent {
        return Err(Error::bad_request("the body is empty; send a JSON document").absent());
    }
    Ok(body)
}

fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_refusal)?;
    deserializer.end().map_err(invalid_json)?;
    Ok(value)
}

/// A JSON body that does not fit the target type (422, naming where), or
/// is not JSON at all (400).
fn json_refusal(error: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = error.path().to_string();
    let inner = error.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data if path == "." => Error::new(
            Status::UNPROCESSABLE_CONTENT,
            format!("the JSON body does not fit: {inner}"),
        ),
        serde_json::error::Category::Data => Error::new(
            Status::UNPROCESSABLE_CONTENT,
            format!("the JSON body does not fit at `{path}`: {inner}"),
        ),
        _ => invalid_json(inner),
    }
}

fn invalid_json(inner: serde_json::Error) -> Error {
    Error::bad_request(format!("the body is not valid JSON: {inner}"))
}

// -------------------------------------------------------------------- State

/// A value given to the router with
/// [`Router::with_state`](crate::Router::with_state), shared by every
/// request: a database pool, a configuration, counters.
///
/// Stored once as an `Arc<T>` (no `Clone` needed; `T: Send + Sync`), read
/// through `Deref`. A route that takes a `State<T>` no `with_state` gave is
/// refused when the router is built.
pub struct State<T>(pub Arc<T>);

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&self.0).finish()
    }
}

impl<'r, T: Send + Sync + 'static> FromRequest<'r> for State<T> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        match cx.state::<T>() {
            Some(value) => Ok(State(Arc::clone(value))),
            None => {
                log::error!(
                    "no state of type `{}`: add `.with_state(value)` to the router",
                    std::any::type_name::<T>()
                );
                Err(Error::internal("the server is missing a piece of its configuration").absent())
            }
        }
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        Ok(cx.state::<T>().map(|value| State(Arc::clone(value))))
    }

    fn state_requirement() -> Option<StateRequirement> {
        Some(StateRequirement::of::<T>())
    }
}

// --------------------------------------------------------------------- Path

/// The path captures decoded into `T`, for closures (route functions take
/// captures as arguments named like them instead).
///
/// `T` is one value for a route with one capture (`Path<u64>`), a tuple
/// taking the captures in path order (`Path<(String, u32)>`), or a struct
/// reading them by name. Values are percent-decoded first; a value that
/// does not parse is a 400 naming the capture.
///
/// ```
/// use sutegi::{Path, Router};
/// let app = Router::new().get("/users/{id}/posts/{post}", |Path((id, post)): Path<(u64, String)>| {
///     format!("user {id}, post {post}")
/// });
/// # let _ = app;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);
deref_wrapper!(Path);

impl<'r, T: DeserializeOwned> FromRequest<'r> for Path<T> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        let mut captures = Vec::with_capacity(cx.captures.len());
        for (name, raw) in cx.captures() {
            captures.push((name, decode_capture(name, raw)?));
        }
        T::deserialize(CapturesDeserializer {
            captures: &captures,
        })
        .map(Path)
        .map_err(|error| Error::bad_request(error.to_string()))
    }
}

type DeError = de::value::Error;

/// Deserializes the captures as a map (struct), a sequence (tuple) or,
/// when there is exactly one, a single value.
struct CapturesDeserializer<'a> {
    captures: &'a [(&'a str, Cow<'a, str>)],
}

impl<'a> CapturesDeserializer<'a> {
    fn single(&self) -> Result<CaptureDeserializer<'a>, DeError> {
        match self.captures {
            [(name, value)] => Ok(CaptureDeserializer { name, value }),
            captures => Err(de::Error::custom(format!(
                "the route has {} path captures; take them as a tuple or a struct",
                captures.len()
            ))),
        }
    }
}

macro_rules! forward_to_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.single()?.$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for CapturesDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(CapturesAccess {
            captures: self.captures.iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(CapturesAccess {
            captures: self.captures.iter(),
            value: None,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if len != self.captures.len() {
            return Err(de::Error::custom(format!(
                "the route has {} path captures but the handler takes a tuple of {len}",
                self.captures.len()
            )));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    forward_to_single! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option
        deserialize_unit deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// Walks the captures as map entries or sequence elements.
struct CapturesAccess<'a> {
    captures: std::slice::Iter<'a, (&'a str, Cow<'a, str>)>,
    value: Option<CaptureDeserializer<'a>>,
}

impl<'de> de::MapAccess<'de> for CapturesAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.captures.next() {
            Some((name, value)) => {
                self.value = Some(CaptureDeserializer { name, value });
                seed.deserialize(IntoDeserializer::<DeError>::into_deserializer(*name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom(
                "a path capture value was read before its name",
            )),
        }
    }
}

impl<'de> de::SeqAccess<'de> for CapturesAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.captures.next() {
            Some((name, value)) => seed
                .deserialize(CaptureDeserializer { name, value })
                .map(Some),
            None => Ok(None),
        }
    }
}

/// One decoded capture: scalars parse with `FromStr`, and every error names
/// the capture.
struct CaptureDeserializer<'a> {
    name: &'a str,
    value: &'a str,
}

impl CaptureDeserializer<'_> {
    fn annotate(&self, error: impl fmt::Display) -> DeError {
        de::Error::custom(format!("path parameter `{}`: {error}", self.name))
    }
}

macro_rules! parse_capture {
    ($($method:ident => $visit:ident($ty:ty),)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.value.parse::<$ty>() {
                Ok(parsed) => visitor.$visit::<DeError>(parsed).map_err(|e| self.annotate(e)),
                Err(_) => Err(de::Error::custom(format_args!(
                    concat!("path parameter `{}` is not a valid ", stringify!($ty)),
                    self.name
                ))),
            }
        }
    )*};
}

impl<'a, 'de> CaptureDeserializer<'a> {
    fn visit_text<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_str::<DeError>(self.value)
            .map_err(|e| self.annotate(e))
    }
}

impl<'de> de::Deserializer<'de> for CaptureDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    parse_capture! {
        deserialize_bool => visit_bool(bool),
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
        deserialize_f32 => visit_f32(f32),
        deserialize_f64 => visit_f64(f64),
        deserialize_char => visit_char(char),
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_bytes::<DeError>(self.value.as_bytes())
            .map_err(|e| self.annotate(e))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.annotate("one path segment cannot fill a sequence"))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.annotate("one path segment cannot fill a map"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor
            .visit_enum(IntoDeserializer::<DeError>::into_deserializer(self.value))
            .map_err(|e| self.annotate(e))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

// ------------------------------------------------------------------ Headers

/// An owned copy of the request's header fields, for handlers (and
/// `#[sse]` producers) that want several of them without borrowing the
/// request. Names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(Box<str>, Box<[u8]>)>,
}

impl Headers {
    /// The first value of `name`, if present and UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The first value of `name` as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| &value[..])
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| &value[..])
    }

    /// Whether a field `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// Every field, names as sent, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|(name, value)| (&name[..], &value[..]))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl<'r> FromRequest<'r> for Headers {
    type Rejection = Infallible;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Infallible> {
        let fields = cx
            .request()
            .headers()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Ok(Headers { fields })
    }
}

// ------------------------------------------------------------------- Bodies

/// The raw request body as bytes (a copy; borrow `&Request` and read
/// [`Request::body`] to avoid it). Any `Content-Type` is accepted.
/// `Option<Bytes>` is `None` for an empty body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(bytes: Bytes) -> Vec<u8> {
        bytes.0
    }
}

impl IntoResponse for Bytes {
    /// `application/octet-stream`, like `Vec<u8>`.
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

fn body_or_absent<'r>(cx: &RequestContext<'r>) -> Result<&'r [u8], Error> {
    let body = cx.request().body();
    if body.is_empty() {
        Err(Error::bad_request("the request has no body").absent())
    } else {
        Ok(body)
    }
}

impl<'r> FromRequest<'r> for Bytes {
    type Rejection = Error;
    const READS_BODY: bool = true;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        Ok(Bytes(cx.request().body().to_vec()))
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(body_or_absent(cx).map(|body| Bytes(body.to_vec())))
    }
}

impl<'r> FromRequest<'r> for Vec<u8> {
    type Rejection = Error;
    const READS_BODY: bool = true;

    /// The body, copied. Any `Content-Type` is accepted.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        Ok(cx.request().body().to_vec())
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(body_or_absent(cx).map(<[u8]>::to_vec))
    }
}

impl<'r> FromRequest<'r> for String {
    type Rejection = Error;
    const READS_BODY: bool = true;

    /// The body as text: any `Content-Type`; bytes that are not UTF-8 are a
    /// 400.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        text_body(cx.request().body())
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(body_or_absent(cx).and_then(text_body))
    }
}

fn text_body(body: &[u8]) -> Result<String, Error> {
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => Err(Error::bad_request(format!(
            "the body is not UTF-8 text (invalid byte at offset {})",
            error.valid_up_to()
        ))),
    }
}

// -------------------------------------------------------------- LastEventId

/// The `Last-Event-ID` request header a reconnecting `EventSource` sends,
/// so an SSE route can resume after the last event the client saw.
///
/// Take it as `Option<LastEventId>`: `None` when the header is absent.
///
/// ```
/// fn resume_from(last: Option<sutegi::LastEventId>) -> u64 {
///     last.and_then(|id| id.as_u64()).map_or(0, |k| k.saturating_add(1))
/// }
/// assert_eq!(resume_from(Some(sutegi::LastEventId("41".into()))), 42);
/// assert_eq!(resume_from(Some(sutegi::LastEventId("+41".into()))), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(pub String);

impl LastEventId {
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a `u64` when it is plain ASCII digits (no sign, no
    /// spaces) that fit; `None` otherwise.
    pub fn as_u64(&self) -> Option<u64> {
        let digits = self.0.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0.parse().ok()
    }
}

impl Deref for LastEventId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'r> FromRequest<'r> for LastEventId {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        match cx.request().header_bytes("last-event-id") {
            None => Err(Error::bad_request("missing the `Last-Event-ID` header").absent()),
            Some(value) => match std::str::from_utf8(value) {
                Ok(text) => Ok(LastEventId(text.to_owned())),
                Err(_) => Err(Error::bad_request(
                    "the `Last-Event-ID` header is not UTF-8",
                )),
            },
        }
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}

// ---------------------------------------------------------------- Extension

/// A value a middleware attached to the request (through
/// [`Request::extensions_mut`]), cloned out for the handler.
///
/// Missing is a 500 (a middleware that should have run did not): take
/// `Option<Extension<T>>` when it may legitimately be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);
deref_wrapper!(Extension);

impl<'r, T: Clone + Send + Sync + 'static> FromRequest<'r> for Extension<T> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        match cx.request().extensions().get::<T>() {
            Some(value) => Ok(Extension(value.clone())),
            None => {
                log::error!(
                    "no request extension of type `{}`: the middleware that inserts it did not run",
                    std::any::type_name::<T>()
                );
                Err(Error::internal("the server is missing a piece of its configuration").absent())
            }
        }
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        Ok(cx.request().extensions().get::<T>().cloned().map(Extension))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Method;
    use serde::Deserialize;

    fn request(method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
        Request::new(method, target, headers, body.to_vec())
    }

    fn get(target: &str) -> Request {
        request(Method::Get, target, &[], b"")
    }

    fn extract<T: for<'r> FromRequest<'r, Rejection = Error>>(
        request: &Request,
    ) -> Result<T, Error> {
        T::from_request(&RequestContext::new(request))
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Search {
        q: String,
        #[serde(default)]
        limit: Option<u32>,
    }

    #[test]
    fn query_decodes_forms_and_names_bad_parameters() {
        let Query(s) = extract::<Query<Search>>(&get("/s?q=a+b%21&limit=5")).unwrap();
        assert_eq!(
            s,
            Search {
                q: "a b!".into(),
                limit: Some(5)
            }
        );
        let s = extract::<Query<Search>>(&get("/s?q=&x=1")).unwrap();
        assert_eq!((s.q.as_str(), s.limit), ("", None));

        let e = extract::<Query<Search>>(&get("/s?q=a&limit=ten")).unwrap_err();
        assert_eq!(e.status(), Status::BAD_REQUEST);
        assert!(e.message().contains("`limit`"), "{}", e.message());
        let e = extract::<Query<Search>>(&get("/s?q=a&limit=")).unwrap_err();
        assert!(e.message().contains("`limit`"), "{}", e.message());
        let e = extract::<Query<Search>>(&get("/s?limit=1")).unwrap_err();
        assert_eq!(e.message(), "missing query parameter `q`");
        let e = extract::<Query<Search>>(&get("/s")).unwrap_err();
        assert_eq!(e.message(), "missing query parameter `q`");
        let e = extract::<Query<Search>>(&get("/s?q=a&limit=1&q=b")).unwrap_err();
        assert_eq!(e.status(), Status::BAD_REQUEST);
        assert_eq!(
            e.message(),
            "query parameter `q` is given more than once; give it once"
        );
        // An escaped key is the same key.
        let e = extract::<Query<Search>>(&get("/s?q=a&%71=b")).unwrap_err();
        assert!(e.message().contains("`q`"));
    }

    #[test]
    fn option_query_is_none_only_without_a_query_string() {
        assert_eq!(extract::<Option<Query<Search>>>(&get("/s")).unwrap(), None);
        assert!(extract::<Option<Query<Search>>>(&get("/s?limit=1")).is_err());
        assert!(extract::<Option<Query<Search>>>(&get("/s?q=1"))
            .unwrap()
            .is_some());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct NewUser {
        name: String,
    }

    fn post_json(content_type: Option<&str>, body: &str) -> Request {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("Content-Type", ct))
            .into_iter()
            .collect();
        request(Method::Post, "/users", &headers, body.as_bytes())
    }

    #[test]
    fn json_follows_the_content_type_and_shape_rules() {
        let ok = |ct| extract::<Json<NewUser>>(&post_json(Some(ct), r#"{"name":"ada"}"#));
        assert_eq!(ok("application/json").unwrap().0.name, "ada");
        assert!(ok("Application/JSON; charset=utf-8").is_ok());
        assert!(ok("application/problem+json").is_ok());
        assert_eq!(
            ok("text/plain").unwrap_err().status(),
            Status::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            ok("application/+json").unwrap_err().status(),
            Status::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            ok("application/jsonx").unwrap_err().status(),
            Status::UNSUPPORTED_MEDIA_TYPE
        );
        let e = extract::<Json<NewUser>>(&post_json(None, r#"{"name":"ada"}"#)).unwrap_err();
        assert_eq!(e.status(), Status::UNSUPPORTED_MEDIA_TYPE);

        let json = |body| extract::<Json<NewUser>>(&post_json(Some("application/json"), body));
        assert_eq!(json("{not json").unwrap_err().status(), Status::BAD_REQUEST);
        assert_eq!(
            json(r#"{"name":"a"} trailing"#).unwrap_err().status(),
            Status::BAD_REQUEST
        );
        assert_eq!(json("").unwrap_err().status(), Status::BAD_REQUEST);
        let e = json(r#"{"nom":"ada"}"#).unwrap_err();
        assert_eq!(e.status(), Status::UNPROCESSABLE_CONTENT);
        assert!(
            e.message().contains("missing field `name`"),
            "{}",
            e.message()
        );
        let e = json(r#"{"name":5}"#).unwrap_err();
        assert_eq!(e.status(), Status::UNPROCESSABLE_CONTENT);
        assert!(e.message().contains("`name`"), "{}", e.message());
    }

    #[test]
    fn option_json_is_none_only_without_a_body() {
        let none = extract::<Option<Json<NewUser>>>(&post_json(None, "")).unwrap();
        assert!(none.is_none());
        let none =
            extract::<Option<Json<NewUser>>>(&post_json(Some("application/json"), "")).unwrap();
        assert!(none.is_none());
        let e = extract::<Option<Json<NewUser>>>(&post_json(Some("application/json"), "{"))
            .unwrap_err();
        assert_eq!(e.status(), Status::BAD_REQUEST);
        let e = extract::<Option<Json<NewUser>>>(&post_json(Some("text/plain"), "x")).unwrap_err();
        assert_eq!(e.status(), Status::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn result_hands_the_refusal_to_the_handler() {
        let r = request(Method::Post, "/", &[], b"x");
        let cx = RequestContext::new(&r);
        let result = <Result<Json<NewUser>, Error>>::from_request(&cx).unwrap();
        assert_eq!(result.unwrap_err().status(), Status::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn form_needs_its_content_type_and_names_fields() {
        let form = |ct: &str, body: &str| {
            extract::<Form<Search>>(&request(
                Method::Post,
                "/",
                &[("Content-Type", ct)],
                body.as_bytes(),
            ))
        };
        let ct = "application/x-www-form-urlencoded";
        assert_eq!(
            form(ct, "q=hello+world&limit=3").unwrap().0,
            Search {
                q: "hello world".into(),
                limit: Some(3)
            }
        );
        assert_eq!(
            form("application/json", "q=1").unwrap_err().status(),
            Status::UNSUPPORTED_MEDIA_TYPE
        );
        let e = form(ct, "q=1&limit=x").unwrap_err();
        assert_eq!(e.status(), Status::UNPROCESSABLE_CONTENT);
        assert!(
            e.message().contains("form field `limit`"),
            "{}",
            e.message()
        );
        let e = form(ct, "q=1&q=2").unwrap_err();
        assert!(e
            .message()
            .contains("form field `q` is given more than once"));
        let none = extract::<Option<Form<Search>>>(&request(Method::Post, "/", &[], b"")).unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn bodies_as_bytes_vec_and_string() {
        let r = request(Method::Post, "/", &[], b"abc");
        assert_eq!(extract::<Bytes>(&r).unwrap().0, b"abc");
        assert_eq!(extract::<Vec<u8>>(&r).unwrap(), b"abc");
        assert_eq!(extract::<String>(&r).unwrap(), "abc");
        let bad = request(Method::Post, "/", &[], &[0x61, 0xff]);
        let e = extract::<String>(&bad).unwrap_err();
        assert_eq!(e.status(), Status::BAD_REQUEST);
        assert!(e.message().contains("offset 1"));
        let empty = request(Method::Post, "/", &[], b"");
        assert_eq!(extract::<String>(&empty).unwrap(), "");
        assert_eq!(extract::<Option<String>>(&empty).unwrap(), None);
        assert_eq!(extract::<Option<Vec<u8>>>(&empty).unwrap(), None);
        assert_eq!(extract::<Option<Bytes>>(&empty).unwrap(), None);
        assert!(extract::<Option<String>>(&bad).is_err());
        const {
            assert!(
                <Bytes as FromRequest>::READS_BODY && <Option<String> as FromRequest>::READS_BODY
            )
        };
        const { assert!(!<Query<Search> as FromRequest>::READS_BODY) };
    }

    #[test]
    fn headers_and_last_event_id() {
        let r = request(
            Method::Get,
            "/",
            &[("X-A", "1"), ("x-a", "2"), ("Last-Event-ID", "41")],
            b"",
        );
        let cx = RequestContext::new(&r);
        let headers = Headers::from_request(&cx).unwrap();
        assert_eq!(headers.get("x-A"), Some("1"));
        assert_eq!(headers.get_all("X-A").count(), 2);
        assert_eq!(headers.len(), 3);
        assert!(headers.contains("last-event-id") && !headers.contains("nope"));
        let id = extract::<LastEventId>(&r).unwrap();
        assert_eq!((id.as_str(), id.as_u64()), ("41", Some(41)));
        assert_eq!(extract::<Option<LastEventId>>(&get("/")).unwrap(), None);
        assert_eq!(LastEventId("18446744073709551616".into()).as_u64(), None);
        assert_eq!(LastEventId("".into()).as_u64(), None);
        assert_eq!(LastEventId(" 1".into()).as_u64(), None);
    }

    #[derive(Clone, Debug, PartialEq)]
    struct UserId(u32);

    #[test]
    fn extensions_are_cloned_out_or_absent() {
        let mut r = get("/");
        assert_eq!(extract::<Option<Extension<UserId>>>(&r).unwrap(), None);
        assert_eq!(
            extract::<Extension<UserId>>(&r).unwrap_err().status(),
            Status::INTERNAL_SERVER_ERROR
        );
        r.extensions_mut().insert(UserId(7));
        assert_eq!(extract::<Extension<UserId>>(&r).unwrap().0, UserId(7));
    }

    #[test]
    fn state_reads_the_router_states() {
        let r = get("/");
        let states = [StateEntry::new(5u32), StateEntry::new(String::from("cfg"))];
        let cx = RequestContext::for_route(&r, matchit::Params::new(), &states, &NOT_SHUTTING_DOWN);
        assert_eq!(*State::<u32>::from_request(&cx).unwrap(), 5);
        assert_eq!(State::<String>::from_request(&cx).unwrap().as_str(), "cfg");
        assert!(State::<u64>::from_request(&cx).is_err());
        assert!(<Option<State<u64>>>::from_request(&cx).unwrap().is_none());
        assert_eq!(
            State::<u64>::state_requirement().unwrap().type_name(),
            "u64"
        );
        assert_eq!(<Option<State<u64>>>::state_requirement(), None);
    }

    fn with_captures<R>(pattern: &str, path: &str, f: impl FnOnce(&RequestContext<'_>) -> R) -> R {
        let mut router = matchit::Router::new();
        router.insert(pattern, ()).unwrap();
        let request = get(path);
        let matched = router.at(request.path()).unwrap();
        let cx = RequestContext::for_route(&request, matched.params, &[], &NOT_SHUTTING_DOWN);
        f(&cx)
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct UserPost {
        id: u64,
        post: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Admin,
        User,
    }

    #[test]
    fn path_reads_single_values_tuples_and_structs() {
        let pattern = "/users/{id}/posts/{post}";
        with_captures(pattern, "/users/007/posts/a%2Fb%20c", |cx| {
            let Path((id, post)) = Path::<(u64, String)>::from_request(cx).unwrap();
            assert_eq!((id, post.as_str()), (7, "a/b c"));
            let Path(s) = Path::<UserPost>::from_request(cx).unwrap();
            assert_eq!(
                s,
                UserPost {
                    id: 7,
                    post: "a/b c".into()
                }
            );
            let e = Path::<u64>::from_request(cx).unwrap_err();
            assert!(e.message().contains("2 path captures"), "{}", e.message());
            let e = Path::<(u64, String, u8)>::from_request(cx).unwrap_err();
            assert!(e.message().contains("tuple of 3"), "{}", e.message());
        });
        with_captures(pattern, "/users/x/posts/1", |cx| {
            let e = Path::<UserPost>::from_request(cx).unwrap_err();
            assert_eq!(e.status(), Status::BAD_REQUEST);
            assert_eq!(e.message(), "path parameter `id` is not a valid u64");
            let e = Path::<(u64, String)>::from_request(cx).unwrap_err();
            assert_eq!(e.message(), "path parameter `id` is not a valid u64");
        });
        with_captures("/k/{kind}", "/k/admin", |cx| {
            assert_eq!(Path::<Kind>::from_request(cx).unwrap().0, Kind::Admin);
            assert_eq!(Path::<String>::from_request(cx).unwrap().0, "admin");
            assert_eq!(
                Path::<Option<String>>::from_request(cx)
                    .unwrap()
                    .0
                    .as_deref(),
                Some("admin")
            );
        });
        with_captures("/k/{kind}", "/k/root", |cx| {
            let e = Path::<Kind>::from_request(cx).unwrap_err();
            assert!(
                e.message()
                    .starts_with("path parameter `kind`: unknown variant"),
                "{}",
                e.message()
            );
        });
        with_captures("/f/{*rest}", "/f/a/b%20c", |cx| {
            assert_eq!(Path::<String>::from_request(cx).unwrap().0, "a/b c");
        });
        with_captures("/u/{name}", "/u/%ff", |cx| {
            let e = Path::<String>::from_request(cx).unwrap_err();
            assert!(e.message().contains("not valid UTF-8"), "{}", e.message());
        });
    }

    #[test]
    fn capture_parses_by_name_after_decoding() {
        with_captures("/users/{id}/{name}", "/users/42/a%2Fb", |cx| {
            assert_eq!(cx.capture::<u64>("id").unwrap(), 42);
            assert_eq!(cx.capture::<String>("name").unwrap(), "a/b");
            assert_eq!(cx.capture_raw("name"), Some("a%2Fb"));
            let refusal = cx.capture::<u8>("name").unwrap_err();
            assert_eq!(refusal.status(), 400);
            let body = std::str::from_utf8(refusal.body().as_bytes().unwrap()).unwrap();
            assert!(
                body.contains("path parameter `name` is not a valid u8"),
                "{body}"
            );
            assert_eq!(cx.capture::<u8>("nope").unwrap_err().status(), 500);
            assert_eq!(cx.captures().count(), 2);
        });
    }

    #[test]
    fn request_reference_is_the_request() {
        let r = get("/x?y");
        let cx = RequestContext::new(&r);
        let borrowed: &Request = <&Request>::from_request(&cx).unwrap();
        assert_eq!(borrowed.target(), "/x?y");
    }
}
