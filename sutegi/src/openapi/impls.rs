//! What sutegi's own extractors read and its own responses answer, for the
//! description: [`DescribeInput`] and [`DescribeResponse`] for each of them.
//! The traits and the document are `mod.rs`'s and `document.rs`'s.

use std::borrow::Cow;

use serde_json::json;

use super::{DescribeInput, DescribeResponse, JsonSchema, Operation};
use crate::extract::{Bytes, Extension, Form, Headers, LastEventId, Path, Query, State};
use crate::json::Json;
use crate::respond::{Error, Html, Redirect};
use crate::server::{Request, Response, Status};

impl<T: JsonSchema> DescribeInput for Query<T> {
    fn describe_input(operation: &mut Operation) {
        operation.query::<T>();
    }
}

impl<T: JsonSchema> DescribeInput for Json<T> {
    fn describe_input(operation: &mut Operation) {
        operation.json_body::<T>();
    }
}

impl<T: JsonSchema> DescribeInput for Form<T> {
    fn describe_input(operation: &mut Operation) {
        let schema = operation.input_schema::<T>();
        operation.body("application/x-www-form-urlencoded", Some(schema));
    }
}

impl DescribeInput for Bytes {
    fn describe_input(operation: &mut Operation) {
        operation.body("application/octet-stream", None);
    }
}

impl DescribeInput for Vec<u8> {
    fn describe_input(operation: &mut Operation) {
        operation.body("application/octet-stream", None);
    }
}

impl DescribeInput for crate::Multipart<'_> {
    fn describe_input(operation: &mut Operation) {
        // The parts are the handler's to name; the document can only say
        // the body is a form of parts.
        operation.body("multipart/form-data", Some(json!({"type": "object"})));
    }
}

impl DescribeInput for String {
    fn describe_input(operation: &mut Operation) {
        operation.body("text/plain", Some(json!({"type": "string"})));
    }
}

/// What the description has no words for: headers, states, extensions,
/// the whole request, and `Path<T>` (whose captures the path pattern
/// already names; those without a macro capture's type are strings).
macro_rules! reads_nothing_described {
    ($($ty:ty $(, $param:ident)?;)*) => {
        $(impl<$($param)?> DescribeInput for $ty {
            fn describe_input(_operation: &mut Operation) {}
        })*
    };
}

reads_nothing_described! {
    Headers;
    LastEventId;
    State<T>, T;
    Extension<T>, T;
    Path<T>, T;
}

impl DescribeInput for &Request {
    fn describe_input(_operation: &mut Operation) {}
}

impl<E: DescribeInput> DescribeInput for Option<E> {
    fn describe_input(operation: &mut Operation) {
        E::describe_input(operation);
    }
}

impl<E: DescribeInput, R> DescribeInput for Result<E, R> {
    fn describe_input(operation: &mut Operation) {
        E::describe_input(operation);
    }
}

const TEXT: Option<&str> = Some("text/plain");

fn text(operation: &mut Operation) {
    operation.response("200", TEXT, Some(json!({"type": "string"})));
}

impl DescribeResponse for &'static str {
    fn describe_response(operation: &mut Operation) {
        text(operation);
    }
}

impl DescribeResponse for String {
    fn describe_response(operation: &mut Operation) {
        text(operation);
    }
}

impl DescribeResponse for Cow<'static, str> {
    fn describe_response(operation: &mut Operation) {
        text(operation);
    }
}

impl DescribeResponse for Vec<u8> {
    fn describe_response(operation: &mut Operation) {
        operation.response("200", Some("application/octet-stream"), None);
    }
}

impl DescribeResponse for Bytes {
    fn describe_response(operation: &mut Operation) {
        operation.response("200", Some("application/octet-stream"), None);
    }
}

impl<T: JsonSchema> DescribeResponse for Json<T> {
    fn describe_response(operation: &mut Operation) {
        let schema = operation.output_schema::<T>();
        operation.response("200", Some("application/json"), Some(schema));
    }
}

impl<T> DescribeResponse for Html<T> {
    fn describe_response(operation: &mut Operation) {
        operation.response("200", Some("text/html"), Some(json!({"type": "string"})));
    }
}

impl DescribeResponse for () {
    fn describe_response(operation: &mut Operation) {
        operation.response("204", None, None);
    }
}

impl DescribeResponse for Redirect {
    fn describe_response(operation: &mut Operation) {
        operation.response("3XX", None, None);
    }
}

/// A status decided at run time.
impl DescribeResponse for Status {
    fn describe_response(operation: &mut Operation) {
        operation.response("2XX", None, None);
    }
}

/// Anything at all: the description cannot see into it.
impl DescribeResponse for Response {
    fn describe_response(operation: &mut Operation) {
        operation.response("2XX", None, None);
    }
}

/// The refusals are documented for every route already.
impl DescribeResponse for Error {
    fn describe_response(_operation: &mut Operation) {}
}

impl<T: DescribeResponse> DescribeResponse for (Status, T) {
    fn describe_response(operation: &mut Operation) {
        let from = operation.responses.len();
        T::describe_response(operation);
        operation.restatus(from, "2XX");
    }
}

impl<T: DescribeResponse, V, const N: usize> DescribeResponse
    for (Status, [(&'static str, V); N], T)
{
    fn describe_response(operation: &mut Operation) {
        let from = operation.responses.len();
        T::describe_response(operation);
        operation.restatus(from, "2XX");
    }
}

impl<T: DescribeResponse, V, const N: usize> DescribeResponse for ([(&'static str, V); N], T) {
    fn describe_response(operation: &mut Operation) {
        T::describe_response(operation);
    }
}

impl<T: DescribeResponse, E: DescribeResponse> DescribeResponse for Result<T, E> {
    fn describe_response(operation: &mut Operation) {
        T::describe_response(operation);
        E::describe_response(operation);
    }
}

/// `None` is the 404 every route documents.
impl<T: DescribeResponse> DescribeResponse for Option<T> {
    fn describe_response(operation: &mut Operation) {
        T::describe_response(operation);
    }
}
