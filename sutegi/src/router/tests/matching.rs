//! Matching: static, captured and catch-all paths, the 404 and 405 shapes,
//! `HEAD` by `GET`, the automatic `OPTIONS`, routes of several methods.

use super::*;

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
    // A path that matches only in its other form is a 308 to it (see
    // `trailing_slashes_redirect_get_and_head_only`); neither form: 404.
    assert_eq!(get(&app, "/users/").0, 308);
    assert_eq!(get(&app, "/users/7/").0, 308);
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
fn trailing_slashes_redirect_get_and_head_only() {
    let app = Router::new()
        .get("/notes", || "notes")
        .get("/dir/", || "dir")
        .post("/posts", || "posted")
        .get("/both", || "both")
        .get("/both/", || "both/")
        .get("/users/{id}", |Path(id): Path<u32>| id.to_string())
        .into_handler()
        .unwrap();
    let redirect = |method: Method, target: &str| {
        let response = send(&app, method, target);
        (
            response.status(),
            response.header_value("location").map(str::to_owned),
        )
    };
    let to = |location: &str| (308, Some(location.to_owned()));
    assert_eq!(redirect(Method::Get, "/notes/"), to("/notes"));
    assert_eq!(redirect(Method::Head, "/notes/"), to("/notes"));
    assert_eq!(
        redirect(Method::Get, "/notes/?page=2&x"),
        to("/notes?page=2&x")
    );
    assert_eq!(redirect(Method::Get, "/dir"), to("/dir/"));
    assert_eq!(redirect(Method::Get, "/users/7/"), to("/users/7"));
    // Other methods, paths that match in neither form, and paths that
    // match as they are: no redirect.
    assert_eq!(redirect(Method::Post, "/posts/"), (404, None));
    assert_eq!(redirect(Method::Delete, "/notes/"), (404, None));
    assert_eq!(redirect(Method::Get, "/posts/"), (404, None));
    assert_eq!(redirect(Method::Get, "/nope/"), (404, None));
    assert_eq!(send(&app, Method::Get, "/both/").status(), 200);
    assert_eq!(body_text(&send(&app, Method::Get, "/both/")), "both/");
    // `//host` would leave the site: never a redirect target.
    let open = Router::new()
        .get("/{a}/{b}", || "two")
        .into_handler()
        .unwrap();
    assert_eq!(send(&open, Method::Get, "//evil.example/").status(), 404);
}
