//! The generated wrappers, driven through a built router without sockets:
//! captures parse (or refuse with 400 naming the parameter), extractors run,
//! return values become responses, `#[sse]` answers with a stream.

use sutegi::{get, post, routes, sse, Handler, Json, Method, Query, Request, SseSink, State, Status};

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(serde::Deserialize)]
struct Page {
    page: u32,
}

#[get("/users/{id}/posts")]
fn posts(id: u64, q: Query<Page>) -> String {
    format!("user {id} page {}", q.page)
}

#[get("/files/{*rest}")]
fn file(rest: String) -> String {
    rest
}

#[post("/count")]
fn count(body: Vec<u8>, hits: State<std::sync::atomic::AtomicU64>) -> (Status, String) {
    let n = hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    (Status::CREATED, format!("{} bytes, call {n}", body.len()))
}

#[post("/json")]
fn json(Json(words): Json<Vec<String>>) -> String {
    words.join(" ")
}

#[sse("/events")]
fn events(sink: &mut SseSink) -> std::io::Result<()> {
    sink.data("tick")
}

fn call(handler: &impl Handler, method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let response = handler.handle(Request::new(method, target, headers, body.to_vec()));
    let body = response.body().as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    (response.status(), body)
}

fn main() {
    let app = routes![posts, file, count, json, events]
        .with_state(std::sync::atomic::AtomicU64::new(0))
        .into_handler()
        .expect("no conflicts");

    assert_eq!(call(&app, Method::Get, "/users/7/posts?page=2", &[], b""), (200, "user 7 page 2".into()));
    let (status, body) = call(&app, Method::Get, "/users/x/posts?page=2", &[], b"");
    assert_eq!(status, 400);
    assert!(body.contains("`id`"), "{body}");
    assert_eq!(call(&app, Method::Get, "/files/a/b%20c.txt", &[], b"").1, "a/b c.txt");
    assert_eq!(call(&app, Method::Post, "/count", &[], b"abc"), (201, "3 bytes, call 1".into()));
    let json_type = [("Content-Type", "application/json")];
    assert_eq!(call(&app, Method::Post, "/json", &json_type, br#"["a","b"]"#), (200, "a b".into()));
    assert_eq!(call(&app, Method::Post, "/json", &[], br#"["a","b"]"#).0, 415);

    let response = app.handle(Request::new(Method::Get, "/events", &[], vec![]));
    assert_eq!(response.status(), 200);
    assert_eq!(response.header_value("content-type"), Some("text/event-stream"));
    assert!(response.body().is_stream());
}
