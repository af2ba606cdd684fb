//! The rouille 3 peer: the routes of `docs/reference-api.md` that a
//! benchmark drives (`/plaintext`, `/json`, `/users/{id}`, `POST /echo`),
//! written the way rouille's docs write them — one closure over the
//! `router!` macro, answered with `Response::text` / `Response::json` — and
//! run by `Server::new(..).run()`, which is what `rouille::start_server`
//! does (rouille's default executor: a new thread per request). `Server::new`
//! is used instead of `start_server` only to print the bound address.
//!
//! No `/events`: rouille answers through tiny_http's chunked encoder, which
//! holds 8 KiB before it sends anything, and has no raw writer, so small SSE
//! frames cannot be streamed as they happen. It answers 404 there.
//!
//! Usage: `peer-rouille [ADDR]` (default `127.0.0.1:8080`; port 0 picks
//! one); prints `listening on http://ADDR` once bound.

use std::io::Read;

use rouille::{router, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

fn echo(request: &Request) -> Response {
    let content_type = request
        .header("Content-Type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut body = Vec::new();
    match request.data() {
        Some(mut data) => {
            if data.read_to_end(&mut body).is_err() {
                return Response::empty_400();
            }
        }
        None => return Response::empty_400(),
    }
    Response::from_data(content_type, body)
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = rouille::Server::new(&addr, move |request| {
        router!(request,
            (GET) (/plaintext) => { Response::text("Hello, World!") },
            (GET) (/json) => { Response::json(&Message { message: "Hello, World!" }) },
            // `{id: u64}` that does not parse falls through to the 404.
            (GET) (/users/{id: u64}) => {
                Response::json(&User { id, name: format!("user{id}") })
            },
            (POST) (/echo) => { echo(request) },
            _ => Response::empty_404()
        )
    })
    .unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"));
    println!("listening on http://{}", server.server_addr());
    server.run();
}
