//! The `Authorization` request header as an extractor:
//! [`Authorization<Bearer>`](Authorization) and
//! [`Authorization<Basic>`](Authorization).
//!
//! This file parses the header (RFC 9110 §11.6.2) and refuses a request
//! whose credentials are missing or malformed with a 401 carrying the
//! challenge (`WWW-Authenticate`) of the scheme the route expects. It does
//! not decide whether a token or password is *right*: the handler (or a
//! middleware) checks them, with [`Bearer::matches`] /
//! [`Basic::matches`] for a comparison that does not leak timing.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use base64::Engine as _;

use super::{optional, FromRequest, RequestContext};
use crate::error::Error;

/// A scheme of the `Authorization` header that [`Authorization`] can
/// extract: [`Bearer`] or [`Basic`].
pub trait Credentials: Sized {
    /// The scheme's name as registered (`Bearer`, `Basic`). Requests may
    /// spell it in any case (RFC 9110 §11.1).
    const SCHEME: &'static str;

    /// Parses what follows the scheme and its space, or says why not.
    fn parse(credentials: &str) -> Result<Self, Cow<'static, str>>;

    /// The `WWW-Authenticate` challenge of a refusal.
    fn challenge(realm: Option<&str>) -> String;
}

/// The realm named in the `WWW-Authenticate` challenges of
/// [`Authorization`] refusals, when given as a state
/// (`Router::with_state(AuthRealm::new("admin"))`). Without it a `Bearer`
/// challenge names no realm and a `Basic` one (which must) says
/// `restricted`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRealm(pub Cow<'static, str>);

impl AuthRealm {
    /// A realm of this name (quotes and backslashes are escaped).
    pub fn new(name: impl Into<Cow<'static, str>>) -> AuthRealm {
        AuthRealm(name.into())
    }
}

/// The credentials of the request's `Authorization` header, in scheme `C`:
/// `Authorization<Bearer>` or `Authorization<Basic>`.
///
/// The scheme matches in any case (`bearer abc` is `Bearer abc`, RFC 9110
/// §11.1). A header that is missing, of another scheme, or malformed is a
/// 401 in the error shape with `WWW-Authenticate` naming the scheme
/// (`Bearer`, or `Basic realm="restricted", charset="UTF-8"`; see
/// [`AuthRealm`]). `Option<Authorization<C>>` is `None` when no header of
/// scheme `C` was sent, so a route can take either scheme; malformed
/// credentials of scheme `C` stay a 401.
///
/// The extractor reads the header and checks its form; checking the token
/// or password is the handler's job:
///
/// ```
/// use sutegi::extract::{Authorization, Bearer};
/// use sutegi::{get, routes, test::TestClient, Error};
///
/// #[get("/admin")]
/// fn admin(Authorization(auth): Authorization<Bearer>) -> Result<&'static str, Error> {
///     if !auth.matches("admin-token") {
///         return Err(Error::unauthorized("Bearer", "that token is not the admin's"));
///     }
///     Ok("welcome")
/// }
///
/// let client = TestClient::new(routes![admin]);
/// assert_eq!(client.get("/admin").header("Authorization", "bearer admin-token").send().text(), "welcome");
/// let refused = client.get("/admin").send();
/// assert_eq!((refused.status(), refused.header("www-authenticate")), (401, Some("Bearer")));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization<C>(pub C);

impl<C> Deref for Authorization<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C: fmt::Debug> fmt::Debug for Authorization<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorization").field(&self.0).finish()
    }
}

