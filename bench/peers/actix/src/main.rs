//! The actix-web 4 peer: the routes of examples/api (the reference API) that a
//! benchmark drives (`/plaintext`, `/json`, `/users/{id}`, `POST /echo`,
//! `/events`, `GET /ws/echo` through the `actix-ws` companion crate),
//! written the way actix-web's docs write them — attribute
//! macros on async handlers, `App::new().service(..)`, `HttpServer` — with
//! its defaults (one worker per core, 5 s keep-alive) except one: the
//! `Bytes` extractor's 256 KiB payload limit is raised to 4 MiB so the
//! 1 MiB echo scenario can run at all, as the docs show with
//! `web::PayloadConfig`.
//!
//! actix-web has no SSE helper of its own (it lives in actix-web-lab), so
//! `/events` is a `streaming` body of hand-formatted frames, which is what
//! the actix examples do for server-sent events.
//!
//! Usage: `peer-actix [ADDR]` (default `127.0.0.1:8080`; port 0 picks one);
//! prints `listening on http://ADDR` once bound.

use std::{convert::Infallible, time::Duration};

use actix_web::{get, post, web, App, HttpRequest, HttpResponse, HttpServer, Responder};
use futures_util::stream;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

/// `/events` query: `n` events, one every `interval_ms` (the first at once).
#[derive(Deserialize)]
struct Ticks {
    #[serde(default = "default_n")]
    n: u32,
    #[serde(default)]
    interval_ms: u64,
}

fn default_n() -> u32 {
    5
}

#[get("/plaintext")]
async fn plaintext() -> &'static str {
    "Hello, World!"
}

#[get("/json")]
async fn json() -> impl Responder {
    web::Json(Message {
        message: "Hello, World!",
    })
}

// A non-u64 id is rejected by the `Path` extractor itself (404 in actix).
#[get("/users/{id}")]
async fn user(id: web::Path<u64>) -> impl Responder {
    let id = id.into_inner();
    web::Json(User {
        id,
        name: format!("user{id}"),
    })
}

#[post("/echo")]
async fn echo(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    HttpResponse::Ok().content_type(content_type).body(body)
}

#[get("/events")]
async fn events(q: web::Query<Ticks>) -> HttpResponse {
    let Ticks { n, interval_ms } = q.into_inner();
    let frames = stream::unfold(0u32, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 && interval_ms > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(interval_ms)).await;
        }
        let frame = format!("event: tick\nid: {i}\ndata: {i}\n\n");
        Some((Ok::<_, Infallible>(web::Bytes::from(frame)), i + 1))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(frames)
}

/// actix-ws's echo example: the upgrade answers at once and a spawned task
/// answers each message; pings get pongs, a close is returned.
#[get("/ws/echo")]
async fn ws_echo(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut messages) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(message)) = messages.recv().await {
            let sent = match message {
                actix_ws::Message::Text(text) => session.text(text).await,
                actix_ws::Message::Binary(bytes) => session.binary(bytes).await,
                actix_ws::Message::Ping(bytes) => session.pong(&bytes).await,
                actix_ws::Message::Close(reason) => {
                    let _ = session.close(reason).await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(response)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
            .service(plaintext)
            .service(json)
            .service(user)
            .service(echo)
            .service(events)
            .service(ws_echo)
    })
    .bind(&addr)?;
    for bound in server.addrs() {
        println!("listening on http://{bound}");
    }
    server.run().await
}
