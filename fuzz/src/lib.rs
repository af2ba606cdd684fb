//! The fuzzing checks of sutegi, shared by the `cargo fuzz` targets (in
//! `fuzz_targets/`) and by the replay tests below, which run every input of
//! the committed corpus and every crash regression through the same checks
//! on stable Rust, in CI.
//!
//! - [`parse_request_case`]: the request codec (heads, limits, chunked
//!   bodies) under arbitrary bytes, split at every place a socket could
//!   split them.
//! - [`route_match_case`]: route matching and capture decoding under
//!   arbitrary paths.

use std::io::BufReader;
use std::sync::OnceLock;

use sutegi::{
    parse_request, Handler, Incoming, Limits, Method, Path, Request, Router, RouterHandler,
};

/// The codec under arbitrary bytes: the first byte sets the reader's buffer
/// size, the rest is what a client sent. It must never panic, and whatever
/// it accepts must be self-consistent.
pub fn parse_request_case(data: &[u8]) {
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut reader = BufReader::with_capacity(usize::from(split).max(1), bytes);
    // Several requests in a row, as a pipelining client sends them.
    for _ in 0..8 {
        match parse_request(&mut reader, &limits) {
            Ok(Some(Incoming::Request(request))) => {
                assert!(request.target().len() <= limits.max_target_bytes);
                assert!(request.path().len() <= request.target().len());
                assert!(request.body().len() as u64 <= limits.max_body_bytes);
                let _ = (
                    request.query(),
                    request.headers().count(),
                    request.header("host"),
                );
            }
            Ok(Some(Incoming::Refused(refusal))) => {
                assert!((400..600).contains(&refusal.status()));
                break;
            }
            Ok(Some(_)) | Ok(None) | Err(_) => break,
        }
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

    #[test]
    fn parse_request_corpus_and_regressions() {
        let seeds = replay("corpus/parse_request", super::parse_request_case);
        assert!(seeds >= 8, "the seed corpus is committed ({seeds} files)");
        replay("regressions/parse_request", super::parse_request_case);
    }

    #[test]
    fn route_match_corpus_and_regressions() {
        let seeds = replay("corpus/route_match", super::route_match_case);
        assert!(seeds >= 5, "the seed corpus is committed ({seeds} files)");
        replay("regressions/route_match", super::route_match_case);
    }
}
