//! The HTTP/1.1 request codec: bytes in, requests or refusals out, no
//! sockets. The connection driver feeds it whatever arrived; it parses the
//! head with `httparse`, enforces [`Limits`], checks the framing headers
//! against request smuggling (RFC 9112 §6), and de-frames the body
//! (`Content-Length` or chunked) as it arrives.
//!
//! [`parse_request`] is the blocking front door over any `BufRead`.

use std::io::{self, BufRead};
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddr};

use super::handler::HeadVerdict;
use super::limits::Limits;
use super::request::{Extensions, FieldRange, Method, Request, Version};

/// Why the server refuses a request before any handler sees it. Each has a
/// status code and a fixed message, so refusing allocates nothing the client
/// asked for. The connection is always closed after a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: malformed syntax or framing; the message says what.
    BadRequest(&'static str),
    /// 408: the head did not arrive within the deadline, or the body stalled.
    Timeout,
    /// 413: the body is larger than the limit.
    BodyTooLarge,
    /// 414: the request target is longer than the limit.
    UriTooLong,
    /// 417: an `Expect` other than `100-continue`.
    ExpectationFailed,
    /// 431: the head is larger than the limit, or has too many fields.
    HeadersTooLarge,
    /// 501: a method token the server does not know.
    UnknownMethod,
    /// 501: a transfer coding other than `chunked` before the final `chunked`.
    UnsupportedTransferCoding,
    /// 503: the server is at a bound (streams) or shutting down.
    Unavailable,
    /// 505: an HTTP version other than 1.0 and 1.1.
    UnsupportedVersion,
}

impl Refusal {
    /// The status code that answers this refusal.
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Timeout => 408,
            Refusal::BodyTooLarge => 413,
            Refusal::UriTooLong => 414,
            Refusal::ExpectationFailed => 417,
            Refusal::HeadersTooLarge => 431,
            Refusal::UnknownMethod | Refusal::UnsupportedTransferCoding => 501,
            Refusal::Unavailable => 503,
            Refusal::UnsupportedVersion => 505,
        }
    }

    /// What was wrong, for the client.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::BadRequest(message) => message,
            Refusal::Timeout => "the request did not arrive in time",
            Refusal::BodyTooLarge => "the request body is larger than the server accepts",
            Refusal::UriTooLong => "the request target is longer than the server accepts",
            Refusal::ExpectationFailed => "only the expectation 100-continue is supported",
            Refusal::HeadersTooLarge => {
                "the request header fields are larger or more numerous than the server accepts"
            }
            Refusal::UnknownMethod => "the request method is not one the server implements",
            Refusal::UnsupportedTransferCoding => "only the chunked transfer coding is supported",
            Refusal::Unavailable => "the server cannot take this request now",
            Refusal::UnsupportedVersion => "only HTTP/1.0 and HTTP/1.1 are supported",
        }
    }
}

/// What [`parse_request`] yields: a request, or a refusal the server answers
/// (with [`Refusal::status`]) before closing the connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// A complete request, body included.
    Request(Request),
    /// A request the server refuses.
    Refused(Refusal),
}