impl<'r, C: Credentials> FromRequest<'r> for Authorization<C> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        let realm = cx.state::<AuthRealm>().map(|realm| &realm.0[..]);
        let refuse = |message: Cow<'static, str>| Error::unauthorized(C::challenge(realm), message);
        let expected = || format!("send `Authorization: {} <credentials>`", C::SCHEME);
        let Some(header) = cx.request().header_bytes("authorization") else {
            return Err(refuse(expected().into()).absent());
        };
        let Some((scheme, rest)) = split_scheme(header) else {
            return Err(refuse(
                format!("the `Authorization` header is malformed; {}", expected()).into(),
            ));
        };
        if !scheme.eq_ignore_ascii_case(C::SCHEME) {
            // Another scheme is "no credentials of this one": `Option`
            // lets a route accept either.
            return Err(refuse(
                format!(
                    "the `Authorization` header is not of scheme `{}`",
                    C::SCHEME
                )
                .into(),
            )
            .absent());
        }
        C::parse(rest).map(Authorization).map_err(refuse)
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}

/// `scheme SP credentials`, the scheme a token of letters, digits and
/// `!#$%&'*+-.^_`|~`; `None` when the header is not UTF-8 or not so.
fn split_scheme(header: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = text.split_once(' ')?;
    let is_token = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    is_token.then_some((scheme, rest.trim_start_matches(' ')))
}

/// Escapes a realm for a quoted-string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell an attacker how much of a secret they guessed (it still
/// tells the length, which a token's format usually does anyway).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Authorization: Bearer <token>` (RFC 6750): an opaque token.
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer {
    token: String,
}

impl Bearer {
    /// The token as sent.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether the token is `expected`, compared in constant time.
    pub fn matches(&self, expected: &str) -> bool {
        constant_time_eq(self.token.as_bytes(), expected.as_bytes())
    }
}

impl fmt::Debug for Bearer {
    /// Never prints the token, so logging an extractor leaks no secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl Credentials for Bearer {
    const SCHEME: &'static str = "Bearer";

    /// RFC 6750's token68: letters, digits and `-._~+/`, then `=` padding.
    fn parse(credentials: &str) -> Result<Bearer, Cow<'static, str>> {
        let body = credentials.trim_end_matches('=');
        let valid = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if valid {
            Ok(Bearer {
                token: credentials.to_owned(),
            })
        } else {
            Err("the bearer token is empty or has characters a token cannot have".into())
        }
    }

    fn challenge(realm: Option<&str>) -> String {
        match realm {
            Some(realm) => format!("Bearer realm={}", quoted(realm)),
            None => "Bearer".to_owned(),
        }
    }
}

/// `Authorization: Basic <base64 of user:password>` (RFC 7617), decoded.
///
/// The password is sent in the clear (base64 is not encryption): use it
/// only over TLS, which the proxy in front of the server provides.
#[derive(Clone, PartialEq, Eq)]
pub struct Basic {
    username: String,
    password: String,
}

impl Basic {
    /// The user name (before the first `:`).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password (after the first `:`; may contain `:`).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Whether these are `username` and `password`, compared in constant
    /// time (both are compared whatever the first gives).
    pub fn matches(&self, username: &str, password: &str) -> bool {
        let user = constant_time_eq(self.username.as_bytes(), username.as_bytes());
        let pass = constant_time_eq(self.password.as_bytes(), password.as_bytes());
        user & pass
    }
}

impl fmt::Debug for Basic {
    /// Prints the user name, never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Basic")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials for Basic {
    const SCHEME: &'static str = "Basic";

