//! The codec against tables of raw bytes and the outcome each must give,
//! plus property tests: any bytes in any split never panic, header fields
//! come back as sent, and chunked encode → decode round-trips.

use super::*;
use crate::server::request::Version;
use proptest::prelude::*;

mod chunked;
mod fast_paths;
mod front_door;

/// Feeds `bytes` in one piece and returns the request or the refusal.
fn decode_all(bytes: &[u8], limits: &Limits) -> Result<Option<Request>, Refusal> {
    decode_split(bytes, &[], limits)
}

/// Feeds `bytes` cut at `cuts`, as a connection would receive them.
fn decode_split(bytes: &[u8], cuts: &[usize], limits: &Limits) -> Result<Option<Request>, Refusal> {
    let mut decoder = RequestDecoder::new(peer_unknown());
    let mut buffer: Vec<u8> = Vec::new();
    let mut from = 0;
    let mut points: Vec<usize> = cuts.iter().copied().filter(|&c| c < bytes.len()).collect();
    points.sort_unstable();
    points.push(bytes.len());
    for to in points {
        if to < from {
            continue;
        }
        buffer.extend_from_slice(&bytes[from..to]);
        from = to;
        let step = decoder.feed(&buffer, limits, &|_, _| None)?;
        buffer.drain(..step.consumed);
        if let Outcome::Request(request) = step.outcome {
            return Ok(Some(request));
        }
    }
    Ok(None)
}

fn status_of(bytes: &[u8]) -> u16 {
    match decode_all(bytes, &Limits::default()) {
        Ok(Some(_)) => 200,
        Ok(None) => 0,
        Err(refusal) => refusal.status(),
    }
}

#[test]
fn the_typical_browser_request_parses() {
    let bytes = b"GET /users/42?tab=posts&x=%20 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nAccept-Language: en\r\nCookie: a=b\r\n\r\n";
    let request = decode_all(bytes, &Limits::default()).unwrap().unwrap();
    assert_eq!(request.method(), Method::Get);
    assert_eq!(request.target(), "/users/42?tab=posts&x=%20");
    assert_eq!(request.path(), "/users/42");
    assert_eq!(request.query(), Some("tab=posts&x=%20"));
    assert_eq!(request.version(), Version::Http11);
    assert_eq!(request.header("host"), Some("example.com"));
    assert_eq!(request.header("ACCEPT"), Some("text/html"));
    assert_eq!(request.headers().count(), 5);
    assert!(request.keep_alive());
    assert!(request.body().is_empty());
}

#[test]
fn the_field_table_gives_back_every_field_as_sent() {
    let bytes =
        b"GET / HTTP/1.1\r\nHOST: a\r\nX-Empty:\r\nx-two: 1\r\nX-Pad: \t v \t\r\nX-Two: 2\r\n\r\n";
    let request = decode_all(bytes, &Limits::default()).unwrap().unwrap();
    let fields: Vec<(&str, &[u8])> = request.headers().collect();
    let expected: [(&str, &[u8]); 5] = [
        ("HOST", b"a"),
        ("X-Empty", b""),
        ("x-two", b"1"),
        ("X-Pad", b"v"),
        ("X-Two", b"2"),
    ];
    assert_eq!(fields, expected);
    assert_eq!(request.header("x-empty"), Some(""));
    let twos: Vec<&[u8]> = request.header_all("X-TWO").collect();
    assert_eq!(twos, [&b"1"[..], b"2"]);
    assert_eq!(request.header("missing"), None);
}

#[test]
fn a_built_request_reads_like_a_parsed_one() {
    let request = Request::new(
        Method::Post,
        "/a?b=c",
        &[
            ("Host", "x"),
            ("X-A", " 1 "),
            ("Bad", "a\r\nb"),
            ("x-a", "2"),
        ],
        b"body".to_vec(),
    );
    assert_eq!((request.path(), request.query()), ("/a", Some("b=c")));
    let fields: Vec<(&str, &[u8])> = request.headers().collect();
    let expected: [(&str, &[u8]); 3] = [("Host", b"x"), ("X-A", b"1"), ("x-a", b"2")];
    assert_eq!(fields, expected);
    assert_eq!(request.header_all("x-a").count(), 2);
}

