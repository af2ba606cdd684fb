//! The reference API (`docs/reference-api.md`): one small REST API that
//! exercises every part of sutegi, and the program the conformance, load
//! and browser suites drive. Its routes are fixed by that page.
//!
//! Run it with `cargo run --release --example api [ADDR]`; `--help` lists
//! the environment variables.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sutegi::cookies::{Cookie, CookieKey, SignedCookieJar};
use sutegi::extract::{Multipart, MultipartLimits};
use sutegi::files::ServeDir;
use sutegi::middleware::{AccessLog, Cors, RequestIds};
use sutegi::{
    get, post, route, routes, sse, Error, Headers, IntoResponse, Json, LastEventId, Limits, Method,
    Next, Query, Request, Response, Router, Server, SseSink, State, Status,
};

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
}

/// Process-wide user ids, counting up from 1.
#[derive(Default)]
struct Users {
    last_id: AtomicU64,
}

#[get("/plaintext")]
fn plaintext() -> &'static str {
    "Hello, World!"
}

#[get("/json")]
fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

#[get("/users/{id}")]
fn user(id: u64) -> Json<User> {
    Json(User {
        id,
        name: format!("user{id}"),
    })
}

#[post("/users")]
fn create_user(
    Json(new): Json<NewUser>,
    users: State<Users>,
) -> (Status, [(&'static str, String); 1], Json<User>) {
    let id = users.last_id.fetch_add(1, Ordering::SeqCst) + 1;
    (
        Status::CREATED,
        [("Location", format!("/users/{id}"))],
        Json(User { id, name: new.name }),
    )
}

#[derive(Deserialize, Serialize)]
struct Search {
    q: String,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    10
}

#[get("/search")]
fn search(Query(search): Query<Search>) -> Json<Search> {
    Json(search)
}

#[post("/echo")]
fn echo(headers: Headers, body: Vec<u8>) -> Response {
    let content_type = headers
        .get("content-type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    Response::with_body(200, body).header("Content-Type", content_type)
}

#[get("/files/{*path}")]
fn files(path: String) -> String {
    path
}

#[derive(Deserialize)]
struct Ticks {
    #[serde(default = "default_ticks")]
    n: u32,
    #[serde(default)]
    interval_ms: u64,
}

fn default_ticks() -> u32 {
    5
}

#[sse("/events")]
fn events(
    Query(ticks): Query<Ticks>,
    last: Option<LastEventId>,
    sink: &mut SseSink,
) -> io::Result<()> {
    // Resume after the last id the client saw, when it is a u64 in plain
    // digits; any other value is ignored.
    let first = match last.as_ref().map(|l| l.0.as_str()) {
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            match text.parse::<u64>() {
                Ok(k) => k.saturating_add(1),
                Err(_) => 0,
            }
        }
        _ => 0,
    };
    let end = u64::from(ticks.n);
    for i in first..end {
        // Waits for the next tick, or until the client leaves or shutdown
        // begins: then a last `error` event says why the stream ends, so
        // the client can tell it from a finished one.
        let stop = if i > first {
            sink.wait_closed(Duration::from_millis(ticks.interval_ms))
        } else {
            sink.is_closed()
        };
        if stop {
            if sink.is_shutting_down() {
                sink.event("error", "shutting down")?;
            }
            return Ok(());
        }
        let text = i.to_string();
        sink.send(
            &sutegi::SseEvent::new()
                .event("tick")
                .id(text.clone())
                .data(text),
        )?;
    }
    Ok(())
}

#[get("/stream")]
fn stream(Query(ticks): Query<Ticks>) -> Response {
    Response::stream(move |sink| {
        for i in 0..ticks.n {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(ticks.interval_ms));
            }
            sink.send(format!("chunk {i}\n").as_bytes())?;
        }
        Ok(())
    })
}

#[derive(Deserialize)]
struct Sleep {
    #[serde(default)]
    ms: u64,
}

