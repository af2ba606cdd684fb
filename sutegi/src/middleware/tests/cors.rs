//! CORS: preflights answered 204, simple requests decorated, other origins
//! and requests without `Origin` untouched, credentials, any origin,
//! exposed headers, `Vary` merging, streams kept streaming.

use super::*;
use crate::middleware::cors::add_vary;
use crate::router::RouterProblem;
use std::time::Duration;

/// The `Access-Control-*` fields of a response.
fn cors_headers(response: &Response) -> Vec<(String, String)> {
    response
        .headers()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with("access-control-"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

pub(super) const SITE: &str = "http://localhost:3000";

/// The reference API's CORS: one origin, GET and POST, `Content-Type`.
pub(super) fn api_cors() -> Cors {
    Cors::new()
        .allow_origin(SITE)
        .allow_methods(&[Method::Get, Method::Post])
        .allow_headers(["Content-Type"])
}

fn app_with(cors: Cors) -> RouterHandler {
    Router::new()
        .get("/json", || "{}")
        .post("/users", || "created")
        .get("/events", || Response::sse(|sink| sink.data("one")))
        .get("/varied", || {
            Response::text("v").header("Vary", "Accept-Encoding")
        })
        .layer(cors)
        .into_handler()
        .unwrap()
}

pub(super) fn preflight<'a>(
    origin: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("Origin", origin),
        ("Access-Control-Request-Method", "POST"),
    ];
    headers.extend_from_slice(extra);
    headers
}

#[test]
fn a_preflight_from_an_allowed_origin_is_answered_204() {
    let app = app_with(api_cors());
    let response = send(
        &app,
        Method::Options,
        "/users",
        &preflight(SITE, &[("Access-Control-Request-Headers", "content-type")]),
    );
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.header_value("access-control-allow-origin"),
        Some(SITE)
    );
    assert_eq!(
        response.header_value("access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(
        response.header_value("access-control-allow-headers"),
        Some("Content-Type")
    );
    assert_eq!(response.header_value("vary"), Some("Origin"));
    // No credentials and no max-age unless asked for.
    assert_eq!(
        response.header_value("access-control-allow-credentials"),
        None
    );
    assert_eq!(response.header_value("access-control-max-age"), None);
    // Answered by the layer, not the router's automatic OPTIONS.
    assert_eq!(response.header_value("allow"), None);
    assert_eq!(response.body().as_bytes(), Some(&b""[..]));
}

#[test]
fn a_preflight_is_answered_even_for_a_path_without_routes() {
    let app = app_with(api_cors());
    let response = send(&app, Method::Options, "/nowhere", &preflight(SITE, &[]));
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.header_value("access-control-allow-origin"),
        Some(SITE)
    );
}

#[test]
fn a_simple_request_from_an_allowed_origin_carries_the_origin_and_vary() {
    let app = app_with(api_cors());
    let response = send(&app, Method::Get, "/json", &[("Origin", SITE)]);
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(&response), "{}");
    assert_eq!(
        cors_headers(&response),
        [("Access-Control-Allow-Origin".to_owned(), SITE.to_owned())]
    );
    assert_eq!(response.header_value("vary"), Some("Origin"));
    // Errors too: the browser must be able to read a 404's body.
    let missing = send(&app, Method::Get, "/nope", &[("Origin", SITE)]);
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.header_value("access-control-allow-origin"),
        Some(SITE)
    );
}

