//! The HTTP/1.1 server: connections, parsing, the worker pool, streaming
//! and graceful shutdown. It knows nothing of routes, extractors or JSON;
//! it serves any [`Handler`].

mod handler;
mod limits;
mod request;
mod response;
mod sink;

pub use handler::{Handler, IntoHandler};
pub use limits::Limits;
pub use request::{Extensions, Method, Request, UnknownMethod, Version};
pub use response::{status_reason, Body, HeaderText, Producer, Response};
pub use sink::{Event, SseSink, StreamSink};
