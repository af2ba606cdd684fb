//! Router tests, in memory (no sockets), one file per concern:
//! `matching` (404 / 405 / `HEAD` / `OPTIONS`), `mounting` (prefixes,
//! fallbacks, states, body limits), `checks` (conflicts and the other
//! build checks), `handlers` (panics, the error shape, closures and their
//! extractors), `paths` (reverse routing, path builders, patterns),
//! `macros` (routes written with the attribute macros) and `listing`
//! (health route, route table). The layer mechanics are tested with the
//! middleware, which adds `Router::layer`. This file holds what they share,
//! the middleware tests too (the helpers and the one test logger a test
//! process can have).

use super::pattern::{build_path, normalized, parse_pattern, PathPiece, PatternPiece};
use super::*;
use crate::extract::{Path, Query, State};
use crate::json::Json;
use crate::respond::{IntoResponse, Status};
use crate::server::{Handler, Method, Request, Response};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod checks;
mod handlers;
mod listing;
mod macros;
mod matching;
mod mounting;
mod paths;

pub(crate) fn send(app: &RouterHandler, method: Method, target: &str) -> Response {
    app.handle(Request::new(method, target, &[], Vec::new()))
}

pub(crate) fn body_text(response: &Response) -> String {
    String::from_utf8(
        response
            .body()
            .as_bytes()
            .expect("a buffered body")
            .to_vec(),
    )
    .unwrap()
}

pub(crate) fn get(app: &RouterHandler, target: &str) -> (u16, String) {
    let response = send(app, Method::Get, target);
    (response.status(), body_text(&response))
}

pub(crate) fn error_json(response: &Response) -> serde_json::Value {
    assert_eq!(
        response.header_value("content-type"),
        Some("application/json")
    );
    serde_json::from_str(&body_text(response)).expect("the error shape is JSON")
}

pub(crate) fn problems(router: Router) -> Vec<RouterProblem> {
    router
        .into_handler()
        .expect_err("the router has problems")
        .problems()
        .to_vec()
}

/// Captures log records so tests can see what went to the log.
struct TestLogger(Mutex<Vec<String>>);

impl log::Log for TestLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(record.args().to_string());
    }
    fn flush(&self) {}
}

static LOGGER: TestLogger = TestLogger(Mutex::new(Vec::new()));

pub(crate) fn logged() -> Vec<String> {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
    LOGGER.0.lock().unwrap().clone()
}
