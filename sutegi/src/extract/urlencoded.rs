//! Decoding `application/x-www-form-urlencoded` input (a query string, a
//! form body) into a type, with refusals that name the parameter.
//!
//! Shared by `Query` and `Form`, which differ only in where the bytes come
//! from, what a parameter is called in messages and the status of a
//! refusal.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::Status;

/// Decodes `application/x-www-form-urlencoded` bytes into `T`, naming the
/// parameter (`what`, e.g. "query parameter") in every refusal.
pub(super) fn decode_urlencoded<T: DeserializeOwned>(
    input: &[u8],
    what: &str,
    status: Status,
) -> Result<T, Error> {
    refuse_repeated_key(input, what, status)?;
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(deserializer)
        .map_err(|error| urlencoded_refusal(&error, what, status))
}

/// Refuses urlencoded input that gives a key twice, naming it.
fn refuse_repeated_key(input: &[u8], what: &str, status: Status) -> Result<(), Error> {
    match repeated_key(input) {
        Some(name) => Err(Error::new(
            status,
            format!("{what} `{name}` is given more than once; give it once"),
        )),
        None => Ok(()),
    }
}

/// The refusal of urlencoded input that does not fit the target type,
/// naming the parameter.
fn urlencoded_refusal(
    error: &serde_path_to_error::Error<serde_urlencoded::de::Error>,
    what: &str,
    status: Status,
) -> Error {
    let path = error.path().to_string();
    let inner = error.inner().to_string();
    let message = match inner.strip_prefix("missing field ") {
        Some(name) => format!("missing {what} {name}"),
        None if path == "." => format!("invalid {what}s: {inner}"),
        None => format!("invalid {what} `{path}`: {inner}"),
    };
    Error::new(status, message)
}

/// The first key (in sorted order) that appears twice in a urlencoded
/// string. Sorting keeps a long query at O(n log n).
fn repeated_key(input: &[u8]) -> Option<String> {
    let mut keys: Vec<Cow<'_, str>> = form_urlencoded::parse(input).map(|(key, _)| key).collect();
    if keys.len() < 2 {
        return None;
    }
    keys.sort_unstable();
    keys.windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].to_string())
}
