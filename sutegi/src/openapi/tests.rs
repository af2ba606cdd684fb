//! The description of a router built in the test: mounts give tags and
//! prefixes, `hidden` and non-macro routes stay out, refusals are listed,
//! and tool calls go through the layers added before `.mcp(..)`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::openapi::{Info, JsonSchema};
use crate::{
    get, post, routes, ws, Handler, Json, Method, Query, Request, Response, Router, WebSocket,
};

#[derive(Deserialize, Serialize, JsonSchema)]
struct Page {
    /// Which page.
    page: u32,
}

/// Lists things.
///
/// A page at a time.
#[get("/things", tool)]
fn things(Query(page): Query<Page>) -> Json<Page> {
    Json(page)
}

/// Adds a thing.
#[post("/things/{id}")]
fn add(id: u64, Json(page): Json<Page>) -> Option<Json<Page>> {
    (id > 0).then_some(Json(page))
}

#[get("/secret", hidden)]
fn secret() -> &'static str {
    "hidden"
}

/// Talks.
#[ws("/talk/{room}")]
fn talk(room: u32, ws: &mut WebSocket) -> std::io::Result<()> {
    ws.send_text(&room.to_string())
}

fn document(app: &crate::RouterHandler) -> Value {
    let response = app.handle(Request::new(Method::Get, "/doc", &[], vec![]));
    assert_eq!(response.status(), 200);
    serde_json::from_slice(response.body().as_bytes().unwrap()).unwrap()
}

#[test]
fn mounted_routes_keep_their_prefix_and_get_a_tag() {
    let app = Router::new()
        .mount("/v1/{org}", routes![things, add, secret])
        .get("/closure", || "not described")
        .openapi("/doc", Info::new("t", "1"))
        .into_handler()
        .unwrap();
    let doc = document(&app);
    let paths = doc["paths"].as_object().unwrap();
    let mut names: Vec<&str> = paths.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["/v1/{org}/things", "/v1/{org}/things/{id}"]);
    let list = &doc["paths"]["/v1/{org}/things"]["get"];
    assert_eq!(list["tags"], json!(["v1/{org}"]));
    assert_eq!(list["summary"], "Lists things.");
    assert_eq!(list["description"], "A page at a time.");
    // The prefix's capture is a string; the query's field a parameter.
    assert_eq!(
        list["parameters"][0],
        json!({"name": "org", "in": "path", "required": true, "schema": {"type": "string"}})
    );
    assert_eq!(list["parameters"][1]["name"], "page");
    assert_eq!(list["parameters"][1]["in"], "query");
    assert!(list["responses"].get("413").is_none(), "no body, no 413");
    let added = &doc["paths"]["/v1/{org}/things/{id}"]["post"];
    assert_eq!(added["operationId"], "add");
    assert_eq!(added["parameters"][1]["schema"]["minimum"], 0);
    for status in ["200", "400", "404", "405", "413", "415", "422", "500"] {
        assert!(added["responses"].get(status).is_some(), "{status}");
    }
}

#[test]
fn a_websocket_route_documents_its_handshake_answers() {
    let app = routes![talk]
        .openapi("/doc", Info::new("t", "1"))
        .into_handler()
        .unwrap();
    let doc = document(&app);
    let talk = &doc["paths"]["/talk/{room}"]["get"];
    assert_eq!(talk["summary"], "Talks.");
    assert_eq!(talk["parameters"][0]["schema"]["type"], "integer");
    let responses = talk["responses"].as_object().unwrap();
    let mut statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
    statuses.sort();
    // No 200 (a handshake never gets one) and no body refusals.
    assert_eq!(statuses, ["101", "400", "404", "405", "426", "500", "503"]);
    assert_eq!(
        responses["426"]["headers"]["Sec-WebSocket-Version"]["schema"]["const"],
        "13"
    );
}

#[test]
fn tool_calls_run_through_the_layers_before_mcp() {
    let app = routes![things]
        .layer(|request: &mut Request, next: crate::Next<'_>| {
            if request.header("authorization") != Some("Bearer t") {
                return Response::new(401);
            }
            next.run(request)
        })
        .mcp("/mcp")
        .into_handler()
        .unwrap();
    let call = |auth: Option<&str>| {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = auth {
            headers.push(("Authorization", auth));
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "things", "arguments": {"page": 2}}});
        let response = app.handle(Request::new(
            Method::Post,
            "/mcp",
            &headers,
            body.to_string().into_bytes(),
        ));
        assert_eq!(response.status(), 200);
        serde_json::from_slice::<Value>(response.body().as_bytes().unwrap()).unwrap()["result"]
            .clone()
    };
    assert_eq!(
        call(Some("Bearer t"))["structuredContent"],
        json!({"page": 2})
    );
    assert_eq!(call(None)["isError"], true);
    // A notification is accepted without an answer.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let response = app.handle(Request::new(Method::Post, "/mcp", &[], note.into_bytes()));
    assert_eq!(response.status(), 202);
    // An unknown protocol revision is refused.
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let headers = [("MCP-Protocol-Version", "1999-01-01")];
    let response = app.handle(Request::new(
        Method::Post,
        "/mcp",
        &headers,
        ping.into_bytes(),
    ));
    assert_eq!(response.status(), 400);
}
