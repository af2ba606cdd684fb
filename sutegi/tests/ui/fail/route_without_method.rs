use sutegi::route;

#[route("/items")]
fn items() -> &'static str {
    "[]"
}

fn main() {}