/// (what, request bytes, expected status: 200 parsed, 0 incomplete).
const TABLE: &[(&str, &[u8], u16)] = &[
    ("plain GET", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("HTTP/1.0 without Host", b"GET / HTTP/1.0\r\n\r\n", 200),
    ("bare LF line ends (RFC 9112 2.2)", b"GET / HTTP/1.1\nHost: a\n\n", 200),
    ("leading empty line", b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("incomplete head", b"GET / HTTP/1.1\r\nHost: a\r\n", 0),
    ("incomplete body", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", 0),
    ("missing Host on 1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Host fields", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("two Host fields in odd case", b"GET / HTTP/1.1\r\nhOsT: a\r\nHOST: b\r\n\r\n", 400),
    ("a Host look-alike is not a Host", b"GET / HTTP/1.1\r\nHost: a\r\nHos_: b\r\n\r\n", 200),
    ("unknown method", b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    ("lower-case method is unknown", b"get / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
    // Found by fuzzing with split reads: read whole, this was a 505.
    ("bare CR after an unknown version", b"POST / HTTP/0.1\r\r\n\r\n", 400),
    ("unknown version after an empty line", b"\r\nGET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("garbage version", b"GET / HTTQ/1.1\r\nHost: a\r\n\r\n", 400),
    ("missing version", b"GET /\r\nHost: a\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
    ("NUL in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400),
    ("bare CR in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400),
    ("bare CR in the request line", b"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("bare CRs and no LF at all", b"GET / HTTP/1.1\rHost: a\r\r", 400),
    ("CR CR LF after a value", b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400),
    ("CR CR LF after the request line", b"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400),
    ("bare CR in a field name", b"GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n", 400),
    ("bare CR before the final LF", b"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400),
    ("bare CR at the start of a value", b"GET / HTTP/1.1\r\nHost: \ra\r\n\r\n", 400),
    ("space inside the target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("control byte in target", b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("target not starting with /", b"GET users HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("asterisk form for OPTIONS", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("asterisk form for GET", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("absolute form", b"GET http://a/x?y HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("absolute form, scheme in capitals", b"GET HTTP://A/x HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("absolute form with a port", b"GET http://a:8080/x HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("absolute form with an IPv6 host", b"GET http://[::1]:80/x HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("absolute form without a path", b"GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("absolute form with an empty host", b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("absolute form with only a port", b"GET http://:80/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("absolute form with userinfo", b"GET http://u:p@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("absolute form with a bad port", b"GET http://a:8o/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("absolute form still needs Host on 1.1", b"GET http://a/x HTTP/1.1\r\n\r\n", 400),
    ("absolute form on 1.0 without Host", b"GET http://a/x HTTP/1.0\r\n\r\n", 200),
    ("absolute form beside a bad Host", b"GET http://a/x HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ("a fragment in the path", b"GET /plaintext#x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("a fragment after the query", b"GET /a?b=c#d HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("an empty fragment", b"GET /a# HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("a fragment in absolute form", b"GET http://a/x#y HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("Host a reg-name with a port", b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", 200),
    ("Host an IPv4 address", b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", 200),
    ("Host with an empty port", b"GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", 200),
    ("Host empty (no authority)", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 200),
    ("Host an IPv6 literal", b"GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", 200),
    ("Host an IPv6 literal with a port", b"GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]:443\r\n\r\n", 200),
    ("Host an IPvFuture literal", b"GET / HTTP/1.1\r\nHost: [v1.fe80::a+en1]\r\n\r\n", 200),
    ("Host percent-encoded", b"GET / HTTP/1.1\r\nHost: ex%41mple.com\r\n\r\n", 200),
    ("Host with sub-delims", b"GET / HTTP/1.1\r\nHost: a-b_c~d!$&'()*+,;=e\r\n\r\n", 200),
    ("Host with a space, slash and at", b"GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n", 400),
    ("Host with a path", b"GET / HTTP/1.1\r\nHost: example.com/evil\r\n\r\n", 400),
    ("Host with userinfo", b"GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", 400),
    ("Host with a query", b"GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400),
    ("Host with a fragment", b"GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", 400),
    ("Host with a tab inside", b"GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", 400),
    ("Host with two ports", b"GET / HTTP/1.1\r\nHost: a:80:81\r\n\r\n", 400),
    ("Host with a port that is not digits", b"GET / HTTP/1.1\r\nHost: a:http\r\n\r\n", 400),
    ("Host an unbracketed IPv6 address", b"GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", 400),
    ("Host an unclosed IPv6 literal", b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
    ("Host a bracketed non-address", b"GET / HTTP/1.1\r\nHost: [example.com]\r\n\r\n", 400),
    ("Host an IPv6 literal with a zone", b"GET / HTTP/1.1\r\nHost: [fe80::1%eth0]\r\n\r\n", 400),
    ("Host with text after the brackets", b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400),
    ("Host with a broken percent-escape", b"GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", 400),
    ("Host with a non-ASCII byte", "GET / HTTP/1.1\r\nHost: b\u{fc}cher.example\r\n\r\n".as_bytes(), 400),
    ("Host invalid on HTTP/1.0 too", b"GET / HTTP/1.0\r\nHost: a/b\r\n\r\n", 400),
    ("two Host fields, both valid and equal", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    // Found by fuzzing (regressions/parse_request/utf8_in_scheme): a UTF-8
    // character across the length of `http://` panicked on a str slice.
    ("UTF-8 where the scheme would end", "GET http:/\u{1de}/x?y HTTP/1.1\r\nHost: a\r\n\r\n".as_bytes(), 400),
    ("CL and TE together", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("two CL fields", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("CL list", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
    ("signed CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400),
    ("negative CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    ("hex CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", 400),
    ("empty CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400),
    ("overflowing CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
    ("CL over the body limit", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2097153\r\n\r\n", 413),
    ("TE gzip alone", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ("TE chunked then gzip", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    ("TE chunked twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    ("TE chunked in two fields", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ("TE gzip before chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    ("TE gzip then chunked in two fields", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
    ("TE obfuscated xchunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
    ("TE empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400),
    ("TE on HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("TE with upper case", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 200),
    ("unknown expectation", b"POST / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nContent-Length: 1\r\n\r\na", 417),
];

/// Runs `table` whole and byte by byte; fails naming every row that differs.
fn check_table(table: &[(&str, &[u8], u16)]) {
    let mut failures = Vec::new();
    for (what, bytes, expected) in table {
        let whole = status_of(bytes);
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        let trickled = match decode_split(bytes, &cuts, &Limits::default()) {
            Ok(Some(_)) => 200,
            Ok(None) => 0,
            Err(refusal) => refusal.status(),
        };
        if (whole, trickled) != (*expected, *expected) {
            failures.push(format!(
                "{what}: expected {expected}, got {whole} whole and {trickled} byte by byte"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn request_table() {
    check_table(TABLE);
}

#[test]
fn chunked_body_is_decoded_with_extensions_and_trailers_ignored() {
    let bytes = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    let request = decode_all(bytes, &Limits::default()).unwrap().unwrap();
    assert_eq!(request.body(), b"hello world");
}

#[test]
fn content_length_body_is_read() {
    let bytes = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET";
    let mut decoder = RequestDecoder::new(peer_unknown());
    let step = decoder
        .feed(bytes, &Limits::default(), &|_, _| None)
        .unwrap();
    let Outcome::Request(request) = step.outcome else {
        panic!("expected a request")
    };
    assert_eq!(request.body(), b"hello");
    // The pipelined bytes after the body are left for the next request.
    assert_eq!(&bytes[step.consumed..], b"GET");
}

#[test]
fn pipelined_requests_decode_in_order() {
    let bytes = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut decoder = RequestDecoder::new(peer_unknown());
    let first = decoder
        .feed(bytes, &Limits::default(), &|_, _| None)
        .unwrap();
    let Outcome::Request(a) = first.outcome else {
        panic!()
    };
    let second = decoder
        .feed(&bytes[first.consumed..], &Limits::default(), &|_, _| None)
        .unwrap();
    let Outcome::Request(b) = second.outcome else {
        panic!()
    };
    assert_eq!((a.path(), b.path()), ("/a", "/b"));
    assert_eq!(first.consumed + second.consumed, bytes.len());
}

#[test]
fn connection_semantics() {
    let close = decode_all(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        &Limits::default(),
    );
    assert!(!close.unwrap().unwrap().keep_alive());
    let old = decode_all(b"GET / HTTP/1.0\r\n\r\n", &Limits::default());
    assert!(!old.unwrap().unwrap().keep_alive());
    let old_kept = decode_all(
        b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        &Limits::default(),
    );
    assert!(old_kept.unwrap().unwrap().keep_alive());
}

#[test]
fn expect_continue_is_signalled_only_before_the_body() {
    let head = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    let mut decoder = RequestDecoder::new(peer_unknown());
    let step = decoder
        .feed(head, &Limits::default(), &|_, _| None)
        .unwrap();
    assert!(matches!(step.outcome, Outcome::NeedMore));
    assert!(decoder.take_continue());
    assert!(!decoder.take_continue());
    let step = decoder
        .feed(b"hi", &Limits::default(), &|_, _| None)
        .unwrap();
    assert!(matches!(step.outcome, Outcome::Request(_)));

    let mut eager = Vec::from(&head[..]);
    eager.extend_from_slice(b"hi");
    let mut decoder = RequestDecoder::new(peer_unknown());
    decoder
        .feed(&eager, &Limits::default(), &|_, _| None)
        .unwrap();
    assert!(
        !decoder.take_continue(),
        "the body is already here: no 100 Continue"
    );
}

#[test]
fn a_long_target_is_414_even_when_the_head_is_also_too_large() {
    let mut bytes = b"GET /".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 20 * 1024));
    // Still arriving: the limit is met while reading the target.
    assert_eq!(
        decode_all(&bytes, &Limits::default()).unwrap_err(),
        Refusal::UriTooLong
    );
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        decode_all(&bytes, &Limits::default()).unwrap_err(),
        Refusal::UriTooLong
    );
}

#[test]
fn a_long_target_is_414_before_its_method_is_judged() {
    // Byte by byte the target crosses the limit before the line ends, so
    // read whole it must be the same 414, not a 501 for the method.
    let mut bytes = b"BREW /".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 9 * 1024));
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    let cuts: Vec<usize> = (1..bytes.len()).collect();
    for split in [&[][..], &cuts[..]] {
        let got = decode_split(&bytes, split, &Limits::default());
        assert_eq!(got.unwrap_err(), Refusal::UriTooLong);
    }
}

#[test]
fn a_target_just_under_the_limit_is_served() {
    let mut bytes = b"GET /".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 8 * 1024 - 1));
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(decode_all(&bytes, &Limits::default()).unwrap().is_some());
}

#[test]
fn large_or_numerous_headers_are_431() {
    let mut bytes = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 17 * 1024));
    assert_eq!(
        decode_all(&bytes, &Limits::default()).unwrap_err(),
        Refusal::HeadersTooLarge
    );
    bytes.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        decode_all(&bytes, &Limits::default()).unwrap_err(),
        Refusal::HeadersTooLarge
    );

    let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..100 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(
        decode_all(&many, &Limits::default()).unwrap_err(),
        Refusal::HeadersTooLarge
    );
}

#[test]
fn chunked_bodies_are_counted_against_the_limit_as_they_arrive() {
    let limits = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    let ok = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    assert!(decode_all(ok, &limits).unwrap().is_some());
    let over = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n";
    assert_eq!(
        decode_all(over, &limits).unwrap_err(),
        Refusal::BodyTooLarge
    );
}

#[test]
fn a_route_may_raise_the_body_limit() {
    let bytes = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3000000\r\n\r\n";
    let mut decoder = RequestDecoder::new(peer_unknown());
    let raise = |_: Method, path: &str| (path == "/upload").then_some(64 << 20);
    let step = decoder.feed(bytes, &Limits::default(), &raise).unwrap();
    assert!(matches!(step.outcome, Outcome::NeedMore));
}

fn chunked_request(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut bytes = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut rest = body;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let take = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        encode_chunk(&rest[..take], &mut bytes);
        rest = &rest[take..];
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

proptest! {
    #[test]
    fn any_bytes_in_any_split_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(0usize..600, 0..8)) {
        let _ = decode_split(&bytes, &cuts, &Limits::default());
    }

    #[test]
    fn request_shaped_noise_never_panics(
        method in "(GET|POST|PUT|get|BREW)",
        target in "[ -~]{0,40}",
        headers in proptest::collection::vec("[ -~\t\r\n]{0,30}", 0..6),
        cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        let mut bytes = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
        for header in headers {
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        let _ = decode_split(&bytes, &cuts, &Limits::default());
    }

    /// `classify` compares names by OR-ing 0x20, which is only exact
    /// for tokens: it must agree with `eq_ignore_ascii_case` on all of them.
    #[test]
    fn classify_agrees_with_a_case_blind_comparison(name in "[-!#$%&'*+.^_`|~0-9a-zA-Z]{1,18}") {
        let expected = [
            ("host", Special::Host),
            ("expect", Special::Expect),
            ("connection", Special::Connection),
            ("content-length", Special::ContentLength),
            ("transfer-encoding", Special::TransferEncoding),
        ]
        .into_iter()
        .find(|(known, _)| name.eq_ignore_ascii_case(known))
        .map_or(Special::Other, |(_, special)| special);
        prop_assert!(classify(name.as_bytes()) == expected);
        // One byte off from each known name, in any case.
        for known in ["host", "expect", "connection", "content-length", "transfer-encoding"] {
            let mut near = known.as_bytes().to_vec();
            let at = name.len() % near.len();
            near[at] = name.as_bytes()[0];
            let expected = if near.eq_ignore_ascii_case(known.as_bytes()) {
                classify(known.as_bytes())
            } else {
                Special::Other
            };
            prop_assert!(classify(&near) == expected);
        }
    }

    #[test]
    fn parsed_fields_are_the_fields_sent(
        fields in proptest::collection::vec(("[a-zA-Z][-a-zA-Z0-9]{0,12}", "[!-~]([ -~]{0,20}[!-~])?"), 0..20),
    ) {
        let mut bytes = b"GET / HTTP/1.0\r\n".to_vec();
        for (name, value) in &fields {
            bytes.extend_from_slice(format!("X-{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        let request = decode_all(&bytes, &Limits::default()).unwrap().unwrap();
        let parsed: Vec<(String, Vec<u8>)> = request
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_vec()))
            .collect();
        let sent: Vec<(String, Vec<u8>)> = fields
            .iter()
            .map(|(name, value)| (format!("X-{name}"), value.as_bytes().to_vec()))
            .collect();
        prop_assert_eq!(parsed, sent);
    }

    #[test]
    fn chunked_encode_decode_round_trips(
        body in proptest::collection::vec(any::<u8>(), 0..2000),
        sizes in proptest::collection::vec(1usize..300, 1..6),
        cuts in proptest::collection::vec(0usize..2500, 0..10),
    ) {
        let bytes = chunked_request(&body, &sizes);
        let request = decode_split(&bytes, &cuts, &Limits::default()).unwrap().unwrap();
        prop_assert_eq!(request.body(), &body[..]);
    }
}

#[test]
fn an_absolute_form_authority_replaces_host() {
    let bytes = b"GET http://other.example:8080/x/y?q=1 HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n";
    let request = decode_all(bytes, &Limits::default()).unwrap().unwrap();
    assert_eq!(request.header("host"), Some("other.example:8080"));
    assert_eq!(request.header_all("HOST").count(), 1);
    assert_eq!((request.path(), request.query()), ("/x/y", Some("q=1")));
    assert_eq!(request.target(), "/x/y?q=1");
    let fields: Vec<(&str, &[u8])> = request.headers().collect();
    let expected: [(&str, &[u8]); 2] = [("Host", b"other.example:8080"), ("X-A", b"b")];
    assert_eq!(fields, expected);

    // HTTP/1.0 need not send Host: the authority still reads as one.
    let old = b"GET https://[::1]/z HTTP/1.0\r\nX-A: b\r\n\r\n";
    let request = decode_all(old, &Limits::default()).unwrap().unwrap();
    assert_eq!(request.header("Host"), Some("[::1]"));
    let fields: Vec<(&str, &[u8])> = request.headers().collect();
    let expected: [(&str, &[u8]); 2] = [("X-A", b"b"), ("Host", b"[::1]")];
    assert_eq!(fields, expected);
    assert_eq!(request.path(), "/z");

    // Origin form keeps the Host sent.
    let plain = b"GET /x HTTP/1.1\r\nhost: a.example\r\n\r\n";
    let request = decode_all(plain, &Limits::default()).unwrap().unwrap();
    assert_eq!(request.header("Host"), Some("a.example"));
}

#[test]
fn framing_refusals_say_what_was_wrong() {
    let message = |bytes: &[u8]| match decode_all(bytes, &Limits::default()) {
        Err(Refusal::BadRequest(message)) => message,
        other => panic!("expected a 400, got {other:?}"),
    };
    assert!(message(b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n").contains("fragment"));
    assert!(message(b"GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n").contains("Host"));
    assert!(message(b"GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n").contains("authority"));
    assert!(message(b"GET / HTTP/1.1\r\n\r\n").contains("need a Host"));
    assert!(message(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n").contains("more than one"));
}