/// Reads one request off a buffered stream under `limits`.
///
/// Returns `Ok(None)` when the peer closed before sending anything (blank
/// lines before a request are skipped), a refusal when the request breaks
/// HTTP/1.1 or crosses a limit, and the request otherwise, its body read and
/// de-chunked. Time limits are the caller's (socket timeouts); an I/O error
/// is returned as is. A `100 Continue` cannot be sent from here: the server
/// drives the same codec itself and answers it.
///
/// ```
/// use std::io::BufReader;
/// use sutegi::{parse_request, Incoming, Limits};
///
/// let bytes = b"GET /users/1?x=2 HTTP/1.1\r\nHost: example.com\r\n\r\n";
/// let parsed = parse_request(&mut BufReader::new(&bytes[..]), &Limits::default()).unwrap();
/// let Some(Incoming::Request(request)) = parsed else { panic!() };
/// assert_eq!(request.path(), "/users/1");
/// assert_eq!(request.query(), Some("x=2"));
/// ```
pub fn parse_request<R: BufRead>(reader: &mut R, limits: &Limits) -> io::Result<Option<Incoming>> {
    let mut decoder = RequestDecoder::new(peer_unknown());
    let no_override = |_: Method, _: &str| None;
    // Bytes of a head that spans several reads. Empty on the fast path,
    // where the whole request sits in the reader's buffer and is parsed in
    // place; only what the request used is consumed, so a pipelined next
    // request stays in the reader.
    let mut spanning: Vec<u8> = Vec::new();
    loop {
        let available = reader.fill_buf()?;
        let read = available.len();
        if read == 0 {
            let nothing_sent = spanning.iter().all(|b| matches!(b, b'\r' | b'\n'));
            return Ok(if decoder.in_head() && nothing_sent {
                None
            } else {
                Some(Incoming::Refused(Refusal::BadRequest(
                    "the connection closed before the request was complete",
                )))
            });
        }
        let step = if spanning.is_empty() {
            match decoder.feed(available, limits, &no_override) {
                Err(refusal) => return Ok(Some(Incoming::Refused(refusal))),
                Ok(Step {
                    consumed,
                    outcome: Outcome::Request(request),
                }) => {
                    reader.consume(consumed);
                    return Ok(Some(Incoming::Request(request)));
                }
                Ok(step) => {
                    spanning.extend_from_slice(&available[step.consumed..]);
                    step
                }
            }
        } else {
            spanning.extend_from_slice(available);
            match decoder.feed(&spanning, limits, &no_override) {
                Err(refusal) => return Ok(Some(Incoming::Refused(refusal))),
                Ok(step) => {
                    spanning.drain(..step.consumed);
                    step
                }
            }
        };
        reader.consume(read);
        if let Outcome::Request(request) = step.outcome {
            return Ok(Some(Incoming::Request(request)));
        }
    }
}

fn peer_unknown() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}

/// The result of feeding bytes to a [`RequestDecoder`].
pub(crate) struct Step {
    /// How many input bytes the decoder took. A partial head is not taken:
    /// the caller keeps it and feeds it again with more bytes after it.
    pub(crate) consumed: usize,
    pub(crate) outcome: Outcome,
}

pub(crate) enum Outcome {
    /// More bytes are needed.
    NeedMore,
    /// A complete request.
    Request(Request),
    /// The head of a request whose body the handler does not want (see
    /// [`HeadVerdict::AnswerFromHead`]); its body is not read. The decoder
    /// is left inside no request: the connection must close after the
    /// answer, since the unread body would be taken for the next request.
    AnswerFromHead(Request),
}

enum DecodeState {
    /// Waiting for a complete head. `scanned` is how far the caller's bytes
    /// were already searched for a line feed: a head can only complete at
    /// one, so a client trickling bytes does not make us re-parse for each.
    Head { scanned: usize },
    /// Reading a `Content-Length` body.
    Sized {
        request: Box<Request>,
        remaining: u64,
    },
    /// Reading a chunked body.
    Chunked {
        request: Box<Request>,
        chunks: ChunkedDecoder,
    },
}

/// Resumable request decoding for one connection: head, then body.
pub(crate) struct RequestDecoder {
    state: DecodeState,
    peer: SocketAddr,
    /// Set when a head asked for `100-continue` and its body has not begun;
    /// the driver sends the interim response and clears it.
    continue_wanted: bool,
}

impl RequestDecoder {
    pub(crate) fn new(peer: SocketAddr) -> RequestDecoder {
        RequestDecoder {
            state: DecodeState::Head { scanned: 0 },
            peer,
            continue_wanted: false,
        }
    }

    /// Whether the decoder is between requests or inside a head (as opposed
    /// to reading a body).
    pub(crate) fn in_head(&self) -> bool {
        matches!(self.state, DecodeState::Head { .. })
    }

