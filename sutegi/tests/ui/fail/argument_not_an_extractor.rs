use sutegi::get;

struct Database;

#[get("/users")]
fn users(_db: Database) -> &'static str {
    "[]"
}

fn main() {}
