//! WebSocket (RFC 6455) routes on the synchronous model: the handshake is
//! checked like any extractor on a worker, then the open socket runs on a
//! stream thread of its own, counted against `max_streams`, until its
//! handler returns.
//!
//! ```no_run
//! use std::io;
//! use sutegi::{routes, ws, Query, WebSocket};
//! use sutegi::ws::Message;
//!
//! #[derive(serde::Deserialize)]
//! # #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
//! struct Room { name: String }
//!
//! #[ws("/chat")]
//! fn chat(room: Query<Room>, ws: &mut WebSocket) -> io::Result<()> {
//!     while let Some(message) = ws.recv()? {
//!         if let Message::Text(text) = message {
//!             ws.send_text(&format!("{}: {text}", room.name))?;
//!         }
//!     }
//!     Ok(())
//! }
//!
//! fn main() -> io::Result<()> {
//!     sutegi::serve("127.0.0.1:8080", routes![chat])
//! }
//! ```
//!
//! This module owns the handshake's rules ([`WebSocketUpgrade`]), the
//! options a router gives its sockets ([`WsOptions`]: subprotocols, an
//! `Origin` allow-list) and the open socket ([`WebSocket`]). Frames are
//! `tungstenite`'s; the 101 head, the thread, the `max_streams` count and
//! shutdown are the server's ([`Response::upgrade`](crate::Response::upgrade)).
//! The bounds are [`Limits`](crate::Limits) fields: `ws_max_message_bytes`
//! (default: the body limit), `ws_ping_after` and `ws_ping_timeout`, and
//! `write_timeout` as for every stream.

mod handshake;
mod socket;

pub use handshake::{WebSocketUpgrade, WsOptions};
pub use socket::{close_code, Message, WebSocket};

#[cfg(test)]
mod tests;
