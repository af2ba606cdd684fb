//! Self-description, behind the `openapi` feature: the API's routes as an
//! OpenAPI 3.1 document for people ([`Router::openapi`]) and as Model
//! Context Protocol tools for agents ([`Router::mcp`]), both generated from
//! what the route macros already know.
//!
//! ```ignore
//! #[derive(Serialize, JsonSchema)]
//! struct User { id: u64, name: String }
//!
//! /// One user.
//! ///
//! /// Looked up by id.
//! #[get("/users/{id}", tool)]
//! fn user(id: u64) -> Json<User> { /* … */ }
//!
//! let app = routes![user]
//!     .openapi("/openapi.json", Info::new("Users", "1.0.0"))
//!     .mcp("/mcp");
//! ```
//!
//! # What a route says about itself
//!
//! Under this feature each route macro also emits a description: the
//! handler's doc comment (its first line is the `summary`, the rest the
//! `description`), its name (the `operationId` and the tool's name), its
//! captures with their schemas, and what each extractor and the return type
//! say through [`DescribeInput`] and [`DescribeResponse`]. Types describe
//! themselves through `schemars`' `#[derive(JsonSchema)]` (JSON Schema
//! 2020-12, the dialect of OpenAPI 3.1 and of MCP); a `Json<T>`, `Query<T>`
//! or `Form<T>` whose `T` has no schema is a compile error on `T` that
//! names the derive. An extractor or response type of your own that
//! implements neither trait is described as nothing (an extractor) or as a
//! 200 without a schema (a response). `#[get("/x", hidden)]` leaves a route
//! out; `#[get("/x", tool)]` makes it an MCP tool. Routes that are not
//! macro routes (closures, the health route, static files, the document
//! and the MCP endpoint themselves) are not operations of the document.
//!
//! # When the work is done
//!
//! Schemas are produced by schemars at run time, so the document and the
//! tool list are built once, when the router is checked
//! ([`Router::into_handler`], or `serve` before it binds); serving them
//! afterwards copies bytes, and the other routes do not see any of it.
//!
//! This module owns the description types and their building; the route
//! table, the layers and dispatch stay the router's (`router/`), which
//! only calls `prepare` while it checks itself. `document.rs` writes the
//! OpenAPI document, `mcp.rs` serves MCP, `impls.rs` describes sutegi's own
//! extractors and responses.

mod document;
mod impls;
mod mcp;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{json, Map, Value};

use crate::router::route::DescribedRoute;
use crate::router::{PendingDescription, RouteKind, Router};
use crate::server::{Method, Response, Status};

pub use schemars::JsonSchema;

pub use self::mcp::McpTool;

/// A type whose JSON Schema the description can use: every type that
/// implements `schemars::JsonSchema`. It exists so that a missing schema
/// reads as one sentence naming the derive, not as a wall of bounds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no JSON Schema, which the `openapi` feature needs to describe this route: add `#[derive(schemars::JsonSchema)]` to `{Self}`",
    label = "no JSON Schema: derive `schemars::JsonSchema` on this type",
    note = "or leave the route out of the description with `hidden`, like `#[get(\"/path\", hidden)]`"
)]
pub trait Described {
    /// Names the requirement in generated code (`<T as Described>::DESCRIBED`).
    const DESCRIBED: () = ();
}

#[diagnostic::do_not_recommend]
impl<T: JsonSchema + ?Sized> Described for T {}

/// What an extractor reads from a request, for the description: a query,
/// a body with its media type, nothing. sutegi's extractors implement it;
/// implement it for an extractor of your own to describe what it reads (an
/// extractor that implements it not is described as reading nothing).
pub trait DescribeInput {
    /// Adds what this extractor reads to `operation`.
    fn describe_input(operation: &mut Operation);
}

/// What a handler's return type answers, for the description: a status, a
/// media type and a schema. sutegi's responses implement it; a type of your
/// own that implements it not is described as a 200 without a schema.
pub trait DescribeResponse {
    /// Adds the responses this type can be to `operation`.
    fn describe_response(operation: &mut Operation);
}

/// Where a request body is described: its media type and, when known, its
/// schema.
#[derive(Clone, Debug)]
pub(crate) struct BodyDoc {
    pub(crate) media: &'static str,
    pub(crate) schema: Option<Value>,
    /// A JSON body whose object properties become tool arguments.
    pub(crate) json: bool,
}

