//! The rows of `docs/reference-api.md` that the everyday issue brings to
//! `examples/api`, tested against the real binary as that page words them:
//! static files under `/static/` (content types, validators and 304s,
//! single ranges, the index, traversal refused), `/healthz` (200, then 503
//! from the moment shutdown begins), CORS for `http://localhost:3000`,
//! `X-Request-Id` on every response, and the `SUTEGI_LOG` switches (`access`
//! and `routes`). Raw sockets are used wherever an HTTP client would
//! normalise what is being tested (dot segments, backslashes).

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{error_shape_problem, Api, Response};

const ORIGIN: &str = "http://localhost:3000";

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

fn static_dir() -> PathBuf {
    common::workspace_root().join("examples/static")
}

fn index_bytes() -> Vec<u8> {
    std::fs::read(static_dir().join("index.html")).expect("examples/static/index.html exists")
}

#[test]
fn static_serves_the_index_and_files_with_their_content_type() {
    let api = Api::start();
    let index = index_bytes();
    let page = String::from_utf8_lossy(&index);
    assert!(
        page.contains("fetch") && page.contains("/json"),
        "index.html calls /json with fetch"
    );
    assert!(
        page.contains("EventSource") && page.contains("/events?n=20&interval_ms=200"),
        "index.html shows /events?n=20&interval_ms=200 through EventSource"
    );
    for target in ["/static/", "/static/index.html"] {
        let r = api.get(target);
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        let content_type = r.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("text/html"),
            "{target}: Content-Type {content_type:?}"
        );
        assert!(r.body == index, "{target}: not index.html's bytes");
        assert!(r.header("etag").is_some(), "{target}: no ETag");
        assert!(
            r.header("last-modified").is_some(),
            "{target}: no Last-Modified"
        );
    }
    // Every file under the folder, with a type from its extension.
    let expected_type = |name: &str| match name.rsplit('.').next() {
        Some("html") => Some("text/html"),
        Some("css") => Some("text/css"),
        Some("js" | "mjs") => Some("text/javascript"),
        Some("json") => Some("application/json"),
        Some("png") => Some("image/png"),
        Some("svg") => Some("image/svg+xml"),
        Some("txt") => Some("text/plain"),
        _ => None,
    };
    for entry in std::fs::read_dir(static_dir()).expect("examples/static") {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().is_ok_and(|t| t.is_file()) || name.starts_with('.') {
            continue;
        }
        let r = api.get(&format!("/static/{name}"));
        assert_eq!(r.status, 200, "/static/{name}");
        assert!(
            r.body == std::fs::read(entry.path()).unwrap(),
            "/static/{name}: not the file's bytes"
        );
        if let Some(expected) = expected_type(&name) {
            let got = r.header("content-type").unwrap_or_default();
            assert!(
                got.starts_with(expected),
                "/static/{name}: Content-Type {got:?}, expected {expected}"
            );
        }
    }
    // HEAD: same status and headers, no body.
    let mut conn = api.connect();
    conn.send_ok(b"HEAD /static/index.html HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = conn.head_response();
    assert_eq!(head.status, 200, "{}", conn.transcript());
    assert_eq!(
        head.header("content-length"),
        Some(index.len().to_string().as_str()),
        "{}",
        conn.transcript()
    );
    assert_eq!(
        conn.response().body,
        b"Hello, World!",
        "HEAD sent a body\n{}",
        conn.transcript()
    );
}

