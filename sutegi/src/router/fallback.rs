//! Fallbacks: what answers a path no route matches, under the prefix of
//! the router it was given to ([`Router::fallback`](super::Router::fallback)).
//! A [`Fallback`] as declared, its check (one per prefix, its states) and
//! what it compiles to: a matcher for the prefixed fallbacks and the root
//! one apart, which [`dispatch`](super::dispatch) asks after the routes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::extract::{StateEntry, StateRequirement};

use super::error::RouterProblem;
use super::layers::Layer;
use super::route::{handler_name, Location, RouteKind, RouteSummary};
use super::route_fn::{BoxedHandler, RouteFn};

/// A fallback handler as declared: what answers a path no route matches,
/// under the prefix of the router it was given to.
#[derive(Clone)]
pub(super) struct Fallback {
    /// The mount prefixes it was mounted through (`""` at the top).
    pub(super) prefix: String,
    handler: BoxedHandler,
    state_requirements: Vec<StateRequirement>,
    /// States of the routers it was mounted through, nearest first.
    pub(super) scoped_states: Vec<StateEntry>,
    /// Layers of the routers it was mounted from, outermost first.
    pub(super) layers: Vec<Layer>,
    location: Location,
    name: Cow<'static, str>,
    /// [`compile_fallbacks`], reached through the fallbacks themselves so
    /// that a program that never calls `fallback` does not link it.
    pub(super) compile: CompileFallbacks,
}

/// What [`compile_fallbacks`] is: checks the fallbacks (recording what is
/// wrong) and compiles them.
pub(super) type CompileFallbacks =
    fn(Vec<Fallback>, &[StateEntry], &mut Vec<RouterProblem>) -> CompiledFallbacks;

impl Fallback {
    /// The fallback answering with `handler`, declared at `location`.
    pub(super) fn new<A, F: RouteFn<A>>(handler: F, location: Location) -> Fallback {
        Fallback {
            prefix: String::new(),
            state_requirements: F::state_requirements(),
            handler: handler.into_boxed_handler(),
            scoped_states: Vec::new(),
            layers: Vec::new(),
            location,
            name: Cow::Borrowed(handler_name::<F>()),
            compile: compile_fallbacks,
        }
    }

    /// The fallback as the route table lists it: any method, `{prefix}/*`.
    pub(super) fn summary(&self) -> RouteSummary {
        RouteSummary {
            methods: Vec::new(),
            path: if self.prefix.is_empty() {
                "/*".into()
            } else {
                format!("{}/*", self.prefix)
            },
            name: format!("fallback {}", self.name),
            module: "",
            location: self.location,
            kind: RouteKind::Plain,
            layers: self.layers.iter().map(Layer::label).collect(),
        }
    }
}

/// A fallback once checked: what dispatch runs.
pub(super) struct CompiledFallback {
    pub(super) handler: BoxedHandler,
    pub(super) states: Box<[StateEntry]>,
    /// Layers of the routers it was mounted from, outermost first.
    pub(super) layers: Box<[Layer]>,
    pub(super) summary: RouteSummary,
}

/// The fallbacks of a router once checked.
pub(super) struct CompiledFallbacks {
    /// Each prefixed fallback's prefix (`/p`, `/p/`, `/p/{*rest}`) → index
    /// into `prefixed`.
    pub(super) matcher: matchit::Router<u32>,
    pub(super) prefixed: Vec<CompiledFallback>,
    /// The top router's fallback, answering whatever nothing else did.
    pub(super) root: Option<CompiledFallback>,
}

impl Default for CompiledFallbacks {
    fn default() -> CompiledFallbacks {
        CompiledFallbacks {
            matcher: matchit::Router::new(),
            prefixed: Vec::new(),
            root: None,
        }
    }
}

/// The name of the catch-all a mounted router's fallback is matched with.
const FALLBACK_REST: &str = "__sutegi_rest";

/// Checks `fallbacks` (states given by their routers or `top_states`, one
/// fallback per prefix) and compiles them; what is wrong goes to
/// `problems`.
fn compile_fallbacks(
    fallbacks: Vec<Fallback>,
    top_states: &[StateEntry],
    problems: &mut Vec<RouterProblem>,
) -> CompiledFallbacks {
    let mut matcher = matchit::Router::new();
    let mut compiled = Vec::new();
    let mut root = None;
    // Prefix → index into `summaries`, the fallbacks accepted so far.
    let mut by_prefix: BTreeMap<String, u32> = BTreeMap::new();
    let mut summaries: Vec<RouteSummary> = Vec::new();
    for fallback in fallbacks {
        let summary = fallback.summary();
        let states: Box<[StateEntry]> = fallback
            .scoped_states
            .iter()
            .chain(top_states)
            .cloned()
            .collect();
        RouterProblem::missing_states(&summary, &fallback.state_requirements, &states, problems);
        if let Some(existing) = by_prefix.get(&fallback.prefix) {
            problems.push(RouterProblem::Conflict {
                route: summary,
                existing: summaries[*existing as usize].clone(),
            });
            continue;
        }
        by_prefix.insert(fallback.prefix.clone(), summaries.len() as u32);
        summaries.push(summary.clone());
        let this = CompiledFallback {
            handler: fallback.handler,
            states,
            layers: fallback.layers.into(),
            summary: summary.clone(),
        };
        if fallback.prefix.is_empty() {
            root = Some(this);
            continue;
        }
        let index = compiled.len() as u32;
        let prefix = &fallback.prefix;
        let patterns = [
            prefix.clone(),
            format!("{prefix}/"),
            format!("{prefix}/{{*{FALLBACK_REST}}}"),
        ];
        for pattern in patterns {
            if let Err(error) = matcher.insert(pattern, index) {
                problems.push(RouterProblem::InvalidPath {
                    route: summary.clone(),
                    reason: format!("its mount prefix cannot take a fallback: {error}"),
                });
                break;
            }
        }
        compiled.push(this);
    }
    CompiledFallbacks {
        matcher,
        prefixed: compiled,
        root,
    }
}
