use sutegi::sse;

#[sse("/events")]
fn events() -> std::io::Result<()> {
    Ok(())
}

fn main() {}
