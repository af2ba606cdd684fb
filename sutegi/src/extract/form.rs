//! [`Form<T>`](Form): an `application/x-www-form-urlencoded` body decoded
//! into `T`.
//!
//! This file checks the `Content-Type` and the body's presence; the
//! decoding is shared with `Query` in `urlencoded`.

use serde::de::DeserializeOwned;

use super::urlencoded::decode_urlencoded;
use super::{deref_wrapper, optional, FromRequest, RequestContext};
use crate::error::Error;
use crate::server::Request;
use crate::Status;

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
    const CONTENT_TYPE_CHECK: Option<fn(Option<&str>) -> bool> = Some(takes_form);

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
    if !takes_form(request.header("content-type")) {
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

/// Whether a `Content-Type` (absent: `None`) is one a `Form` body may
/// have; the extractor and the router's head check both ask this.
fn takes_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| media_type_is(ct, "application/x-www-form-urlencoded"))
}

/// Whether a `Content-Type` value names `expected` (case-insensitive,
/// parameters ignored).
fn media_type_is(content_type: &str, expected: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(expected)
}
