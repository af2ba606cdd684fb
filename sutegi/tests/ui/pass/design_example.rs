//! The example of DESIGN.md, "What a user writes", as written there: it must
//! compile. `main` builds the router and checks it instead of serving.

use serde::{Deserialize, Serialize};
use sutegi::{get, post, routes, sse, Json, Query, SseSink, State, Status};

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

impl User {
    fn find(id: u64) -> User {
        User { id, name: format!("user{id}") }
    }
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
struct NewUser {
    name: String,
}

#[derive(Default)]
struct Db {
    next_id: std::sync::atomic::AtomicU64,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
struct Ticks {
    n: u32,
}

#[get("/users/{id}")]
fn user(id: u64) -> Json<User> { Json(User::find(id)) }   // `{id}` binds the argument named `id`

#[post("/users")]
fn create(Json(new): Json<NewUser>, db: State<Db>) -> (Status, Json<User>) {
    let id = db.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    (Status::CREATED, Json(User { id, name: new.name }))
}

#[sse("/events")]
fn events(q: Query<Ticks>, sink: &mut SseSink) -> std::io::Result<()> {
    for i in 0..q.n { sink.event("tick", &i.to_string())?; }
    Ok(())
}

mod admin {
    use sutegi::get;

    #[get("/stats")]
    pub fn stats() -> &'static str {
        "{}"
    }
}

fn serve_design_example() -> std::io::Result<()> {
    let app = routes![user, create, events]
        .mount("/admin", routes![admin::stats])
        .with_state(Db::default());
    sutegi::serve("127.0.0.1:8080", app)
}

fn main() {
    // Serving would block forever; naming the function is enough to compile it.
    let _ = serve_design_example as fn() -> std::io::Result<()>;

    let app = routes![user, create, events]
        .mount("/admin", routes![admin::stats])
        .with_state(Db::default());
    assert!(app.into_handler().is_ok());

    // A handler stays an ordinary function.
    assert_eq!(user(7).0.name, "user7");
    assert_eq!(user::path(7), "/users/7");
    assert_eq!(admin::stats::path(), "/stats");
}
