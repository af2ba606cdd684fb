//! Response serialisation: the status line and header fields written into
//! one buffer (with a cached `Date`), the framing chosen here and only here,
//! and [`write_response`], the blocking front door.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::limits::Limits;
use super::request::Version;
use super::response::{Body, HeaderText, Response};
use super::sink::{Output, StreamSink};
use super::status::status_reason;

/// How a response is framed for the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseFraming {
    /// The request's version: streams are chunked on 1.1, close-delimited on 1.0.
    pub version: Version,
    /// The request was `HEAD`: headers only, the body (or producer) dropped.
    pub head_only: bool,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
}

impl ResponseFraming {
    /// HTTP/1.1 framing with keep-alive, for a request that is not `HEAD`.
    pub fn keep_alive() -> ResponseFraming {
        ResponseFraming {
            version: Version::Http11,
            head_only: false,
            keep_alive: true,
        }
    }

    /// The same framing, closing the connection after the response.
    pub fn closing(self) -> ResponseFraming {
        ResponseFraming {
            keep_alive: false,
            ..self
        }
    }

    /// The same framing for a `HEAD` request (or not).
    pub fn head_only(self, head_only: bool) -> ResponseFraming {
        ResponseFraming { head_only, ..self }
    }
}

/// Writes `response` to `stream` and returns whether the connection may
/// carry another request.
///
/// A buffered body goes out in one `write` with its head. A streamed body's
/// producer runs on the calling thread, each sink write flushed as one chunk
/// (HTTP/1.1) or raw (HTTP/1.0, and then the connection must close). The
/// framing headers (`Content-Length`, `Transfer-Encoding`, `Connection`) and
/// `Date` are the server's: any the handler set are replaced.
pub fn write_response(
    stream: &mut TcpStream,
    response: Response,
    framing: ResponseFraming,
) -> io::Result<bool> {
    let limits = Limits::default();
    let mut head = Vec::with_capacity(256);
    let Response {
        status,
        headers,
        body,
    } = response;
    match body {
        Body::Bytes(bytes) => {
            let keep = encode_head(&mut head, status, &headers, Some(bytes.len()), framing);
            write_two(
                stream,
                &head,
                if framing.head_only || !status_allows_body(status) {
                    &[]
                } else {
                    &bytes
                },
            )?;
            Ok(keep)
        }
        Body::Stream(producer) => {
            let keep = encode_head(&mut head, status, &headers, None, framing);
            stream.write_all(&head)?;
            if framing.head_only || !status_allows_body(status) {
                return Ok(keep);
            }
            let chunked = framing.version == Version::Http11;
            let mut sink = StreamSink::new(
                Output::Socket(stream.try_clone()?),
                chunked,
                Arc::new(AtomicBool::new(false)),
                limits.sse_keep_alive,
                limits.write_timeout,
            );
            producer(&mut sink)?;
            sink.shared()
                .writer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .finish()?;
            Ok(keep && chunked)
        }
        // The switch itself needs the server's connection handling; written
        // to a bare stream, only the head goes out and the connection ends.
        Body::Upgrade(_) => {
            encode_upgrade_head(&mut head, &headers);
            stream.write_all(&head)?;
            Ok(false)
        }
    }
}

