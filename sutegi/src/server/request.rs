//! The parsed request a handler receives: method, target, version, headers,
//! body, peer address and per-request extensions.
//!
//! A `Request` owns one buffer: a copy of the request head (request line and
//! header fields, exactly as received) followed by a table of byte ranges
//! into it, one entry per header field. Parsing a bodiless request therefore
//! allocates once, whatever the number of headers. Parsing and framing live
//! in [`codec`](super::codec); this module only holds the result.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;

/// The request methods the server recognises (RFC 9110 §9, plus `PATCH`).
///
/// Methods are case-sensitive: `get` is not `GET`. Any other token is
/// refused with 501 before a handler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: answered like `GET`, without a body.
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `CONNECT`
    Connect,
}

impl Method {
    /// Every method, in the order `Allow` headers list them.
    pub const ALL: [Method; 9] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Patch,
        Method::Options,
        Method::Trace,
        Method::Connect,
    ];

    /// Recognises a method token exactly as sent (case-sensitive).
    pub fn from_token(token: &[u8]) -> Option<Method> {
        Some(match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"PATCH" => Method::Patch,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"CONNECT" => Method::Connect,
            _ => return None,
        })
    }

    /// The method's token as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::from_token(s.as_bytes()).ok_or(UnknownMethod)
    }
}

/// The error of parsing a [`Method`] from a string that is not one of the
/// nine known tokens (spelled in upper case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownMethod;

impl fmt::Display for UnknownMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown HTTP method (methods are upper-case tokens such as GET or POST)")
    }
}

impl std::error::Error for UnknownMethod {}

/// The HTTP version of a request. Only HTTP/1.0 and HTTP/1.1 are served;
/// anything else is refused with 505.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Version {
    /// HTTP/1.0: no chunked framing, keep-alive only when asked for.
    Http10,
    /// HTTP/1.1: persistent connections by default.
    Http11,
}

impl Version {
    /// The version as written in a status line.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// Byte ranges of one header field inside the request head. `u16` is
/// enough: the head is bounded by [`Limits::max_head_bytes`](super::Limits),
/// which cannot exceed 64 KiB.
///
/// Stored in the request's buffer after the head, [`FieldRange::ENCODED_LEN`]
/// little-endian bytes each, rather than in a `Vec` of its own: that saves
/// parsing an allocation and a free per request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldRange {
    pub(crate) name_start: u16,
    pub(crate) name_len: u16,
    pub(crate) value_start: u16,
    pub(crate) value_len: u16,
}

impl FieldRange {
    /// Bytes per entry in the field table.
    pub(crate) const ENCODED_LEN: usize = 8;

    /// This entry as it is stored in the field table.
    pub(crate) fn encode(self) -> [u8; FieldRange::ENCODED_LEN] {
        let [a, b] = self.name_start.to_le_bytes();
        let [c, d] = self.name_len.to_le_bytes();
        let [e, f] = self.value_start.to_le_bytes();
        let [g, h] = self.value_len.to_le_bytes();
        [a, b, c, d, e, f, g, h]
    }

    /// Reads one entry (`entry` is `ENCODED_LEN` bytes of the table).
    fn decode(entry: &[u8]) -> FieldRange {
        let at = |i: usize| u16::from_le_bytes([entry[i], entry[i + 1]]);
        FieldRange {
            name_start: at(0),
            name_len: at(2),
            value_start: at(4),
            value_len: at(6),
        }
    }

    fn name(self) -> Range<usize> {
        let start = self.name_start as usize;
        start..start + self.name_len as usize
    }

    fn value(self) -> Range<usize> {
        let start = self.value_start as usize;
        start..start + self.value_len as usize
    }
}

/// One parsed HTTP request.
///
/// Headers are looked up case-insensitively with [`header`](Request::header);
/// their values are the bytes as sent with surrounding whitespace removed.
/// The body is fully read (and de-chunked) before the handler runs, bounded
/// by [`Limits::max_body_bytes`](super::Limits), except on a route that
/// streams its body ([`take_body_reader`](Request::take_body_reader)).
pub struct Request {
    /// The head as received, then the field table from `fields_at` on.
    pub(crate) buf: Vec<u8>,
    /// Where the head ends and the field table starts in `buf`.
    pub(crate) fields_at: u32,
    pub(crate) method: Method,
    // `u32` offsets rather than a `Range<usize>`: a smaller `Request` is
    // cheaper to move through the codec's layers. A parsed head is at most
    // 64 KiB; only `Request::new` could take a longer target, never 4 GiB.
    pub(crate) target_start: u32,
    pub(crate) target_end: u32,
    /// End of the path inside the target (the index of `?`, or the target's end).
    pub(crate) path_end: u32,
    pub(crate) version: Version,
    pub(crate) body: Vec<u8>,
    pub(crate) peer: SocketAddr,
    pub(crate) keep_alive: bool,
    pub(crate) extensions: Extensions,
}

