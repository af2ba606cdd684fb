//! The Model Context Protocol over its Streamable HTTP transport (revision
//! 2025-11-25, older revisions it is compatible with accepted too), as a
//! middleware layer: `initialize`, `notifications/initialized`, `ping`,
//! `tools/list` and `tools/call`, where each tool is a route marked `tool`.
//!
//! The server is stateless: no session id, no server-to-client stream (a
//! `GET` or `DELETE` on the endpoint is a 405, as the transport allows).
//! Each `POST` carries one JSON-RPC message; a request is answered with
//! `application/json`, a notification or a response with 202. A tool call
//! becomes an ordinary request (method, path with the captures, query
//! string, JSON body) run through the rest of the chain, so it meets the
//! same middleware, extractors, states and refusals as any other; a
//! refusal comes back as `isError: true` with the JSON error as its text.
//!
//! Requests with an `Origin` that is neither the server's own (from
//! `Host`) nor on the allow-list are refused with 403, against DNS
//! rebinding; an `MCP-Protocol-Version` this server does not speak is a
//! 400. The routes' schemas are `mod.rs`'s; the layer types are the
//! router's.

use std::sync::{Arc, OnceLock};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::document::query_fields;
use super::Endpoint;
use crate::router::layers::{Chain, Layer};
use crate::router::pattern::{parse_pattern, PatternPiece};
use crate::server::{Method, Request, Response};

/// The revisions this server speaks, newest first.
const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

// JSON-RPC 2.0's error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// Everything but unreserved characters is escaped in a capture or a query
/// value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One tool: a route marked `tool`, with what its call needs to become a
/// request.
#[derive(Clone, Debug)]
pub struct McpTool {
    name: String,
    description: String,
    input_schema: Value,
    output_schema: Option<Value>,
    method: Method,
    /// The route's full path pattern.
    path: String,
    query: Vec<String>,
    /// Whether the remaining arguments go in a JSON body.
    json_body: bool,
}

impl McpTool {
    /// The tool's name: its handler's.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn to_value(&self) -> Value {
        let mut tool = Map::new();
        tool.insert("name".into(), json!(self.name));
        tool.insert("description".into(), json!(self.description));
        tool.insert("inputSchema".into(), self.input_schema.clone());
        if let Some(output) = &self.output_schema {
            tool.insert("outputSchema".into(), output.clone());
        }
        Value::Object(tool)
    }
}

/// The tools among the described routes.
pub(super) fn tools(endpoints: &[Endpoint]) -> Vec<McpTool> {
    endpoints
        .iter()
        .filter(|endpoint| endpoint.tool)
        .map(tool)
        .collect()
}

fn tool(endpoint: &Endpoint) -> McpTool {
    let op = &endpoint.operation;
    let mut properties = Map::new();
    let mut required: Vec<String> = Vec::new();
    for piece in parse_pattern(&endpoint.path) {
        if let PatternPiece::Capture(name) | PatternPiece::CatchAll(name) = piece {
            let schema = op
                .captures
                .iter()
                .find(|(capture, _)| capture == name)
                .map_or_else(|| json!({"type": "string"}), |(_, schema)| schema.clone());
            properties.insert(name.to_owned(), schema);
            required.push(name.to_owned());
        }
    }
    let mut query = Vec::new();
    for schema in &op.query {
        for (name, schema, is_required) in query_fields(schema) {
            if is_required {
                required.push(name.clone());
            }
            query.push(name.clone());
            properties.insert(name, schema);
        }
    }
    let json_body = op.body.as_ref().is_some_and(|body| body.json);
    if let Some(schema) = op
        .body
        .as_ref()
        .filter(|b| b.json)
        .and_then(|b| b.schema.as_ref())
    {
        for (name, schema, is_required) in query_fields(schema) {
            if is_required {
                required.push(name.clone());
            }
            properties.insert(name, schema);
        }
    }
    let mut input = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        input["required"] = json!(required);
    }
    // MCP's outputSchema describes an object: a JSON answer that is one.
    let output_schema = op
        .responses
        .iter()
        .filter(|r| r.status.starts_with('2') && r.media == Some("application/json"))
        .filter_map(|r| r.schema.clone())
        .find(|schema| schema["type"] == "object");
    let description = [endpoint.summary.as_str(), endpoint.description.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    // GET is the call's method when the route takes it.
    let method = if endpoint.methods.contains(&Method::Get) {
        Method::Get
    } else {
        endpoint.methods[0]
    };
    McpTool {
        name: endpoint.name.clone(),
        description,
        input_schema: input,
        output_schema,
        method,
        path: endpoint.path.clone(),
        query,
        json_body,
    }
}

