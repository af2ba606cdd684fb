//! `multipart/form-data` request bodies (file uploads, HTML forms with
//! `enctype="multipart/form-data"`): the [`Multipart`] extractor, its
//! [`Field`]s and their [`MultipartLimits`].
//!
//! This file finds the boundary, hands the parts to the handler one at a
//! time, enforces the part-count and size limits and turns every parse
//! failure into the error shape.
//!
//! # The body streams
//!
//! `Multipart` streams its body ([`FromRequest::STREAMS_BODY`]): the
//! handler runs as soon as the head is parsed, and each part is read from
//! the socket as the handler asks for it, through the server's
//! [`BodyReader`] (which applies the route's `body_limit`, the chunked
//! grammar and the body deadlines). So [`Field::save_to`] writes a 1 GiB
//! file to disk holding one 64 KiB chunk at a time, and a part over
//! [`MultipartLimits`] is refused when its limit is crossed, not after the
//! whole body has arrived. Given a body already in memory (a handler of
//! its own calling [`Multipart::new`], or a router that does not stream),
//! it reads that instead.
//!
//! # The parser, and how it is driven
//!
//! Parsing is [multer](https://docs.rs/multer)'s: it is the parser axum
//! and others build on, maintained, fuzzed by its users' traffic, with
//! per-field and whole-stream size limits of its own; the synchronous
//! crates (`multipart`, `mime_multipart`) have not had a release in years.
//! multer's API is async, but it only waits when its input stream does.
//! Here the input is a stream that is always ready: each poll hands over
//! the next chunk of the body, read (blocking, on the handler's worker)
//! from the socket or taken from memory. The futures are polled in a loop
//! with a no-op waker, so no runtime is involved.
//!
//! The stream hands over one chunk per poll (it says "not yet" between
//! chunks) because multer pulls everything a stream has ready into its own
//! buffer: this way multer holds a chunk or two, never the body.

use std::fmt;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::stream::Stream;

use super::{optional, FromRequest, RequestContext};
use crate::error::Error;
use crate::server::{BodyReader, Request};

/// How many bytes of the body multer gets per poll.
const CHUNK: usize = 64 * 1024;

/// How many polls in a row may pass without the body advancing before the
/// parser counts as stuck (a bug, never a client's doing): the bound that
/// keeps a driving loop finite.
const STALLED_POLLS: u32 = 64;

/// The limits a [`Multipart`] body is held to. Each refusal is a 413 in
/// the error shape naming the limit.
///
/// The defaults are 100 parts, no per-part limit and no total limit
/// beyond the route's `body_limit`, which the server has already applied.
/// Set them per handler with [`Multipart::limits`], or for every route of
/// a router by giving a `MultipartLimits` as a state
/// (`Router::with_state(MultipartLimits::default().max_parts(10))`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipartLimits {
    max_parts: usize,
    max_part_bytes: u64,
    max_total_bytes: u64,
}

impl Default for MultipartLimits {
    fn default() -> MultipartLimits {
        MultipartLimits {
            max_parts: 100,
            max_part_bytes: u64::MAX,
            max_total_bytes: u64::MAX,
        }
    }
}

impl MultipartLimits {
    /// At most `parts` parts (default 100).
    pub fn max_parts(mut self, parts: usize) -> MultipartLimits {
        self.max_parts = parts;
        self
    }

    /// At most `bytes` bytes in one part's content (default: no limit but
    /// the body's).
    pub fn max_part_bytes(mut self, bytes: u64) -> MultipartLimits {
        self.max_part_bytes = bytes;
        self
    }

    /// At most `bytes` bytes of body, framing included (default: no limit
    /// but the route's `body_limit`).
    pub fn max_total_bytes(mut self, bytes: u64) -> MultipartLimits {
        self.max_total_bytes = bytes;
        self
    }
}

