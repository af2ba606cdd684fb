use sutegi::get;

#[get("/hello/{name}")]
fn hello(name: &str) -> String {
    format!("hello, {name}")
}

fn main() {}
