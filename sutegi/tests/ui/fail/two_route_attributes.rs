use sutegi::{get, post};

#[get("/items")]
#[post("/items")]
fn items() -> &'static str {
    "[]"
}

fn main() {}
