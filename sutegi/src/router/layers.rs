//! The middleware chain as the router holds it, type-erased: a [`Layer`]
//! is a function of the request and the rest of the chain ([`Chain`]), with
//! a name and the place it was added. The router keeps a list of them and
//! runs the chain around its dispatch; it knows nothing of the
//! `Middleware` trait or `Next`, which `Router::layer` (in the middleware
//! module) wraps into a `Layer`. This file imports nothing of the router
//! or the middleware, so the route types (which carry the layers of the
//! routers they were mounted from), the dispatch and the middleware module
//! all depend on it and not on each other.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::respond::{render_error, Error};
use crate::server::{Request, Response};

/// Where a layer was added (`Location::caller()` of `Router::layer`).
pub(crate) type Location = &'static std::panic::Location<'static>;

/// What a layer runs: the request and the chain inside it.
type LayerFn = dyn for<'a> Fn(&mut Request, Chain<'a>) -> Response + Send + Sync;

/// One middleware as a router holds it: shared (a `Router` is `Clone`),
/// with a name and the place it was added, for the log when it panics.
#[derive(Clone)]
pub(crate) struct Layer {
    run: Arc<LayerFn>,
    name: &'static str,
    location: Location,
}

impl Layer {
    /// A layer running `run`, named `name` in logs and errors, added at
    /// `location`.
    pub(crate) fn new<F>(run: F, name: &'static str, location: Location) -> Layer
    where
        F: for<'a> Fn(&mut Request, Chain<'a>) -> Response + Send + Sync + 'static,
    {
        Layer {
            run: Arc::new(run),
            name,
            location,
        }
    }
}

impl Layer {
    /// How the route table names it: the middleware's type (`Cors`), or
    /// for a closure, where it was added (`closure at src/main.rs:12:10`).
    pub(crate) fn label(&self) -> String {
        if self.name == "closure" {
            format!("{self:?}")
        } else {
            self.name.to_owned()
        }
    }
}

impl fmt::Debug for Layer {
    /// `Cors at src/main.rs:12:10`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.name, self.location)
    }
}

/// The rest of the chain from one layer in: the layers inside it, then
/// the endpoint (the router's dispatch).
#[derive(Clone, Copy)]
pub(crate) struct Chain<'a> {
    /// The layers still to run, outermost first.
    layers: &'a [Layer],
    /// What answers once every layer has run.
    endpoint: &'a (dyn Fn(&mut Request) -> Response + 'a),
}

impl<'a> Chain<'a> {
    /// The chain of `layers` (outermost first) around `endpoint`.
    pub(crate) fn new(
        layers: &'a [Layer],
        endpoint: &'a (dyn Fn(&mut Request) -> Response + 'a),
    ) -> Chain<'a> {
        Chain { layers, endpoint }
    }

    /// The layers still to run, outermost first.
    pub(crate) fn layers(&self) -> &'a [Layer] {
        self.layers
    }

    /// Runs the outermost layer (with the rest of the chain inside it), or
    /// the endpoint once none is left. A panic in the layer comes back as a
    /// 500 in the router's error shape, the message going to the log, so
    /// the layers outside it still finish their work.
    pub(crate) fn run(self, request: &mut Request) -> Response {
        let Some((layer, inner)) = self.layers.split_first() else {
            return (self.endpoint)(request);
        };
        let next = Chain {
            layers: inner,
            endpoint: self.endpoint,
        };
        match catch_unwind(AssertUnwindSafe(|| (layer.run)(request, next))) {
            Ok(response) => response,
            Err(payload) => {
                let message = crate::server::panic_message(&payload);
                log::error!(
                    "middleware `{}` (added at {}) panicked on {} {}: {message}",
                    layer.name,
                    layer.location,
                    request.method(),
                    request.path(),
                );
                render_error(&Error::internal(
                    "the server failed to answer this request; the server log has the details",
                ))
            }
        }
    }
}
