//! Middleware mechanics: order (last added is outermost), what layers see,
//! short-circuits, extensions, streams, panics in layers, `Middleware`
//! types, layers refused on a mounted router.

use super::*;
// The router's test helpers (they answer without headers; `send` here is
// theirs) and its test logger: one logger per test process.
use crate::extract::Path;
use crate::respond::Error;
use crate::router::tests::{body_text, error_json, get, logged, send};
use std::sync::atomic::{AtomicU64, Ordering};

/// A middleware that records its name on the way in and out, in a shared
/// trace, and marks the response with a header of its own.
fn tracer(name: &'static str, trace: Arc<Mutex<Vec<String>>>) -> impl Middleware {
    move |request: &mut Request, next: Next<'_>| {
        trace.lock().unwrap().push(format!("{name} in"));
        let mut response = next.run(request);
        trace.lock().unwrap().push(format!("{name} out"));
        response.append_header("X-Layer", name);
        response
    }
}

#[test]
fn the_layer_added_last_is_the_outermost() {
    let trace = Arc::new(Mutex::new(Vec::new()));
    let handler_trace = Arc::clone(&trace);
    let app = Router::new()
        .get("/", move || {
            handler_trace.lock().unwrap().push("handler".to_owned());
            "hi"
        })
        .layer(tracer("a", Arc::clone(&trace)))
        .layer(tracer("b", Arc::clone(&trace)))
        .layer(tracer("c", Arc::clone(&trace)))
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/");
    assert_eq!(body_text(&response), "hi");
    assert_eq!(
        *trace.lock().unwrap(),
        ["c in", "b in", "a in", "handler", "a out", "b out", "c out"]
    );
    // The innermost layer touched the response first.
    let marks: Vec<&str> = response
        .headers()
        .filter(|(name, _)| *name == "X-Layer")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(marks, ["a", "b", "c"]);
}

#[test]
fn layers_see_404_405_options_and_extractor_refusals() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let app = Router::new()
        .get("/users/{id}", |Path(id): Path<u32>| id.to_string())
        .layer(move |request: &mut Request, next: Next<'_>| {
            let response = next.run(request);
            log.lock().unwrap().push((
                request.method(),
                request.path().to_owned(),
                response.status(),
            ));
            response
        })
        .into_handler()
        .unwrap();
    send(&app, Method::Get, "/users/1");
    send(&app, Method::Get, "/nope");
    send(&app, Method::Post, "/users/1");
    send(&app, Method::Options, "/users/1");
    send(&app, Method::Get, "/users/x");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Method::Get, "/users/1".to_owned(), 200),
            (Method::Get, "/nope".to_owned(), 404),
            (Method::Post, "/users/1".to_owned(), 405),
            (Method::Options, "/users/1".to_owned(), 204),
            (Method::Get, "/users/x".to_owned(), 400),
        ]
    );
}

#[test]
fn a_layer_can_short_circuit_without_running_the_router() {
    let ran = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&ran);
    let app = Router::new()
        .get("/secret", move || {
            counter.fetch_add(1, Ordering::SeqCst);
            "the secret"
        })
        .layer(|request: &mut Request, next: Next<'_>| {
            if request.header("authorization") != Some("Bearer letmein") {
                return Response::with_body(401, "who are you?")
                    .header("WWW-Authenticate", "Bearer");
            }
            next.run(request)
        })
        .into_handler()
        .unwrap();
    let refused = send(&app, Method::Get, "/secret");
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.header_value("www-authenticate"), Some("Bearer"));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let allowed = app.handle(Request::new(
        Method::Get,
        "/secret",
        &[("Authorization", "Bearer letmein")],
        Vec::new(),
    ));
    assert_eq!(body_text(&allowed), "the secret");
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn a_layer_passes_values_to_handlers_through_extensions() {
    use crate::extract::Extension;
    #[derive(Clone)]
    struct User(String);
    let app = Router::new()
        .get("/me", |Extension(user): Extension<User>| user.0)
        .get("/maybe", |user: Option<Extension<User>>| {
            user.map_or("nobody".to_owned(), |u| u.0 .0)
        })
        .layer(|request: &mut Request, next: Next<'_>| {
            if let Some(name) = request.header("x-user") {
                let user = User(name.to_owned());
                request.extensions_mut().insert(user);
            }
            next.run(request)
        })
        .into_handler()
        .unwrap();
    let me = app.handle(Request::new(
        Method::Get,
        "/me",
        &[("X-User", "ada")],
        Vec::new(),
    ));
    assert_eq!(body_text(&me), "ada");
    assert_eq!(get(&app, "/maybe"), (200, "nobody".into()));
    // Absent where required: the extractor's 500, not a panic.
    assert_eq!(get(&app, "/me").0, 500);
}

#[test]
fn a_layer_can_change_the_response_of_a_stream_without_touching_its_body() {
    let app = Router::new()
        .get("/events", || Response::sse(|sink| sink.data("one")))
        .layer(|request: &mut Request, next: Next<'_>| {
            let mut response = next.run(request);
            response.set_header("X-Seen", "yes");
            response
        })
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/events");
    assert_eq!(response.header_value("x-seen"), Some("yes"));
    assert_eq!(
        response.header_value("content-type"),
        Some("text/event-stream")
    );
    assert!(response.body().is_stream());
}

#[test]
fn a_panicking_layer_is_a_500_in_the_error_shape_and_outer_layers_still_run() {
    logged();
    let app = Router::new()
        .get("/", || "hi")
        .layer(|request: &mut Request, next: Next<'_>| -> Response {
            if request.path() == "/boom" {
                panic!("middleware exploded: secret 5678");
            }
            next.run(request)
        })
        .layer(|request: &mut Request, next: Next<'_>| {
            let mut response = next.run(request);
            response.set_header("X-Outer", "ran");
            response
        })
        .error_shape(|e: &Error| {
            Response::with_body(
                e.status().as_u16(),
                format!("shaped {}", e.status().as_u16()),
            )
        })
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/boom");
    assert_eq!(response.status(), 500);
    assert_eq!(body_text(&response), "shaped 500");
    assert_eq!(response.header_value("x-outer"), Some("ran"));
    assert!(
        logged()
            .iter()
            .any(|line| line.contains("middleware exploded: secret 5678")
                && line.contains("/boom")
                && line.contains("closure")),
        "{:?}",
        logged()
    );
    assert_eq!(get(&app, "/"), (200, "hi".into()));
}

#[test]
fn a_panicking_outermost_layer_is_still_a_500() {
    let app = Router::new()
        .layer(|_: &mut Request, _: Next<'_>| -> Response { panic!("outermost") })
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/");
    assert_eq!(response.status(), 500);
    assert_eq!(error_json(&response)["error"], "Internal Server Error");
}

#[test]
fn a_layer_is_a_type_of_its_own_too() {
    struct Stamp(&'static str);
    impl Middleware for Stamp {
        fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
            let mut response = next.run(request);
            response.set_header("X-Stamp", self.0);
            response
        }
    }
    let app = Router::new()
        .get("/", || "hi")
        .layer(Stamp("v1"))
        .into_handler()
        .unwrap();
    assert_eq!(
        send(&app, Method::Get, "/").header_value("x-stamp"),
        Some("v1")
    );
}
