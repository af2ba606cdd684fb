//! The fuzzing checks of sutegi, shared by the `cargo fuzz` targets (in
//! `fuzz_targets/`) and by the replay tests below, which run every input of
//! the committed corpus and every crash regression through the same checks
//! on stable Rust, in CI.
//!
//! - [`parse_request_case`]: the request codec (heads, limits, chunked
//!   bodies) under arbitrary bytes, read whole and cut in several ways
//!   ([`split`]), every way giving the same requests and refusals.
//! - [`chunked_body_case`]: the resumable chunked decoder, its input a
//!   chunked body after a fixed head, checked against a reference reading
//!   of the RFC grammar ([`chunked`]), read by the connection and read by
//!   a handler as it arrives (the streamed body of an upload route).
//! - [`route_match_case`]: route matching and capture decoding under
//!   arbitrary paths.
//! - [`ws_upgrade_case`]: the WebSocket opening handshake under arbitrary
//!   request bytes, against a reading of RFC 6455 written apart
//!   ([`upgrade`]); its corpus is the request fuzzer's plus handshakes.
//!
//! Each input's first byte says how to cut the rest (see
//! [`split::decode_every_way`]); the rest is what a client sent.

use std::io::Read;
use std::sync::OnceLock;

use sutegi::server::HeadVerdict;
use sutegi::test::TestClient;
use sutegi::{Handler, Method, Path, Request, Response, Router, RouterHandler};

pub mod chunked;
pub mod split;
pub mod upgrade;

pub use upgrade::ws_upgrade_case;

use split::{decode_every_way, Seen};

/// The codec under arbitrary bytes. It must never panic, whatever it
/// accepts must be self-consistent, and the requests and refusals it reads
/// must not depend on where the reads end.
pub fn parse_request_case(data: &[u8]) {
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    decode_every_way(split, bytes);
}

/// The head every [`chunked_body_case`] input follows.
pub const CHUNKED_HEAD: &[u8] =
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/// The chunked decoder under arbitrary bodies: the input after its split
/// byte follows [`CHUNKED_HEAD`]. On top of [`parse_request_case`]'s
/// checks, the codec must accept the body exactly when the reference
/// reading of the grammar does, decode it to the same bytes, and leave
/// what follows it in the reader.
pub fn chunked_body_case(data: &[u8]) {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let bytes = [CHUNKED_HEAD, body].concat();
    let seen = decode_every_way(split, &bytes);
    // The codec bounds a size line at 4 KiB and the trailer section at
    // 4 KiB, which the reference does not model: shorter inputs cannot
    // reach those bounds.
    if body.len() >= 4096 {
        return;
    }
    match (chunked::reference_chunked(body), seen.first()) {
        (
            Some((expected, used)),
            Some(Seen::Request {
                body: got, left, ..
            }),
        ) => {
            assert_eq!(
                got, &expected,
                "the decoded body differs from the reference"
            );
            assert_eq!(
                *left,
                body.len() - used,
                "the bytes after the body were not left alone"
            );
        }
        (Some(_), other) => panic!("the reference accepts this body, the codec gave {other:?}"),
        (None, Some(Seen::Refused(_))) => {}
        (None, other) => panic!("the reference refuses this body, the codec gave {other:?}"),
    }
    // The same body read by a handler as it arrives (`BodyReader`, as an
    // upload route does) decodes to the same bytes, or is refused.
    let streamed = streamed_chunked_body(body);
    match chunked::reference_chunked(body) {
        Some((expected, _)) => assert_eq!(
            streamed,
            Ok(expected),
            "the streamed body differs from the reference"
        ),
        None => assert!(
            matches!(streamed, Err(400 | 413)),
            "the reference refuses this body, the streamed reader gave {streamed:?}"
        ),
    }
}

/// A handler that reads its chunked body itself, through the reader the
/// server gives a route that streams its body.
struct StreamedEcho;

impl Handler for StreamedEcho {
    fn handle(&self, request: Request) -> Response {
        let Some(mut reader) = request.take_body_reader() else {
            return Response::with_body(500, "no body reader");
        };
        let mut body = Vec::new();
        match reader.read_to_end(&mut body) {
            Ok(_) => Response::with_body(200, body),
            Err(error) => {
                let refusal = sutegi::Error::from(error);
                Response::with_body(refusal.status(), refusal.message().to_owned())
            }
        }
    }

    fn check_head(&self, _head: &Request) -> HeadVerdict {
        HeadVerdict::StreamBody { limit: None }
    }
}

/// `body` after [`CHUNKED_HEAD`], read as a streamed body: the decoded
/// bytes, or the refusal's status.
fn streamed_chunked_body(body: &[u8]) -> Result<Vec<u8>, u16> {
    static CLIENT: OnceLock<TestClient> = OnceLock::new();
    let client = CLIENT.get_or_init(|| TestClient::new(StreamedEcho));
    let response = client
        .post("/c")
        .header("Host", "a")
        .header("Transfer-Encoding", "chunked")
        .body(body.to_vec())
        .send();
    match response.status() {
        200 => Ok(response.body().to_vec()),
        status => Err(status),
    }
}

fn router() -> &'static RouterHandler {
    static ROUTER: OnceLock<RouterHandler> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let admin = Router::new().get("/stats/{name}", |Path(name): Path<String>| name);
        Router::new()
            .get("/users/{id}", |Path(id): Path<u64>| id.to_string())
            .get(
                "/users/{id}/posts/{post}",
                |Path((id, post)): Path<(u64, String)>| format!("{id}/{post}"),
            )
            .get("/files/{*path}", |Path(path): Path<String>| path)
            .post("/echo", |body: Vec<u8>| body)
            .mount("/admin", admin)
            .into_handler()
            .expect("the fuzz router checks out")
    })
}