impl Request {
    /// Builds a request by hand, as tests and in-process clients do.
    ///
    /// `target` is the request target as it would appear on the wire
    /// (`/users/1?x=2`); `headers` are name/value pairs. Names and values
    /// must not contain CR or LF; such pairs are skipped.
    pub fn new(method: Method, target: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request {
        let mut head = Vec::with_capacity(target.len() + 64);
        head.extend_from_slice(method.as_str().as_bytes());
        head.push(b' ');
        let target_start = head.len();
        head.extend_from_slice(target.as_bytes());
        let target_end = head.len();
        head.extend_from_slice(b" HTTP/1.1\r\n");
        let mut fields = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let clean = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n');
            if !clean(name) || !clean(value) || head.len() + name.len() + value.len() > 60_000 {
                continue;
            }
            let name_start = head.len();
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            let value_start = head.len();
            // Trimmed of optional whitespace as the codec trims it: spaces
            // and tabs only (RFC 9110 §5.5).
            head.extend_from_slice(value.trim_matches([' ', '\t']).as_bytes());
            fields.push(FieldRange {
                name_start: name_start as u16,
                name_len: name.len() as u16,
                value_start: value_start as u16,
                value_len: (head.len() - value_start) as u16,
            });
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let fields_at = head.len() as u32;
        for field in fields {
            head.extend_from_slice(&field.encode());
        }
        let path_end = target.find('?').map_or(target_end, |q| target_start + q);
        Request {
            buf: head,
            fields_at,
            method,
            target_start: target_start as u32,
            target_end: target_end as u32,
            path_end: path_end as u32,
            version: Version::Http11,
            body,
            peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            keep_alive: true,
            extensions: Extensions::default(),
        }
    }

    /// The head as received (request line, header fields, blank line).
    fn head(&self) -> &[u8] {
        &self.buf[..self.fields_at as usize]
    }

    /// The header fields' ranges, in the order received.
    fn fields(&self) -> impl ExactSizeIterator<Item = FieldRange> + '_ {
        self.buf[self.fields_at as usize..]
            .chunks_exact(FieldRange::ENCODED_LEN)
            .map(FieldRange::decode)
    }

    /// The request method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The request target exactly as sent (`/users/1?x=2`), still
    /// percent-encoded. For an absolute-form target (`http://host/p?q`, as
    /// proxies send) it is the path and query: the authority is what the
    /// `Host` header reads then (RFC 9112 §3.2.2).
    pub fn target(&self) -> &str {
        // The parser only accepts visible ASCII in the target.
        std::str::from_utf8(&self.head()[self.target_start as usize..self.target_end as usize])
            .unwrap_or("")
    }

    /// The path part of the target, still percent-encoded.
    pub fn path(&self) -> &str {
        std::str::from_utf8(&self.head()[self.target_start as usize..self.path_end as usize])
            .unwrap_or("")
    }

    /// The query string after `?`, if the target has one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        if self.path_end < self.target_end {
            std::str::from_utf8(&self.head()[self.path_end as usize + 1..self.target_end as usize])
                .ok()
        } else {
            None
        }
    }

    /// The HTTP version of the request.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The first value of the header `name` (case-insensitive), if present
    /// and valid UTF-8.
    ///
    /// `Host` is checked by the codec (`uri-host [":" port]`, one field on
    /// HTTP/1.1); for an absolute-form target it reads as the target's
    /// authority, whatever the client sent in the field.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of the header `name` (case-insensitive) as bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        let head = self.head();
        self.fields()
            .find(|f| head[f.name()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| &head[f.value()])
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let head = self.head();
        self.fields()
            .filter(move |f| head[f.name()].eq_ignore_ascii_case(name.as_bytes()))
            .map(move |f| &head[f.value()])
    }

    /// All header fields in the order received, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let head = self.head();
        self.fields().map(move |f| {
            // Field names are tokens (ASCII) by the time httparse accepts them.
            let name = std::str::from_utf8(&head[f.name()]).unwrap_or("");
            (name, &head[f.value()])
        })
    }

    /// The request body (empty when none was sent).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body out of the request, leaving it empty.
    pub fn take_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }

    /// The address of the peer that sent the request. Behind a proxy this
    /// is the proxy; see the README on trusting `X-Forwarded-For`.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Sets the peer address (used by in-process clients and proxies'
    /// adapters that learned the real client address).
    pub fn set_peer_addr(&mut self, peer: SocketAddr) {
        self.peer = peer;
    }

    /// Whether the connection stays open after this request's response, as
    /// the request asked (HTTP/1.1 default, `Connection: close`, or
    /// HTTP/1.0 `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Typed values attached to this request by middleware, read by handlers
    /// through the `Extension<T>` extractor.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Mutable access to the request's [`Extensions`].
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.target())
            .field("version", &self.version)
            .field("headers", &self.fields().len())
            .field("body_len", &self.body.len())
            .field("peer", &self.peer)
            .finish()
    }
}

/// A type map for per-request values. Empty maps allocate nothing, so
/// requests that no middleware touches pay nothing for it.
#[derive(Default)]
pub struct Extensions {
    // Boxed so an empty map is one pointer in every `Request`, not a whole
    // (if unallocated) hash table.
    #[allow(clippy::box_collection)]
    map: Option<Box<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
}

impl Extensions {
    /// Stores `value`, returning the previous value of that type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.map
            .get_or_insert_with(Default::default)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast::<T>().ok().map(|b| *b))
    }

    /// The stored value of type `T`, if any.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .as_ref()
            .and_then(|m| m.get(&TypeId::of::<T>()))
            .and_then(|b| b.downcast_ref::<T>())
    }

    /// Mutable access to the stored value of type `T`, if any.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.map
            .as_mut()
            .and_then(|m| m.get_mut(&TypeId::of::<T>()))
            .and_then(|b| b.downcast_mut::<T>())
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.map
            .as_mut()
            .and_then(|m| m.remove(&TypeId::of::<T>()))
            .and_then(|b| b.downcast::<T>().ok().map(|b| *b))
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.map.as_ref().map_or(0, |m| m.len()))
            .finish()
    }
}
