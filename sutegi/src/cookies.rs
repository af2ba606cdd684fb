//! Cookies, read and set: the jars [`CookieJar`] (plain),
//! [`SignedCookieJar`] (readable, tamper-evident) and [`PrivateCookieJar`]
//! (encrypted), each an extractor and, paired with a response, a responder
//! that sends what changed as `Set-Cookie`.
//!
//! Parsing, formatting, signing (HMAC-SHA256) and encryption (AES-256-GCM)
//! are the [`cookie`](https://docs.rs/cookie) crate's, whose [`Cookie`]
//! type is re-exported here; values are percent-decoded when read and
//! percent-encoded when set. This module adds the extractors, the
//! responders, the defaults below and the key as a router state; it does
//! not keep sessions (a signed or private cookie *is* the state).
//!
//! # Defaults
//!
//! A cookie added to a jar, or set with [`set_cookie`], gets `HttpOnly`,
//! `SameSite=Lax` and `Path=/` unless it says otherwise
//! (`cookie.set_http_only(false)` for one a script must read). `Secure` is
//! not added: behind a proxy that terminates TLS the server sees plain HTTP
//! and cannot tell. Set it on the cookie (`cookie.set_secure(true)`) when
//! every client reaches the app over HTTPS, which is what it is for.
//!
//! # The key
//!
//! The signed and private jars need a [`CookieKey`] given as a state:
//! `router.with_state(CookieKey::generate())`. A generated key lasts as
//! long as the process, so cookies signed before a restart stop verifying
//! (and read as absent); to keep them, load the key from configuration
//! with [`CookieKey::from_bytes`] (64 bytes or more, from a secret store).
//! A route taking a signed or private jar on a router without the key is
//! refused when the router is built.
//!
//! ```
//! use sutegi::cookies::{Cookie, CookieKey, SignedCookieJar};
//! use sutegi::{get, routes, test::TestClient};
//!
//! #[get("/visits")]
//! fn visits(mut jar: SignedCookieJar) -> (SignedCookieJar, String) {
//!     // A cookie whose signature does not verify reads as absent.
//!     let seen: u64 = jar.get("visits").and_then(|c| c.value().parse().ok()).unwrap_or(0);
//!     jar.add(Cookie::new("visits", (seen + 1).to_string()));
//!     (jar, format!("visit {}", seen + 1))
//! }
//!
//! let client = TestClient::new(routes![visits].with_state(CookieKey::generate()));
//! let first = client.get("/visits").send();
//! let set_cookie = first.header("set-cookie").unwrap();
//! assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax") && set_cookie.contains("Path=/"));
//! let pair = set_cookie.split(';').next().unwrap();
//! assert_eq!(client.get("/visits").header("Cookie", pair).send().text(), "visit 2");
//! assert_eq!(client.get("/visits").header("Cookie", "visits=9").send().text(), "visit 1");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

pub use cookie::{Cookie, Expiration, SameSite};

use crate::error::Error;
use crate::extract::{FromRequest, RequestContext, StateRequirement};
use crate::respond::IntoResponse;
use crate::server::{Request, Response};

/// The secret the signed and private jars use: 64 bytes, the first half
/// signing, the second encrypting. Give it to the router as a state.
#[derive(Clone)]
pub struct CookieKey(cookie::Key);

/// A key of fewer than 64 bytes, refused by [`CookieKey::from_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyTooShort {
    /// How many bytes were given.
    pub len: usize,
}

impl fmt::Display for KeyTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a cookie key needs at least 64 bytes, got {} (e.g. `openssl rand -hex 32` gives 64 characters)",
            self.len
        )
    }
}

impl std::error::Error for KeyTooShort {}

impl CookieKey {
    /// A random key from the operating system's generator. Cookies it
    /// signs stop verifying when the process restarts.
    ///
    /// # Panics
    ///
    /// If the operating system gives no randomness, which only happens on
    /// a broken system, at start-up where the key is made.
    pub fn generate() -> CookieKey {
        CookieKey(cookie::Key::generate())
    }

    /// A key from at least 64 bytes of secret (the first 64 are used), e.g.
    /// read from the environment or a secret store.
    pub fn from_bytes(secret: &[u8]) -> Result<CookieKey, KeyTooShort> {
        cookie::Key::try_from(secret)
            .map(CookieKey)
            .map_err(|_| KeyTooShort { len: secret.len() })
    }
}

