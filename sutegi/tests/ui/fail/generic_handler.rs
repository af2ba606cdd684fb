use sutegi::{get, FromRequest};

#[get("/items")]
fn items<E: for<'r> FromRequest<'r>>(_e: E) -> &'static str {
    "[]"
}

fn main() {}
