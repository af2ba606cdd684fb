use sutegi::get;

#[get("/files/{*path}/raw")]
fn raw(path: String) -> String {
    path
}

fn main() {}
