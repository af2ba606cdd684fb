//! The axum 0.8 peer: the routes of examples/api (the reference API) that a benchmark
//! drives (`/plaintext`, `/json`, `/users/{id}`, `POST /echo`, `/events`,
//! `GET /ws/echo` through axum's `ws` feature),
//! written the way axum's own docs and examples write them — a `Router` of
//! async handlers, extractors, `axum::serve` on a tokio `TcpListener` — with
//! every setting left at its default (tokio's multi-threaded runtime, one
//! worker per core; axum's 2 MB body limit, which the 1 MiB echo fits).
//!
//! Usage: `peer-axum [ADDR]` (default `127.0.0.1:8080`; port 0 picks one).
//! Once bound it prints `listening on http://ADDR`, as sutegi's
//! `examples/api` does, so the harness can read the real port.

use std::{convert::Infallible, time::Duration};

use axum::{
    body::Bytes,
    extract::{
        ws::{Message as WsMessage, WebSocket, WebSocketUpgrade},
        Path, Query,
    },
    http::{header, HeaderMap, HeaderValue},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse,
    },
    routing::{get, post},
    Json, Router,
};
use futures_util::stream::{self, Stream};
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

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

// A non-u64 id is rejected by the `Path` extractor itself (400, plain text).
async fn user(Path(id): Path<u64>) -> Json<User> {
    Json(User {
        id,
        name: format!("user{id}"),
    })
}

async fn echo(headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, content_type)], body)
}

// axum's SSE example builds a `Stream` of `Event`s and hands it to `Sse`;
// `unfold` with `tokio::time::sleep` gives "first at once, then one every
// interval" without an extra crate.
async fn events(Query(q): Query<Ticks>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let Ticks { n, interval_ms } = q;
    let stream = stream::unfold(0u32, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 && interval_ms > 0 {
            tokio::time::sleep(Duration::from_millis(interval_ms)).await;
        }
        let event = Event::default()
            .event("tick")
            .id(i.to_string())
            .data(i.to_string());
        Some((Ok(event), i + 1))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

// axum's WebSocket example: upgrade, then answer each data message in a
// loop. Pings and the close handshake are tungstenite's (inside axum).
async fn ws_echo(ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(echo_socket)
}

async fn echo_socket(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            WsMessage::Text(_) | WsMessage::Binary(_) => {
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            WsMessage::Close(_) => return,
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
        }
    }
}

fn app() -> Router {
    Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/users/{id}", get(user))
        .route("/echo", post(echo))
        .route("/events", get(events))
        .route("/ws/echo", get(ws_echo))
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"));
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app()).await.unwrap();
}
