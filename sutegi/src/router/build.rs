//! Checking a router and compiling it into a [`RouterHandler`]: every route
//! into matchit's tree and a per-path table of methods, with every problem
//! recorded rather than the first (conflicts, captures named differently at
//! one position, malformed paths, missing states, closures with two body
//! extractors), then the fallbacks ([`fallback`](super::fallback)).
//!
//! It takes the router's parts ([`RouterParts`]), not the builder, so the
//! builder ([`Router`](super::Router)) depends on this file and not the
//! other way round.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::extract::StateEntry;
use crate::respond::ErrorShape;

use super::dispatch::{CompiledRoute, PathEntry, RouterHandler};
use super::error::{RouterError, RouterProblem};
use super::fallback::{CompiledFallbacks, Fallback};
use super::layers::Layer;
use super::pattern::{
    first_name_difference, normalized, parse_pattern, path_error_hint, PatternPiece,
};
use super::route::{method_index, MethodSet, Route, RouteSummary, METHOD_COUNT};

/// What a router is made of, as [`Router::into_handler`](super::Router::into_handler)
/// hands it over.
pub(super) struct RouterParts {
    pub(super) routes: Vec<Route>,
    pub(super) states: Vec<StateEntry>,
    pub(super) fallbacks: Vec<Fallback>,
    pub(super) error_shape: Option<ErrorShape>,
    pub(super) body_limit: Option<u64>,
    /// What was found wrong while building (bad mount prefixes, …).
    pub(super) problems: Vec<RouterProblem>,
    /// Middleware, in the order added (the last is the outermost).
    pub(super) layers: Vec<Layer>,
}

/// The router being compiled: the tree, the path table and the problems
/// found so far.
#[derive(Default)]
pub(super) struct Builder {
    problems: Vec<RouterProblem>,
    matcher: matchit::Router<u32>,
    paths: Vec<PathEntry>,
    /// The pattern of each entry of `paths`, as written.
    patterns: Vec<String>,
    // Every map of the builder is this one type (a string to an index): one
    // map instantiation in the binary instead of five, and a B-tree rather
    // than a HashMap, which would bring SipHash and the random seed into
    // programs that use no HashMap of their own (11 KB less in `hello`).
    /// Pattern as written → index into `paths`.
    by_pattern: BTreeMap<String, u32>,
    /// Normalised pattern → index into `paths` of the first pattern written so.
    by_normalized: BTreeMap<String, u32>,
    routes: Vec<CompiledRoute>,
}

impl Builder {
    /// Checks the router and compiles it, or lists every problem found.
    pub(super) fn build(mut self, router: RouterParts) -> Result<RouterHandler, RouterError> {
        let RouterParts {
            routes,
            states,
            fallbacks,
            error_shape,
            body_limit,
            problems,
            layers,
        } = router;
        self.problems.extend(problems);
        // Outermost first, the order the chain runs them in.
        let layers: Box<[Layer]> = layers.into_iter().rev().collect();
        for mut route in routes {
            route.body_limit = route.body_limit.or(body_limit);
            self.add_route(route, &states);
        }
        self.check_capture_names();
        let mut fallbacks = match fallbacks.first() {
            Some(fallback) => (fallback.compile)(fallbacks, &states, &mut self.problems),
            None => CompiledFallbacks::default(),
        };
        // The listing names every layer around a route, the whole router's
        // included (the compiled summaries are what `routes()` lists).
        if !layers.is_empty() {
            let summaries = self
                .routes
                .iter_mut()
                .map(|route| &mut route.summary)
                .chain(fallbacks.prefixed.iter_mut().map(|f| &mut f.summary))
                .chain(fallbacks.root.iter_mut().map(|f| &mut f.summary));
            for summary in summaries {
                summary.layers.splice(0..0, layers.iter().map(Layer::label));
            }
        }

        if !self.problems.is_empty() {
            return Err(RouterError::new(self.problems));
        }
        let all_methods = self
            .paths
            .iter()
            .fold(MethodSet::default(), |all, entry| all.union(entry.methods));
        Ok(RouterHandler {
            matcher: self.matcher,
            paths: self.paths,
            routes: self.routes,
            fallbacks,
            server_allow: all_methods.allow_header(),
            error_shape,
            shutting_down: Arc::new(AtomicBool::new(false)),
            layers,
        })
    }

