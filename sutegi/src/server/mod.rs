//! The HTTP/1.1 server: connections, parsing, the worker pool, streaming
//! and graceful shutdown. It knows nothing of routes, extractors or JSON;
//! it serves any [`Handler`].
//!
//! Streamed responses are `Transfer-Encoding: chunked` on HTTP/1.1 (the
//! connection is reused after the closing chunk) and close-delimited on
//! HTTP/1.0.

mod codec;
mod conn;
mod handler;
mod limits;
mod pool;
mod request;
mod response;
mod runners;
mod serve;
mod sink;
mod write;

pub use codec::{parse_request, Incoming, Refusal};
pub use handler::{Handler, IntoHandler};
pub use limits::Limits;
pub use pool::ThreadPool;
pub use request::{Extensions, Method, Request, UnknownMethod, Version};
pub use response::{status_reason, Body, HeaderText, Producer, Response};
pub use serve::{serve, serve_until, Server};
pub use sink::{Event, SseSink, StreamSink};
pub use write::{write_response, Framing};