#[test]
fn vary_is_merged_into_what_the_handler_set() {
    let app = app_with(api_cors());
    let response = send(&app, Method::Get, "/varied", &[("Origin", SITE)]);
    let varies: Vec<&str> = response
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("vary"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(varies, ["Accept-Encoding, Origin"]);

    let mut already = Response::new(200).header("Vary", "origin");
    add_vary(&mut already, "Origin");
    assert_eq!(already.header_value("vary"), Some("origin"));
    let mut star = Response::new(200).header("Vary", "*");
    add_vary(&mut star, "Origin");
    assert_eq!(star.header_value("vary"), Some("*"));
}

#[test]
fn another_origin_gets_no_cors_headers_and_the_plain_answer() {
    let app = app_with(api_cors());
    for origin in [
        "http://evil.example",
        "http://localhost:3001",
        "https://localhost:3000",
        "http://localhost:3000/",
        "null",
    ] {
        let simple = send(&app, Method::Get, "/json", &[("Origin", origin)]);
        let plain = send(&app, Method::Get, "/json", &[]);
        assert_eq!(simple.status(), 200);
        assert!(cors_headers(&simple).is_empty(), "{origin}");
        // The answer depends on `Origin` all the same: a cache keys on it.
        assert_eq!(simple.header_value("vary"), Some("Origin"), "{origin}");
        assert_eq!(
            simple.headers().collect::<Vec<_>>(),
            plain.headers().collect::<Vec<_>>()
        );

        // A refused preflight reaches the router: its automatic OPTIONS.
        let refused = send(&app, Method::Options, "/users", &preflight(origin, &[]));
        assert_eq!(refused.status(), 204, "{origin}");
        assert_eq!(refused.header_value("allow"), Some("POST, OPTIONS"));
        assert!(cors_headers(&refused).is_empty(), "{origin}");
        assert_eq!(refused.header_value("vary"), Some("Origin"), "{origin}");
    }
}

#[test]
fn requests_without_origin_are_untouched() {
    let app = app_with(api_cors());
    let response = send(&app, Method::Get, "/json", &[]);
    assert!(cors_headers(&response).is_empty());
    // No CORS headers, but `Vary: Origin`: with the header the answer
    // would differ, so a shared cache must not reuse this one for it.
    assert_eq!(response.header_value("vary"), Some("Origin"));
    // An OPTIONS without `Access-Control-Request-Method` is no preflight.
    let options = send(&app, Method::Options, "/json", &[("Origin", SITE)]);
    assert_eq!(options.header_value("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(
        options.header_value("access-control-allow-origin"),
        Some(SITE)
    );
    assert_eq!(options.header_value("access-control-allow-methods"), None);
}

#[test]
fn credentials_are_opt_in_and_never_with_a_star() {
    let app = app_with(
        api_cors()
            .allow_credentials(true)
            .max_age(Duration::from_secs(600)),
    );
    let preflight = send(&app, Method::Options, "/users", &preflight(SITE, &[]));
    assert_eq!(
        preflight.header_value("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        preflight.header_value("access-control-max-age"),
        Some("600")
    );
    let simple = send(&app, Method::Get, "/json", &[("Origin", SITE)]);
    assert_eq!(
        simple.header_value("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        simple.header_value("access-control-allow-origin"),
        Some(SITE)
    );
}

#[test]
fn any_origin_with_credentials_is_refused_when_the_router_is_built() {
    let cors = Cors::new().allow_any_origin().allow_credentials(true);
    let error = Router::new()
        .get("/json", || "{}")
        .layer(cors)
        .into_handler()
        .unwrap_err();
    assert!(
        matches!(error.problems(), [RouterProblem::InvalidMiddleware { layer, .. }] if layer == "Cors"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("allow_any_origin()") && message.contains("every site"),
        "{message}"
    );
    // `serve` refuses it the same way, before binding.
    let refused = crate::server::IntoHandler::into_server_handler(
        Router::new().layer(Cors::new().allow_credentials(true).allow_any_origin()),
    )
    .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    // Either alone is fine.
    assert!(Router::new()
        .layer(Cors::new().allow_any_origin())
        .into_handler()
        .is_ok());
    assert!(Router::new()
        .layer(api_cors().allow_credentials(true))
        .into_handler()
        .is_ok());
}

#[test]
fn vary_origin_goes_on_every_answer_unless_any_origin_is_allowed() {
    let app = app_with(api_cors());
    let answers = [
        send(&app, Method::Get, "/json", &[("Origin", SITE)]),
        send(
            &app,
            Method::Get,
            "/json",
            &[("Origin", "http://evil.example")],
        ),
        send(&app, Method::Get, "/json", &[]),
        send(&app, Method::Get, "/nope", &[]),
        send(&app, Method::Options, "/users", &preflight(SITE, &[])),
        send(&app, Method::Options, "/users", &preflight("null", &[])),
    ];
    for answer in &answers {
        assert_eq!(answer.header_value("vary"), Some("Origin"), "{answer:?}");
    }
    let any = app_with(Cors::new().allow_any_origin());
    let answer = send(&any, Method::Get, "/json", &[("Origin", SITE)]);
    assert_eq!(
        answer.header_value("access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(answer.header_value("vary"), None);
}

#[test]
fn any_origin_without_credentials_is_a_star() {
    let app = app_with(Cors::new().allow_any_origin());
    let response = send(
        &app,
        Method::Get,
        "/json",
        &[("Origin", "https://a.example")],
    );
    assert_eq!(
        response.header_value("access-control-allow-origin"),
        Some("*")
    );
    let preflight = send(
        &app,
        Method::Options,
        "/json",
        &preflight("https://b.example", &[]),
    );
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.header_value("access-control-allow-origin"),
        Some("*")
    );
    // Defaults: GET, HEAD, POST; no extra request headers.
    assert_eq!(
        preflight.header_value("access-control-allow-methods"),
        Some("GET, HEAD, POST")
    );
    assert_eq!(preflight.header_value("access-control-allow-headers"), None);
    // `"*"` given as an origin means the same.
    let star = app_with(Cors::new().allow_origin("*"));
    let response = send(
        &star,
        Method::Get,
        "/json",
        &[("Origin", "https://c.example")],
    );
    assert_eq!(
        response.header_value("access-control-allow-origin"),
        Some("*")
    );
}

#[test]
fn origins_are_listed_exactly_and_a_trailing_slash_is_forgiven() {
    let app = app_with(Cors::new().allow_origins(["https://a.example/", "https://b.example"]));
    for (origin, allowed) in [
        ("https://a.example", true),
        ("https://b.example", true),
        ("https://c.example", false),
        ("https://A.example", false),
    ] {
        let response = send(&app, Method::Get, "/json", &[("Origin", origin)]);
        assert_eq!(
            response
                .header_value("access-control-allow-origin")
                .is_some(),
            allowed,
            "{origin}"
        );
    }
    // An empty layer allows nobody.
    let nobody = app_with(Cors::new());
    assert!(cors_headers(&send(&nobody, Method::Get, "/json", &[("Origin", SITE)])).is_empty());
}

#[test]
fn any_header_mirrors_what_the_preflight_asks() {
    let app = app_with(Cors::new().allow_origin(SITE).allow_any_header());
    let response = send(
        &app,
        Method::Options,
        "/users",
        &preflight(SITE, &[("Access-Control-Request-Headers", "x-a, x-b")]),
    );
    assert_eq!(
        response.header_value("access-control-allow-headers"),
        Some("x-a, x-b")
    );
    assert_eq!(
        response.header_value("vary"),
        Some("Origin, Access-Control-Request-Headers")
    );
}

#[test]
fn exposed_headers_are_listed_on_allowed_responses() {
    let app = app_with(api_cors().expose_headers(["X-Request-Id", " Location "]));
    let response = send(&app, Method::Get, "/json", &[("Origin", SITE)]);
    assert_eq!(
        response.header_value("access-control-expose-headers"),
        Some("X-Request-Id, Location")
    );
}

#[test]
fn cors_keeps_streams_streaming() {
    let app = app_with(api_cors());
    let response = send(&app, Method::Get, "/events", &[("Origin", SITE)]);
    assert!(response.body().is_stream());
    assert_eq!(
        response.header_value("content-type"),
        Some("text/event-stream")
    );
    assert_eq!(
        response.header_value("access-control-allow-origin"),
        Some(SITE)
    );
}
