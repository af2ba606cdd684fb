//! A black-box HTTP/1.1 conformance suite: raw bytes over loopback sockets
//! against the real `examples/api`, with its default limits. It covers
//! keep-alive, pipelining, `Connection: close`, HTTP/1.0, `Expect:
//! 100-continue`, chunked request bodies (extensions, trailers, splits),
//! HEAD, body limits, the head and body deadlines, idle connections, and the
//! RFC 9112 request-smuggling and malformed-input catalogue with the
//! rules of `docs/server.md` (its "Framing" section). Every refused input
//! must get its status, the JSON error body, `Connection: close`, a closed
//! connection and nothing after it, and the server must then answer a
//! normal request. The tables report every failing case at once.

mod common;

use std::time::{Duration, Instant};

use common::{error_shape_problem, shown, Api, Conn, CLOSE_TIMEOUT};

/// Bytes the server must refuse with `status`, closing the connection.
struct Bad {
    name: &'static str,
    bytes: Vec<u8>,
    status: u16,
}

fn bad(name: &'static str, bytes: impl AsRef<[u8]>, status: u16) -> Bad {
    Bad {
        name,
        bytes: bytes.as_ref().to_vec(),
        status,
    }
}

/// A request with a chunked body (`body` is the raw chunked framing) to
/// `POST /echo`.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut bytes =
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// A `POST /echo` whose head carries `fields` (CRLF-terminated lines) and
/// then `body`.
fn post(fields: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("POST /echo HTTP/1.1\r\nHost: t\r\n{fields}\r\n").into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A `GET /plaintext` whose head carries `fields` (CRLF-terminated lines).
fn get_with(fields: &str) -> Vec<u8> {
    format!("GET /plaintext HTTP/1.1\r\nHost: t\r\n{fields}\r\n").into_bytes()
}

fn request_line_cases() -> Vec<Bad> {
    vec![
        bad(
            "missing Host on HTTP/1.1",
            "GET /plaintext HTTP/1.1\r\n\r\n",
            400,
        ),
        bad(
            "two Host fields",
            "GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            400,
        ),
        bad(
            "two identical Host fields",
            "GET /plaintext HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "two Hosts on HTTP/1.0",
            "GET /plaintext HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
            400,
        ),
        bad(
            "HTTP/2.0",
            "GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n",
            505,
        ),
        bad(
            "HTTP/3.0",
            "GET /plaintext HTTP/3.0\r\nHost: t\r\n\r\n",
            505,
        ),
        bad(
            "HTTP/1.2",
            "GET /plaintext HTTP/1.2\r\nHost: t\r\n\r\n",
            505,
        ),
        bad(
            "HTTP/0.9 spelled out",
            "GET /plaintext HTTP/0.9\r\nHost: t\r\n\r\n",
            505,
        ),
        bad(
            "HTTP/2 connection preface",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            505,
        ),
        bad(
            "version without minor",
            "GET /plaintext HTTP/1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "lower-case version",
            "GET /plaintext http/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "garbage version",
            "GET /plaintext HTTQ/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "two-digit major",
            "GET /plaintext HTTP/11.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "no version (HTTP/0.9 form)",
            "GET /plaintext\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "space after the version",
            "GET /plaintext HTTP/1.1 \r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "two spaces after the method",
            "GET  /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "tab as a separator",
            "GET\t/plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "leading space",
            " GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "unknown method",
            "BREW /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            501,
        ),
        bad(
            "lower-case get is unknown",
            "get /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            501,
        ),
        bad(
            "mixed-case Get is unknown",
            "Get /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            501,
        ),
        bad(
            "PROPFIND",
            "PROPFIND /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            501,
        ),
        bad(
            "a method with a bad byte",
            "GE(T /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "target without a slash",
            "GET plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "asterisk target on GET",
            "GET * HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "authority form",
            "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n",
            400,
        ),
        bad(
            "absolute form without a path",
            "GET http://t HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "NUL in the target",
            "GET /plain\0text HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "DEL in the target",
            "GET /plain\x7ftext HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "a control byte in the target",
            "GET /plain\x01text HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "bare CR in the request line",
            "GET /plaintext\r HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "bare CR ending the request line",
            "GET /plaintext HTTP/1.1\rHost: t\r\n\r\n",
            400,
        ),
        bad(
            "TLS ClientHello",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            400,
        ),
        bad("binary garbage", b"\xff\xfe\xfd\r\n\r\n", 400),
        bad("a method and nothing else", "GET\r\n\r\n", 400),
    ]
}

fn header_cases() -> Vec<Bad> {
    vec![
        bad(
            "space before the colon",
            "GET /plaintext HTTP/1.1\r\nHost : t\r\n\r\n",
            400,
        ),
        bad(
            "tab before the colon",
            "GET /plaintext HTTP/1.1\r\nHost\t: t\r\n\r\n",
            400,
        ),
        bad(
            "space before the colon of another field",
            get_with("X-A : b\r\n"),
            400,
        ),
        bad("obs-fold", get_with("X-A: b\r\n c\r\n"), 400),
        bad("obs-fold with a tab", get_with("X-A: b\r\n\tc\r\n"), 400),
        bad(
            "obs-fold continuing Host",
            "GET /plaintext HTTP/1.1\r\nHost: t\r\n  u\r\n\r\n",
            400,
        ),
        bad(
            "a field line starting with whitespace",
            "GET /plaintext HTTP/1.1\r\n Host: t\r\n\r\n",
            400,
        ),
        bad("a line without a colon", get_with("X-A b\r\n"), 400),
        bad("an empty field name", get_with(": b\r\n"), 400),
        bad("a bad byte in a field name", get_with("X(A): b\r\n"), 400),
        bad("a space inside a field name", get_with("X A: b\r\n"), 400),
        bad("NUL in a field value", get_with("X-A: b\0c\r\n"), 400),
        bad("NUL in a field name", get_with("X\0A: b\r\n"), 400),
        bad("DEL in a field value", get_with("X-A: b\x7fc\r\n"), 400),
        bad(
            "a control byte in a field value",
            get_with("X-A: b\x01c\r\n"),
            400,
        ),
        bad("bare CR inside a value", get_with("X-A: b\rc\r\n"), 400),
        bad(
            "bare CR ending a field line",
            "GET /plaintext HTTP/1.1\r\nHost: t\r\r\n\r\n",
            400,
        ),
        bad(
            "bare CR as the final line",
            "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\r\n",
            400,
        ),
        bad(
            "Expect other than 100-continue",
            get_with("Expect: 200-ok\r\n"),
            417,
        ),
    ]
}

fn limit_cases() -> Vec<Bad> {
    let target = |len: usize| format!("/{}", "a".repeat(len - 1));
    let many_fields: String = (0..100).map(|i| format!("X-F{i}: v\r\n")).collect();
    vec![
        bad(
            "a 9,000-byte target",
            format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", target(9000)),
            414,
        ),
        bad(
            "an 8,193-byte target",
            format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", target(8193)),
            414,
        ),
        bad(
            "a 20 KiB target is a 414, not a 431",
            format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", target(20 << 10)),
            414,
        ),
        bad(
            "a 20 KiB target with no line end yet",
            format!("GET {}", target(20 << 10)),
            414,
        ),
        bad(
            "a 17,000-byte field",
            get_with(&format!("X-A: {}\r\n", "a".repeat(17_000))),
            431,
        ),
        bad(
            "many small fields over 16 KiB",
            get_with(
                &(0..90)
                    .map(|i| format!("X-{i}: {}\r\n", "b".repeat(200)))
                    .collect::<String>(),
            ),
            431,
        ),
        bad("101 fields", get_with(&many_fields), 431),
        bad(
            "a head over 16 KiB with no end yet",
            format!("GET /plaintext HTTP/1.1\r\nX-A: {}", "a".repeat(17_000)),
            431,
        ),
        bad(
            "Content-Length over the 2 MiB limit",
            post("Content-Length: 2097153\r\n", b""),
            413,
        ),
        bad(
            "Content-Length of 99,999,999",
            post("Content-Length: 99999999\r\n", b""),
            413,
        ),
        bad(
            "Content-Length of u64::MAX",
            post("Content-Length: 18446744073709551615\r\n", b""),
            413,
        ),
        bad(
            "over the limit with Expect: 100-continue",
            post("Content-Length: 3000000\r\nExpect: 100-continue\r\n", b""),
            413,
        ),
        bad("a chunk over the limit", chunked(b"200001\r\n"), 413),
        bad(
            "a chunk of u64::MAX bytes",
            chunked(b"ffffffffffffffff\r\n"),
            413,
        ),
    ]
}

fn content_length_cases() -> Vec<Bad> {
    vec![
        bad(
            "two different Content-Lengths",
            post("Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"),
            400,
        ),
        bad(
            "two equal Content-Lengths",
            post("Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"),
            400,
        ),
        bad(
            "a Content-Length list",
            post("Content-Length: 3, 3\r\n", b"abc"),
            400,
        ),
        bad(
            "a Content-Length list of different values",
            post("Content-Length: 3, 4\r\n", b"abcd"),
            400,
        ),
        bad(
            "a negative Content-Length",
            post("Content-Length: -1\r\n", b"a"),
            400,
        ),
        bad(
            "a signed Content-Length",
            post("Content-Length: +3\r\n", b"abc"),
            400,
        ),
        bad(
            "a hexadecimal Content-Length",
            post("Content-Length: 0x3\r\n", b"abc"),
            400,
        ),
        bad(
            "an empty Content-Length",
            post("Content-Length:\r\n", b""),
            400,
        ),
        bad(
            "a Content-Length with a space inside",
            post("Content-Length: 1 2\r\n", b"abcdefghijkl"),
            400,
        ),
        bad(
            "a Content-Length with an underscore",
            post("Content-Length: 1_0\r\n", b"abcdefghij"),
            400,
        ),
        bad(
            "a fractional Content-Length",
            post("Content-Length: 3.0\r\n", b"abc"),
            400,
        ),
        bad(
            "a Content-Length that overflows u64",
            post("Content-Length: 99999999999999999999999\r\n", b""),
            400,
        ),
        bad(
            "Content-Length then Transfer-Encoding",
            post(
                "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n",
            ),
            400,
        ),
        bad(
            "Transfer-Encoding then Content-Length",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                b"0\r\n\r\n",
            ),
            400,
        ),
        bad(
            "CL.TE smuggling a second request",
            post(
                "Content-Length: 44\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\nGET /panic HTTP/1.1\r\nHost: t\r\n\r\n",
            ),
            400,
        ),
        bad(
            "a Content-Length of zero beside chunked",
            post(
                "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n",
            ),
            400,
        ),
    ]
}

