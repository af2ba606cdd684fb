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

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::server::Response;
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
    /// router has been given. [`IntoResponse`](crate::IntoResponse) uses the
    /// router's shape.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
