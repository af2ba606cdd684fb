//! Errors with headers, the `Authorization` extractor, cookies and
//! multipart uploads: first in memory through `TestClient`, then over
//! sockets against `examples/api` (`POST /upload`, `GET /visits`) with
//! real clients: curl `-F`, Python's `requests` (in a virtualenv made
//! under the target directory) and raw HTTP/1.1.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{assert_error, required_tool, run_bounded, Api};
use serde_json::{json, Value};
use sutegi::cookies::{Cookie, CookieKey, PrivateCookieJar, SignedCookieJar};
use sutegi::extract::{Authorization, Basic, Bearer, Multipart, MultipartLimits};
use sutegi::test::{TestClient, TestResponse};
use sutegi::{get, post, routes, Error, Json};

// ------------------------------------------------------------- in memory

fn assert_json_error(r: &TestResponse, status: u16) {
    assert_eq!(r.status(), status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: Value = r.json();
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
}

#[get("/admin")]
fn admin(Authorization(auth): Authorization<Bearer>) -> Result<&'static str, Error> {
    if auth.matches("admin-token") {
        Ok("welcome")
    } else {
        Err(Error::unauthorized("Bearer", "that is not the admin token"))
    }
}

#[get("/basic")]
fn basic(Authorization(auth): Authorization<Basic>) -> String {
    format!("{}:{}", auth.username(), auth.password())
}

#[get("/either")]
fn either(bearer: Option<Authorization<Bearer>>, basic: Option<Authorization<Basic>>) -> String {
    match (bearer, basic) {
        (Some(b), _) => format!("bearer {}", b.token()),
        (_, Some(b)) => format!("basic {}", b.username()),
        _ => "anonymous".to_owned(),
    }
}

#[test]
fn bearer_scheme_matches_in_any_case_and_refusals_carry_the_challenge() {
    let client = TestClient::new(routes![admin, basic, either]);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = client
            .get("/admin")
            .header("Authorization", &format!("{scheme} admin-token"))
            .send();
        assert_eq!((r.status(), r.text()), (200, "welcome"), "{scheme}");
    }
    for header in [
        None,
        Some("Bearer"),
        Some("Basic YTpi"),
        Some("Bearer a b"),
        Some("Bearer wrong"),
    ] {
        let mut request = client.get("/admin");
        if let Some(value) = header {
            request = request.header("Authorization", value);
        }
        let r = request.send();
        assert_json_error(&r, 401);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{header:?}");
    }
    let r = client
        .get("/basic")
        .header("Authorization", "basic YWRhOnMzY3JldA==")
        .send();
    assert_eq!(r.text(), "ada:s3cret");
    let r = client.get("/basic").send();
    assert_json_error(&r, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"restricted\", charset=\"UTF-8\"")
    );
    let r = client
        .get("/basic")
        .header("Authorization", "Basic %%%")
        .send();
    assert_json_error(&r, 401);

    assert_eq!(client.get("/either").send().text(), "anonymous");
    let r = client
        .get("/either")
        .header("Authorization", "basic YTpi")
        .send();
    assert_eq!(r.text(), "basic a");
    let r = client
        .get("/either")
        .header("Authorization", "Bearer t0k")
        .send();
    assert_eq!(r.text(), "bearer t0k");
    // Malformed credentials of a scheme are refused, not ignored.
    assert_json_error(
        &client
            .get("/either")
            .header("Authorization", "Basic !")
            .send(),
        401,
    );
}

#[get("/busy")]
fn busy() -> Error {
    Error::service_unavailable("try later").retry_after(Duration::from_secs(7))
}

#[post("/parse")]
fn parse(body: String) -> Result<String, Error> {
    let value: std::collections::BTreeMap<String, u32> = serde_json::from_str(&body)?;
    Ok(format!("{}", value.len()))
}

#[get("/read")]
fn read() -> Result<String, Error> {
    Ok(std::fs::read_to_string("/definitely/not/here/secret.txt")?)
}