/// One documented answer.
#[derive(Clone, Debug)]
pub(crate) struct ResponseDoc {
    /// `"200"`, `"2XX"`, …
    pub(crate) status: String,
    pub(crate) media: Option<&'static str>,
    pub(crate) schema: Option<Value>,
}

/// One route's description being gathered: the captures, the query fields,
/// the body and the responses. The generated code of a route macro fills
/// it, through [`DescribeInput`] and [`DescribeResponse`].
pub struct Operation {
    input: SchemaGenerator,
    output: SchemaGenerator,
    pub(crate) captures: Vec<(String, Value)>,
    /// Object schemas of `Query<T>`'s `T`.
    pub(crate) query: Vec<Value>,
    pub(crate) body: Option<BodyDoc>,
    pub(crate) responses: Vec<ResponseDoc>,
}

impl Operation {
    fn new() -> Operation {
        // Inlined schemas: each parameter, body and tool argument stands
        // alone, as MCP's `inputSchema` must.
        let inline = |settings: SchemaSettings| {
            settings
                .with(|s| {
                    s.inline_subschemas = true;
                    s.meta_schema = None;
                })
                .into_generator()
        };
        Operation {
            input: inline(SchemaSettings::draft2020_12().for_deserialize()),
            output: inline(SchemaSettings::draft2020_12().for_serialize()),
            captures: Vec::new(),
            query: Vec::new(),
            body: None,
            responses: Vec::new(),
        }
    }

    /// The schema of `T` as a request reads it.
    pub fn input_schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.input.subschema_for::<T>().to_value()
    }

    /// The schema of `T` as a response writes it.
    pub fn output_schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.output.subschema_for::<T>().to_value()
    }

    /// A path capture named `name`, parsed into `T`.
    pub fn capture<T: JsonSchema + ?Sized>(&mut self, name: &str) {
        let schema = self.input_schema::<T>();
        self.capture_schema(name, schema);
    }

    /// A path capture with a given schema.
    pub fn capture_schema(&mut self, name: &str, schema: Value) {
        self.captures.push((name.to_owned(), schema));
    }

    /// The fields of `T` as query parameters (`T` is a struct).
    pub fn query<T: JsonSchema + ?Sized>(&mut self) {
        let schema = self.input_schema::<T>();
        self.query.push(schema);
    }

    /// A request body of `media` type with an optional schema.
    pub fn body(&mut self, media: &'static str, schema: Option<Value>) {
        self.body = Some(BodyDoc {
            media,
            schema,
            json: false,
        });
    }

    /// A JSON request body of type `T`.
    pub fn json_body<T: JsonSchema + ?Sized>(&mut self) {
        let schema = self.input_schema::<T>();
        self.body = Some(BodyDoc {
            media: "application/json",
            schema: Some(schema),
            json: true,
        });
    }

    /// An answer: `status` (`"200"`, or `"2XX"` when the handler decides at
    /// run time), a media type and a schema, each when known.
    pub fn response(&mut self, status: &str, media: Option<&'static str>, schema: Option<Value>) {
        self.responses.push(ResponseDoc {
            status: status.to_owned(),
            media,
            schema,
        });
    }

    /// Replaces the status of the answers described so far (`(Status, T)`
    /// answers `T`'s body with a status decided at run time).
    pub(crate) fn restatus(&mut self, from: usize, status: &str) {
        for response in &mut self.responses[from..] {
            if response.status.starts_with('2') {
                response.status = status.to_owned();
            }
        }
    }
}

/// What a route macro writes about its route under the `openapi` feature.
/// Not for hand-written code: reached through `sutegi::__private`.
#[doc(hidden)]
pub struct RouteDoc {
    /// The handler's doc comment, lines joined with `\n`.
    pub doc: &'static str,
    /// Whether the route is an MCP tool (`tool`).
    pub tool: bool,
    /// Fills in the captures, extractors and responses.
    pub describe: fn(&mut Operation),
}

impl std::fmt::Debug for RouteDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDoc")
            .field("tool", &self.tool)
            .finish_non_exhaustive()
    }
}

/// A route once described: its operation gathered, its doc split.
pub(crate) struct Endpoint {
    pub(crate) methods: Vec<Method>,
    pub(crate) path: String,
    pub(crate) name: String,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) tags: Vec<String>,
    pub(crate) tool: bool,
    pub(crate) stream: bool,
    /// A `#[ws]` route: answered 101 and a WebSocket from then on.
    pub(crate) websocket: bool,
    pub(crate) operation: Operation,
}

