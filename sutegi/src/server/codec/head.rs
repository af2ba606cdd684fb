//! The request head: the request line, the target's form, the header fields
//! the codec acts on (framing, `Host`, `Connection`, `Expect`) and the
//! refusal each malformed head gets. The body that follows is
//! [`RequestDecoder`](super::RequestDecoder)'s and
//! [`ChunkedDecoder`](super::chunked::ChunkedDecoder)'s.
//!
//! The file runs past 600 lines because the `Host` and target grammar
//! checks (RFC 3986's authority, RFC 9112's four target forms) belong with
//! the head they judge, and so do the one-pass fast paths every request
//! takes through them; splitting them out would scatter one refusal order.

use std::mem::MaybeUninit;
use std::net::SocketAddr;

use super::super::limits::Limits;
use super::super::request::{Extensions, FieldRange, Method, Request, Version};
use super::Refusal;

const BARE_CR: Refusal = Refusal::BadRequest("a bare CR in the request head");

/// The first refusal a head that has not completed has already earned, in
/// the order a client sending it byte by byte meets them: a bare CR (a CR
/// followed by anything but LF can never end a line), a target longer than
/// allowed (414), a head larger than allowed (431). Each is dated by the
/// byte whose arrival shows it, so the answer does not depend on how the
/// bytes were cut into reads. Bare CRs before `from - 1` were looked for
/// already.
pub(super) fn check_incomplete_head(
    bytes: &[u8],
    from: usize,
    limits: &Limits,
) -> Result<(), Refusal> {
    let scan_from = from.saturating_sub(1).min(bytes.len());
    let bare_cr = bytes[scan_from..]
        .windows(2)
        .position(|pair| pair[0] == b'\r' && pair[1] != b'\n')
        .map(|at| scan_from + at + 1);
    let long_target = target_overflow_at(bytes, limits);
    let big_head = (bytes.len() > limits.head_bytes()).then_some(limits.head_bytes());
    // `min_by_key` keeps the first of equals: the order above breaks ties.
    let first = [
        (bare_cr, BARE_CR),
        (long_target, Refusal::UriTooLong),
        (big_head, Refusal::HeadersTooLarge),
    ]
    .into_iter()
    .filter_map(|(at, refusal)| at.map(|at| (at, refusal)))
    .min_by_key(|&(at, _)| at);
    match first {
        Some((_, refusal)) => Err(refusal),
        None => Ok(()),
    }
}

/// Where the target of the request line in `bytes` passes the limit: the
/// index of its first byte too many, if it has one yet.
fn target_overflow_at(bytes: &[u8], limits: &Limits) -> Option<usize> {
    // Skip the empty lines a client may send before a request.
    let start = bytes.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let line = &bytes[start..];
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let space = line.iter().position(|&b| b == b' ')?;
    let after_method = &line[space + 1..];
    let target_len = after_method
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(after_method.len());
    (target_len > limits.max_target_bytes).then_some(start + space + 1 + limits.max_target_bytes)
}

pub(super) enum BodyFraming {
    None,
    Sized(u64),
    Chunked,
}

pub(super) struct Framing {
    pub(super) body: BodyFraming,
    pub(super) expect_continue: bool,
    /// An `Expect` other than `100-continue`: refused with 417 once the
    /// head is built, so the refusal can be rendered with it.
    pub(super) expectation_failed: bool,
}

/// Header names the codec acts on, recognised once per field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    ContentLength,
    TransferEncoding,
    Host,
    Connection,
    Expect,
    Other,
}