    fn add_route(&mut self, route: Route, top_states: &[StateEntry]) {
        let summary = route.summary();
        let states: Box<[StateEntry]> = route
            .scoped_states
            .iter()
            .chain(top_states)
            .cloned()
            .collect();
        RouterProblem::missing_states(
            &summary,
            &route.state_requirements,
            &states,
            &mut self.problems,
        );
        if route.body_readers > 1 {
            self.problems.push(RouterProblem::SeveralBodyReaders {
                route: summary.clone(),
            });
        }
        if route.methods == MethodSet::default() {
            self.problems.push(RouterProblem::InvalidPath {
                route: summary,
                reason: "the route answers no method; give it at least one".into(),
            });
            return;
        }
        let Some(entry_index) = self.path_entry(&route, &summary) else {
            return;
        };
        let entry = &mut self.paths[entry_index as usize];
        if entry.methods.intersects(route.methods) {
            let clash = route
                .methods
                .iter()
                .find(|m| entry.methods.contains(*m))
                .expect("they intersect");
            let existing = entry.by_method[method_index(clash)].expect("the method is taken");
            self.problems.push(RouterProblem::Conflict {
                route: summary,
                existing: self.routes[existing as usize].summary.clone(),
            });
            return;
        }
        let route_index = self.routes.len() as u32;
        for method in route.methods.iter() {
            entry.by_method[method_index(method)] = Some(route_index);
        }
        entry.methods = entry.methods.union(route.methods);
        entry.allow = entry.methods.allow_header();
        self.routes.push(CompiledRoute {
            handler: route.handler,
            states,
            layers: route.layers.into(),
            body_limit: route.body_limit,
            content_type_check: route.content_type_check,
            streams_body: route.streams_body,
            summary,
        });
    }

    /// The path entry for the route's pattern, inserting it into matchit
    /// when new; `None` (and a problem recorded) when matchit refuses it.
    fn path_entry(&mut self, route: &Route, summary: &RouteSummary) -> Option<u32> {
        let pattern = &*route.path;
        if let Some(index) = self.by_pattern.get(pattern) {
            return Some(*index);
        }
        if !pattern.starts_with('/') {
            self.problems.push(RouterProblem::InvalidPath {
                route: summary.clone(),
                reason: format!("`{pattern}` does not start with `/`"),
            });
            return None;
        }
        let index = self.paths.len() as u32;
        match self.matcher.insert(pattern, index) {
            Ok(()) => {
                self.paths.push(PathEntry {
                    by_method: [None; METHOD_COUNT],
                    methods: MethodSet::default(),
                    allow: String::new(),
                });
                self.patterns.push(pattern.to_owned());
                self.by_pattern.insert(pattern.to_owned(), index);
                self.by_normalized
                    .entry(normalized(pattern))
                    .or_insert(index);
                Some(index)
            }
            Err(matchit::InsertError::Conflict { with }) => {
                let existing = self
                    .by_normalized
                    .get(&normalized(&with))
                    .and_then(|index| {
                        self.paths[*index as usize]
                            .by_method
                            .iter()
                            .flatten()
                            .next()
                    })
                    .map(|route_index| self.routes[*route_index as usize].summary.clone());
                let problem = match existing {
                    Some(existing) if normalized(&existing.path) == normalized(pattern) => {
                        let (name, existing_name) = first_name_difference(pattern, &existing.path);
                        RouterProblem::CaptureNames {
                            route: summary.clone(),
                            existing,
                            name,
                            existing_name,
                        }
                    }
                    Some(existing) => RouterProblem::Conflict {
                        route: summary.clone(),
                        existing,
                    },
                    None => RouterProblem::InvalidPath {
                        route: summary.clone(),
                        reason: format!("it conflicts with `{with}`"),
                    },
                };
                self.problems.push(problem);
                None
            }
            Err(error) => {
                self.problems.push(RouterProblem::InvalidPath {
                    route: summary.clone(),
                    reason: path_error_hint(&error),
                });
                None
            }
        }
    }

    /// matchit 0.8 accepts `/users/{id}` beside `/users/{name}/posts` and
    /// answers both with whichever name it saw first; a handler reading
    /// `name` would find nothing. Refuse it here instead.
    fn check_capture_names(&mut self) {
        // (pattern prefix up to a capture, with earlier captures erased) →
        // index into `names` of (name there, the route that set it)
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        let mut names: Vec<(&str, u32)> = Vec::new();
        // Pairs already reported: few, and only when something is wrong.
        let mut reported: Vec<(u32, u32)> = Vec::new();
        for (pattern, entry) in self.patterns.iter().zip(&self.paths) {
            let Some(route_index) = entry.by_method.iter().flatten().min().copied() else {
                continue;
            };
            let mut key = String::new();
            for piece in parse_pattern(pattern) {
                let (name, marker) = match piece {
                    PatternPiece::Literal(text) => {
                        key.push_str(&text.replace('{', "{{"));
                        continue;
                    }
                    PatternPiece::Capture(name) => (name, "{}"),
                    PatternPiece::CatchAll(name) => (name, "{*}"),
                };
                key.push_str(marker);
                match seen.get(&key).map(|index| names[*index as usize]) {
                    Some((existing_name, existing_route)) if existing_name != name => {
                        let pair = (existing_route, route_index);
                        if !reported.contains(&pair) {
                            reported.push(pair);
                            self.problems.push(RouterProblem::CaptureNames {
                                route: self.routes[route_index as usize].summary.clone(),
                                existing: self.routes[existing_route as usize].summary.clone(),
                                name: name.to_owned(),
                                existing_name: existing_name.to_owned(),
                            });
                        }
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key.clone(), names.len() as u32);
                        names.push((name, route_index));
                    }
                }
            }
        }
    }
}
