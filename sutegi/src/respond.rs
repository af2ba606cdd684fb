//! What handlers return: the [`IntoResponse`] trait, the [`Status`] code
//! type, the framework's one error shape ([`Error`]), and the small
//! responder types [`Html`] and [`Redirect`].
//!
//! This module turns values into [`Response`]s and nothing else: it does not
//! route, read requests or write to sockets. [`Json`] lives in
//! [`extract`](crate::extract) (it is both an extractor and a responder) and
//! its `IntoResponse` impl is here. The router may replace the error shape
//! ([`Router::error_shape`](crate::Router::error_shape)); [`Error`] asks for
//! the replacement when it is rendered on the thread that serves a request.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::extract::Json;
pub use crate::server::Status;
use crate::server::{Body, HeaderText, Response};

/// Anything a handler can return.
///
/// Implemented for text (`&'static str`, `String`: `text/plain;
/// charset=utf-8`), bytes (`Vec<u8>`: `application/octet-stream`),
/// [`Json`], [`Html`], [`Status`] (an empty body), `(Status, T)`
/// (another status for `T`'s response), `(Status, [(name, value); N], T)`
/// (plus headers), [`Response`], `Result<T, E>` (either side answers),
/// `Option<T>` (`None` is a 404 in the error shape), `()` (204 No Content),
/// [`Redirect`] and [`Error`].
///
/// Implement it for your own types to return them from handlers:
///
/// ```
/// use sutegi::{IntoResponse, Response};
///
/// struct Teapot;
///
/// impl IntoResponse for Teapot {
///     fn into_response(self) -> Response {
///         Response::with_body(418, "short and stout")
///     }
/// }
/// assert_eq!(Teapot.into_response().status(), 418);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a handler",
    label = "this type is not a response",
    note = "a handler returns something that implements `sutegi::IntoResponse`: `&'static str`, `String`, `Vec<u8>`, `Json<T>`, `Html<T>`, `Status`, `(Status, T)`, `Response`, `Result<T, E>`, `Option<T>`, `()` or `Redirect`",
    note = "to return your own type, implement `sutegi::IntoResponse` for it"
)]
pub trait IntoResponse {
    /// Turns `self` into the response sent to the client.
    fn into_response(self) -> Response;
}

/// A refusal in the framework's one error shape: a status and a message
/// saying what was wrong, naming the field or parameter.
///
/// Rendered as `{"error": "<reason phrase>", "message": "<message>"}` with
/// `Content-Type: application/json`, so API clients parse one shape for
/// every 4xx and 5xx the framework makes (404, 405, a capture that does not
/// parse, bad JSON, a body too large, a panic…). Handlers return it too:
///
/// ```
/// use sutegi::{Error, IntoResponse, Status};
///
/// let refusal = Error::new(Status::CONFLICT, "a user named `ada` already exists");
/// let response = refusal.into_response();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.header_value("content-type"), Some("application/json"));
/// assert_eq!(
///     response.body().as_bytes().unwrap(),
///     br#"{"error":"Conflict","message":"a user named `ada` already exists"}"#
/// );
/// ```
///
/// A router can render it differently with
/// [`Router::error_shape`](crate::Router::error_shape).
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: Cow<'static, str>,
    /// What the extractor reads was not there at all (no body, no such
    /// header): `Option<E>` turns this into `None`.
    absent: bool,
}

