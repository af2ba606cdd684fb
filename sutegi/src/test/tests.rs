//! Unit tests of the test client: what it sends, what it answers with,
//! and that each answer follows the server's rules.

use super::sse::parse_events;
use super::*;
use crate::server::{Request, Response};
use crate::{get, routes, sse, Form, Json, LastEventId, Path, Query, Router, SseSink, Status};
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Deserialize, serde::Serialize, Debug, PartialEq)]
struct Person {
    name: String,
    age: u32,
}

fn app() -> Router {
    Router::new()
        .get("/hello", || "hello")
        .get("/users/{id}", |Path(id): Path<u64>| format!("user {id}"))
        .post("/people", |Json(person): Json<Person>| {
            (Status::CREATED, Json(person))
        })
        .put("/form", |Form(person): Form<Person>| {
            format!("{} is {}", person.name, person.age)
        })
        .patch("/echo", |body: Vec<u8>| body)
        .delete("/users/{id}", |Path(_id): Path<u64>| Status::NO_CONTENT)
        .get("/search", |q: Query<Person>| {
            format!("{}:{}", q.name, q.age)
        })
        .get("/whoami", |req: &Request| {
            format!("{} {}", req.header("host").unwrap_or("-"), req.peer_addr())
        })
        .get("/panic", || -> &'static str { panic!("on purpose") })
        .get("/framing", || {
            Response::text("four")
                .header("Content-Length", "999")
                .header("Connection", "close")
                .header("X-Kept", "yes")
        })
}

#[test]
fn each_method_reaches_its_route() {
    let client = TestClient::new(app());
    let hello = client.get("/hello").send();
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.text(), "hello");
    assert_eq!(
        hello.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(hello.header("content-length"), Some("5"));
    assert_eq!(client.get("/users/12").send().text(), "user 12");
    assert_eq!(client.delete("/users/12").send().status(), 204);
    let echoed = client.patch("/echo").body(&b"\x00\xffraw"[..]).send();
    assert_eq!(echoed.body(), b"\x00\xffraw");
    let options = client.options("/users/1").send();
    assert_eq!(options.status(), 204);
    assert_eq!(options.header("allow"), Some("GET, HEAD, DELETE, OPTIONS"));
    assert_eq!(client.get("/nowhere").send().status(), 404);
    let not_allowed = client.put("/hello").send();
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(not_allowed.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[test]
fn json_form_and_query_bodies_are_encoded_with_their_types() {
    let client = TestClient::new(app());
    let ada = Person {
        name: "Ada L".into(),
        age: 36,
    };
    let created = client.post("/people").json(&ada).send();
    assert_eq!(created.status(), 201);
    assert_eq!(created.header("content-type"), Some("application/json"));
    assert_eq!(created.json::<Person>(), ada);
    let form = client.put("/form").form(&ada).send();
    assert_eq!(form.text(), "Ada L is 36");
    assert_eq!(client.get("/search").query(&ada).send().text(), "Ada L:36");
    assert_eq!(
        client
            .get("/search?name=x")
            .query(&[("age", 3)])
            .send()
            .text(),
        "x:3"
    );
    // A JSON body without its content type is what the extractor refuses.
    let untyped = client
        .post("/people")
        .body(r#"{"name":"a","age":1}"#)
        .send();
    assert_eq!(untyped.status(), 415);
    let error: serde_json::Value = untyped.json();
    assert_eq!(error["error"], "Unsupported Media Type");
}

#[test]
fn requests_look_like_a_real_clients() {
    let client = TestClient::new(app());
    assert_eq!(client.get("/whoami").send().text(), "localhost 127.0.0.1:0");
    let peer: SocketAddr = "10.0.0.7:4321".parse().unwrap();
    let custom = client
        .get("/whoami")
        .header("Host", "api.example")
        .peer_addr(peer)
        .send();
    assert_eq!(custom.text(), "api.example 10.0.0.7:4321");
}

#[test]
fn framing_headers_are_the_servers() {
    let response = TestClient::new(app()).get("/framing").send();
    assert_eq!(response.header("content-length"), Some("4"));
    assert_eq!(response.header_all("content-length").count(), 1);
    assert_eq!(response.header("connection"), None);
    assert_eq!(response.header("x-kept"), Some("yes"));
}

#[test]
fn head_keeps_the_length_and_drops_the_body() {
    let response = TestClient::new(app()).head("/hello").send();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-length"), Some("5"));
    assert!(response.body().is_empty());
}

#[test]
fn a_panic_is_the_routers_500() {
    let response = TestClient::new(app()).get("/panic").send();
    assert_eq!(response.status(), 500);
    assert!(!response.text().contains("on purpose"));
    let error: serde_json::Value = response.json();
    assert_eq!(error["error"], "Internal Server Error");
    // A bare handler's panic is caught as the server catches it.
    let bare = TestClient::new(|_req: Request| -> Response { panic!("bare") });
    let response = bare.get("/").send();
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.text(),
        "Internal Server Error: the server failed to answer this request\n"
    );
}

#[test]
fn the_body_limit_is_the_servers_and_the_routes() {
    let app = app().route(
        crate::Route::new(&[Method::Post], "/upload", |body: Vec<u8>| {
            body.len().to_string()
        })
        .body_limit(10),
    );
    let client = TestClient::new(app);
    let refused = client.post("/upload").body(vec![b'x'; 11]).send();
    assert_eq!(refused.status(), 413);
    let error: serde_json::Value = refused.json();
    assert_eq!(error["error"], "Content Too Large");
    assert_eq!(
        error["message"],
        "the body exceeds this route's limit of 10 bytes"
    );
    assert_eq!(
        client.post("/upload").body(vec![b'x'; 10]).send().text(),
        "10"
    );
    // The server's default, 2 MiB, elsewhere.
    let big = vec![b'x'; 2 * 1024 * 1024 + 1];
    assert_eq!(client.patch("/echo").body(big).send().status(), 413);
    let tight = TestClient::new(|req: Request| Response::text(req.body().len().to_string()))
        .limits(Limits {
            max_body_bytes: 3,
            max_target_bytes: 16,
            ..Limits::default()
        });
    assert_eq!(tight.post("/").body("abc").send().text(), "3");
    let refused = tight.post("/").body("abcd").send();
    assert_eq!(refused.status(), 413);
    assert_eq!(
        refused.text(),
        "Content Too Large: the body exceeds the server's limit of 3 bytes\n"
    );
    assert_eq!(tight.get("/0123456789abcdef").send().status(), 414);
}

#[derive(Deserialize)]
// Under the `openapi` feature a macro route needs its types\' schemas.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
struct Ticks {
    n: u32,
}

#[sse("/events")]
fn events(q: Query<Ticks>, last: Option<LastEventId>, sink: &mut SseSink) -> io::Result<()> {
    let start = last.and_then(|id| id.as_u64()).map_or(0, |k| k + 1);
    for i in start..u64::from(q.n) {
        sink.send(
            &crate::SseEvent::new()
                .event("tick")
                .id(i.to_string())
                .data(i.to_string()),
        )?;
    }
    sink.comment("done")?;
    sink.data("line one\nline two")
}

#[get("/users/{id}")]
fn user(id: u64) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "id": id, "name": format!("user{id}") }))
}

