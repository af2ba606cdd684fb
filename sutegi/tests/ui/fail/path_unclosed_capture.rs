use sutegi::get;

#[get("/users/{id/posts")]
fn posts(id: u64) -> String {
    id.to_string()
}

fn main() {}
