//! Request ids: a valid client id echoed and given to handlers, an invalid
//! one replaced, a handler's own id overridden, fresh ids unique with one
//! process prefix, and the validation rule.

use super::*;
use crate::middleware::request_id::is_valid_request_id;
use std::collections::HashSet;

fn id_app() -> RouterHandler {
    Router::new()
        .get("/id", |Extension(id): Extension<RequestId>| id.to_string())
        .get("/sets-its-own", || {
            Response::text("x").header("X-Request-Id", "from-the-handler")
        })
        .layer(RequestIds::new())
        .into_handler()
        .unwrap()
}

#[test]
fn a_valid_request_id_is_echoed_and_given_to_handlers() {
    let app = id_app();
    let long = "x".repeat(128);
    for id in ["abc-123", "!", "~", long.as_str(), "a:b/c=d"] {
        let response = send(&app, Method::Get, "/id", &[("X-Request-Id", id)]);
        assert_eq!(response.header_value("x-request-id"), Some(id));
        assert_eq!(body_text(&response), id);
    }
    // On every response: a 404 too.
    let missing = send(&app, Method::Get, "/nope", &[("x-request-id", "r1")]);
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.header_value("x-request-id"), Some("r1"));
}

#[test]
fn an_invalid_request_id_is_replaced_by_a_fresh_one() {
    let app = id_app();
    let too_long = "x".repeat(129);
    for bad in ["", "with space", "tab\there", "é", too_long.as_str()] {
        let response = send(&app, Method::Get, "/id", &[("X-Request-Id", bad)]);
        let id = response.header_value("x-request-id").unwrap().to_owned();
        assert_ne!(id, bad.trim());
        assert!(is_valid_request_id(id.as_bytes()), "{id:?}");
        assert_eq!(body_text(&response), id);
    }
}

#[test]
fn a_handler_set_request_id_is_replaced_so_header_and_extension_agree() {
    let app = id_app();
    let response = send(
        &app,
        Method::Get,
        "/sets-its-own",
        &[("X-Request-Id", "mine")],
    );
    let ids: Vec<&str> = response
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-request-id"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(ids, ["mine"]);
}

#[test]
fn fresh_request_ids_are_unique_and_share_a_process_prefix() {
    let app = Arc::new(id_app());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let app = Arc::clone(&app);
            std::thread::spawn(move || {
                (0..500)
                    .map(|_| {
                        let response = send(&app, Method::Get, "/id", &[]);
                        response.header_value("x-request-id").unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    let prefixes: HashSet<&str> = ids.iter().map(|id| id.split('-').next().unwrap()).collect();
    assert_eq!(prefixes.len(), 1);
    let prefix = prefixes.into_iter().next().unwrap();
    assert_eq!(prefix.len(), 16);
    assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn request_id_validation_is_visible_ascii_of_1_to_128() {
    assert!(is_valid_request_id(b"a"));
    assert!(is_valid_request_id(&[0x21; 128]));
    assert!(is_valid_request_id(&[0x7E; 3]));
    assert!(!is_valid_request_id(b""));
    assert!(!is_valid_request_id(&[b'a'; 129]));
    assert!(!is_valid_request_id(b"a b"));
    assert!(!is_valid_request_id(&[0x7F]));
    assert!(!is_valid_request_id(&[0x20]));
    assert!(!is_valid_request_id("ü".as_bytes()));
}
