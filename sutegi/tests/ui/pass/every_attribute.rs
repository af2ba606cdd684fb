//! Every route attribute, with and without options, each handler still an
//! ordinary function; the generated items add no warning, even under
//! `deny(warnings, missing_docs)`.

#![deny(warnings, missing_docs)]

use sutegi::{delete, get, head, options, patch, post, put, route, routes, sse, Request, Response, SseSink, Status};

#[get("/")]
fn index() -> &'static str {
    "hi"
}

#[post("/upload", body_limit = "64MiB")]
fn upload(body: Vec<u8>) -> String {
    body.len().to_string()
}

#[put("/items/{id}", body_limit = 1024)]
fn replace(id: u32, body: String) -> String {
    format!("{id}:{body}")
}

#[patch("/items/{id}")]
fn rename(id: u32) -> Status {
    if id == 0 { Status::NOT_FOUND } else { Status::NO_CONTENT }
}

#[delete("/items/{id}")]
fn remove(id: u32) -> Option<String> {
    (id > 0).then(|| "gone".to_owned())
}

#[head("/ping")]
fn ping() -> Status {
    Status::OK
}

#[options("/upload")]
fn upload_options() -> Response {
    Response::new(204).header("Allow", "POST, OPTIONS")
}

#[route("/echo", method = "GET", method = "POST", body_limit = "1 MiB")]
fn echo(req: &Request) -> Vec<u8> {
    req.body().to_vec()
}

// A borrowed extractor beside a body extractor.
#[post("/tagged")]
fn tagged(req: &Request, sutegi::Json(tag): sutegi::Json<String>, page: Option<sutegi::Query<u32>>) -> String {
    format!("{} {tag} {}", req.path(), page.is_some())
}

#[sse("/events")]
fn events(sink: &mut SseSink) -> std::io::Result<()> {
    sink.data("tick")
}

#[sse("/chat", method = "POST")]
fn chat(prompt: String, sink: &mut SseSink) -> std::io::Result<()> {
    for word in prompt.split(' ') {
        sink.data(word)?;
    }
    Ok(())
}

#[get("/unit")]
fn unit() {}

// Never mounted: neither the function nor its companion is dead code.
#[get("/unused")]
fn unused() -> &'static str {
    "unused"
}

#[get("/impl")]
fn opaque() -> impl sutegi::IntoResponse {
    "opaque"
}

#[get("/result")]
fn fallible() -> Result<String, Status> {
    Err(Status::IM_A_TEAPOT)
}

/// A public module whose public route needs its own docs only.
pub mod public {
    /// Documented, public, and `missing_docs` stays quiet about the companion.
    #[sutegi::get("/public")]
    pub fn public() -> &'static str {
        "public"
    }
}

fn main() {
    let app = routes![
        index, upload, replace, rename, remove, ping, upload_options, echo, events, chat, unit,
        opaque, fallible, public::public, tagged,
    ];
    assert!(app.into_handler().is_ok());

    assert_eq!(index(), "hi");
    assert_eq!(upload(vec![1, 2, 3]), "3");
    assert_eq!(replace(4, "x".into()), "4:x");
    assert_eq!(remove(0), None);
    unit();
}
