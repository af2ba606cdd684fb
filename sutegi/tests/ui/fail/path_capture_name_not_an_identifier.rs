use sutegi::get;

#[get("/users/{user-id}")]
fn user(user_id: u64) -> String {
    user_id.to_string()
}

fn main() {}