/// Recognises `name`, a field name httparse has accepted (so a token).
pub(super) fn classify(name: &[u8]) -> Special {
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
/// complete yet. Bare CRs before `scanned - 1` were looked for already.
pub(super) fn parse_head(
    buf: &[u8],
    scanned: usize,
    limits: &Limits,
    peer: SocketAddr,
) -> Result<Option<(Request, usize, Framing)>, Refusal> {
    const MAX_FIELDS: usize = 512;
    let mut headers = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_FIELDS];
    let field_room = limits.max_headers.clamp(1, MAX_FIELDS);
    // Only whole lines are parsed: a client trickling its head byte by
    // byte is parsed at each line feed, so parsing past the last one here
    // could find an error it would never meet, and the answer would depend
    // on how the bytes were cut.
    let window = &buf[..buf.len().min(limits.head_bytes())];
    let window = match window.iter().rposition(|&b| b == b'\n') {
        Some(last) => &window[..=last],
        None => &window[..0],
    };
    let mut parsed = httparse::Request::new(&mut []);
    let status = parsed.parse_with_uninit_headers(window, &mut headers[..field_room]);
    let head_len = match status {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            check_incomplete_head(buf, scanned, limits)?;
            return Ok(None);
        }
        Err(error) => return Err(refusal_for(error, window, field_room, limits)),
    };

    // The target's length before the method: a long target is refused as
    // soon as it arrives, before the method is judged.
    let target = parsed.path.unwrap_or("");
    if target.len() > limits.max_target_bytes {
        return Err(Refusal::UriTooLong);
    }
    let method_token = parsed.method.unwrap_or("");
    let method = Method::from_token(method_token.as_bytes()).ok_or(Refusal::UnknownMethod)?;
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
    let RequestTarget {
        origin,
        authority,
        query_at,
    } = split_target(target, method)?;
    let target_start = offset(target.as_bytes()) + (target.len() - origin.len());
    let target_end = target_start + origin.len();
    let path_end = query_at.map_or(target_end, |q| target_start + q);

    // The request's one buffer: the head, then its field table. An
    // absolute-form target may need a `Host` field the client did not send
    // (HTTP/1.0): its name is kept after the head, where a field range can
    // point at it.
    let mut owned = Vec::with_capacity(
        head_len + HOST_NAME.len() + (parsed.headers.len() + 1) * FieldRange::ENCODED_LEN,
    );
    owned.extend_from_slice(head);
    if authority.is_some() {
        owned.extend_from_slice(HOST_NAME);
    }
    let fields_at = owned.len();
    // Where the Host field's entry is in the table, and its name.
    let mut host_field: Option<(usize, FieldRange)> = None;
    let mut content_length: Option<u64> = None;
    let mut codings = TransferCodings::default();
    let mut transfer_encoding_seen = false;
    let mut hosts = 0;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut expect_continue = false;
    let mut expectation_failed = false;
    for (index, header) in parsed.headers.iter().enumerate() {
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
            Special::Host => {
                if !is_uri_host_and_port(value) {
                    return Err(Refusal::BadRequest(
                        "the Host header must be a host with an optional port",
                    ));
                }
                hosts += 1;
                host_field = Some((index, range));
            }
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
                    expectation_failed = true;
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
    if let Some(authority) = authority {
        // RFC 9112 §3.2.2: the target's authority replaces the Host field,
        // so handlers read the host the request was actually for.
        let value_start = offset(authority.as_bytes()) as u16;
        let value_len = authority.len() as u16;
        match host_field {
            Some((index, sent)) => {
                let at = fields_at + index * FieldRange::ENCODED_LEN;
                let replaced = FieldRange {
                    value_start,
                    value_len,
                    ..sent
                };
                owned[at..at + FieldRange::ENCODED_LEN].copy_from_slice(&replaced.encode());
            }
            None => owned.extend_from_slice(
                &FieldRange {
                    name_start: head_len as u16,
                    name_len: HOST_NAME.len() as u16,
                    value_start,
                    value_len,
                }
                .encode(),
            ),
        }
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
        fields_at: fields_at as u32,
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
            expectation_failed,
        },
    )))
}

/// The name of the `Host` field an absolute-form target adds when the
/// client sent none.
const HOST_NAME: &[u8] = b"Host";

/// The parts of a request target the codec serves from.
struct RequestTarget<'a> {
    /// `/path?query`, or `*` for `OPTIONS`.
    origin: &'a str,
    /// The authority of an absolute-form target (`http://authority/path`).
    authority: Option<&'a str>,
    /// Where the query's `?` is in `origin`, if it has one.
    query_at: Option<usize>,
}

