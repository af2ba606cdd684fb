//! Static files from a directory: [`ServeDir`].
//!
//! This module owns the mapping from a route's catch-all capture to a file
//! under a root directory (and the refusal of anything that would leave
//! it), the `Content-Type` table, the validators (`ETag`,
//! `Last-Modified`) and the conditional requests built on them (304, 412),
//! single byte ranges (206, 416), directory index files, and streaming of
//! large files. It leaves routing to the [`router`](crate::router) (mount a
//! `ServeDir` on a route ending in a catch-all), the framing
//! (`Content-Length` or chunked) and the dropping of `HEAD` bodies to the
//! [`server`](crate::server), and the error shape to
//! [`Error`]: every refusal here is an `Error` rendered the
//! way the serving router renders its own.
//!
//! ```
//! use sutegi::files::ServeDir;
//! use sutegi::Router;
//!
//! // `/static/app.js` answers `<root>/app.js`; `/static/` answers
//! // `<root>/index.html`.
//! let assets = ServeDir::new("static").cache_control("public, max-age=3600");
//! let app = Router::new()
//!     .get("/static/", assets.clone())
//!     .get("/static/{*path}", assets);
//! # app.into_handler().unwrap();
//! ```
//!
//! This file holds [`ServeDir`] (its settings, and the order in which a
//! request is answered) and what mounts it on a router. The steps live
//! beside it: `resolve` (from a relative path to an opened file, refusing
//! anything outside the root), `conditional` (validators, 304 and 412),
//! `range` (206, 416, and reading the bytes) and `mime` (the
//! `Content-Type` table). Of the router it uses what any handler does: the
//! [`RouteFn`] trait, which boxes a handler into the router's handler
//! type, and [`Router::get`]; the router knows nothing of files.

#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::error::Error;
use crate::extract::{RequestContext, StateRequirement};
use crate::respond::IntoResponse;
use crate::router::{BoxedHandler, RouteFn, Router};
use crate::server::{Body, HeaderText, Method, Request, Response};
use crate::Status;

mod conditional;
mod mime;
mod range;
mod resolve;

#[cfg(test)]
mod tests;

use conditional::{
    check_preconditions, if_range_allows, make_etag, unix_seconds, Precondition, Validators,
};
pub use mime::content_type_for;
use range::{parse_range, read_file, stream_file, RangeAnswer};
use resolve::{clean_relative_path, Opened};

/// Above this many bytes a file (or the requested range of it) is streamed
/// rather than read into memory; see [`ServeDir::stream_above`].
pub const DEFAULT_STREAM_ABOVE: u64 = 1024 * 1024;

