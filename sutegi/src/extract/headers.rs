//! Extractors over request headers: [`Headers`], an owned copy of them
//! all, and [`LastEventId`], the header a reconnecting `EventSource` sends.
//!
//! Reading one header by name needs no extractor: take `&Request` and call
//! [`Request::header`](crate::Request::header).

use std::convert::Infallible;
use std::ops::Deref;

use super::{optional, FromRequest, RequestContext};
use crate::error::Error;

/// An owned copy of the request's header fields, for handlers (and
/// `#[sse]` producers) that want several of them without borrowing the
/// request. Names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(Box<str>, Box<[u8]>)>,
}

impl Headers {
    /// The first value of `name`, if present and UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The first value of `name` as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| &value[..])
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| &value[..])
    }

    /// Whether a field `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// Every field, names as sent, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|(name, value)| (&name[..], &value[..]))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl<'r> FromRequest<'r> for Headers {
    type Rejection = Infallible;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Infallible> {
        let fields = cx
            .request()
            .headers()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Ok(Headers { fields })
    }
}

/// The `Last-Event-ID` request header a reconnecting `EventSource` sends,
/// so an SSE route can resume after the last event the client saw.
///
/// Take it as `Option<LastEventId>`: `None` when the header is absent.
///
/// ```
/// fn resume_from(last: Option<sutegi::LastEventId>) -> u64 {
///     last.and_then(|id| id.as_u64()).map_or(0, |k| k.saturating_add(1))
/// }
/// assert_eq!(resume_from(Some(sutegi::LastEventId("41".into()))), 42);
/// assert_eq!(resume_from(Some(sutegi::LastEventId("+41".into()))), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(pub String);

impl LastEventId {
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a `u64` when it is plain ASCII digits (no sign, no
    /// spaces) that fit; `None` otherwise.
    pub fn as_u64(&self) -> Option<u64> {
        let digits = self.0.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0.parse().ok()
    }
}

impl Deref for LastEventId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'r> FromRequest<'r> for LastEventId {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        match cx.request().header_bytes("last-event-id") {
            None => Err(Error::bad_request("missing the `Last-Event-ID` header").absent()),
            Some(value) => match std::str::from_utf8(value) {
                Ok(text) => Ok(LastEventId(text.to_owned())),
                Err(_) => Err(Error::bad_request(
                    "the `Last-Event-ID` header is not UTF-8",
                )),
            },
        }
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}
