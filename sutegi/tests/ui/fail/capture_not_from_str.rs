use sutegi::get;

struct UserId(u64);

#[get("/users/{id}")]
fn user(id: UserId) -> String {
    id.0.to_string()
}

fn main() {}
