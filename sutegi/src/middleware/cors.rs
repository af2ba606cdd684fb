//! Cross-origin resource sharing: [`Cors`], which answers preflights
//! itself, adds the `Access-Control-*` headers to what the router answers
//! an allowed origin, `Vary: Origin` to every answer that depends on the
//! origin, and refuses (through [`Middleware::check`]) a configuration
//! that would expose credentials to every site.
//!
//! Only headers are touched: a streamed body streams on unchanged, and a
//! request from an origin not allowed is answered as without the layer.

use std::borrow::Cow;
use std::time::Duration;

use crate::server::{HeaderText, Method, Request, Response};

use super::contract::{Middleware, Next};

/// Which origins [`Cors`] lets in.
#[derive(Clone, Debug)]
enum Origins {
    /// Exactly these (`scheme://host[:port]`, compared byte for byte).
    List(Vec<String>),
    /// Any origin.
    Any,
}

/// Which request headers a preflight may announce.
#[derive(Clone, Debug)]
enum AllowedHeaders {
    /// These, joined for `Access-Control-Allow-Headers` (empty: none).
    List(String),
    /// Whatever the preflight's `Access-Control-Request-Headers` asks.
    Mirror,
}

/// Cross-origin resource sharing: which other origins' pages may call this
/// API from a browser, with which methods and headers, with or without
/// credentials.
///
/// ```
/// use std::time::Duration;
/// use sutegi::{middleware::Cors, Method, Router};
///
/// let cors = Cors::new()
///     .allow_origin("http://localhost:3000")
///     .allow_methods(&[Method::Get, Method::Post])
///     .allow_headers(["Content-Type"])
///     .max_age(Duration::from_secs(600));
/// let app = Router::new().get("/json", || "{}").layer(cors);
/// # app.into_handler().unwrap();
/// ```
///
/// For a request whose `Origin` is allowed:
/// - a preflight (`OPTIONS` with `Origin` and
///   `Access-Control-Request-Method`) is answered here, without the
///   router: 204 with `Access-Control-Allow-Origin: <origin>`,
///   `Access-Control-Allow-Methods`, `Access-Control-Allow-Headers` (when
///   some are allowed), `Access-Control-Max-Age` (when set),
///   `Access-Control-Allow-Credentials: true` (when opted in) and
///   `Vary: Origin`. The lists are the configured ones whatever the
///   preflight asked: the browser compares them with what it wants.
/// - any other request goes to the router, and its response (a stream
///   too: only headers are touched) gets `Access-Control-Allow-Origin`,
///   `Vary: Origin` (merged into an existing `Vary`), and, when
///   configured, `Access-Control-Allow-Credentials` and
///   `Access-Control-Expose-Headers`.
///
/// A request without `Origin`, or from an origin not allowed, gets no
/// `Access-Control-*` header, and a refused preflight reaches the router
/// (the automatic `OPTIONS` answer, 204 with `Allow`), so the browser
/// refuses the call.
///
/// Unless any origin is allowed, **every** response carries
/// `Vary: Origin` (allowed origin or not, preflight or not, no `Origin`
/// at all): the answer depends on that header, and a shared cache that
/// did not key on it could serve one origin's answer to another.
///
/// With [`allow_any_origin`](Cors::allow_any_origin) the origin is
/// answered `*` and nothing varies. Any origin **with credentials** is
/// refused when the router is built ([`Router::into_handler`] returns the
/// error, `serve` refuses to start): it would let every site, `null`
/// included, read a signed-in user's responses. tower-http refuses it
/// too. List the trusted origins instead.
///
/// [`Router::into_handler`]: crate::Router::into_handler
#[derive(Clone, Debug)]
pub struct Cors {
    origins: Origins,
    /// `Access-Control-Allow-Methods`, joined.
    methods: String,
    headers: AllowedHeaders,
    /// `Access-Control-Expose-Headers`, joined (empty: not sent).
    expose: String,
    credentials: bool,
    /// `Access-Control-Max-Age` in seconds.
    max_age: Option<u64>,
}

impl Cors {
    /// A CORS layer that allows no origin yet, with the methods `GET`,
    /// `HEAD` and `POST`, no request headers beyond the CORS-safelisted
    /// ones, no credentials and no max-age. Add origins with
    /// [`allow_origin`](Cors::allow_origin) or
    /// [`allow_any_origin`](Cors::allow_any_origin).
    pub fn new() -> Cors {
        Cors {
            origins: Origins::List(Vec::new()),
            methods: "GET, HEAD, POST".to_owned(),
            headers: AllowedHeaders::List(String::new()),
            expose: String::new(),
            credentials: false,
            max_age: None,
        }
    }