/// The layer that answers `path` with MCP and lets everything else by.
pub(super) fn layer(
    path: &'static str,
    origins: Vec<String>,
    tools: Arc<OnceLock<Vec<McpTool>>>,
) -> Layer {
    let endpoint = McpEndpoint { origins, tools };
    Layer::new(
        move |request: &mut Request, chain: Chain<'_>| {
            if request.path() != path {
                return chain.run(request);
            }
            endpoint.answer(request, chain)
        },
        "mcp",
        std::panic::Location::caller(),
    )
}

/// The endpoint's settings.
struct McpEndpoint {
    origins: Vec<String>,
    tools: Arc<OnceLock<Vec<McpTool>>>,
}

fn http_error(status: u16, message: &str) -> Response {
    crate::respond::render_error(&crate::Error::new(status, message.to_owned()))
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn json_response(status: u16, value: &Value) -> Response {
    Response::with_body(
        status,
        serde_json::to_vec(value).expect("a JSON value serializes"),
    )
    .header("Content-Type", "application/json")
}

impl McpEndpoint {
    fn origin_allowed(&self, request: &Request) -> bool {
        let Some(origin) = request.header("origin") else {
            // Not a browser: no rebinding to fear.
            return true;
        };
        let origin = origin.trim_end_matches('/');
        if self
            .origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        match request.header("host") {
            Some(host) => ["http://", "https://"].iter().any(|scheme| {
                origin
                    .strip_prefix(scheme)
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
            }),
            None => false,
        }
    }

    fn answer(&self, request: &mut Request, chain: Chain<'_>) -> Response {
        if !self.origin_allowed(request) {
            return http_error(403, "this Origin may not use the MCP endpoint");
        }
        if request.method() != Method::Post {
            // Stateless: no stream to GET, no session to DELETE.
            return http_error(
                405,
                "the MCP endpoint takes POST: this server opens no stream and keeps no session",
            )
            .header("Allow", "POST");
        }
        if let Some(version) = request.header("mcp-protocol-version") {
            if !PROTOCOL_VERSIONS.contains(&version.trim()) {
                return http_error(
                    400,
                    &format!(
                        "MCP-Protocol-Version {version:?} is not supported; this server speaks {}",
                        PROTOCOL_VERSIONS.join(", ")
                    ),
                );
            }
        }
        let message: Value = match serde_json::from_slice(request.body()) {
            Ok(message) => message,
            Err(error) => {
                return json_response(
                    400,
                    &rpc_error(Value::Null, PARSE_ERROR, &format!("not JSON: {error}")),
                )
            }
        };
        let Value::Object(message) = message else {
            // Batches were removed from the transport in 2025-06-18.
            return json_response(
                400,
                &rpc_error(
                    Value::Null,
                    INVALID_REQUEST,
                    "one JSON-RPC message per request: batches are not supported",
                ),
            );
        };
        let id = message.get("id").cloned();
        if message.get("jsonrpc") != Some(&json!("2.0")) {
            return json_response(
                400,
                &rpc_error(
                    id.unwrap_or(Value::Null),
                    INVALID_REQUEST,
                    "`jsonrpc` must be \"2.0\"",
                ),
            );
        }
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            if id.is_some() && (message.contains_key("result") || message.contains_key("error")) {
                // A response to a request this server never sends.
                return Response::new(202);
            }
            return json_response(
                400,
                &rpc_error(
                    id.unwrap_or(Value::Null),
                    INVALID_REQUEST,
                    "a request needs a `method` string",
                ),
            );
        };
        let Some(id) = id else {
            // A notification: nothing to answer.
            return Response::new(202);
        };
        if !(id.is_string() || id.is_i64() || id.is_u64()) {
            return json_response(
                400,
                &rpc_error(
                    Value::Null,
                    INVALID_REQUEST,
                    "`id` must be a string or an integer",
                ),
            );
        }
        let params = message.get("params");
        let result = match method {
            "initialize" => Ok(self.initialize(params)),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(self.list()),
            "tools/call" => self.call(params, request, chain),
            other => Err((METHOD_NOT_FOUND, format!("unknown method `{other}`"))),
        };
        let reply = match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => rpc_error(id, code, &message),
        };
        json_response(200, &reply)
    }

    fn initialize(&self, params: Option<&Value>) -> Value {
        let asked = params
            .and_then(|p| p.get("protocolVersion"))
            .and_then(Value::as_str);
        let version = match asked {
            Some(asked) if PROTOCOL_VERSIONS.contains(&asked) => asked,
            _ => PROTOCOL_VERSIONS[0],
        };
        json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "sutegi", "version": env!("CARGO_PKG_VERSION")}
        })
    }

    fn tools(&self) -> &[McpTool] {
        self.tools.get().map_or(&[], Vec::as_slice)
    }

    fn list(&self) -> Value {
        let tools: Vec<Value> = self.tools().iter().map(McpTool::to_value).collect();
        json!({"tools": tools})
    }

    fn call(
        &self,
        params: Option<&Value>,
        original: &Request,
        chain: Chain<'_>,
    ) -> Result<Value, (i64, String)> {
        let Some(params) = params.and_then(Value::as_object) else {
            return Err((
                INVALID_PARAMS,
                "tools/call needs `params` with the tool's `name`".into(),
            ));
        };
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return Err((INVALID_PARAMS, "tools/call needs the tool's `name`".into()));
        };
        let Some(tool) = self.tools().iter().find(|tool| tool.name == name) else {
            return Err((INVALID_PARAMS, format!("unknown tool `{name}`")));
        };
        let empty = Map::new();
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(arguments)) => arguments,
            Some(_) => return Err((INVALID_PARAMS, "`arguments` must be an object".into())),
        };
        let mut request = match tool_request(tool, arguments, original) {
            Ok(request) => request,
            Err(message) => return Ok(tool_error(&message)),
        };
        let response = chain.run(&mut request);
        Ok(tool_result(tool, &response))
    }
}