impl Error {
    /// A refusal with this status and message. Say what was wrong and how
    /// to fix it; name the field or parameter.
    pub fn new(status: impl Into<Status>, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            status: status.into(),
            message: message.into(),
            absent: false,
        }
    }

    /// 400 Bad Request with this message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::BAD_REQUEST, message)
    }

    /// 404 Not Found with this message.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::NOT_FOUND, message)
    }

    /// 500 Internal Server Error with this message. Never put internal
    /// details here: the client reads it; log them instead.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::INTERNAL_SERVER_ERROR, message)
    }

    /// Marks the refusal as "what the extractor reads is absent", which an
    /// `Option<E>` extractor turns into `None` (a present but invalid value
    /// stays a refusal). For extractors of your own.
    pub fn absent(mut self) -> Error {
        self.absent = true;
        self
    }

    /// Whether this refusal says "absent" (see [`Error::absent`]).
    pub fn is_absent(&self) -> bool {
        self.absent
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The default rendering: the JSON error shape, whatever shape the
    /// router has been given. [`IntoResponse`] uses the router's shape.
    pub fn to_json_response(&self) -> Response {
        let mut body = Vec::with_capacity(32 + self.message.len());
        body.extend_from_slice(b"{\"error\":");
        write_json_string(&mut body, self.status.reason());
        body.extend_from_slice(b",\"message\":");
        write_json_string(&mut body, &self.message);
        body.push(b'}');
        Response::with_body(self.status.as_u16(), body).header("Content-Type", "application/json")
    }
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

impl fmt::Display for Error {
    /// `404 Not Found: no route matches /nope`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        render_error(&self)
    }
}

/// A replacement for the JSON error shape: renders a refusal as a response.
pub(crate) type ErrorShape = Arc<dyn Fn(&Error) -> Response + Send + Sync + 'static>;

thread_local! {
    /// The error shape of the router serving a request on this thread, set
    /// only while a router with a custom shape runs a handler. Refusals are
    /// turned into responses inside generated code that cannot see the
    /// router, so this is how they learn the shape.
    static ERROR_SHAPE: RefCell<Option<ErrorShape>> = const { RefCell::new(None) };
}

/// Renders a refusal with the error shape of the router serving this
/// thread's request, or the default JSON shape.
pub(crate) fn render_error(error: &Error) -> Response {
    let custom = ERROR_SHAPE.with(|shape| shape.borrow().clone());
    match custom {
        Some(shape) => shape(error),
        None => error.to_json_response(),
    }
}

/// Installs an error shape for this thread until dropped (panics included).
pub(crate) struct ErrorShapeGuard {
    previous: Option<ErrorShape>,
}

impl ErrorShapeGuard {
    pub(crate) fn install(shape: ErrorShape) -> ErrorShapeGuard {
        let previous = ERROR_SHAPE.with(|slot| slot.borrow_mut().replace(shape));
        ErrorShapeGuard { previous }
    }
}

impl Drop for ErrorShapeGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        ERROR_SHAPE.with(|slot| *slot.borrow_mut() = previous);
    }
}

/// An HTML body: `text/html; charset=utf-8`.
///
/// ```
/// use sutegi::{Html, IntoResponse};
/// let response = Html("<h1>hi</h1>").into_response();
/// assert_eq!(response.header_value("content-type"), Some("text/html; charset=utf-8"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        Response::with_body(200, self.0).header("Content-Type", "text/html; charset=utf-8")
    }
}

/// A redirect: a 3xx status with a `Location` header and no body.
///
/// ```
/// use sutegi::{IntoResponse, Redirect};
/// let response = Redirect::to("/login").into_response();
/// assert_eq!(response.status(), 303);
/// assert_eq!(response.header_value("location"), Some("/login"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    status: Status,
    location: HeaderText,
}

impl Redirect {
    /// 303 See Other: the client follows with a `GET` (after a form post).
    pub fn to(location: impl Into<HeaderText>) -> Redirect {
        Redirect {
            status: Status::SEE_OTHER,
            location: location.into(),
        }
    }

    /// 307 Temporary Redirect: the client repeats the same method and body.
    pub fn temporary(location: impl Into<HeaderText>) -> Redirect {
        Redirect {
            status: Status::TEMPORARY_REDIRECT,
            location: location.into(),
        }
    }

    /// 308 Permanent Redirect: the same method and body, and clients may
    /// remember it.
    pub fn permanent(location: impl Into<HeaderText>) -> Redirect {
        Redirect {
            status: Status::PERMANENT_REDIRECT,
            location: location.into(),
        }
    }

