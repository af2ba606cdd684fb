//! Running handlers: a panic as a 500 with its message in the log, the
//! error shape (the router's, a mounted one's), shutdown, closures of up to
//! eight extractors, extractor refusals as responses.

use super::*;

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
