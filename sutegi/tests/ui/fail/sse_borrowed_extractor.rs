use sutegi::{sse, Request, SseSink};

#[sse("/events")]
fn events(req: &Request, sink: &mut SseSink) -> std::io::Result<()> {
    sink.data(req.path())
}

fn main() {}