#[test]
fn sse_bodies_are_collected_and_parsed_into_frames() {
    let client = TestClient::new(routes![events, user]);
    let response = client.get("/events?n=3").send();
    assert_eq!(response.status(), 200);
    assert!(response.is_stream());
    assert!(response.stream_error().is_none());
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    let frames = response.events();
    assert_eq!(frames.len(), 4, "{response:?}");
    for (i, frame) in frames[..3].iter().enumerate() {
        assert_eq!(frame.event.as_deref(), Some("tick"));
        assert_eq!(frame.id, Some(i.to_string()));
        assert_eq!(frame.data, i.to_string());
    }
    assert_eq!(frames[3].event, None);
    assert_eq!(frames[3].data, "line one\nline two");
    let resumed = client
        .get("/events?n=3")
        .header("Last-Event-ID", "1")
        .send()
        .events();
    assert_eq!(resumed[0].id.as_deref(), Some("2"));
    assert_eq!(
        client.get("/users/4").send().json::<serde_json::Value>()["name"],
        "user4"
    );
    assert_eq!(client.get("/events?n=x").send().status(), 400);
}

#[test]
fn raw_streams_run_to_the_end_and_head_does_not_run_them() {
    static RAN: AtomicBool = AtomicBool::new(false);
    let app = Router::new()
        .get("/stream", || {
            Response::stream(|sink| {
                RAN.store(true, Ordering::SeqCst);
                for i in 0..3 {
                    writeln!(sink, "chunk {i}")?;
                }
                Ok(())
            })
        })
        .get("/broken", || {
            Response::stream(|sink| {
                sink.send(b"partial")?;
                panic!("mid-stream")
            })
        })
        .get("/failing", || {
            Response::stream(|sink| {
                sink.send(b"partial")?;
                Err(io::Error::other("the database went away"))
            })
        });
    let client = TestClient::new(app);
    let head = client.head("/stream").send();
    assert_eq!(head.status(), 200);
    assert!(head.body().is_empty());
    assert!(!RAN.load(Ordering::SeqCst), "HEAD ran the producer");
    let response = client.get("/stream").send();
    assert_eq!(response.text(), "chunk 0\nchunk 1\nchunk 2\n");
    assert!(RAN.load(Ordering::SeqCst));
    let broken = client.get("/broken").send();
    assert_eq!(broken.body(), b"partial");
    let error = broken.stream_error().unwrap().to_string();
    assert!(error.contains("mid-stream"), "{error}");
    let failing = client.get("/failing").send();
    assert_eq!(failing.body(), b"partial");
    assert!(failing.stream_error().is_some());
}

