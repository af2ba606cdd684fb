//! The chunked body decoder against the RFC 9112 §7.1 grammar: a table of
//! raw chunked bodies (after a fixed head) and the status each must give,
//! whole and byte by byte, plus the bounds on extensions and trailers.

use super::*;

/// The head every row's body follows.
const HEAD: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/// (what, chunked body bytes after [`HEAD`], expected status: 200 parsed,
/// 0 incomplete).
const CHUNK_TABLE: &[(&str, &[u8], u16)] = &[
    ("chunk size not hex", b"zz\r\n", 400),
    ("chunk size empty", b"\r\n", 400),
    ("chunk size 0x prefix", b"0x5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size overflow", b"fffffffffffffffffff\r\n", 400),
    ("chunk over body limit", b"300000\r\n", 413),
    ("chunk line with bare LF", b"5\nhello\r\n0\r\n\r\n", 400),
    ("chunk data without CRLF", b"5\r\nhelloXX0\r\n\r\n", 400),
    ("chunk data with bare LF end", b"5\r\nhello\n0\r\n\r\n", 400),
    ("last chunk with bare LF", b"0\n\r\n", 400),
    ("trailer with bare LF", b"0\r\nX: y\n\r\n", 400),
    (
        "chunk extension and trailer",
        b"5;name=val\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
        200,
    ),
    // RFC 9112 §7.1: chunk-size is 1*HEXDIG and nothing else.
    (
        "whitespace after a chunk size",
        b"5 \r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a tab after a chunk size",
        b"5\t\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    ("whitespace after the last chunk's size", b"0 \r\n\r\n", 400),
    (
        "whitespace before a chunk size",
        b" 5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a space inside a chunk size",
        b"1 0\r\n0123456789abcdef\r\n0\r\n\r\n",
        400,
    ),
    ("a signed chunk size", b"+5\r\nhello\r\n0\r\n\r\n", 400),
    ("a negative chunk size", b"-5\r\nhello\r\n0\r\n\r\n", 400),
    (
        "an underscore in a chunk size",
        b"0_5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    ("NUL after a chunk size", b"5\0\r\nhello\r\n0\r\n\r\n", 400),
    (
        "leading zeros in a chunk size",
        b"0005\r\nhello\r\n000\r\n\r\n",
        200,
    ),
    ("upper-case hex", b"A\r\n0123456789\r\n0\r\n\r\n", 200),
    (
        "16 hex digits",
        b"0000000000000005\r\nhello\r\n0\r\n\r\n",
        200,
    ),
    (
        "17 hex digits, even if small",
        b"00000000000000005\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    ("a chunk of u64::MAX bytes", b"ffffffffffffffff\r\n", 413),
    // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
    (
        "an extension without a value",
        b"5;a\r\nhello\r\n0\r\n\r\n",
        200,
    ),
    (
        "several extensions",
        b"5;a=1;b;c=\"x\"\r\nhello\r\n0;last\r\n\r\n",
        200,
    ),
    (
        "BWS around ; and =",
        b"5 ; a = 1 ;\tb\r\nhello\r\n0\r\n\r\n",
        200,
    ),
    (
        "a quoted value with ; and a quoted pair",
        b"5;a=\"x;\\\"y\\\\\"\r\nhello\r\n0\r\n\r\n",
        200,
    ),
    (
        "obs-text in a quoted value",
        b"5;a=\"\xe9\"\r\nhello\r\n0\r\n\r\n",
        200,
    ),
    (
        "an extension with no name",
        b"5;\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "an extension of only =value",
        b"5;=v\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "an empty extension between two",
        b"5;a;;b\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "an extension with = and no value",
        b"5;a=\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a control byte in an extension name",
        b"5;a\x01b\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a control byte in an extension value",
        b"5;a=\x01\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "DEL in an extension value",
        b"5;a=b\x7f\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a control byte in a quoted value",
        b"5;a=\"\x0b\"\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a control byte after a backslash",
        b"5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "an unterminated quoted value",
        b"5;a=\"x\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "text after a quoted value",
        b"5;a=\"x\"y\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "whitespace at the end of an extension",
        b"5;a=b \r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "whitespace after an extension name",
        b"5;a \r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "two values in an extension",
        b"5;a=b c\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "a separator as an extension value",
        b"5;a=@\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "an extension line ending in bare LF",
        b"5;a=b\nhello\r\n0\r\n\r\n",
        400,
    ),
    // Trailers are field lines: name ":" value, in CRLF.
    ("a trailer line without a colon", b"0\r\nX-T\r\n\r\n", 400),
    ("a trailer with an empty name", b"0\r\n: v\r\n\r\n", 400),
    ("a trailer name with a space", b"0\r\nX T: v\r\n\r\n", 400),
    (
        "a space before a trailer's colon",
        b"0\r\nX-T : v\r\n\r\n",
        400,
    ),
    (
        "a control byte in a trailer value",
        b"0\r\nX-T: a\x01b\r\n\r\n",
        400,
    ),
    ("DEL in a trailer value", b"0\r\nX-T: a\x7f\r\n\r\n", 400),
    ("a trailer with an empty value", b"0\r\nX-T:\r\n\r\n", 200),
    ("several trailers", b"0\r\nX-A: 1\r\nX-B:\t2 3\r\n\r\n", 200),
    ("a trailer with obs-text", b"0\r\nX-T: \xe9\r\n\r\n", 200),
    ("a trailer ending in bare CR", b"0\r\nX-T: 1\r\r\n", 400),
    (
        "a trailer starting with whitespace",
        b"0\r\n X-T: 1\r\n\r\n",
        400,
    ),
    // Chunk data ends with CRLF, exactly where the size says.
    (
        "chunk data longer than its size",
        b"3\r\nabcd\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk data shorter than its size",
        b"5\r\nabc\r\n0\r\n\r\n0\r\n\r\n",
        400,
    ),
    ("chunk data ending in bare CR", b"3\r\nabc\r0\r\n\r\n", 400),
    (
        "a bad size smuggling a request",
        b"3\r\nabc\r\nzz\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        400,
    ),
];

fn with_head(body: &[u8]) -> Vec<u8> {
    [HEAD, body].concat()
}

#[test]
fn chunk_table() {
    let rows: Vec<(&str, Vec<u8>, u16)> = CHUNK_TABLE
        .iter()
        .map(|(what, body, status)| (*what, with_head(body), *status))
        .collect();
    let rows: Vec<(&str, &[u8], u16)> = rows
        .iter()
        .map(|(what, bytes, status)| (*what, &bytes[..], *status))
        .collect();
    check_table(&rows);
}

#[test]
fn refusals_say_what_was_wrong() {
    let refusal = |body: &[u8]| match decode_all(&with_head(body), &Limits::default()) {
        Err(Refusal::BadRequest(message)) => message,
        other => panic!("expected a 400, got {other:?}"),
    };
    assert!(refusal(b"5 \r\n").contains("whitespace after a chunk size"));
    assert!(refusal(b"5;\r\n").contains("without a name"));
    assert!(refusal(b"5;a=\x01\r\n").contains("chunk extension"));
    assert!(refusal(b"0\r\nX-T\r\n\r\n").contains("without a colon"));
    assert!(refusal(b"0\r\nX: \x01\r\n\r\n").contains("control byte in a trailer"));
    assert!(refusal(b"00000000000000001\r\n").contains("16 hex digits"));
}

#[test]
fn the_decoded_body_ignores_extensions_and_trailers() {
    let request = decode_all(
        &with_head(b"5 ; a = \"x;y\"\r\nhello\r\n6;b\r\n world\r\n0;c=d\r\nX-T: 1\r\n\r\n"),
        &Limits::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(request.body(), b"hello world");
}

#[test]
fn a_size_line_is_bounded() {
    let long = format!("3;x={}\r\nabc\r\n0\r\n\r\n", "e".repeat(5000));
    assert_eq!(status_of(&with_head(long.as_bytes())), 400);
    let fits = format!("3;x={}\r\nabc\r\n0\r\n\r\n", "e".repeat(4000));
    assert_eq!(status_of(&with_head(fits.as_bytes())), 200);
}

#[test]
fn the_extensions_of_a_body_are_bounded_in_total() {
    // Each line is short, but together they pass 16 KiB.
    let chunk = format!("1;x={}\r\na\r\n", "e".repeat(1000));
    let mut body = chunk.repeat(17);
    body.push_str("0\r\n\r\n");
    let bytes = with_head(body.as_bytes());
    match decode_all(&bytes, &Limits::default()) {
        Err(Refusal::BadRequest(message)) => assert!(message.contains("extensions"), "{message}"),
        other => panic!("expected a 400, got {other:?}"),
    }
    let mut under = chunk.repeat(15);
    under.push_str("0\r\n\r\n");
    assert_eq!(status_of(&with_head(under.as_bytes())), 200);
}

#[test]
fn the_trailer_section_is_bounded() {
    let line = format!("X-T: {}\r\n", "t".repeat(1000));
    let over = format!("0\r\n{}\r\n", line.repeat(5));
    assert_eq!(status_of(&with_head(over.as_bytes())), 400);
    let fits = format!("0\r\n{}\r\n", line.repeat(3));
    assert_eq!(status_of(&with_head(fits.as_bytes())), 200);
}

#[test]
fn a_pipelined_request_after_the_body_is_left_alone() {
    let mut bytes = with_head(b"2;a\r\nhi\r\n0\r\nT: v\r\n\r\n");
    let end = bytes.len();
    bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let mut decoder = RequestDecoder::new(peer_unknown());
    let step = decoder
        .feed(&bytes, &Limits::default(), &|_, _| None)
        .unwrap();
    assert!(matches!(step.outcome, Outcome::Request(_)));
    assert_eq!(step.consumed, end);
}
