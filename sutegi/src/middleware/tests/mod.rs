//! Middleware tests, in memory through `RouterHandler::handle`, one file
//! per concern: `chain` (the layer mechanics: order, what layers see,
//! short-circuits, extensions, panics), `scoped` (layers on mounted
//! routers, the listing, refusals through the layers), `cors`
//! (preflight, simple, refused origins, credentials, any origin, streams),
//! `request_id` (echo, validation, uniqueness, extension), `access_log`
//! (the line) and `proxies` (`X-Forwarded-For`). This file holds what
//! they share.

use super::*;
use crate::extract::Extension;
use crate::router::{Router, RouterHandler};
use crate::server::{Handler, Method, Request, Response};
use std::sync::{Arc, Mutex};

mod access_log;
mod chain;
mod cors;
mod proxies;
mod request_id;
mod scoped;

fn send(app: &RouterHandler, method: Method, target: &str, headers: &[(&str, &str)]) -> Response {
    app.handle(Request::new(method, target, headers, Vec::new()))
}

fn body_text(response: &Response) -> String {
    String::from_utf8(response.body().as_bytes().expect("buffered").to_vec()).unwrap()
}