/// Route matching under arbitrary paths: the first byte picks the method,
/// the rest is the target after `/`. Any target gets an answer without a
/// panic, and a catch-all capture reaches the handler percent-decoded.
pub fn route_match_case(data: &[u8]) {
    let Some((&method, rest)) = data.split_first() else {
        return;
    };
    let Ok(tail) = std::str::from_utf8(rest) else {
        return;
    };
    if tail.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return; // the codec refuses these before routing
    }
    let method = Method::ALL[usize::from(method) % Method::ALL.len()];
    let target = format!("/{tail}");
    let response = router().handle(Request::new(
        method,
        &target,
        &[("Host", "fuzz")],
        Vec::new(),
    ));
    assert!((100..600).contains(&response.status()));
    let path = target.split('?').next().unwrap_or("");
    if let Some(rest) = path.strip_prefix("/files/") {
        if method == Method::Get && response.status() == 200 {
            if let Ok(text) = String::from_utf8(percent_decode(rest)) {
                assert_eq!(response.body().as_bytes(), Some(text.as_bytes()));
            }
        }
    }
}

/// Percent-decoding written apart from the router's, to check it against.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(high), Some(low)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod replay {
    use std::path::Path;

    use super::split::{decode_every_way, Seen};

    /// Runs every file of `dir` through `check`, naming the file that fails.
    fn replay(dir: &str, check: fn(&[u8])) -> usize {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let data = std::fs::read(&path).expect("a corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            count += 1;
        }
        count
    }

    /// The files of a corpus directory, by name, for the tests that read
    /// what a seed's name promises (`valid_*`, `refused_*`, `smuggle_*`).
    fn named_seeds(dir: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        std::fs::read_dir(&dir)
            .expect("the corpus directory")
            .map(|entry| {
                let path = entry.expect("a directory entry").path();
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                (name, std::fs::read(&path).expect("a corpus file"))
            })
            .collect()
    }

    #[test]
    fn parse_request_corpus_and_regressions() {
        let seeds = replay("corpus/parse_request", super::parse_request_case);
        assert!(seeds >= 8, "the seed corpus is committed ({seeds} files)");
        replay("regressions/parse_request", super::parse_request_case);
    }

    #[test]
    fn chunked_body_corpus_and_regressions() {
        let seeds = replay("corpus/chunked_body", super::chunked_body_case);
        assert!(seeds >= 5, "the seed corpus is committed ({seeds} files)");
        replay("regressions/chunked_body", super::chunked_body_case);
    }

    /// Every seed named `smuggle_*` is a request-smuggling ingredient, and
    /// one named `refused_*` another head the codec must refuse: each must
    /// end in a refusal, with at most one request before it. The
    /// seeds named `valid_*` must read as requests to the end.
    #[test]
    fn smuggling_seeds_are_refused_and_valid_seeds_read_whole() {
        let mut smuggling = 0;
        for (dir, head) in [
            ("corpus/parse_request", &b""[..]),
            ("corpus/chunked_body", super::CHUNKED_HEAD),
        ] {
            for (name, data) in named_seeds(dir) {
                let Some((&split, rest)) = data.split_first() else {
                    continue;
                };
                let seen = decode_every_way(split, &[head, rest].concat());
                if name.starts_with("smuggle_") || name.starts_with("refused_") {
                    smuggling += usize::from(name.starts_with("smuggle_"));
                    assert!(
                        matches!(seen.last(), Some(Seen::Refused(400..=599))),
                        "{name} is not refused: {seen:?}"
                    );
                    assert!(
                        seen.iter()
                            .filter(|s| matches!(s, Seen::Request { .. }))
                            .count()
                            <= 1,
                        "{name} gives more than one request: {seen:?}"
                    );
                } else if name.starts_with("valid_") {
                    assert!(
                        matches!(seen.last(), Some(Seen::Closed)) && seen.len() > 1,
                        "{name} does not read as requests to the end: {seen:?}"
                    );
                }
            }
        }
        assert!(
            smuggling >= 10,
            "the smuggling seeds are committed ({smuggling})"
        );
    }

    /// The handshake target runs the request fuzzer's corpus as it is, and
    /// its own seeds: handshakes valid and broken in each way RFC 6455
    /// names (`valid_*` must be upgraded, `refused_*` must not).
    #[test]
    fn ws_upgrade_corpus_and_regressions() {
        replay("corpus/parse_request", super::ws_upgrade_case);
        let seeds = replay("corpus/ws_upgrade", super::ws_upgrade_case);
        assert!(seeds >= 8, "the seed corpus is committed ({seeds} files)");
        replay("regressions/ws_upgrade", super::ws_upgrade_case);
        for (name, data) in named_seeds("corpus/ws_upgrade") {
            let mut bytes = &data[1..];
            let request = match sutegi::parse_request(&mut bytes, &super::split::fuzz_limits()) {
                Ok(Some(sutegi::Incoming::Request(request))) => request,
                other => panic!("{name} is not a request: {other:?}"),
            };
            let upgraded =
                sutegi::ws::WebSocketUpgrade::check(&request, &sutegi::ws::WsOptions::new())
                    .is_ok();
            if name.starts_with("valid_") {
                assert!(upgraded, "{name} is not upgraded");
            } else if name.starts_with("refused_") {
                assert!(!upgraded, "{name} is upgraded");
            }
        }
    }

    #[test]
    fn route_match_corpus_and_regressions() {
        let seeds = replay("corpus/route_match", super::route_match_case);
        assert!(seeds >= 5, "the seed corpus is committed ({seeds} files)");
        replay("regressions/route_match", super::route_match_case);
    }
}
