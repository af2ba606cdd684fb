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
use std::fmt;

use crate::server::{status_reason, Body, HeaderText, Response};

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

/// An HTTP status code.
///
/// The constants carry the names the `http` crate uses (`Status::OK`,
/// `Status::CREATED`, `Status::NOT_FOUND`, …), plus RFC 9110's newer names
/// where they differ (`CONTENT_TOO_LARGE`, `UNPROCESSABLE_CONTENT`). Any
/// code converts from a `u16`:
///
/// ```
/// use sutegi::Status;
/// assert_eq!(Status::from(404), Status::NOT_FOUND);
/// assert_eq!(Status::NOT_FOUND.as_u16(), 404);
/// assert_eq!(Status::NOT_FOUND.reason(), "Not Found");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(u16);

macro_rules! status_constants {
    ($($code:literal $name:ident $doc:literal;)*) => {
        impl Status {
            $(
                #[doc = concat!("`", stringify!($code), " ", $doc, "`")]
                pub const $name: Status = Status($code);
            )*
        }
    };
}

status_constants! {
    100 CONTINUE "Continue";
    101 SWITCHING_PROTOCOLS "Switching Protocols";
    102 PROCESSING "Processing";
    103 EARLY_HINTS "Early Hints";
    200 OK "OK";
    201 CREATED "Created";
    202 ACCEPTED "Accepted";
    203 NON_AUTHORITATIVE_INFORMATION "Non-Authoritative Information";
    204 NO_CONTENT "No Content";
    205 RESET_CONTENT "Reset Content";
    206 PARTIAL_CONTENT "Partial Content";
    207 MULTI_STATUS "Multi-Status";
    208 ALREADY_REPORTED "Already Reported";
    226 IM_USED "IM Used";
    300 MULTIPLE_CHOICES "Multiple Choices";
    301 MOVED_PERMANENTLY "Moved Permanently";
    302 FOUND "Found";
    303 SEE_OTHER "See Other";
    304 NOT_MODIFIED "Not Modified";
    305 USE_PROXY "Use Proxy";
    307 TEMPORARY_REDIRECT "Temporary Redirect";
    308 PERMANENT_REDIRECT "Permanent Redirect";
    400 BAD_REQUEST "Bad Request";
    401 UNAUTHORIZED "Unauthorized";
    402 PAYMENT_REQUIRED "Payment Required";
    403 FORBIDDEN "Forbidden";
    404 NOT_FOUND "Not Found";
    405 METHOD_NOT_ALLOWED "Method Not Allowed";
    406 NOT_ACCEPTABLE "Not Acceptable";
    407 PROXY_AUTHENTICATION_REQUIRED "Proxy Authentication Required";
    408 REQUEST_TIMEOUT "Request Timeout";
    409 CONFLICT "Conflict";
    410 GONE "Gone";
    411 LENGTH_REQUIRED "Length Required";
    412 PRECONDITION_FAILED "Precondition Failed";
    413 PAYLOAD_TOO_LARGE "Content Too Large (the `http` crate's name)";
    413 CONTENT_TOO_LARGE "Content Too Large (RFC 9110's name)";
    414 URI_TOO_LONG "URI Too Long";
    415 UNSUPPORTED_MEDIA_TYPE "Unsupported Media Type";
    416 RANGE_NOT_SATISFIABLE "Range Not Satisfiable";
    417 EXPECTATION_FAILED "Expectation Failed";
    418 IM_A_TEAPOT "I'm a teapot";
    421 MISDIRECTED_REQUEST "Misdirected Request";
    422 UNPROCESSABLE_ENTITY "Unprocessable Content (the `http` crate's name)";
    422 UNPROCESSABLE_CONTENT "Unprocessable Content (RFC 9110's name)";
    423 LOCKED "Locked";
    424 FAILED_DEPENDENCY "Failed Dependency";
    425 TOO_EARLY "Too Early";
    426 UPGRADE_REQUIRED "Upgrade Required";
    428 PRECONDITION_REQUIRED "Precondition Required";
    429 TOO_MANY_REQUESTS "Too Many Requests";
    431 REQUEST_HEADER_FIELDS_TOO_LARGE "Request Header Fields Too Large";
    451 UNAVAILABLE_FOR_LEGAL_REASONS "Unavailable For Legal Reasons";
    500 INTERNAL_SERVER_ERROR "Internal Server Error";
    501 NOT_IMPLEMENTED "Not Implemented";
    502 BAD_GATEWAY "Bad Gateway";
    503 SERVICE_UNAVAILABLE "Service Unavailable";
    504 GATEWAY_TIMEOUT "Gateway Timeout";
    505 HTTP_VERSION_NOT_SUPPORTED "HTTP Version Not Supported";
    506 VARIANT_ALSO_NEGOTIATES "Variant Also Negotiates";
    507 INSUFFICIENT_STORAGE "Insufficient Storage";
    508 LOOP_DETECTED "Loop Detected";
    510 NOT_EXTENDED "Not Extended";
    511 NETWORK_AUTHENTICATION_REQUIRED "Network Authentication Required";
}

impl Status {
    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The reason phrase (RFC 9110's wording, as in the error body's
    /// `error` field). Codes no RFC names get their class: `"Client
    /// Error"`, `"Server Error"`, and so on.
    pub fn reason(self) -> &'static str {
        let known = status_reason(self.0);
        if !known.is_empty() {
            return known;
        }
        match self.0 {
            102 => "Processing",
            103 => "Early Hints",
            207 => "Multi-Status",
            208 => "Already Reported",
            226 => "IM Used",
            418 => "I'm a teapot",
            423 => "Locked",
            424 => "Failed Dependency",
            425 => "Too Early",
            506 => "Variant Also Negotiates",
            507 => "Insufficient Storage",
            508 => "Loop Detected",
            510 => "Not Extended",
            511 => "Network Authentication Required",
            100..=199 => "Informational",
            200..=299 => "Success",
            300..=399 => "Redirection",
            400..=499 => "Client Error",
            _ => "Server Error",
        }
    }

    /// Whether the code is 2xx.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// Whether the code is 4xx or 5xx.
    pub const fn is_error(self) -> bool {
        self.0 >= 400
    }
}

impl From<u16> for Status {
    /// Any three-digit code (100 to 999) is kept as is. Anything else cannot
    /// be written on a status line and becomes 500, so a bad computation
    /// answers an error instead of a broken response.
    fn from(code: u16) -> Status {
        if (100..=999).contains(&code) {
            Status(code)
        } else {
            Status::INTERNAL_SERVER_ERROR
        }
    }
}

impl From<Status> for u16 {
    fn from(status: Status) -> u16 {
        status.0
    }
}

impl fmt::Display for Status {
    /// `404 Not Found`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status({} {})", self.0, self.reason())
    }
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
        Response::new(self.0)
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
