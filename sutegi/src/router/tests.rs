//! Router tests, in memory (no sockets): matching, mounting, 404 / 405 /
//! `HEAD` / `OPTIONS`, fallbacks, conflicts and the other build checks,
//! states, body limits, panics, the error shape, reverse routing, and
//! routes written with the attribute macros.

use super::*;
use crate::extract::{Json, Path, Query, State};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

fn send(app: &RouterHandler, method: Method, target: &str) -> Response {
    app.handle(Request::new(method, target, &[], Vec::new()))
}

fn body_text(response: &Response) -> String {
    String::from_utf8(
        response
            .body()
            .as_bytes()
            .expect("a buffered body")
            .to_vec(),
    )
    .unwrap()
}

fn get(app: &RouterHandler, target: &str) -> (u16, String) {
    let response = send(app, Method::Get, target);
    (response.status(), body_text(&response))
}

fn error_json(response: &Response) -> serde_json::Value {
    assert_eq!(
        response.header_value("content-type"),
        Some("application/json")
    );
    serde_json::from_str(&body_text(response)).expect("the error shape is JSON")
}

fn problems(router: Router) -> Vec<RouterProblem> {
    router
        .into_handler()
        .expect_err("the router has problems")
        .problems()
        .to_vec()
}

#[test]
fn matches_static_captured_and_catch_all_paths() {
    let app = Router::new()
        .get("/", || "root")
        .get("/users", || "list")
        .get("/users/{id}", |Path(id): Path<String>| format!("user {id}"))
        .get("/users/{id}/posts", |Path(id): Path<u32>| {
            format!("posts of {id}")
        })
        .get("/files/{*path}", |Path(path): Path<String>| {
            format!("file {path}")
        })
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/"), (200, "root".into()));
    assert_eq!(get(&app, "/users"), (200, "list".into()));
    assert_eq!(get(&app, "/users/7?x=1"), (200, "user 7".into()));
    assert_eq!(get(&app, "/users/007/posts"), (200, "posts of 7".into()));
    assert_eq!(
        get(&app, "/files/a/b%20c.txt"),
        (200, "file a/b c.txt".into())
    );
    // Matching is on the raw path: `%2F` stays inside the capture.
    assert_eq!(get(&app, "/users/a%2Fb"), (200, "user a/b".into()));
    assert_eq!(get(&app, "/users/a%2Fb/posts").0, 400);
    assert_eq!(get(&app, "/users/").0, 404);
    assert_eq!(get(&app, "/users/7/").0, 404);
    assert_eq!(get(&app, "/files/").0, 404);
    assert_eq!(get(&app, "/nope").0, 404);
}

#[test]
fn not_found_is_the_json_error_shape() {
    let app = Router::new().into_handler().unwrap();
    let response = send(&app, Method::Get, "/nope?q=1");
    assert_eq!(response.status(), 404);
    let json = error_json(&response);
    assert_eq!(json["error"], "Not Found");
    assert_eq!(json["message"], "no route matches /nope");
}

#[test]
fn another_method_is_a_405_with_allow() {
    let app = Router::new()
        .get("/users", || "list")
        .post("/users", || "made")
        .delete("/users/{id}", || "gone")
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Put, "/users");
    assert_eq!(response.status(), 405);
    assert_eq!(
        response.header_value("allow"),
        Some("GET, HEAD, POST, OPTIONS")
    );
    let json = error_json(&response);
    assert_eq!(json["error"], "Method Not Allowed");
    assert!(json["message"].as_str().unwrap().contains("PUT"));
    let response = send(&app, Method::Get, "/users/1");
    assert_eq!(response.status(), 405);
    assert_eq!(response.header_value("allow"), Some("DELETE, OPTIONS"));
    assert_eq!(send(&app, Method::Trace, "/users").status(), 405);
}

#[test]
fn head_is_answered_by_get_unless_claimed() {
    let app = Router::new()
        .get("/a", || "from get")
        .get("/b", || "from get")
        .head("/b", || (Status::ACCEPTED, ""))
        .post("/c", || "post only")
        .into_handler()
        .unwrap();
    // The router hands the full GET response over; the server writes its
    // head (with the body's length) and drops the body.
    let response = send(&app, Method::Head, "/a");
    assert_eq!(
        (response.status(), body_text(&response)),
        (200, "from get".into())
    );
    assert_eq!(send(&app, Method::Head, "/b").status(), 202);
    let response = send(&app, Method::Head, "/c");
    assert_eq!(response.status(), 405);
    assert_eq!(response.header_value("allow"), Some("POST, OPTIONS"));
}

