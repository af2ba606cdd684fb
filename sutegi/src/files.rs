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

#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::extract::{RequestContext, StateRequirement};
use crate::respond::{Error, IntoResponse, Status};
use crate::router::{BoxedHandler, RouteFn};
use crate::server::{Body, HeaderText, Method, Request, Response};

/// Above this many bytes a file (or the requested range of it) is streamed
/// rather than read into memory; see [`ServeDir::stream_above`].
pub const DEFAULT_STREAM_ABOVE: u64 = 1024 * 1024;

/// The size of each piece a streamed file is read and sent in.
const STREAM_PIECE: usize = 64 * 1024;

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

    /// Resolves and opens the file, refusing anything outside the root.
    fn open(
        &self,
        relative: &Path,
        wants_directory: bool,
        request: &Request,
    ) -> Result<Opened, Error> {
        let root = fs::canonicalize(&self.root).map_err(|error| {
            log::debug!("static root {} is unusable: {error}", self.root.display());
            not_found()
        })?;
        let mut named = root.join(relative);
        let mut target = resolve_inside(&root, &named)?;
        let mut metadata = fs::metadata(&target).map_err(io_refusal)?;
        if metadata.is_dir() {
            if !request.path().ends_with('/') {
                return Ok(Opened::Redirect(directory_redirect(request)));
            }
            let index = self.index_file.as_deref().ok_or_else(not_found)?;
            let index = clean_relative_path(index, true).map_err(|_| not_found())?;
            named = target.join(index);
            target = resolve_inside(&root, &named)?;
            metadata = fs::metadata(&target).map_err(io_refusal)?;
        } else if wants_directory {
            // `app.js/` names a directory that is not there.
            return Err(not_found());
        }
        if !metadata.is_file() {
            // FIFOs, sockets, devices: opening a FIFO could block a worker.
            return Err(not_found());
        }
        let file = File::open(&target).map_err(io_refusal)?;
        // Describe what was opened, not what the path named a moment ago.
        let metadata = file.metadata().map_err(io_refusal)?;
        if !metadata.is_file() {
            return Err(not_found());
        }
        Ok(Opened::File {
            file,
            metadata,
            named,
        })
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

/// What resolving a path led to.
enum Opened {
    /// A regular file, opened, with the path it was named by (its
    /// extension gives the content type, even through a symlink).
    File {
        file: File,
        metadata: fs::Metadata,
        named: PathBuf,
    },
    /// A directory asked for without its trailing slash.
    Redirect(Response),
}

/// The file's validators. `None` where the platform reports no
/// modification time: then there is nothing to validate against.
struct Validators {
    /// The strong entity tag, quoted.
    etag: Option<String>,
    /// The modification time in whole seconds since the epoch (what
    /// `Last-Modified` can say).
    last_modified: Option<u64>,
}

/// Checks a relative path segment by segment and rebuilds it from the
/// segments that name something: `..`, backslashes, NUL and platform
/// prefixes are refused (400), hidden names are a 404 unless allowed.
fn clean_relative_path(relative: &str, serve_hidden: bool) -> Result<PathBuf, Error> {
    if relative.contains('\0') {
        return Err(Error::bad_request("the file path contains a NUL byte"));
    }
    if relative.contains('\\') {
        return Err(Error::bad_request(
            "the file path contains a backslash; separate segments with `/`",
        ));
    }
    let mut clean = PathBuf::new();
    for segment in relative.split('/') {
        match segment {
            "" | "." => continue,
            ".." => {
                return Err(Error::bad_request(
                    "the file path contains a `..` segment, which could leave the directory",
                ))
            }
            _ if segment.starts_with('.') && !serve_hidden => return Err(not_found()),
            _ => {}
        }
        // Whatever the platform reads as more than one plain name (a drive
        // letter, a root) cannot be a segment.
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) if name == segment => clean.push(segment),
            _ => {
                return Err(Error::bad_request(
                    "the file path holds a segment that is not a plain file name",
                ))
            }
        }
    }
    Ok(clean)
}

/// Resolves every symlink in `path` and checks the result is still under
/// `root` (itself resolved). Outside is answered as missing.
fn resolve_inside(root: &Path, path: &Path) -> Result<PathBuf, Error> {
    let resolved = fs::canonicalize(path).map_err(io_refusal)?;
    if resolved.starts_with(root) {
        Ok(resolved)
    } else {
        log::debug!(
            "refused {}: it resolves outside the static root",
            path.display()
        );
        Err(not_found())
    }
}

fn not_found() -> Error {
    Error::not_found("no such file")
}