fn transfer_encoding_cases() -> Vec<Bad> {
    let te = |value: &str, body: &[u8]| post(&format!("Transfer-Encoding: {value}\r\n"), body);
    let end = b"0\r\n\r\n";
    vec![
        bad("Transfer-Encoding: xchunked", te("xchunked", end), 400),
        bad("Transfer-Encoding: chunkedx", te("chunkedx", end), 400),
        bad("Transfer-Encoding: chunked , x", te("chunked , x", end), 400),
        bad("Transfer-Encoding: identity", te("identity", b""), 400),
        bad("Transfer-Encoding: gzip", te("gzip", end), 400),
        bad("Transfer-Encoding: chunked, gzip", te("chunked, gzip", end), 400),
        bad("Transfer-Encoding: gzip, chunked", te("gzip, chunked", end), 501),
        bad("Transfer-Encoding: deflate, chunked", te("deflate, chunked", end), 501),
        bad("Transfer-Encoding: identity, chunked", te("identity, chunked", end), 501),
        bad("Transfer-Encoding: chunked, chunked", te("chunked, chunked", end), 400),
        bad("Transfer-Encoding: chunked twice as fields", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", end), 400),
        bad("chunked, then gzip in a second field", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", end), 400),
        bad("gzip, then chunked in a second field", post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", end), 501),
        bad("an empty Transfer-Encoding", te("", end), 400),
        bad("an empty Transfer-Encoding before chunked", post("Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n", end), 400),
        bad("a quoted \"chunked\"", te("\"chunked\"", end), 400),
        bad("chunked with a parameter", te("chunked;q=1", end), 400),
        bad("chunked after a space-separated coding", te("x chunked", end), 400),
        bad("a vertical tab after chunked", te("chunked\x0b", end), 400),
        bad("a form feed before chunked", te("\x0cchunked", end), 400),
        bad("Transfer-Encoding with a space before the colon", post("Transfer-Encoding : chunked\r\n", end), 400),
        bad("Transfer-Encoding folded onto the next line", post("Transfer-Encoding:\r\n chunked\r\n", end), 400),
        bad("Transfer-Encoding after a folded line", post("X-A: b\r\n\tTransfer-Encoding: chunked\r\n", end), 400),
        bad("Transfer-Encoding on HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        bad(
            "Transfer-Encoding beside Content-Length on HTTP/1.0",
            "POST /echo HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        bad("Transfer-Encoding: identity on HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: identity\r\n\r\n", 400),
        bad("Transfer-Encoding on a GET", "GET /plaintext HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ]
}

fn chunk_cases() -> Vec<Bad> {
    vec![
        bad(
            "a chunk size that is not hex",
            chunked(b"g\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad("an empty chunk size", chunked(b"\r\nabc\r\n0\r\n\r\n"), 400),
        bad(
            "a chunk size with 0x",
            chunked(b"0x3\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a negative chunk size",
            chunked(b"-3\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a signed chunk size",
            chunked(b"+3\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a chunk size that overflows u64",
            chunked(b"10000000000000000\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a very long overflowing chunk size",
            chunked(format!("{}\r\n", "f".repeat(64)).as_bytes()),
            400,
        ),
        bad(
            "a space inside a chunk size",
            chunked(b"1 0\r\n0123456789abcdef\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "whitespace after a chunk size",
            chunked(b"3 \t\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a chunk extension with no name",
            chunked(b"3;\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a control byte in a chunk extension",
            chunked(b"3;a=\x01\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a trailer line with no colon",
            chunked(b"3\r\nabc\r\n0\r\nX-T\r\n\r\n"),
            400,
        ),
        bad(
            "whitespace before a chunk size",
            chunked(b" 3\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a chunk-size line ending in bare LF",
            chunked(b"3\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "a chunk-size line ending in bare CR",
            chunked(b"3\rabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "an extension line ending in bare LF",
            chunked(b"3;a=b\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "chunk data ending in bare LF",
            chunked(b"3\r\nabc\n0\r\n\r\n"),
            400,
        ),
        bad(
            "chunk data ending in bare CR",
            chunked(b"3\r\nabc\r0\r\n\r\n"),
            400,
        ),
        bad(
            "chunk data longer than its size",
            chunked(b"3\r\nabcd\r\n0\r\n\r\n"),
            400,
        ),
        bad(
            "chunk data shorter than its size",
            chunked(b"5\r\nabc\r\n0\r\n\r\n0\r\n\r\n"),
            400,
        ),
        bad("the last chunk in bare LF", chunked(b"0\n\r\n"), 400),
        bad("the final line in bare LF", chunked(b"0\r\n\n"), 400),
        bad(
            "a trailer ending in bare LF",
            chunked(b"0\r\nX-T: 1\n\r\n"),
            400,
        ),
        bad(
            "a trailer ending in bare CR",
            chunked(b"0\r\nX-T: 1\r\r\n"),
            400,
        ),
        bad(
            "an obs-folded trailer",
            chunked(b"0\r\nX-T: 1\r\n folded\r\n\r\n"),
            400,
        ),
        bad(
            "a trailer starting with whitespace",
            chunked(b"0\r\n X-T: 1\r\n\r\n"),
            400,
        ),
        bad(
            "NUL in a chunk extension",
            chunked(b"3;a=\0\r\nabc\r\n0\r\n\r\n"),
            400,
        ),
        bad("NUL in a trailer", chunked(b"0\r\nX-T: \0\r\n\r\n"), 400),
        bad("NUL as a chunk size", chunked(b"\0\r\n\r\n"), 400),
        bad(
            "a chunk extension over 4 KiB",
            chunked(format!("3;x={}\r\nabc\r\n0\r\n\r\n", "e".repeat(5000)).as_bytes()),
            400,
        ),
        bad(
            "a trailer section over 4 KiB",
            chunked(format!("0\r\nX-T: {}\r\n\r\n", "t".repeat(5000)).as_bytes()),
            400,
        ),
        bad(
            "chunked smuggling a request past a bad size",
            chunked(b"3\r\nabc\r\nzz\r\n\r\nGET /panic HTTP/1.1\r\nHost: t\r\n\r\n"),
            400,
        ),
    ]
}

/// The whole refusal catalogue, every case a fresh connection. Each case
/// checks the status, the JSON error body, that the connection closed with
/// nothing after the response, and that the server then answers normally.
fn run_refusals(cases: Vec<Bad>) {
    let api = Api::start();
    let count = cases.len();
    let mut failures = Vec::new();
    for case in cases {
        let exchange = api.exchange(&case.bytes);
        if let Some(problem) = exchange.refused_with(case.status) {
            failures.push(format!("[{}] {problem}", case.name));
        } else if let Ok(response) = &exchange.response {
            if let Some(problem) = error_shape_problem(
                case.status,
                response.header("content-type"),
                &response.body,
                None,
            ) {
                failures.push(format!(
                    "[{}] {problem}\n{}",
                    case.name, exchange.transcript
                ));
            } else if !response.says_close() {
                // RFC 9112 9.6: the client learns not to reuse the connection.
                failures.push(format!(
                    "[{}] the refusal does not say Connection: close\n{}",
                    case.name, exchange.transcript
                ));
            }
        }
        // The server answers a normal request after each bad one.
        let mut next = api.connect();
        let alive = next
            .send(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            .and_then(|()| next.read_response());
        if !matches!(&alive, Ok(r) if r.status == 200 && r.body == b"Hello, World!") {
            failures.push(format!(
                "[{}] the next normal request failed\n{}",
                case.name,
                next.transcript()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn malformed_request_lines_are_refused_and_closed() {
    run_refusals(request_line_cases());
}

#[test]
fn malformed_header_fields_are_refused_and_closed() {
    run_refusals(header_cases());
}

#[test]
fn requests_over_the_limits_are_refused_and_closed() {
    run_refusals(limit_cases());
}

#[test]
fn ambiguous_content_length_is_refused_and_closed() {
    run_refusals(content_length_cases());
}

#[test]
fn obfuscated_transfer_encoding_is_refused_and_closed() {
    run_refusals(transfer_encoding_cases());
}

#[test]
fn malformed_chunked_bodies_are_refused_and_closed() {
    run_refusals(chunk_cases());
}

/// Bytes the server must accept: the request is answered with `status` and
/// `body`, and the connection carries a next request afterwards (which
/// also proves the body was framed exactly).
struct Good {
    name: &'static str,
    bytes: Vec<u8>,
    status: u16,
    body: &'static [u8],
}

fn good(name: &'static str, bytes: impl AsRef<[u8]>, status: u16, body: &'static [u8]) -> Good {
    Good {
        name,
        bytes: bytes.as_ref().to_vec(),
        status,
        body,
    }
}

#[test]
fn lenient_but_valid_inputs_are_served_and_keep_the_connection() {
    let many_fields: String = (0..99).map(|i| format!("X-F{i}: v\r\n")).collect();
    let cases = vec![
        good("plain GET", "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 200, b"Hello, World!"),
        good("bare LF line ends (RFC 9112 2.2)", "GET /plaintext HTTP/1.1\nHost: t\n\n", 200, b"Hello, World!"),
        good("mixed LF and CRLF", "GET /plaintext HTTP/1.1\nHost: t\r\nX-A: b\n\r\n", 200, b"Hello, World!"),
        good("empty lines before the request", "\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 200, b"Hello, World!"),
        good("absolute-form target", "GET http://t/plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 200, b"Hello, World!"),
        good("absolute-form with a query", "GET http://t/files/x?y=1 HTTP/1.1\r\nHost: t\r\n\r\n", 200, b"x"),
        good("an empty Host", "GET /plaintext HTTP/1.1\r\nHost:\r\n\r\n", 200, b"Hello, World!"),
        good("lower-case field names", "GET /plaintext HTTP/1.1\r\nhost: t\r\n\r\n", 200, b"Hello, World!"),
        good("no space after the colon", "GET /plaintext HTTP/1.1\r\nHost:t\r\n\r\n", 200, b"Hello, World!"),
        good("whitespace around a value", "GET /plaintext HTTP/1.1\r\nHost: \t t \t\r\n\r\n", 200, b"Hello, World!"),
        good("obs-text in a value", b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-A: caf\xc3\xa9\xff\r\n\r\n", 200, b"Hello, World!"),
        good("100 fields with Host", get_with(&many_fields), 200, b"Hello, World!"),
        good("an 8,192-byte target is within the limit", format!("GET /files/{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(8192 - 7)), 200, b""),
        good("Content-Length with leading zeros", post("Content-Length: 003\r\n", b"abc"), 200, b"abc"),
        good("Content-Length with whitespace", post("Content-Length:  3 \t\r\n", b"abc"), 200, b"abc"),
        good("Content-Length: 0", post("Content-Length: 0\r\n", b""), 200, b""),
        good("Transfer-Encoding tab-prefixed", post("Transfer-Encoding:\tchunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"), 200, b"abc"),
        good("Transfer-Encoding: CHUNKED", post("Transfer-Encoding: CHUNKED\r\n", b"3\r\nabc\r\n0\r\n\r\n"), 200, b"abc"),
        good("Transfer-Encoding with empty list items", post("Transfer-Encoding: , chunked ,\r\n", b"3\r\nabc\r\n0\r\n\r\n"), 200, b"abc"),
        good("transfer-encoding in lower case", post("transfer-encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"), 200, b"abc"),
        good("upper-case hex chunk sizes", chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), 200, b"0123456789"),
        good("chunk sizes with leading zeros", chunked(b"0003\r\nabc\r\n000\r\n\r\n"), 200, b"abc"),
        good("BWS before a chunk extension", chunked(b"3 \t;a = b\r\nabc\r\n0\r\n\r\n"), 200, b"abc"),
        good("chunk extensions", chunked(b"3;a=b;c\r\nabc\r\n2;q=\"x;y\"\r\nde\r\n0;last\r\n\r\n"), 200, b"abcde"),
        good("trailers", chunked(b"3\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"), 200, b"abc"),
        good("an empty chunked body", chunked(b"0\r\n\r\n"), 200, b""),
        good("Expect: 100-continue with the body already sent", post("Content-Length: 3\r\nExpect: 100-continue\r\n", b"abc"), 200, b"abc"),
        good("Expect: 100-continue in other case", post("Content-Length: 3\r\nExpect: 100-Continue\r\n", b"abc"), 200, b"abc"),
        good("HTTP/1.0 keep-alive with a body", "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi", 200, b"hi"),
        good("HTTP/1.0 keep-alive in other case", "GET /plaintext HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 200, b"Hello, World!"),
        good("Connection with other tokens", "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Upgrade\r\n\r\n", 200, b"Hello, World!"),
        good("a 404 keeps the connection", "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404, b""),
        good("a 405 keeps the connection", "DELETE /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 405, b""),
        good("a 400 from a route keeps the connection", "GET /users/x HTTP/1.1\r\nHost: t\r\n\r\n", 400, b""),
        good(
            "a 415 keeps the connection and skips the body",
            "POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc",
            415,
            b"",
        ),
        good("OPTIONS * asks about the server", "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 204, b""),
        good("a 500 from a panic", "GET /panic HTTP/1.1\r\nHost: t\r\n\r\n", 500, b""),
        good("TRACE is known: a 405, not a 501", "TRACE /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 405, b""),
    ];
    let api = Api::start();
    let count = cases.len();
    let mut failures = Vec::new();
    for case in cases {
        let mut conn = api.connect();
        let outcome = conn.send(&case.bytes).and_then(|()| {
            let first = conn.read_response()?;
            conn.send(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")?;
            let next = conn.read_response()?;
            Ok((first, next))
        });
        let problem = match outcome {
            Err(e) => Some(e),
            Ok((first, _)) if first.status != case.status => Some(format!(
                "status {} instead of {}",
                first.status, case.status
            )),
            Ok((first, _)) if !case.body.is_empty() && first.body != case.body => Some(format!(
                "body {:?} instead of {:?}",
                shown(&first.body),
                shown(case.body)
            )),
            Ok((first, _)) if first.says_close() => {
                Some("the response says Connection: close".to_owned())
            }
            Ok((_, next)) if next.status != 200 || next.body != b"Hello, World!" => {
                Some("the next request on the connection was not answered normally".to_owned())
            }
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            failures.push(format!("[{}] {problem}\n{}", case.name, conn.transcript()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

const PLAIN: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

/// Asserts `conn` gets `GET /plaintext` answered normally.
fn assert_serves(conn: &mut Conn, after: &str) {
    conn.send_ok(PLAIN);
    let r = conn.response();
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"Hello, World!"[..]),
        "after {after}\n{}",
        conn.transcript()
    );
}

#[test]
fn keep_alive_carries_many_requests_on_one_connection() {
    let api = Api::start();
    let mut conn = api.connect();
    let requests: [(&[u8], &[u8]); 5] = [
        (PLAIN, b"Hello, World!"),
        (b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n", br#"{"message":"Hello, World!"}"#),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping", b"ping"),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", b"ab"),
        (b"GET /stream?n=1 HTTP/1.1\r\nHost: t\r\n\r\n", b"chunk 0\n"),
    ];
    for i in 0..100 {
        let (request, body) = requests[i % requests.len()];
        conn.send_ok(request);
        let r = conn.response();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, body),
            "request {i}\n{}",
            conn.transcript()
        );
        assert!(!r.says_close(), "request {i}\n{}", conn.transcript());
    }
    // Idle for a while between requests: still open, still served.
    conn.assert_open(Duration::from_secs(2), "100 requests and 2 s idle");
    assert_serves(&mut conn, "2 s idle");
}

/// One pipelined exchange: the requests in one write, then each response
/// checked in order: (is HEAD, status, body, or `None` not to check it).
type Expected<'a> = (bool, u16, Option<&'a [u8]>);

fn pipeline(conn: &mut Conn, requests: &[&[u8]], expected: &[Expected<'_>]) {
    conn.send_ok(&requests.concat());
    for (i, (head, status, body)) in expected.iter().enumerate() {
        let r = if *head {
            conn.head_response()
        } else {
            conn.response()
        };
        assert_eq!(r.status, *status, "response {i}\n{}", conn.transcript());
        if let Some(body) = body {
            assert_eq!(r.body, *body, "response {i}\n{}", conn.transcript());
        }
        assert!(
            r.header("date").is_some(),
            "response {i} has no Date\n{}",
            conn.transcript()
        );
        let framings =
            r.header_all("content-length").len() + r.header_all("transfer-encoding").len();
        assert_eq!(
            framings,
            1,
            "response {i} needs exactly one framing header\n{}",
            conn.transcript()
        );
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let api = Api::start();
    let mut conn = api.connect();
    pipeline(
        &mut conn,
        &[
            PLAIN,
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst",
            b"HEAD /json HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6;x=y\r\nsecond\r\n0\r\nT: v\r\n\r\n",
            b"GET /slow?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
            b"HEAD /events?n=2 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"HEAD /stream?n=2 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /users/3 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"name\":\"p\"}",
            b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /files/next HTTP/1.1\r\nHost: t\r\n\r\n",
            b"DELETE /json HTTP/1.1\r\nHost: t\r\n\r\n",
            // A stream last, with Connection: close.
            b"GET /stream?n=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            // Never answered: the previous request closed the connection.
            PLAIN,
        ],
        &[
            (false, 200, Some(b"Hello, World!")),
            (false, 200, Some(b"first")),
            (true, 200, None),
            (false, 200, Some(b"second")),
            (false, 200, Some(b"slept 200")),
            (false, 404, Some(br#"{"error":"Not Found","message":"no route matches /nope"}"#)),
            (true, 200, None),
            (true, 200, None),
            (false, 200, Some(br#"{"id":3,"name":"user3"}"#)),
            (false, 201, Some(br#"{"id":1,"name":"p"}"#)),
            (false, 500, None),
            (false, 200, Some(b"next")),
            (false, 405, None),
            (false, 200, Some(b"chunk 0\nchunk 1\n")),
        ],
    );
    conn.assert_closed("a pipelined Connection: close");
}

/// Regression: a request pipelined behind a streamed response was not
/// answered until more bytes arrived on the connection (after the stream's
/// closing chunk the connection waited to read, while the pipelined request
/// already sat in its buffer).
#[test]
fn requests_pipelined_behind_a_stream_are_answered() {
    let api = Api::start();
    for stream in ["/stream?n=2", "/events?n=1", "/stream?n=0"] {
        let mut conn = api.connect();
        let first = format!("GET {stream} HTTP/1.1\r\nHost: t\r\n\r\n");
        pipeline(
            &mut conn,
            &[first.as_bytes(), PLAIN],
            &[(false, 200, None), (false, 200, Some(b"Hello, World!"))],
        );
    }
}

/// Regressions: malformed heads that got the wrong answer.
/// - A space inside the target (`GET /plain text HTTP/1.1`) was a 505, as
///   if `text` were the version: an invalid request line is a 400 (RFC
///   9112 §3).
/// - Bare CRs used as line ends with no LF at all (`GET / HTTP/1.1\rHost:
///   t\r\r`) waited for the 10 s head deadline and got a 408; docs/server.md
///   says a bare CR anywhere in the head is a 400, which is known as soon
///   as a CR is followed by anything but LF.
#[test]
fn malformed_heads_that_once_got_the_wrong_status() {
    run_refusals(vec![
        bad(
            "a space inside the target",
            "GET /plain text HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "a space inside an absolute target",
            "GET http://t/a b HTTP/1.1\r\nHost: t\r\n\r\n",
            400,
        ),
        bad(
            "bare CRs as line ends",
            "GET /plaintext HTTP/1.1\rHost: t\r\r",
            400,
        ),
    ]);
}

#[test]
fn connection_close_closes_after_the_response() {
    let api = Api::start();
    for request in [
        &b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"[..],
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: Close\r\n\r\n",
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, close\r\n\r\n",
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: te\r\nConnection: close\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 13\r\n\r\nHello, World!",
        b"GET /plaintext HTTP/1.0\r\n\r\n",
        b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    ] {
        let mut conn = api.connect();
        // A second request in the same write must go unanswered.
        let mut bytes = request.to_vec();
        bytes.extend_from_slice(PLAIN);
        conn.send_ok(&bytes);
        let r = conn.response();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"Hello, World!"[..]), "{}", conn.transcript());
        assert!(r.says_close(), "the response should say Connection: close\n{}", conn.transcript());
        conn.assert_closed("Connection: close");
    }
    // Streams too: the body ends (chunked on 1.1), then the connection closes.
    let mut conn = api.connect();
    conn.send_ok(b"GET /stream?n=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = conn.response();
    assert_eq!(r.body, b"chunk 0\nchunk 1\n", "{}", conn.transcript());
    conn.assert_closed("a stream with Connection: close");
}

#[test]
fn http_1_0_closes_unless_asked_to_keep_alive() {
    let api = Api::start();
    let mut conn = api.connect();
    conn.send_ok(b"GET /json HTTP/1.0\r\n\r\n");
    let r = conn.response();
    assert_eq!(r.status, 200, "{}", conn.transcript());
    assert_eq!(
        r.header("content-length"),
        Some("27"),
        "{}",
        conn.transcript()
    );
    conn.assert_closed("an HTTP/1.0 request without keep-alive");

    let mut conn = api.connect();
    for i in 0..5 {
        conn.send_ok(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = conn.response();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"Hello, World!"[..]),
            "request {i}\n{}",
            conn.transcript()
        );
        let connection = r
            .header("connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert_eq!(
            connection,
            "keep-alive",
            "request {i}\n{}",
            conn.transcript()
        );
    }
    conn.send_ok(b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(conn.response().body, b"abc", "{}", conn.transcript());
    conn.send_ok(b"HEAD /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        conn.head_response().header("content-length"),
        Some("13"),
        "{}",
        conn.transcript()
    );
    // Without keep-alive the next one ends the connection.
    conn.send_ok(b"GET /plaintext HTTP/1.0\r\n\r\n");
    assert_eq!(conn.response().status, 200);
    conn.assert_closed("an HTTP/1.0 request without keep-alive");
}

#[test]
fn expect_100_continue_gets_the_interim_response_before_the_body() {
    let api = Api::start();
    let mut conn = api.connect();
    for (head, body, echoed) in [
        (&b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"[..], &b"hello"[..], &b"hello"[..]),
        (
            b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n",
            b"abc",
        ),
        (
            b"POST /users HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n",
            br#"{"name":"e"}"#,
            br#"{"id":1,"name":"e"}"#,
        ),
    ] {
        conn.send_ok(head);
        // Nothing of the body is sent until the 100 arrives.
        let interim = conn.response();
        assert_eq!(interim.status, 100, "{}", conn.transcript());
        conn.send_ok(body);
        let r = conn.response();
        assert_eq!((r.status / 100, r.body.as_slice()), (2, echoed), "{}", conn.transcript());
    }
    assert_serves(&mut conn, "three 100-continue exchanges");

    // HTTP/1.0 clients do not get a 100 (RFC 9110 10.1.1): the server waits
    // for the body.
    let mut conn = api.connect();
    conn.send_ok(b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    let early = conn.peek_raw(1, Duration::from_millis(700));
    assert!(
        early.is_empty(),
        "an HTTP/1.0 request got {:?} before its body",
        shown(&early)
    );
    conn.send_ok(b"ok");
    let r = conn.response();
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"ok"[..]),
        "{}",
        conn.transcript()
    );

    // Over the limit: 413 at once, no 100, and closed.
    let mut conn = api.connect();
    conn.send_ok(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 104857600\r\n\r\n");
    let r = conn.response();
    assert_eq!(r.status, 413, "{}", conn.transcript());
    conn.assert_closed("a 413 for an expected body");
}

#[test]
fn bodies_over_the_limit_are_refused_before_they_are_sent() {
    let api = Api::start();
    // The 413 comes from the head alone: nothing of the body is written.
    let mut conn = api.connect();
    conn.send_ok(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3145728\r\n\r\n");
    let r = conn.response();
    assert_eq!(r.status, 413, "{}", conn.transcript());
    assert!(
        error_shape_problem(413, r.header("content-type"), &r.body, None).is_none(),
        "{}",
        conn.transcript()
    );
    conn.assert_closed("a 413");

    // Exactly at the limit is fine.
    let body: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i % 241) as u8).collect();
    let mut conn = api.connect();
    let mut bytes = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    conn.send_ok(&bytes);
    let r = conn.response();
    assert_eq!(r.status, 200, "{}", conn.transcript());
    assert!(
        r.body == body,
        "{} bytes echoed for {}",
        r.body.len(),
        body.len()
    );
    assert_serves(&mut conn, "a 2 MiB body");

    // Chunked: counted as it arrives, refused when the total crosses 2 MiB.
    let mut conn = api.connect();
    conn.send_ok(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = {
        let mut c = b"10000\r\n".to_vec();
        c.extend(std::iter::repeat_n(b'c', 0x10000));
        c.extend_from_slice(b"\r\n");
        c
    };
    let mut sent = 0;
    for _ in 0..48 {
        if conn.send(&chunk).is_err() {
            break;
        }
        sent += 1;
    }
    let r = conn.response();
    assert_eq!(
        r.status,
        413,
        "after {sent} chunks of 64 KiB\n{}",
        conn.transcript()
    );
    conn.assert_closed("a chunked 413");
    api.assert_alive("the body limits");
}

#[test]
fn chunked_bodies_survive_any_split() {
    let api = Api::start();
    let request: &[u8] = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=\"v\"\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n";
    let expected: &[u8] = b"Wikipedia in\r\n\r\nchunks.";
    let mut failures = Vec::new();
    // Two writes, cut at every byte (the head and the body both).
    for cut in 1..request.len() {
        let mut conn = api.connect();
        let outcome = conn.send(&request[..cut]).and_then(|()| {
            std::thread::sleep(Duration::from_millis(5));
            conn.send(&request[cut..])?;
            conn.read_response()
        });
        match outcome {
            Ok(r) if r.status == 200 && r.body == expected => {}
            Ok(r) => failures.push(format!("cut at {cut}: {} {:?}", r.status, shown(&r.body))),
            Err(e) => failures.push(format!("cut at {cut}: {e}\n{}", conn.transcript())),
        }
    }
    // One byte per write.
    let mut conn = api.connect();
    for byte in request {
        conn.send_ok(std::slice::from_ref(byte));
        std::thread::sleep(Duration::from_millis(1));
    }
    match conn.read_response() {
        Ok(r) if r.status == 200 && r.body == expected => {}
        other => failures.push(format!("byte by byte: {other:?}")),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn head_gets_the_headers_and_no_body() {
    let api = Api::start();
    let mut conn = api.connect();
    let mut batch = Vec::new();
    for target in [
        "/plaintext",
        "/json",
        "/stream?n=3",
        "/events?n=3",
        "/users/x",
        "/nope",
        "/files/x",
    ] {
        batch.extend_from_slice(format!("HEAD {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    batch.extend_from_slice(PLAIN);
    conn.send_ok(&batch);
    let expected: [(u16, Option<&str>, Option<&str>); 7] = [
        (200, Some("13"), None),
        (200, Some("27"), None),
        (200, None, Some("chunked")),
        (200, None, Some("chunked")),
        (400, Some("74"), None),
        (404, Some("56"), None),
        (200, Some("1"), None),
    ];
    for (i, (status, length, te)) in expected.into_iter().enumerate() {
        let r = conn.head_response();
        assert_eq!(r.status, status, "HEAD {i}\n{}", conn.transcript());
        assert_eq!(
            r.header("content-length"),
            length,
            "HEAD {i}\n{}",
            conn.transcript()
        );
        assert_eq!(
            r.header("transfer-encoding"),
            te,
            "HEAD {i}\n{}",
            conn.transcript()
        );
    }
    // The very next bytes are the GET's response: no HEAD sent a body (or,
    // for the streams, a closing chunk).
    let r = conn.response();
    assert_eq!(r.body, b"Hello, World!", "{}", conn.transcript());
    // HEAD on a route that only takes POST is a 405.
    conn.send_ok(b"HEAD /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = conn.head_response();
    assert_eq!(r.status, 405, "{}", conn.transcript());
    assert_eq!(
        r.header("allow"),
        Some("POST, OPTIONS"),
        "{}",
        conn.transcript()
    );
    assert_serves(&mut conn, "HEAD /echo");
}

#[test]
fn a_bad_request_after_good_ones_is_answered_in_turn_then_closes() {
    let api = Api::start();
    let mut conn = api.connect();
    let mut batch = PLAIN.to_vec();
    batch.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    batch.extend_from_slice(
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    );
    batch.extend_from_slice(PLAIN);
    conn.send_ok(&batch);
    assert_eq!(
        conn.response().body,
        b"Hello, World!",
        "{}",
        conn.transcript()
    );
    assert_eq!(conn.response().body, b"ok", "{}", conn.transcript());
    assert_eq!(conn.response().status, 400, "{}", conn.transcript());
    conn.assert_closed("a 400 after two good pipelined requests");
}

#[test]
fn a_request_cut_short_by_the_client_gets_no_answer_or_a_400() {
    let api = Api::start();
    for partial in [
        &b"GET /plaintext HTTP/1.1\r\nHost: t\r\n"[..],
        b"GET /plain",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ] {
        let mut conn = api.connect();
        conn.send_ok(partial);
        conn.shutdown_write();
        let answer = conn.peek_raw(1, CLOSE_TIMEOUT);
        if !answer.is_empty() {
            let r = conn.response();
            assert_eq!(r.status, 400, "{}", conn.transcript());
        }
        conn.assert_closed("a request cut short");
    }
    api.assert_alive("requests cut short");
}

/// The one slow test: the head and body deadlines (10 s by default) run
/// out, while idle connections, which are not slow clients, stay open.
#[test]
fn deadlines_cut_slow_heads_and_bodies_but_not_idle_connections() {
    let api = Api::start();
    let started = Instant::now();
    let mut half_head = api.connect();
    half_head.send_ok(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n");
    let mut stalled_body = api.connect();
    stalled_body.send_ok(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    let mut idle_after_response = api.connect();
    assert_serves(&mut idle_after_response, "opening");
    let mut idle_from_open = api.connect();
    // A client that keeps sending, one byte every 400 ms, is still cut at
    // the head deadline: it is a deadline, not a per-read timeout.
    let trickle_addr = api.addr();
    let trickler = std::thread::spawn(move || {
        let mut conn = Conn::open(trickle_addr);
        let head = format!(
            "GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Slow: {}",
            "s".repeat(100)
        );
        let begun = Instant::now();
        for byte in head.as_bytes() {
            if conn.send(std::slice::from_ref(byte)).is_err()
                || begun.elapsed() > Duration::from_secs(25)
            {
                break;
            }
            if !conn.peek_raw(1, Duration::from_millis(400)).is_empty() {
                break;
            }
        }
        let r = conn.read_response();
        (r, begun.elapsed(), conn.transcript())
    });

    let waiters: Vec<_> = [("half a head", half_head), ("a stalled body", stalled_body)]
        .into_iter()
        .map(|(what, mut conn)| {
            std::thread::spawn(move || {
                let r = conn.read_response();
                let took = started.elapsed();
                let closed = conn.closes_within(CLOSE_TIMEOUT);
                (what, r, took, closed, conn.transcript())
            })
        })
        .collect();
    for waiter in waiters {
        let (what, r, took, closed, transcript) = waiter.join().expect("a waiting client");
        let r = r.unwrap_or_else(|e| panic!("{what}: {e}\n{transcript}"));
        assert_eq!(r.status, 408, "{what}\n{transcript}");
        assert!(
            error_shape_problem(408, r.header("content-type"), &r.body, None).is_none(),
            "{what}\n{transcript}"
        );
        assert!(
            took >= Duration::from_secs(8),
            "{what}: a 408 after only {took:?}"
        );
        assert!(
            took < Duration::from_secs(25),
            "{what}: a 408 only after {took:?}"
        );
        assert_eq!(
            closed,
            Ok(true),
            "{what}: closed after the 408\n{transcript}"
        );
    }
    let (r, took, transcript) = trickler.join().expect("the trickling client");
    let r = r.unwrap_or_else(|e| panic!("trickling: {e}\n{transcript}"));
    assert_eq!(r.status, 408, "trickling\n{transcript}");
    assert!(
        took < Duration::from_secs(25),
        "trickling: cut only after {took:?}"
    );

    // Past both deadlines the idle connections are still open and served.
    let idle_for = Duration::from_secs(12).saturating_sub(started.elapsed());
    std::thread::sleep(idle_for);
    assert_serves(&mut idle_after_response, "12 s idle after a response");
    assert_serves(&mut idle_from_open, "12 s idle from the start");
    api.assert_alive("the deadlines");
}
