//! An LLM-style token stream: `GET /chat?prompt=…` answers with Server-Sent
//! Events, one `token` event per word of a canned answer (with a delay, as
//! a model would produce them), then a `done` event. `POST /chat` streams
//! the same to a JSON request, as LLM APIs do. `GET /chat/ws` is the same
//! answer over a WebSocket: the client sends its prompt as the first text
//! message, gets one text message per token, and may send `stop` at any
//! time; the tokens stop at once (the handler listens between tokens) and
//! the socket closes with 1000. `/` serves a small page (with `ServeDir`)
//! that shows the tokens arriving through `EventSource`, or through the
//! WebSocket with a Stop button (`/?mode=ws`).
//!
//! Run it with `cargo run --release --example llm_stream` and open
//! <http://127.0.0.1:8080/>.

use std::io;
use std::time::Duration;

use serde::Deserialize;
use sutegi::files::ServeDir;
use sutegi::ws::Message;
use sutegi::{routes, sse, ws, Json, Query, Server, SseSink, WebSocket};

const ANSWER: &str = "Sunlight is a mix of every colour. On its way through the air it meets \
molecules much smaller than its wavelength, which scatter short wavelengths far more than \
long ones (Rayleigh scattering, proportional to the inverse fourth power of the wavelength). \
Blue light is scattered all over the sky and reaches your eyes from every direction, so the \
sky looks blue; at sunset the light crosses much more air, the blue is scattered away before \
it arrives, and the reds and oranges are left.";

/// Time between two tokens, as a model's generation speed.
const TOKEN_DELAY: Duration = Duration::from_millis(40);

#[derive(Deserialize, schemars::JsonSchema)]
struct Prompt {
    prompt: String,
}

/// Streams the canned answer word by word.
fn stream_answer(prompt: &str, sink: &mut SseSink) -> io::Result<()> {
    sink.comment(&format!("answering: {}", prompt.replace(['\r', '\n'], " ")))?;
    for (i, word) in ANSWER.split_inclusive(' ').enumerate() {
        if i > 0 {
            std::thread::sleep(TOKEN_DELAY);
        }
        sink.send(
            &sutegi::SseEvent::new()
                .event("token")
                .id(i.to_string())
                .data(word),
        )?;
    }
    sink.event("done", "")
}

#[sse("/chat")]
fn chat(Query(q): Query<Prompt>, sink: &mut SseSink) -> io::Result<()> {
    stream_answer(&q.prompt, sink)
}

#[sse("/chat", method = "POST")]
fn chat_post(Json(q): Json<Prompt>, sink: &mut SseSink) -> io::Result<()> {
    stream_answer(&q.prompt, sink)
}

/// The answer over a WebSocket. Between two tokens the handler waits for
/// the client's message rather than sleeping, so a `stop` ends the stream
/// as soon as it arrives, not after the next token.
#[ws("/chat/ws")]
fn chat_ws(ws: &mut WebSocket) -> io::Result<()> {
    // The canned answer ignores the prompt, as the SSE routes do.
    let Some(Message::Text(_prompt)) = ws.recv()? else {
        return Ok(());
    };
    for word in ANSWER.split_inclusive(' ') {
        ws.send_text(word)?;
        if let Some(Message::Text(text)) = ws.recv_timeout(TOKEN_DELAY)? {
            if text == "stop" {
                return ws.close(1000, "stopped");
            }
        }
    }
    ws.close(1000, "done")
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::bind(addr)?;
    println!("listening on http://{}", server.local_addr()?);
    // The page (and anything beside it) is served from this package's
    // `llm_stream/` directory, wherever the program is started from.
    let page = ServeDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/llm_stream"));
    server.serve(routes![chat, chat_post, chat_ws].serve_dir("/", page))
}
