//! Tests of [`ServeDir`] end to end, mostly through a router and the test
//! client, on a temporary directory tree (the steps' own unit tests are in
//! their files).

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
