use sutegi::get;

#[get("/files/{name}.{ext}")]
fn file(name: String, ext: String) -> String {
    format!("{name}.{ext}")
}

fn main() {}
