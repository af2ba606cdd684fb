use sutegi::{get, routes};

#[get("/")]
fn index() -> &'static str {
    "hi"
}

fn main() {
    let _app = routes![index()];
}