/// Missing (or not a directory on the way) is a 404; denied is a 403;
/// anything else is logged and answered as missing.
fn io_refusal(error: io::Error) -> Error {
    match error.kind() {
        io::ErrorKind::PermissionDenied => {
            Error::new(Status::FORBIDDEN, "the file may not be read")
        }
        io::ErrorKind::NotFound => not_found(),
        _ => {
            log::debug!("a static file lookup failed: {error}");
            not_found()
        }
    }
}

/// 307 to the same path with a trailing slash, query kept.
fn directory_redirect(request: &Request) -> Response {
    // Collapse leading slashes so `//evil.example` cannot become a
    // protocol-relative redirect to another host.
    let path = format!("/{}/", request.path().trim_start_matches('/'));
    let path = if path == "//" { "/".to_owned() } else { path };
    let location = match request.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    Response::new(307).header("Location", location)
}

/// `"<mtime seconds>-<mtime nanoseconds>-<size>"` in hex, like nginx's
/// (which uses seconds and size) with sub-second changes seen too.
fn make_etag(size: u64, mtime: SystemTime) -> String {
    let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "\"{:x}-{:x}-{:x}\"",
        since.as_secs(),
        since.subsec_nanos(),
        size
    )
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// An HTTP date header in whole seconds since the epoch; `None` when
/// absent or malformed (and then ignored, as RFC 9110 says).
fn date_header(request: &Request, name: &str) -> Option<u64> {
    let value = request.header(name)?;
    httpdate::parse_http_date(value).ok().map(unix_seconds)
}

enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// RFC 9110 §13.2.2's order: If-Match, else If-Unmodified-Since; then
/// If-None-Match, else If-Modified-Since.
fn check_preconditions(request: &Request, validators: &Validators) -> Precondition {
    if let Some(list) = request.header("if-match") {
        let matched = match_entity_tags(list, validators.etag.as_deref(), Comparison::Strong);
        if !matched {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(modified)) = (
        date_header(request, "if-unmodified-since"),
        validators.last_modified,
    ) {
        if modified > since {
            return Precondition::Failed;
        }
    }
    if let Some(list) = request.header("if-none-match") {
        if match_entity_tags(list, validators.etag.as_deref(), Comparison::Weak) {
            return Precondition::NotModified;
        }
    } else if let (Some(since), Some(modified)) = (
        date_header(request, "if-modified-since"),
        validators.last_modified,
    ) {
        if modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// Whether `list` (`*`, or comma-separated entity tags) matches `ours`.
/// `*` matches any existing file; otherwise tags compare as RFC 9110
/// §8.8.3.2 says (our tag is strong).
fn match_entity_tags(list: &str, ours: Option<&str>, comparison: Comparison) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let Some(ours) = ours else {
        return false;
    };
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(after_quote) = rest.strip_prefix('"') else {
            // Not an entity tag: the list is malformed; match nothing.
            return false;
        };
        let Some(end) = after_quote.find('"') else {
            return false;
        };
        let tag = &rest[..end + 2];
        if tag == ours && (comparison == Comparison::Weak || !weak) {
            return true;
        }
        rest = &after_quote[end + 1..];
    }
}

/// Whether the `Range` header may be used: no `If-Range`, or one that
/// matches the file exactly (a strong entity tag, or the `Last-Modified`
/// date itself).
fn if_range_allows(request: &Request, validators: &Validators) -> bool {
    let Some(condition) = request.header("if-range") else {
        return true;
    };
    let condition = condition.trim();
    if condition.starts_with('"') {
        validators.etag.as_deref() == Some(condition)
    } else if condition.starts_with("W/") {
        false
    } else {
        match (
            httpdate::parse_http_date(condition).ok(),
            validators.last_modified,
        ) {
            (Some(date), Some(modified)) => unix_seconds(date) == modified,
            _ => false,
        }
    }
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeAnswer {
    /// No usable single byte range: send the whole file.
    Whole,
    /// Bytes `start..=end`, both inside the file.
    Part { start: u64, end: u64 },
    /// A well-formed range that selects nothing.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2) for a
/// non-empty file. Several ranges, other units and malformed values are
/// [`RangeAnswer::Whole`].
fn parse_range(header: &str, size: u64) -> RangeAnswer {
    let header = header.trim();
    let Some(unit) = header.get(..6) else {
        return RangeAnswer::Whole;
    };
    if !unit.eq_ignore_ascii_case("bytes=") {
        return RangeAnswer::Whole;
    }
    let spec = header[6..].trim();
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |text: &str| -> Option<u64> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    if first.is_empty() {
        let Some(suffix) = number(last) else {
            return RangeAnswer::Whole;
        };
        if suffix == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        return RangeAnswer::Part {
            start: size.saturating_sub(suffix),
            end: size - 1,
        };
    }
    let Some(start) = number(first) else {
        return RangeAnswer::Whole;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return RangeAnswer::Whole,
        }
    };
    if start >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Part {
        start,
        end: end.min(size - 1),
    }
}

/// Reads `length` bytes from `start` into memory.
fn read_file(mut file: File, start: u64, length: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.take(length).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < length {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file shrank while it was read",
        ));
    }
    Ok(bytes)
}