/// A `multipart/form-data` body, read part by part.
///
/// A request whose `Content-Type` is not `multipart/form-data` with a
/// boundary, or whose body is not valid multipart, is a 400; a part count
/// or size over the [`MultipartLimits`] is a 413. Both are refused where
/// they are met: at the extractor for the `Content-Type`, at
/// [`next_field`](Multipart::next_field) or a field's read for the rest,
/// so return the `Error` with `?`.
///
/// ```
/// use std::io::Read;
/// use sutegi::extract::Multipart;
/// use sutegi::{post, routes, test::TestClient, Error};
///
/// #[post("/upload", body_limit = "20MiB")]
/// fn upload(form: Multipart) -> Result<String, Error> {
///     let limits = form.current_limits().max_parts(3).max_part_bytes(1 << 20);
///     let mut form = form.limits(limits);
///     let mut seen = Vec::new();
///     while let Some(mut field) = form.next_field()? {
///         let name = field.name().unwrap_or("").to_owned();
///         // Read it (Read), take it whole (`bytes`, `text`) or `save_to` a file.
///         let mut content = Vec::new();
///         field.read_to_end(&mut content)?;
///         seen.push(format!("{name}={}", content.len()));
///     }
///     Ok(seen.join(","))
/// }
///
/// let client = TestClient::new(routes![upload]);
/// let body = "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--X--\r\n";
/// let r = client.post("/upload").header("Content-Type", "multipart/form-data; boundary=X").body(body).send();
/// assert_eq!(r.text(), "a=5");
/// ```
pub struct Multipart<'r> {
    /// Taken by the parser at the first `next_field`.
    source: Option<Source<'r>>,
    boundary: String,
    limits: MultipartLimits,
    /// Built at the first `next_field`, so `limits` can still change.
    parser: Option<multer::Multipart<'r>>,
    /// How far the body has been handed to the parser, for the stall check.
    fed: Arc<AtomicUsize>,
    parts: usize,
}

/// Where a multipart body's bytes come from.
enum Source<'r> {
    /// Already in memory.
    Buffered(&'r [u8]),
    /// Arriving on the connection.
    Streamed(Box<BodyReader>),
}

impl fmt::Debug for Multipart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Some(Source::Buffered(body)) => format!("{} bytes in memory", body.len()),
            Some(Source::Streamed(_)) => "streamed".to_owned(),
            None => "being parsed".to_owned(),
        };
        f.debug_struct("Multipart")
            .field("body", &source)
            .field("boundary", &self.boundary)
            .field("limits", &self.limits)
            .field("parts_read", &self.parts)
            .finish()
    }
}

impl<'r> Multipart<'r> {
    /// Parses `body` as `multipart/form-data` with this `Content-Type`;
    /// for tests and for bodies that did not come from an extractor.
    pub fn new(content_type: &str, body: &'r [u8]) -> Result<Multipart<'r>, Error> {
        Multipart::from_source(content_type, Source::Buffered(body))
    }

    fn from_source(content_type: &str, source: Source<'r>) -> Result<Multipart<'r>, Error> {
        let boundary = multer::parse_boundary(content_type).map_err(|_| not_multipart())?;
        Ok(Multipart {
            source: Some(source),
            boundary,
            limits: MultipartLimits::default(),
            parser: None,
            fed: Arc::new(AtomicUsize::new(0)),
            parts: 0,
        })
    }

    /// The limits this body is held to.
    pub fn current_limits(&self) -> MultipartLimits {
        self.limits
    }

    /// Holds this body to `limits` instead (before the first
    /// [`next_field`](Multipart::next_field); later, only the part count
    /// changes).
    pub fn limits(mut self, limits: MultipartLimits) -> Multipart<'r> {
        self.limits = limits;
        self
    }

    /// The next part, in the order sent, or `None` after the last.
    ///
    /// A part left unread is skipped. Refuses with 413 past the part count
    /// or a size limit, with 400 when the body is not valid multipart.
    pub fn next_field(&mut self) -> Result<Option<Field<'_, 'r>>, Error> {
        let limits = self.limits;
        let fed = Arc::clone(&self.fed);
        let parser = match &mut self.parser {
            Some(parser) => parser,
            None => {
                let stream = BodyChunks {
                    source: self.source.take().unwrap_or(Source::Buffered(&[])),
                    fed: Arc::clone(&fed),
                    paused: false,
                };
                let size = multer::SizeLimit::new()
                    .whole_stream(limits.max_total_bytes)
                    .per_field(limits.max_part_bytes);
                let constraints = multer::Constraints::new().size_limit(size);
                self.parser.insert(multer::Multipart::with_constraints(
                    stream,
                    self.boundary.clone(),
                    constraints,
                ))
            }
        };
        let field = drive(&fed, |cx| parser.poll_next_field(cx))?;
        let Some(field) = field else {
            return Ok(None);
        };
        if self.parts == limits.max_parts {
            return Err(Error::content_too_large(format!(
                "the form has more than {} parts",
                limits.max_parts
            )));
        }
        self.parts += 1;
        Ok(Some(Field {
            inner: field,
            fed,
            chunk: bytes::Bytes::new(),
            given: bytes::Bytes::new(),
            _exclusive: PhantomData,
        }))
    }
}

impl<'r> FromRequest<'r> for Multipart<'r> {
    type Rejection = Error;
    const READS_BODY: bool = true;
    const CONTENT_TYPE_CHECK: Option<fn(Option<&str>) -> bool> = Some(takes_multipart);
    const STREAMS_BODY: bool = true;

