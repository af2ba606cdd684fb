use sutegi::get;

#[get("/search?q={q}")]
fn search(q: String) -> String {
    q
}

fn main() {}
