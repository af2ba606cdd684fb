use sutegi::get;

#[get("/")]
struct Index;

fn main() {}