    /// Body bytes received so far for the request being read (de-chunked),
    /// or 0 between requests: what the minimum body rate is measured on.
    pub(crate) fn body_received(&self) -> u64 {
        match &self.state {
            DecodeState::Head { .. } => 0,
            DecodeState::Sized { request, .. } | DecodeState::Chunked { request, .. } => {
                request.body.len() as u64
            }
        }
    }

    /// Takes the "send `100 Continue` now" signal.
    pub(crate) fn take_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_wanted)
    }

    /// Feeds `input` (which starts with any bytes not consumed last time).
    /// `body_limit` may raise or lower the body limit for a method and path.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        limits: &Limits,
        body_limit: &dyn Fn(Method, &str) -> Option<u64>,
    ) -> Result<Step, Refusal> {
        let check_head = |head: &Request| HeadVerdict::ReadBody {
            limit: body_limit(head.method, head.path()),
        };
        self.feed_judged(input, limits, &check_head)
    }

    /// [`feed`](Self::feed), with the handler's verdict on each head that
    /// declares a body: its limit, or [`Outcome::AnswerFromHead`] for a
    /// body nobody wants that has not fully arrived.
    pub(crate) fn feed_judged(
        &mut self,
        input: &[u8],
        limits: &Limits,
        check_head: &dyn Fn(&Request) -> HeadVerdict,
    ) -> Result<Step, Refusal> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match &mut self.state {
                DecodeState::Head { scanned } => {
                    let searched_to = (*scanned).min(rest.len());
                    // A whole request usually ends the buffer with its LF:
                    // then no scan is needed.
                    let has_line_feed =
                        rest.last() == Some(&b'\n') || rest[searched_to..].contains(&b'\n');
                    if !has_line_feed {
                        // A CR followed by anything but LF can never become
                        // a line end: refuse now rather than at the deadline.
                        let tail = &rest[searched_to.saturating_sub(1)..];
                        if tail
                            .windows(2)
                            .any(|pair| pair[0] == b'\r' && pair[1] != b'\n')
                        {
                            return Err(Refusal::BadRequest("a bare CR in the request head"));
                        }
                        *scanned = rest.len();
                        check_partial_head(rest, limits)?;
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    }
                    let Some((request, head_len, framing)) = parse_head(rest, limits, self.peer)?
                    else {
                        *scanned = rest.len();
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    };
                    consumed += head_len;
                    let expects_continue = framing.expect_continue;
                    // Asked only when there is a body to bound. A body
                    // nobody wants is left unread unless it is all here
                    // already (then reading it costs nothing and the
                    // connection can be kept).
                    let body_here = (rest.len() - head_len) as u64;
                    let limit = match framing.body {
                        BodyFraming::None | BodyFraming::Sized(0) => limits.max_body_bytes,
                        BodyFraming::Sized(_) | BodyFraming::Chunked => {
                            match check_head(&request) {
                                HeadVerdict::ReadBody { limit } => {
                                    limit.unwrap_or(limits.max_body_bytes)
                                }
                                HeadVerdict::AnswerFromHead => match framing.body {
                                    BodyFraming::Sized(length) if length <= body_here => {
                                        limits.max_body_bytes
                                    }
                                    _ => {
                                        self.state = DecodeState::Head { scanned: 0 };
                                        return Ok(Step {
                                            consumed,
                                            outcome: Outcome::AnswerFromHead(request),
                                        });
                                    }
                                },
                            }
                        }
                    };
                    match framing.body {
                        BodyFraming::None => {
                            self.state = DecodeState::Head { scanned: 0 };
                            return Ok(Step {
                                consumed,
                                outcome: Outcome::Request(request),
                            });
                        }
                        BodyFraming::Sized(length) => {
                            if length > limit {
                                return Err(Refusal::BodyTooLarge);
                            }
                            let mut request = Box::new(request);
                            // Reserve up to 1 MiB at once (one allocation for
                            // most bodies); past that the buffer grows as
                            // bytes arrive, so a lying Content-Length costs
                            // little up front.
                            request.body.reserve(length.min(1 << 20) as usize);
                            self.state = DecodeState::Sized {
                                request,
                                remaining: length,
                            };
                        }
                        BodyFraming::Chunked => {
                            let chunks = ChunkedDecoder::new(limit);
                            self.state = DecodeState::Chunked {
                                request: Box::new(request),
                                chunks,
                            };
                        }
                    }
                    self.continue_wanted = expects_continue && consumed == input.len();
                }
                DecodeState::Sized { request, remaining } => {
                    let take = (*remaining).min(rest.len() as u64) as usize;
                    request.body.extend_from_slice(&rest[..take]);
                    *remaining -= take as u64;
                    consumed += take;
                    if *remaining > 0 {
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    }
                    return Ok(Step {
                        consumed,
                        outcome: self.finish_body(),
                    });
                }
                DecodeState::Chunked { request, chunks } => {
                    let (taken, done) = chunks.decode(rest, &mut request.body)?;
                    consumed += taken;
                    if !done {
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    }
                    return Ok(Step {
                        consumed,
                        outcome: self.finish_body(),
                    });
                }
            }
        }
    }

    fn finish_body(&mut self) -> Outcome {
        self.continue_wanted = false;
        match std::mem::replace(&mut self.state, DecodeState::Head { scanned: 0 }) {
            DecodeState::Sized { request, .. } | DecodeState::Chunked { request, .. } => {
                Outcome::Request(*request)
            }
            DecodeState::Head { .. } => Outcome::NeedMore,
        }
    }
}