#[route("/slow", method = "GET", method = "POST")]
fn slow(Query(sleep): Query<Sleep>) -> Result<String, Error> {
    if sleep.ms > 10_000 {
        return Err(Error::new(
            Status::BAD_REQUEST,
            "query parameter `ms` must be between 0 and 10000",
        ));
    }
    std::thread::sleep(Duration::from_millis(sleep.ms));
    Ok(format!("slept {}", sleep.ms))
}

#[derive(Serialize)]
struct UploadedPart {
    name: Option<String>,
    filename: Option<String>,
    size: u64,
}

#[derive(Serialize)]
struct Uploaded {
    parts: Vec<UploadedPart>,
}

/// Up to 16 parts of up to 1 MiB each; the body limit lets all of them
/// through with room for the framing, and anything larger is a 413 from
/// the server before the handler runs.
#[post("/upload", body_limit = "17MiB")]
fn upload(form: Multipart) -> Result<Json<Uploaded>, Error> {
    let limits = MultipartLimits::default()
        .max_parts(16)
        .max_part_bytes(1 << 20);
    let mut form = form.limits(limits);
    let mut parts = Vec::new();
    while let Some(mut field) = form.next_field()? {
        let name = field.name().map(str::to_owned);
        let filename = field.file_name().map(str::to_owned);
        // Counted as it streams by; nothing is kept.
        let size = field.copy_to(&mut io::sink())?;
        parts.push(UploadedPart {
            name,
            filename,
            size,
        });
    }
    Ok(Json(Uploaded { parts }))
}

#[derive(Serialize)]
struct Visits {
    visits: u64,
}

/// Counts the caller's visits in a signed cookie; one whose signature does
/// not verify counts as none.
#[get("/visits")]
fn visits(mut jar: SignedCookieJar) -> (SignedCookieJar, Json<Visits>) {
    let seen: u64 = jar
        .get("visits")
        .and_then(|cookie| cookie.value().parse().ok())
        .unwrap_or(0);
    let visits = seen.saturating_add(1);
    jar.add(Cookie::new("visits", visits.to_string()));
    (jar, Json(Visits { visits }))
}

#[get("/panic")]
fn panic_on_purpose() -> &'static str {
    panic!("panicked on purpose")
}

#[derive(Serialize)]
struct Stats {
    users: u64,
}

/// How many users `POST /users` created so far.
#[get("/stats")]
fn stats(users: State<Users>) -> Json<Stats> {
    Json(Stats {
        users: users.last_id.load(Ordering::SeqCst),
    })
}

/// The admin token `/admin` routes require.
const ADMIN_TOKEN: &str = "admin-token";

/// Whether `Authorization` carries the admin token as a bearer credential.
/// The scheme is case-insensitive (RFC 9110 §11.1): `bearer admin-token`
/// passes too.
fn is_admin(authorization: Option<&str>) -> bool {
    let Some((scheme, token)) = authorization.and_then(|value| value.split_once(' ')) else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && token.trim() == ADMIN_TOKEN
}

/// The layer of the `/admin` router, and of nothing else: 401 with
/// `WWW-Authenticate: Bearer` in the JSON error shape without the token.
fn require_admin(request: &mut Request, next: Next<'_>) -> Response {
    if is_admin(request.header("authorization")) {
        return next.run(request);
    }
    let mut refusal = Error::new(
        Status::UNAUTHORIZED,
        "this route needs `Authorization: Bearer <admin token>`",
    )
    .into_response();
    refusal.set_header("WWW-Authenticate", "Bearer");
    refusal
}

/// The admin routes, mounted at `/admin` with their own layer.
fn admin() -> Router {
    routes![stats].layer(require_admin)
}

/// The API's routes, without serving them (the end-to-end tests of the
/// `tests` package use the same function through this example's binary).
fn app() -> Router {
    routes![
        plaintext,
        json,
        user,
        create_user,
        search,
        echo,
        files,
        events,
        stream,
        slow,
        panic_on_purpose,
        upload,
        visits
    ]
    // 200 `ok` while serving, 503 from SIGTERM on (through the drain delay).
    .health("/healthz")
    // Found from this package's directory, not the working directory.
    .serve_dir(
        "/static",
        ServeDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/static")),
    )
    .mount("/admin", admin())
    .with_state(Users::default())
}