#[test]
fn a_router_that_does_not_check_out_is_refused() {
    let conflicting = || Router::new().get("/a", || "1").get("/a", || "2");
    let error = TestClient::try_new(conflicting()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let panic = catch_unwind(AssertUnwindSafe(|| TestClient::new(conflicting())))
        .expect_err("TestClient::new must panic");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("does not check out"), "{message}");
    assert!(message.contains("/a"), "{message}");
}

#[test]
fn shutdown_reaches_the_handler() {
    struct Probe(Arc<AtomicBool>);
    impl Handler for Probe {
        fn handle(&self, _request: Request) -> Response {
            let down = self.0.load(Ordering::SeqCst);
            Response::new(if down { 503 } else { 200 })
        }
        fn shutdown_started(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let client = TestClient::new(Probe(Arc::default()));
    assert_eq!(client.get("/healthz").send().status(), 200);
    client.begin_shutdown();
    assert_eq!(client.get("/healthz").send().status(), 503);
}

#[test]
#[should_panic(expected = "percent-encode it")]
fn a_target_no_client_could_send_is_a_test_bug() {
    TestClient::new(app()).get("/a b").send();
}

#[test]
#[should_panic(expected = "holds CR, LF or NUL")]
fn a_header_no_client_could_send_is_a_test_bug() {
    let _ = TestClient::new(app())
        .get("/hello")
        .header("X-Bad", "a\r\nInjected: yes");
}

#[test]
#[should_panic(expected = "needs a text/event-stream response")]
fn events_of_a_plain_response_is_a_test_bug() {
    TestClient::new(app()).get("/hello").send().events();
}

#[test]
fn event_stream_parsing_follows_the_html_standard() {
    let text = "\u{feff}: comment only\n\n\
                event: a\r\nid: 1\r\ndata: x\r\ndata:y\r\n\r\n\
                data\rretry: 1500\r\r\
                id: bad\0id\ndata: z\nunknown: q\n\n\
                data: unfinished";
    let frames = parse_events(text);
    assert_eq!(
        frames,
        vec![
            SseEvent {
                event: Some("a".into()),
                id: Some("1".into()),
                data: "x\ny".into(),
                retry: None,
            },
            SseEvent {
                data: String::new(),
                retry: Some(1500),
                ..SseEvent::default()
            },
            SseEvent {
                data: "z".into(),
                ..SseEvent::default()
            },
        ]
    );
    assert!(parse_events("").is_empty());
    assert!(parse_events(": keep-alive\n\n").is_empty());
}

#[test]
fn requests_go_through_the_servers_decoder() {
    let client = TestClient::new(app()).limits(Limits {
        max_headers: 3,
        ..Limits::default()
    });
    let mut crowded = client.get("/hello");
    for i in 0..4 {
        crowded = crowded.header("X-N", &i.to_string());
    }
    let refused = crowded.send();
    assert_eq!(refused.status(), 431);
    let error: serde_json::Value = refused.json();
    assert_eq!(error["error"], "Request Header Fields Too Large");
    // A chunked body is de-chunked by the decoder, as on a socket.
    let echoed = client
        .patch("/echo")
        .header("Transfer-Encoding", "chunked")
        .body("3\r\nabc\r\n0\r\n\r\n")
        .send();
    assert_eq!(echoed.text(), "abc");
    // A smuggling attempt is the server's 400.
    let smuggled = client
        .post("/people")
        .header("Transfer-Encoding", "gzip")
        .body("x")
        .send();
    assert_eq!(smuggled.status(), 400);
}
