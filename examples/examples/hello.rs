//! The smallest sutegi program: one route, served until SIGINT or SIGTERM.
//! Its `min-size` build is the binary-size figure of the benchmark.

use sutegi::{get, routes};

#[get("/")]
fn hello() -> &'static str {
    "Hello, World!"
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    sutegi::serve(addr, routes![hello])
}
