//! The reference API (`docs/reference-api.md`): one small REST API that
//! exercises every part of sutegi, and the program the conformance, load
//! and browser suites drive. Its routes are fixed by that page.
//!
//! Run it with `cargo run --release --example api [ADDR]`; `--help` lists
//! the environment variables.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sutegi::cookies::{Cookie, CookieKey, SignedCookieJar};
use sutegi::extract::{Multipart, MultipartLimits};
use sutegi::files::ServeDir;
use sutegi::middleware::{AccessLog, Cors, RequestIds};
use sutegi::openapi::Info;
use sutegi::{
    get, post, route, routes, sse, Error, Headers, IntoResponse, Json, LastEventId, Limits, Method,
    Next, Query, Request, Response, Router, Server, SseSink, State, Status, WebSocket,
};

/// A greeting.
#[derive(Serialize, JsonSchema)]
struct Message {
    message: &'static str,
}

/// A user.
#[derive(Serialize, JsonSchema)]
struct User {
    /// The user's id, counting up from 1.
    id: u64,
    name: String,
}

/// A user to create.
#[derive(Deserialize, JsonSchema)]
struct NewUser {
    /// The new user's name.
    name: String,
}

/// Process-wide user ids, counting up from 1.
#[derive(Default)]
struct Users {
    last_id: AtomicU64,
}

/// The plaintext benchmark: `Hello, World!`.
#[get("/plaintext")]
fn plaintext() -> &'static str {
    "Hello, World!"
}

/// The JSON benchmark: a greeting as JSON.
#[get("/json")]
fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

/// Looks up one user by id.
///
/// Every id names a user: `user<id>`.
#[get("/users/{id}", tool)]
fn user(id: u64) -> Json<User> {
    Json(User {
        id,
        name: format!("user{id}"),
    })
}

/// Creates a user.
///
/// Answers 201 with the new user and its `Location`; ids count up from 1.
#[post("/users", tool)]
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

/// A search and how many results it asks for.
#[derive(Deserialize, Serialize, JsonSchema)]
struct Search {
    /// What to search for.
    q: String,
    /// How many results, 10 when not given.
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    10
}

/// Echoes a search back.
///
/// Answers the query and the limit it was given, with the limit's default filled in.
#[get("/search", tool)]
fn search(Query(search): Query<Search>) -> Json<Search> {
    Json(search)
}

/// Echoes the request body with its `Content-Type`.
#[post("/echo")]
fn echo(headers: Headers, body: Vec<u8>) -> Response {
    let content_type = headers
        .get("content-type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    Response::with_body(200, body).header("Content-Type", content_type)
}

/// Echoes the rest of the path, percent-decoded.
#[get("/files/{*path}")]
fn files(path: String) -> String {
    path
}

/// How many events or chunks, and the pause between them.
#[derive(Deserialize, JsonSchema)]
struct Ticks {
    /// How many (5 when not given).
    #[serde(default = "default_ticks")]
    n: u32,
    /// The pause between two, in milliseconds (0 when not given).
    #[serde(default)]
    interval_ms: u64,
}

fn default_ticks() -> u32 {
    5
}

/// A WebSocket that echoes every text and binary message.
///
/// A Close is answered with the same code by the socket itself; a plain
/// GET gets 426.
#[sutegi::ws("/ws/echo")]
fn ws_echo(ws: &mut WebSocket) -> io::Result<()> {
    while let Some(message) = ws.recv()? {
        ws.send(message)?;
    }
    Ok(())
}

/// Server-Sent Events: `n` ticks, `interval_ms` apart.
///
/// Resumes after `Last-Event-ID` when it is a number.
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

/// A raw chunked stream: `n` lines, `interval_ms` apart.
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

/// How long to sleep.
#[derive(Deserialize, JsonSchema)]
struct Sleep {
    /// Milliseconds, 0 to 10000 (0 when not given).
    #[serde(default)]
    ms: u64,
}

/// Sleeps `ms` milliseconds, then says so.
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

#[derive(Serialize, JsonSchema)]
struct UploadedPart {
    name: Option<String>,
    filename: Option<String>,
    size: u64,
}

#[derive(Serialize, JsonSchema)]
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

#[derive(Serialize, JsonSchema)]
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

/// Panics on purpose: the answer is the JSON 500.
#[get("/panic")]
fn panic_on_purpose() -> &'static str {
    panic!("panicked on purpose")
}

#[derive(Serialize, JsonSchema)]
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
        visits,
        ws_echo
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
    // The OpenAPI 3.1 document of the routes above, built once at start-up.
    .openapi("/openapi.json", Info::new("sutegi reference API", "1.0.0"))
    // The three routes marked `tool` as MCP tools, for the server's own
    // origin and the browser client's.
    .mcp_allowing("/mcp", &["http://localhost:3000"])
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

#[cfg(test)]
mod tests {
    //! The self-description of the API, in process: the document it serves
    //! is the checked-in `examples/openapi.json` (so a change to it shows in
    //! review), and its MCP tools are the three it promises.

    use super::*;
    use serde_json::{json, Value};
    use sutegi::{Handler, Request};

    fn handler() -> sutegi::RouterHandler {
        with_middleware(app(), false)
            .with_state(CookieKey::generate())
            .into_handler()
            .unwrap()
    }

