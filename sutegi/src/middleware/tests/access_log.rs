//! The access log: one line per request, the request id wherever its layer
//! is, short-circuits and preflights logged when outermost, escaping.

use super::cors::{api_cors, preflight, SITE};
use super::*;
use crate::middleware::access_log::access_line;
use std::io::{self, Write};
use std::time::Duration;

/// A writer tests can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn the_access_log_writes_one_line_per_request() {
    let log = Captured::default();
    let app = Router::new()
        .get("/users/{id}", || "user7")
        .get("/events", || Response::sse(|sink| sink.data("one")))
        .layer(AccessLog::to_writer(log.clone()))
        .into_handler()
        .unwrap();
    let mut request = Request::new(Method::Get, "/users/7?token=secret", &[], Vec::new());
    request.set_peer_addr("10.0.0.9:4242".parse().unwrap());
    app.handle(request);
    send(&app, Method::Post, "/users/7", &[]);
    send(&app, Method::Get, "/events", &[]);
    let lines = log.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");

    let fields: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(fields[..4], ["GET", "/users/7", "200", "5"], "{lines:?}");
    let micros = fields[4].strip_suffix("µs").expect("a duration in µs");
    assert!(micros.parse::<u64>().is_ok(), "{lines:?}");
    assert_eq!(fields[5], "10.0.0.9:4242");
    assert_eq!(fields.len(), 6);
    assert!(!lines[0].contains("secret"));

    assert!(lines[1].starts_with("POST /users/7 405 "), "{lines:?}");
    assert!(lines[2].starts_with("GET /events 200 stream "), "{lines:?}");
}

#[test]
fn the_access_log_names_the_request_id_wherever_its_layer_is() {
    for outer_log in [true, false] {
        let log = Captured::default();
        let router = Router::new().get("/", || "hi");
        let router = if outer_log {
            router
                .layer(RequestIds::new())
                .layer(AccessLog::to_writer(log.clone()))
        } else {
            router
                .layer(AccessLog::to_writer(log.clone()))
                .layer(RequestIds::new())
        };
        let app = router.into_handler().unwrap();
        send(&app, Method::Get, "/", &[("X-Request-Id", "req-9")]);
        let lines = log.lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with(" id=req-9"), "{lines:?}");
    }
}

#[test]
fn the_access_log_logs_short_circuits_and_preflights_when_outermost() {
    let log = Captured::default();
    let app = Router::new()
        .get("/", || "hi")
        .layer(api_cors())
        .layer(AccessLog::to_writer(log.clone()))
        .into_handler()
        .unwrap();
    send(&app, Method::Options, "/", &preflight(SITE, &[]));
    assert!(
        log.lines()[0].starts_with("OPTIONS / 204 0 "),
        "{:?}",
        log.lines()
    );
}

#[test]
fn the_access_log_escapes_what_would_break_a_line() {
    let request = Request::new(Method::Get, "/a b\u{7f}é", &[], Vec::new());
    let line = access_line(&request, &Response::new(404), Duration::from_micros(12));
    assert_eq!(line.matches('\n').count(), 1);
    assert!(line.starts_with("GET /a\\x20b"), "{line}");
    assert!(line.contains(" 404 0 12µs 127.0.0.1:0"), "{line}");
}