impl fmt::Debug for CookieKey {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

/// Gives a cookie the defaults it does not set: `HttpOnly`,
/// `SameSite=Lax`, `Path=/`.
fn with_defaults(mut cookie: Cookie<'static>) -> Cookie<'static> {
    if cookie.http_only().is_none() {
        cookie.set_http_only(true);
    }
    if cookie.same_site().is_none() {
        cookie.set_same_site(SameSite::Lax);
    }
    if cookie.path().is_none() {
        cookie.set_path("/");
    }
    cookie
}

/// Adds `Set-Cookie` for `cookie` to any response, with the defaults
/// (`HttpOnly`, `SameSite=Lax`, `Path=/`) where it sets none; the value is
/// percent-encoded. For a middleware or a handler that builds its
/// [`Response`] itself; handlers usually return a jar with their answer.
pub fn set_cookie(response: &mut Response, cookie: Cookie<'_>) {
    let cookie = with_defaults(cookie.into_owned());
    response.append_header("Set-Cookie", cookie.encoded().to_string());
}

/// Every cookie of the request's `Cookie` headers, percent-decoded, as
/// the originals of a jar. Pieces that do not parse are skipped, as a
/// browser's stray cookie should not refuse a request.
fn jar_of(request: &Request) -> cookie::CookieJar {
    let mut jar = cookie::CookieJar::new();
    for header in request.header_all("cookie") {
        let Ok(text) = std::str::from_utf8(header) else {
            continue;
        };
        for piece in text.split(';') {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            if let Ok(cookie) = Cookie::parse_encoded(piece.to_owned()) {
                jar.add_original(cookie);
            }
        }
    }
    jar
}

/// A removal cookie for `name` at the default path.
fn removal(name: impl Into<Cow<'static, str>>) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, "");
    cookie.set_path("/");
    cookie
}

/// `Set-Cookie` for every cookie added or removed.
fn apply_delta(jar: &cookie::CookieJar, response: &mut Response) {
    for cookie in jar.delta() {
        response.append_header("Set-Cookie", cookie.encoded().to_string());
    }
}

/// The key given to the router, or a 500 (the router check makes this
/// unreachable for routes; a hand-built context can miss it).
fn key_of(cx: &RequestContext<'_>, jar: &str) -> Result<Arc<CookieKey>, Error> {
    cx.state::<CookieKey>().cloned().ok_or_else(|| {
        Error::internal(format!(
            "`{jar}` needs a `CookieKey` given with `Router::with_state`"
        ))
    })
}

/// The request's cookies, and the cookies to set or remove with the
/// response: return `(jar, response)` from the handler.
///
/// Cookies are read as sent (anyone can forge them); use
/// [`SignedCookieJar`] for a value the server must trust.
///
/// ```
/// use sutegi::cookies::{Cookie, CookieJar};
///
/// fn theme(mut jar: CookieJar) -> (CookieJar, String) {
///     let theme = jar.get("theme").map_or("light", |c| c.value()).to_owned();
///     jar.add(Cookie::new("theme", "dark"));
///     jar.remove("legacy");
///     (jar, theme)
/// }
/// # let _ = theme;
/// ```
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    jar: cookie::CookieJar,
}

impl CookieJar {
    /// The cookie `name` as the client sent it, or as added since.
    pub fn get(&self, name: &str) -> Option<&Cookie<'static>> {
        self.jar.get(name)
    }

    /// Every cookie, sent or added (not removed).
    pub fn iter(&self) -> impl Iterator<Item = &Cookie<'static>> {
        self.jar.iter()
    }

    /// Sets `cookie` with the response, with the module's defaults
    /// (`HttpOnly`, `SameSite=Lax`, `Path=/`) where it sets none.
    pub fn add(&mut self, cookie: impl Into<Cookie<'static>>) {
        self.jar.add(with_defaults(cookie.into()));
    }

    /// Removes the cookie `name` (at `Path=/`; give [`remove_cookie`] a
    /// cookie with the path and domain it was set with otherwise). A
    /// removal is sent when the client sent the cookie.
    ///
    /// [`remove_cookie`]: CookieJar::remove_cookie
    pub fn remove(&mut self, name: impl Into<Cow<'static, str>>) {
        self.jar.remove(removal(name));
    }

    /// Removes `cookie`, matched by name, path and domain.
    pub fn remove_cookie(&mut self, cookie: Cookie<'static>) {
        self.jar.remove(cookie);
    }

    /// Adds `Set-Cookie` to `response` for every cookie added or removed.
    pub fn apply_to(&self, response: &mut Response) {
        apply_delta(&self.jar, response);
    }
}

impl<'r> FromRequest<'r> for CookieJar {
    type Rejection = std::convert::Infallible;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Self::Rejection> {
        Ok(CookieJar {
            jar: jar_of(cx.request()),
        })
    }
}

impl<T: IntoResponse> IntoResponse for (CookieJar, T) {
    /// `T`'s response with a `Set-Cookie` per cookie added or removed.
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        self.0.apply_to(&mut response);
        response
    }
}

