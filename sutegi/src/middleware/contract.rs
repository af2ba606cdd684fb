//! What a middleware is: the [`Middleware`] trait (implemented by every
//! `Fn(&mut Request, Next<'_>) -> Response` closure) and [`Next`], the rest
//! of the chain a middleware hands the request on to.
//!
//! The chain itself, how layers are held and run, panics included, is the
//! router's type-erased [`Chain`]; `Next` is its public face. Adding a
//! layer to a router is [`Router::layer`](crate::Router::layer), in this
//! module's `mod.rs`.

use std::fmt;

use crate::router::layers::Chain;
use crate::server::{Request, Response};

/// A function around the router: it receives the request and the rest of
/// the chain ([`Next`]), and answers.
///
/// Closures `Fn(&mut Request, Next<'_>) -> Response + Send + Sync +
/// 'static` are middleware (name the argument types:
/// `|request: &mut Request, next: Next<'_>| …`); a type of your own
/// implements this trait when it carries configuration, as [`Cors`](super::Cors) does.
///
/// The request is lent, not moved: a middleware passes the same request on
/// with `next.run(request)` and can still read it afterwards (the access
/// log reads the method, path and peer once the response is known, with no
/// copy). It can also replace it (`*request = …`) or attach values for the
/// handlers through [`Request::extensions_mut`], which they read with the
/// [`Extension<T>`](crate::Extension) extractor.
///
/// ```
/// use sutegi::middleware::Middleware;
/// use sutegi::{Extension, Next, Request, Response, Router};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// /// Answers 401 without a token; otherwise tells the handlers who asked.
/// struct Auth;
///
/// impl Middleware for Auth {
///     fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
///         let Some(token) = request.header("authorization") else {
///             return Response::new(401);
///         };
///         let user = User(token.trim_start_matches("Bearer ").to_owned());
///         request.extensions_mut().insert(user);
///         let mut response = next.run(request);
///         response.set_header("Cache-Control", "private");
///         response
///     }
/// }
///
/// let app = Router::new()
///     .get("/me", |Extension(user): Extension<User>| user.0)
///     .layer(Auth);
/// # app.into_handler().unwrap();
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Answers `request`, calling `next.run(request)` for what the inner
    /// layers and the router answer, or not at all to short-circuit.
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response;

    /// Whether this middleware can run as configured, asked once when it
    /// is added: an `Err` with the reason makes
    /// [`Router::into_handler`](crate::Router::into_handler) (and `serve`)
    /// refuse the router, so a configuration that would be unsafe is
    /// caught at start-up rather than in production. The default accepts.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

impl<F> Middleware for F
where
    F: Fn(&mut Request, Next<'_>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        self(request, next)
    }
}
/// The rest of the chain, handed to a [`Middleware`]: the layers inside it,
/// then the router. Running it is how a middleware lets the request
/// through; dropping it unrun short-circuits.
pub struct Next<'a> {
    chain: Chain<'a>,
}

impl<'a> Next<'a> {
    /// The public face of `chain`.
    pub(crate) fn new(chain: Chain<'a>) -> Next<'a> {
        Next { chain }
    }

    /// Runs the inner layers and the router on `request` and returns their
    /// response. A panic in an inner layer comes back as a 500 in the
    /// router's error shape (the message goes to the log), so this layer
    /// still finishes its work.
    pub fn run(self, request: &mut Request) -> Response {
        self.chain.run(request)
    }
}

impl fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("layers", &self.chain.layers())
            .finish_non_exhaustive()
    }
}
