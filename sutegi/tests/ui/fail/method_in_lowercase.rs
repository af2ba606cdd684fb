use sutegi::route;

#[route("/items", method = "get", method = "POST")]
fn items() -> &'static str {
    "[]"
}

fn main() {}
