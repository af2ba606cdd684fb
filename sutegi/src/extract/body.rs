//! The raw body as an extractor: [`Bytes`], `Vec<u8>` and `String`, with
//! any `Content-Type`, and [`BodyReader`] for a body read as it arrives.
//!
//! Bodies with a format (`Json`, `Form`) have their own files; the first
//! three only copy the bytes (and check UTF-8 for `String`). An empty body
//! is "absent", so their `Option` is `None` for it. `BodyReader` streams:
//! the route's handler runs on the head and reads the body from the
//! socket, so a large `PUT` goes to disk without being held in memory.

use std::convert::Infallible;
use std::ops::Deref;

use super::{optional, FromRequest, RequestContext};
use crate::error::Error;
use crate::respond::IntoResponse;
use crate::server::{BodyReader, Response};

/// The raw request body as bytes (a copy; borrow `&Request` and read
/// [`Request::body`](crate::Request::body) to avoid it). Any `Content-Type` is accepted.
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

impl<'r> FromRequest<'r> for BodyReader {
    type Rejection = Infallible;
    const READS_BODY: bool = true;
    const STREAMS_BODY: bool = true;

    /// The body as it arrives, any `Content-Type`: from the socket on a
    /// route the server streams (every route taking it, through the
    /// router), else from the body already read (a handler of your own,
    /// an MCP tool call), copied.
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Infallible> {
        let request = cx.request();
        Ok(request
            .take_body_reader()
            .unwrap_or_else(|| BodyReader::over(request.body().to_vec())))
    }
}
