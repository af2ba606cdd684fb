use sutegi::{post, Json};

#[post("/notes")]
fn create(Json(note): Json<String>, raw: String) -> String {
    format!("{note} {raw}")
}

fn main() {}