impl Endpoint {
    /// `None` for a record that is not a macro's `RouteDoc` (nothing else
    /// makes one).
    fn new(route: DescribedRoute) -> Option<Endpoint> {
        let doc: &'static RouteDoc = route.description.doc.downcast_ref()?;
        let mut operation = Operation::new();
        (doc.describe)(&mut operation);
        let (summary, description) = split_doc(doc.doc);
        Some(Endpoint {
            methods: route.methods,
            path: route.path,
            name: route.name,
            summary,
            description,
            tags: route.description.tags,
            tool: doc.tool,
            stream: route.kind == RouteKind::Stream,
            websocket: route.kind == RouteKind::WebSocket,
            operation,
        })
    }
}

/// `summary` is the first paragraph's first line, `description` the rest.
fn split_doc(doc: &str) -> (String, String) {
    let doc = doc.trim();
    match doc.split_once('\n') {
        Some((first, rest)) => (first.trim().to_owned(), rest.trim().to_owned()),
        None => (doc.to_owned(), String::new()),
    }
}

/// What the document says about the API as a whole.
#[derive(Clone, Debug)]
pub struct Info {
    title: String,
    version: String,
    description: Option<String>,
}

impl Info {
    /// The API's title and version (of the API, not of OpenAPI).
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Info {
        Info {
            title: title.into(),
            version: version.into(),
            description: None,
        }
    }

    /// A longer description (CommonMark).
    pub fn description(mut self, description: impl Into<String>) -> Info {
        self.description = Some(description.into());
        self
    }

    fn to_value(&self) -> Value {
        let mut info = Map::new();
        info.insert("title".into(), json!(self.title));
        info.insert("version".into(), json!(self.version));
        if let Some(description) = &self.description {
            info.insert("description".into(), json!(description));
        }
        Value::Object(info)
    }
}

/// Something to build once the router's routes are known: the document, or
/// the MCP tool list.
#[derive(Clone)]
pub(crate) enum Pending {
    Document {
        info: Info,
        bytes: Arc<OnceLock<Vec<u8>>>,
    },
    Tools {
        tools: Arc<OnceLock<Vec<McpTool>>>,
    },
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::Document { .. } => f.write_str("openapi document"),
            Pending::Tools { .. } => f.write_str("mcp tools"),
        }
    }
}

/// Builds every document and tool list a router asked for, from its
/// routes: called once by the router while it is checked.
fn prepare(routes: Vec<DescribedRoute>, pending: &[PendingDescription]) {
    if pending.is_empty() {
        return;
    }
    let endpoints: Vec<Endpoint> = routes.into_iter().filter_map(Endpoint::new).collect();
    for item in pending
        .iter()
        .filter_map(|item| item.downcast_ref::<Pending>())
    {
        match item {
            Pending::Document { info, bytes } => {
                let document = document::build(info, &endpoints);
                let text = serde_json::to_vec_pretty(&document).expect("a JSON value serializes");
                let _ = bytes.set(text);
            }
            Pending::Tools { tools } => {
                let _ = tools.set(mcp::tools(&endpoints));
            }
        }
    }
}

impl Router {
    /// Serves the OpenAPI 3.1 document of this router at `path` (`GET`,
    /// `application/json`), built once when the router is checked from the
    /// routes' macros: every macro route not marked `hidden`, mounted ones
    /// with their prefix (and the prefix as a tag).
    ///
    /// ```
    /// use sutegi::openapi::Info;
    /// use sutegi::{get, routes, Handler, Method, Request};
    ///
    /// /// Says hello.
    /// #[get("/hello")]
    /// fn hello() -> &'static str { "hello" }
    ///
    /// let app = routes![hello].openapi("/openapi.json", Info::new("Hello", "1.0.0"));
    /// let app = app.into_handler().unwrap();
    /// let doc = app.handle(Request::new(Method::Get, "/openapi.json", &[], vec![]));
    /// let doc: serde_json::Value = serde_json::from_slice(doc.body().as_bytes().unwrap()).unwrap();
    /// assert_eq!(doc["paths"]["/hello"]["get"]["operationId"], "hello");
    /// assert_eq!(doc["paths"]["/hello"]["get"]["summary"], "Says hello.");
    /// ```
    #[track_caller]
    pub fn openapi(mut self, path: &'static str, info: Info) -> Router {
        let bytes: Arc<OnceLock<Vec<u8>>> = Arc::new(OnceLock::new());
        self.push_description(
            Arc::new(Pending::Document {
                info,
                bytes: bytes.clone(),
            }),
            prepare,
        );
        self.get(path, move || match bytes.get() {
            Some(bytes) => {
                Response::with_body(200, bytes.clone()).header("Content-Type", "application/json")
            }
            // Only a router that was never checked could get here.
            None => Response::new(503),
        })
    }

