//! Every row of `docs/reference-api.md` that exists today, driven against
//! the real `examples/api` binary with real HTTP clients: ureq for most
//! rows, curl and Python's `http.client` in a test each, and raw sockets
//! where the wire itself is the point (HEAD without a body, chunk framing,
//! flushing, HTTP/1.0 close-delimited streams). Each test starts its own
//! server on a free loopback port. Rows of the everyday issue (static
//! files, `/healthz`, CORS, `X-Request-Id`, the access log) are in
//! `everyday.rs`.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_error, error_shape_problem, required_tool, run_bounded, Api, Response};
use serde_json::{json, Value};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirects(0)
        .build()
}

/// One request through ureq; a 4xx/5xx is an answer here, not an error.
fn fetch(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Response {
    let mut request = agent.request(method, url);
    if let Some(content_type) = content_type {
        request = request.set("Content-Type", content_type);
    }
    let result = match body {
        Some(body) => request.send_bytes(body),
        None => request.call(),
    };
    from_ureq(method, url, result)
}

fn from_ureq(method: &str, url: &str, result: Result<ureq::Response, ureq::Error>) -> Response {
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let headers = response
        .headers_names()
        .into_iter()
        .flat_map(|name| {
            response
                .all(&name)
                .into_iter()
                .map(move |v| (name.clone(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let version = response.http_version().to_owned();
    let status = response.status();
    let reason = response.status_text().to_owned();
    let mut body = Vec::new();
    response
        .into_reader()
        .take(16 << 20)
        .read_to_end(&mut body)
        .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
    Response {
        version,
        status,
        reason,
        headers,
        body,
        chunks: None,
        close_delimited: false,
    }
}

fn get(agent: &ureq::Agent, url: &str) -> Response {
    fetch(agent, "GET", url, None, None)
}

/// The frames of an SSE body, each as its lines, comments dropped.
fn frames(body: &str) -> Vec<Vec<String>> {
    body.split("\n\n")
        .map(|frame| {
            frame
                .lines()
                .filter(|l| !l.starts_with(':'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|lines| !lines.is_empty())
        .collect()
}

/// The frames `/events` must send for ids `ids`.
fn ticks(ids: impl IntoIterator<Item = u64>) -> Vec<Vec<String>> {
    ids.into_iter()
        .map(|i| {
            vec![
                "event: tick".to_owned(),
                format!("id: {i}"),
                format!("data: {i}"),
            ]
        })
        .collect()
}

/// Frames with their lines sorted, so the check is "together in one frame",
/// not a line order the spec does not fix.
fn sorted(frames: Vec<Vec<String>>) -> Vec<Vec<String>> {
    frames
        .into_iter()
        .map(|mut f| {
            f.sort();
            f
        })
        .collect()
}

#[test]
fn plaintext_is_hello_world_as_text() {
    let api = Api::start();
    let r = get(&agent(), &api.url("/plaintext"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "Hello, World!");
    assert_eq!(r.header("content-length"), Some("13"));
}

#[test]
fn json_is_the_hello_message() {
    let api = Api::start();
    let r = get(&agent(), &api.url("/json"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"message": "Hello, World!"}));
    assert_eq!(
        r.text(),
        r#"{"message":"Hello, World!"}"#,
        "the exact bytes of the row"
    );
}

#[test]
fn users_by_id_parse_the_capture_as_a_u64() {
    let api = Api::start();
    let agent = agent();
    for (path, id) in [
        ("/users/1", 1u64),
        ("/users/42", 42),
        ("/users/007", 7),
        ("/users/0", 0),
        ("/users/18446744073709551615", u64::MAX),
        ("/users/%34%32", 42), // captures are percent-decoded before parsing
    ] {
        let r = get(&agent, &api.url(path));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(
            r.json(),
            json!({"id": id, "name": format!("user{id}")}),
            "{path}"
        );
    }
}

#[test]
fn users_by_id_refuse_what_is_not_a_u64() {
    let api = Api::start();
    let agent = agent();
    for path in [
        "/users/abc",
        "/users/-1",
        "/users/+",
        "/users/1.5",
        "/users/18446744073709551616",
        "/users/0x10",
        "/users/%201",
        "/users/1%20",
    ] {
        let r = get(&agent, &api.url(path));
        assert_error(&r, 400, Some("id"), path);
    }
}

#[test]
fn creating_users_counts_ids_up_from_one_with_a_location() {
    let api = Api::start();
    let agent = agent();
    for (i, (content_type, name)) in [
        ("application/json", "ann"),
        ("application/json; charset=utf-8", "bob"),
        ("application/problem+json", "cy"),
        ("Application/JSON", "dee"),
        ("application/json", "\u{e9}\u{1F600} \"quoted\""),
    ]
    .into_iter()
    .enumerate()
    {
        let id = i as u64 + 1;
        let body = serde_json::to_vec(&json!({ "name": name })).unwrap();
        let r = fetch(
            &agent,
            "POST",
            &api.url("/users"),
            Some(content_type),
            Some(&body),
        );
        assert_eq!(r.status, 201, "{content_type}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("location"), Some(format!("/users/{id}").as_str()));
        assert_eq!(r.json(), json!({"id": id, "name": name}));
        // The Location leads to a user.
        assert_eq!(get(&agent, &api.url(&format!("/users/{id}"))).status, 200);
    }
    // Extra fields are ignored, as serde does by default.
    let r = fetch(
        &agent,
        "POST",
        &api.url("/users"),
        Some("application/json"),
        Some(br#"{"name":"x","age":3}"#),
    );
    assert_eq!((r.status, r.json()), (201, json!({"id": 6, "name": "x"})));
}

#[test]
fn creating_users_from_many_threads_hands_out_each_id_once() {
    let api = Api::start();
    let url = api.url("/users");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = agent();
                (0..10)
                    .map(|i| {
                        let body = format!(r#"{{"name":"t{t}-{i}"}}"#);
                        let r = fetch(
                            &agent,
                            "POST",
                            &url,
                            Some("application/json"),
                            Some(body.as_bytes()),
                        );
                        assert_eq!(r.status, 201, "{}", r.text());
                        let id = r.json()["id"].as_u64().expect("a numeric id");
                        assert_eq!(r.header("location"), Some(format!("/users/{id}").as_str()));
                        id
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread"))
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=40).collect::<Vec<u64>>(),
        "one process-wide counter, each id once"
    );
}

#[test]
fn creating_users_refuses_bad_bodies_and_content_types() {
    let api = Api::start();
    let agent = agent();
    let cases: &[(&str, Option<&str>, &[u8], u16)] = &[
        (
            "malformed JSON",
            Some("application/json"),
            br#"{"name":"#,
            400,
        ),
        (
            "not JSON at all",
            Some("application/json"),
            b"name=ann",
            400,
        ),
        ("an empty body", Some("application/json"), b"", 400),
        (
            "a trailing comma",
            Some("application/json"),
            br#"{"name":"a",}"#,
            400,
        ),
        (
            "missing name",
            Some("application/json"),
            br#"{"nom":"ann"}"#,
            422,
        ),
        (
            "name a number",
            Some("application/json"),
            br#"{"name":5}"#,
            422,
        ),
        (
            "name null",
            Some("application/json"),
            br#"{"name":null}"#,
            422,
        ),
        ("a string", Some("application/json"), br#""ann""#, 422),
        ("an empty array", Some("application/json"), b"[]", 422),
        ("no Content-Type", None, br#"{"name":"ann"}"#, 415),
        ("text/plain", Some("text/plain"), br#"{"name":"ann"}"#, 415),
        (
            "a form",
            Some("application/x-www-form-urlencoded"),
            b"name=ann",
            415,
        ),
        (
            "application/jsonx",
            Some("application/jsonx"),
            br#"{"name":"ann"}"#,
            415,
        ),
    ];
    let mut failures = Vec::new();
    for (what, content_type, body, status) in cases {
        let r = fetch(
            &agent,
            "POST",
            &api.url("/users"),
            *content_type,
            Some(body),
        );
        // The row allows 400 for a missing or mistyped name.
        let accepted = r.status == *status || (*status == 422 && r.status == 400);
        if !accepted {
            failures.push(format!(
                "{what}: {} instead of {status}: {}",
                r.status,
                r.text()
            ));
        } else if let Some(problem) =
            error_shape_problem(r.status, r.header("content-type"), &r.body, None)
        {
            failures.push(format!("{what}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // None of the refusals took an id.
    let r = fetch(
        &agent,
        "POST",
        &api.url("/users"),
        Some("application/json"),
        Some(br#"{"name":"first"}"#),
    );
    assert_eq!(
        (r.status, r.json()),
        (201, json!({"id": 1, "name": "first"}))
    );
}

#[test]
fn search_reads_q_and_limit_form_decoded() {
    let api = Api::start();
    let agent = agent();
    for (query, q, limit) in [
        ("q=rust", "rust", 10u32),
        ("q=rust&limit=3", "rust", 3),
        ("limit=3&q=rust", "rust", 3),
        ("q=a+b", "a b", 10),
        ("q=a%2Bb", "a+b", 10),
        ("q=caf%C3%A9%21", "caf\u{e9}!", 10),
        ("q=%26%3D%3F", "&=?", 10),
        ("q=", "", 10),
        ("q=&limit=0", "", 0),
        ("q=x&limit=4294967295", "x", u32::MAX),
        ("q=x&limit=007", "x", 7),
    ] {
        let r = get(&agent, &api.url(&format!("/search?{query}")));
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{query}"
        );
        assert_eq!(r.json(), json!({"q": q, "limit": limit}), "{query}");
    }
}

#[test]
fn search_refuses_missing_q_bad_limit_and_repeated_parameters() {
    let api = Api::start();
    let agent = agent();
    for (query, naming) in [
        ("", "q"),
        ("limit=3", "q"),
        ("Q=x", "q"),
        ("q=x&limit=", "limit"),
        ("q=x&limit=abc", "limit"),
        ("q=x&limit=-1", "limit"),
        ("q=x&limit=4294967296", "limit"),
        ("q=x&limit=1.5", "limit"),
        ("q=x&limit=+1+", "limit"),
        ("q=a&q=b", "q"),
        ("q=a&limit=1&limit=1", "limit"),
    ] {
        let target = format!("/search?{query}");
        let r = get(&agent, &api.url(&target));
        assert_error(&r, 400, Some(naming), &target);
    }
    let r = get(&agent, &api.url("/search"));
    assert_error(&r, 400, Some("q"), "/search without a query");
}

#[test]
fn echo_returns_sized_bodies_byte_for_byte_with_their_content_type() {
    let api = Api::start();
    let agent = agent();
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(3 * 256).collect();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    for (content_type, body, expected_type) in [
        (
            Some("text/plain; charset=utf-8"),
            b"hello".as_slice(),
            "text/plain; charset=utf-8",
        ),
        (
            Some("application/x-custom"),
            every_byte.as_slice(),
            "application/x-custom",
        ),
        (Some("image/png"), big.as_slice(), "image/png"),
        (None, b"no type".as_slice(), "application/octet-stream"),
        (None, b"".as_slice(), "application/octet-stream"),
    ] {
        let r = fetch(&agent, "POST", &api.url("/echo"), content_type, Some(body));
        assert_eq!(r.status, 200, "{content_type:?}");
        assert_eq!(r.header("content-type"), Some(expected_type));
        assert!(
            r.body == body,
            "{content_type:?}: {} bytes came back for {}",
            r.body.len(),
            body.len()
        );
    }
}

#[test]
fn echo_returns_chunked_bodies() {
    let api = Api::start();
    let agent = agent();
    // ureq sends a body of unknown length chunked.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let result = agent
        .post(&api.url("/echo"))
        .set("Content-Type", "application/x-chunks")
        .send(std::io::Cursor::new(body.clone()));
    let r = from_ureq("POST", "/echo", result);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-chunks"));
    assert!(
        r.body == body,
        "{} bytes came back for {}",
        r.body.len(),
        body.len()
    );

    // And on the wire, with several chunks, an extension and a trailer,
    // with no Content-Type.
    let mut conn = api.connect();
    conn.send_ok(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n",
    );
    let r = conn.response();
    assert_eq!(
        (r.status, r.text()),
        (200, "hello world".to_owned()),
        "{}",
        conn.transcript()
    );
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
}

#[test]
fn files_answers_the_decoded_rest_of_the_path() {
    let api = Api::start();
    let agent = agent();
    for (path, body) in [
        ("/files/a", "a"),
        ("/files/a/b/c.txt", "a/b/c.txt"),
        ("/files/a%20b", "a b"),
        ("/files/a%2Fb", "a/b"),
        ("/files/100%25", "100%"),
        ("/files/%E2%9C%93.txt", "\u{2713}.txt"),
        ("/files/dir/", "dir/"),
        ("/files/a+b", "a+b"), // `+` is a space only in queries
        ("/files/x?ignored=1", "x"),
    ] {
        let r = get(&agent, &api.url(path));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{path}"
        );
        assert_eq!(r.text(), body, "{path}");
    }
    for path in ["/files/", "/files"] {
        let r = get(&agent, &api.url(path));
        assert_error(&r, 404, None, path);
    }
    // Not UTF-8 after decoding: a 400 for a String capture (docs/server.md).
    let r = get(&agent, &api.url("/files/%FF"));
    assert_error(&r, 400, Some("path"), "/files/%FF");
}

#[test]
fn events_send_n_frames_with_event_id_and_data_together() {
    let api = Api::start();
    let agent = agent();
    for (query, n) in [
        ("", 5u64),
        ("?n=3", 3),
        ("?n=1", 1),
        ("?n=0", 0),
        ("?n=40", 40),
        ("?interval_ms=0", 5),
    ] {
        let r = get(&agent, &api.url(&format!("/events{query}")));
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(
            r.header("content-type"),
            Some("text/event-stream"),
            "{query}"
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{query}");
        assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{query}");
        assert_eq!(
            sorted(frames(&r.text())),
            sorted(ticks(0..n)),
            "{query}: {:?}",
            r.text()
        );
    }
    // On the wire: each frame is one chunk and the stream ends with the zero chunk.
    let mut conn = api.connect();
    conn.send_ok(b"GET /events?n=3 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = conn.response();
    let chunks = r.chunks.expect("a chunked body");
    let per_chunk: Vec<Vec<Vec<String>>> = chunks
        .iter()
        .map(|c| frames(&String::from_utf8_lossy(c)))
        .collect();
    assert_eq!(
        per_chunk.len(),
        3,
        "one chunk per frame\n{}",
        conn.transcript()
    );
    for (i, chunk) in per_chunk.into_iter().enumerate() {
        assert_eq!(sorted(chunk), sorted(ticks([i as u64])), "chunk {i}");
    }
}

#[test]
fn events_resume_after_last_event_id() {
    let api = Api::start();
    let agent = agent();
    let events = |last: &str, n: u32| {
        let url = api.url(&format!("/events?n={n}"));
        let r = from_ureq(
            "GET",
            &url,
            agent.get(&url).set("Last-Event-ID", last).call(),
        );
        assert_eq!(r.status, 200, "Last-Event-ID {last:?}");
        assert_eq!(r.header("content-type"), Some("text/event-stream"));
        sorted(frames(&r.text()))
    };
    assert_eq!(events("0", 5), sorted(ticks(1..5)));
    assert_eq!(events("2", 5), sorted(ticks(3..5)));
    assert_eq!(events("3", 5), sorted(ticks([4])));
    assert_eq!(
        events("007", 9),
        sorted(ticks([8])),
        "plain digits, leading zeros included"
    );
    // Nothing left: an empty stream that ends.
    for last in [
        "4",
        "5",
        "1000",
        "4294967296",
        "18446744073709551614",
        "18446744073709551615",
    ] {
        assert_eq!(
            events(last, 5),
            Vec::<Vec<String>>::new(),
            "Last-Event-ID {last}"
        );
    }
    // Anything else is ignored: the stream starts at 0.
    for last in [
        "abc",
        "-1",
        "+1",
        "1.0",
        "0x1",
        "1 2",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        assert_eq!(
            events(last, 3),
            sorted(ticks(0..3)),
            "Last-Event-ID {last:?} must be ignored"
        );
    }
    // An empty value (raw, since clients tend to drop it) is ignored too.
    let mut conn = api.connect();
    conn.send_ok(b"GET /events?n=2 HTTP/1.1\r\nHost: t\r\nLast-Event-ID:\r\n\r\n");
    let r = conn.response();
    assert_eq!(
        sorted(frames(&r.text())),
        sorted(ticks(0..2)),
        "{}",
        conn.transcript()
    );
}

#[test]
fn events_are_paced_by_interval_ms_and_the_first_comes_at_once() {
    let api = Api::start();
    // Paced: three events 300 ms apart take at least 600 ms.
    let started = Instant::now();
    let r = get(&agent(), &api.url("/events?n=3&interval_ms=300"));
    let took = started.elapsed();
    assert_eq!(sorted(frames(&r.text())), sorted(ticks(0..3)));
    assert!(
        took >= Duration::from_millis(590),
        "3 events at 300 ms took only {took:?}"
    );

    // The first event at once, not after an interval (5 s here; 4 s of
    // margin for a loaded machine).
    let mut conn = api.connect();
    let started = Instant::now();
    conn.send_ok(b"GET /events?n=2&interval_ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let first_frame_end = b"data: 0\n\n";
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = conn.peek_raw(seen.len() + 1, Duration::from_secs(4));
        if seen
            .windows(first_frame_end.len())
            .any(|w| w == first_frame_end)
            || started.elapsed() > Duration::from_secs(4)
        {
            break;
        }
    }
    assert!(
        seen.windows(first_frame_end.len())
            .any(|w| w == first_frame_end),
        "the first event did not arrive within 4 s (the interval is 5 s)\n{}",
        conn.transcript()
    );
}

#[test]
fn stream_sends_one_flushed_chunk_per_line() {
    let api = Api::start();
    let agent = agent();
    for (query, n) in [
        ("", 5u32),
        ("?n=3", 3),
        ("?n=0", 0),
        ("?n=2&interval_ms=100", 2),
    ] {
        let r = get(&agent, &api.url(&format!("/stream{query}")));
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{query}"
        );
        assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{query}");
        let expected: String = (0..n).map(|i| format!("chunk {i}\n")).collect();
        assert_eq!(r.text(), expected, "{query}");
    }
    // Each line is its own chunk.
    let mut conn = api.connect();
    conn.send_ok(b"GET /stream?n=4 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = conn.response();
    let expected: Vec<Vec<u8>> = (0..4)
        .map(|i| format!("chunk {i}\n").into_bytes())
        .collect();
    assert_eq!(r.chunks, Some(expected), "{}", conn.transcript());

    // Flushed as written: the first line arrives long before the second
    // is due (5 s later).
    let mut conn = api.connect();
    let started = Instant::now();
    conn.send_ok(b"GET /stream?n=2&interval_ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = conn.peek_raw(seen.len() + 1, Duration::from_secs(4));
        if seen.windows(9).any(|w| w == b"chunk 0\n\r")
            || started.elapsed() > Duration::from_secs(4)
        {
            break;
        }
    }
    assert!(
        seen.windows(9).any(|w| w == b"chunk 0\n\r"),
        "the first line was not flushed within 4 s\n{}",
        conn.transcript()
    );
}

#[test]
fn streams_on_http_1_0_are_delimited_by_close() {
    let api = Api::start();
    for (request, expected) in [
        (
            &b"GET /stream?n=3 HTTP/1.0\r\n\r\n"[..],
            "chunk 0\nchunk 1\nchunk 2\n".to_owned(),
        ),
        (
            &b"GET /stream?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"[..],
            "chunk 0\nchunk 1\n".to_owned(),
        ),
        (
            &b"GET /events?n=2 HTTP/1.0\r\nHost: t\r\n\r\n"[..],
            "event".to_owned(),
        ),
    ] {
        let mut conn = api.connect();
        conn.send_ok(request);
        let r = conn.response();
        let context = conn.transcript();
        assert_eq!(r.status, 200, "{context}");
        assert!(
            r.close_delimited,
            "the body must be delimited by close\n{context}"
        );
        assert_eq!(
            r.header("transfer-encoding"),
            None,
            "no chunked framing on HTTP/1.0\n{context}"
        );
        assert_eq!(r.header("content-length"), None, "{context}");
        if expected == "event" {
            assert_eq!(sorted(frames(&r.text())), sorted(ticks(0..2)), "{context}");
        } else {
            assert_eq!(r.text(), expected, "{context}");
        }
    }
}

#[test]
fn streams_leave_http_1_1_connections_usable() {
    let api = Api::start();
    let mut conn = api.connect();
    for target in [
        "/stream?n=2",
        "/events?n=2",
        "/stream?n=0",
        "/events?n=0",
        "/plaintext",
    ] {
        conn.send_ok(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let r = conn.response();
        assert_eq!(r.status, 200, "{target}\n{}", conn.transcript());
        assert!(!r.says_close(), "{target}\n{}", conn.transcript());
    }
    conn.assert_open(
        Duration::from_millis(300),
        "the streams and a plain request",
    );
}

#[test]
fn slow_sleeps_then_answers_get_and_post_with_any_body() {
    let api = Api::start();
    // The upper bound itself sleeps 10 s: run it beside the rest.
    let longest_url = api.url("/slow?ms=10000");
    let longest = std::thread::spawn(move || {
        let started = Instant::now();
        let r = get(&agent(), &longest_url);
        (r, started.elapsed())
    });
    let agent = agent();
    for (query, ms) in [
        ("", 0u64),
        ("?ms=0", 0),
        ("?ms=5", 5),
        ("?ms=250", 250),
        ("?ms=0250", 250),
    ] {
        let started = Instant::now();
        let r = get(&agent, &api.url(&format!("/slow{query}")));
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.text(), format!("slept {ms}"));
        assert!(
            started.elapsed() >= Duration::from_millis(ms),
            "{query} answered before sleeping"
        );
    }
    for (content_type, body) in [
        (None, &b""[..]),
        (Some("application/json"), br#"{"anything": true}"#),
        (Some("application/json"), b"not even json"),
        (Some("text/plain"), b"words"),
        (Some("application/x-www-form-urlencoded"), b"a=1&b=2"),
        (Some("application/octet-stream"), &[0u8, 1, 2, 255][..]),
    ] {
        let r = fetch(
            &agent,
            "POST",
            &api.url("/slow?ms=20"),
            content_type,
            Some(body),
        );
        assert_eq!(
            (r.status, r.text()),
            (200, "slept 20".to_owned()),
            "POST with {content_type:?}"
        );
    }
    let result = agent
        .post(&api.url("/slow?ms=1"))
        .send(std::io::Cursor::new(vec![b'x'; 10_000]));
    let r = from_ureq("POST", "/slow", result);
    assert_eq!(
        (r.status, r.text()),
        (200, "slept 1".to_owned()),
        "POST with a chunked body"
    );

    let (r, took) = longest.join().expect("the 10 s request");
    assert_eq!((r.status, r.text()), (200, "slept 10000".to_owned()));
    assert!(took >= Duration::from_secs(10), "{took:?}");
}

#[test]
fn slow_refuses_ms_outside_0_to_10000() {
    let api = Api::start();
    let agent = agent();
    for query in [
        "ms=10001",
        "ms=-1",
        "ms=x",
        "ms=",
        "ms=1.5",
        "ms=18446744073709551616",
        "ms=1&ms=2",
        "ms=%2B",
    ] {
        let started = Instant::now();
        let r = get(&agent, &api.url(&format!("/slow?{query}")));
        assert_error(&r, 400, Some("ms"), query);
        let r2 = fetch(
            &agent,
            "POST",
            &api.url(&format!("/slow?{query}")),
            Some("text/plain"),
            Some(b"x"),
        );
        assert_error(&r2, 400, Some("ms"), &format!("POST {query}"));
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "{query}: refused only after sleeping"
        );
    }
}

#[test]
fn a_panicking_handler_is_a_500_without_the_message_and_the_server_lives_on() {
    let api = Api::start();
    let agent = agent();
    for i in 0..12 {
        let r = get(&agent, &api.url("/panic"));
        assert_error(&r, 500, None, &format!("panic {i}"));
        let body = r.text();
        assert!(
            !body.contains("on purpose") && !body.contains("panicked"),
            "the panic message leaked: {body}"
        );
        // Each panic leaves a worker that still answers.
        assert_eq!(
            get(&agent, &api.url("/plaintext")).text(),
            "Hello, World!",
            "after panic {i}"
        );
    }
    // The panic message went to the log, not to the client.
    api.assert_alive("twelve panics");
}

#[test]
fn unknown_paths_are_404_with_the_json_error_body() {
    let api = Api::start();
    let agent = agent();
    for path in [
        "/",
        "/nope",
        "/PLAINTEXT",
        "/users/",
        "/users/1/posts",
        "/statics",
        "/json.json",
        "/%70laintext",
    ] {
        let r = get(&agent, &api.url(path));
        assert_error(&r, 404, None, path);
    }
    let r = fetch(
        &agent,
        "POST",
        &api.url("/nope"),
        Some("application/json"),
        Some(b"{}"),
    );
    assert_error(&r, 404, None, "POST /nope");
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let api = Api::start();
    let agent = agent();
    let get_only = "GET, HEAD, OPTIONS";
    for (method, path, allow) in [
        ("POST", "/plaintext", get_only),
        ("DELETE", "/json", get_only),
        ("PUT", "/users/1", get_only),
        ("PATCH", "/search?q=x", get_only),
        ("POST", "/files/a", get_only),
        ("POST", "/events", get_only),
        ("DELETE", "/stream", get_only),
        ("POST", "/panic", get_only),
        ("GET", "/users", "POST, OPTIONS"),
        ("PUT", "/users", "POST, OPTIONS"),
        ("GET", "/echo", "POST, OPTIONS"),
        ("DELETE", "/slow", "GET, HEAD, POST, OPTIONS"),
        ("PUT", "/slow?ms=1", "GET, HEAD, POST, OPTIONS"),
    ] {
        let body: Option<&[u8]> = if matches!(method, "POST" | "PUT" | "PATCH") {
            Some(b"x")
        } else {
            None
        };
        let r = fetch(&agent, method, &api.url(path), Some("text/plain"), body);
        let context = format!("{method} {path}");
        assert_error(&r, 405, Some(method), &context);
        assert_eq!(r.header("allow"), Some(allow), "{context}");
    }
}

#[test]
fn head_answers_every_get_route_like_get_without_a_body() {
    let api = Api::start();
    let mut failures = Vec::new();
    for target in [
        "/plaintext",
        "/json",
        "/users/7",
        "/users/x",
        "/search?q=a",
        "/search",
        "/files/a/b",
        "/files/",
        "/events?n=3",
        "/events?n=x",
        "/stream?n=3",
        "/slow?ms=1",
        "/slow?ms=x",
        "/panic",
        "/nope",
    ] {
        // HEAD then GET on one connection: the GET's status line comes
        // straight after the HEAD's headers, so the HEAD sent no body.
        let mut conn = api.connect();
        conn.send_ok(
            format!(
                "HEAD {target} HTTP/1.1\r\nHost: t\r\n\r\nGET {target} HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            .as_bytes(),
        );
        let head = conn.read_head_response();
        let get = conn.read_response();
        let (head, get) = match (head, get) {
            (Ok(head), Ok(get)) => (head, get),
            (head, get) => {
                failures.push(format!(
                    "{target}: {:?} / {:?}\n{}",
                    head.err(),
                    get.err(),
                    conn.transcript()
                ));
                continue;
            }
        };
        let comparable = |r: &Response| {
            let mut headers: Vec<(String, String)> = r
                .headers
                .iter()
                // Per response by nature: the clock and the request id.
                .filter(|(n, _)| {
                    !n.eq_ignore_ascii_case("date") && !n.eq_ignore_ascii_case("x-request-id")
                })
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect();
            headers.sort();
            headers
        };
        if head.status != get.status || comparable(&head) != comparable(&get) {
            failures.push(format!(
                "{target}: HEAD {} {:?}\nvs GET {} {:?}",
                head.status,
                comparable(&head),
                get.status,
                comparable(&get)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn head_on_streams_does_not_run_the_producer() {
    let api = Api::start();
    // Each producer would take 3 × 4 s. If HEAD ran it, the connection
    // would be busy (or the answer late) for 8 s.
    for target in [
        "/events?n=3&interval_ms=4000",
        "/stream?n=3&interval_ms=4000",
    ] {
        let mut conn = api.connect();
        let started = Instant::now();
        conn.send_ok(format!("HEAD {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let head = conn.head_response();
        assert_eq!(head.status, 200, "{}", conn.transcript());
        let expected_type = if target.starts_with("/events") {
            "text/event-stream"
        } else {
            "text/plain; charset=utf-8"
        };
        assert_eq!(
            head.header("content-type"),
            Some(expected_type),
            "{}",
            conn.transcript()
        );
        conn.send_ok(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
        let next = conn.response();
        assert_eq!(next.text(), "Hello, World!", "{}", conn.transcript());
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(6),
            "HEAD {target} and a GET took {took:?}: the producer ran"
        );
    }
}

#[test]
fn options_is_204_with_allow() {
    let api = Api::start();
    let agent = agent();
    let get_only = "GET, HEAD, OPTIONS";
    for (path, allow) in [
        ("/plaintext", get_only),
        ("/json", get_only),
        ("/users/1", get_only),
        ("/users/x", get_only),
        ("/users", "POST, OPTIONS"),
        ("/search", get_only),
        ("/echo", "POST, OPTIONS"),
        ("/files/a", get_only),
        ("/events", get_only),
        ("/stream", get_only),
        ("/slow", "GET, HEAD, POST, OPTIONS"),
        ("/panic", get_only),
    ] {
        let r = fetch(&agent, "OPTIONS", &api.url(path), None, None);
        assert_eq!(r.status, 204, "OPTIONS {path}: {}", r.text());
        assert_eq!(r.header("allow"), Some(allow), "OPTIONS {path}");
        assert!(r.body.is_empty(), "OPTIONS {path}");
    }
    // A path no route matches is still a 404.
    let r = fetch(&agent, "OPTIONS", &api.url("/nope"), None, None);
    assert_error(&r, 404, None, "OPTIONS /nope");
    // `OPTIONS *` asks about the server: every method some route takes.
    let mut conn = api.connect();
    conn.send_ok(b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = conn.response();
    assert_eq!(r.status, 204, "{}", conn.transcript());
    let allow = r.header("allow").unwrap_or_default().to_owned();
    for method in ["GET", "HEAD", "POST", "OPTIONS"] {
        assert!(
            allow.split(", ").any(|m| m == method),
            "OPTIONS * Allow {allow:?} lacks {method}"
        );
    }
}

#[test]
fn query_parameters_that_do_not_parse_are_400s_naming_them() {
    let api = Api::start();
    let agent = agent();
    let mut failures = Vec::new();
    for (target, name) in [
        ("/events?n=x", "n"),
        ("/events?n=", "n"),
        ("/events?n=-1", "n"),
        ("/events?n=4294967296", "n"),
        ("/events?n=1&n=2", "n"),
        ("/events?interval_ms=x", "interval_ms"),
        ("/events?interval_ms=-5", "interval_ms"),
        ("/events?interval_ms=", "interval_ms"),
        ("/stream?n=x", "n"),
        ("/stream?n=2.0", "n"),
        ("/stream?interval_ms=1e3", "interval_ms"),
        ("/stream?interval_ms=18446744073709551616", "interval_ms"),
        ("/search?q=x&limit=ten", "limit"),
        ("/search?q=x&limit=%31%30x", "limit"),
        ("/slow?ms=soon", "ms"),
        ("/slow?ms=99999", "ms"),
    ] {
        let r = get(&agent, &api.url(target));
        let problem = if r.status != 400 {
            Some(format!("status {}: {}", r.status, r.text()))
        } else {
            error_shape_problem(400, r.header("content-type"), &r.body, Some(name))
        };
        if let Some(problem) = problem {
            failures.push(format!("{target}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs curl with `args` (plus `-sS` and a time bound), returning
/// (stdout, stderr); a missing curl fails the test.
fn curl(args: &[&str]) -> (String, String) {
    let program = required_tool("curl", "curl");
    let mut command = Command::new(program);
    command
        .args(["-sS", "--max-time", "30", "--noproxy", "*"])
        .args(args);
    let (status, stdout, stderr) = run_bounded(command, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    assert!(
        status.success(),
        "curl {args:?} failed ({status}): {stderr}"
    );
    (String::from_utf8_lossy(&stdout).into_owned(), stderr)
}

/// Splits curl `-i` output into (the last status line and headers, body),
/// skipping interim 1xx heads.
fn split_curl_output(output: &str) -> (String, String) {
    let mut rest = output;
    for _ in 0..10 {
        let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        if head.starts_with("HTTP/1.1 1") || head.starts_with("HTTP/1.0 1") {
            rest = body;
            continue;
        }
        return (head.to_owned(), body.to_owned());
    }
    panic!("too many interim responses: {output}");
}

#[test]
fn curl_drives_the_api() {
    let api = Api::start();
    let (out, _) = curl(&["-i", &api.url("/json")]);
    let (head, body) = split_curl_output(&out);
    assert!(head.starts_with("HTTP/1.1 200"), "{out}");
    assert!(head.contains("Content-Type: application/json"), "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"message": "Hello, World!"})
    );

    // POST /users with a JSON body.
    let (out, _) = curl(&[
        "-i",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"{"name":"curl"}"#,
        &api.url("/users"),
    ]);
    let (head, body) = split_curl_output(&out);
    assert!(head.starts_with("HTTP/1.1 201"), "{out}");
    assert!(head.contains("Location: /users/1"), "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"id": 1, "name": "curl"})
    );

    // Chunked upload, and Expect: 100-continue answered before the body.
    let (out, _) = curl(&[
        "-i",
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Expect: 100-continue",
        "-H",
        "Content-Type: text/x-curl",
        "--data-binary",
        "sent in chunks",
        &api.url("/echo"),
    ]);
    assert!(out.starts_with("HTTP/1.1 100 Continue\r\n"), "{out}");
    let (head, body) = split_curl_output(&out);
    assert!(head.starts_with("HTTP/1.1 200"), "{out}");
    assert!(head.contains("Content-Type: text/x-curl"), "{out}");
    assert_eq!(body, "sent in chunks");

    // Query decoding, as curl's --get --data-urlencode sends it.
    let (out, _) = curl(&[
        "--get",
        "--data-urlencode",
        "q=a b&c",
        "--data-urlencode",
        "limit=2",
        &api.url("/search"),
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"q": "a b&c", "limit": 2})
    );

    // SSE, unbuffered.
    let (out, _) = curl(&["-N", &api.url("/events?n=3")]);
    assert_eq!(sorted(frames(&out)), sorted(ticks(0..3)));

    // HTTP/1.0: the stream is delimited by close.
    let (out, _) = curl(&["-i", "--http1.0", &api.url("/stream?n=2")]);
    let (head, body) = split_curl_output(&out);
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{out}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "{out}"
    );
    assert_eq!(body, "chunk 0\nchunk 1\n");

    // HEAD, OPTIONS, 405 and 404.
    let (out, _) = curl(&["-I", &api.url("/plaintext")]);
    assert!(
        out.starts_with("HTTP/1.1 200") && out.contains("Content-Length: 13"),
        "{out}"
    );
    let (out, _) = curl(&["-i", "-X", "OPTIONS", &api.url("/slow")]);
    assert!(
        out.starts_with("HTTP/1.1 204") && out.contains("Allow: GET, HEAD, POST, OPTIONS"),
        "{out}"
    );
    let (out, _) = curl(&["-i", "-X", "DELETE", &api.url("/users/1")]);
    assert!(
        out.starts_with("HTTP/1.1 405") && out.contains("Allow: GET, HEAD, OPTIONS"),
        "{out}"
    );
    let (out, _) = curl(&["-i", &api.url("/nope")]);
    let (head, body) = split_curl_output(&out);
    assert!(head.starts_with("HTTP/1.1 404"), "{out}");
    assert!(
        error_shape_problem(404, Some("application/json"), body.as_bytes(), None).is_none(),
        "{out}"
    );

    // Keep-alive: curl reuses one connection for several URLs.
    let (out, _) = curl(&[
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{num_connects}\n",
        &api.url("/plaintext"),
        &api.url("/stream?n=2"),
        &api.url("/json"),
    ]);
    assert_eq!(
        out, "200 1\n200 0\n200 0\n",
        "the second and third requests reuse the connection"
    );
}

#[test]
fn python_http_client_drives_the_api() {
    let api = Api::start();
    let python = required_tool("python3", "python3");
    const SCRIPT: &str = r#"
import http.client, json, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=30)
results = []
def ask(method, path, body=None, headers={}):
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    results.append({
        "request": method + " " + path,
        "status": response.status,
        "headers": {k.lower(): v for k, v in response.getheaders()},
        "body": data.decode("latin-1"),
        "will_close": response.will_close,
        "socket": id(conn.sock),
    })
ask("GET", "/plaintext")
ask("GET", "/json")
ask("POST", "/users", json.dumps({"name": "py"}), {"Content-Type": "application/json"})
ask("POST", "/users", "{", {"Content-Type": "application/json"})
ask("GET", "/users/007")
ask("GET", "/search?q=caf%C3%A9+au+lait&limit=2")
ask("POST", "/echo", b"\x00\x01\xfe\xff", {"Content-Type": "application/x-bin"})
ask("POST", "/echo", iter([b"chunk", b"ed ", b"body"]), {"Content-Type": "text/plain"})
ask("GET", "/files/a%20b/c")
ask("GET", "/stream?n=3")
ask("GET", "/events?n=2")
ask("HEAD", "/json")
ask("GET", "/slow?ms=10")
ask("GET", "/panic")
ask("GET", "/nope")
ask("DELETE", "/plaintext")
print(json.dumps(results))
"#;
    let mut command = Command::new(python);
    command.args([
        "-c",
        SCRIPT,
        &api.addr().ip().to_string(),
        &api.addr().port().to_string(),
    ]);
    let (status, stdout, stderr) = run_bounded(command, Duration::from_secs(60));
    assert!(
        status.success(),
        "python failed ({status}): {}",
        String::from_utf8_lossy(&stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "python printed no JSON ({e}): {}",
            String::from_utf8_lossy(&stdout)
        )
    });
    let by = |request: &str| -> &Value {
        results
            .iter()
            .find(|r| r["request"] == request)
            .unwrap_or_else(|| panic!("no result for {request}"))
    };
    let body_json = |request: &str| -> Value {
        // The script decoded the bytes as latin-1: each char is one byte.
        let bytes: Vec<u8> = by(request)["body"]
            .as_str()
            .unwrap()
            .chars()
            .map(|c| c as u8)
            .collect();
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{request}: {e}"))
    };
    assert_eq!(
        (
            by("GET /plaintext")["status"].as_u64(),
            by("GET /plaintext")["body"].as_str()
        ),
        (Some(200), Some("Hello, World!"))
    );
    assert_eq!(body_json("GET /json"), json!({"message": "Hello, World!"}));
    let created = by("POST /users");
    assert_eq!(created["status"], 201);
    assert_eq!(created["headers"]["location"], "/users/1");
    assert_eq!(body_json("POST /users"), json!({"id": 1, "name": "py"}));
    let malformed = results
        .iter()
        .filter(|r| r["request"] == "POST /users")
        .nth(1)
        .expect("the malformed POST");
    assert_eq!(malformed["status"], 400);
    assert_eq!(
        body_json("GET /users/007"),
        json!({"id": 7, "name": "user7"})
    );
    assert_eq!(
        body_json("GET /search?q=caf%C3%A9+au+lait&limit=2"),
        json!({"q": "caf\u{e9} au lait", "limit": 2})
    );
    let echoes: Vec<&Value> = results
        .iter()
        .filter(|r| r["request"] == "POST /echo")
        .collect();
    assert_eq!(
        echoes[0]["body"], "\u{0}\u{1}\u{fe}\u{ff}",
        "latin-1 decoded bytes"
    );
    assert_eq!(echoes[0]["headers"]["content-type"], "application/x-bin");
    assert_eq!(
        echoes[1]["body"], "chunked body",
        "http.client sends an iterable chunked"
    );
    assert_eq!(by("GET /files/a%20b/c")["body"], "a b/c");
    assert_eq!(by("GET /stream?n=3")["body"], "chunk 0\nchunk 1\nchunk 2\n");
    assert_eq!(
        sorted(frames(by("GET /events?n=2")["body"].as_str().unwrap())),
        sorted(ticks(0..2))
    );
    let head = by("HEAD /json");
    assert_eq!(
        (head["status"].as_u64(), head["body"].as_str()),
        (Some(200), Some(""))
    );
    assert_eq!(head["headers"]["content-length"], "27");
    assert_eq!(by("GET /slow?ms=10")["body"], "slept 10");
    assert_eq!(by("GET /panic")["status"], 500);
    assert_eq!(by("GET /nope")["status"], 404);
    assert_eq!(by("DELETE /plaintext")["status"], 405);
    assert_eq!(
        by("DELETE /plaintext")["headers"]["allow"],
        "GET, HEAD, OPTIONS"
    );
    // One keep-alive connection carried every request that did not fail.
    let sockets: std::collections::BTreeSet<String> = results
        .iter()
        .filter(|r| r["status"].as_u64().is_some_and(|s| s < 500))
        .map(|r| r["socket"].to_string())
        .collect();
    assert_eq!(
        sockets.len(),
        1,
        "http.client had to reconnect: {results:?}"
    );
    assert!(results
        .iter()
        .filter(|r| r["status"].as_u64().is_some_and(|s| s < 500))
        .all(|r| r["will_close"] == false));
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut api = Api::start();
    let mut busy = api.connect();
    busy.send_ok(b"POST /slow?ms=1500 HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nwork");
    let mut idle = api.connect();
    idle.send_ok(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(idle.response().status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let waiter = std::thread::spawn(move || {
        let r = busy.read_response();
        (r, busy.transcript())
    });
    let status = api.terminate(Duration::from_secs(25));
    let (r, transcript) = waiter.join().expect("the in-flight request");
    let r = r.unwrap_or_else(|e| panic!("the in-flight request was lost: {e}\n{transcript}"));
    assert_eq!(
        (r.status, r.text()),
        (200, "slept 1500".to_owned()),
        "{transcript}"
    );
    assert!(
        r.says_close(),
        "answered during the drain with Connection: close\n{transcript}"
    );
    // The idle keep-alive connection was closed.
    idle.assert_closed("shutdown");
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running 25 s after SIGTERM\nstderr:\n{}",
            api.stderr()
        )
    });
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM; stderr:\n{}",
        api.stderr()
    );
}

#[test]
fn the_address_comes_from_the_argument_else_sutegi_addr() {
    // No argument: SUTEGI_ADDR.
    let api = Api::start_with(&[], &[("SUTEGI_ADDR", "127.0.0.1:0")]);
    assert!(
        api.addr().ip().is_loopback() && api.addr().port() != 0,
        "{}",
        api.addr()
    );
    api.assert_alive("starting from SUTEGI_ADDR");
    // The argument wins over the variable (which would fail to bind).
    let api = Api::start_with(&["127.0.0.1:0"], &[("SUTEGI_ADDR", "256.0.0.1:1")]);
    api.assert_alive("starting with both");
    // The other settings take effect without changing the answers.
    let api = Api::start_with(
        &["127.0.0.1:0"],
        &[("SUTEGI_WORKERS", "1"), ("SUTEGI_GRACE_MS", "100")],
    );
    for _ in 0..5 {
        api.assert_alive("SUTEGI_WORKERS=1");
    }
}

#[test]
fn help_lists_the_environment_and_a_bad_value_stops_the_program_naming_it() {
    let mut command = Command::new(common::api_binary());
    command.arg("--help");
    let (status, stdout, _) = run_bounded(command, Duration::from_secs(30));
    let help = String::from_utf8_lossy(&stdout);
    assert!(status.success(), "--help: {status}");
    for name in [
        "SUTEGI_ADDR",
        "SUTEGI_LOG",
        "SUTEGI_WORKERS",
        "SUTEGI_DRAIN_DELAY_MS",
        "SUTEGI_GRACE_MS",
    ] {
        assert!(help.contains(name), "--help does not list {name}:\n{help}");
    }
    for (name, value) in [
        ("SUTEGI_WORKERS", "many"),
        ("SUTEGI_WORKERS", "-1"),
        ("SUTEGI_DRAIN_DELAY_MS", "1s"),
        ("SUTEGI_GRACE_MS", "x"),
        ("SUTEGI_LOG", "everything"),
    ] {
        let mut command = Command::new(common::api_binary());
        command.arg("127.0.0.1:0").env(name, value);
        for (other, _) in std::env::vars_os() {
            if other.to_string_lossy().starts_with("SUTEGI_") && other != name {
                command.env_remove(other);
            }
        }
        let (status, stdout, stderr) = run_bounded(command, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&stderr);
        assert!(
            !status.success(),
            "{name}={value} started anyway: {}",
            String::from_utf8_lossy(&stdout)
        );
        assert!(
            stderr.contains(name),
            "{name}={value}: the message does not name the variable: {stderr}"
        );
    }
}
