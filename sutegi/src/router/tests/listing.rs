//! The health route and the route table (`routes()`, its `Display`), and
//! the no-layer fast path.

use super::*;

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
    assert!(table[0].location.file().ends_with("listing.rs"));

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
    assert!(columns(lines[3])[3].contains("listing.rs:"), "{text}");
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