/// Splits a target into its origin-form part and, for absolute-form (which
/// proxies send), its authority. Origin-form `/path?query` is taken as is;
/// `*` only for `OPTIONS`. A fragment is never part of a request target
/// (RFC 9112 §3.2), and anything else is a 400.
fn split_target(target: &str, method: Method) -> Result<RequestTarget<'_>, Refusal> {
    let (query_at, fragment) = find_query_and_fragment(target.as_bytes());
    if fragment {
        return Err(Refusal::BadRequest(
            "a request target cannot carry a #fragment",
        ));
    }
    if target.starts_with('/') || (target == "*" && method == Method::Options) {
        return Ok(RequestTarget {
            origin: target,
            authority: None,
            query_at,
        });
    }
    for scheme in ["http://", "https://"] {
        // Compared as bytes: the target may hold UTF-8 (httparse accepts
        // it), and a byte offset into it need not be a char boundary.
        let bytes = target.as_bytes();
        if bytes.len() > scheme.len()
            && bytes[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            let after = &target[scheme.len()..];
            let Some(at) = after
                .find(['/', '?'])
                .filter(|&at| after.as_bytes()[at] == b'/')
            else {
                // `http://host` or `http://host?q`: no path to serve.
                return Err(Refusal::BadRequest("an absolute-form target needs a path"));
            };
            let authority = &after[..at];
            // An http(s) URI must name a host (RFC 9110 §4.2.1), and
            // userinfo (`user@`) is refused by the host grammar.
            if authority.is_empty() || authority.starts_with(':') {
                return Err(Refusal::BadRequest("an absolute-form target needs a host"));
            }
            if !is_uri_host_and_port(authority.as_bytes()) {
                return Err(Refusal::BadRequest(
                    "an absolute-form target's authority must be a host with an optional port",
                ));
            }
            let origin = &after[at..];
            return Ok(RequestTarget {
                origin,
                authority: Some(authority),
                // Proxies' form, rare: searched again rather than mapping
                // the offset found in the whole target.
                query_at: origin.bytes().position(|b| b == b'?'),
            });
        }
    }
    Err(Refusal::BadRequest(
        "the request target must start with '/'",
    ))
}

/// Where the first `?` of `target` is, and whether it holds a `#` (then
/// `(None, true)`: the target is refused, its query does not matter). Both
/// are found in one pass, eight bytes at a time (every request's target is
/// searched for both, and a byte loop or two `memchr`s cost more on the
/// short targets requests carry).
pub(super) fn find_query_and_fragment(target: &[u8]) -> (Option<usize>, bool) {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUESTION: u64 = ONES * b'?' as u64;
    const HASH: u64 = ONES * b'#' as u64;
    // The high bit of each byte of `word` that is zero. A borrow can flag a
    // byte above a zero one too, never below: the lowest flag is exact.
    let zero_bytes = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let mut query_at = None;
    let mut words = target.chunks_exact(8);
    let mut start = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        if zero_bytes(word ^ HASH) != 0 {
            return (None, true);
        }
        if query_at.is_none() {
            let question = zero_bytes(word ^ QUESTION);
            if question != 0 {
                query_at = Some(start + question.trailing_zeros() as usize / 8);
            }
        }
        start += 8;
    }
    for (at, &byte) in words.remainder().iter().enumerate() {
        if byte == b'#' {
            return (None, true);
        }
        if byte == b'?' && query_at.is_none() {
            query_at = Some(start + at);
        }
    }
    (query_at, false)
}

/// What [`HOST_BYTES`] says of a byte a reg-name holds as is (unreserved
/// or sub-delims; `%` starts a percent-encoding and is left to the full
/// grammar).
const REG_NAME: u8 = 1;

/// The class of every byte for the `Host` fast path: one lookup per byte.
static HOST_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        if b.is_ascii_alphanumeric() {
            table[byte] |= REG_NAME;
        }
        byte += 1;
    }
    let others = b"-._~!$&'()*+,;=";
    let mut at = 0;
    while at < others.len() {
        table[others[at] as usize] |= REG_NAME;
        at += 1;
    }
    table
};

