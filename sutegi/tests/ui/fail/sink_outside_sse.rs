use sutegi::{get, SseSink};

#[get("/events")]
fn events(sink: &mut SseSink) -> std::io::Result<()> {
    sink.data("tick")
}

fn main() {}
