//! The same router behaviour through the route attributes and `routes!`, as
//! users write it (the macros name `::sutegi`, which `extern crate self as
//! sutegi` makes work inside this crate).

use super::*;
use crate::{
    get, post, route, routes, sse, Body, Json, LastEventId, Query, SseSink, State, StreamSink,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
// Under the `openapi` feature a macro route needs its types\' schemas.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
struct NewUser {
    name: String,
}

#[derive(Serialize)]
// Under the `openapi` feature a macro route needs its types\' schemas.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
struct User {
    id: u64,
    name: String,
}

#[derive(Deserialize)]
// Under the `openapi` feature a macro route needs its types\' schemas.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
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

/// A custom extractor that needs a state: the missing state is reported as
/// the extractor's need, not as a `State<T>` the route does not take.
struct Config;

struct AdminGuard;

impl<'r> crate::FromRequest<'r> for AdminGuard {
    type Rejection = crate::Error;

    fn from_request(cx: &'r crate::extract::RequestContext<'_>) -> Result<Self, crate::Error> {
        State::<Config>::from_request(cx).map(|_| AdminGuard)
    }

    fn state_requirement() -> Option<crate::extract::StateRequirement> {
        State::<Config>::state_requirement()
    }
}

#[get("/guarded")]
fn guarded(_guard: AdminGuard) -> &'static str {
    "in"
}

#[test]
fn a_missing_state_names_the_extractor_that_needs_it() {
    for router in [
        routes![guarded],
        Router::new().get("/guarded", |_guard: AdminGuard| "in"),
    ] {
        let found = problems(router);
        let [RouterProblem::MissingState {
            type_name,
            extractor,
            ..
        }] = &found[..]
        else {
            panic!("{found:?}");
        };
        assert!(type_name.ends_with("Config"), "{type_name}");
        assert!(
            extractor.is_some_and(|e| e.ends_with("AdminGuard")),
            "{found:?}"
        );
        let message = found[0].to_string();
        assert!(
            message
                .contains("takes `AdminGuard`, which needs the state `Config` (a `State<Config>`)"),
            "{message}"
        );
        assert!(!message.contains("takes `State<Config>`"), "{message}");
    }
    // A route taking `State<T>` itself is reported as before.
    let found = problems(Router::new().get("/s", |_config: State<Config>| "in"));
    let message = found[0].to_string();
    assert!(message.contains("takes `State<Config>` but"), "{message}");
    assert!(
        matches!(
            &found[..],
            [RouterProblem::MissingState {
                extractor: None,
                ..
            }]
        ),
        "{found:?}"
    );
}
