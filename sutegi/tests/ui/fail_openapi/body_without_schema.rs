//! Under the `openapi` feature every `Json<T>` a route reads must have a
//! JSON Schema; one that only derives `Deserialize` is refused with a
//! sentence naming the type and the derive to add.

use serde::Deserialize;
use sutegi::{post, Json};

#[derive(Deserialize)]
struct NoSchema {
    name: String,
}

#[post("/x")]
fn x(Json(v): Json<NoSchema>) -> String {
    v.name
}

fn main() {}