#[test]
fn unclaimed_options_answers_204_with_allow() {
    let app = Router::new()
        .get("/a", || "a")
        .put("/a", || "a")
        .options("/b", || (Status::OK, "custom"))
        .patch("/c", || "c")
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Options, "/a");
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.header_value("allow"),
        Some("GET, HEAD, PUT, OPTIONS")
    );
    assert_eq!(body_text(&response), "");
    assert_eq!(get(&app, "/b").0, 405);
    let response = send(&app, Method::Options, "/b");
    assert_eq!(
        (response.status(), body_text(&response)),
        (200, "custom".into())
    );
    assert_eq!(send(&app, Method::Options, "/nope").status(), 404);
    let response = send(&app, Method::Options, "*");
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.header_value("allow"),
        Some("GET, HEAD, PUT, PATCH, OPTIONS")
    );
}

#[test]
fn several_methods_share_one_route() {
    let app = Router::new()
        .on(&[Method::Get, Method::Post], "/slow", |req: &Request| {
            req.method().to_string()
        })
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/slow").1, "GET");
    assert_eq!(body_text(&send(&app, Method::Post, "/slow")), "POST");
    let response = send(&app, Method::Delete, "/slow");
    assert_eq!(
        response.header_value("allow"),
        Some("GET, HEAD, POST, OPTIONS")
    );
}

