//! The contract between the server and what it serves: the [`Handler`]
//! trait (answer a request, render a refusal, judge a request from its
//! head before its body is read, hear that shutdown began) and [`IntoHandler`], which `serve` takes.
//!
//! It also holds what every caller of a handler needs when the handler
//! fails: [`panic_message`], and the refusal with a fallback.
//!
//! The server knows nothing of routes or JSON: a router implements these
//! hooks to make the server's own refusals match its error shape, to
//! raise body limits per route, and to answer a 404, a 405 or a
//! `Content-Type` the route's body extractor refuses without reading the
//! body of a request nobody will use.

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::request::{Method, Request};
use super::response::Response;
use super::status::status_reason;

/// Something that answers requests, shared by every worker.
///
/// Closures `Fn(Request) -> Response + Send + Sync + 'static` implement it,
/// so the smallest server is
///
/// ```no_run
/// sutegi::serve("127.0.0.1:8080", |_req: sutegi::Request| sutegi::Response::text("hi"))
/// # .unwrap();
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. A panic here becomes a 500 for this request;
    /// the worker lives on.
    fn handle(&self, request: Request) -> Response;

    /// Renders a refusal the server makes before (or instead of) calling
    /// [`handle`](Handler::handle): a malformed request, a body too large, a
    /// timeout, a panic. The default is plain text `<reason>: <message>`.
    fn refuse(&self, status: u16, message: &str) -> Response {
        let body = format!("{}: {}\n", status_reason(status), message);
        Response::with_body(status, body).header("Content-Type", "text/plain; charset=utf-8")
    }

    /// Renders a refusal the server decides once a request's head is
    /// parsed, before the handler runs (413 a body too large, 417 an
    /// unknown expectation), given that head (its body is not there). A
    /// router runs its middleware around it here, so the refusal carries
    /// what its other answers do (CORS headers, a request id) and is
    /// logged. Refusals of bytes that never became a head (400, 408, 431)
    /// go to [`refuse`](Handler::refuse). The default is `refuse`.
    fn refuse_request(&self, head: &Request, status: u16, message: &str) -> Response {
        let _ = head;
        self.refuse(status, message)
    }

    /// The body limit for this method and path. `None` keeps
    /// [`Limits::max_body_bytes`](super::Limits::max_body_bytes). The
    /// default [`check_head`](Handler::check_head) asks it; a handler that
    /// only raises limits per route implements this one.
    fn body_limit(&self, method: Method, path: &str) -> Option<u64> {
        let _ = (method, path);
        None
    }

    /// Decides from a request's head, before its body is read, whether
    /// the body is wanted. Asked once per request that declares a body
    /// (`Content-Length` above zero, or chunked), before `100 Continue` is
    /// sent or 413 decided. `head` has the request line and header fields;
    /// its body is empty.
    ///
    /// [`HeadVerdict::ReadBody`] (the default, with
    /// [`body_limit`](Handler::body_limit)'s limit) reads the body and
    /// calls [`handle`](Handler::handle) as usual.
    /// [`HeadVerdict::AnswerFromHead`] says the answer cannot depend on
    /// the body (no route matches, the method is not allowed): see there.
    fn check_head(&self, head: &Request) -> HeadVerdict {
        HeadVerdict::ReadBody {
            limit: self.body_limit(head.method(), head.path()),
        }
    }

    /// Called once when shutdown begins, before the listener closes (health
    /// routes start answering 503 here).
    fn shutdown_started(&self) {}
}

impl<F> Handler for F
where
    F: Fn(Request) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: Request) -> Response {
        self(request)
    }
}

/// What a handler decides from a request's head (see
/// [`Handler::check_head`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadVerdict {
    /// Read the body, refusing it with 413 past `limit` bytes (`None`:
    /// [`Limits::max_body_bytes`](super::Limits::max_body_bytes)).
    ReadBody {
        /// The body limit for this request.
        limit: Option<u64>,
    },
    /// The answer does not depend on the body. If the body is not already
    /// in the server's buffer, the server calls [`Handler::handle`] with
    /// the head alone (an empty body), sends that answer with
    /// `Connection: close`, and closes the connection instead of reading
    /// the body: a client sending megabytes to a path that does not exist
    /// gets its 404 at once, and nobody reads the megabytes. An
    /// `Expect: 100-continue` request gets that answer instead of
    /// `100 Continue`, so the client never sends its body at all. A body
    /// already fully received (a small one, sent with its head) is read
    /// and the request answered as usual, keeping the connection.
    AnswerFromHead,
    /// The handler reads the body itself, as it arrives, refused with 413
    /// past `limit` bytes (`None`:
    /// [`Limits::max_body_bytes`](super::Limits::max_body_bytes)). The
    /// server calls [`Handler::handle`] as soon as the head is parsed,
    /// with an empty body and a [`BodyReader`](super::BodyReader) to take
    /// with [`Request::take_body_reader`](super::Request::take_body_reader):
    /// an upload goes to disk without ever being held in memory whole.
    /// The handler's worker waits while the body arrives, counted as a
    /// blocked handler (a spare thread serves the rest meanwhile). A body
    /// the handler does not read to its end closes the connection after
    /// the answer. Routes whose extractor streams
    /// ([`FromRequest::STREAMS_BODY`](crate::FromRequest::STREAMS_BODY),
    /// as `Multipart` does) get this verdict from the router.
    StreamBody {
        /// The body limit for this request.
        limit: Option<u64>,
    },
}

/// What [`serve`](super::serve) accepts: a [`Handler`], or something that
/// checks itself and becomes one (a `Router`, whose conflicts are reported
/// here as an `InvalidInput` error before the socket is bound).
pub trait IntoHandler {
    /// The handler that serves.
    type Handler: Handler;

    /// Checks and builds the handler.
    fn into_server_handler(self) -> io::Result<Self::Handler>;
}

impl<H: Handler> IntoHandler for H {
    type Handler = H;

    fn into_server_handler(self) -> io::Result<H> {
        Ok(self)
    }
}

/// The handler's refusal, with a plain-text fallback should rendering it
/// panic: a refusal must always go out.
pub(crate) fn safe_refuse<H: Handler + ?Sized>(
    handler: &H,
    status: u16,
    message: &str,
) -> Response {
    catch_unwind(AssertUnwindSafe(|| handler.refuse(status, message))).unwrap_or_else(|_| {
        Response::with_body(status, message.to_owned())
            .header("Content-Type", "text/plain; charset=utf-8")
    })
}

/// Calls the handler; a panic becomes the handler's 500 refusal (its
/// message logged, never sent). The server's workers and the test client
/// both answer through this.
pub(crate) fn handle_or_500<H: Handler + ?Sized>(handler: &H, request: Request) -> Response {
    match catch_unwind(AssertUnwindSafe(|| handler.handle(request))) {
        Ok(response) => response,
        Err(panic) => {
            log::error!("a handler panicked: {}", panic_message(&panic));
            safe_refuse(handler, 500, "the server failed to answer this request")
        }
    }
}

/// The message a panic carried (`panic!("...")` with or without
/// arguments), or `"(no message)"` for a payload of another type: what the
/// server, the router and the test client log when they catch a panic.
///
/// ```
/// let panic = std::panic::catch_unwind(|| panic!("no {} here", "user")).unwrap_err();
/// assert_eq!(sutegi::server::panic_message(&panic), "no user here");
/// ```
pub fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
