use sutegi::get;

#[get("/count")]
fn count() -> u64 {
    42
}

fn main() {}
