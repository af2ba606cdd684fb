//! Values handed to handlers from outside the request: [`State<T>`](State),
//! given to the router once, and [`Extension<T>`](Extension), attached to
//! one request by a middleware.
//!
//! How states are stored and looked up is the
//! [`RequestContext`]'s business (in the parent module); this file only
//! turns them into extractors and refuses, with a 500 and a log line, what
//! the configuration forgot.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::{deref_wrapper, FromRequest, RequestContext, StateRequirement};
use crate::error::Error;

/// A value given to the router with
/// [`Router::with_state`](crate::Router::with_state), shared by every
/// request: a database pool, a configuration, counters.
///
/// Stored once as an `Arc<T>` (no `Clone` needed; `T: Send + Sync`), read
/// through `Deref`. A route that takes a `State<T>` no `with_state` gave is
/// refused when the router is built.
pub struct State<T>(pub Arc<T>);

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&self.0).finish()
    }
}

impl<'r, T: Send + Sync + 'static> FromRequest<'r> for State<T> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        match cx.state::<T>() {
            Some(value) => Ok(State(Arc::clone(value))),
            None => {
                log::error!(
                    "no state of type `{}`: add `.with_state(value)` to the router",
                    std::any::type_name::<T>()
                );
                Err(Error::internal("the server is missing a piece of its configuration").absent())
            }
        }
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        Ok(cx.state::<T>().map(|value| State(Arc::clone(value))))
    }

    fn state_requirement() -> Option<StateRequirement> {
        Some(StateRequirement::of::<T>())
    }
}

/// A value a middleware attached to the request (through
/// [`Request::extensions_mut`](crate::Request::extensions_mut)), cloned out for the handler.
///
/// Missing is a 500 (a middleware that should have run did not): take
/// `Option<Extension<T>>` when it may legitimately be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);
deref_wrapper!(Extension);

impl<'r, T: Clone + Send + Sync + 'static> FromRequest<'r> for Extension<T> {
    type Rejection = Error;

    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        match cx.request().extensions().get::<T>() {
            Some(value) => Ok(Extension(value.clone())),
            None => {
                log::error!(
                    "no request extension of type `{}`: the middleware that inserts it did not run",
                    std::any::type_name::<T>()
                );
                Err(Error::internal("the server is missing a piece of its configuration").absent())
            }
        }
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        Ok(cx.request().extensions().get::<T>().cloned().map(Extension))
    }
}