    /// Checks the `Content-Type` (400 when it is not multipart with a
    /// boundary) and takes the limits given as a state, if any; the parts
    /// are parsed as the handler asks for them, from the body as it
    /// arrives (or from memory, when the server read it whole).
    fn from_request(cx: &'r RequestContext<'_>) -> Result<Self, Error> {
        let request = cx.request();
        let Some(content_type) = request.header("content-type") else {
            let error = not_multipart();
            return Err(if declares_body(request) {
                error
            } else {
                error.absent()
            });
        };
        let source = match request.take_body_reader() {
            Some(reader) => Source::Streamed(Box::new(reader)),
            None => Source::Buffered(request.body()),
        };
        let multipart = Multipart::from_source(content_type, source)?;
        Ok(match cx.state::<MultipartLimits>() {
            Some(limits) => multipart.limits(**limits),
            None => multipart,
        })
    }

    fn from_request_optional(cx: &'r RequestContext<'_>) -> Result<Option<Self>, Error> {
        optional(Self::from_request(cx))
    }
}

/// Whether a `Content-Type` (absent: `None`) is multipart with a boundary,
/// as [`Multipart::new`] needs (multer's own reading of it).
fn takes_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| multer::parse_boundary(ct).is_ok())
}

/// Whether the request came with a body, read or still on its way.
fn declares_body(request: &Request) -> bool {
    !request.body().is_empty()
        || request.header("transfer-encoding").is_some()
        || request
            .header("content-length")
            .is_some_and(|length| length != "0")
}

fn not_multipart() -> Error {
    Error::bad_request(
        "expected `Content-Type: multipart/form-data; boundary=…` with a multipart body",
    )
}

/// multer's refusals in the error shape: 413 over a limit, else 400.
fn refusal(error: multer::Error) -> Error {
    match error {
        multer::Error::FieldSizeExceeded { limit, field_name } => {
            Error::content_too_large(match field_name {
                Some(name) => format!("part `{name}` is over the limit of {limit} bytes per part"),
                None => format!("a part is over the limit of {limit} bytes per part"),
            })
        }
        multer::Error::StreamSizeExceeded { limit } => Error::content_too_large(format!(
            "the multipart body is over its limit of {limit} bytes"
        )),
        // The body's own refusal (413 over the route's limit, 408, a cut
        // connection), given back as the reader made it.
        multer::Error::StreamReadFailed(cause) => match cause.downcast::<io::Error>() {
            Ok(io_error) => Error::from(*io_error),
            Err(cause) => Error::bad_request(format!("the body could not be read: {cause}")),
        },
        multer::Error::LockFailure => {
            Error::internal("a multipart part was read after the next one was asked for")
        }
        other => Error::bad_request(format!(
            "the body is not valid multipart/form-data: {other}"
        )),
    }
}

/// Polls `poll` until it is ready. The body stream is always ready (it
/// only pauses between chunks), so this never waits; `fed` tells whether a
/// pending poll moved the body on, and too many polls that did not are a
/// stuck parser, refused rather than looped on.
fn drive<T>(
    fed: &AtomicUsize,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<Result<T, multer::Error>>,
) -> Result<T, Error> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut idle = 0;
    let mut last = fed.load(Ordering::Relaxed);
    loop {
        match poll(&mut cx) {
            Poll::Ready(result) => return result.map_err(refusal),
            Poll::Pending => {
                let now = fed.load(Ordering::Relaxed);
                if now == last {
                    idle += 1;
                    if idle > STALLED_POLLS {
                        log::error!("the multipart parser made no progress on a ready body");
                        return Err(Error::internal("the multipart body could not be parsed"));
                    }
                } else {
                    (idle, last) = (0, now);
                }
            }
        }
    }
}

/// The body as a stream of pieces of at most [`CHUNK`] bytes, one per
/// poll: sliced from memory, or read from the connection (blocking until
/// bytes arrive, under the body's deadlines).
struct BodyChunks<'r> {
    source: Source<'r>,
    fed: Arc<AtomicUsize>,
    /// Set after a chunk: the next poll says "not yet", so multer takes one
    /// chunk at a time instead of copying the whole body into its buffer.
    paused: bool,
}