#[test]
fn error_headers_and_question_mark_conversions() {
    let client = TestClient::new(routes![busy, parse, read]);
    let r = client.get("/busy").send();
    assert_json_error(&r, 503);
    assert_eq!(r.header("retry-after"), Some("7"));

    let r = client.post("/parse").body(r#"{"a": 1}"#).send();
    assert_eq!(r.text(), "1");
    assert_json_error(&client.post("/parse").body("{nope").send(), 400);
    assert_json_error(&client.post("/parse").body(r#"{"a": 1"#).send(), 400);
    assert_json_error(&client.post("/parse").body(r#"{"a": "x"}"#).send(), 422);

    let r = client.get("/read").send();
    assert_json_error(&r, 500);
    assert!(!r.text().contains("secret"), "{}", r.text());
}

#[get("/visits")]
fn visits(mut jar: SignedCookieJar) -> (SignedCookieJar, Json<Value>) {
    let seen: u64 = jar
        .get("visits")
        .and_then(|c| c.value().parse().ok())
        .unwrap_or(0);
    jar.add(Cookie::new("visits", (seen + 1).to_string()));
    (jar, Json(json!({ "visits": seen + 1 })))
}

#[get("/secret")]
fn secret(mut jar: PrivateCookieJar) -> (PrivateCookieJar, String) {
    let old = jar
        .get("note")
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    jar.add(Cookie::new("note", "tea"));
    jar.remove("gone");
    (jar, old)
}

fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[test]
fn signed_and_private_cookies_round_trip_and_refuse_tampering() {
    let client = TestClient::new(routes![visits, secret].with_state(CookieKey::generate()));
    let first = client.get("/visits").send();
    assert_eq!(first.json::<Value>(), json!({"visits": 1}));
    let set = first.header("set-cookie").expect("a Set-Cookie").to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    let pair = cookie_pair(&set);
    let second = client.get("/visits").header("Cookie", pair).send();
    assert_eq!(second.json::<Value>(), json!({"visits": 2}));
    // The count is in the clear but signed: changing it voids the cookie.
    let forged = format!("{}9", &pair[..pair.len() - 1]);
    let r = client.get("/visits").header("Cookie", &forged).send();
    assert_eq!(r.json::<Value>(), json!({"visits": 1}));
    let r = client.get("/visits").header("Cookie", "visits=41").send();
    assert_eq!(r.json::<Value>(), json!({"visits": 1}));

    let r = client.get("/secret").header("Cookie", "gone=1").send();
    let sets: Vec<&str> = r.header_all("set-cookie").collect();
    assert_eq!(sets.len(), 2, "{sets:?}");
    let note = sets.iter().find(|s| s.starts_with("note=")).unwrap();
    assert!(!note.contains("tea"), "the private value shows: {note}");
    assert!(
        sets.iter()
            .any(|s| s.starts_with("gone=;") && s.contains("Max-Age=0")),
        "{sets:?}"
    );
    let r = client
        .get("/secret")
        .header("Cookie", cookie_pair(note))
        .send();
    assert_eq!(r.text(), "tea");
}

#[test]
fn a_signed_jar_without_a_key_is_refused_when_the_router_is_built() {
    let problem = match routes![visits].into_handler() {
        Ok(_) => panic!("a router without the CookieKey was accepted"),
        Err(problem) => problem.to_string(),
    };
    assert!(problem.contains("CookieKey"), "{problem}");
}

/// A `multipart/form-data` body of these parts, with its `Content-Type`.
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----sutegi-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[post("/upload", body_limit = "17MiB")]
fn upload(form: Multipart) -> Result<Json<Value>, Error> {
    let mut form = form.limits(
        MultipartLimits::default()
            .max_parts(4)
            .max_part_bytes(1 << 20),
    );
    let mut parts = Vec::new();
    while let Some(mut field) = form.next_field()? {
        let name = field.name().map(str::to_owned);
        let mut content = Vec::new();
        // Through `Read`: a part over its limit comes back as the 413.
        field.read_to_end(&mut content)?;
        parts.push(json!({"name": name, "size": content.len()}));
    }
    Ok(Json(json!({ "parts": parts })))
}

#[post("/save")]
fn save(mut form: Multipart) -> Result<String, Error> {
    let dir = std::env::temp_dir().join(format!("sutegi-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut report = Vec::new();
    while let Some(field) = form.next_field()? {
        let path = dir.join(field.name().unwrap_or("unnamed"));
        let size = field.save_to(&path)?;
        let on_disk = std::fs::read(&path)?;
        report.push(format!(
            "{size}:{}:{}",
            on_disk.len(),
            on_disk.iter().map(|&b| u64::from(b)).sum::<u64>()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report.join(","))
}

#[test]
fn multipart_parts_limits_and_refusals_through_test_client() {
    let client = TestClient::new(routes![upload, save]);
    let send = |(content_type, body): (String, Vec<u8>)| {
        client
            .post("/upload")
            .header("Content-Type", &content_type)
            .body(body)
            .send()
    };
    let mib = vec![b'x'; 1 << 20];
    let r = send(form(&[("a", None, b"hello"), ("f", Some("f.bin"), &mib)]));
    assert_eq!(
        r.json::<Value>(),
        json!({"parts": [{"name": "a", "size": 5}, {"name": "f", "size": 1 << 20}]})
    );
    let over = vec![b'x'; (1 << 20) + 1];
    let r = send(form(&[("a", None, b"ok"), ("big", Some("b"), &over)]));
    assert_json_error(&r, 413);
    assert!(r.text().contains("big"), "{}", r.text());
    let five: Vec<(&str, Option<&str>, &[u8])> = (0..5).map(|_| ("p", None, &b"v"[..])).collect();
    assert_json_error(&send(form(&five)), 413);
    assert_eq!(send(form(&five[..4])).status(), 200);

    let garbage = |ct: &str, body: &str| {
        client
            .post("/upload")
            .header("Content-Type", ct)
            .body(body.to_owned())
            .send()
    };
    assert_json_error(&garbage("multipart/form-data; boundary=zz", "garbage"), 400);
    assert_json_error(
        &garbage("multipart/form-data; boundary=zz", "--zz\r\nno headers end"),
        400,
    );
    assert_json_error(&garbage("multipart/form-data", "--zz--\r\n"), 400);
    assert_json_error(&garbage("application/json", "{}"), 400);
    assert_json_error(&client.post("/upload").send(), 400);

    // save_to writes each part as sent, chunk by chunk (parts over the
    // 64 KiB chunk size included).
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (content_type, body) = form(&[("one", Some("1.bin"), &big), ("two", None, b"xyz")]);
    let r = client
        .post("/save")
        .header("Content-Type", &content_type)
        .body(body)
        .send();
    let sum: u64 = big.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(
        r.text(),
        format!("300000:300000:{sum},3:3:{}", 120 + 121 + 122)
    );
}

// ----------------------------------------------------------- over sockets

fn scratch_dir(name: &str) -> PathBuf {
    let dir = common::workspace_root()
        .join("target/test-scratch")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory under target/");
    dir
}

fn curl(args: &[&str]) -> (u16, Value) {
    let curl = required_tool("curl", "curl");
    let mut command = Command::new(curl);
    command
        .args(["-sS", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}"])
        .args(args);
    let (status, out, err) = run_bounded(command, Duration::from_secs(90));
    assert!(
        status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&err)
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl printed the status");
    let value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    (code.trim().parse().expect("a status code"), value)
}

fn assert_error_value(value: &Value, status: u16) {
    assert_eq!(value["error"], common::reason_phrase(status), "{value}");
    assert!(value["message"].is_string(), "{value}");
}

#[test]
fn upload_with_curl_form_fields_in_order() {
    let api = Api::start();
    let dir = scratch_dir("curl-upload");
    let mib: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(dir.join("exact.bin"), &mib).unwrap();
    let mut over = mib.clone();
    over.push(0);
    std::fs::write(dir.join("over.bin"), &over).unwrap();
    let url = api.url("/upload");
    let file = |name: &str| format!("file=@{}", dir.join(name).display());

    let (status, value) = curl(&[
        "-F",
        "title=hello world",
        "-F",
        &file("exact.bin"),
        "-F",
        "note=",
        &url,
    ]);
    assert_eq!(status, 200, "{value}");
    assert_eq!(
        value,
        json!({"parts": [
            {"name": "title", "filename": null, "size": 11},
            {"name": "file", "filename": "exact.bin", "size": 1 << 20},
            {"name": "note", "filename": null, "size": 0},
        ]})
    );

    let (status, value) = curl(&["-F", &file("over.bin"), &url]);
    assert_eq!(status, 413, "{value}");
    assert_error_value(&value, 413);

    let mut args: Vec<String> = (0..17)
        .flat_map(|i| ["-F".to_owned(), format!("p{i}=v")])
        .collect();
    args.push(url.clone());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, value) = curl(&refs);
    assert_eq!(status, 413, "{value}");
    assert_error_value(&value, 413);
    assert_eq!(curl(&refs[2..]).0, 200, "16 parts pass");

    // Sixteen parts of 1 MiB fit the route's body limit.
    let mut args: Vec<String> = (0..16)
        .flat_map(|_| ["-F".to_owned(), file("exact.bin")])
        .collect();
    args.push(url.clone());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, value) = curl(&refs);
    assert_eq!(status, 200, "{value}");
    assert_eq!(value["parts"].as_array().map(Vec::len), Some(16));

    let (status, value) = curl(&[
        "-H",
        "Content-Type: multipart/form-data; boundary=x",
        "--data-binary",
        "garbage",
        &url,
    ]);
    assert_eq!(status, 400, "{value}");
    assert_error_value(&value, 400);
    let (status, value) = curl(&[
        "-H",
        "Content-Type: text/plain",
        "--data-binary",
        "hello",
        &url,
    ]);
    assert_eq!(status, 400, "{value}");
    assert_error_value(&value, 400);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn upload_over_raw_http_refuses_garbage_in_the_error_shape() {
    let api = Api::start();
    let (content_type, body) = form(&[("a", None, b"1"), ("b", Some("b.txt"), b"22")]);
    let mut conn = api.connect();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.send_ok(head.as_bytes());
    conn.send_ok(&body);
    let r = conn.response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"parts": [{"name": "a", "filename": null, "size": 1}, {"name": "b", "filename": "b.txt", "size": 2}]})
    );
    let garbage = "\x00\x01 not multipart at all";
    let mut conn = api.connect();
    conn.send_ok(
        format!("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=q\r\nContent-Length: {}\r\n\r\n{garbage}", garbage.len())
            .as_bytes(),
    );
    assert_error(&conn.response(), 400, None, "garbage multipart");
}

/// A virtualenv under the target directory with `requests` in it (from
/// PyPI), made once. A machine that cannot make it fails the test, saying
/// why: a skipped client is a claim nothing checked.
fn python_with_requests() -> Option<PathBuf> {
    let give_up = |why: String| -> Option<PathBuf> {
        panic!("Python `requests` is unavailable (needs python3-venv and PyPI): {why}");
    };
    let python = required_tool("python3", "python3-venv");
    let venv = common::workspace_root().join("target/py-requests-venv");
    let venv_python = venv.join("bin/python");
    let has_requests = |p: &PathBuf| {
        let mut command = Command::new(p);
        command.args(["-c", "import requests"]);
        run_bounded(command, Duration::from_secs(60)).0.success()
    };
    if venv_python.is_file() && has_requests(&venv_python) {
        return Some(venv_python);
    }
    let mut command = Command::new(&python);
    command.args(["-m", "venv", "--clear"]).arg(&venv);
    let (status, _, err) = run_bounded(command, Duration::from_secs(120));
    if !status.success() {
        return give_up(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&err)
        ));
    }
    let mut command = Command::new(&venv_python);
    command.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "requests",
    ]);
    let (status, _, err) = run_bounded(command, Duration::from_secs(300));
    if !status.success() || !has_requests(&venv_python) {
        return give_up(format!(
            "pip install requests failed: {}",
            String::from_utf8_lossy(&err)
        ));
    }
    Some(venv_python)
}

const REQUESTS_UPLOAD: &str = r#"
import json, sys, requests
url = sys.argv[1]
files = [
    ("title", (None, "héllo")),
    ("doc", ("notes.txt", b"line one\nline two\n", "text/plain")),
    ("blob", ("blob.bin", bytes(range(256)) * 4096, "application/octet-stream")),
]
r = requests.post(url, files=files, timeout=60)
over = requests.post(url, files=[("big", ("big.bin", b"x" * (1024 * 1024 + 1)))], timeout=60)
many = requests.post(url, files=[("p%d" % i, (None, "v")) for i in range(17)], timeout=60)
print(json.dumps({"ok": [r.status_code, r.json()], "over": [over.status_code, over.json()], "many": [many.status_code, many.json()]}))
"#;

#[test]
fn upload_with_python_requests() {
    let Some(python) = python_with_requests() else {
        return;
    };
    let api = Api::start();
    let mut command = Command::new(python);
    command.args(["-c", REQUESTS_UPLOAD, &api.url("/upload")]);
    let (status, out, err) = run_bounded(command, Duration::from_secs(120));
    assert!(
        status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&err)
    );
    let value: Value = serde_json::from_slice(&out).expect("the script prints JSON");
    assert_eq!(
        value["ok"],
        json!([200, {"parts": [
            {"name": "title", "filename": null, "size": "héllo".len()},
            {"name": "doc", "filename": "notes.txt", "size": 18},
            {"name": "blob", "filename": "blob.bin", "size": 1 << 20},
        ]}])
    );
    assert_eq!(value["over"][0], 413, "{value}");
    assert_error_value(&value["over"][1], 413);
    assert_eq!(value["many"][0], 413, "{value}");
    assert_error_value(&value["many"][1], 413);
}

fn visit(api: &Api, cookie: Option<&str>) -> (u64, Option<String>) {
    let mut conn = api.connect();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    conn.send_ok(format!("GET /visits HTTP/1.1\r\nHost: t\r\n{cookie}\r\n").as_bytes());
    let r = conn.response();
    assert_eq!(r.status, 200, "{}", r.text());
    let visits = r.json()["visits"].as_u64().expect("a count");
    (visits, r.header("set-cookie").map(str::to_owned))
}

#[test]
fn visits_counts_in_a_signed_cookie_over_the_wire() {
    let api = Api::start();
    let (n, set) = visit(&api, None);
    let set = set.expect("Set-Cookie on the first visit");
    assert_eq!(n, 1);
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    let pair = cookie_pair(&set).to_owned();
    assert!(
        pair.starts_with("visits=") && pair.ends_with('1'),
        "carries n: {pair}"
    );
    let (n, set) = visit(&api, Some(&pair));
    assert_eq!(n, 2);
    let pair2 = cookie_pair(set.as_deref().unwrap()).to_owned();
    assert!(pair2.ends_with('2'), "{pair2}");
    assert_eq!(visit(&api, Some(&format!("other=1; {pair2}"))).0, 3);
    // Tampered (the count changed), unsigned, or garbage: counts as none.
    let forged = format!("{}7", &pair2[..pair2.len() - 1]);
    for cookie in [forged.as_str(), "visits=5", "visits=%zz", "visits"] {
        assert_eq!(visit(&api, Some(cookie)).0, 1, "{cookie}");
    }
}

#[test]
fn visits_keeps_counting_across_restarts_with_a_configured_key() {
    let key = "k".repeat(64);
    let env = [("SUTEGI_COOKIE_KEY", key.as_str())];
    let api = Api::start_with(&["127.0.0.1:0"], &env);
    let (_, set) = visit(&api, None);
    let pair = cookie_pair(set.as_deref().unwrap()).to_owned();
    drop(api);
    let api = Api::start_with(&["127.0.0.1:0"], &env);
    assert_eq!(visit(&api, Some(&pair)).0, 2, "the same key verifies");
    drop(api);
    let api = Api::start();
    assert_eq!(visit(&api, Some(&pair)).0, 1, "a random key does not");
    drop(api);
    // A key too short is refused at start-up, naming the variable.
    let (mut child, stderr) = common::spawn(&["127.0.0.1:0"], &[("SUTEGI_COOKIE_KEY", "short")]);
    let status = common::wait_bounded(&mut child, Duration::from_secs(30)).expect("exits");
    assert_eq!(status.code(), Some(2));
    let mut text = String::new();
    std::fs::File::open(stderr)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("SUTEGI_COOKIE_KEY"), "{text}");
}
