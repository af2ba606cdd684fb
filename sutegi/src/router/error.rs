//! What goes wrong with a router, as values: [`RouterError`] (every
//! [`RouterProblem`] [`Router::into_handler`](super::Router::into_handler)
//! found, each naming the routes and their source locations) and
//! [`UrlError`] (why [`Router::url_for`](super::Router::url_for) could not
//! build a path), with the messages people read.
//!
//! Finding the problems is [`build`](super::build)'s and
//! [`fallback`](super::fallback)'s; the one check both make, a `State<T>`
//! no router gave, is written once here ([`RouterProblem::missing_states`]).

use std::fmt;

use crate::extract::{shorten_type_name, StateEntry, StateRequirement};

use super::route::{Location, RouteSummary};

/// What [`Router::into_handler`](super::Router::into_handler) found wrong: every problem of the router,
/// each naming the routes and their source locations.
#[derive(Clone, Debug)]
pub struct RouterError {
    problems: Vec<RouterProblem>,
}

impl RouterError {
    /// Each problem found.
    pub fn problems(&self) -> &[RouterProblem] {
        &self.problems
    }
}

impl fmt::Display for RouterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "the router cannot be built: {one}"),
            problems => {
                write!(
                    f,
                    "the router cannot be built ({} problems):",
                    problems.len()
                )?;
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RouterError {}

/// One thing wrong with a router (see [`RouterError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouterProblem {
    /// Two routes match the same requests with a common method.
    Conflict {
        /// The route added later.
        route: RouteSummary,
        /// The route it conflicts with.
        existing: RouteSummary,
    },
    /// Two routes name the capture at one position differently
    /// (`/users/{id}` and `/users/{name}/posts`).
    CaptureNames {
        /// The route added later.
        route: RouteSummary,
        /// The route it disagrees with.
        existing: RouteSummary,
        /// The name `route` uses.
        name: String,
        /// The name `existing` uses.
        existing_name: String,
    },
    /// A path pattern matchit refuses.
    InvalidPath {
        /// The route.
        route: RouteSummary,
        /// What is wrong with it.
        reason: String,
    },
    /// A mount prefix that cannot prefix paths.
    InvalidPrefix {
        /// The prefix given.
        prefix: String,
        /// Where `mount` was called.
        location: Location,
        /// What is wrong with it.
        reason: String,
    },
    /// A route takes a `State<T>`, or an extractor that needs one, that no
    /// router it is in was given.
    MissingState {
        /// The route.
        route: RouteSummary,
        /// `T`.
        type_name: &'static str,
        /// The extractor the route takes that needs `State<T>`, when it is
        /// not `State<T>` itself.
        extractor: Option<&'static str>,
    },
    /// A closure route takes more than one extractor that reads the body.
    SeveralBodyReaders {
        /// The route.
        route: RouteSummary,
    },
    /// A middleware refused its own configuration
    /// ([`Middleware::check`](crate::middleware::Middleware::check)).
    InvalidMiddleware {
        /// The layer (`Cors`).
        layer: String,
        /// Where `layer(..)` was called.
        location: Location,
        /// Why it cannot run so.
        reason: String,
    },
}

impl fmt::Display for RouterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouterProblem::Conflict { route, existing } => write!(
                f,
                "route {route} conflicts with route {existing}: both match the same requests; change one path or method, or remove one"
            ),
            RouterProblem::CaptureNames { route, existing, name, existing_name } => write!(
                f,
                "route {route} names a capture `{{{name}}}` where route {existing} names it `{{{existing_name}}}`: captures at one position of the path must share a name; rename one"
            ),
            RouterProblem::InvalidPath { route, reason } => {
                write!(f, "route {route} has an invalid path: {reason}")
            }
            RouterProblem::InvalidPrefix { prefix, location, reason } => {
                write!(f, "mount prefix `{prefix}` at {location} is invalid: {reason}")
            }
            RouterProblem::MissingState { route, type_name, extractor: None } => {
                let short = shorten_type_name(type_name);
                write!(
                    f,
                    "route {route} takes `State<{short}>` but no router it is in was given one: add `.with_state(value)` with a `{type_name}`"
                )
            }
            RouterProblem::MissingState { route, type_name, extractor: Some(extractor) } => {
                let short = shorten_type_name(type_name);
                let extractor = shorten_type_name(extractor);
                write!(
                    f,
                    "route {route} takes `{extractor}`, which needs the state `{short}` (a `State<{short}>`), but no router it is in was given one: add `.with_state(value)` with a `{type_name}`"
                )
            }
            RouterProblem::SeveralBodyReaders { route } => write!(
                f,
                "route {route} takes more than one extractor that reads the request body, which can be read once: keep one"
            ),
            RouterProblem::InvalidMiddleware { layer, location, reason } => {
                write!(f, "middleware `{layer}` added at {location} cannot run so: {reason}")
            }
        }
    }
}

/// Why [`Router::url_for`](super::Router::url_for) could not build a path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The route is not in this router: add it, or ask the router it is in.
    NotInRouter {
        /// The route's path pattern as declared.
        route: String,
    },
    /// The route is mounted at several places: build the path from the
    /// router it is mounted in, plus the prefix you mean.
    Ambiguous {
        /// Each full path pattern it has.
        paths: Vec<String>,
    },
    /// `args` does not hold one value per capture.
    WrongArgumentCount {
        /// The full path pattern.
        path: String,
        /// Its number of captures.
        expected: usize,
        /// The number of values given.
        given: usize,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NotInRouter { route } => {
                write!(f, "the route `{route}` is not in this router; add it with `.route(..)` first")
            }
            UrlError::Ambiguous { paths } => write!(
                f,
                "the route is mounted at several paths ({}); build the path from the mounted router",
                paths.join(", ")
            ),
            UrlError::WrongArgumentCount { path, expected, given } => write!(
                f,
                "`{path}` has {expected} captures but {given} values were given; pass one per capture, in path order"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

impl RouterError {
    /// The error for these problems (at least one).
    pub(super) fn new(problems: Vec<RouterProblem>) -> RouterError {
        RouterError { problems }
    }
}

impl RouterProblem {
    /// Records a [`MissingState`](RouterProblem::MissingState) for each of
    /// `required` that none of `given` provides: the check of routes and of
    /// fallbacks alike.
    pub(super) fn missing_states(
        route: &RouteSummary,
        required: &[StateRequirement],
        given: &[StateEntry],
        problems: &mut Vec<RouterProblem>,
    ) {
        for requirement in required {
            if !given
                .iter()
                .any(|state| state.type_id == requirement.type_id())
            {
                problems.push(RouterProblem::MissingState {
                    route: route.clone(),
                    type_name: requirement.type_name(),
                    extractor: requirement.extractor(),
                });
            }
        }
    }
}
