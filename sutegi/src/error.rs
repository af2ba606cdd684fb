//! The framework's one error shape: [`Error`], the refusal extractors,
//! the router and handlers answer with, and how it is rendered.
//!
//! This module owns the refusal type, its default JSON rendering and the
//! per-thread hook through which a router's own shape
//! ([`Router::error_shape`](crate::Router::error_shape)) replaces that
//! rendering while it serves a request ([`render_error`]). It is a leaf:
//! it needs the status type and the response type and nothing above them.
//! Its [`IntoResponse`](crate::IntoResponse) impl is in the `respond`
//! module, which depends on this one and not the other way round.
//!
//! It also owns the `From` conversions that let `?` turn the errors
//! handlers meet most ([`serde_json::Error`], [`std::io::Error`]) into a
//! refusal.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::server::{HeaderText, Response};
// The status type by its crate-root path: the root names it wherever it
// lives, and this module stays off `respond`, which depends on it.
use crate::Status;

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
/// A refusal can carry header fields the status calls for
/// (`WWW-Authenticate` on a 401, `Retry-After` on a 429 or 503); they are
/// sent whatever shape renders the body:
///
/// ```
/// use std::time::Duration;
/// use sutegi::{Error, IntoResponse};
///
/// let r = Error::unauthorized("Bearer", "send `Authorization: Bearer <token>`").into_response();
/// assert_eq!((r.status(), r.header_value("www-authenticate")), (401, Some("Bearer")));
/// let r = Error::too_many_requests("slow down")
///     .retry_after(Duration::from_secs(30))
///     .into_response();
/// assert_eq!((r.status(), r.header_value("retry-after")), (429, Some("30")));
/// ```
///
/// `?` converts the errors handlers meet most: a [`serde_json::Error`]
/// is a 400 (not JSON) or a 422 (JSON of the wrong shape) with its
/// message, and a [`std::io::Error`] is a 500 whose message goes to the
/// log and never to the client (see the `From` impls below).
///
/// ```
/// use sutegi::Error;
///
/// fn load(path: &str) -> Result<String, Error> {
///     let text = std::fs::read_to_string(path)?; // a 500, logged
///     let value: serde_json::Value = serde_json::from_str(&text)?; // 400 or 422
///     Ok(value.to_string())
/// }
/// assert_eq!(load("/no/such/file").unwrap_err().status().as_u16(), 500);
/// ```
///
/// # When a type of your own fits better
///
/// `Error` is a status and a sentence, which is what a client needs. When
/// the handler's callers need more (a domain error that other code matches
/// on, a machine-readable code per failure, or a failure that must be
/// logged with context before it is answered), define an error type of
/// your own, implement [`IntoResponse`](crate::IntoResponse) for it (build
/// the response from an `Error` there to keep the one shape), and
/// implement `From` for the library errors you want `?` to take.
///
/// Not to be confused with [`std::io::Error`], which is also a responder
/// (404, 403 or 500 by its kind; see
/// [`IntoResponse`](crate::IntoResponse)): this one is `sutegi::Error`.
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
    /// Header fields sent with the refusal. Boxed and optional so the
    /// common refusal (none) keeps `Result<T, Error>` small: one pointer,
    /// where a `Vec` would add three words to every extractor's result.
    #[allow(clippy::box_collection)]
    headers: Option<Box<Vec<(HeaderText, HeaderText)>>>,
}