#[test]
fn static_answers_conditional_requests_with_304() {
    let api = Api::start();
    let first = api.get("/static/index.html");
    let etag = first.header("etag").expect("an ETag").to_owned();
    let modified = first
        .header("last-modified")
        .expect("a Last-Modified")
        .to_owned();
    for fields in [
        format!("If-None-Match: {etag}\r\n"),
        format!("If-None-Match: \"other\", {etag}\r\n"),
        "If-None-Match: *\r\n".to_owned(),
        format!("If-Modified-Since: {modified}\r\n"),
        "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n".to_owned(),
    ] {
        let r = ask(&api, "GET", "/static/index.html", &fields);
        assert_eq!(r.status, 304, "{fields:?}: {}", r.text());
        assert!(r.body.is_empty(), "{fields:?}: a 304 has no body");
        assert_eq!(
            r.header("etag"),
            Some(etag.as_str()),
            "{fields:?}: the 304 carries the ETag"
        );
    }
    for fields in [
        "If-None-Match: \"something-else\"\r\n".to_owned(),
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n".to_owned(),
        // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        format!("If-None-Match: \"something-else\"\r\nIf-Modified-Since: {modified}\r\n"),
    ] {
        let r = ask(&api, "GET", "/static/index.html", &fields);
        assert_eq!(r.status, 200, "{fields:?}");
        assert!(r.body == index_bytes(), "{fields:?}");
    }
}

#[test]
fn static_answers_single_ranges_with_206_and_416() {
    let api = Api::start();
    let index = index_bytes();
    let size = index.len();
    assert!(size > 20, "index.html is big enough to slice");
    for (range, from, to) in [
        ("bytes=0-9", 0, 9),
        ("bytes=5-", 5, size - 1),
        ("bytes=-7", size - 7, size - 1),
        ("bytes=3-3", 3, 3),
        (&*format!("bytes=10-{}", size + 1000), 10, size - 1),
    ] {
        let r = ask(
            &api,
            "GET",
            "/static/index.html",
            &format!("Range: {range}\r\n"),
        );
        assert_eq!(r.status, 206, "{range}: {}", r.text());
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {from}-{to}/{size}").as_str()),
            "{range}"
        );
        assert!(r.body == index[from..=to], "{range}: not the slice");
    }
    for range in [
        format!("bytes={size}-"),
        format!("bytes={}-{}", size + 10, size + 20),
        "bytes=-0".to_owned(),
    ] {
        let r = ask(
            &api,
            "GET",
            "/static/index.html",
            &format!("Range: {range}\r\n"),
        );
        assert_eq!(r.status, 416, "{range}: {}", r.text());
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes */{size}").as_str()),
            "{range}"
        );
    }
}