/// Writes a head and a body with as few syscalls as the kernel allows.
pub(crate) fn write_two(stream: &mut impl Write, head: &[u8], body: &[u8]) -> io::Result<()> {
    if body.is_empty() {
        return stream.write_all(head);
    }
    let mut slices = [io::IoSlice::new(head), io::IoSlice::new(body)];
    let mut remaining: &mut [io::IoSlice<'_>] = &mut slices;
    while !remaining.is_empty() {
        match stream.write_vectored(remaining) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut remaining, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1).
pub(crate) fn status_allows_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// Writes the status line and header fields into `out`. `body_len` is the
/// buffered body's length, or `None` for a stream. Returns whether the
/// connection stays open after this response.
pub(crate) fn encode_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(Cow<'static, str>, Cow<'static, str>)],
    body_len: Option<usize>,
    framing: ResponseFraming,
) -> bool {
    let mut keep_alive = framing.keep_alive;
    out.extend_from_slice(framing.version.as_str().as_bytes());
    out.push(b' ');
    let mut code = itoa::Buffer::new();
    out.extend_from_slice(code.format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(status_reason(status).as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    with_date(|date| out.extend_from_slice(date));
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        let name = name.as_bytes();
        if is_framing_header(name) {
            if name.eq_ignore_ascii_case(b"connection")
                && value.to_ascii_lowercase().contains("close")
            {
                keep_alive = false;
            }
            continue;
        }
        if !is_token(name) || !is_field_value(value.as_bytes()) {
            log_dropped_header();
            continue;
        }
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if status_allows_body(status) {
        match body_len {
            Some(len) => {
                out.extend_from_slice(b"Content-Length: ");
                out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            None if framing.version == Version::Http11 => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            // HTTP/1.0 stream: delimited by closing the connection.
            None => keep_alive = false,
        }
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if framing.version == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    keep_alive
}

fn is_framing_header(name: &[u8]) -> bool {
    match name.len() {
        4 => name.eq_ignore_ascii_case(b"date"),
        10 => name.eq_ignore_ascii_case(b"connection") || name.eq_ignore_ascii_case(b"keep-alive"),
        14 => name.eq_ignore_ascii_case(b"content-length"),
        17 => name.eq_ignore_ascii_case(b"transfer-encoding"),
        _ => false,
    }
}

/// Whether a header name is a token (RFC 9110 §5.1, §5.6.2): letters,
/// digits and ``!#$%&'*+-.^_`|~``. Anything else (a space, a colon, a
/// control byte, a delimiter) could be read as the end of the name or
/// another field by some recipient.
pub(crate) fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Whether a header value may go on the wire as it is (RFC 9110 §5.5):
/// visible bytes, space, horizontal tab and bytes above 0x7F. Every other
/// control byte is refused, CR and LF (which would start a new field) and
/// NUL first among them, but also the rest of 0x01–0x1F and DEL, which
/// recipients treat in ways nobody can predict.
pub(crate) fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

/// Logs the first dropped header as a warning, the rest at debug level: a
/// handler that builds a bad header does so on every request, and one line
/// says what to fix without flooding the log.
fn log_dropped_header() {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        log::warn!(
            "dropped a response header whose name is not a token or whose value holds a \
             control byte (only the first such header is logged at this level)"
        );
    } else {
        log::debug!("dropped a response header with a forbidden byte in its name or value");
    }
}

/// Runs `f` with the current `Date` header value (IMF-fixdate), formatted at
/// most once a second per thread.
fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static CACHED: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == 29 {
                cached.1.copy_from_slice(text.as_bytes());
                cached.0 = secs;
            }
        }
        f(&cached.1)
    })
}