impl Error {
    /// A refusal with this status and message. Say what was wrong and how
    /// to fix it; name the field or parameter.
    pub fn new(status: impl Into<Status>, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            status: status.into(),
            message: message.into(),
            absent: false,
            headers: None,
        }
    }

    /// Adds a header field to send with the refusal (another field of the
    /// same name is kept: `WWW-Authenticate` may list several challenges).
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Error {
        self.headers
            .get_or_insert_with(Default::default)
            .push((name.into(), value.into()));
        self
    }

    /// The header fields sent with the refusal, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .flat_map(|headers| headers.iter())
            .map(|(name, value)| (&name[..], &value[..]))
    }

    /// Adds `Retry-After` in whole seconds (rounded up), for a 429 or a
    /// 503: when the client may try again.
    pub fn retry_after(self, wait: std::time::Duration) -> Error {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.with_header("Retry-After", seconds.to_string())
    }

    /// 400 Bad Request with this message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::BAD_REQUEST, message)
    }

    /// 401 Unauthorized with the challenge the client must answer, sent
    /// as `WWW-Authenticate` (RFC 9110 requires one on every 401): the
    /// scheme and its parameters, e.g. `Bearer` or
    /// `Basic realm="admin", charset="UTF-8"`.
    pub fn unauthorized(
        challenge: impl Into<HeaderText>,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::new(Status::UNAUTHORIZED, message).with_header("WWW-Authenticate", challenge)
    }

    /// 403 Forbidden with this message: the client is known and may not.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::FORBIDDEN, message)
    }

    /// 404 Not Found with this message.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::NOT_FOUND, message)
    }

    /// 409 Conflict with this message: the request clashes with the
    /// resource's current state.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::CONFLICT, message)
    }

    /// 413 Content Too Large with this message; name the limit.
    pub fn content_too_large(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::CONTENT_TOO_LARGE, message)
    }

    /// 422 Unprocessable Content with this message: well-formed, but not
    /// what the route takes (name the field).
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::UNPROCESSABLE_CONTENT, message)
    }

    /// 429 Too Many Requests with this message; add
    /// [`retry_after`](Error::retry_after) when you know the wait.
    pub fn too_many_requests(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::TOO_MANY_REQUESTS, message)
    }

    /// 500 Internal Server Error with this message. Never put internal
    /// details here: the client reads it; log them instead.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::INTERNAL_SERVER_ERROR, message)
    }

    /// 503 Service Unavailable with this message; add
    /// [`retry_after`](Error::retry_after) when you know the wait.
    pub fn service_unavailable(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Status::SERVICE_UNAVAILABLE, message)
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
    /// router has been given. [`IntoResponse`](crate::IntoResponse) uses the
    /// router's shape.
    pub fn to_json_response(&self) -> Response {
        let mut body = Vec::with_capacity(32 + self.message.len());
        body.extend_from_slice(b"{\"error\":");
        write_json_string(&mut body, self.status.reason());
        body.extend_from_slice(b",\"message\":");
        write_json_string(&mut body, &self.message);
        body.push(b'}');
        let mut response = Response::with_body(self.status.as_u16(), body)
            .header("Content-Type", "application/json");
        self.add_headers_to(&mut response);
        response
    }

    /// Appends the refusal's header fields to `response`. Kept out of line
    /// and free of checks: every program renders refusals, few add headers
    /// to them, and this is what the smallest binaries pay for the feature.
    #[inline(never)]
    fn add_headers_to(&self, response: &mut Response) {
        if let Some(headers) = &self.headers {
            for (name, value) in headers.iter() {
                response.append_header(name.clone(), value.clone());
            }
        }
    }
}

impl From<serde_json::Error> for Error {
    /// A JSON document that does not parse (syntax, cut short) is a 400; one
    /// that parses but does not fit the target type is a 422. The message is
    /// serde_json's, which names the line and column (not the field: the
    /// [`Json`](crate::Json) extractor names it).
    fn from(error: serde_json::Error) -> Error {
        match error.classify() {
            serde_json::error::Category::Data => {
                Error::unprocessable(format!("the JSON does not fit: {error}"))
            }
            serde_json::error::Category::Io => {
                log::error!("an I/O error while reading JSON: {error}");
                Error::internal("the server could not complete the request")
            }
            _ => Error::bad_request(format!("not valid JSON: {error}")),
        }
    }
}

impl From<std::io::Error> for Error {
    /// A [`std::io::Error`] (the standard library's, not this type) is a 500:
    /// its message goes to the [`log`](https://docs.rs/log) facade and the
    /// client reads only that the request could not be completed, since I/O
    /// messages name paths and hosts. Whatever its kind: a file the handler
    /// cannot open is the server's fault. (Returned directly as a response,
    /// an `io::Error` maps `NotFound` to 404 and `PermissionDenied` to 403.)
    ///
    /// An I/O error that wraps a `sutegi::Error` (as the readers of
    /// [`Multipart`](crate::extract::Multipart) fields return for a field
    /// over its limit) gives that refusal back.
    fn from(error: std::io::Error) -> Error {
        if error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(Ok(refusal)) = error.into_inner().map(|inner| inner.downcast::<Error>()) {
                return *refusal;
            }
            return Error::internal("the server could not complete the request");
        }
        log::error!("a handler failed on an I/O error: {error}");
        Error::internal("the server could not complete the request")
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
        let mut debug = f.debug_struct("Error");
        debug
            .field("status", &self.status)
            .field("message", &self.message);
        if let Some(headers) = &self.headers {
            debug.field("headers", headers);
        }
        debug.finish()
    }
}