fn tool_error(message: &str) -> Value {
    let error = json!({"error": "Bad Request", "message": message}).to_string();
    json!({"content": [{"type": "text", "text": error}], "isError": true})
}

/// An argument as text in a path or a query: a string as it is, anything
/// else as JSON.
fn argument_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The request a tool call stands for.
fn tool_request(
    tool: &McpTool,
    arguments: &Map<String, Value>,
    original: &Request,
) -> Result<Request, String> {
    let mut target = String::new();
    let mut used: Vec<&str> = Vec::new();
    for piece in parse_pattern(&tool.path) {
        match piece {
            PatternPiece::Literal(text) => target.push_str(&text),
            PatternPiece::Capture(name) | PatternPiece::CatchAll(name) => {
                let Some(value) = arguments.get(name) else {
                    return Err(format!("missing argument `{name}`"));
                };
                target.extend(utf8_percent_encode(&argument_text(value), COMPONENT));
                used.push(name);
            }
        }
    }
    let mut separator = '?';
    for name in &tool.query {
        if let Some(value) = arguments.get(name.as_str()).filter(|v| !v.is_null()) {
            target.push(separator);
            separator = '&';
            target.extend(utf8_percent_encode(name, COMPONENT));
            target.push('=');
            target.extend(utf8_percent_encode(&argument_text(value), COMPONENT));
            used.push(name);
        }
    }
    let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
    // The caller's credentials go with the call, so an auth layer inside
    // sees who asks.
    for name in ["authorization", "cookie"] {
        if let Some(value) = original.header(name) {
            headers.push((name, value));
        }
    }
    let body = if tool.json_body {
        let body: Map<String, Value> = arguments
            .iter()
            .filter(|(name, _)| !used.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        headers.push(("Content-Type", "application/json"));
        serde_json::to_vec(&Value::Object(body)).expect("a JSON value serializes")
    } else {
        Vec::new()
    };
    let mut request = Request::new(tool.method, &target, &headers, body);
    request.peer = original.peer;
    Ok(request)
}

/// The route's answer as a tool result.
fn tool_result(tool: &McpTool, response: &Response) -> Value {
    let body = response.body().as_bytes().unwrap_or_default();
    let text = String::from_utf8_lossy(body).into_owned();
    let is_error = !(200..300).contains(&response.status());
    let mut result = json!({"content": [{"type": "text", "text": text}], "isError": is_error});
    if !is_error && tool.output_schema.is_some() {
        if let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(body) {
            result["structuredContent"] = value;
        }
    }
    result
}