#[test]
fn mounting_prefixes_paths() {
    let admin = Router::new()
        .get("/", || "admin home")
        .get("/stats", || "stats")
        .mount("/deep", Router::new().get("/er", || "deeper"));
    let orgs = Router::new().get("/members/{id}", |Path((org, id)): Path<(String, u32)>| {
        format!("{org}:{id}")
    });
    let app = Router::new()
        .get("/", || "home")
        .mount("/admin/", admin)
        .mount("/orgs/{org}", orgs)
        .mount("/", Router::new().get("/top", || "top"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/"), (200, "home".into()));
    assert_eq!(get(&app, "/admin"), (200, "admin home".into()));
    assert_eq!(get(&app, "/admin/stats"), (200, "stats".into()));
    assert_eq!(get(&app, "/admin/deep/er"), (200, "deeper".into()));
    assert_eq!(get(&app, "/orgs/acme/members/3"), (200, "acme:3".into()));
    assert_eq!(get(&app, "/top"), (200, "top".into()));
    assert_eq!(get(&app, "/stats").0, 404);
}

#[test]
fn a_bad_mount_prefix_is_reported_with_its_location() {
    let line = line!() + 1;
    let router = Router::new().mount("admin", Router::new());
    let found = problems(router.mount("/x/{*rest}", Router::new()));
    assert_eq!(found.len(), 2);
    match &found[0] {
        RouterProblem::InvalidPrefix {
            prefix, location, ..
        } => {
            assert_eq!(prefix, "admin");
            assert_eq!((location.file(), location.line()), (file!(), line));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(found[1].to_string().contains("catch-all"));
}

#[test]
fn fallbacks_answer_unmatched_paths_under_their_prefix() {
    let api = Router::new()
        .get("/users", || "users")
        .fallback(|req: &Request| format!("api fallback for {}", req.path()));
    let app = Router::new()
        .get("/", || "home")
        .mount("/api", api)
        .fallback(|| (Status::NOT_FOUND, "site fallback"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/api/users"), (200, "users".into()));
    assert_eq!(
        get(&app, "/api/nope/deeper"),
        (200, "api fallback for /api/nope/deeper".into())
    );
    assert_eq!(get(&app, "/api"), (200, "api fallback for /api".into()));
    assert_eq!(get(&app, "/api/"), (200, "api fallback for /api/".into()));
    assert_eq!(get(&app, "/apix"), (404, "site fallback".into()));
    assert_eq!(get(&app, "/elsewhere"), (404, "site fallback".into()));
    // A path some route takes with another method stays a 405.
    assert_eq!(send(&app, Method::Post, "/api/users").status(), 405);
}

#[test]
fn same_path_and_method_twice_is_a_conflict_naming_both() {
    let first_line = line!() + 2;
    let router = Router::new()
        .get("/users/{id}", || "one")
        .post("/users/{id}", || "fine: another method")
        .get("/users/{id}", || "two");
    let found = problems(router);
    assert_eq!(found.len(), 1, "{found:?}");
    match &found[0] {
        RouterProblem::Conflict { route, existing } => {
            assert_eq!(existing.location.line(), first_line);
            assert_eq!(route.location.line(), first_line + 2);
            assert_eq!(route.path, "/users/{id}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = found[0].to_string();
    assert!(
        message.contains(&format!("{}:{}", file!(), first_line)),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}:{}", file!(), first_line + 2)),
        "{message}"
    );
}

#[test]
fn captures_named_differently_at_one_position_are_refused() {
    let found = problems(
        Router::new()
            .get("/users/{id}", || "a")
            .get("/users/{name}/posts", || "b"),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    match &found[0] {
        RouterProblem::CaptureNames {
            route,
            existing,
            name,
            existing_name,
        } => {
            assert_eq!(
                (route.path.as_str(), existing.path.as_str()),
                ("/users/{name}/posts", "/users/{id}")
            );
            assert_eq!((name.as_str(), existing_name.as_str()), ("name", "id"));
        }
        other => panic!("unexpected {other:?}"),
    }
    // The same shape with another name, even for another method.
    let found = problems(
        Router::new()
            .get("/users/{id}", || "a")
            .delete("/users/{user}", || "b"),
    );
    assert!(
        matches!(&found[..], [RouterProblem::CaptureNames { .. }]),
        "{found:?}"
    );
    // A mount prefix counts too.
    let found = problems(
        Router::new()
            .get("/orgs/{org}", || "a")
            .mount("/orgs/{name}", Router::new().get("/members", || "b")),
    );
    assert!(
        matches!(&found[..], [RouterProblem::CaptureNames { .. }]),
        "{found:?}"
    );
    // Same names are fine, and so are static segments beside captures.
    let ok = Router::new()
        .get("/users/{id}", || "a")
        .get("/users/{id}/posts/{post}", || "b")
        .get("/users/me", || "c")
        .get("/users/{id}/{*rest}", || "d");
    ok.into_handler().unwrap();
}

#[test]
fn invalid_paths_are_reported() {
    let found = problems(
        Router::new()
            .get("/a/{", || "")
            .get("/b/{x}-{y}", || "")
            .get("/c/{*rest}/d", || "")
            .get("no-slash", || "")
            .on(&[], "/e", || ""),
    );
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(found
        .iter()
        .all(|p| matches!(p, RouterProblem::InvalidPath { .. })));
    let text: Vec<String> = found.iter().map(|p| p.to_string()).collect();
    assert!(text[0].contains("`{name}`"), "{}", text[0]);
    assert!(
        text[1].contains("one capture is allowed per path segment"),
        "{}",
        text[1]
    );
    assert!(text[2].contains("catch-all"), "{}", text[2]);
    assert!(text[3].contains("does not start with `/`"), "{}", text[3]);
    assert!(text[4].contains("no method"), "{}", text[4]);
}

#[test]
fn every_problem_is_reported_at_once() {
    struct Db;
    let router = Router::new()
        .get("/a", || "")
        .get("/a", || "")
        .get("/db", |_: State<Db>| "")
        .get("/x/{", || "");
    let error = router.into_handler().unwrap_err();
    assert_eq!(error.problems().len(), 3);
    let text = error.to_string();
    assert!(
        text.starts_with("the router cannot be built (3 problems):"),
        "{text}"
    );
    assert!(text.contains("add `.with_state(value)`"), "{text}");
}

#[test]
fn serve_refuses_a_bad_router_as_invalid_input() {
    let error = Router::new()
        .get("/a", || "")
        .get("/a", || "")
        .into_server_handler()
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("conflicts with"));
}

struct Counter {
    hits: AtomicU64,
}

#[test]
fn states_are_shared_and_checked() {
    let app = Router::new()
        .get("/hit", |counter: State<Counter>| {
            (counter.hits.fetch_add(1, Ordering::Relaxed) + 1).to_string()
        })
        .get("/name", |name: State<String>| name.to_string())
        .with_state(Counter {
            hits: AtomicU64::new(0),
        })
        .with_state(String::from("first"))
        .with_state(String::from("replaced"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/hit").1, "1");
    assert_eq!(get(&app, "/hit").1, "2");
    assert_eq!(get(&app, "/name").1, "replaced");

    let found = problems(Router::new().get("/hit", |_: State<Counter>| ""));
    match &found[..] {
        [RouterProblem::MissingState { route, type_name }] => {
            assert!(type_name.ends_with("Counter"));
            assert_eq!(route.path, "/hit");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Option<State<T>> does not require it.
    let app = Router::new()
        .get("/maybe", |c: Option<State<Counter>>| {
            c.is_some().to_string()
        })
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/maybe").1, "false");
}

#[test]
fn mounted_states_are_scoped_nearest_first() {
    let inner = Router::new()
        .get("/name", |name: State<String>| name.to_string())
        .get("/n", |n: State<u32>| n.to_string())
        .with_state(String::from("inner"));
    let app = Router::new()
        .get("/name", |name: State<String>| name.to_string())
        .mount("/in", inner)
        .with_state(String::from("outer"))
        .with_state(7u32)
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/name").1, "outer");
    assert_eq!(get(&app, "/in/name").1, "inner");
    assert_eq!(get(&app, "/in/n").1, "7");

    // An inner state does not serve the outer routes.
    let found = problems(
        Router::new()
            .get("/n", |n: State<u32>| n.to_string())
            .mount("/in", Router::new().with_state(1u32)),
    );
    assert!(
        matches!(&found[..], [RouterProblem::MissingState { .. }]),
        "{found:?}"
    );
}

#[test]
fn body_limits_come_from_the_route_then_its_routers() {
    let uploads = Router::new()
        .post("/big", || "")
        .route(Route::new(&[Method::Post], "/small", || "").body_limit(10))
        .body_limit(1 << 20);
    let app = Router::new()
        .route(Route::new(&[Method::Post, Method::Get], "/one", || "").body_limit(64 << 20))
        .post("/plain", || "")
        .mount("/up", uploads)
        .into_handler()
        .unwrap();
    assert_eq!(app.body_limit(Method::Post, "/one"), Some(64 << 20));
    assert_eq!(app.body_limit(Method::Head, "/one"), Some(64 << 20));
    assert_eq!(app.body_limit(Method::Post, "/plain"), None);
    assert_eq!(app.body_limit(Method::Post, "/up/big"), Some(1 << 20));
    assert_eq!(app.body_limit(Method::Post, "/up/small"), Some(10));
    assert_eq!(app.body_limit(Method::Put, "/one"), None);
    assert_eq!(app.body_limit(Method::Post, "/nope"), None);

    let app = Router::new()
        .post("/x", || "")
        .body_limit(5)
        .into_handler()
        .unwrap();
    assert_eq!(app.body_limit(Method::Post, "/x"), Some(5));
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

fn logged() -> Vec<String> {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
    LOGGER.0.lock().unwrap().clone()
}

#[test]
fn a_panic_is_a_500_that_keeps_its_message_in_the_log() {
    logged();
    let app = Router::new()
        .get("/panic", || -> &'static str {
            panic!("panicked on purpose: secret 1234")
        })
        .get("/ok", || "fine")
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/panic");
    assert_eq!(response.status(), 500);
    let body = body_text(&response);
    assert!(
        !body.contains("secret") && !body.contains("purpose"),
        "{body}"
    );
    assert_eq!(error_json(&response)["error"], "Internal Server Error");
    assert!(
        logged().iter().any(
            |line| line.contains("panicked on purpose: secret 1234") && line.contains("/panic")
        ),
        "{:?}",
        logged()
    );
    assert_eq!(get(&app, "/ok"), (200, "fine".into()));
}

#[test]
fn refusals_use_the_router_error_shape() {
    let default = Router::new().into_handler().unwrap();
    let response = default.refuse(413, "the body is over 2097152 bytes");
    assert_eq!(response.status(), 413);
    let json = error_json(&response);
    assert_eq!(json["error"], "Content Too Large");
    assert_eq!(json["message"], "the body is over 2097152 bytes");

    let app = Router::new()
        .get("/json", |Json(v): Json<serde_json::Value>| v.to_string())
        .get("/panic", || -> &'static str { panic!("x") })
        .get("/err", || {
            Err::<&str, _>(Error::new(Status::CONFLICT, "taken"))
        })
        .error_shape(|e: &Error| {
            Response::with_body(
                e.status().as_u16(),
                format!("{}|{}", e.status().as_u16(), e.message()),
            )
        })
        .into_handler()
        .unwrap();
    assert_eq!(
        get(&app, "/nope"),
        (404, "404|no route matches /nope".into())
    );
    let response = send(&app, Method::Post, "/json");
    assert_eq!(
        body_text(&response),
        "405|POST is not allowed on this path; it takes GET, HEAD, OPTIONS"
    );
    assert_eq!(response.header_value("allow"), Some("GET, HEAD, OPTIONS"));
    let (status, body) = get(&app, "/json");
    assert_eq!((status, body.starts_with("415|")), (415, true), "{body}");
    assert!(get(&app, "/panic").1.starts_with("500|"));
    assert_eq!(get(&app, "/err"), (409, "409|taken".into()));
    assert_eq!(body_text(&app.refuse(408, "too slow")), "408|too slow");
    // Outside a request the default shape is back.
    assert!(Error::bad_request("x")
        .into_response()
        .header_value("content-type")
        .is_some());
}

#[test]
fn a_mounted_error_shape_serves_when_the_parent_has_none() {
    let inner = Router::new()
        .error_shape(|e: &Error| Response::with_body(e.status().as_u16(), "inner shape"));
    let app = Router::new().mount("/x", inner).into_handler().unwrap();
    assert_eq!(get(&app, "/nope"), (404, "inner shape".into()));
}

#[test]
fn shutdown_is_remembered() {
    let app = Router::new().into_handler().unwrap();
    assert!(!app.is_shutting_down());
    app.shutdown_started();
    assert!(app.is_shutting_down());
}

#[test]
fn closures_take_up_to_eight_extractors_and_a_request() {
    #[derive(serde::Deserialize)]
    struct Q {
        a: u32,
    }
    let app = Router::new()
        .get("/zero", || "0")
        .get(
            "/eight/{id}",
            |Path(id): Path<u32>,
             q: Query<Q>,
             _h: crate::Headers,
             s: State<u32>,
             _l: Option<crate::LastEventId>,
             _e: Option<crate::Extension<u8>>,
             _r: Result<Json<u8>, Error>,
             _p: Option<Path<String>>| format!("{}", id + q.a + *s),
        )
        .post(
            "/req/{id}",
            |req: &Request, Path(id): Path<u32>, body: String| {
                format!("{} {id} {body}", req.method())
            },
        )
        .with_state(100u32)
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/zero").1, "0");
    assert_eq!(get(&app, "/eight/1?a=2"), (200, "103".into()));
    let response = app.handle(Request::new(Method::Post, "/req/5", &[], b"hi".to_vec()));
    assert_eq!(body_text(&response), "POST 5 hi");
}

#[test]
fn a_closure_reading_the_body_twice_is_refused() {
    let found = problems(Router::new().post("/x", |_a: String, _b: Vec<u8>| ""));
    assert!(
        matches!(&found[..], [RouterProblem::SeveralBodyReaders { .. }]),
        "{found:?}"
    );
}

#[test]
fn extractor_refusals_come_back_as_responses() {
    #[derive(serde::Deserialize)]
    struct Search {
        #[allow(dead_code)]
        q: String,
        #[allow(dead_code)]
        limit: Option<u32>,
    }
    let app = Router::new()
        .get("/users/{id}", |Path(id): Path<u64>| id.to_string())
        .get("/search", |_: Query<Search>| "ok")
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/users/abc");
    assert_eq!(response.status(), 400);
    assert_eq!(
        error_json(&response)["message"],
        "path parameter `id` is not a valid u64"
    );
    let response = send(&app, Method::Get, "/search?q=x&limit=many");
    assert_eq!(response.status(), 400);
    assert!(error_json(&response)["message"]
        .as_str()
        .unwrap()
        .contains("`limit`"));
    assert_eq!(get(&app, "/search?q=x&q=y").0, 400);
}

#[test]
fn url_for_adds_mount_prefixes() {
    let user = || Route::new(&[Method::Get], "/users/{id}", || "");
    let files = || Route::new(&[Method::Get], "/files/{*path}", || "");
    let members = || Route::new(&[Method::Get], "/members/{id}", || "");
    let router = Router::new()
        .mount("/admin", Router::new().route(user()))
        .route(files())
        .mount("/orgs/{org}", Router::new().route(members()));
    assert_eq!(router.url_for(user(), &[&42]).unwrap(), "/admin/users/42");
    assert_eq!(
        router.url_for(user(), &[&"a b/c"]).unwrap(),
        "/admin/users/a%20b%2Fc"
    );
    assert_eq!(
        router.url_for(files(), &[&"a/b c.txt"]).unwrap(),
        "/files/a/b%20c.txt"
    );
    assert_eq!(
        router.url_for(members(), &[&"acme", &3]).unwrap(),
        "/orgs/acme/members/3"
    );
    assert_eq!(
        router.url_for(user(), &[]),
        Err(UrlError::WrongArgumentCount {
            path: "/admin/users/{id}".into(),
            expected: 1,
            given: 0
        })
    );
    let elsewhere = Route::new(&[Method::Get], "/users/{id}", || "");
    assert!(matches!(
        router.url_for(elsewhere, &[&1]),
        Err(UrlError::NotInRouter { .. })
    ));

    let twice = Router::new()
        .mount("/a", Router::new().route(user()))
        .mount("/b", Router::new().route(user()));
    assert!(matches!(
        twice.url_for(user(), &[&1]),
        Err(UrlError::Ambiguous { .. })
    ));

    let handler = router.into_handler().unwrap();
    assert_eq!(handler.url_for(user(), &[&7]).unwrap(), "/admin/users/7");
}

#[test]
fn path_builder_encodes_each_capture_as_one_segment() {
    let build = |value: &str| {
        build_path(&[
            PathPiece::Literal("/u/"),
            PathPiece::Capture(&value),
            PathPiece::Literal("/x"),
        ])
    };
    assert_eq!(build("42"), "/u/42/x");
    assert_eq!(build("a b"), "/u/a%20b/x");
    assert_eq!(build("a/b?c#d%"), "/u/a%2Fb%3Fc%23d%25/x");
    assert_eq!(build("é"), "/u/%C3%A9/x");
    assert_eq!(build("."), "/u/%2E/x");
    assert_eq!(build(".."), "/u/%2E%2E/x");
    assert_eq!(
        build("a.b-c_d~e!$&'()*+,;=:@"),
        "/u/a.b-c_d~e!$&'()*+,;=:@/x"
    );
    let rest = build_path(&[PathPiece::Literal("/f/"), PathPiece::CatchAll(&"a/../b c/")]);
    assert_eq!(rest, "/f/a/%2E%2E/b%20c/");
}

#[test]
fn built_paths_route_back_to_their_values() {
    let app = Router::new()
        .get("/u/{name}", |Path(name): Path<String>| name)
        .get("/f/{*rest}", |Path(rest): Path<String>| rest)
        .into_handler()
        .unwrap();
    for value in ["plain", "a b", "a/b", "100%", "é?#", "..", "{x}"] {
        let path = build_path(&[PathPiece::Literal("/u/"), PathPiece::Capture(&value)]);
        assert_eq!(get(&app, &path), (200, value.to_owned()), "{path}");
    }
    let path = build_path(&[
        PathPiece::Literal("/f/"),
        PathPiece::CatchAll(&"dir/a b.txt"),
    ]);
    assert_eq!(get(&app, &path), (200, "dir/a b.txt".to_owned()));
}

#[test]
fn pattern_parsing_handles_escaped_braces() {
    assert_eq!(
        parse_pattern("/a{{b}}/{id}x/{*rest}"),
        vec![
            PatternPiece::Literal("/a{b}/".into()),
            PatternPiece::Capture("id"),
            PatternPiece::Literal("x/".into()),
            PatternPiece::CatchAll("rest"),
        ]
    );
    assert_eq!(normalized("/a/{id}/b/{*r}"), "/a/{}/b/{*}");
    assert_eq!(normalized("/a{{"), "/a{{");
}

#[test]
fn routing_cost_does_not_grow_with_the_table() {
    // matchit walks a radix tree: the same lookup in a table of 10,000 routes
    // takes about as long as in a table of 10. A loose bound keeps this
    // stable on a loaded machine.
    fn time_lookups(routes: usize) -> std::time::Duration {
        let mut router = Router::new();
        for i in 0..routes {
            router = router.get(format!("/r{i}/items/{{id}}"), || "");
        }
        let app = router
            .get("/target/items/{id}", || "hit")
            .into_handler()
            .unwrap();
        let request = Request::new(Method::Get, "/target/items/42", &[], Vec::new());
        let start = std::time::Instant::now();
        for _ in 0..2_000 {
            std::hint::black_box(app.matcher.at(std::hint::black_box(request.path())).is_ok());
        }
        start.elapsed()
    }
    let small = time_lookups(10);
    let large = time_lookups(10_000);
    assert!(
        large < small * 20 + std::time::Duration::from_millis(5),
        "{small:?} vs {large:?}"
    );
}

/// The same router behaviour through the route attributes and `routes!`,
/// as users write it (the macros name `::sutegi`, which
/// `extern crate self as sutegi` makes work inside this crate).
mod with_macros {
    use super::*;
    use crate::{
        get, post, route, routes, sse, Body, Json, LastEventId, Query, SseSink, State, StreamSink,
    };
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    struct NewUser {
        name: String,
    }

    #[derive(Serialize)]
    struct User {
        id: u64,
        name: String,
    }

    #[derive(Deserialize)]
    struct Ticks {
        n: Option<u32>,
    }

    #[get("/users/{id}")]
    fn user(id: u64) -> Json<User> {
        Json(User {
            id,
            name: format!("user{id}"),
        })
    }

    #[post("/users", body_limit = "1KiB")]
    fn create(
        Json(new): Json<NewUser>,
        ids: State<AtomicU64>,
    ) -> (Status, [(&'static str, String); 1], Json<User>) {
        let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
        (
            Status::CREATED,
            [("Location", user::path(id))],
            Json(User { id, name: new.name }),
        )
    }

    #[get("/files/{*path}")]
    fn file(path: String) -> String {
        path
    }

    #[route("/slow", method = "GET", method = "POST")]
    fn slow(req: &Request) -> String {
        format!("slow {}", req.method())
    }

    #[get("/panic")]
    fn boom() -> &'static str {
        panic!("panicked on purpose")
    }

    #[sse("/events")]
    fn events(q: Query<Ticks>, last: Option<LastEventId>, sink: &mut SseSink) -> io::Result<()> {
        let start = last.and_then(|id| id.as_u64()).map_or(0, |k| k + 1);
        for i in start..u64::from(q.n.unwrap_or(3)) {
            sink.send(
                &crate::SseEvent::new()
                    .event("tick")
                    .id(i.to_string())
                    .data(i.to_string()),
            )?;
        }
        Ok(())
    }

    mod admin {
        use super::*;

        #[get("/stats")]
        pub fn stats(ids: State<AtomicU64>) -> String {
            ids.load(Ordering::Relaxed).to_string()
        }
    }

    fn app() -> Router {
        routes![user, create, file, slow, boom, events]
            .mount("/admin", routes![admin::stats])
            .with_state(AtomicU64::new(0))
    }

    fn run_stream(mut response: Response) -> String {
        let Body::Stream(producer) = response.take_body() else {
            panic!("not a stream")
        };
        let out = Arc::new(Mutex::new(Vec::new()));
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl io::Write for Shared {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(data);
                Ok(data.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        producer(&mut StreamSink::to_writer(Shared(Arc::clone(&out)))).unwrap();
        let bytes = out.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn attribute_routes_serve() {
        let app = app().into_handler().unwrap();
        assert_eq!(
            get(&app, "/users/007"),
            (200, r#"{"id":7,"name":"user7"}"#.into())
        );
        let response = send(&app, Method::Get, "/users/x");
        assert_eq!(response.status(), 400);
        assert!(error_json(&response)["message"]
            .as_str()
            .unwrap()
            .contains("`id`"));

        let post = |body: &str| {
            app.handle(Request::new(
                Method::Post,
                "/users",
                &[("Content-Type", "application/json")],
                body.into(),
            ))
        };
        let response = post(r#"{"name":"ada"}"#);
        assert_eq!(response.status(), 201);
        assert_eq!(response.header_value("location"), Some("/users/1"));
        assert_eq!(body_text(&response), r#"{"id":1,"name":"ada"}"#);
        assert_eq!(post("{").status(), 400);
        assert_eq!(post(r#"{"name":1}"#).status(), 422);
        assert_eq!(app.body_limit(Method::Post, "/users"), Some(1024));
        assert_eq!(get(&app, "/admin/stats"), (200, "1".into()));

        assert_eq!(get(&app, "/files/a/b%20c"), (200, "a/b c".into()));
        assert_eq!(get(&app, "/slow").1, "slow GET");
        assert_eq!(body_text(&send(&app, Method::Post, "/slow")), "slow POST");
        assert_eq!(
            send(&app, Method::Delete, "/slow").header_value("allow"),
            Some("GET, HEAD, POST, OPTIONS")
        );

        let response = send(&app, Method::Get, "/panic");
        assert_eq!(response.status(), 500);
        assert!(!body_text(&response).contains("on purpose"));
    }

    #[test]
    fn sse_routes_extract_first_then_stream() {
        let app = app().into_handler().unwrap();
        let response = send(&app, Method::Get, "/events?n=2");
        assert_eq!(
            response.header_value("content-type"),
            Some("text/event-stream")
        );
        assert_eq!(
            run_stream(response),
            "event: tick\nid: 0\ndata: 0\n\nevent: tick\nid: 1\ndata: 1\n\n"
        );
        let resumed = app.handle(Request::new(
            Method::Get,
            "/events?n=3",
            &[("Last-Event-ID", "1")],
            Vec::new(),
        ));
        assert_eq!(run_stream(resumed), "event: tick\nid: 2\ndata: 2\n\n");
        // A refusal comes before the stream starts.
        assert_eq!(get(&app, "/events?n=many").0, 400);
    }

    #[test]
    fn path_builders_and_url_for() {
        assert_eq!(user::path(42), "/users/42");
        assert_eq!(file::path("a b/c.txt"), "/files/a%20b/c.txt");
        assert_eq!(admin::stats::path(), "/stats");
        let router = app();
        assert_eq!(
            router.url_for(admin::stats {}, &[]).unwrap(),
            "/admin/stats"
        );
        assert_eq!(router.url_for(user {}, &[&5]).unwrap(), "/users/5");
    }

    #[get("/users/{id}")]
    fn user_again(id: u64) -> String {
        id.to_string()
    }

    #[get("/users/{name}/posts")]
    fn posts(name: String) -> String {
        name
    }

    #[test]
    fn macro_conflicts_name_the_attributes() {
        let found = problems(routes![user, user_again, posts]);
        assert_eq!(found.len(), 2, "{found:?}");
        let text = found[0].to_string();
        assert!(
            text.contains("`user_again`") && text.contains("`user`"),
            "{text}"
        );
        assert!(text.contains(file!()), "{text}");
        assert!(
            matches!(&found[1], RouterProblem::CaptureNames { .. }),
            "{found:?}"
        );

        let found = problems(routes![admin::stats]);
        assert!(
            matches!(&found[..], [RouterProblem::MissingState { .. }]),
            "{found:?}"
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn app() -> RouterHandler {
        Router::new()
            .get("/u/{name}/x", |Path(name): Path<String>| name)
            .get("/f/{*rest}", |Path(rest): Path<String>| rest)
            .into_handler()
            .unwrap()
    }

    proptest! {
        /// Whatever a capture holds, the path builder's output routes back
        /// to exactly that value (one segment: `/`, `%`, `?`, `#`, dots and
        /// non-ASCII included).
        #[test]
        fn a_built_capture_routes_back_to_its_value(value in "\\PC+") {
            let path = build_path(&[PathPiece::Literal("/u/"), PathPiece::Capture(&value), PathPiece::Literal("/x")]);
            prop_assert_eq!(get(&app(), &path), (200, value));
        }

        #[test]
        fn a_built_catch_all_routes_back_to_its_value(value in "[^/]\\PC*") {
            let path = build_path(&[PathPiece::Literal("/f/"), PathPiece::CatchAll(&value)]);
            prop_assert_eq!(get(&app(), &path), (200, value));
        }

        /// No request path makes dispatch panic or answer outside the
        /// statuses the router gives.
        #[test]
        fn any_path_gets_an_answer(path in "/[ -~]{0,40}") {
            let status = send(&app(), Method::Get, &path).status();
            prop_assert!([200, 400, 404].contains(&status), "{} for {}", status, path);
        }
    }
}

// ------------------------------------------------ layers, health, route table

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

#[test]
fn layers_on_a_mounted_router_are_refused_naming_them() {
    let admin = Router::new()
        .get("/stats", || "stats")
        .layer(|request: &mut Request, next: Next<'_>| next.run(request));
    let found = problems(Router::new().mount("/admin", admin));
    assert!(
        matches!(&found[..], [RouterProblem::LayersInMountedRouter { prefix, layers, .. }]
            if prefix == "/admin" && layers.len() == 1 && layers[0].starts_with("closure at ")),
        "{found:?}"
    );
    let message = found[0].to_string();
    assert!(
        message.contains("add them to the outer router"),
        "{message}"
    );
}

#[test]
fn the_health_route_answers_ok_then_503_once_shutdown_begins() {
    let app = Router::new()
        .get("/", || "hi")
        .health("/healthz")
        .into_handler()
        .unwrap();
    let ok = send(&app, Method::Get, "/healthz");
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.header_value("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(body_text(&ok), "ok");
    assert_eq!(send(&app, Method::Head, "/healthz").status(), 200);
    assert_eq!(send(&app, Method::Post, "/healthz").status(), 405);

    app.shutdown_started();
    let draining = send(&app, Method::Get, "/healthz");
    assert_eq!(draining.status(), 503);
    assert_eq!(
        draining.header_value("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(body_text(&draining), "shutting down");
    // Everything else is still served while the process drains.
    assert_eq!(get(&app, "/"), (200, "hi".into()));
}

#[test]
fn the_health_route_works_mounted_and_conflicts_like_any_route() {
    let app = Router::new()
        .mount("/ops", Router::new().health("/ready"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/ops/ready"), (200, "ok".into()));
    app.shutdown_started();
    assert_eq!(get(&app, "/ops/ready").0, 503);

    let found = problems(Router::new().get("/healthz", || "mine").health("/healthz"));
    assert!(
        matches!(&found[..], [RouterProblem::Conflict { route, .. }] if route.name == "health"),
        "{found:?}"
    );
}

#[test]
fn routes_lists_every_route_with_its_prefix_name_and_location() {
    let line = line!() + 2;
    let app = Router::new()
        .get("/", || "home")
        .on(&[Method::Get, Method::Post], "/slow", || "slow")
        .route(Route::new(&[Method::Get], "/events", || Response::sse(|_| Ok(()))).named("events"))
        .health("/healthz")
        .mount("/admin", Router::new().get("/stats", || "stats"))
        .fallback(|| "fallback");
    let table = app.routes();
    let listed: Vec<(Vec<Method>, &str, &str)> = table
        .iter()
        .map(|r| (r.methods.clone(), r.path.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (vec![Method::Get], "/", "closure"),
            (vec![Method::Get, Method::Post], "/slow", "closure"),
            (vec![Method::Get], "/events", "events"),
            (vec![Method::Get], "/healthz", "health"),
            (vec![Method::Get], "/admin/stats", "closure"),
            (vec![], "/*", "fallback closure"),
        ]
    );
    assert_eq!(table[0].location.line(), line);
    assert!(table[0].location.file().ends_with("tests.rs"));

    // The built handler lists the same routes.
    let handler = app.clone().into_handler().unwrap();
    assert_eq!(handler.routes(), table);
}

#[test]
fn the_route_table_displays_one_aligned_line_per_route() {
    let app = Router::new()
        .get("/users/{id}", |Path(id): Path<u32>| id.to_string())
        .on(&[Method::Get, Method::Post], "/slow", || "slow")
        .route(super::Route {
            kind: RouteKind::Stream,
            ..Route::new(&[Method::Get], "/events", || "e").named("events")
        });
    let text = app.routes().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(text.ends_with('\n'));
    let columns = |line: &str| -> Vec<String> {
        line.split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(columns(lines[0]), ["METHOD", "PATH", "HANDLER", "SOURCE"]);
    assert_eq!(columns(lines[1])[..3], ["GET", "/users/{id}", "closure"]);
    assert_eq!(columns(lines[2])[..3], ["GET, POST", "/slow", "closure"]);
    assert_eq!(
        columns(lines[3])[..3],
        ["GET", "/events", "events (stream)"]
    );
    assert!(columns(lines[3])[3].contains("tests.rs:"), "{text}");
    // Aligned: every path starts in the same column.
    let path_column = lines[0].find("PATH").unwrap();
    assert_eq!(lines[1].find("/users").unwrap(), path_column);
    assert_eq!(lines[2].find("/slow").unwrap(), path_column);
}

#[test]
fn a_router_with_no_layer_answers_exactly_as_before() {
    // The fast path: no layer, no `Next`, same answers.
    let app = Router::new().get("/", || "hi").into_handler().unwrap();
    assert!(app.layers.is_empty());
    assert_eq!(get(&app, "/"), (200, "hi".into()));
    assert_eq!(get(&app, "/nope").0, 404);
}