impl std::error::Error for Error {}

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
        Some(shape) => {
            // The shape renders the body; the refusal's own header fields
            // (a challenge, a retry delay) belong to the status and are
            // added to what the shape made (a shape should not set them).
            let mut response = shape(error);
            error.add_headers_to(&mut response);
            response
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn body(response: &Response) -> &str {
        std::str::from_utf8(response.body().as_bytes().expect("a buffered body")).unwrap()
    }

    #[test]
    fn error_renders_the_json_shape_with_escaping() {
        let response = render_error(&Error::bad_request("field `a` has a \"quote\"\n"));
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
    fn a_custom_error_shape_applies_while_installed() {
        let shape: ErrorShape =
            Arc::new(|e: &Error| Response::with_body(e.status().as_u16(), "custom"));
        {
            let _guard = ErrorShapeGuard::install(shape);
            let r = render_error(&Error::bad_request("x"));
            assert_eq!((r.status(), body(&r)), (400, "custom"));
        }
        let r = render_error(&Error::bad_request("x"));
        assert!(body(&r).starts_with("{\"error\""));
    }

    #[test]
    fn headers_ride_along_in_either_shape() {
        let refusal = Error::unauthorized("Basic realm=\"x\"", "who are you")
            .with_header("WWW-Authenticate", "Bearer");
        let r = render_error(&refusal);
        assert_eq!(r.status(), 401);
        let challenges: Vec<&str> = r
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(challenges, ["Basic realm=\"x\"", "Bearer"]);
        let shape: ErrorShape = Arc::new(|e: &Error| Response::with_body(e.status().as_u16(), "c"));
        let _guard = ErrorShapeGuard::install(shape);
        let r = render_error(
            &Error::service_unavailable("busy").retry_after(Duration::from_millis(1500)),
        );
        assert_eq!((r.status(), body(&r)), (503, "c"));
        assert_eq!(r.header_value("retry-after"), Some("2"));
    }

    #[test]
    fn constructors_carry_their_status() {
        for (error, status) in [
            (Error::bad_request("m"), 400),
            (Error::unauthorized("Bearer", "m"), 401),
            (Error::forbidden("m"), 403),
            (Error::not_found("m"), 404),
            (Error::conflict("m"), 409),
            (Error::content_too_large("m"), 413),
            (Error::unprocessable("m"), 422),
            (Error::too_many_requests("m"), 429),
            (Error::internal("m"), 500),
            (Error::service_unavailable("m"), 503),
        ] {
            assert_eq!(error.status().as_u16(), status, "{error}");
            assert_eq!(error.message(), "m");
        }
    }

    #[test]
    fn question_mark_converts_json_and_io_errors() {
        let syntax = serde_json::from_str::<serde_json::Value>("{nope").unwrap_err();
        assert_eq!(Error::from(syntax).status(), Status::BAD_REQUEST);
        let eof = serde_json::from_str::<serde_json::Value>("[1,").unwrap_err();
        assert_eq!(Error::from(eof).status(), Status::BAD_REQUEST);
        let data = serde_json::from_str::<u8>("\"x\"").unwrap_err();
        let e = Error::from(data);
        assert_eq!(e.status(), Status::UNPROCESSABLE_CONTENT);
        assert!(e.message().contains("invalid type"), "{e}");

        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "/etc/secret.key");
        let e = Error::from(io);
        assert_eq!(e.status(), Status::INTERNAL_SERVER_ERROR);
        assert!(!e.message().contains("secret"), "{e}");
        // A refusal carried through an io::Error comes back as itself.
        let wrapped = std::io::Error::other(Error::content_too_large("field `f` is over 5 B"));
        assert_eq!(
            Error::from(wrapped),
            Error::content_too_large("field `f` is over 5 B")
        );
    }
}