#[test]
fn static_refuses_missing_files_and_never_leaves_the_folder() {
    let api = Api::start();
    let r = api.get("/static/no-such-file.txt");
    assert_eq!(r.status, 404, "{}", r.text());
    if let Some(problem) = error_shape_problem(404, r.header("content-type"), &r.body, None) {
        panic!("a missing file: {problem}");
    }
    // Files just outside the folder, and what they contain.
    let outside = [
        ("Cargo.toml", "[package]"),
        ("examples/api.rs", "fn main"),
        ("../Cargo.toml", "[workspace]"),
    ];
    let mut failures = Vec::new();
    for target in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E/Cargo.toml",
        "/static/.%2e/Cargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/..%2FCargo.toml",
        "/static/..%5CCargo.toml",
        "/static/..\\Cargo.toml",
        "/static/%5C..%5CCargo.toml",
        "/static/../examples/api.rs",
        "/static/%2e%2e/examples/api.rs",
        "/static/../../Cargo.toml",
        "/static/%2e%2e/%2e%2e/Cargo.toml",
        "/static/..%2f..%2fCargo.toml",
        "/static/index.html/../../Cargo.toml",
        "/static/%00../Cargo.toml",
        "/static/....//Cargo.toml",
    ] {
        let r = ask(&api, "GET", target, "");
        let text = r.text();
        if ![400, 403, 404].contains(&r.status) {
            failures.push(format!("{target}: {} (expected 400, 403 or 404)", r.status));
        }
        for (file, marker) in outside {
            if text.contains(marker) {
                failures.push(format!("{target}: served {file} from outside the folder"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    api.assert_alive("traversal attempts");
}

/// Removes the symlink it names when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn static_does_not_follow_a_symlink_out_of_the_folder() {
    let api = Api::start();
    let target = common::workspace_root().join("examples/Cargo.toml");
    let link = static_dir().join(format!("zz-link-out-{}.toml", std::process::id()));
    if let Err(e) = std::os::unix::fs::symlink(&target, &link) {
        panic!(
            "could not create the symlink {} for the test: {e}",
            link.display()
        );
    }
    let _cleanup = RemoveOnDrop(link.clone());
    let name = link.file_name().unwrap().to_string_lossy().into_owned();
    let r = api.get(&format!("/static/{name}"));
    assert!(
        [400, 403, 404].contains(&r.status),
        "a symlink out answered {}",
        r.status
    );
    assert!(
        !r.text().contains("[package]"),
        "a symlink out served the file outside: {}",
        r.text()
    );
}

#[test]
fn healthz_is_ok_while_serving() {
    let api = Api::start();
    let r = api.get("/healthz");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "ok");
    let head = ask(&api, "HEAD", "/healthz", "");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn healthz_is_503_from_the_moment_shutdown_begins_while_the_api_still_serves() {
    let mut api = Api::start_with(&["127.0.0.1:0"], &[("SUTEGI_DRAIN_DELAY_MS", "3000")]);
    assert_eq!(api.get("/healthz").status, 200);
    let signalled = Instant::now();
    common::signal(api.pid(), "TERM");
    // During the drain delay the listener still accepts: health says 503,
    // everything else is served.
    let mut saw_503 = false;
    for _ in 0..20 {
        if signalled.elapsed() > Duration::from_millis(2000) {
            break;
        }
        let health = api.get("/healthz");
        if health.status == 503 {
            saw_503 = true;
            assert_eq!(
                api.get("/plaintext").status,
                200,
                "the API stops serving during the drain delay"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(saw_503, "/healthz did not turn 503 within 2 s of SIGTERM");
    let status = api.wait_exit(Duration::from_secs(25));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exit after the drain; stderr:\n{}",
        api.stderr()
    );
    assert!(
        signalled.elapsed() >= Duration::from_millis(2900),
        "exited before the 3 s drain delay ended"
    );
}

/// The `Access-Control-*` headers of a response.
fn cors_headers(r: &Response) -> Vec<(String, String)> {
    r.headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-"))
        .cloned()
        .collect()
}

fn has_vary_origin(r: &Response) -> bool {
    r.header_all("vary").iter().any(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("origin"))
    })
}

fn lists(value: Option<&str>, item: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(item)))
}

#[test]
fn cors_preflights_from_the_allowed_origin_get_204_with_the_allowances() {
    let api = Api::start();
    for (target, method) in [
        ("/users", "POST"),
        ("/json", "GET"),
        ("/search?q=x", "GET"),
        ("/echo", "POST"),
    ] {
        let r = ask(
            &api,
            "OPTIONS",
            target,
            &format!(
                "Origin: {ORIGIN}\r\nAccess-Control-Request-Method: {method}\r\nAccess-Control-Request-Headers: content-type\r\n"
            ),
        );
        let context = format!("preflight {method} {target}: {:?}", r.headers);
        assert_eq!(r.status, 204, "{context}");
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(ORIGIN),
            "{context}"
        );
        for allowed in ["GET", "POST"] {
            assert!(
                lists(r.header("access-control-allow-methods"), allowed),
                "{context}"
            );
        }
        assert!(
            lists(r.header("access-control-allow-headers"), "content-type"),
            "{context}"
        );
        assert!(has_vary_origin(&r), "{context}");
        assert_eq!(
            r.header("access-control-allow-credentials"),
            None,
            "no credentials: {context}"
        );
    }
}

