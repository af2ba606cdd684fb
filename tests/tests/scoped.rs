//! Layers on mounted routers, the server's refusals through the layers,
//! trailing-slash redirects, the state check and the CORS and proxy rules:
//! in process through `TestClient` (the server's own decoder and refusals,
//! no socket), then against the real `examples/api` over sockets
//! (`/admin/stats` behind its own layer, a 413 to an allowed origin, the
//! 308s, `Vary: Origin`).

mod common;

use std::sync::{Arc, Mutex};

use common::{Api, Response};
use sutegi::middleware::{Cors, RequestIds, TrustedProxies};
use sutegi::test::TestClient;
use sutegi::{Next, Request, Route, Router, State};

const ORIGIN: &str = "http://localhost:3000";

type Trace = Arc<Mutex<Vec<String>>>;

/// A layer that records `name` on the way in.
fn mark(
    name: &'static str,
    trace: &Trace,
) -> impl Fn(&mut Request, Next<'_>) -> sutegi::Response + Send + Sync + 'static {
    let trace = Arc::clone(trace);
    move |request: &mut Request, next: Next<'_>| {
        trace
            .lock()
            .unwrap()
            .push(format!("{name} {}", request.path()));
        next.run(request)
    }
}

#[test]
fn test_client_scoped_layers_run_outer_then_inner_and_only_on_their_routes() {
    let trace: Trace = Arc::default();
    let admin = Router::new()
        .get("/stats", || "stats")
        .layer(mark("admin", &trace));
    let client = TestClient::new(
        Router::new()
            .get("/", || "home")
            .mount("/admin", admin)
            .layer(mark("top", &trace)),
    );
    assert_eq!(client.get("/admin/stats").send().text(), "stats");
    assert_eq!(client.get("/").send().text(), "home");
    assert_eq!(client.get("/admin/nope").send().status(), 404);
    assert_eq!(
        *trace.lock().unwrap(),
        [
            "top /admin/stats",
            "admin /admin/stats",
            "top /",
            "top /admin/nope"
        ]
    );
}

