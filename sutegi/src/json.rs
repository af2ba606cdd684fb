//! [`Json<T>`](Json): a JSON request body decoded into `T`, and a value
//! answered as JSON.
//!
//! Both directions live here, as one type is both an extractor and a
//! responder: the [`FromRequest`] impl (the `Content-Type` check, decoding,
//! and the refusals naming what did not fit) and the [`IntoResponse`] impl.
//! The traits come from [`extract`](crate::extract) and
//! [`respond`](crate::respond), which in turn know nothing of `Json`, so
//! neither of them depends on the other through it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{render_error, Error};
use crate::extract::{deref_wrapper, optional, FromRequest, RequestContext};
use crate::respond::IntoResponse;
use crate::server::{Request, Response};
use crate::Status;

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
    const CONTENT_TYPE_CHECK: Option<fn(Option<&str>) -> bool> = Some(takes_json);

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        decode_json(json_body(cx.request())?).map(Json)
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}

/// The body of a JSON request, or the refusal of one that is not.
///
/// Kept out of the generic `from_request`, like every step that does not
/// depend on `T`, so it is compiled once rather than per target type.
fn json_body(request: &Request) -> Result<&[u8], Error> {
    let body = request.body();
    let absent = body.is_empty();
    if !takes_json(request.header("content-type")) {
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

/// Whether a `Content-Type` (absent: `None`) is one a `Json` body may
/// have; the extractor and the router's head check both ask this.
fn takes_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(is_json)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Method;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct NewUser {
        name: String,
    }

    fn post_json(content_type: Option<&str>, body: &str) -> Request {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("Content-Type", ct))
            .into_iter()
            .collect();
        Request::new(Method::Post, "/users", &headers, body.as_bytes().to_vec())
    }

    fn extract<T: for<'r> FromRequest<'r, Rejection = Error>>(
        request: &Request,
    ) -> Result<T, Error> {
        T::from_request(&RequestContext::new(request))
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
    fn json_answers_application_json_or_a_500() {
        let r = Json(serde_json::json!({"a": 1})).into_response();
        let body = |r: &Response| String::from_utf8(r.body().as_bytes().unwrap().to_vec()).unwrap();
        assert_eq!(
            (r.header_value("content-type"), body(&r).as_str()),
            (Some("application/json"), r#"{"a":1}"#)
        );
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        let r = Json(bad).into_response();
        assert_eq!(r.status(), 500);
        assert!(!body(&r).contains("key must be a string"));
    }
}
