//! [`Path<T>`](Path): the route's path captures decoded into `T`, for
//! closures (route functions take captures as arguments named like them).
//!
//! The captures arrive in the [`RequestContext`], still percent-encoded;
//! this file decodes them and hands them to the capture deserializer in
//! `de.rs`, which maps them onto a value, a tuple or a struct.

use serde::de::DeserializeOwned;

use super::{decode_capture, deref_wrapper, FromRequest, RequestContext};
use crate::error::Error;

mod de;

use de::CapturesDeserializer;

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
        T::deserialize(CapturesDeserializer::new(&captures))
            .map(Path)
            .map_err(|error| Error::bad_request(error.to_string()))
    }
}
