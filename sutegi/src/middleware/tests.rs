//! The shipped middleware, in memory through `RouterHandler::handle`:
//! CORS (preflight, simple, refused origins, credentials, any origin,
//! streams), request ids (echo, validation, uniqueness, extension) and the
//! access log's line. The layer mechanics themselves (order,
//! short-circuit, panics) are tested with the router.

use super::access_log::access_line;
use super::cors::add_vary;
use super::request_id::is_valid_request_id;
use super::*;
use crate::extract::Extension;
use crate::router::{Router, RouterHandler};
use crate::server::{Handler, Method, Request, Response};
use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn send(app: &RouterHandler, method: Method, target: &str, headers: &[(&str, &str)]) -> Response {
    app.handle(Request::new(method, target, headers, Vec::new()))
}

fn body_text(response: &Response) -> String {
    String::from_utf8(response.body().as_bytes().expect("buffered").to_vec()).unwrap()
}

/// The `Access-Control-*` fields of a response.
fn cors_headers(response: &Response) -> Vec<(String, String)> {
    response
        .headers()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with("access-control-"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

const SITE: &str = "http://localhost:3000";

/// The reference API's CORS: one origin, GET and POST, `Content-Type`.
fn api_cors() -> Cors {
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

fn preflight<'a>(origin: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
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
        assert_eq!(simple.header_value("vary"), None, "{origin}");
        assert_eq!(
            simple.headers().collect::<Vec<_>>(),
            plain.headers().collect::<Vec<_>>()
        );

        // A refused preflight reaches the router: its automatic OPTIONS.
        let refused = send(&app, Method::Options, "/users", &preflight(origin, &[]));
        assert_eq!(refused.status(), 204, "{origin}");
        assert_eq!(refused.header_value("allow"), Some("POST, OPTIONS"));
        assert!(cors_headers(&refused).is_empty(), "{origin}");
    }
}

#[test]
fn requests_without_origin_are_untouched() {
    let app = app_with(api_cors());
    let response = send(&app, Method::Get, "/json", &[]);
    assert!(cors_headers(&response).is_empty());
    assert_eq!(response.header_value("vary"), None);
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

    // Any origin with credentials: the origin is echoed, never `*`.
    let any = app_with(Cors::new().allow_any_origin().allow_credentials(true));
    let response = send(
        &any,
        Method::Get,
        "/json",
        &[("Origin", "https://a.example")],
    );
    assert_eq!(
        response.header_value("access-control-allow-origin"),
        Some("https://a.example")
    );
    assert_eq!(response.header_value("vary"), Some("Origin"));
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

// ------------------------------------------------------------- request id

fn id_app() -> RouterHandler {
    Router::new()
        .get("/id", |Extension(id): Extension<RequestId>| id.to_string())
        .get("/sets-its-own", || {
            Response::text("x").header("X-Request-Id", "from-the-handler")
        })
        .layer(RequestIds::new())
        .into_handler()
        .unwrap()
}

#[test]
fn a_valid_request_id_is_echoed_and_given_to_handlers() {
    let app = id_app();
    let long = "x".repeat(128);
    for id in ["abc-123", "!", "~", long.as_str(), "a:b/c=d"] {
        let response = send(&app, Method::Get, "/id", &[("X-Request-Id", id)]);
        assert_eq!(response.header_value("x-request-id"), Some(id));
        assert_eq!(body_text(&response), id);
    }
    // On every response: a 404 too.
    let missing = send(&app, Method::Get, "/nope", &[("x-request-id", "r1")]);
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.header_value("x-request-id"), Some("r1"));
}

#[test]
fn an_invalid_request_id_is_replaced_by_a_fresh_one() {
    let app = id_app();
    let too_long = "x".repeat(129);
    for bad in ["", "with space", "tab\there", "é", too_long.as_str()] {
        let response = send(&app, Method::Get, "/id", &[("X-Request-Id", bad)]);
        let id = response.header_value("x-request-id").unwrap().to_owned();
        assert_ne!(id, bad.trim());
        assert!(is_valid_request_id(id.as_bytes()), "{id:?}");
        assert_eq!(body_text(&response), id);
    }
}

#[test]
fn a_handler_set_request_id_is_replaced_so_header_and_extension_agree() {
    let app = id_app();
    let response = send(
        &app,
        Method::Get,
        "/sets-its-own",
        &[("X-Request-Id", "mine")],
    );
    let ids: Vec<&str> = response
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-request-id"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(ids, ["mine"]);
}

#[test]
fn fresh_request_ids_are_unique_and_share_a_process_prefix() {
    let app = Arc::new(id_app());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let app = Arc::clone(&app);
            std::thread::spawn(move || {
                (0..500)
                    .map(|_| {
                        let response = send(&app, Method::Get, "/id", &[]);
                        response.header_value("x-request-id").unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    let prefixes: HashSet<&str> = ids.iter().map(|id| id.split('-').next().unwrap()).collect();
    assert_eq!(prefixes.len(), 1);
    let prefix = prefixes.into_iter().next().unwrap();
    assert_eq!(prefix.len(), 16);
    assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn request_id_validation_is_visible_ascii_of_1_to_128() {
    assert!(is_valid_request_id(b"a"));
    assert!(is_valid_request_id(&[0x21; 128]));
    assert!(is_valid_request_id(&[0x7E; 3]));
    assert!(!is_valid_request_id(b""));
    assert!(!is_valid_request_id(&[b'a'; 129]));
    assert!(!is_valid_request_id(b"a b"));
    assert!(!is_valid_request_id(&[0x7F]));
    assert!(!is_valid_request_id(&[0x20]));
    assert!(!is_valid_request_id("ü".as_bytes()));
}

// ------------------------------------------------------------- access log

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

#[test]
fn trusted_proxies_take_the_client_from_x_forwarded_for() {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let app = Router::new()
        .get("/ip", |req: &Request| req.peer_addr().ip().to_string())
        .layer(TrustedProxies::new([proxy]))
        .into_handler()
        .unwrap();
    let ask = |peer: IpAddr, forwarded: &[&str]| {
        let headers: Vec<(&str, &str)> =
            forwarded.iter().map(|v| ("X-Forwarded-For", *v)).collect();
        let mut request = Request::new(Method::Get, "/ip", &headers, Vec::new());
        request.set_peer_addr(SocketAddr::new(peer, 5000));
        body_text(&app.handle(request))
    };
    // From the proxy: the rightmost address that is not a proxy.
    assert_eq!(ask(proxy, &["198.51.100.7"]), "198.51.100.7");
    assert_eq!(
        ask(proxy, &["1.2.3.4, 198.51.100.7, 10.0.0.1"]),
        "198.51.100.7"
    );
    assert_eq!(ask(proxy, &["1.2.3.4", "198.51.100.7"]), "198.51.100.7");
    // A header from anyone else is ignored: clients can send it too.
    let stranger = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50));
    assert_eq!(ask(stranger, &["1.2.3.4"]), "192.0.2.50");
    // Garbage or nothing: the peer stays.
    assert_eq!(ask(proxy, &["not-an-ip"]), "10.0.0.1");
    assert_eq!(ask(proxy, &[]), "10.0.0.1");
}