/// A head that has not completed yet may already cross a limit: a target
/// longer than allowed (414 wins, being met first on the wire), then the
/// head size (431).
fn check_partial_head(partial: &[u8], limits: &Limits) -> Result<(), Refusal> {
    let line_end = partial.iter().position(|&b| b == b'\n');
    let line = &partial[..line_end.unwrap_or(partial.len())];
    // Skip the empty lines a client may send before a request.
    let line = match line.iter().position(|&b| b != b'\r' && b != b'\n') {
        Some(start) => &line[start..],
        None => {
            return if partial.len() > limits.head_bytes() {
                Err(Refusal::HeadersTooLarge)
            } else {
                Ok(())
            }
        }
    };
    if let Some(space) = line.iter().position(|&b| b == b' ') {
        let after_method = &line[space + 1..];
        let target_len = after_method
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(after_method.len());
        if target_len > limits.max_target_bytes {
            return Err(Refusal::UriTooLong);
        }
    }
    if partial.len() > limits.head_bytes() {
        return Err(Refusal::HeadersTooLarge);
    }
    Ok(())
}

enum BodyFraming {
    None,
    Sized(u64),
    Chunked,
}

struct Framing {
    body: BodyFraming,
    expect_continue: bool,
}

/// Header names the codec acts on, recognised once per field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Special {
    ContentLength,
    TransferEncoding,
    Host,
    Connection,
    Expect,
    Other,
}

/// Recognises `name`, a field name httparse has accepted (so a token).
fn classify(name: &[u8]) -> Special {
    let (special, same) = match name.len() {
        4 => (Special::Host, token_is(name, b"host")),
        6 => (Special::Expect, token_is(name, b"expect")),
        10 => (Special::Connection, token_is(name, b"connection")),
        14 => (Special::ContentLength, token_is(name, b"content-length")),
        17 => (
            Special::TransferEncoding,
            token_is(name, b"transfer-encoding"),
        ),
        _ => return Special::Other,
    };
    if same {
        special
    } else {
        Special::Other
    }
}

/// Whether the token `name` is `lowercase` ignoring ASCII case.
///
/// Every header is classified, so this is cheaper than
/// `eq_ignore_ascii_case` (which lowercases both sides byte by byte): with
/// the length a constant the loop unrolls into a branch-free comparison.
/// OR-ing 0x20 lowercases a letter and keeps `-`, and no other token byte
/// turns into a letter or `-` by it (only CR would become `-`, and a name
/// cannot hold one).
fn token_is<const N: usize>(name: &[u8], lowercase: &[u8; N]) -> bool {
    let Ok(name) = <&[u8; N]>::try_from(name) else {
        return false;
    };
    let mut difference = 0;
    for (byte, lower) in name.iter().zip(lowercase) {
        difference |= (byte | 0x20) ^ lower;
    }
    difference == 0
}