/// The 101 head: the status line, `Connection: Upgrade`, then the
/// response's own fields (`Upgrade: websocket`, the protocol's keys). No
/// framing fields and no `Date`: nothing after it is HTTP.
pub(crate) fn encode_upgrade_head(out: &mut Vec<u8>, headers: &[(HeaderText, HeaderText)]) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || !is_token(name.as_bytes())
            || !is_field_value(value.as_bytes())
        {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(
        status: u16,
        headers: &[(&'static str, &'static str)],
        len: Option<usize>,
        framing: ResponseFraming,
    ) -> (String, bool) {
        let headers: Vec<_> = headers
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
            .collect();
        let mut out = Vec::new();
        let keep = encode_head(&mut out, status, &headers, len, framing);
        (String::from_utf8(out).unwrap(), keep)
    }

    #[test]
    fn a_buffered_body_gets_exactly_one_content_length_and_a_date() {
        let (head, keep) = head_of(
            200,
            &[("Content-Length", "99"), ("X-A", "1")],
            Some(5),
            ResponseFraming::keep_alive(),
        );
        assert!(keep);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\nDate: "));
        assert_eq!(head.matches("Content-Length").count(), 1);
        assert!(head.contains("Content-Length: 5\r\n"));
        assert!(head.contains("X-A: 1\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn streams_are_chunked_on_1_1_and_close_delimited_on_1_0() {
        let (head, keep) = head_of(200, &[], None, ResponseFraming::keep_alive());
        assert!(keep && head.contains("Transfer-Encoding: chunked\r\n"));
        let framing = ResponseFraming {
            version: Version::Http10,
            head_only: false,
            keep_alive: true,
        };
        let (head, keep) = head_of(200, &[], None, framing);
        assert!(!keep && head.contains("Connection: close\r\n") && !head.contains("chunked"));
    }

    #[test]
    fn a_handler_asking_to_close_closes() {
        let (head, keep) = head_of(
            200,
            &[("Connection", "close")],
            Some(0),
            ResponseFraming::keep_alive(),
        );
        assert!(!keep);
        assert_eq!(head.matches("Connection").count(), 1);
    }

    #[test]
    fn header_values_with_line_breaks_are_never_sent() {
        let (head, _) = head_of(
            200,
            &[("X-Evil", "a\r\nSet-Cookie: x"), ("Bad Name", "v")],
            Some(0),
            ResponseFraming::keep_alive(),
        );
        assert!(!head.contains("Set-Cookie") && !head.contains("Bad Name"));
    }

    #[test]
    fn only_tokens_name_a_header_and_only_visible_bytes_make_its_value() {
        // (name, value, sent)
        let rows: &[(&'static str, &'static str, bool)] = &[
            ("X-Ok", "plain value", true),
            ("X-Tab", "a\tb", true),
            ("X-Utf8", "caf\u{e9}", true),
            ("X-Empty", "", true),
            ("x!#$%&'*+-.^_`|~9", "v", true),
            ("X-Cr", "a\rb", false),
            ("X-Lf", "a\nb", false),
            ("X-Nul", "a\0b", false),
            ("X-Soh", "a\u{1}b", false),
            ("X-Esc", "a\u{1b}[31m", false),
            ("X-Us", "a\u{1f}", false),
            ("X-Del", "a\u{7f}", false),
            ("Bad Name", "v", false),
            ("Bad:Name", "v", false),
            ("Bad(Name)", "v", false),
            ("Bad\"Name", "v", false),
            ("Bad/Name", "v", false),
            ("Bad\tName", "v", false),
            ("Bad\u{7f}", "v", false),
            ("Bäd", "v", false),
            ("", "v", false),
        ];
        for &(name, value, sent) in rows {
            let (head, _) = head_of(
                200,
                &[(name, value)],
                Some(0),
                ResponseFraming::keep_alive(),
            );
            let line = format!("{name}: {value}\r\n");
            assert_eq!(
                head.contains(&line),
                sent,
                "{name:?}: {value:?} in {head:?}"
            );
            let fields = head.matches("\r\n").count();
            // Status line, Date, Content-Length, the blank line: plus one
            // when the field went out.
            assert_eq!(fields, 4 + usize::from(sent), "{name:?}: {value:?}");
        }
    }

    #[test]
    fn status_rules_decide_the_body_framing() {
        // (status, Content-Length written for a 5-byte body, body sent)
        let rows: &[(u16, bool, bool)] = &[
            (200, true, true),
            (201, true, true),
            (204, false, false),
            (205, true, true),
            (304, false, false),
            (404, true, true),
            (500, true, true),
            (999, true, true),
        ];
        for &(status, has_length, sends_body) in rows {
            let (head, _) = head_of(status, &[], Some(5), ResponseFraming::keep_alive());
            assert_eq!(
                head.contains("Content-Length: 5\r\n"),
                has_length,
                "{status}"
            );
            assert_eq!(status_allows_body(status), sends_body, "{status}");
            // A stream answered with a bodiless status is not chunked.
            let (head, _) = head_of(status, &[], None, ResponseFraming::keep_alive());
            assert_eq!(head.contains("chunked"), sends_body, "{status}");
        }
    }

    #[test]
    fn no_content_has_no_length() {
        let (head, _) = head_of(204, &[], Some(0), ResponseFraming::keep_alive());
        assert!(!head.contains("Content-Length"));
        let (head, _) = head_of(304, &[], Some(10), ResponseFraming::keep_alive());
        assert!(!head.contains("Content-Length"));
    }

    #[test]
    fn http_1_0_keep_alive_is_announced() {
        let framing = ResponseFraming {
            version: Version::Http10,
            head_only: false,
            keep_alive: true,
        };
        let (head, keep) = head_of(200, &[], Some(2), framing);
        assert!(
            keep && head.starts_with("HTTP/1.0 200 OK")
                && head.contains("Connection: keep-alive\r\n")
        );
    }
}