#[test]
fn cors_requests_from_the_allowed_origin_carry_the_origin_and_vary() {
    let api = Api::start();
    let origin = format!("Origin: {ORIGIN}\r\n");
    let json_body = format!(
        "{origin}Content-Type: application/json\r\nContent-Length: 12\r\n\r\n{{\"name\":\"c\"}}"
    );
    for (method, target, fields, status) in [
        ("GET", "/json", origin.clone(), 200),
        ("GET", "/events?n=1", origin.clone(), 200),
        ("HEAD", "/plaintext", origin.clone(), 200),
        ("GET", "/nope", origin.clone(), 404),
        ("DELETE", "/json", origin.clone(), 405),
        ("GET", "/users/x", origin.clone(), 400),
        ("GET", "/panic", origin.clone(), 500),
    ] {
        let r = ask(&api, method, target, &fields);
        let context = format!("{method} {target}: {:?}", r.headers);
        assert_eq!(r.status, status, "{context}");
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(ORIGIN),
            "{context}"
        );
        assert!(has_vary_origin(&r), "{context}");
        assert_eq!(
            r.header("access-control-allow-credentials"),
            None,
            "{context}"
        );
    }
    // A POST with a body (the fields end the head themselves).
    let mut conn = api.connect();
    conn.send_ok(format!("POST /users HTTP/1.1\r\nHost: t\r\n{json_body}").as_bytes());
    let r = conn.response();
    assert_eq!(r.status, 201, "{}", conn.transcript());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{}",
        conn.transcript()
    );
    assert!(has_vary_origin(&r), "{}", conn.transcript());
}

#[test]
fn cors_stays_silent_for_other_origins_and_requests_without_one() {
    let api = Api::start();
    for origin in [
        Some("http://evil.example"),
        Some("http://localhost:3001"),
        Some("https://localhost:3000"),
        Some("http://localhost:3000.evil.example"),
        Some("null"),
        None,
    ] {
        let origin_field = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        // A preflight from elsewhere is answered as without CORS: OPTIONS's 204 with Allow.
        let r = ask(
            &api,
            "OPTIONS",
            "/users",
            &format!("{origin_field}Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n"),
        );
        assert_eq!(r.status, 204, "{origin:?}");
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "{origin:?}");
        assert_eq!(cors_headers(&r), vec![], "preflight from {origin:?}");
        let r = ask(&api, "GET", "/json", &origin_field);
        assert_eq!(
            (r.status, r.text()),
            (200, r#"{"message":"Hello, World!"}"#.to_owned()),
            "{origin:?}"
        );
        assert_eq!(cors_headers(&r), vec![], "GET from {origin:?}");
    }
}

fn is_visible_ascii_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

#[test]
fn every_response_carries_an_x_request_id() {
    let api = Api::start();
    let mut seen = HashSet::new();
    let cases = [
        ("GET", "/plaintext", 200),
        ("GET", "/json", 200),
        ("HEAD", "/json", 200),
        ("GET", "/stream?n=1", 200),
        ("GET", "/events?n=1", 200),
        ("GET", "/nope", 404),
        ("DELETE", "/json", 405),
        ("OPTIONS", "/json", 204),
        ("GET", "/users/x", 400),
        ("GET", "/search", 400),
        ("GET", "/panic", 500),
        ("GET", "/healthz", 200),
        ("GET", "/static/", 200),
        ("GET", "/static/no-such-file", 404),
    ];
    for round in 0..10 {
        for (method, target, status) in cases {
            let r = ask(&api, method, target, "");
            assert_eq!(r.status, status, "{method} {target}");
            let ids = r.header_all("x-request-id");
            assert_eq!(ids.len(), 1, "{method} {target}: {:?}", r.headers);
            assert!(
                is_visible_ascii_id(ids[0]),
                "{method} {target}: id {:?}",
                ids[0]
            );
            assert!(
                seen.insert(ids[0].to_owned()),
                "round {round}, {method} {target}: id {:?} repeated",
                ids[0]
            );
        }
    }
}