/// Parses a complete head at the start of `buf`, or `None` if it is not
/// complete yet.
fn parse_head(
    buf: &[u8],
    limits: &Limits,
    peer: SocketAddr,
) -> Result<Option<(Request, usize, Framing)>, Refusal> {
    const MAX_FIELDS: usize = 512;
    let mut headers = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_FIELDS];
    let field_room = limits.max_headers.clamp(1, MAX_FIELDS);
    let window = &buf[..buf.len().min(limits.head_bytes())];
    let mut parsed = httparse::Request::new(&mut []);
    let status = parsed.parse_with_uninit_headers(window, &mut headers[..field_room]);
    let head_len = match status {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            check_partial_head(buf, limits)?;
            return Ok(None);
        }
        Err(error) => return Err(refusal_for(error, window, limits)),
    };

    let method_token = parsed.method.unwrap_or("");
    let method = Method::from_token(method_token.as_bytes()).ok_or(Refusal::UnknownMethod)?;
    let target = parsed.path.unwrap_or("");
    if target.len() > limits.max_target_bytes {
        return Err(Refusal::UriTooLong);
    }
    let version = match parsed.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(Refusal::UnsupportedVersion),
    };
    // A bare CR anywhere in a complete head is already a parse error in
    // httparse (it accepts CR only before LF); the codec tests pin that.
    let head = &buf[..head_len];

    // Offsets of the target and fields inside the head: httparse hands out
    // sub-slices of `buf`, so pointer differences give the ranges.
    let base = buf.as_ptr() as usize;
    let offset = |slice: &[u8]| slice.as_ptr() as usize - base;
    let origin = origin_form(target, method)?;
    let target_start = offset(target.as_bytes()) + (target.len() - origin.len());
    let target_end = target_start + origin.len();
    // A byte loop beats `str::find`'s memchr on a target this short.
    let path_end = origin
        .bytes()
        .position(|b| b == b'?')
        .map_or(target_end, |q| target_start + q);

    // The request's one buffer: the head, then its field table.
    let mut owned = Vec::with_capacity(head_len + parsed.headers.len() * FieldRange::ENCODED_LEN);
    owned.extend_from_slice(head);
    let mut content_length: Option<u64> = None;
    let mut codings = TransferCodings::default();
    let mut transfer_encoding_seen = false;
    let mut hosts = 0;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut expect_continue = false;
    for header in parsed.headers.iter() {
        let value = header.value;
        let range = FieldRange {
            name_start: offset(header.name.as_bytes()) as u16,
            name_len: header.name.len() as u16,
            value_start: if value.is_empty() {
                0
            } else {
                offset(value) as u16
            },
            value_len: value.len() as u16,
        };
        owned.extend_from_slice(&range.encode());
        match classify(header.name.as_bytes()) {
            Special::Other => {}
            Special::ContentLength => {
                if content_length.is_some() {
                    return Err(Refusal::BadRequest("more than one Content-Length"));
                }
                content_length = Some(parse_content_length(value)?);
            }
            Special::TransferEncoding => {
                if version == Version::Http10 {
                    return Err(Refusal::BadRequest(
                        "Transfer-Encoding is not allowed in HTTP/1.0",
                    ));
                }
                transfer_encoding_seen = true;
                codings.add_field(value);
            }
            Special::Host => hosts += 1,
            Special::Connection => {
                for token in value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        connection_close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        connection_keep_alive = true;
                    }
                }
            }
            Special::Expect => {
                if value.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
                    expect_continue = version == Version::Http11;
                } else {
                    return Err(Refusal::ExpectationFailed);
                }
            }
        }
    }
    if version == Version::Http11 && hosts != 1 {
        return Err(Refusal::BadRequest(if hosts == 0 {
            "HTTP/1.1 requests need a Host header"
        } else {
            "more than one Host header"
        }));
    }
    if hosts > 1 {
        return Err(Refusal::BadRequest("more than one Host header"));
    }
    if transfer_encoding_seen && content_length.is_some() {
        return Err(Refusal::BadRequest(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    let chunked = transfer_encoding_seen && codings.verdict()?;
    let body = if chunked {
        BodyFraming::Chunked
    } else {
        match content_length {
            Some(0) | None => BodyFraming::None,
            Some(length) => BodyFraming::Sized(length),
        }
    };
    let keep_alive = match version {
        Version::Http11 => !connection_close,
        Version::Http10 => connection_keep_alive && !connection_close,
    };
    let request = Request {
        buf: owned,
        fields_at: head_len as u32,
        method,
        target_start: target_start as u32,
        target_end: target_end as u32,
        path_end: path_end as u32,
        version,
        body: Vec::new(),
        peer,
        keep_alive,
        extensions: Extensions::default(),
    };
    Ok(Some((
        request,
        head_len,
        Framing {
            body,
            expect_continue,
        },
    )))
}

/// The origin-form part of a target: `/path?query` as is; the path of an
/// absolute-form target (`http://host/path`, which proxies send); `*` for
/// `OPTIONS`. Anything else is a 400.
fn origin_form(target: &str, method: Method) -> Result<&str, Refusal> {
    if target.starts_with('/') {
        return Ok(target);
    }
    if target == "*" && method == Method::Options {
        return Ok(target);
    }
    for scheme in ["http://", "https://"] {
        // Compared as bytes: the target may hold UTF-8 (httparse accepts
        // it), and a byte offset into it need not be a char boundary.
        let bytes = target.as_bytes();
        if bytes.len() > scheme.len()
            && bytes[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            let after = &target[scheme.len()..];
            return Ok(match after.find(['/', '?']) {
                Some(at) if after.as_bytes()[at] == b'/' => &after[at..],
                // `http://host` or `http://host?q`: the path is empty; serve `/`.
                _ => return Err(Refusal::BadRequest("an absolute-form target needs a path")),
            });
        }
    }
    Err(Refusal::BadRequest(
        "the request target must start with '/'",
    ))
}

fn parse_content_length(value: &[u8]) -> Result<u64, Refusal> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::BadRequest(
            "Content-Length must be a plain decimal number",
        ));
    }
    let mut length: u64 = 0;
    for &digit in digits {
        length = length
            .checked_mul(10)
            .and_then(|l| l.checked_add(u64::from(digit - b'0')))
            .ok_or(Refusal::BadRequest(
                "Content-Length is too large to be a length",
            ))?;
    }
    Ok(length)
}

