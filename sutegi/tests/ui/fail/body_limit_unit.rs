use sutegi::post;

#[post("/upload", body_limit = "64MB")]
fn upload(body: Vec<u8>) -> String {
    body.len().to_string()
}

fn main() {}
