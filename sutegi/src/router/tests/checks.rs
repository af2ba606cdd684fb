//! The build checks: conflicts naming both routes, captures named
//! differently at one position, invalid paths, every problem reported at
//! once, `serve` refusing a bad router, a closure reading the body twice.

use super::*;

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

#[test]
fn a_closure_reading_the_body_twice_is_refused() {
    let found = problems(Router::new().post("/x", |_a: String, _b: Vec<u8>| ""));
    assert!(
        matches!(&found[..], [RouterProblem::SeveralBodyReaders { .. }]),
        "{found:?}"
    );
}