#[test]
fn x_request_id_echoes_a_valid_one_and_replaces_the_rest() {
    let api = Api::start();
    let longest = "x".repeat(128);
    for id in [
        "abc",
        "1",
        "a-b_c.d:e/f+g=h~!",
        &longest,
        "0123456789abcdef0123456789abcdef",
        "\"quoted\"",
    ] {
        for (method, target) in [("GET", "/json"), ("GET", "/nope"), ("OPTIONS", "/users")] {
            let r = ask(&api, method, target, &format!("X-Request-Id: {id}\r\n"));
            assert_eq!(
                r.header("x-request-id"),
                Some(id),
                "{method} {target} sent {id:?}"
            );
        }
    }
    let too_long = "y".repeat(129);
    for (id, raw) in [
        (too_long.as_str(), too_long.as_bytes()),
        ("a b", &b"a b"[..]),
        ("tab", &b"a\tb"[..]),
        ("non-ASCII", "caf\u{e9}".as_bytes()),
        ("empty", &b""[..]),
    ] {
        let mut conn = api.connect();
        let mut bytes = b"GET /json HTTP/1.1\r\nHost: t\r\nX-Request-Id: ".to_vec();
        bytes.extend_from_slice(raw);
        bytes.extend_from_slice(b"\r\n\r\n");
        conn.send_ok(&bytes);
        let r = conn.response();
        assert_eq!(r.status, 200, "{}", conn.transcript());
        let got = r.header("x-request-id").unwrap_or_default();
        assert!(is_visible_ascii_id(got), "sent {id}: got {got:?}");
        assert_ne!(got.as_bytes(), raw, "sent {id}: an invalid id was echoed");
    }
}

/// Polls the server's stderr until `done` says yes or 10 s pass.
fn wait_for_stderr(api: &Api, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = api.stderr();
        if done(&text) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sutegi_log_access_writes_one_line_per_request_and_is_off_by_default() {
    let api = Api::start_with(&["127.0.0.1:0"], &[("SUTEGI_LOG", "access")]);
    assert_eq!(api.get("/json").status, 200);
    assert_eq!(api.get("/nope-logged").status, 404);
    assert_eq!(api.get("/users/x").status, 400);
    let log = wait_for_stderr(&api, |t| {
        t.contains("/json") && t.contains("/nope-logged") && t.contains("/users/x")
    });
    for (path, status) in [
        ("/json", "200"),
        ("/nope-logged", "404"),
        ("/users/x", "400"),
    ] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(path)).collect();
        assert_eq!(lines.len(), 1, "one access line for {path}:\n{log}");
        assert!(
            lines[0].contains("GET") && lines[0].contains(status),
            "{path}: {}",
            lines[0]
        );
    }

    let quiet = Api::start();
    assert_eq!(quiet.get("/json").status, 200);
    assert_eq!(quiet.get("/nope-quiet").status, 404);
    std::thread::sleep(Duration::from_millis(300));
    let log = quiet.stderr();
    assert!(
        !log.contains("/json") && !log.contains("/nope-quiet"),
        "access log on by default:\n{log}"
    );
}

#[test]
fn sutegi_log_routes_prints_the_route_table() {
    let (mut child, stderr_path) = common::spawn(&["127.0.0.1:0"], &[("SUTEGI_LOG", "routes")]);
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().take(200) {
            match line {
                Ok(line) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut stdout_text = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => {
                stdout_text.push_str(&line);
                stdout_text.push('\n');
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                if stdout_text.contains("listening on") =>
            {
                break
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let still_running = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = common::wait_bounded(&mut child, Duration::from_secs(10));
    let stderr_text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    let all = format!("{stdout_text}{stderr_text}");
    assert!(
        still_running,
        "SUTEGI_LOG=routes stopped the program instead of serving:\n{all}"
    );
    assert!(
        stdout_text.contains("listening on http://"),
        "no listening line:\n{all}"
    );
    for path in [
        "/plaintext",
        "/json",
        "/users/{id}",
        "/users",
        "/search",
        "/echo",
        "/files/{*path}",
        "/events",
        "/stream",
        "/slow",
        "/panic",
        "/static/{*path}",
        "/healthz",
    ] {
        assert!(all.contains(path), "the route table lacks {path}:\n{all}");
    }
    for method in ["GET", "POST"] {
        assert!(
            all.contains(method),
            "the route table lacks {method}:\n{all}"
        );
    }
}