    /// Standard base64 (padding optional), then UTF-8 `user:password`.
    fn parse(credentials: &str) -> Result<Basic, Cow<'static, str>> {
        // Padding is optional on input, as some clients leave it off.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let decoded = engine
            .decode(credentials.trim_end())
            .map_err(|_| "the Basic credentials are not base64")?;
        let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
        match text.split_once(':') {
            Some((username, password)) => Ok(Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }),
            None => Err("the Basic credentials have no `:` between user and password".into()),
        }
    }

    fn challenge(realm: Option<&str>) -> String {
        format!(
            "Basic realm={}, charset=\"UTF-8\"",
            quoted(realm.unwrap_or("restricted"))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::StateEntry;
    use crate::server::{Method, Request};
    use crate::Status;

    fn request(value: Option<&str>) -> Request {
        let headers: Vec<(&str, &str)> = value.map(|v| ("Authorization", v)).into_iter().collect();
        Request::new(Method::Get, "/", &headers, vec![])
    }

    fn extract<C: Credentials>(value: Option<&str>) -> Result<Authorization<C>, Error> {
        let request = request(value);
        Authorization::<C>::from_request(&RequestContext::new(&request))
    }

    fn challenge(error: &Error) -> Vec<&str> {
        error
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn bearer_matches_the_scheme_in_any_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc", "BeArEr abc "] {
            let auth = extract::<Bearer>(Some(header)).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!(auth.token(), "abc", "{header}");
            assert!(auth.matches("abc") && !auth.matches("abd") && !auth.matches("ab"));
        }
        assert_eq!(
            extract::<Bearer>(Some("Bearer a.b-c_d~e+f/g=="))
                .unwrap()
                .token(),
            "a.b-c_d~e+f/g=="
        );
    }

    #[test]
    fn bearer_refusals_are_401_with_the_challenge() {
        for header in [
            None,
            Some("Basic YTpi"),
            Some("Bearer"),
            Some("Bearer "),
            Some("Bearer a b"),
            Some("Bearer =="),
        ] {
            let e = extract::<Bearer>(header).unwrap_err();
            assert_eq!(e.status(), Status::UNAUTHORIZED, "{header:?}");
            assert_eq!(challenge(&e), ["Bearer"], "{header:?}");
        }
        // Absent or another scheme: `Option` gives `None`; malformed stays a 401.
        assert!(extract::<Bearer>(None).unwrap_err().is_absent());
        assert!(extract::<Bearer>(Some("Basic YTpi"))
            .unwrap_err()
            .is_absent());
        assert!(!extract::<Bearer>(Some("Bearer a b"))
            .unwrap_err()
            .is_absent());
    }

    #[test]
    fn basic_decodes_user_and_password() {
        // "ada:pa:ss" with and without padding, scheme in lower case.
        for header in ["Basic YWRhOnBhOnNz", "basic YWRhOnBhOnNz"] {
            let auth = extract::<Basic>(Some(header)).unwrap();
            assert_eq!((auth.username(), auth.password()), ("ada", "pa:ss"));
            assert!(auth.matches("ada", "pa:ss") && !auth.matches("ada", "pa:sS"));
        }
        let auth = extract::<Basic>(Some("Basic YTpi")).unwrap(); // "a:b"
        assert_eq!((auth.username(), auth.password()), ("a", "b"));
        let auth = extract::<Basic>(Some("Basic YTo")).unwrap(); // "a:" unpadded
        assert_eq!((auth.username(), auth.password()), ("a", ""));
        assert!(!format!("{auth:?}").contains("password:"));
    }

    #[test]
    fn basic_refusals_name_the_realm() {
        for header in [
            None,
            Some("Basic !!!"),
            Some("Basic YWJj"),
            Some("Basic //79"),
        ] {
            let e = extract::<Basic>(header).unwrap_err();
            assert_eq!(e.status(), Status::UNAUTHORIZED, "{header:?}");
            assert_eq!(
                challenge(&e),
                ["Basic realm=\"restricted\", charset=\"UTF-8\""]
            );
        }
        let states = [StateEntry::new(AuthRealm::new("the \"admin\" area"))];
        let request = request(None);
        let shutting_down = std::sync::atomic::AtomicBool::new(false);
        let cx =
            RequestContext::for_route(&request, matchit::Params::new(), &states, &shutting_down);
        let e = Authorization::<Basic>::from_request(&cx).unwrap_err();
        assert_eq!(
            challenge(&e),
            ["Basic realm=\"the \\\"admin\\\" area\", charset=\"UTF-8\""]
        );
        let e = Authorization::<Bearer>::from_request(&cx).unwrap_err();
        assert_eq!(challenge(&e), ["Bearer realm=\"the \\\"admin\\\" area\""]);
    }
}