/// The middleware on every route (docs/reference-api.md). The last layer added is
/// the outermost: the access log, when on, records what the others answered
/// (preflights included), and every response, a preflight's too, gets its
/// `X-Request-Id`.
fn with_middleware(app: Router, access_log: bool) -> Router {
    let cors = Cors::new()
        .allow_origin("http://localhost:3000")
        .allow_methods(&[Method::Get, Method::Post])
        .allow_headers(["Content-Type"]);
    let app = app.layer(cors).layer(RequestIds::new());
    if access_log {
        app.layer(AccessLog::new())
    } else {
        app
    }
}

/// Settings from the command line and the environment.
struct Settings {
    addr: String,
    workers: Option<usize>,
    drain_delay: Duration,
    grace: Duration,
    access_log: bool,
    print_routes: bool,
    cookie_key: CookieKey,
}

const HELP: &str = "\
The sutegi reference API; docs/reference-api.md describes every route.

usage: api [ADDR]          ADDR defaults to $SUTEGI_ADDR, else 127.0.0.1:8080

environment:
  SUTEGI_ADDR            the address to bind when none is given
  SUTEGI_LOG             comma list: `access` (access log), `routes` (print the route table)
  SUTEGI_WORKERS         worker threads (default: the server's default)
  SUTEGI_DRAIN_DELAY_MS  after SIGTERM, how long /healthz answers 503 while serving (default 0)
  SUTEGI_GRACE_MS        how long in-flight requests get to finish after that (default 20000)
  SUTEGI_COOKIE_KEY      the key that signs the /visits cookie: 64 bytes or more of text
                         (e.g. `openssl rand -hex 32`); default: a random key per start
";

fn parse_env<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={value:?} is not valid: see --help")),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

fn settings() -> Result<Settings, String> {
    let arg = std::env::args().nth(1);
    if matches!(arg.as_deref(), Some("--help" | "-h")) {
        print!("{HELP}");
        std::process::exit(0);
    }
    let addr = match arg {
        Some(addr) => addr,
        None => parse_env::<String>("SUTEGI_ADDR")?.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
    };
    let log = parse_env::<String>("SUTEGI_LOG")?.unwrap_or_default();
    let mut access_log = false;
    let mut print_routes = false;
    for item in log.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "access" => access_log = true,
            "routes" => print_routes = true,
            other => {
                return Err(format!(
                    "SUTEGI_LOG: unknown item {other:?} (expected `access` or `routes`)"
                ))
            }
        }
    }
    let workers = parse_env::<usize>("SUTEGI_WORKERS")?;
    if workers == Some(0) {
        return Err("SUTEGI_WORKERS must be at least 1".into());
    }
    let cookie_key = match parse_env::<String>("SUTEGI_COOKIE_KEY")? {
        Some(secret) => CookieKey::from_bytes(secret.trim().as_bytes())
            .map_err(|e| format!("SUTEGI_COOKIE_KEY: {e}"))?,
        None => CookieKey::generate(),
    };
    Ok(Settings {
        addr,
        workers,
        drain_delay: Duration::from_millis(parse_env("SUTEGI_DRAIN_DELAY_MS")?.unwrap_or(0)),
        grace: Duration::from_millis(parse_env("SUTEGI_GRACE_MS")?.unwrap_or(20_000)),
        access_log,
        print_routes,
        cookie_key,
    })
}

fn main() -> io::Result<()> {
    let settings = settings().unwrap_or_else(|message| {
        eprintln!("api: {message}");
        std::process::exit(2);
    });
    // The route table goes to stderr once, when `serve` checks the router.
    let app = app().with_state(settings.cookie_key);
    let app = with_middleware(app, settings.access_log).print_routes(settings.print_routes);
    let limits = Limits {
        drain_delay: settings.drain_delay,
        shutdown_grace: settings.grace,
        ..Limits::default()
    };
    let mut server = Server::bind(&settings.addr)?.limits(limits);
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    println!("listening on http://{}", server.local_addr()?);
    server.serve(app)
}
