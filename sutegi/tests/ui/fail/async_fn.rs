use sutegi::get;

#[get("/")]
async fn index() -> &'static str {
    "hi"
}

fn main() {}
