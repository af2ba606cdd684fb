//! The OpenAPI 3.1 document, written as `serde_json` values from the
//! described routes ([`Endpoint`]s): paths in OpenAPI form, parameters,
//! bodies, responses, and the one error shape as a shared component that
//! every refusal refers to. Gathering the routes is `mod.rs`'s.

use serde_json::{json, Map, Value};

use super::{Endpoint, Info};
use crate::router::pattern::{parse_pattern, PatternPiece};

/// The document of `endpoints`.
pub(super) fn build(info: &Info, endpoints: &[Endpoint]) -> Value {
    let mut paths = Map::new();
    for endpoint in endpoints {
        let path = openapi_path(&endpoint.path);
        let item = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        let several = endpoint.methods.len() > 1;
        for method in &endpoint.methods {
            let method = method.as_str().to_ascii_lowercase();
            let id = if several {
                format!("{}_{method}", endpoint.name)
            } else {
                endpoint.name.clone()
            };
            item[method.as_str()] = operation(endpoint, id);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": info.to_value(),
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "description": "The one shape of every refusal: the status's reason phrase and what was wrong.",
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "description": "The status's reason phrase."},
                        "message": {"type": "string", "description": "What was wrong, for a person."}
                    }
                }
            }
        }
    })
}

/// `/files/{*path}` → `/files/{path}`; `{{` → `{`. OpenAPI has no
/// catch-all: the parameter is named, its slashes are left unsaid.
fn openapi_path(pattern: &str) -> String {
    let mut out = String::new();
    for piece in parse_pattern(pattern) {
        match piece {
            PatternPiece::Literal(text) => out.push_str(&text),
            PatternPiece::Capture(name) | PatternPiece::CatchAll(name) => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
    }
    out
}

fn capture_names(pattern: &str) -> Vec<String> {
    parse_pattern(pattern)
        .into_iter()
        .filter_map(|piece| match piece {
            PatternPiece::Capture(name) | PatternPiece::CatchAll(name) => Some(name.to_owned()),
            PatternPiece::Literal(_) => None,
        })
        .collect()
}

/// The query parameters of an object schema: one per property.
pub(super) fn query_fields(schema: &Value) -> Vec<(String, Value, bool)> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| {
                    (
                        name.clone(),
                        schema.clone(),
                        required.contains(&name.as_str()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn operation(endpoint: &Endpoint, id: String) -> Value {
    let op = &endpoint.operation;
    let mut out = Map::new();
    out.insert("operationId".into(), json!(id));
    if !endpoint.summary.is_empty() {
        out.insert("summary".into(), json!(endpoint.summary));
    }
    if !endpoint.description.is_empty() {
        out.insert("description".into(), json!(endpoint.description));
    }
    if !endpoint.tags.is_empty() {
        out.insert("tags".into(), json!(endpoint.tags));
    }

    let mut parameters = Vec::new();
    for name in capture_names(&endpoint.path) {
        let schema = op
            .captures
            .iter()
            .find(|(capture, _)| *capture == name)
            .map_or_else(|| json!({"type": "string"}), |(_, schema)| schema.clone());
        parameters.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
    }
    for query in &op.query {
        for (name, schema, required) in query_fields(query) {
            parameters
                .push(json!({"name": name, "in": "query", "required": required, "schema": schema}));
        }
    }
    let reads_input = !parameters.is_empty();
    if reads_input {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = &op.body {
        let schema = body.schema.clone().unwrap_or_else(|| json!({}));
        out.insert(
            "requestBody".into(),
            json!({"required": true, "content": {body.media: {"schema": schema}}}),
        );
    }

    let mut responses = Map::new();
    if endpoint.websocket {
        // The handshake's answers; what follows the 101 is frames, which
        // OpenAPI does not describe.
        responses.insert(
            "101".into(),
            json!({"description": "Switching Protocols: the connection is a WebSocket (RFC 6455) from here on."}),
        );
        let mut upgrade = refusal("Not a WebSocket handshake (a plain GET), or a version other than 13; the message names what is missing.");
        upgrade["headers"] = json!({"Sec-WebSocket-Version": {"description": "The version this server speaks.", "schema": {"type": "string", "const": "13"}}});
        responses.insert("426".into(), upgrade);
        responses.insert("400".into(), refusal("A malformed handshake (its key, or a header it needs); or a capture or query parameter that does not parse."));
        responses.insert("503".into(), refusal("Too many streams and WebSockets are open at once (`max_streams`); try again later."));
    } else if endpoint.stream {
        responses.insert(
            "200".into(),
            json!({"description": "A stream of Server-Sent Events.", "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
        );
    } else {
        for response in &op.responses {
            let entry = responses
                .entry(response.status.clone())
                .or_insert_with(|| json!({"description": success_description(&response.status)}));
            if let Some(media) = response.media {
                let schema = response.schema.clone().unwrap_or_else(|| json!({}));
                entry["content"][media] = json!({"schema": schema});
            }
        }
        if responses.is_empty() {
            responses.insert("200".into(), json!({"description": "The answer."}));
        }
    }
    let typed_body = op
        .body
        .as_ref()
        .is_some_and(|body| body.media != "application/octet-stream" && body.media != "text/plain");
    let refusals: [(&str, &str, bool); 7] = [
        (
            "400",
            "A capture, query parameter or body that does not parse.",
            reads_input || op.body.is_some(),
        ),
        ("404", "Nothing here.", true),
        (
            "405",
            "The path takes other methods; `Allow` lists them.",
            true,
        ),
        (
            "413",
            "The body is larger than the limit.",
            op.body.is_some(),
        ),
        (
            "415",
            "The body's media type is not the one this route reads.",
            typed_body,
        ),
        (
            "422",
            "The body parses but has the wrong shape; the message names the field.",
            typed_body,
        ),
        (
            "500",
            "The handler failed; the server log has the details.",
            true,
        ),
    ];
    for (status, description, applies) in refusals {
        if applies && !responses.contains_key(status) {
            responses.insert(status.into(), refusal(description));
        }
    }
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

fn success_description(status: &str) -> &'static str {
    match status {
        "204" => "Done, with no content.",
        "3XX" => "A redirect.",
        "2XX" => "The answer; its status is decided by the handler.",
        _ => "The answer.",
    }
}

fn refusal(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}