/// Cookies signed with the router's [`CookieKey`]: the client can read
/// them but not change them. A cookie whose signature does not verify
/// (tampered, or signed under another key) reads as absent.
///
/// Return `(jar, response)` from the handler to send what was added or
/// removed. See the [module](self) for an example.
#[derive(Clone)]
pub struct SignedCookieJar {
    jar: cookie::CookieJar,
    key: Arc<CookieKey>,
}

impl SignedCookieJar {
    /// A jar over `request`'s cookies under `key` (the extractor builds
    /// one from the router's state).
    pub fn from_request_with_key(request: &Request, key: CookieKey) -> SignedCookieJar {
        SignedCookieJar {
            jar: jar_of(request),
            key: Arc::new(key),
        }
    }

    /// The cookie `name`, its value verified and without the signature;
    /// `None` when absent or when the signature does not verify.
    pub fn get(&self, name: &str) -> Option<Cookie<'static>> {
        self.jar.signed(&self.key.0).get(name)
    }

    /// Signs `cookie` and sets it with the response, with the module's
    /// defaults where it sets none.
    pub fn add(&mut self, cookie: impl Into<Cookie<'static>>) {
        self.jar
            .signed_mut(&self.key.0)
            .add(with_defaults(cookie.into()));
    }

    /// Removes the cookie `name` (at `Path=/`).
    pub fn remove(&mut self, name: impl Into<Cow<'static, str>>) {
        self.jar.signed_mut(&self.key.0).remove(removal(name));
    }

    /// Adds `Set-Cookie` to `response` for every cookie added or removed.
    pub fn apply_to(&self, response: &mut Response) {
        apply_delta(&self.jar, response);
    }
}

impl fmt::Debug for SignedCookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedCookieJar")
            .field("jar", &self.jar)
            .finish_non_exhaustive()
    }
}

impl<'r> FromRequest<'r> for SignedCookieJar {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        Ok(SignedCookieJar {
            jar: jar_of(cx.request()),
            key: key_of(cx, "SignedCookieJar")?,
        })
    }

    fn state_requirement() -> Option<StateRequirement> {
        Some(StateRequirement::of::<CookieKey>())
    }
}

impl<T: IntoResponse> IntoResponse for (SignedCookieJar, T) {
    /// `T`'s response with a `Set-Cookie` per cookie added or removed.
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        self.0.apply_to(&mut response);
        response
    }
}

/// Cookies encrypted (and authenticated) with the router's [`CookieKey`]:
/// the client can neither read nor change them. One that does not decrypt
/// reads as absent.
///
/// Return `(jar, response)` from the handler to send what was added or
/// removed.
#[derive(Clone)]
pub struct PrivateCookieJar {
    jar: cookie::CookieJar,
    key: Arc<CookieKey>,
}

impl PrivateCookieJar {
    /// A jar over `request`'s cookies under `key` (the extractor builds
    /// one from the router's state).
    pub fn from_request_with_key(request: &Request, key: CookieKey) -> PrivateCookieJar {
        PrivateCookieJar {
            jar: jar_of(request),
            key: Arc::new(key),
        }
    }

    /// The cookie `name`, decrypted; `None` when absent or when it does
    /// not decrypt under the key.
    pub fn get(&self, name: &str) -> Option<Cookie<'static>> {
        self.jar.private(&self.key.0).get(name)
    }

    /// Encrypts `cookie` and sets it with the response, with the module's
    /// defaults where it sets none.
    pub fn add(&mut self, cookie: impl Into<Cookie<'static>>) {
        self.jar
            .private_mut(&self.key.0)
            .add(with_defaults(cookie.into()));
    }

    /// Removes the cookie `name` (at `Path=/`).
    pub fn remove(&mut self, name: impl Into<Cow<'static, str>>) {
        self.jar.private_mut(&self.key.0).remove(removal(name));
    }

    /// Adds `Set-Cookie` to `response` for every cookie added or removed.
    pub fn apply_to(&self, response: &mut Response) {
        apply_delta(&self.jar, response);
    }
}

impl fmt::Debug for PrivateCookieJar {
    /// Names the cookies only: their values are ciphertext.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.jar.iter().map(|c| c.name()).collect();
        f.debug_struct("PrivateCookieJar")
            .field("cookies", &names)
            .finish_non_exhaustive()
    }
}

impl<'r> FromRequest<'r> for PrivateCookieJar {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        Ok(PrivateCookieJar {
            jar: jar_of(cx.request()),
            key: key_of(cx, "PrivateCookieJar")?,
        })
    }

    fn state_requirement() -> Option<StateRequirement> {
        Some(StateRequirement::of::<CookieKey>())
    }
}