impl Stream for BodyChunks<'_> {
    type Item = Result<bytes::Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if std::mem::take(&mut self.paused) {
            // The driving loop polls again at once; no wake-up needed.
            return Poll::Pending;
        }
        let chunk = match &mut self.source {
            Source::Buffered(rest) => {
                if rest.is_empty() {
                    return Poll::Ready(None);
                }
                let (chunk, after) = rest.split_at(rest.len().min(CHUNK));
                *rest = after;
                bytes::Bytes::copy_from_slice(chunk)
            }
            Source::Streamed(reader) => {
                let mut chunk = bytes::BytesMut::zeroed(CHUNK);
                match reader.read(&mut chunk) {
                    Ok(0) => return Poll::Ready(None),
                    Ok(n) => chunk.truncate(n),
                    Err(error) => return Poll::Ready(Some(Err(error))),
                }
                chunk.freeze()
            }
        };
        self.paused = true;
        self.fed.fetch_add(chunk.len(), Ordering::Relaxed);
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// One part of a [`Multipart`] body: its name, file name and content type,
/// and its content, read as it is parsed.
///
/// Read the content through [`Read`], [`chunk`](Field::chunk),
/// [`bytes`](Field::bytes) / [`text`](Field::text) (the whole part in
/// memory) or [`save_to`](Field::save_to) (to a file, chunk by chunk). A
/// part over its size limit fails the read with the 413 (through `Read`,
/// an `io::Error` that `?` turns back into that 413).
pub struct Field<'m, 'r> {
    inner: multer::Field<'r>,
    fed: Arc<AtomicUsize>,
    /// What is left of the chunk `Read` is in.
    chunk: bytes::Bytes,
    /// The chunk [`Field::chunk`] last handed out.
    given: bytes::Bytes,
    /// Borrows the `Multipart`, so a field is done with before the next.
    _exclusive: PhantomData<&'m mut ()>,
}

impl fmt::Debug for Field<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name())
            .field("file_name", &self.file_name())
            .field("content_type", &self.content_type())
            .finish_non_exhaustive()
    }
}

impl Field<'_, '_> {
    /// The part's name (`Content-Disposition: form-data; name="…"`).
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// The file name the client gave, for a file part. It is the client's
    /// text: never use it as a path without cleaning it.
    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name()
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.inner.content_type().map(|mime| mime.as_ref())
    }

    /// The next piece of the content, or `None` at its end.
    pub fn chunk(&mut self) -> Result<Option<&[u8]>, Error> {
        if self.chunk.is_empty() {
            match self.next_chunk()? {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(None),
            }
        }
        // Handed over whole; kept in `given` for as long as it is borrowed.
        self.given = std::mem::take(&mut self.chunk);
        Ok(Some(&self.given))
    }

    fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, Error> {
        let inner = &mut self.inner;
        drive(&self.fed, |cx| match Pin::new(&mut *inner).poll_next(cx) {
            Poll::Ready(Some(result)) => Poll::Ready(result.map(Some)),
            Poll::Ready(None) => Poll::Ready(Ok(None)),
            Poll::Pending => Poll::Pending,
        })
    }

    /// The whole content in memory.
    pub fn bytes(mut self) -> Result<Vec<u8>, Error> {
        let mut content = Vec::new();
        self.copy_to(&mut content)?;
        Ok(content)
    }

    /// The whole content as UTF-8 text (400 when it is not).
    pub fn text(self) -> Result<String, Error> {
        let name = self.name().unwrap_or("").to_owned();
        String::from_utf8(self.bytes()?)
            .map_err(|_| Error::bad_request(format!("part `{name}` is not UTF-8 text")))
    }

    /// Writes the rest of the content to `out`, chunk by chunk; returns the
    /// number of bytes written.
    pub fn copy_to(&mut self, out: &mut impl Write) -> Result<u64, Error> {
        let mut written = 0u64;
        loop {
            if self.chunk.is_empty() {
                match self.next_chunk()? {
                    Some(chunk) => self.chunk = chunk,
                    None => return Ok(written),
                }
            }
            let chunk = std::mem::take(&mut self.chunk);
            out.write_all(&chunk)?;
            written += chunk.len() as u64;
        }
    }

    /// Writes the content to a new file at `path` (replacing one there),
    /// chunk by chunk as it arrives, so the part is never held in memory;
    /// returns its size. On any failure (a size limit, a disk error) the
    /// partial file is removed. Disk errors are a 500 whose cause is
    /// logged.
    pub fn save_to(mut self, path: impl AsRef<std::path::Path>) -> Result<u64, Error> {
        let path = path.as_ref();
        let mut file = io::BufWriter::new(std::fs::File::create(path)?);
        let result = self
            .copy_to(&mut file)
            .and_then(|size| file.flush().map(|()| size).map_err(Error::from));
        if result.is_err() {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
        result
    }
}

impl Read for Field<'_, '_> {
    /// Reads the content; a refusal (413 over the part limit, 400
    /// malformed) comes as an `io::Error` wrapping the [`Error`], which
    /// `?` into `sutegi::Error` gives back as it was.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.chunk.is_empty() {
            match self.next_chunk().map_err(io::Error::other)? {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