    /// The redirect's status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Where it points.
    pub fn location(&self) -> &str {
        &self.location
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        Response::new(self.status.as_u16()).header("Location", self.location)
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for Cow<'static, str> {
    fn into_response(self) -> Response {
        match self {
            Cow::Borrowed(text) => Response::text(text),
            Cow::Owned(text) => Response::text(text),
        }
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::with_body(200, self).header("Content-Type", "application/octet-stream")
    }
}

impl IntoResponse for &'static [u8] {
    fn into_response(self) -> Response {
        Response::with_body(200, self).header("Content-Type", "application/octet-stream")
    }
}

impl IntoResponse for () {
    /// 204 No Content.
    fn into_response(self) -> Response {
        Response::new(204)
    }
}

impl IntoResponse for Status {
    /// This status with an empty body. To refuse in the error shape, return
    /// an [`Error`] instead.
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

impl<T: IntoResponse> IntoResponse for (Status, T) {
    /// `T`'s response with another status.
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        response.set_status(self.0.as_u16());
        response
    }
}

impl<T, V, const N: usize> IntoResponse for (Status, [(&'static str, V); N], T)
where
    T: IntoResponse,
    V: Into<HeaderText>,
{
    /// `T`'s response with another status and these headers, each
    /// replacing a header of that name `T` set (so a `Content-Type` here
    /// wins).
    fn into_response(self) -> Response {
        let (status, headers, inner) = self;
        let mut response = inner.into_response();
        response.set_status(status.as_u16());
        for (name, value) in headers {
            response.set_header(name, value);
        }
        response
    }
}

impl<T, V, const N: usize> IntoResponse for ([(&'static str, V); N], T)
where
    T: IntoResponse,
    V: Into<HeaderText>,
{
    /// `T`'s response with these headers (replacing those of that name).
    fn into_response(self) -> Response {
        let (headers, inner) = self;
        let mut response = inner.into_response();
        for (name, value) in headers {
            response.set_header(name, value);
        }
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

impl<T: IntoResponse> IntoResponse for Option<T> {
    /// `None` is a 404 in the error shape.
    fn into_response(self) -> Response {
        match self {
            Some(value) => value.into_response(),
            None => render_error(&Error::not_found("the requested resource does not exist")),
        }
    }
}

impl IntoResponse for std::io::Error {
    /// An I/O error the handler did not handle: 404 for `NotFound`, 403 for
    /// `PermissionDenied`, else 500. The error itself goes to the log, not
    /// to the client.
    fn into_response(self) -> Response {
        let status = match self.kind() {
            std::io::ErrorKind::NotFound => Status::NOT_FOUND,
            std::io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
            _ => Status::INTERNAL_SERVER_ERROR,
        };
        log::error!("handler returned an I/O error: {self}");
        render_error(&Error::new(
            status,
            "the server could not complete the request",
        ))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    /// `application/json`. A value that fails to serialise (a map with
    /// non-string keys, a failing `Serialize` impl) is a 500; the reason
    /// goes to the log.
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::with_body(200, body).header("Content-Type", "application/json"),
            Err(error) => {
                log::error!("could not serialise a Json response: {error}");
                render_error(&Error::internal("the response could not be serialised"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response) -> &str {
        std::str::from_utf8(response.body().as_bytes().expect("a buffered body")).unwrap()
    }

    #[test]
    fn status_converts_and_names_itself() {
        assert_eq!(Status::from(201), Status::CREATED);
        assert_eq!(Status::PAYLOAD_TOO_LARGE, Status::CONTENT_TOO_LARGE);
        assert_eq!(
            Status::UNPROCESSABLE_ENTITY.reason(),
            "Unprocessable Content"
        );
        assert_eq!(Status::IM_A_TEAPOT.reason(), "I'm a teapot");
        assert_eq!(Status::from(499).reason(), "Client Error");
        assert_eq!(Status::from(7), Status::INTERNAL_SERVER_ERROR);
        assert_eq!(Status::from(1000), Status::INTERNAL_SERVER_ERROR);
        assert_eq!(Status::NOT_FOUND.to_string(), "404 Not Found");
        assert_eq!(u16::from(Status::OK), 200);
        assert!(Status::NO_CONTENT.is_success() && Status::BAD_GATEWAY.is_error());
    }

    #[test]
    fn error_renders_the_json_shape_with_escaping() {
        let response = Error::bad_request("field `a` has a \"quote\"\n").into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.header_value("Content-Type"),
            Some("application/json")
        );
        let value: serde_json::Value = serde_json::from_str(body(&response)).unwrap();
        assert_eq!(value["error"], "Bad Request");
        assert_eq!(value["message"], "field `a` has a \"quote\"\n");
    }

    #[test]
    fn text_bytes_unit_and_status() {
        let r = "hi".into_response();
        assert_eq!((r.status(), body(&r)), (200, "hi"));
        assert_eq!(
            r.header_value("content-type"),
            Some("text/plain; charset=utf-8")
        );
        let r = String::from("yo").into_response();
        assert_eq!(body(&r), "yo");
        let r = vec![1u8, 2].into_response();
        assert_eq!(
            r.header_value("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(r.body().as_bytes(), Some(&[1u8, 2][..]));
        assert_eq!(().into_response().status(), 204);
        let r = Status::ACCEPTED.into_response();
        assert_eq!((r.status(), body(&r)), (202, ""));
        let r = Html(String::from("<p>")).into_response();
        assert_eq!(
            r.header_value("content-type"),
            Some("text/html; charset=utf-8")
        );
        let r = Cow::<'static, str>::Borrowed("cow").into_response();
        assert_eq!(body(&r), "cow");
    }

    #[test]
    fn tuples_set_status_and_headers() {
        let r = (Status::CREATED, "made").into_response();
        assert_eq!((r.status(), body(&r)), (201, "made"));
        let r = (
            Status::CREATED,
            [
                ("Location", String::from("/users/1")),
                ("Content-Type", "text/x".into()),
            ],
            "made",
        )
            .into_response();
        assert_eq!(r.status(), 201);
        assert_eq!(r.header_value("location"), Some("/users/1"));
        assert_eq!(r.header_value("content-type"), Some("text/x"));
        assert_eq!(
            r.headers()
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .count(),
            1
        );
        let r = ([("X-A", "1")], "x").into_response();
        assert_eq!((r.status(), r.header_value("x-a")), (200, Some("1")));
    }

    #[test]
    fn result_option_json_redirect() {
        let ok: Result<&'static str, Error> = Ok("fine");
        assert_eq!(ok.into_response().status(), 200);
        let err: Result<&'static str, Error> = Err(Error::new(Status::GONE, "gone"));
        assert_eq!(err.into_response().status(), 410);
        let none: Option<String> = None;
        let r = none.into_response();
        assert_eq!(r.status(), 404);
        assert!(body(&r).contains("\"error\":\"Not Found\""));
        assert_eq!(Some("x").into_response().status(), 200);

        let r = Json(serde_json::json!({"a": 1})).into_response();
        assert_eq!(
            (r.header_value("content-type"), body(&r)),
            (Some("application/json"), r#"{"a":1}"#)
        );
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        let r = Json(bad).into_response();
        assert_eq!(r.status(), 500);
        assert!(!body(&r).contains("key must be a string"));

        assert_eq!(Redirect::temporary("/a").into_response().status(), 307);
        let r = Redirect::permanent("/b").into_response();
        assert_eq!((r.status(), r.header_value("location")), (308, Some("/b")));
    }

    #[test]
    fn io_errors_map_to_statuses_without_leaking() {
        let r = std::io::Error::new(std::io::ErrorKind::NotFound, "/secret/path").into_response();
        assert_eq!(r.status(), 404);
        assert!(!body(&r).contains("secret"));
        let r = std::io::Error::other("db password wrong").into_response();
        assert_eq!(r.status(), 500);
        assert!(!body(&r).contains("password"));
    }

    #[test]
    fn a_custom_error_shape_applies_while_installed() {
        let shape: ErrorShape =
            Arc::new(|e: &Error| Response::with_body(e.status().as_u16(), "custom"));
        {
            let _guard = ErrorShapeGuard::install(shape);
            let r = Error::bad_request("x").into_response();
            assert_eq!((r.status(), body(&r)), (400, "custom"));
        }
        let r = Error::bad_request("x").into_response();
        assert!(body(&r).starts_with("{\"error\""));
    }
}
