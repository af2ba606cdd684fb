//! What handlers return: the [`IntoResponse`] trait, the [`Status`] code
//! type, and the small responder types [`Html`] and [`Redirect`].
//!
//! This module turns values into [`Response`]s and nothing else: it does not
//! route, read requests or write to sockets. The error shape ([`Error`])
//! lives in the crate's `error` module and [`Json`](crate::Json) in its
//! `json` module (one type, both an extractor and a responder): leaves
//! this module uses. `Error`'s `IntoResponse` impl is here, `Json`'s
//! beside it in `json`; `Error` is re-exported here under its old path.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::convert::Infallible;

pub use crate::server::Status;
use crate::server::{Body, HeaderText, Response};

pub use crate::error::Error;
pub(crate) use crate::error::{render_error, ErrorShape, ErrorShapeGuard};

/// Anything a handler can return.
///
/// Implemented for text (`&'static str`, `String`: `text/plain;
/// charset=utf-8`), bytes (`Vec<u8>`: `application/octet-stream`),
/// [`Json`](crate::Json), [`Html`], [`Status`] (an empty body), `(Status, T)`
/// (another status for `T`'s response), `(Status, [(name, value); N], T)`
/// (plus headers), [`Response`], `Result<T, E>` (either side answers),
/// `Option<T>` (`None` is a 404 in the error shape), `()` (204 No Content),
/// [`Redirect`], sutegi's [`Error`], the standard library's
/// [`std::io::Error`] (listed below as `Error` too: the impl's doc says
/// which), and a cookie jar paired with a response (`(CookieJar, T)`, see
/// [`cookies`](crate::cookies)).
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

/// `sutegi::Error`, the framework's error shape (not `std::io::Error`,
/// whose impl follows).
impl IntoResponse for Error {
    /// The error shape of the router serving this request (the JSON shape
    /// by default), with the refusal's header fields.
    fn into_response(self) -> Response {
        render_error(&self)
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

/// `std::io::Error`, the standard library's I/O error (not
/// `sutegi::Error`, whose impl precedes): rustdoc names both `Error`.
impl IntoResponse for std::io::Error {
    /// An I/O error the handler did not handle: 404 for `NotFound`, 403 for
    /// `PermissionDenied`, else 500, in the error shape. The error itself
    /// goes to the log, not to the client. (`?` into a `sutegi::Error`
    /// makes every kind a 500: see its `From<std::io::Error>`.)
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
    fn result_option_redirect() {
        let ok: Result<&'static str, Error> = Ok("fine");
        assert_eq!(ok.into_response().status(), 200);
        let err: Result<&'static str, Error> = Err(Error::new(Status::GONE, "gone"));
        assert_eq!(err.into_response().status(), 410);
        let none: Option<String> = None;
        let r = none.into_response();
        assert_eq!(r.status(), 404);
        assert!(body(&r).contains("\"error\":\"Not Found\""));
        assert_eq!(Some("x").into_response().status(), 200);

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
}
