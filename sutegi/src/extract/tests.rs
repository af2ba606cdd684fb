//! Tests of the extractors in this module and its children (`Json`'s are
//! in [`json`](crate::json)).

use super::*;
use crate::json::Json;
use crate::server::Method;
use crate::Status;
use serde::Deserialize;

fn request(method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    Request::new(method, target, headers, body.to_vec())
}

fn get(target: &str) -> Request {
    request(Method::Get, target, &[], b"")
}

fn extract<T: for<'r> FromRequest<'r, Rejection = Error>>(request: &Request) -> Result<T, Error> {
    T::from_request(&RequestContext::new(request))
}

#[derive(Debug, Deserialize, PartialEq)]
struct Search {
    q: String,
    #[serde(default)]
    limit: Option<u32>,
}

#[test]
fn query_decodes_forms_and_names_bad_parameters() {
    let Query(s) = extract::<Query<Search>>(&get("/s?q=a+b%21&limit=5")).unwrap();
    assert_eq!(
        s,
        Search {
            q: "a b!".into(),
            limit: Some(5)
        }
    );
    let s = extract::<Query<Search>>(&get("/s?q=&x=1")).unwrap();
    assert_eq!((s.q.as_str(), s.limit), ("", None));

    let e = extract::<Query<Search>>(&get("/s?q=a&limit=ten")).unwrap_err();
    assert_eq!(e.status(), Status::BAD_REQUEST);
    assert!(e.message().contains("`limit`"), "{}", e.message());
    let e = extract::<Query<Search>>(&get("/s?q=a&limit=")).unwrap_err();
    assert!(e.message().contains("`limit`"), "{}", e.message());
    let e = extract::<Query<Search>>(&get("/s?limit=1")).unwrap_err();
    assert_eq!(e.message(), "missing query parameter `q`");
    let e = extract::<Query<Search>>(&get("/s")).unwrap_err();
    assert_eq!(e.message(), "missing query parameter `q`");
    let e = extract::<Query<Search>>(&get("/s?q=a&limit=1&q=b")).unwrap_err();
    assert_eq!(e.status(), Status::BAD_REQUEST);
    assert_eq!(
        e.message(),
        "query parameter `q` is given more than once; give it once"
    );
    // An escaped key is the same key.
    let e = extract::<Query<Search>>(&get("/s?q=a&%71=b")).unwrap_err();
    assert!(e.message().contains("`q`"));
}

#[test]
fn option_query_is_none_only_without_a_query_string() {
    assert_eq!(extract::<Option<Query<Search>>>(&get("/s")).unwrap(), None);
    assert!(extract::<Option<Query<Search>>>(&get("/s?limit=1")).is_err());
    assert!(extract::<Option<Query<Search>>>(&get("/s?q=1"))
        .unwrap()
        .is_some());
}

#[derive(Debug, Deserialize, PartialEq)]
struct NewUser {
    name: String,
}

