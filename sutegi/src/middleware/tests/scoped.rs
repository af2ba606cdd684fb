//! Layers on mounted routers: what they wrap (their routes and fallback,
//! nothing else), in which order (outer router, then inner, then the
//! handler), how the route table lists them, and the server's refusals run
//! through the top router's layers (`Handler::refuse_request`).

use super::*;

/// A layer that appends `name` to the shared trace on the way in, and to
/// an `X-Trace` response header on the way out.
fn tracer(
    name: &'static str,
    trace: &Arc<Mutex<Vec<&'static str>>>,
) -> impl Fn(&mut Request, Next<'_>) -> Response + Send + Sync + 'static {
    let trace = Arc::clone(trace);
    move |request: &mut Request, next: Next<'_>| {
        trace.lock().unwrap().push(name);
        let mut response = next.run(request);
        let seen = response.header_value("x-trace").unwrap_or("").to_owned();
        response.set_header("X-Trace", format!("{seen}{name};"));
        response
    }
}

fn scoped_app(trace: &Arc<Mutex<Vec<&'static str>>>) -> RouterHandler {
    let reports = Router::new()
        .get("/daily", || "daily")
        .layer(tracer("reports", trace));
    let admin = Router::new()
        .get("/stats", || "stats")
        .mount("/reports", reports)
        .fallback(|| "admin fallback")
        .layer(tracer("admin-inner", trace))
        .layer(tracer("admin-outer", trace));
    Router::new()
        .get("/public", || "public")
        .post("/admin/only-post", || "posted")
        .mount("/admin", admin)
        .layer(tracer("top", trace))
        .into_handler()
        .unwrap()
}

fn run(
    app: &RouterHandler,
    trace: &Arc<Mutex<Vec<&'static str>>>,
    path: &str,
) -> Vec<&'static str> {
    trace.lock().unwrap().clear();
    let _ = send(app, Method::Get, path, &[]);
    trace.lock().unwrap().clone()
}

#[test]
fn a_mounted_routers_layers_wrap_its_routes_inside_the_outer_ones() {
    let trace = Arc::new(Mutex::new(Vec::new()));
    let app = scoped_app(&trace);
    assert_eq!(
        run(&app, &trace, "/admin/stats"),
        ["top", "admin-outer", "admin-inner"]
    );
    assert_eq!(
        run(&app, &trace, "/admin/reports/daily"),
        ["top", "admin-outer", "admin-inner", "reports"]
    );
    // On the way out, the innermost layer writes first.
    let response = send(&app, Method::Get, "/admin/reports/daily", &[]);
    assert_eq!(body_text(&response), "daily");
    assert_eq!(
        response.header_value("x-trace"),
        Some("reports;admin-inner;admin-outer;top;")
    );
    // The mounted router's fallback is its own: wrapped the same way.
    assert_eq!(
        run(&app, &trace, "/admin/unknown"),
        ["top", "admin-outer", "admin-inner"]
    );
}

#[test]
fn a_mounted_routers_layers_wrap_nothing_else() {
    let trace = Arc::new(Mutex::new(Vec::new()));
    let app = scoped_app(&trace);
    assert_eq!(run(&app, &trace, "/public"), ["top"]);
    assert_eq!(run(&app, &trace, "/nowhere"), ["top"]);
    // A route of the outer router under the same prefix is the outer's.
    trace.lock().unwrap().clear();
    assert_eq!(
        send(&app, Method::Post, "/admin/only-post", &[]).status(),
        200
    );
    assert_eq!(*trace.lock().unwrap(), ["top"]);
    // A 405 on a mounted path is the top router's answer.
    trace.lock().unwrap().clear();
    assert_eq!(send(&app, Method::Post, "/admin/stats", &[]).status(), 405);
    assert_eq!(*trace.lock().unwrap(), ["top"]);
}

#[test]
fn a_scoped_layer_can_refuse_and_routes_beside_it_stay_open() {
    let admin =
        Router::new()
            .get("/stats", || "stats")
            .layer(|request: &mut Request, next: Next<'_>| {
                if request.header("authorization") == Some("Bearer t") {
                    next.run(request)
                } else {
                    Response::new(401)
                }
            });
    let app = Router::new()
        .get("/", || "home")
        .mount("/admin", admin)
        .into_handler()
        .unwrap();
    assert_eq!(send(&app, Method::Get, "/", &[]).status(), 200);
    assert_eq!(send(&app, Method::Get, "/admin/stats", &[]).status(), 401);
    let allowed = send(
        &app,
        Method::Get,
        "/admin/stats",
        &[("Authorization", "Bearer t")],
    );
    assert_eq!(body_text(&allowed), "stats");
}

