//! Mounting: prefixes, bad prefixes, fallbacks under their prefix, states
//! shared, checked and scoped nearest first, and body limits from the route
//! then its routers.

use super::*;

#[test]
fn mounting_prefixes_paths() {
    let admin = Router::new()
        .get("/", || "admin home")
        .get("/stats", || "stats")
        .mount("/deep", Router::new().get("/er", || "deeper"));
    let orgs = Router::new().get("/members/{id}", |Path((org, id)): Path<(String, u32)>| {
        format!("{org}:{id}")
    });
    let app = Router::new()
        .get("/", || "home")
        .mount("/admin/", admin)
        .mount("/orgs/{org}", orgs)
        .mount("/", Router::new().get("/top", || "top"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/"), (200, "home".into()));
    assert_eq!(get(&app, "/admin"), (200, "admin home".into()));
    assert_eq!(get(&app, "/admin/stats"), (200, "stats".into()));
    assert_eq!(get(&app, "/admin/deep/er"), (200, "deeper".into()));
    assert_eq!(get(&app, "/orgs/acme/members/3"), (200, "acme:3".into()));
    assert_eq!(get(&app, "/top"), (200, "top".into()));
    assert_eq!(get(&app, "/stats").0, 404);
}

#[test]
fn a_bad_mount_prefix_is_reported_with_its_location() {
    let line = line!() + 1;
    let router = Router::new().mount("admin", Router::new());
    let found = problems(router.mount("/x/{*rest}", Router::new()));
    assert_eq!(found.len(), 2);
    match &found[0] {
        RouterProblem::InvalidPrefix {
            prefix, location, ..
        } => {
            assert_eq!(prefix, "admin");
            assert_eq!((location.file(), location.line()), (file!(), line));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(found[1].to_string().contains("catch-all"));
}

#[test]
fn fallbacks_answer_unmatched_paths_under_their_prefix() {
    let api = Router::new()
        .get("/users", || "users")
        .fallback(|req: &Request| format!("api fallback for {}", req.path()));
    let app = Router::new()
        .get("/", || "home")
        .mount("/api", api)
        .fallback(|| (Status::NOT_FOUND, "site fallback"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/api/users"), (200, "users".into()));
    assert_eq!(
        get(&app, "/api/nope/deeper"),
        (200, "api fallback for /api/nope/deeper".into())
    );
    assert_eq!(get(&app, "/api"), (200, "api fallback for /api".into()));
    assert_eq!(get(&app, "/api/"), (200, "api fallback for /api/".into()));
    assert_eq!(get(&app, "/apix"), (404, "site fallback".into()));
    assert_eq!(get(&app, "/elsewhere"), (404, "site fallback".into()));
    // A path some route takes with another method stays a 405.
    assert_eq!(send(&app, Method::Post, "/api/users").status(), 405);
}

struct Counter {
    hits: AtomicU64,
}

#[test]
fn states_are_shared_and_checked() {
    let app = Router::new()
        .get("/hit", |counter: State<Counter>| {
            (counter.hits.fetch_add(1, Ordering::Relaxed) + 1).to_string()
        })
        .get("/name", |name: State<String>| name.to_string())
        .with_state(Counter {
            hits: AtomicU64::new(0),
        })
        .with_state(String::from("first"))
        .with_state(String::from("replaced"))
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/hit").1, "1");
    assert_eq!(get(&app, "/hit").1, "2");
    assert_eq!(get(&app, "/name").1, "replaced");

    let found = problems(Router::new().get("/hit", |_: State<Counter>| ""));
    match &found[..] {
        [RouterProblem::MissingState {
            route, type_name, ..
        }] => {
            assert!(type_name.ends_with("Counter"));
            assert_eq!(route.path, "/hit");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Option<State<T>> does not require it.
    let app = Router::new()
        .get("/maybe", |c: Option<State<Counter>>| {
            c.is_some().to_string()
        })
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/maybe").1, "false");
}

#[test]
fn mounted_states_are_scoped_nearest_first() {
    let inner = Router::new()
        .get("/name", |name: State<String>| name.to_string())
        .get("/n", |n: State<u32>| n.to_string())
        .with_state(String::from("inner"));
    let app = Router::new()
        .get("/name", |name: State<String>| name.to_string())
        .mount("/in", inner)
        .with_state(String::from("outer"))
        .with_state(7u32)
        .into_handler()
        .unwrap();
    assert_eq!(get(&app, "/name").1, "outer");
    assert_eq!(get(&app, "/in/name").1, "inner");
    assert_eq!(get(&app, "/in/n").1, "7");

    // An inner state does not serve the outer routes.
    let found = problems(
        Router::new()
            .get("/n", |n: State<u32>| n.to_string())
            .mount("/in", Router::new().with_state(1u32)),
    );
    assert!(
        matches!(&found[..], [RouterProblem::MissingState { .. }]),
        "{found:?}"
    );
}

#[test]
fn body_limits_come_from_the_route_then_its_routers() {
    let uploads = Router::new()
        .post("/big", || "")
        .route(Route::new(&[Method::Post], "/small", || "").body_limit(10))
        .body_limit(1 << 20);
    let app = Router::new()
        .route(Route::new(&[Method::Post, Method::Get], "/one", || "").body_limit(64 << 20))
        .post("/plain", || "")
        .mount("/up", uploads)
        .into_handler()
        .unwrap();
    assert_eq!(app.body_limit(Method::Post, "/one"), Some(64 << 20));
    assert_eq!(app.body_limit(Method::Head, "/one"), Some(64 << 20));
    assert_eq!(app.body_limit(Method::Post, "/plain"), None);
    assert_eq!(app.body_limit(Method::Post, "/up/big"), Some(1 << 20));
    assert_eq!(app.body_limit(Method::Post, "/up/small"), Some(10));
    assert_eq!(app.body_limit(Method::Put, "/one"), None);
    assert_eq!(app.body_limit(Method::Post, "/nope"), None);

    let app = Router::new()
        .post("/x", || "")
        .body_limit(5)
        .into_handler()
        .unwrap();
    assert_eq!(app.body_limit(Method::Post, "/x"), Some(5));
}
