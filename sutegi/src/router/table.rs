//! The route listing: [`RouteTable`], what
//! [`Router::routes`](super::Router::routes) and
//! [`RouterHandler::routes`](super::RouterHandler::routes) return, and its
//! `Display`, the aligned table `print_routes` writes at start-up.
//!
//! The rows are [`RouteSummary`]s, made by the route types
//! ([`route`](super::route)); this file only arranges them.

use std::fmt;

use super::route::{RouteKind, RouteSummary};

/// The routes of a router, as [`Router::routes`](super::Router::routes)
/// lists them: a slice of [`RouteSummary`] (it derefs to one) whose
/// `Display` is a table for people, one route a line:
///
/// ```text
/// METHOD     PATH         HANDLER                SOURCE
/// GET        /users/{id}  app::user              src/main.rs:12:1
/// GET, POST  /slow        app::slow              src/main.rs:30:1
/// GET        /events      app::events (stream)   src/main.rs:41:1
/// *          /*           fallback closure       src/main.rs:60:10
/// ```
///
/// `GET` routes answer `HEAD` too (not listed); a fallback answers any
/// method (`*`). When some route has middleware, a last column lists the
/// layers around each route, outermost first
/// (`AccessLog > Cors > closure at src/main.rs:20:10`). Every line ends
/// with a newline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<RouteSummary>,
}

impl RouteTable {
    /// The summaries, in the router's order.
    pub fn as_slice(&self) -> &[RouteSummary] {
        &self.routes
    }

    /// The summaries, owned.
    pub fn into_vec(self) -> Vec<RouteSummary> {
        self.routes
    }
}

impl std::ops::Deref for RouteTable {
    type Target = [RouteSummary];

    fn deref(&self) -> &[RouteSummary] {
        &self.routes
    }
}

impl<'a> IntoIterator for &'a RouteTable {
    type Item = &'a RouteSummary;
    type IntoIter = std::slice::Iter<'a, RouteSummary>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.iter()
    }
}

impl IntoIterator for RouteTable {
    type Item = RouteSummary;
    type IntoIter = std::vec::IntoIter<RouteSummary>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.into_iter()
    }
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The LAYERS column appears only when some route has middleware,
        // so a router without any keeps the four-column table.
        let with_layers = self.routes.iter().any(|route| !route.layers.is_empty());
        let rows: Vec<Vec<String>> = self
            .routes
            .iter()
            .map(|route| {
                let methods = if route.methods.is_empty() {
                    "*".to_owned()
                } else {
                    route
                        .methods
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut handler = if route.module.is_empty() {
                    route.name.clone()
                } else {
                    format!("{}::{}", route.module, route.name)
                };
                match route.kind {
                    RouteKind::Stream => handler.push_str(" (stream)"),
                    RouteKind::WebSocket => handler.push_str(" (websocket)"),
                    RouteKind::Plain => {}
                }
                let mut row = vec![
                    methods,
                    route.path.clone(),
                    handler,
                    route.location.to_string(),
                ];
                if with_layers {
                    row.push(route.layers.join(" > "));
                }
                row
            })
            .collect();
        let mut header: Vec<String> = ["METHOD", "PATH", "HANDLER", "SOURCE"]
            .map(str::to_owned)
            .into();
        if with_layers {
            header.push("LAYERS (outermost first)".to_owned());
        }
        let columns = header.len();
        let mut widths = vec![0; columns - 1];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut line = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            line.clear();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(&format!("{cell:<width$}  ", width = *width));
            }
            line.push_str(&row[columns - 1]);
            // A route without layers leaves the last column empty.
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

impl RouteTable {
    /// A table of these rows, in this order.
    pub(super) fn new(routes: Vec<RouteSummary>) -> RouteTable {
        RouteTable { routes }
    }
}