/// Serves the files under one directory: the static assets of a web app,
/// a page and its scripts, downloads.
///
/// # Mounting
///
/// A `ServeDir` is itself a route handler: it serves the capture that ends
/// the path (percent-decoded), or the root directory when none does. Give
/// it a route ending in a catch-all, plus the bare prefix with a slash if
/// the directory's index should answer there too (a catch-all does not
/// match an empty rest). Captures in the prefix are fine
/// (`/{version}/static/{*path}`).
///
/// ```
/// use sutegi::files::ServeDir;
/// use sutegi::test::TestClient;
/// use sutegi::Router;
/// # let root = std::env::temp_dir().join(format!("sutegi-doc-servedir-{}", std::process::id()));
/// # std::fs::create_dir_all(&root).unwrap();
/// # std::fs::write(root.join("index.html"), "<h1>hi</h1>").unwrap();
/// # std::fs::write(root.join("app.js"), "alert(1)").unwrap();
///
/// let assets = ServeDir::new(&root);
/// let app = Router::new()
///     .get("/static/", assets.clone())
///     .get("/static/{*path}", assets);
///
/// let client = TestClient::new(app);
/// let page = client.get("/static/").send();
/// assert_eq!(page.status(), 200);
/// assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
/// let script = client.get("/static/app.js").send();
/// assert_eq!(script.text(), "alert(1)");
/// assert_eq!(client.get("/static/../Cargo.toml").send().status(), 400);
/// # std::fs::remove_dir_all(&root).unwrap();
/// ```
///
/// A closure works as well, when the handler should do more than serve
/// (note `Path<String>` expects the route to have exactly one capture):
///
/// ```
/// use sutegi::files::ServeDir;
/// use sutegi::{Path, Request, Router};
///
/// let assets = ServeDir::new("static");
/// let app = Router::new().get("/static/{*path}", move |req: &Request, Path(path): Path<String>| {
///     assets.serve(&path, req)
/// });
/// # app.into_handler().unwrap();
/// ```
///
/// # What it answers
///
/// Only `GET` and `HEAD` (anything else: 405 with `Allow: GET, HEAD`).
///
/// - **200** with the file, `Content-Type` from the extension
///   ([`content_type_for`]), a strong `ETag` made of the size and the
///   modification time, `Last-Modified`, `Accept-Ranges: bytes`,
///   `X-Content-Type-Options: nosniff`, and `Cache-Control` when
///   [`cache_control`](ServeDir::cache_control) set one.
/// - **A directory** answers its index file (`index.html` unless
///   [`index_file`](ServeDir::index_file) says otherwise) when the request
///   path ends with `/`; without the slash it is a **307** redirect to the
///   path with the slash (so the page's relative links resolve); a
///   directory without an index file is a **404** (no listings).
/// - **304** Not Modified when `If-None-Match` matches the `ETag` (weak
///   comparison, a list or `*`), or, when there is no `If-None-Match`,
///   when `If-Modified-Since` is not older than the file.
/// - **412** Precondition Failed when `If-Match` does not match (strong
///   comparison, or `*`), or, without `If-Match`, when the file changed
///   after `If-Unmodified-Since`.
/// - **206** Partial Content for one range `Range: bytes=a-b`, `a-` or `-n`
///   (on `GET`), with `Content-Range: bytes a-b/size`; the end is clamped to
///   the file. When `If-Range` is sent and does not match the `ETag` (or the
///   `Last-Modified` date exactly), the whole file is sent instead.
/// - **416** Range Not Satisfiable, with `Content-Range: bytes */size`, for
///   a range starting at or past the end, or `bytes=-0`.
/// - Several ranges (`bytes=0-1,5-6`), another unit, or a malformed `Range`
///   are ignored: the whole file, 200 (multipart answers are not
///   produced). An empty file ignores `Range` too.
///
/// # What it refuses
///
/// The relative path is treated as hostile, wherever it came from:
///
/// - **400** Bad Request for a path that is not a plain relative path: a
///   `..` segment (written literally or percent-encoded: the capture
///   arrives decoded), a backslash, a NUL byte, or anything the platform
///   reads as a drive or root prefix. Leading and doubled slashes and `.`
///   segments are skipped, so `/etc/passwd` names `<root>/etc/passwd`.
///   The capture is decoded once: a double-encoded `%252e%252e` names a
///   file literally called `%2e%2e`, which is then looked up (and, barring
///   such a file, a 404).
/// - **404** Not Found for a missing file, a path that ends with `/` but
///   names a file, anything that is neither a file nor a directory (a FIFO,
///   a device), a *hidden* name (a segment starting with `.`, such as
///   `.git` or `.env`) unless [`serve_hidden`](ServeDir::serve_hidden) is
///   on, and a path whose symlinks lead outside the root. The path is
///   resolved (`canonicalize`) and must stay under the resolved root; the
///   answer is the same as for a missing file so that the layout outside
///   the root cannot be probed. Symlinks that stay inside the root are
///   followed.
/// - **403** Forbidden when the operating system denies reading the file.
///
/// The root is resolved again at each request, so a root that is a symlink
/// switched by a deploy takes effect at once. Resolving and opening are two
/// steps: whoever can write into the served tree could race a symlink in
/// between, so serve only directories that untrusted users cannot write to.
///
/// # Large files
///
/// A response body of up to [`stream_above`](ServeDir::stream_above)
/// bytes (default 1 MiB) is read into memory and sent with
/// `Content-Length`; a larger one is streamed, read in 64 KiB pieces by a
/// producer on a stream thread (so it counts against
/// [`Limits::max_streams`](crate::Limits)). Streams go out chunked, so a
/// streamed file's response, `HEAD` included, carries no `Content-Length`.
#[derive(Clone, Debug)]
pub struct ServeDir {
    root: PathBuf,
    index_file: Option<Arc<str>>,
    cache_control: Option<HeaderText>,
    stream_above: u64,
    serve_hidden: bool,
}

