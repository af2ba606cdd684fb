//! Paths both ways: `url_for` with mount prefixes, the path builders'
//! encoding and its round trip through routing (also as properties),
//! pattern parsing, and routing cost against table size.

use super::*;

#[test]
fn url_for_adds_mount_prefixes() {
    let user = || Route::new(&[Method::Get], "/users/{id}", || "");
    let files = || Route::new(&[Method::Get], "/files/{*path}", || "");
    let members = || Route::new(&[Method::Get], "/members/{id}", || "");
    let router = Router::new()
        .mount("/admin", Router::new().route(user()))
        .route(files())
        .mount("/orgs/{org}", Router::new().route(members()));
    assert_eq!(router.url_for(user(), &[&42]).unwrap(), "/admin/users/42");
    assert_eq!(
        router.url_for(user(), &[&"a b/c"]).unwrap(),
        "/admin/users/a%20b%2Fc"
    );
    assert_eq!(
        router.url_for(files(), &[&"a/b c.txt"]).unwrap(),
        "/files/a/b%20c.txt"
    );
    assert_eq!(
        router.url_for(members(), &[&"acme", &3]).unwrap(),
        "/orgs/acme/members/3"
    );
    assert_eq!(
        router.url_for(user(), &[]),
        Err(UrlError::WrongArgumentCount {
            path: "/admin/users/{id}".into(),
            expected: 1,
            given: 0
        })
    );
    let elsewhere = Route::new(&[Method::Get], "/users/{id}", || "");
    assert!(matches!(
        router.url_for(elsewhere, &[&1]),
        Err(UrlError::NotInRouter { .. })
    ));

    let twice = Router::new()
        .mount("/a", Router::new().route(user()))
        .mount("/b", Router::new().route(user()));
    assert!(matches!(
        twice.url_for(user(), &[&1]),
        Err(UrlError::Ambiguous { .. })
    ));

    let handler = router.into_handler().unwrap();
    assert_eq!(handler.url_for(user(), &[&7]).unwrap(), "/admin/users/7");
}

#[test]
fn path_builder_encodes_each_capture_as_one_segment() {
    let build = |value: &str| {
        build_path(&[
            PathPiece::Literal("/u/"),
            PathPiece::Capture(&value),
            PathPiece::Literal("/x"),
        ])
    };
    assert_eq!(build("42"), "/u/42/x");
    assert_eq!(build("a b"), "/u/a%20b/x");
    assert_eq!(build("a/b?c#d%"), "/u/a%2Fb%3Fc%23d%25/x");
    assert_eq!(build("é"), "/u/%C3%A9/x");
    assert_eq!(build("."), "/u/%2E/x");
    assert_eq!(build(".."), "/u/%2E%2E/x");
    assert_eq!(
        build("a.b-c_d~e!$&'()*+,;=:@"),
        "/u/a.b-c_d~e!$&'()*+,;=:@/x"
    );
    let rest = build_path(&[PathPiece::Literal("/f/"), PathPiece::CatchAll(&"a/../b c/")]);
    assert_eq!(rest, "/f/a/%2E%2E/b%20c/");
}

#[test]
fn built_paths_route_back_to_their_values() {
    let app = Router::new()
        .get("/u/{name}", |Path(name): Path<String>| name)
        .get("/f/{*rest}", |Path(rest): Path<String>| rest)
        .into_handler()
        .unwrap();
    for value in ["plain", "a b", "a/b", "100%", "é?#", "..", "{x}"] {
        let path = build_path(&[PathPiece::Literal("/u/"), PathPiece::Capture(&value)]);
        assert_eq!(get(&app, &path), (200, value.to_owned()), "{path}");
    }
    let path = build_path(&[
        PathPiece::Literal("/f/"),
        PathPiece::CatchAll(&"dir/a b.txt"),
    ]);
    assert_eq!(get(&app, &path), (200, "dir/a b.txt".to_owned()));
}

#[test]
fn pattern_parsing_handles_escaped_braces() {
    assert_eq!(
        parse_pattern("/a{{b}}/{id}x/{*rest}"),
        vec![
            PatternPiece::Literal("/a{b}/".into()),
            PatternPiece::Capture("id"),
            PatternPiece::Literal("x/".into()),
            PatternPiece::CatchAll("rest"),
        ]
    );
    assert_eq!(normalized("/a/{id}/b/{*r}"), "/a/{}/b/{*}");
    assert_eq!(normalized("/a{{"), "/a{{");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn app() -> RouterHandler {
        Router::new()
            .get("/u/{name}/x", |Path(name): Path<String>| name)
            .get("/f/{*rest}", |Path(rest): Path<String>| rest)
            .into_handler()
            .unwrap()
    }

    proptest! {
        /// Whatever a capture holds, the path builder's output routes back
        /// to exactly that value (one segment: `/`, `%`, `?`, `#`, dots and
        /// non-ASCII included).
        #[test]
        fn a_built_capture_routes_back_to_its_value(value in "\\PC+") {
            let path = build_path(&[PathPiece::Literal("/u/"), PathPiece::Capture(&value), PathPiece::Literal("/x")]);
            prop_assert_eq!(get(&app(), &path), (200, value));
        }

        #[test]
        fn a_built_catch_all_routes_back_to_its_value(value in "[^/]\\PC*") {
            let path = build_path(&[PathPiece::Literal("/f/"), PathPiece::CatchAll(&value)]);
            prop_assert_eq!(get(&app(), &path), (200, value));
        }

        /// No request path makes dispatch panic or answer outside the
        /// statuses the router gives.
        #[test]
        fn any_path_gets_an_answer(path in "/[ -~]{0,40}") {
            let status = send(&app(), Method::Get, &path).status();
            prop_assert!([200, 400, 404].contains(&status), "{} for {}", status, path);
        }
    }
}