/// What the `Transfer-Encoding` fields of a request say, folded across
/// every field (a list may be split over several).
#[derive(Default)]
struct TransferCodings {
    any: bool,
    chunked_count: u32,
    last_is_chunked: bool,
    others: bool,
    malformed: bool,
}

impl TransferCodings {
    fn add_field(&mut self, value: &[u8]) {
        for coding in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            if coding.is_empty() {
                continue; // empty list elements are allowed by the list syntax
            }
            self.any = true;
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.last_is_chunked = chunked;
            if chunked {
                self.chunked_count += 1;
            } else if coding
                .iter()
                .all(|&b| is_token_byte(b) || b" ;=\t\"".contains(&b))
            {
                self.others = true;
            } else {
                self.malformed = true;
            }
        }
        if value.trim_ascii().is_empty() {
            self.malformed = true;
        }
    }

    /// `chunked` must come last and once (else the body cannot be framed:
    /// 400); another coding before it is not supported (501).
    fn verdict(&self) -> Result<bool, Refusal> {
        if self.malformed || (self.any && !self.last_is_chunked) || self.chunked_count > 1 {
            return Err(Refusal::BadRequest(
                "Transfer-Encoding must end with chunked, given once",
            ));
        }
        if self.others {
            return Err(Refusal::UnsupportedTransferCoding);
        }
        Ok(self.chunked_count == 1)
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Maps an httparse error to the refusal the client gets.
fn refusal_for(error: httparse::Error, head: &[u8], limits: &Limits) -> Refusal {
    match error {
        httparse::Error::TooManyHeaders => Refusal::HeadersTooLarge,
        httparse::Error::Version => {
            // A well-formed `HTTP/x.y` we do not speak is a 505; garbage is a 400.
            let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
            let line = head[..line_end].trim_ascii();
            // `GET /a b HTTP/1.1` ends with a fine version, but its request
            // line has four parts: malformed (400), not a version we lack.
            let parts = line.split(|&b| b == b' ').count();
            let token = line.rsplit(|&b| b == b' ').next().unwrap_or(b"");
            if parts == 3
                && token.len() == 8
                && token.starts_with(b"HTTP/")
                && token[5].is_ascii_digit()
                && token[6] == b'.'
                && token[7].is_ascii_digit()
            {
                Refusal::UnsupportedVersion
            } else {
                Refusal::BadRequest("malformed HTTP version in the request line")
            }
        }
        httparse::Error::Token => {
            // The method token, or the target had a forbidden byte.
            if check_partial_head(head, limits) == Err(Refusal::UriTooLong) {
                Refusal::UriTooLong
            } else {
                Refusal::BadRequest("malformed request line")
            }
        }
        httparse::Error::HeaderName => Refusal::BadRequest("malformed header field name"),
        httparse::Error::HeaderValue => Refusal::BadRequest("malformed header field value"),
        httparse::Error::NewLine => {
            Refusal::BadRequest("malformed line ending in the request head")
        }
        httparse::Error::Status => Refusal::BadRequest("malformed request line"),
    }
}

/// Resumable decoder of a chunked body (RFC 9112 §7.1). Chunk extensions
/// and trailer fields are read and ignored; every line needs CRLF.
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
    limit: u64,
    total: u64,
    /// Bytes of the current size line or trailer section, bounded so a
    /// client cannot stream an endless extension.
    line_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Reading hex digits; `any` says whether one was seen.
    Size {
        size: u64,
        any: bool,
    },
    /// Whitespace after the size, before `;` or CR.
    SizeSpace {
        size: u64,
    },
    /// Inside a chunk extension, up to CR.
    Extension {
        size: u64,
    },
    /// Saw CR after the size line; LF must follow.
    SizeLf {
        size: u64,
    },
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line, up to CR.
    TrailerLine,
    TrailerLf,
    FinalLf,
    Done,
}

