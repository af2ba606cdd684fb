//! Request ids: the [`RequestIds`] layer gives every request a
//! [`RequestId`] (the client's valid `X-Request-Id`, else a fresh one),
//! puts it in the request's extensions for handlers and the access log,
//! and in the response's `X-Request-Id`.
//!
//! Fresh ids need no random-number crate: a per-process prefix from std's
//! randomly keyed hasher, and a counter.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::server::{Request, Response};

use super::contract::{Middleware, Next};

/// A request's id, as the [`RequestIds`] layer chose it: the client's
/// `X-Request-Id` when valid, else a fresh one. Handlers read it with
/// [`Extension<RequestId>`](crate::Extension) (`Option<Extension<…>>` if
/// the layer may be absent), to put it in their own logs or error reports.
///
/// ```
/// use sutegi::middleware::{RequestId, RequestIds};
/// use sutegi::{Extension, Router};
///
/// let app = Router::new()
///     .get("/", |Extension(id): Extension<RequestId>| format!("you are {id}"))
///     .layer(RequestIds::new());
/// # app.into_handler().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id's text: 1 to 128 visible ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RequestId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The longest `X-Request-Id` a client may choose; a longer one is
/// replaced (ids end up in log lines and other systems' headers).
const MAX_REQUEST_ID_LEN: usize = 128;

/// The request-id layer: every response carries `X-Request-Id`, and every
/// request a [`RequestId`] in its extensions.
///
/// The id is the request's own `X-Request-Id` when it sent one of 1 to 128
/// visible ASCII characters (`0x21`–`0x7E`; a proxy or a calling service
/// chose it, and keeping it lets logs be joined across systems), otherwise
/// a fresh one: `<16 hex digits>-<counter>`, the hex part drawn once per
/// process from std's randomly keyed hasher over the time and the process
/// id, the counter counting requests. So ids never repeat within a process
/// and are unlikely to collide across processes, without a random-number
/// crate. An id a handler set itself in the response is replaced, so the
/// header always matches the extension.
///
/// ```
/// use sutegi::{middleware::RequestIds, Handler, Method, Request, Router};
/// let app = Router::new().get("/", || "hi").layer(RequestIds::new()).into_handler().unwrap();
/// let echoed = app.handle(Request::new(Method::Get, "/", &[("X-Request-Id", "abc-1")], vec![]));
/// assert_eq!(echoed.header_value("x-request-id"), Some("abc-1"));
/// let fresh = app.handle(Request::new(Method::Get, "/", &[], vec![]));
/// assert!(fresh.header_value("x-request-id").is_some());
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RequestIds {}

impl RequestIds {
    /// The layer.
    pub fn new() -> RequestIds {
        RequestIds {}
    }
}

impl Middleware for RequestIds {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        let id = match request.header_bytes("x-request-id") {
            Some(sent) if is_valid_request_id(sent) => {
                // Visible ASCII is UTF-8.
                RequestId(Arc::from(std::str::from_utf8(sent).unwrap_or_default()))
            }
            _ => RequestId(Arc::from(fresh_request_id())),
        };
        request.extensions_mut().insert(id.clone());
        let mut response = next.run(request);
        response.set_header("X-Request-Id", id.as_str().to_owned());
        response
    }
}

/// 1 to 128 bytes, each visible ASCII (`0x21`–`0x7E`).
pub(super) fn is_valid_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&value.len())
        && value.iter().all(|b| (0x21..=0x7E).contains(b))
}

/// `<process prefix>-<counter>`.
pub(super) fn fresh_request_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        // `RandomState` is keyed from the operating system's randomness
        // once per thread: that is what makes two processes started in the
        // same nanosecond differ. Time and pid are mixed in for good
        // measure.
        let mut hasher = RandomState::new().build_hasher();
        SystemTime::now().hash(&mut hasher);
        std::process::id().hash(&mut hasher);
        hasher.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{prefix:016x}-{n}")
}