/// Whether `value` is `uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986
/// §3.2.2): an IP literal in brackets, or a reg-name (which covers IPv4),
/// then an optional port of digits, which may be empty. An empty value is
/// allowed too: a client sends one when the target has no authority.
///
/// Every request's `Host` is checked, so the common shape (plain reg-name
/// bytes, then `:` and digits) is judged with one lookup per byte in a
/// byte-class table, the port's digits found from the end; a value with a
/// `%`, a `[` or a byte no host may hold goes to the full grammar ([`is_uri_host_and_port_in_full`]), which gives the same
/// answer for every value.
#[inline]
pub(super) fn is_uri_host_and_port(value: &[u8]) -> bool {
    // The port is short: found from the end. Without one, `host` is the
    // whole value (its trailing digits are reg-name bytes too).
    let port_len = value
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let host = match value.len().checked_sub(port_len + 1) {
        Some(colon) if value[colon] == b':' => &value[..colon],
        _ => value,
    };
    // No early exit: a branch-free fold is cheaper on a host this short.
    let classes = host
        .iter()
        .fold(REG_NAME, |classes, &b| classes & HOST_BYTES[b as usize]);
    classes == REG_NAME || is_uri_host_and_port_in_full(value)
}

/// [`is_uri_host_and_port`] by the grammar as written: IP literals and
/// percent-encoded reg-names included.
pub(super) fn is_uri_host_and_port_in_full(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        if !is_ip_literal_inside(&value[1..close]) {
            return false;
        }
        match &value[close + 1..] {
            [] => return true,
            [b':', port @ ..] => (&value[..0], port),
            _ => return false,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon + 1..]),
            None => (value, &value[..0]),
        }
    };
    is_reg_name(host) && port.iter().all(u8::is_ascii_digit)
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`.
fn is_reg_name(host: &[u8]) -> bool {
    let mut at = 0;
    while at < host.len() {
        match host[at] {
            b'%' => {
                let hex = |i: usize| host.get(i).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(at + 1) && hex(at + 2)) {
                    return false;
                }
                at += 3;
            }
            b if HOST_BYTES[b as usize] & REG_NAME != 0 => at += 1,
            _ => return false,
        }
    }
    true
}

/// What may stand between the brackets of an `IP-literal`: an IPv6
/// address, or `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn is_ip_literal_inside(inside: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = inside {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&b));
    }
    std::str::from_utf8(inside).is_ok_and(|text| text.parse::<std::net::Ipv6Addr>().is_ok())
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

pub(super) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Maps an httparse error to the refusal the client gets. `head` holds
/// whole lines only. The refusal must be the one a client sending the same
/// bytes one at a time gets: that client's head is parsed at each line
/// feed, and checked for a bare CR and a long target at every byte, so a
/// violation before the end of the line where httparse fails wins.
fn refusal_for(error: httparse::Error, head: &[u8], field_room: usize, limits: &Limits) -> Refusal {
    // The failing line is found by parsing shorter prefixes (errors persist
    // as a prefix grows): a few parses, on the refusal path only.
    let line_ends: Vec<usize> = (0..head.len()).filter(|&i| head[i] == b'\n').collect();
    let failing = line_ends.partition_point(|&end| {
        let mut fields = vec![httparse::EMPTY_HEADER; field_room];
        httparse::Request::new(&mut fields)
            .parse(&head[..=end])
            .is_ok()
    });
    let upto = line_ends.get(failing).map_or(head.len(), |&end| end + 1);
    if let Err(earlier) = check_incomplete_head(&head[..upto], 0, limits) {
        return earlier;
    }
    match error {
        httparse::Error::TooManyHeaders => Refusal::HeadersTooLarge,
        httparse::Error::Version => {
            // A well-formed `HTTP/x.y` we do not speak is a 505; garbage is a 400.
            let start = head.iter().position(|&b| b != b'\r' && b != b'\n');
            let line = start.map_or(&b""[..], |start| &head[start..]);
            let line = line
                .split(|&b| b == b'\n')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
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
        // The method token, or the target had a forbidden byte.
        httparse::Error::Token => Refusal::BadRequest("malformed request line"),
        httparse::Error::HeaderName => Refusal::BadRequest("malformed header field name"),
        httparse::Error::HeaderValue => Refusal::BadRequest("malformed header field value"),
        httparse::Error::NewLine => {
            Refusal::BadRequest("malformed line ending in the request head")
        }
        httparse::Error::Status => Refusal::BadRequest("malformed request line"),
    }
}
