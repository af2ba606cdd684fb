use sutegi::{sse, SseSink};

#[sse("/events")]
fn events(sink: &mut SseSink) -> String {
    let _ = sink.data("tick");
    String::from("done")
}

fn main() {}