impl<T: IntoResponse> IntoResponse for (PrivateCookieJar, T) {
    /// `T`'s response with a `Set-Cookie` per cookie added or removed.
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        self.0.apply_to(&mut response);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Method;

    fn with_cookies(header: &str) -> Request {
        Request::new(Method::Get, "/", &[("Cookie", header)], vec![])
    }

    fn set_cookies(response: &Response) -> Vec<String> {
        response
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.to_owned())
            .collect()
    }

    fn key() -> CookieKey {
        CookieKey::from_bytes(&[7u8; 64]).unwrap()
    }

    #[test]
    fn plain_jar_reads_decodes_and_sets_with_defaults() {
        let request = with_cookies("a=1; b=hello%20world;;junk; c=\"q\"");
        let mut jar = CookieJar {
            jar: jar_of(&request),
        };
        assert_eq!(jar.get("a").map(|c| c.value()), Some("1"));
        assert_eq!(jar.get("b").map(|c| c.value()), Some("hello world"));
        assert!(jar.get("junk").is_none());
        jar.add(Cookie::new("n", "x y;z"));
        let mut secure = Cookie::new("s", "1");
        secure.set_secure(true);
        secure.set_same_site(SameSite::Strict);
        jar.add(secure);
        jar.remove("a");
        jar.remove("never-sent");
        let r = (jar, "ok").into_response();
        let mut set = set_cookies(&r);
        set.sort();
        assert_eq!(set.len(), 3, "{set:?}");
        assert!(
            set[0].starts_with("a=;") && set[0].contains("Max-Age=0"),
            "{set:?}"
        );
        assert!(set[1].starts_with("n=x%20y%3Bz;"), "{set:?}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set[1].contains(attribute), "{attribute} in {set:?}");
        }
        assert!(!set[1].contains("Secure"), "{set:?}");
        assert!(
            set[2].contains("Secure") && set[2].contains("SameSite=Strict"),
            "{set:?}"
        );
    }

    #[test]
    fn signed_jar_rejects_tampering_and_other_keys() {
        let mut jar = SignedCookieJar::from_request_with_key(&with_cookies(""), key());
        jar.add(Cookie::new("visits", "3"));
        let mut response = Response::new(200);
        jar.apply_to(&mut response);
        let set = set_cookies(&response).remove(0);
        let pair = set.split(';').next().unwrap().to_owned();
        assert!(pair.starts_with("visits=") && pair.ends_with('3'), "{pair}");

        let back = SignedCookieJar::from_request_with_key(&with_cookies(&pair), key());
        assert_eq!(
            back.get("visits").map(|c| c.value().to_owned()),
            Some("3".into())
        );
        let tampered = format!("{}4", &pair[..pair.len() - 1]);
        let back = SignedCookieJar::from_request_with_key(&with_cookies(&tampered), key());
        assert!(back.get("visits").is_none());
        let other = CookieKey::from_bytes(&[8u8; 64]).unwrap();
        let back = SignedCookieJar::from_request_with_key(&with_cookies(&pair), other);
        assert!(back.get("visits").is_none());
        let back = SignedCookieJar::from_request_with_key(&with_cookies("visits=3"), key());
        assert!(back.get("visits").is_none());
    }

    #[test]
    fn private_jar_hides_the_value() {
        let mut jar = PrivateCookieJar::from_request_with_key(&with_cookies(""), key());
        jar.add(Cookie::new("secret", "tea"));
        let mut response = Response::new(200);
        jar.apply_to(&mut response);
        let set = set_cookies(&response).remove(0);
        assert!(!set.contains("tea"), "{set}");
        let pair = set.split(';').next().unwrap().to_owned();
        let back = PrivateCookieJar::from_request_with_key(&with_cookies(&pair), key());
        assert_eq!(
            back.get("secret").map(|c| c.value().to_owned()),
            Some("tea".into())
        );
        let other = CookieKey::from_bytes(&[9u8; 64]).unwrap();
        assert!(
            PrivateCookieJar::from_request_with_key(&with_cookies(&pair), other)
                .get("secret")
                .is_none()
        );
    }

    #[test]
    fn keys_need_64_bytes_and_never_print() {
        assert_eq!(
            CookieKey::from_bytes(&[1u8; 63]).unwrap_err(),
            KeyTooShort { len: 63 }
        );
        assert!(CookieKey::from_bytes(&[1u8; 100]).is_ok());
        assert_eq!(format!("{:?}", CookieKey::generate()), "CookieKey(..)");
    }

    #[test]
    fn set_cookie_works_on_any_response() {
        let mut response = Response::new(204);
        set_cookie(&mut response, Cookie::new("a", "b"));
        assert_eq!(
            set_cookies(&response),
            ["a=b; HttpOnly; SameSite=Lax; Path=/"]
        );
    }
}