/// A body that reads `length` bytes from `start` in 64 KiB pieces as the
/// client takes them.
fn stream_file(mut file: File, start: u64, length: u64) -> Body {
    Body::stream(move |sink| {
        file.seek(SeekFrom::Start(start))?;
        let mut piece =
            vec![0; usize::try_from(length).map_or(STREAM_PIECE, |n| n.min(STREAM_PIECE))];
        let mut remaining = length;
        while remaining > 0 {
            let want = piece
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let read = match file.read(&mut piece[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was sent",
                    ))
                }
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            sink.send(&piece[..read])?;
            remaining -= read as u64;
        }
        Ok(())
    })
}

/// The `Content-Type` for a file name, from its extension (compared
/// without regard to case): the common web types, text ones with
/// `; charset=utf-8`; `application/octet-stream` for anything else.
///
/// ```
/// use sutegi::files::content_type_for;
/// assert_eq!(content_type_for("app.JS"), "text/javascript; charset=utf-8");
/// assert_eq!(content_type_for("logo.svg"), "image/svg+xml");
/// assert_eq!(content_type_for("archive.unknown"), "application/octet-stream");
/// ```
pub fn content_type_for(path: impl AsRef<Path>) -> &'static str {
    let Some(extension) = path.as_ref().extension().and_then(|e| e.to_str()) else {
        return "application/octet-stream";
    };
    let mut lower = [0u8; 12];
    if extension.len() > lower.len() {
        return "application/octet-stream";
    }
    let lower = &mut lower[..extension.len()];
    lower.copy_from_slice(extension.as_bytes());
    lower.make_ascii_lowercase();
    match &*lower {
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"js" | b"mjs" | b"cjs" => "text/javascript; charset=utf-8",
        b"json" | b"map" => "application/json",
        b"webmanifest" => "application/manifest+json",
        b"txt" => "text/plain; charset=utf-8",
        b"md" => "text/markdown; charset=utf-8",
        b"csv" => "text/csv; charset=utf-8",
        b"xml" => "application/xml",
        b"svg" => "image/svg+xml",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"webp" => "image/webp",
        b"avif" => "image/avif",
        b"ico" => "image/x-icon",
        b"wasm" => "application/wasm",
        b"woff" => "font/woff",
        b"woff2" => "font/woff2",
        b"ttf" => "font/ttf",
        b"otf" => "font/otf",
        b"pdf" => "application/pdf",
        b"mp4" => "video/mp4",
        b"webm" => "video/webm",
        b"mp3" => "audio/mpeg",
        b"ogg" => "audio/ogg",
        b"wav" => "audio/wav",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// Serving a directory from a router: here, beside [`ServeDir`], so the
/// router knows nothing of files.
impl crate::router::Router {
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
    pub fn serve_dir(self, prefix: &str, dir: ServeDir) -> crate::router::Router {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::TestClient;
    use crate::Router;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory tree under the system temp dir, removed on drop:
    /// `root/` is served, `outside/` holds what must never be.
    struct Tree {
        base: PathBuf,
    }

    impl Tree {
        fn new() -> Tree {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let base = std::env::temp_dir().join(format!(
                "sutegi-files-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&base);
            let root = base.join("root");
            let outside = base.join("outside");
            fs::create_dir_all(root.join("sub")).unwrap();
            fs::create_dir_all(root.join("empty-dir")).unwrap();
            fs::create_dir_all(root.join(".git")).unwrap();
            fs::create_dir_all(&outside).unwrap();
            fs::write(root.join("index.html"), "<h1>home</h1>").unwrap();
            fs::write(root.join("app.js"), "console.log(1)").unwrap();
            fs::write(root.join("sub/index.html"), "sub home").unwrap();
            fs::write(root.join("sub/notes.txt"), "notes").unwrap();
            fs::write(root.join("data.bin"), (0..100u8).collect::<Vec<u8>>()).unwrap();
            fs::write(root.join("empty.txt"), "").unwrap();
            fs::write(root.join(".env"), "HIDDEN").unwrap();
            fs::write(root.join(".git/config"), "HIDDEN").unwrap();
            fs::write(outside.join("secret.txt"), "TOP SECRET").unwrap();
            fs::write(base.join("secret.txt"), "TOP SECRET").unwrap();
            // A fixed modification time, so date conditionals are exact.
            let app = File::options()
                .write(true)
                .open(root.join("app.js"))
                .unwrap();
            app.set_modified(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
                .unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::symlink;
                symlink(outside.join("secret.txt"), root.join("escape.txt")).unwrap();
                symlink("../outside", root.join("escape-dir")).unwrap();
                symlink("app.js", root.join("inner-link.js")).unwrap();
                symlink("sub", root.join("inner-dir")).unwrap();
            }
            Tree { base }
        }

        fn root(&self) -> PathBuf {
            self.base.join("root")
        }

        fn dir(&self) -> ServeDir {
            ServeDir::new(self.root())
        }

        fn client(&self, dir: ServeDir) -> TestClient {
            TestClient::new(
                Router::new()
                    .get("/static/", dir.clone())
                    .get("/static/{*path}", dir),
            )
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    fn get(dir: &ServeDir, relative: &str, headers: &[(&str, &str)]) -> Response {
        dir.serve(
            relative,
            &Request::new(Method::Get, "/x/", headers, Vec::new()),
        )
    }

    #[test]
    fn a_file_comes_with_its_type_validators_and_ranges_advertised() {
        let tree = Tree::new();
        let client = tree.client(tree.dir().cache_control("public, max-age=60"));
        let response = client.get("/static/app.js").send();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text(), "console.log(1)");
        assert_eq!(
            response.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(response.header("content-length"), Some("14"));
        assert_eq!(response.header("accept-ranges"), Some("bytes"));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("cache-control"), Some("public, max-age=60"));
        assert_eq!(
            response.header("last-modified"),
            Some("Tue, 14 Nov 2023 22:13:20 GMT")
        );
        let etag = response.header("etag").unwrap();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{etag}"
        );
        assert!(!response.is_stream());
    }

    #[test]
    fn head_has_the_length_and_no_body() {
        let tree = Tree::new();
        let response = tree.client(tree.dir()).head("/static/data.bin").send();
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-length"), Some("100"));
        assert_eq!(
            response.header("content-type"),
            Some("application/octet-stream")
        );
        assert!(response.body().is_empty());
    }

    #[test]
    fn directories_answer_their_index_file() {
        let tree = Tree::new();
        let client = tree.client(tree.dir());
        let home = client.get("/static/").send();
        assert_eq!(home.status(), 200);
        assert_eq!(home.text(), "<h1>home</h1>");
        assert_eq!(
            home.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(client.get("/static/sub/").send().text(), "sub home");
        assert_eq!(client.get("/static/sub/notes.txt").send().text(), "notes");
        // Without the slash, relative links would resolve one level up.
        let redirect = client.get("/static/sub?v=1").send();
        assert_eq!(redirect.status(), 307);
        assert_eq!(redirect.header("location"), Some("/static/sub/?v=1"));
        // No index, no listing.
        assert_eq!(client.get("/static/empty-dir/").send().status(), 404);
        let no_index = tree.client(tree.dir().no_index_file());
        assert_eq!(no_index.get("/static/").send().status(), 404);
        let other_index = tree.client(tree.dir().index_file("notes.txt"));
        assert_eq!(other_index.get("/static/sub/").send().text(), "notes");
    }

    #[test]
    fn the_redirect_never_points_at_another_host() {
        let tree = Tree::new();
        let request = Request::new(Method::Get, "//evil.example", &[], Vec::new());
        let response = tree.dir().serve("", &request);
        assert_eq!(response.status(), 307);
        assert_eq!(response.header_value("location"), Some("/evil.example/"));
    }

    #[test]
    fn missing_files_are_404_in_the_error_shape() {
        let tree = Tree::new();
        let client = tree.client(tree.dir());
        for target in ["/static/nope.js", "/static/app.js/", "/static/sub/nope/x"] {
            let response = client.get(target).send();
            assert_eq!(response.status(), 404, "{target}");
            assert_eq!(response.header("content-type"), Some("application/json"));
            let body: serde_json::Value = response.json();
            assert_eq!(body["error"], "Not Found", "{target}");
        }
        let gone = ServeDir::new(tree.base.join("no-such-root"));
        assert_eq!(get(&gone, "app.js", &[]).status(), 404);
    }

    /// Every way out of the root: literal and encoded `..` (the capture
    /// arrives decoded once), backslashes, NUL, absolute paths, symlinks.
    #[test]
    fn nothing_outside_the_root_is_ever_served() {
        let tree = Tree::new();
        let client = tree.client(tree.dir());
        let cases: &[(&str, u16)] = &[
            ("/static/../secret.txt", 400),
            ("/static/../outside/secret.txt", 400),
            ("/static/sub/../../secret.txt", 400),
            ("/static/%2e%2e/secret.txt", 400),
            ("/static/%2E%2E/secret.txt", 400),
            ("/static/..%2fsecret.txt", 400),
            ("/static/%2e%2e%2fsecret.txt", 400),
            ("/static/sub/%2e%2e/%2e%2e/secret.txt", 400),
            ("/static/..%5csecret.txt", 400),
            ("/static/%5c..%5csecret.txt", 400),
            ("/static/sub%5c..%5c..%5csecret.txt", 400),
            ("/static/app.js%00.html", 400),
            // Decoded once: `%2e%2e` is then a (missing) literal name.
            ("/static/%252e%252e/secret.txt", 404),
            ("/static/%252e%252e%252fsecret.txt", 404),
            // Absolute paths stay under the root.
            ("/static//etc/passwd", 404),
            ("/static/%2fetc%2fpasswd", 404),
            // Hidden names.
            ("/static/.env", 404),
            ("/static/.git/config", 404),
            ("/static/sub/./../.env", 400),
        ];
        for (target, status) in cases {
            let response = client.get(target).send();
            assert_eq!(response.status(), *status, "{target}: {response:?}");
            assert!(!response.text().contains("SECRET"), "{target}");
            assert!(!response.text().contains("HIDDEN"), "{target}");
        }
        // The same checks hold for a caller passing any string.
        let dir = tree.dir();
        for relative in [
            "..",
            "../secret.txt",
            "/../secret.txt",
            "a/../../secret.txt",
        ] {
            assert_eq!(get(&dir, relative, &[]).status(), 400, "{relative}");
        }
        assert_eq!(get(&dir, "/etc/passwd", &[]).status(), 404);
        assert_eq!(get(&dir, "//app.js", &[]).status(), 200);
        assert_eq!(get(&dir, "./sub/./notes.txt", &[]).status(), 200);
    }

    #[test]
    fn a_double_encoded_dot_dot_is_just_a_name() {
        let tree = Tree::new();
        fs::create_dir(tree.root().join("%2e%2e")).unwrap();
        fs::write(tree.root().join("%2e%2e/secret.txt"), "inside").unwrap();
        let response = tree
            .client(tree.dir())
            .get("/static/%252e%252e/secret.txt")
            .send();
        assert_eq!(response.text(), "inside");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_404_and_inside_it_followed() {
        let tree = Tree::new();
        let client = tree.client(tree.dir());
        for target in ["/static/escape.txt", "/static/escape-dir/secret.txt"] {
            let response = client.get(target).send();
            assert_eq!(response.status(), 404, "{target}");
            assert!(!response.text().contains("SECRET"));
        }
        let inner = client.get("/static/inner-link.js").send();
        assert_eq!(inner.status(), 200);
        assert_eq!(inner.text(), "console.log(1)");
        assert_eq!(
            client.get("/static/inner-dir/notes.txt").send().text(),
            "notes"
        );
        // An index file that is a symlink out is refused the same way.
        std::os::unix::fs::symlink(
            tree.base.join("outside/secret.txt"),
            tree.root().join("empty-dir/index.html"),
        )
        .unwrap();
        assert_eq!(client.get("/static/empty-dir/").send().status(), 404);
        // A root that is itself a symlink is resolved first, then checked.
        let link = tree.base.join("root-link");
        std::os::unix::fs::symlink(tree.root(), &link).unwrap();
        assert_eq!(get(&ServeDir::new(&link), "app.js", &[]).status(), 200);
        assert_eq!(get(&ServeDir::new(&link), "escape.txt", &[]).status(), 404);
    }

    /// Opening a FIFO for reading blocks until a writer comes: it must be
    /// refused before it is opened.
    #[cfg(unix)]
    #[test]
    fn special_files_are_404_without_being_opened() {
        let tree = Tree::new();
        let fifo = tree.root().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !matches!(made, Ok(status) if status.success()) {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        assert_eq!(get(&tree.dir(), "pipe", &[]).status(), 404);
    }

    #[test]
    fn head_of_a_streamed_file_does_not_read_it() {
        let tree = Tree::new();
        let client = tree.client(tree.dir().stream_above(10));
        let head = client.head("/static/data.bin").send();
        assert_eq!(head.status(), 200);
        assert!(head.is_stream());
        assert!(head.body().is_empty());
        assert!(head.header("etag").is_some());
    }

    #[test]
    fn hidden_names_are_served_only_when_asked() {
        let tree = Tree::new();
        let client = tree.client(tree.dir().serve_hidden(true));
        assert_eq!(client.get("/static/.env").send().text(), "HIDDEN");
        assert_eq!(client.get("/static/.git/config").send().status(), 200);
    }

    #[test]
    fn only_get_and_head_are_answered() {
        let tree = Tree::new();
        let request = Request::new(Method::Post, "/x/app.js", &[], b"x".to_vec());
        let response = tree.dir().serve("app.js", &request);
        assert_eq!(response.status(), 405);
        assert_eq!(response.header_value("allow"), Some("GET, HEAD"));
        // Through a router, a GET route is a 405 for POST already.
        let routed = tree.client(tree.dir()).post("/static/app.js").send();
        assert_eq!(routed.status(), 405);
    }

    #[test]
    fn conditional_requests_answer_304_and_412() {
        let tree = Tree::new();
        let dir = tree.dir();
        let first = get(&dir, "app.js", &[]);
        let etag = first.header_value("etag").unwrap().to_owned();
        let modified = first.header_value("last-modified").unwrap().to_owned();
        let weak = format!("W/{etag}");
        let listed = format!("\"other\", W/\"x,y\" , {etag}");
        let cases: &[(&[(&str, &str)], u16)] = &[
            (&[("If-None-Match", &etag)], 304),
            (&[("If-None-Match", &weak)], 304),
            (&[("If-None-Match", &listed)], 304),
            (&[("If-None-Match", "*")], 304),
            (&[("If-None-Match", "\"other\"")], 200),
            (&[("If-None-Match", "garbage")], 200),
            (&[("If-Modified-Since", &modified)], 304),
            (
                &[("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")],
                304,
            ),
            (
                &[("If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT")],
                200,
            ),
            (&[("If-Modified-Since", "not a date")], 200),
            // If-None-Match wins over If-Modified-Since.
            (
                &[
                    ("If-None-Match", "\"other\""),
                    ("If-Modified-Since", &modified),
                ],
                200,
            ),
            (&[("If-Match", &etag)], 200),
            (&[("If-Match", "*")], 200),
            (&[("If-Match", "\"other\"")], 412),
            // If-Match compares strongly.
            (&[("If-Match", &weak)], 412),
            (
                &[("If-Unmodified-Since", "Mon, 13 Nov 2023 00:00:00 GMT")],
                412,
            ),
            (&[("If-Unmodified-Since", &modified)], 200),
        ];
        for (headers, status) in cases {
            let response = get(&dir, "app.js", headers);
            assert_eq!(response.status(), *status, "{headers:?}");
            if *status == 304 {
                assert_eq!(response.header_value("etag"), Some(&*etag));
                assert_eq!(response.header_value("last-modified"), Some(&*modified));
                assert_eq!(response.body().as_bytes(), Some(&b""[..]));
            }
        }
        // Through the client, a 304 carries no body and no length.
        let client = tree.client(tree.dir());
        let cached = client
            .get("/static/app.js")
            .header("If-None-Match", &etag)
            .send();
        assert_eq!(cached.status(), 304);
        assert!(cached.body().is_empty());
        assert_eq!(cached.header("content-length"), None);
    }

    #[test]
    fn a_changed_file_gets_a_new_etag() {
        let tree = Tree::new();
        let dir = tree.dir();
        let before = get(&dir, "sub/notes.txt", &[]);
        let etag = before.header_value("etag").unwrap().to_owned();
        fs::write(tree.root().join("sub/notes.txt"), "notes, longer").unwrap();
        let after = get(&dir, "sub/notes.txt", &[("If-None-Match", &etag)]);
        assert_eq!(after.status(), 200);
        assert_ne!(after.header_value("etag"), Some(&*etag));
    }

    #[test]
    fn single_ranges_are_206_and_past_the_end_is_416() {
        let tree = Tree::new();
        let client = tree.client(tree.dir());
        let all: Vec<u8> = (0..100).collect();
        let cases: &[(&str, u16, Option<&str>, std::ops::Range<usize>)] = &[
            ("bytes=0-9", 206, Some("bytes 0-9/100"), 0..10),
            ("bytes=90-", 206, Some("bytes 90-99/100"), 90..100),
            ("bytes=-5", 206, Some("bytes 95-99/100"), 95..100),
            ("bytes=-500", 206, Some("bytes 0-99/100"), 0..100),
            ("bytes=95-200", 206, Some("bytes 95-99/100"), 95..100),
            ("bytes=99-99", 206, Some("bytes 99-99/100"), 99..100),
            ("BYTES = 1-2", 200, None, 0..100),
            ("bytes= 1 - 2 ", 206, Some("bytes 1-2/100"), 1..3),
            ("bytes=0-1,5-6", 200, None, 0..100),
            ("items=0-1", 200, None, 0..100),
            ("bytes=5-2", 200, None, 0..100),
            ("bytes=x-2", 200, None, 0..100),
            ("bytes=+1-2", 200, None, 0..100),
            ("bytes=-", 200, None, 0..100),
        ];
        for (range, status, content_range, bytes) in cases {
            let response = client.get("/static/data.bin").header("Range", range).send();
            assert_eq!(response.status(), *status, "{range}");
            assert_eq!(response.header("content-range"), *content_range, "{range}");
            assert_eq!(response.body(), &all[bytes.clone()], "{range}");
            assert_eq!(
                response.header("content-length"),
                Some(&*bytes.len().to_string())
            );
        }
        for range in ["bytes=100-", "bytes=100-200", "bytes=-0"] {
            let response = client.get("/static/data.bin").header("Range", range).send();
            assert_eq!(response.status(), 416, "{range}");
            assert_eq!(response.header("content-range"), Some("bytes */100"));
            let body: serde_json::Value = response.json();
            assert_eq!(body["error"], "Range Not Satisfiable");
        }
        // HEAD and empty files ignore Range.
        let head = client
            .head("/static/data.bin")
            .header("Range", "bytes=0-9")
            .send();
        assert_eq!(head.status(), 200);
        assert_eq!(head.header("content-length"), Some("100"));
        let empty = client
            .get("/static/empty.txt")
            .header("Range", "bytes=0-")
            .send();
        assert_eq!(empty.status(), 200);
        assert_eq!(empty.header("content-length"), Some("0"));
    }

    #[test]
    fn if_range_falls_back_to_the_whole_file_when_it_changed() {
        let tree = Tree::new();
        let dir = tree.dir();
        let first = get(&dir, "app.js", &[]);
        let etag = first.header_value("etag").unwrap().to_owned();
        let modified = first.header_value("last-modified").unwrap().to_owned();
        let weak = format!("W/{etag}");
        let cases: &[(&str, u16)] = &[
            (&etag, 206),
            (&modified, 206),
            ("\"other\"", 200),
            (&weak, 200),
            ("Wed, 15 Nov 2023 00:00:00 GMT", 200),
            ("nonsense", 200),
        ];
        for (condition, status) in cases {
            let response = get(
                &dir,
                "app.js",
                &[("Range", "bytes=0-6"), ("If-Range", condition)],
            );
            assert_eq!(response.status(), *status, "{condition}");
        }
    }

    #[test]
    fn large_bodies_are_streamed_in_pieces() {
        let tree = Tree::new();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(tree.root().join("big.bin"), &big).unwrap();
        let client = tree.client(tree.dir().stream_above(1000));
        let whole = client.get("/static/big.bin").send();
        assert_eq!(whole.status(), 200);
        assert!(whole.is_stream());
        assert!(whole.stream_error().is_none());
        assert_eq!(whole.body(), &big[..]);
        assert_eq!(whole.header("content-length"), None);
        assert!(whole.header("etag").is_some());
        let part = client
            .get("/static/big.bin")
            .header("Range", "bytes=70000-149999")
            .send();
        assert_eq!(part.status(), 206);
        assert!(part.is_stream());
        assert_eq!(part.body(), &big[70_000..150_000]);
        assert_eq!(
            part.header("content-range"),
            Some("bytes 70000-149999/200000")
        );
        // Small ranges of a big file are read into memory.
        let small = client
            .get("/static/big.bin")
            .header("Range", "bytes=0-99")
            .send();
        assert!(!small.is_stream());
        assert_eq!(small.body(), &big[..100]);
    }

    #[test]
    fn a_closure_can_serve_too() {
        let tree = Tree::new();
        let dir = tree.dir();
        let app = Router::new().get(
            "/assets/{*file}",
            move |req: &Request, crate::Path(file): crate::Path<String>| dir.serve(&file, req),
        );
        let client = TestClient::new(app);
        assert_eq!(client.get("/assets/sub/notes.txt").send().text(), "notes");
        assert_eq!(client.get("/assets/%2e%2e/secret.txt").send().status(), 400);
    }

    #[test]
    fn the_last_capture_is_the_file_under_a_captured_prefix() {
        let tree = Tree::new();
        let app = Router::new().get("/{version}/files/{*path}", tree.dir());
        let client = TestClient::new(app);
        assert_eq!(client.get("/v1/files/sub/notes.txt").send().text(), "notes");
    }

    #[test]
    fn under_a_captured_prefix_only_a_capture_ending_the_path_is_the_file() {
        let tree = Tree::new();
        fs::create_dir(tree.root().join("static")).unwrap();
        fs::write(tree.root().join("static/index.html"), "wrong").unwrap();
        let app = Router::new()
            .get("/orgs/{org}/static/", tree.dir())
            .get("/orgs/{org}/static/{*path}", tree.dir())
            .get("/one/{name}", tree.dir());
        let client = TestClient::new(app);
        assert_eq!(
            client.get("/orgs/acme/static/").send().text(),
            "<h1>home</h1>"
        );
        // The org is named like a directory under the root: still the root.
        assert_eq!(
            client.get("/orgs/static/static/").send().text(),
            "<h1>home</h1>"
        );
        assert_eq!(
            client.get("/orgs/static/static/app.js").send().text(),
            "console.log(1)"
        );
        assert_eq!(client.get("/one/app.js").send().text(), "console.log(1)");
    }

    /// What the proposed `Router::serve_dir(prefix, dir)` registers.
    #[test]
    fn the_bare_prefix_redirects_to_the_index() {
        let tree = Tree::new();
        let dir = tree.dir();
        let app = Router::new()
            .get("/static", dir.clone())
            .get("/static/", dir.clone())
            .get("/static/{*path}", dir);
        let client = TestClient::new(app);
        let bare = client.get("/static").send();
        assert_eq!(bare.status(), 307);
        assert_eq!(bare.header("location"), Some("/static/"));
        assert_eq!(client.get("/static/").send().text(), "<h1>home</h1>");
        assert_eq!(client.get("/static/app.js").send().status(), 200);
    }

    #[test]
    fn range_parsing() {
        use RangeAnswer::*;
        let cases: &[(&str, u64, RangeAnswer)] = &[
            ("bytes=0-0", 1, Part { start: 0, end: 0 }),
            ("bytes=0-", 1, Part { start: 0, end: 0 }),
            ("bytes=-1", 1, Part { start: 0, end: 0 }),
            ("bytes=1-", 1, Unsatisfiable),
            ("bytes=18446744073709551615-", 10, Unsatisfiable),
            ("bytes=99999999999999999999-", 10, Whole),
            ("bytes=0-99999999999999999999", 10, Whole),
            ("bytes=", 10, Whole),
            ("bytes", 10, Whole),
            ("", 10, Whole),
            ("bytes=1-2-3", 10, Whole),
        ];
        for (header, size, answer) in cases {
            assert_eq!(parse_range(header, *size), *answer, "{header}");
        }
    }

    #[test]
    fn entity_tag_lists() {
        let ours = Some("\"abc\"");
        let weak = Comparison::Weak;
        let strong = Comparison::Strong;
        assert!(match_entity_tags("\"abc\"", ours, strong));
        assert!(match_entity_tags(" W/\"abc\"", ours, weak));
        assert!(!match_entity_tags("W/\"abc\"", ours, strong));
        assert!(match_entity_tags("\"a\",\"abc\"", ours, strong));
        assert!(!match_entity_tags("\"ab\", \"abcd\"", ours, weak));
        assert!(!match_entity_tags("\"abc", ours, weak));
        assert!(!match_entity_tags("abc", ours, weak));
        assert!(!match_entity_tags("", ours, weak));
        assert!(match_entity_tags("*", None, weak));
        assert!(!match_entity_tags("\"abc\"", None, weak));
    }

    #[test]
    fn content_types_from_extensions() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("a/b/c.HTM", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("mod.mjs", "text/javascript; charset=utf-8"),
            ("data.json", "application/json"),
            ("app.js.map", "application/json"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("table.csv", "text/csv; charset=utf-8"),
            ("feed.xml", "application/xml"),
            ("logo.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.JPEG", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.webp", "image/webp"),
            ("favicon.ico", "image/x-icon"),
            ("app.wasm", "application/wasm"),
            ("f.woff", "font/woff"),
            ("f.woff2", "font/woff2"),
            ("doc.pdf", "application/pdf"),
            ("clip.mp4", "video/mp4"),
            ("clip.webm", "video/webm"),
            ("Makefile", "application/octet-stream"),
            (".env", "application/octet-stream"),
            ("x.verylongextension", "application/octet-stream"),
            ("x.exe", "application/octet-stream"),
        ];
        for (name, expected) in cases {
            assert_eq!(content_type_for(name), expected, "{name}");
        }
    }

    #[test]
    fn relative_paths_are_rebuilt_from_plain_segments() {
        assert_eq!(
            clean_relative_path("//a/./b//c.txt", false).unwrap(),
            Path::new("a/b/c.txt")
        );
        assert_eq!(clean_relative_path("", false).unwrap(), Path::new(""));
        for bad in ["..", "a/..", "a/../b", "a\\b", "a\0b", "../", "..."] {
            let refused = clean_relative_path(bad, true);
            if bad == "..." {
                // Three dots is an ordinary (if odd) name.
                assert!(refused.is_ok());
            } else {
                assert_eq!(
                    refused.unwrap_err().status(),
                    Status::BAD_REQUEST,
                    "{bad:?}"
                );
            }
        }
        assert_eq!(
            clean_relative_path(".hidden/x", false)
                .unwrap_err()
                .status(),
            Status::NOT_FOUND
        );
    }
}