impl ServeDir {
    /// Serves the files under `root`: `index.html` for directories, hidden
    /// names refused, files over 1 MiB streamed, no `Cache-Control`.
    ///
    /// A relative `root` is resolved against the working directory at each
    /// request; prefer an absolute one (`concat!(env!("CARGO_MANIFEST_DIR"),
    /// "/static")`) so the program serves the same files wherever it is
    /// started. A root that does not exist makes every request a 404.
    pub fn new(root: impl Into<PathBuf>) -> ServeDir {
        ServeDir {
            root: root.into(),
            index_file: Some(Arc::from("index.html")),
            cache_control: None,
            stream_above: DEFAULT_STREAM_ABOVE,
            serve_hidden: false,
        }
    }

    /// The file a directory answers with (default `index.html`). It must be
    /// a plain file name; it is looked up, and checked, like any other path.
    pub fn index_file(mut self, name: &str) -> ServeDir {
        self.index_file = Some(Arc::from(name));
        self
    }

    /// Directories answer 404 instead of an index file.
    pub fn no_index_file(mut self) -> ServeDir {
        self.index_file = None;
        self
    }

    /// The `Cache-Control` value of every file response (and of 304s), e.g.
    /// `public, max-age=31536000, immutable` for fingerprinted assets.
    /// Without it browsers revalidate with `If-None-Match` as they see fit.
    pub fn cache_control(mut self, value: impl Into<HeaderText>) -> ServeDir {
        self.cache_control = Some(value.into());
        self
    }

    /// Bodies larger than `bytes` are streamed from the file in 64 KiB
    /// pieces instead of being read into memory first (default 1 MiB).
    /// Smaller bodies go out with `Content-Length` in one write.
    pub fn stream_above(mut self, bytes: u64) -> ServeDir {
        self.stream_above = bytes;
        self
    }

    /// Whether names starting with `.` (`.well-known`, but also `.git`,
    /// `.env`) are served (default `false`: they answer 404).
    pub fn serve_hidden(mut self, serve: bool) -> ServeDir {
        self.serve_hidden = serve;
        self
    }

    /// The root directory, as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers `request` with the file at `relative_path` under the root.
    ///
    /// `relative_path` is the route's catch-all capture, percent-decoded;
    /// it is checked as described on [`ServeDir`] whatever its origin. The
    /// request supplies the method and the conditional and range headers.
    pub fn serve(&self, relative_path: &str, request: &Request) -> Response {
        if !matches!(request.method(), Method::Get | Method::Head) {
            let mut response = Error::new(
                Status::METHOD_NOT_ALLOWED,
                format!(
                    "{} is not allowed on files; use GET or HEAD",
                    request.method()
                ),
            )
            .into_response();
            response.set_header("Allow", "GET, HEAD");
            return response;
        }
        let relative = match clean_relative_path(relative_path, self.serve_hidden) {
            Ok(relative) => relative,
            Err(refusal) => return refusal.into_response(),
        };
        let wants_directory = relative_path.is_empty() || relative_path.ends_with('/');
        match self.open(&relative, wants_directory, request) {
            Ok(Opened::File {
                file,
                metadata,
                named,
            }) => self.answer(file, &metadata, &named, request),
            Ok(Opened::Redirect(response)) => response,
            Err(refusal) => refusal.into_response(),
        }
    }

    /// The response for an opened file: conditionals, then the range, then
    /// the body.
    fn answer(
        &self,
        file: File,
        metadata: &fs::Metadata,
        named: &Path,
        request: &Request,
    ) -> Response {
        let size = metadata.len();
        let mtime = metadata.modified().ok();
        let validators = Validators {
            etag: mtime.map(|mtime| make_etag(size, mtime)),
            last_modified: mtime.map(unix_seconds),
        };

        match check_preconditions(request, &validators) {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                let mut response = Response::new(304);
                self.add_validators(&mut response, &validators);
                return response;
            }
            Precondition::Failed => {
                return Error::new(
                    Status::PRECONDITION_FAILED,
                    "the file does not match the request's If-Match or If-Unmodified-Since",
                )
                .into_response()
            }
        }

        // Range applies to GET only (RFC 9110 §14.2); an empty file has no
        // range to give.
        let range = match request.header("range") {
            Some(range)
                if request.method() == Method::Get
                    && size > 0
                    && if_range_allows(request, &validators) =>
            {
                parse_range(range, size)
            }
            _ => RangeAnswer::Whole,
        };
        let (status, start, length) = match range {
            RangeAnswer::Whole => (200, 0, size),
            RangeAnswer::Part { start, end } => (206, start, end - start + 1),
            RangeAnswer::Unsatisfiable => {
                let mut response = Error::new(
                    Status::RANGE_NOT_SATISFIABLE,
                    format!("the range starts past the end of the file, which has {size} bytes"),
                )
                .into_response();
                response.set_header("Content-Range", format!("bytes */{size}"));
                response.set_header("Accept-Ranges", "bytes");
                return response;
            }
        };