    fn mcp(app: &sutegi::RouterHandler, message: Value, origin: Option<&str>) -> (u16, Value) {
        let body = message.to_string().into_bytes();
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Host", "127.0.0.1:8080"),
        ];
        if let Some(origin) = origin {
            headers.push(("Origin", origin));
        }
        let response = app.handle(Request::new(Method::Post, "/mcp", &headers, body));
        let value = serde_json::from_slice(response.body().as_bytes().unwrap_or(b"null"))
            .unwrap_or(Value::Null);
        (response.status(), value)
    }

    #[test]
    fn the_served_document_is_the_checked_in_one() {
        let app = handler();
        let response = app.handle(Request::new(Method::Get, "/openapi.json", &[], vec![]));
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.header_value("content-type"),
            Some("application/json")
        );
        let served = std::str::from_utf8(response.body().as_bytes().unwrap()).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        if std::env::var_os("SUTEGI_BLESS").is_some() {
            std::fs::write(path, format!("{served}\n")).unwrap();
        }
        let checked_in = std::fs::read_to_string(path).unwrap();
        assert!(
            checked_in.trim_end() == served,
            "examples/openapi.json differs from what examples/api serves: rerun with SUTEGI_BLESS=1 and review the diff"
        );
        let doc: Value = serde_json::from_str(served).unwrap();
        let user = &doc["paths"]["/users/{id}"]["get"];
        assert_eq!(user["operationId"], "user");
        assert_eq!(user["summary"], "Looks up one user by id.");
        assert_eq!(user["parameters"][0]["schema"]["minimum"], 0);
        assert_eq!(user["parameters"][0]["schema"]["type"], "integer");
        assert_eq!(
            doc["paths"]["/users"]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["required"],
            json!(["name"])
        );
        assert_eq!(
            doc["paths"]["/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
                ["schema"]["type"],
            "string"
        );
        for status in ["400", "404", "405", "413", "415", "422", "500"] {
            assert_eq!(
                doc["paths"]["/users"]["post"]["responses"][status]["content"]["application/json"]
                    ["schema"]["$ref"],
                "#/components/schemas/Error",
                "{status}"
            );
        }
        // Only macro routes are operations: not the document, MCP, health or files.
        for path in ["/openapi.json", "/mcp", "/healthz", "/static/{path}"] {
            assert!(doc["paths"].get(path).is_none(), "{path}");
        }
    }

    #[test]
    fn mcp_lists_and_calls_the_three_tools() {
        let app = handler();
        let (status, init) = mcp(
            &app,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
        let (status, _) = mcp(
            &app,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            None,
        );
        assert_eq!(status, 202);
        let (_, list) = mcp(
            &app,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            None,
        );
        let names: Vec<&str> = list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["user", "create_user", "search"]);

        let call = |name: &str, arguments: Value| {
            mcp(&app, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": arguments}}), None).1["result"].clone()
        };
        let user = call("user", json!({"id": 7}));
        assert_eq!(user["isError"], false);
        assert_eq!(user["structuredContent"], json!({"id": 7, "name": "user7"}));
        let created = call("create_user", json!({"name": "ann"}));
        assert_eq!(created["structuredContent"]["name"], "ann");
        let found = call("search", json!({"q": "a b&c"}));
        assert_eq!(
            found["structuredContent"],
            json!({"q": "a b&c", "limit": 10})
        );
        // The route's own refusal, as the tool's error.
        let refused = call("user", json!({"id": "seven"}));
        assert_eq!(refused["isError"], true);
        let error: Value =
            serde_json::from_str(refused["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(error["error"], "Bad Request");
        let refused = call("create_user", json!({}));
        assert_eq!(refused["isError"], true);

        // JSON-RPC's own errors.
        let (_, unknown) = mcp(
            &app,
            json!({"jsonrpc": "2.0", "id": 4, "method": "nope"}),
            None,
        );
        assert_eq!(unknown["error"]["code"], -32601);
        let (_, no_tool) = mcp(
            &app,
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo"}}),
            None,
        );
        assert_eq!(no_tool["error"]["code"], -32602);
        let (status, batch) = mcp(
            &app,
            json!([{"jsonrpc": "2.0", "id": 6, "method": "ping"}]),
            None,
        );
        assert_eq!(
            (status, batch["error"]["code"].as_i64()),
            (400, Some(-32600))
        );
        let (_, version) = mcp(
            &app,
            json!({"jsonrpc": "1.0", "id": 7, "method": "ping"}),
            None,
        );
        assert_eq!(version["error"]["code"], -32600);
        let response = app.handle(Request::new(
            Method::Post,
            "/mcp",
            &[],
            b"{not json".to_vec(),
        ));
        assert_eq!(response.status(), 400);

        // Origins: the server's own and the browser client's; no other.
        assert_eq!(
            mcp(
                &app,
                json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}),
                Some("http://127.0.0.1:8080")
            )
            .0,
            200
        );
        assert_eq!(
            mcp(
                &app,
                json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}),
                Some("http://localhost:3000")
            )
            .0,
            200
        );
        assert_eq!(
            mcp(
                &app,
                json!({"jsonrpc": "2.0", "id": 10, "method": "ping"}),
                Some("http://evil.example")
            )
            .0,
            403
        );
        // No stream to open, no session to end.
        let get = app.handle(Request::new(Method::Get, "/mcp", &[], vec![]));
        assert_eq!(get.status(), 405);
    }
}