#[test]
fn result_hands_the_refusal_to_the_handler() {
    let r = request(Method::Post, "/", &[], b"x");
    let cx = RequestContext::new(&r);
    let result = <Result<Json<NewUser>, Error>>::from_request(&cx).unwrap();
    assert_eq!(result.unwrap_err().status(), Status::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn form_needs_its_content_type_and_names_fields() {
    let form = |ct: &str, body: &str| {
        extract::<Form<Search>>(&request(
            Method::Post,
            "/",
            &[("Content-Type", ct)],
            body.as_bytes(),
        ))
    };
    let ct = "application/x-www-form-urlencoded";
    assert_eq!(
        form(ct, "q=hello+world&limit=3").unwrap().0,
        Search {
            q: "hello world".into(),
            limit: Some(3)
        }
    );
    assert_eq!(
        form("application/json", "q=1").unwrap_err().status(),
        Status::UNSUPPORTED_MEDIA_TYPE
    );
    let e = form(ct, "q=1&limit=x").unwrap_err();
    assert_eq!(e.status(), Status::UNPROCESSABLE_CONTENT);
    assert!(
        e.message().contains("form field `limit`"),
        "{}",
        e.message()
    );
    let e = form(ct, "q=1&q=2").unwrap_err();
    assert!(e
        .message()
        .contains("form field `q` is given more than once"));
    let none = extract::<Option<Form<Search>>>(&request(Method::Post, "/", &[], b"")).unwrap();
    assert!(none.is_none());
}

#[test]
fn bodies_as_bytes_vec_and_string() {
    let r = request(Method::Post, "/", &[], b"abc");
    assert_eq!(extract::<Bytes>(&r).unwrap().0, b"abc");
    assert_eq!(extract::<Vec<u8>>(&r).unwrap(), b"abc");
    assert_eq!(extract::<String>(&r).unwrap(), "abc");
    let bad = request(Method::Post, "/", &[], &[0x61, 0xff]);
    let e = extract::<String>(&bad).unwrap_err();
    assert_eq!(e.status(), Status::BAD_REQUEST);
    assert!(e.message().contains("offset 1"));
    let empty = request(Method::Post, "/", &[], b"");
    assert_eq!(extract::<String>(&empty).unwrap(), "");
    assert_eq!(extract::<Option<String>>(&empty).unwrap(), None);
    assert_eq!(extract::<Option<Vec<u8>>>(&empty).unwrap(), None);
    assert_eq!(extract::<Option<Bytes>>(&empty).unwrap(), None);
    assert!(extract::<Option<String>>(&bad).is_err());
    const { assert!(<Bytes as FromRequest>::READS_BODY && <Option<String> as FromRequest>::READS_BODY) };
    const { assert!(!<Query<Search> as FromRequest>::READS_BODY) };
}

#[test]
fn headers_and_last_event_id() {
    let r = request(
        Method::Get,
        "/",
        &[("X-A", "1"), ("x-a", "2"), ("Last-Event-ID", "41")],
        b"",
    );
    let cx = RequestContext::new(&r);
    let headers = Headers::from_request(&cx).unwrap();
    assert_eq!(headers.get("x-A"), Some("1"));
    assert_eq!(headers.get_all("X-A").count(), 2);
    assert_eq!(headers.len(), 3);
    assert!(headers.contains("last-event-id") && !headers.contains("nope"));
    let id = extract::<LastEventId>(&r).unwrap();
    assert_eq!((id.as_str(), id.as_u64()), ("41", Some(41)));
    assert_eq!(extract::<Option<LastEventId>>(&get("/")).unwrap(), None);
    assert_eq!(LastEventId("18446744073709551616".into()).as_u64(), None);
    assert_eq!(LastEventId("".into()).as_u64(), None);
    assert_eq!(LastEventId(" 1".into()).as_u64(), None);
}

#[derive(Clone, Debug, PartialEq)]
struct UserId(u32);

#[test]
fn extensions_are_cloned_out_or_absent() {
    let mut r = get("/");
    assert_eq!(extract::<Option<Extension<UserId>>>(&r).unwrap(), None);
    assert_eq!(
        extract::<Extension<UserId>>(&r).unwrap_err().status(),
        Status::INTERNAL_SERVER_ERROR
    );
    r.extensions_mut().insert(UserId(7));
    assert_eq!(extract::<Extension<UserId>>(&r).unwrap().0, UserId(7));
}

#[test]
fn state_reads_the_router_states() {
    let r = get("/");
    let states = [StateEntry::new(5u32), StateEntry::new(String::from("cfg"))];
    let cx = RequestContext::for_route(&r, matchit::Params::new(), &states, &NOT_SHUTTING_DOWN);
    assert_eq!(*State::<u32>::from_request(&cx).unwrap(), 5);
    assert_eq!(State::<String>::from_request(&cx).unwrap().as_str(), "cfg");
    assert!(State::<u64>::from_request(&cx).is_err());
    assert!(<Option<State<u64>>>::from_request(&cx).unwrap().is_none());
    assert_eq!(
        State::<u64>::state_requirement().unwrap().type_name(),
        "u64"
    );
    assert_eq!(<Option<State<u64>>>::state_requirement(), None);
}

fn with_captures<R>(pattern: &str, path: &str, f: impl FnOnce(&RequestContext<'_>) -> R) -> R {
    let mut router = matchit::Router::new();
    router.insert(pattern, ()).unwrap();
    let request = get(path);
    let matched = router.at(request.path()).unwrap();
    let cx = RequestContext::for_route(&request, matched.params, &[], &NOT_SHUTTING_DOWN);
    f(&cx)
}

#[derive(Debug, Deserialize, PartialEq)]
struct UserPost {
    id: u64,
    post: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Admin,
    User,
}

#[test]
fn path_reads_single_values_tuples_and_structs() {
    let pattern = "/users/{id}/posts/{post}";
    with_captures(pattern, "/users/007/posts/a%2Fb%20c", |cx| {
        let Path((id, post)) = Path::<(u64, String)>::from_request(cx).unwrap();
        assert_eq!((id, post.as_str()), (7, "a/b c"));
        let Path(s) = Path::<UserPost>::from_request(cx).unwrap();
        assert_eq!(
            s,
            UserPost {
                id: 7,
                post: "a/b c".into()
            }
        );
        let e = Path::<u64>::from_request(cx).unwrap_err();
        assert!(e.message().contains("2 path captures"), "{}", e.message());
        let e = Path::<(u64, String, u8)>::from_request(cx).unwrap_err();
        assert!(e.message().contains("tuple of 3"), "{}", e.message());
    });
    with_captures(pattern, "/users/x/posts/1", |cx| {
        let e = Path::<UserPost>::from_request(cx).unwrap_err();
        assert_eq!(e.status(), Status::BAD_REQUEST);
        assert_eq!(e.message(), "path parameter `id` is not a valid u64");
        let e = Path::<(u64, String)>::from_request(cx).unwrap_err();
        assert_eq!(e.message(), "path parameter `id` is not a valid u64");
    });
    with_captures("/k/{kind}", "/k/admin", |cx| {
        assert_eq!(Path::<Kind>::from_request(cx).unwrap().0, Kind::Admin);
        assert_eq!(Path::<String>::from_request(cx).unwrap().0, "admin");
        assert_eq!(
            Path::<Option<String>>::from_request(cx)
                .unwrap()
                .0
                .as_deref(),
            Some("admin")
        );
    });
    with_captures("/k/{kind}", "/k/root", |cx| {
        let e = Path::<Kind>::from_request(cx).unwrap_err();
        assert!(
            e.message()
                .starts_with("path parameter `kind`: unknown variant"),
            "{}",
            e.message()
        );
    });
    with_captures("/f/{*rest}", "/f/a/b%20c", |cx| {
        assert_eq!(Path::<String>::from_request(cx).unwrap().0, "a/b c");
    });
    with_captures("/u/{name}", "/u/%ff", |cx| {
        let e = Path::<String>::from_request(cx).unwrap_err();
        assert!(e.message().contains("not valid UTF-8"), "{}", e.message());
    });
}

#[test]
fn capture_parses_by_name_after_decoding() {
    with_captures("/users/{id}/{name}", "/users/42/a%2Fb", |cx| {
        assert_eq!(cx.capture::<u64>("id").unwrap(), 42);
        assert_eq!(cx.capture::<String>("name").unwrap(), "a/b");
        assert_eq!(cx.capture_raw("name"), Some("a%2Fb"));
        let refusal = cx.capture::<u8>("name").unwrap_err();
        assert_eq!(refusal.status(), 400);
        let body = std::str::from_utf8(refusal.body().as_bytes().unwrap()).unwrap();
        assert!(
            body.contains("path parameter `name` is not a valid u8"),
            "{body}"
        );
        assert_eq!(cx.capture::<u8>("nope").unwrap_err().status(), 500);
        assert_eq!(cx.captures().count(), 2);
    });
}

#[test]
fn request_reference_is_the_request() {
    let r = get("/x?y");
    let cx = RequestContext::new(&r);
    let borrowed: &Request = <&Request>::from_request(&cx).unwrap();
    assert_eq!(borrowed.target(), "/x?y");
}
