//! `name::path(..)` builds a route's path: one argument per capture, in path
//! order, percent-encoded; a catch-all keeps its slashes.

use sutegi::get;

#[get("/users/{id}")]
fn user(id: u64) -> String {
    id.to_string()
}

// Arguments in another order than the captures: `path` follows the path.
#[get("/orgs/{org}/members/{member}")]
fn member(member: String, org: String) -> String {
    format!("{org}/{member}")
}

#[get("/files/{*rest}")]
fn file(rest: String) -> String {
    rest
}

#[get("/img{n}.png")]
fn image(n: u32) -> String {
    n.to_string()
}

#[get("/{{literal}}/{type}")]
fn keyword(r#type: String) -> String {
    r#type
}

#[get("/")]
fn root() -> &'static str {
    "root"
}

fn main() {
    assert_eq!(user::path(42), "/users/42");
    assert_eq!(member::path("acme", "ann"), "/orgs/acme/members/ann");
    assert_eq!(member::path("a b", "c/d"), "/orgs/a%20b/members/c%2Fd");
    assert_eq!(file::path("css/site.css"), "/files/css/site.css");
    assert_eq!(image::path(7), "/img7.png");
    assert_eq!(keyword::path("x"), "/{literal}/x");
    assert_eq!(root::path(), "/");
}