    /// Serves the Model Context Protocol at `path` over its Streamable HTTP
    /// transport: the routes marked `tool` become tools an agent can list
    /// and call. Requests whose `Origin` is not this server's own are
    /// refused with 403; [`mcp_allowing`](Router::mcp_allowing) allows more
    /// origins.
    ///
    /// The endpoint is a middleware layer at this point of the chain: a
    /// tool call runs as a request through the layers added before it and
    /// the router (same extractors, states and refusals), and layers added
    /// after it (authentication, say) guard the endpoint itself.
    #[track_caller]
    pub fn mcp(self, path: &'static str) -> Router {
        self.mcp_allowing(path, &[])
    }

    /// [`mcp`](Router::mcp), also accepting requests from each of `origins`
    /// (`"http://localhost:3000"`), beside the server's own.
    #[track_caller]
    pub fn mcp_allowing(mut self, path: &'static str, origins: &[&str]) -> Router {
        let tools: Arc<OnceLock<Vec<McpTool>>> = Arc::new(OnceLock::new());
        self.push_description(
            Arc::new(Pending::Tools {
                tools: tools.clone(),
            }),
            prepare,
        );
        let layer = mcp::layer(
            path,
            origins.iter().map(|o| (*o).to_owned()).collect(),
            tools,
        );
        // The layer answers `path` before routing; a route there tells the
        // server, which decides from the head whether a body is wanted,
        // that this path reads one (it never runs: the layer answers).
        self.push_layer(layer).post(path, || Status::NOT_FOUND)
    }
}

/// The probes the route macros' generated code calls: an extractor or a
/// response that implements the description trait is described by it, any
/// other by nothing (method resolution prefers the first, by autoref).
#[doc(hidden)]
pub mod probe {
    use std::marker::PhantomData;

    use super::{DescribeInput, DescribeResponse, JsonSchema, Operation};

    /// A type, as a value the probes' methods can be called on.
    pub struct Probe<T: ?Sized>(PhantomData<fn() -> *const T>);

    impl<T: ?Sized> Clone for Probe<T> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<T: ?Sized> Copy for Probe<T> {}

    impl<T: ?Sized> Probe<T> {
        /// The probe of `T`.
        pub const NEW: Probe<T> = Probe(PhantomData);
    }

    /// The types that describe themselves.
    pub trait Known {
        /// Describes an extractor.
        fn describe_input(&self, _operation: &mut Operation) {}
        /// Describes a response.
        fn describe_response(&self, _operation: &mut Operation) {}
        /// Describes a capture named `name`.
        fn describe_capture(&self, _operation: &mut Operation, _name: &str) {}
    }

    /// Any other type: nothing is known.
    pub trait Fallback: Sized {
        /// An extractor that says nothing reads nothing the description knows.
        fn describe_input(self, _operation: &mut Operation) {}
        /// A response that says nothing is a 200 of unknown content.
        fn describe_response(self, operation: &mut Operation) {
            operation.response("200", None, None);
        }
        /// A capture whose type has no schema is a string.
        fn describe_capture(self, operation: &mut Operation, name: &str) {
            operation.capture_schema(name, serde_json::json!({"type": "string"}));
        }
    }

    impl<T: ?Sized> Fallback for Probe<T> {}

    /// Extractors.
    pub struct Input<T: ?Sized>(PhantomData<fn() -> *const T>);
    /// Responses.
    pub struct Output<T: ?Sized>(PhantomData<fn() -> *const T>);
    /// Captures.
    pub struct Capture<T: ?Sized>(PhantomData<fn() -> *const T>);

    impl<T: DescribeInput + ?Sized> Known for Probe<Input<T>> {
        fn describe_input(&self, operation: &mut Operation) {
            T::describe_input(operation);
        }
    }
    impl<T: DescribeResponse + ?Sized> Known for Probe<Output<T>> {
        fn describe_response(&self, operation: &mut Operation) {
            T::describe_response(operation);
        }
    }
    impl<T: JsonSchema + ?Sized> Known for Probe<Capture<T>> {
        fn describe_capture(&self, operation: &mut Operation, name: &str) {
            operation.capture::<T>(name);
        }
    }
}