#[test]
fn test_client_a_413_to_an_allowed_origin_carries_the_cors_headers_and_names_the_limit() {
    let app = Router::new()
        .route(
            Route::new(&[sutegi::Method::Post], "/upload", |body: Vec<u8>| {
                body.len().to_string()
            })
            .body_limit(8),
        )
        .layer(Cors::new().allow_origin(ORIGIN))
        .layer(RequestIds::new());
    let client = TestClient::new(app);
    let refused = client
        .post("/upload")
        .header("Origin", ORIGIN)
        .body(vec![b'x'; 9])
        .send();
    assert_eq!(refused.status(), 413);
    assert_eq!(refused.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(refused.header("vary"), Some("Origin"));
    assert!(refused.header("x-request-id").is_some());
    let error: serde_json::Value = refused.json();
    assert_eq!(
        error["message"],
        "the body exceeds this route's limit of 8 bytes"
    );
    // An unknown expectation is refused after the head too: same layers.
    let expect = client
        .post("/upload")
        .header("Origin", ORIGIN)
        .header("Expect", "something-else")
        .body("x")
        .send();
    assert_eq!(expect.status(), 417);
    assert_eq!(expect.header("access-control-allow-origin"), Some(ORIGIN));
}

#[test]
fn test_client_trailing_slashes_redirect_and_the_state_check_names_the_extractor() {
    let client = TestClient::new(Router::new().get("/notes", || "notes"));
    let moved = client.get("/notes/?page=2").send();
    assert_eq!(moved.status(), 308);
    assert_eq!(moved.header("location"), Some("/notes?page=2"));
    assert_eq!(client.post("/notes/").send().status(), 404);

    struct Config;
    struct NeedsConfig;
    impl<'r> sutegi::FromRequest<'r> for NeedsConfig {
        type Rejection = sutegi::Error;
        fn from_request(cx: &'r sutegi::RequestContext<'_>) -> Result<Self, sutegi::Error> {
            State::<Config>::from_request(cx).map(|_| NeedsConfig)
        }
        fn state_requirement() -> Option<sutegi::extract::StateRequirement> {
            State::<Config>::state_requirement()
        }
    }
    let refused = TestClient::try_new(Router::new().get("/", |_: NeedsConfig| "in"))
        .expect_err("the router lacks a state");
    let message = refused.to_string();
    assert!(
        message.contains("takes `NeedsConfig`, which needs the state `Config`"),
        "{message}"
    );
}

#[test]
fn test_client_cors_credentials_with_any_origin_and_proxy_ranges() {
    let refused = TestClient::try_new(
        Router::new().layer(Cors::new().allow_any_origin().allow_credentials(true)),
    )
    .expect_err("any origin with credentials is refused");
    assert!(
        refused.to_string().contains("allow_credentials(true)"),
        "{refused}"
    );

    let client = TestClient::new(
        Router::new()
            .get("/ip", |req: &Request| req.peer_addr().ip().to_string())
            .layer(TrustedProxies::new([]).range("10.0.0.0/8")),
    );
    let from = |peer: &str, forwarded: &str| {
        client
            .get("/ip")
            .peer_addr(format!("{peer}:4000").parse().unwrap())
            .header("X-Forwarded-For", forwarded)
            .send()
            .text()
            .to_owned()
    };
    assert_eq!(
        from("10.3.2.1", "203.0.113.9, bogus, 10.0.0.7"),
        "203.0.113.9"
    );
    assert_eq!(from("[::ffff:10.3.2.1]", "203.0.113.9"), "203.0.113.9");
    assert_eq!(from("192.0.2.1", "203.0.113.9"), "192.0.2.1");
}

/// `method target` with extra header lines on a fresh connection.
fn ask(api: &Api, method: &str, target: &str, fields: &str) -> Response {
    let mut conn = api.connect();
    conn.send_ok(format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{fields}\r\n").as_bytes());
    if method == "HEAD" {
        conn.head_response()
    } else {
        conn.response()
    }
}

#[test]
fn api_admin_stats_needs_the_admin_token_and_counts_users() {
    let api = Api::start();
    for fields in [
        "",
        "Authorization: Bearer wrong-token\r\n",
        "Authorization: Basic YWRtaW46YWRtaW4=\r\n",
        "Authorization: admin-token\r\n",
    ] {
        let r = ask(&api, "GET", "/admin/stats", fields);
        assert_eq!(r.status, 401, "{fields:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{fields:?}");
        let error = r.json();
        assert_eq!(error["error"], "Unauthorized", "{fields:?}");
        assert!(error["message"].is_string(), "{fields:?}");
    }
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = ask(
            &api,
            "GET",
            "/admin/stats",
            &format!("Authorization: {scheme} admin-token\r\n"),
        );
        assert_eq!(r.status, 200, "{scheme}");
        assert_eq!(r.json(), serde_json::json!({"users": 0}), "{scheme}");
    }
    for name in ["a", "b"] {
        let body = format!("{{\"name\":\"{name}\"}}");
        let mut conn = api.connect();
        conn.send_ok(
            format!(
                "POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        assert_eq!(conn.response().status, 201, "{}", conn.transcript());
    }
    let r = ask(
        &api,
        "GET",
        "/admin/stats",
        "Authorization: bearer admin-token\r\n",
    );
    assert_eq!(r.json(), serde_json::json!({"users": 2}));
    // The layer wraps nothing else: the other routes need no token.
    assert_eq!(ask(&api, "GET", "/json", "").status, 200);
    assert_eq!(ask(&api, "GET", "/users/3", "").status, 200);
}

#[test]
fn api_a_413_to_an_allowed_origin_carries_cors_and_a_request_id() {
    let api = Api::start();
    let mut conn = api.connect();
    // The head alone: the body is refused before it is sent.
    conn.send_ok(
        format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\nContent-Length: 3000000\r\n\r\n"
        )
        .as_bytes(),
    );
    let r = conn.response();
    assert_eq!(r.status, 413, "{}", conn.transcript());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{}",
        conn.transcript()
    );
    assert!(r.header("x-request-id").is_some(), "{}", conn.transcript());
    assert_eq!(
        r.json()["message"],
        "the body exceeds the server's limit of 2097152 bytes",
        "{}",
        conn.transcript()
    );
}

#[test]
fn api_trailing_slashes_answer_308_for_get_and_head_only() {
    let api = Api::start();
    for (method, target, location) in [
        ("GET", "/plaintext/", "/plaintext"),
        ("HEAD", "/json/", "/json"),
        ("GET", "/users/7/?x=1", "/users/7?x=1"),
        ("GET", "/admin/stats/", "/admin/stats"),
    ] {
        let r = ask(&api, method, target, "");
        assert_eq!(r.status, 308, "{method} {target}");
        assert_eq!(r.header("location"), Some(location), "{method} {target}");
    }
    for (method, target) in [("POST", "/echo/"), ("GET", "/users/"), ("GET", "/nope/")] {
        assert_eq!(
            ask(&api, method, target, "").status,
            404,
            "{method} {target}"
        );
    }
}

#[test]
fn api_vary_origin_goes_on_every_answer() {
    let api = Api::start();
    for fields in [
        format!("Origin: {ORIGIN}\r\n"),
        "Origin: http://evil.example\r\n".to_owned(),
        String::new(),
    ] {
        for target in ["/json", "/nope"] {
            let r = ask(&api, "GET", target, &fields);
            let varies = r.header_all("vary").iter().any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("origin"))
            });
            assert!(varies, "GET {target} with {fields:?}: {:?}", r.headers);
        }
    }
}