        let body = if length > self.stream_above {
            stream_file(file, start, length)
        } else {
            match read_file(file, start, length) {
                Ok(bytes) => Body::from(bytes),
                Err(error) => {
                    log::warn!("reading {} failed: {error}", named.display());
                    return Error::internal("the file could not be read").into_response();
                }
            }
        };
        let mut response = Response::with_body(status, body)
            .header("Content-Type", content_type_for(named))
            .header("Accept-Ranges", "bytes")
            .header("X-Content-Type-Options", "nosniff");
        if status == 206 {
            let end = start + length - 1;
            response.append_header("Content-Range", format!("bytes {start}-{end}/{size}"));
        }
        self.add_validators(&mut response, &validators);
        response
    }

    fn add_validators(&self, response: &mut Response, validators: &Validators) {
        if let Some(etag) = &validators.etag {
            response.append_header("ETag", etag.clone());
        }
        if let Some(seconds) = validators.last_modified {
            let date = UNIX_EPOCH + Duration::from_secs(seconds);
            response.append_header("Last-Modified", httpdate::fmt_http_date(date));
        }
        if let Some(cache_control) = &self.cache_control {
            response.append_header("Cache-Control", cache_control.clone());
        }
    }
}

/// A `ServeDir` is a route handler: it serves the capture that ends the
/// path (a catch-all `{*path}`, or a final `{name}`), percent-decoded, or
/// the root directory when no capture ends it (`/static/`,
/// `/orgs/{org}/static/`).
impl RouteFn<ServeDirRoute> for ServeDir {
    fn into_boxed_handler(self) -> BoxedHandler {
        Arc::new(move |cx: &RequestContext<'_>| match trailing_capture(cx) {
            Some(name) => match cx.capture_str(&name) {
                Ok(relative) => self.serve(&relative, cx.request()),
                Err(refusal) => refusal.into_response(),
            },
            None => self.serve("", cx.request()),
        })
    }

    fn state_requirements() -> Vec<StateRequirement> {
        Vec::new()
    }

    fn body_readers() -> usize {
        0
    }

    fn content_type_check() -> Option<fn(Option<&str>) -> bool> {
        None
    }

    fn streams_body() -> bool {
        false
    }
}

/// The name of the route's last capture if it ends the request path.
///
/// The captures are slices of the matched path, so "ends the path" is
/// where the slices end, not what they say: on `/orgs/{org}/static` the
/// capture `org` of `/orgs/static/static` does not end the path, though
/// its text is the path's last segment.
fn trailing_capture(cx: &RequestContext<'_>) -> Option<String> {
    let path = cx.request().path();
    let (name, raw) = cx.captures().last()?;
    let end = |text: &str| text.as_ptr() as usize + text.len();
    (end(raw) == end(path)).then(|| name.to_owned())
}

/// The argument marker of [`ServeDir`]'s [`RouteFn`] implementation (it
/// reads its captures itself rather than through extractors).
#[doc(hidden)]
pub struct ServeDirRoute;

/// Mounting a [`ServeDir`]: the one router method files add, kept here so
/// the router core does not know about files.
impl Router {
    /// Serves the files under `dir` at `prefix`: `{prefix}/{*path}` answers
    /// files, `{prefix}/` the root's index file, and `{prefix}` redirects
    /// (307) to `{prefix}/`. See [`ServeDir`] for the status codes and
    /// headers.
    ///
    /// ```
    /// use sutegi::{files::ServeDir, Router};
    ///
    /// let app = Router::new().serve_dir("/static", ServeDir::new("examples/static"));
    /// assert!(app.into_handler().is_ok());
    /// ```
    #[track_caller]
    pub fn serve_dir(self, prefix: &str, dir: ServeDir) -> Router {
        let prefix = prefix.trim_end_matches('/').to_owned();
        let mut router = self
            .get(format!("{prefix}/"), dir.clone())
            .get(format!("{prefix}/{{*path}}"), dir.clone());
        if !prefix.is_empty() {
            router = router.get(prefix, dir);
        }
        router
    }
}