#[test]
fn captures_and_states_reach_a_layered_route() {
    struct Greeting(&'static str);
    let users = Router::new()
        .get(
            "/{id}",
            |crate::extract::Path((org, id)): crate::extract::Path<(String, u32)>,
             greeting: crate::extract::State<Greeting>| {
                format!("{} {id} of {org}", greeting.0 .0)
            },
        )
        .layer(|request: &mut Request, next: Next<'_>| next.run(request))
        .with_state(Greeting("hello"));
    let app = Router::new()
        .mount("/orgs/{org}/users", users)
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/orgs/acme/users/7", &[]);
    assert_eq!(body_text(&response), "hello 7 of acme");
}

#[test]
fn a_scoped_layer_that_rewrites_the_path_has_the_request_routed_again() {
    let admin =
        Router::new()
            .get("/old", || "old")
            .layer(|request: &mut Request, next: Next<'_>| {
                *request = Request::new(Method::Get, "/new", &[], Vec::new());
                next.run(request)
            });
    let app = Router::new()
        .get("/new", || "new")
        .mount("/admin", admin)
        .into_handler()
        .unwrap();
    let response = send(&app, Method::Get, "/admin/old", &[]);
    assert_eq!(body_text(&response), "new");
}

#[test]
fn the_route_table_lists_the_layers_around_each_route() {
    let trace = Arc::new(Mutex::new(Vec::new()));
    let admin = Router::new()
        .get("/stats", || "stats")
        .layer(tracer("admin", &trace))
        .layer(RequestIds::new());
    let app = Router::new()
        .get("/", || "home")
        .mount("/admin", admin)
        .layer(AccessLog::new());
    let listed = |table: &crate::router::RouteTable| -> Vec<(String, Vec<String>)> {
        table
            .iter()
            .map(|route| (route.path.clone(), route.layers.clone()))
            .collect()
    };
    let before = listed(&app.routes());
    assert_eq!(before[0], ("/".to_owned(), vec!["AccessLog".to_owned()]));
    assert_eq!(before[1].0, "/admin/stats");
    assert_eq!(before[1].1[..2], ["AccessLog", "RequestIds"]);
    assert!(
        before[1].1[2].starts_with("closure at ") && before[1].1[2].contains(file!()),
        "{before:?}"
    );
    assert_eq!(before[1].1.len(), 3);
    let handler = app.clone().into_handler().unwrap();
    assert_eq!(listed(&handler.routes()), before);
    let printed = handler.routes().to_string();
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines[0].ends_with("LAYERS (outermost first)"), "{printed}");
    assert!(
        lines[2].contains("AccessLog > RequestIds > closure at "),
        "{printed}"
    );
    // Without any layer the table keeps its four columns.
    let plain = Router::new().get("/", || "home").routes().to_string();
    assert!(!plain.contains("LAYERS"), "{plain}");
}

#[test]
fn refusals_after_the_head_run_through_the_top_routers_layers() {
    let trace = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .post("/upload", || "ok")
        .mount(
            "/admin",
            Router::new()
                .post("/upload", || "ok")
                .layer(tracer("admin", &trace)),
        )
        .layer(cors::api_cors())
        .layer(tracer("top", &trace))
        .into_handler()
        .unwrap();
    let head = Request::new(
        Method::Post,
        "/admin/upload",
        &[("Origin", cors::SITE)],
        Vec::new(),
    );
    let refused = app.refuse_request(&head, 413, "the body exceeds this route's limit of 8 bytes");
    assert_eq!(refused.status(), 413);
    assert_eq!(
        refused.header_value("access-control-allow-origin"),
        Some(cors::SITE)
    );
    assert_eq!(refused.header_value("x-trace"), Some("top;"));
    let error: serde_json::Value =
        serde_json::from_slice(refused.body().as_bytes().unwrap()).unwrap();
    assert_eq!(error["error"], "Content Too Large");
    assert_eq!(
        error["message"],
        "the body exceeds this route's limit of 8 bytes"
    );
    // The mounted router's layers do not run: no route was reached.
    assert_eq!(*trace.lock().unwrap(), ["top"]);
    // Without layers it is the plain refusal.
    let bare = Router::new().into_handler().unwrap();
    assert_eq!(bare.refuse_request(&head, 417, "no").status(), 417);
}