/// Longest chunk-size line (size plus extensions) or trailer section.
const MAX_CHUNK_LINE: usize = 4096;

impl ChunkedDecoder {
    pub(crate) fn new(limit: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: ChunkState::Size {
                size: 0,
                any: false,
            },
            limit,
            total: 0,
            line_bytes: 0,
        }
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns how many
    /// bytes were taken and whether the body (with its trailers) ended.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), Refusal> {
        let mut at = 0;
        while at < input.len() {
            if let ChunkState::Data { remaining } = self.state {
                let take = remaining.min((input.len() - at) as u64) as usize;
                out.extend_from_slice(&input[at..at + take]);
                at += take;
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    ChunkState::DataCr
                } else {
                    ChunkState::Data { remaining: left }
                };
                continue;
            }
            let byte = input[at];
            at += 1;
            self.step(byte)?;
            if self.state == ChunkState::Done {
                return Ok((at, true));
            }
        }
        Ok((at, self.state == ChunkState::Done))
    }

    fn line_byte(&mut self) -> Result<(), Refusal> {
        self.line_bytes += 1;
        if self.line_bytes > MAX_CHUNK_LINE {
            Err(Refusal::BadRequest(
                "a chunk-size line or trailer section is too long",
            ))
        } else {
            Ok(())
        }
    }

    fn step(&mut self, byte: u8) -> Result<(), Refusal> {
        const NEED_CRLF: Refusal = Refusal::BadRequest("chunked framing lines must end with CRLF");
        self.state = match self.state {
            ChunkState::Size { size, any } => {
                self.line_byte()?;
                match byte {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let digit = (byte as char).to_digit(16).unwrap_or(0) as u64;
                        let size = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(digit))
                            .ok_or(Refusal::BadRequest("a chunk size overflows"))?;
                        ChunkState::Size { size, any: true }
                    }
                    _ if !any => {
                        return Err(Refusal::BadRequest(
                            "a chunk size must be hexadecimal digits",
                        ))
                    }
                    b'\r' => ChunkState::SizeLf { size },
                    b';' => ChunkState::Extension { size },
                    b' ' | b'\t' => ChunkState::SizeSpace { size },
                    b'\n' => return Err(NEED_CRLF),
                    _ => {
                        return Err(Refusal::BadRequest(
                            "a chunk size must be hexadecimal digits",
                        ))
                    }
                }
            }
            ChunkState::SizeSpace { size } => {
                self.line_byte()?;
                match byte {
                    b' ' | b'\t' => ChunkState::SizeSpace { size },
                    b';' => ChunkState::Extension { size },
                    b'\r' => ChunkState::SizeLf { size },
                    b'\n' => return Err(NEED_CRLF),
                    _ => {
                        return Err(Refusal::BadRequest(
                            "a chunk size must be hexadecimal digits",
                        ))
                    }
                }
            }
            ChunkState::Extension { size } => {
                self.line_byte()?;
                match byte {
                    b'\r' => ChunkState::SizeLf { size },
                    b'\n' => return Err(NEED_CRLF),
                    0 => return Err(Refusal::BadRequest("a NUL byte in a chunk extension")),
                    _ => ChunkState::Extension { size },
                }
            }
            ChunkState::SizeLf { size } => {
                if byte != b'\n' {
                    return Err(NEED_CRLF);
                }
                self.line_bytes = 0;
                // Decided once the size line is whole, so an overflowing
                // size is a 400 however the bytes arrive.
                if self.total.saturating_add(size) > self.limit {
                    return Err(Refusal::BodyTooLarge);
                }
                if size == 0 {
                    ChunkState::TrailerStart
                } else {
                    self.total += size;
                    ChunkState::Data { remaining: size }
                }
            }
            ChunkState::Data { .. } => unreachable!("data is copied in bulk by decode"),
            ChunkState::DataCr => {
                if byte != b'\r' {
                    return Err(Refusal::BadRequest("chunk data must be followed by CRLF"));
                }
                ChunkState::DataLf
            }
            ChunkState::DataLf => {
                if byte != b'\n' {
                    return Err(Refusal::BadRequest("chunk data must be followed by CRLF"));
                }
                ChunkState::Size {
                    size: 0,
                    any: false,
                }
            }
            ChunkState::TrailerStart => {
                self.line_byte()?;
                match byte {
                    b'\r' => ChunkState::FinalLf,
                    b'\n' => return Err(NEED_CRLF),
                    b' ' | b'\t' => {
                        return Err(Refusal::BadRequest("obsolete line folding in a trailer"))
                    }
                    _ => ChunkState::TrailerLine,
                }
            }
            ChunkState::TrailerLine => {
                self.line_byte()?;
                match byte {
                    b'\r' => ChunkState::TrailerLf,
                    b'\n' => return Err(NEED_CRLF),
                    0 => return Err(Refusal::BadRequest("a NUL byte in a trailer field")),
                    _ => ChunkState::TrailerLine,
                }
            }
            ChunkState::TrailerLf => {
                if byte != b'\n' {
                    return Err(NEED_CRLF);
                }
                ChunkState::TrailerStart
            }
            ChunkState::FinalLf => {
                if byte != b'\n' {
                    return Err(NEED_CRLF);
                }
                ChunkState::Done
            }
            ChunkState::Done => ChunkState::Done,
        };
        Ok(())
    }
}

/// Encodes `data` as one chunk (used by tests and the in-memory codec
/// round-trip; the server's sinks frame their writes themselves).
#[cfg(test)]
pub(crate) fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