    /// Allows one more origin, as browsers send it: `scheme://host` with
    /// the port when it is not the scheme's default
    /// (`http://localhost:3000`, `https://example.com`). Compared byte for
    /// byte with the request's `Origin`; a trailing `/` is dropped, since
    /// an `Origin` never has one. `"*"` means any origin.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Cors {
        let origin = origin.into();
        let origin = origin.trim().trim_end_matches('/');
        if origin == "*" {
            self.origins = Origins::Any;
        } else if let Origins::List(list) = &mut self.origins {
            if !list.iter().any(|known| known == origin) {
                list.push(origin.to_owned());
            }
        }
        self
    }

    /// Allows each of `origins` (see [`allow_origin`](Cors::allow_origin)).
    pub fn allow_origins<I, S>(self, origins: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        origins.into_iter().fold(self, Cors::allow_origin)
    }

    /// Allows every origin: a public API. Answered with
    /// `Access-Control-Allow-Origin: *`. Not with
    /// [`allow_credentials(true)`](Cors::allow_credentials): the router is
    /// refused when built.
    pub fn allow_any_origin(mut self) -> Cors {
        self.origins = Origins::Any;
        self
    }

    /// The methods a preflight is told (`Access-Control-Allow-Methods`),
    /// replacing the default `GET, HEAD, POST`.
    pub fn allow_methods(mut self, methods: &[Method]) -> Cors {
        self.methods = methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        self
    }

    /// The request headers a preflight is told
    /// (`Access-Control-Allow-Headers`), e.g. `["Content-Type",
    /// "Authorization"]`: what a page may send beyond the CORS-safelisted
    /// headers.
    pub fn allow_headers<I, S>(mut self, headers: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.headers = AllowedHeaders::List(join(headers));
        self
    }

    /// Allows whatever request headers a preflight asks for (its
    /// `Access-Control-Request-Headers` is echoed back).
    pub fn allow_any_header(mut self) -> Cors {
        self.headers = AllowedHeaders::Mirror;
        self
    }

    /// Response headers a page's script may read beyond the safelisted
    /// ones (`Access-Control-Expose-Headers`), e.g. `["X-Request-Id"]`.
    pub fn expose_headers<I, S>(mut self, headers: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.expose = join(headers);
        self
    }

    /// Opts in to credentialed requests (cookies, `Authorization`):
    /// `Access-Control-Allow-Credentials: true` on allowed responses. Only
    /// with a list of origins ([`allow_origin`](Cors::allow_origin)): with
    /// any origin the router is refused when built.
    pub fn allow_credentials(mut self, allow: bool) -> Cors {
        self.credentials = allow;
        self
    }

    /// How long a browser may cache a preflight's answer
    /// (`Access-Control-Max-Age`, whole seconds).
    pub fn max_age(mut self, max_age: Duration) -> Cors {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, or `None` when
    /// it is not allowed.
    fn allowed_origin(&self, origin: &str) -> Option<HeaderText> {
        match &self.origins {
            // With credentials this layer is refused when the router is
            // built (`check`).
            Origins::Any => Some(Cow::Borrowed("*")),
            Origins::List(list) if list.iter().any(|known| known == origin) => {
                Some(Cow::Owned(origin.to_owned()))
            }
            Origins::List(_) => None,
        }
    }

    fn preflight(&self, request: &Request, allow_origin: HeaderText) -> Response {
        let mut response = Response::new(204)
            .header("Access-Control-Allow-Origin", allow_origin)
            .header("Access-Control-Allow-Methods", self.methods.clone());
        let mut vary = "Origin";
        match &self.headers {
            AllowedHeaders::List(list) if list.is_empty() => {}
            AllowedHeaders::List(list) => {
                response.append_header("Access-Control-Allow-Headers", list.clone())
            }
            AllowedHeaders::Mirror => {
                // The answer now depends on what was asked.
                vary = "Origin, Access-Control-Request-Headers";
                if let Some(asked) = request.header("access-control-request-headers") {
                    if !asked.is_empty() {
                        response.append_header("Access-Control-Allow-Headers", asked.to_owned());
                    }
                }
            }
        }
        if self.credentials {
            response.append_header("Access-Control-Allow-Credentials", "true");
        }
        if let Some(seconds) = self.max_age {
            response.append_header("Access-Control-Max-Age", seconds.to_string());
        }
        response.append_header("Vary", vary);
        response
    }
}

impl Default for Cors {
    fn default() -> Cors {
        Cors::new()
    }
}

impl Middleware for Cors {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        // With a list of origins every answer depends on `Origin`, whether
        // it is allowed, refused or absent: a shared cache must key on it,
        // or it could serve an answer without CORS headers to an allowed
        // origin (or one with them to another).
        let varies = matches!(self.origins, Origins::List(_));
        let allow_origin = request
            .header("origin")
            .and_then(|origin| self.allowed_origin(origin));
        let Some(allow_origin) = allow_origin else {
            let mut response = next.run(request);
            if varies {
                add_vary(&mut response, "Origin");
            }
            return response;
        };
        if request.method() == Method::Options
            && request
                .header_bytes("access-control-request-method")
                .is_some()
        {
            return self.preflight(request, allow_origin);
        }
        let mut response = next.run(request);
        response.set_header("Access-Control-Allow-Origin", allow_origin);
        if self.credentials {
            response.set_header("Access-Control-Allow-Credentials", "true");
        }
        if !self.expose.is_empty() {
            response.set_header("Access-Control-Expose-Headers", self.expose.clone());
        }
        if varies {
            add_vary(&mut response, "Origin");
        }
        response
    }

    /// Refuses any origin with credentials: every site, `null` included,
    /// could then read a signed-in user's answers.
    fn check(&self) -> Result<(), String> {
        if matches!(self.origins, Origins::Any) && self.credentials {
            return Err(
                "`allow_any_origin()` with `allow_credentials(true)` would let every \
                 site read the responses of a signed-in user (browsers forbid `*` with \
                 credentials, and echoing each origin defeats the point); list the trusted \
                 origins with `allow_origin(..)` instead"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// `a, b, c` from header names.
fn join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<String> = items
        .into_iter()
        .map(|item| item.as_ref().trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect();
    items.join(", ")
}

/// Adds `name` to the response's `Vary`, keeping what a handler put there
/// (one field, `Accept-Encoding, Origin`) and leaving `Vary: *` alone.
pub(super) fn add_vary(response: &mut Response, name: &str) {
    let existing = response.header_value("vary").map(str::to_owned);
    match existing {
        None => response.append_header("Vary", name.to_owned()),
        Some(value) => {
            let present = value
                .split(',')
                .map(str::trim)
                .any(|item| item == "*" || item.eq_ignore_ascii_case(name));
            if !present {
                response.set_header("Vary", format!("{value}, {name}"));
            }
        }
    }
}
