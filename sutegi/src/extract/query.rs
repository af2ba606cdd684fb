//! [`Query<T>`](Query): the query string, form-decoded into `T`.
//!
//! The decoding and its refusals are shared with `Form` and live in
//! `urlencoded`; this file only says where the input comes from and when
//! it is absent.

use serde::de::DeserializeOwned;

use super::urlencoded::decode_urlencoded;
use super::{deref_wrapper, FromRequest, RequestContext};
use crate::error::Error;
use crate::Status;

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
