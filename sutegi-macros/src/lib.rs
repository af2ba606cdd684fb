//! Route attribute macros for [sutegi]: `#[get("/users/{id}")]` and its
//! siblings turn a plain function into a route, and `routes![…]` collects
//! routes into a `sutegi::Router`.
//!
//! Use them through `sutegi` (`use sutegi::{get, routes};`), never directly:
//! the code they generate names `::sutegi`. A route function stays an
//! ordinary function you can call from a unit test; the attribute adds a
//! companion item of the same name in the type namespace (a braced struct,
//! as Rocket does) carrying the method, the path, the source location and a
//! wrapper that extracts the arguments, plus a typed path builder
//! (`user::path(42) == "/users/42"`).
//!
//! ```ignore
//! use sutegi::{get, routes, Json, Query};
//!
//! #[get("/users/{id}")]
//! fn user(id: u64, q: Query<Fields>) -> Json<User> {
//!     Json(User::find(id, &q))
//! }
//!
//! assert_eq!(user::path(42), "/users/42");
//! let app = routes![user];
//! ```
//!
//! # Arguments
//!
//! An argument whose name is a capture of the path (`{id}` binds `id`,
//! `{*rest}` binds `rest`) is parsed from the percent-decoded capture with
//! `FromStr`; a failure is a 400 naming the parameter. Every other argument
//! is an extractor (`sutegi::FromRequest`): `&Request`, `Query<T>`,
//! `Json<T>`, `Form<T>`, `State<T>`, `Headers`, body types, `Option<E>`,
//! `Result<E, _>` and your own types. At most one argument may read the body.
//!
//! # What is refused at compile time
//!
//! A malformed path (checked with the same matchit rules the router uses),
//! a capture no argument takes, an argument that is neither a capture nor an
//! extractor, a return type that is not `IntoResponse`, an `async fn`, two
//! extractors that both read the body, an `#[sse]` function without its
//! `&mut SseSink` or with a borrowed extractor, and `routes!` given
//! something that is not a route. The error lands on your own tokens; the
//! function is still emitted so editors keep working.
//!
//! Two body extractors read as `error[E0080]: evaluation panicked: `A` and
//! `B` both read the request body, …`. Whether a type reads the body is
//! known only to the type checker (your own extractors can), so the check is
//! a constant assertion in the emitted code, and stable Rust prints every
//! failed constant assertion with that `evaluation panicked` wrapper. The
//! sentence after it is sutegi's, and the span is the second extractor.
//!
//! # Layout
//!
//! One direction, parse → check → emit, with no arrow back:
//!
//! - parse: `attribute` reads the attribute's arguments, `path` validates
//!   the route path;
//! - check: `handler` reads the function and refuses what cannot work;
//! - emit: `expand` writes a route's code, `routes` writes `routes!`.
//!
//! `diagnostics` (how types are quoted, how errors combine) is a leaf all
//! of them use. Parsing and checking never emit code; emitting never
//! refuses.
//!
//! [sutegi]: https://docs.rs/sutegi

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attribute;
#[cfg(feature = "openapi")]
mod describe;
mod diagnostics;
mod expand;
mod handler;
mod path;
mod routes;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::ItemFn;

use attribute::{AttrKind, Method, RouteAttr};
use diagnostics::combine;
use handler::Handler;

/// A `GET` route (HEAD is answered too, with the body left out).
///
/// ```ignore
/// use sutegi::{get, Json};
///
/// #[get("/users/{id}")]
/// fn user(id: u64) -> Json<User> {
///     Json(User::find(id))
/// }
///
/// assert_eq!(user::path(7), "/users/7");
/// ```
///
/// `{id}` binds the argument named `id`, parsed with `FromStr`; `{*rest}`
/// captures the rest of the path. Every other argument is an extractor, and
/// the return type is anything `IntoResponse`. An optional
/// `body_limit = "64MiB"` (units `B`, `KiB`, `MiB`, `GiB`, or a number of
/// bytes) raises or lowers the server's body limit for this route.
#[proc_macro_attribute]
pub fn get(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Get), attr, item)
}

/// A `POST` route.
///
/// ```ignore
/// use sutegi::{post, Json, State, Status};
///
/// #[post("/users", body_limit = "64KiB")]
/// fn create(Json(new): Json<NewUser>, db: State<Db>) -> (Status, Json<User>) {
///     (Status::CREATED, Json(db.insert(new)))
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`]. At most
/// one argument may read the body (`Json`, `Form`, `String`, `Vec<u8>`, …).
#[proc_macro_attribute]
pub fn post(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Post), attr, item)
}

/// A `PUT` route.
///
/// ```ignore
/// use sutegi::{put, Json, Status};
///
/// #[put("/users/{id}")]
/// fn replace(id: u64, Json(user): Json<NewUser>) -> Status {
///     User::replace(id, user);
///     Status::NO_CONTENT
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`].
#[proc_macro_attribute]
pub fn put(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Put), attr, item)
}

/// A `PATCH` route.
///
/// ```ignore
/// use sutegi::{patch, Json};
///
/// #[patch("/users/{id}")]
/// fn rename(id: u64, Json(change): Json<Rename>) -> Option<Json<User>> {
///     User::rename(id, &change.name).map(Json)
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`].
#[proc_macro_attribute]
pub fn patch(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Patch), attr, item)
}

/// A `DELETE` route.
///
/// ```ignore
/// use sutegi::{delete, Status};
///
/// #[delete("/users/{id}")]
/// fn remove(id: u64) -> Status {
///     if User::remove(id) { Status::NO_CONTENT } else { Status::NOT_FOUND }
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`].
#[proc_macro_attribute]
pub fn delete(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Delete), attr, item)
}

/// A `HEAD` route, for when a `GET` route's automatic HEAD answer is not
/// what you want.
///
/// ```ignore
/// use sutegi::{head, Status};
///
/// #[head("/files/{*path}")]
/// fn exists(path: String) -> Status {
///     if std::path::Path::new(&path).exists() { Status::OK } else { Status::NOT_FOUND }
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`].
#[proc_macro_attribute]
pub fn head(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Head), attr, item)
}

/// An `OPTIONS` route, for when the router's automatic answer (204 with
/// `Allow`) is not what you want.
///
/// ```ignore
/// use sutegi::{options, Response};
///
/// #[options("/upload")]
/// fn upload_options() -> Response {
///     Response::new(204).header("Allow", "POST, OPTIONS").header("Accept-Post", "image/png")
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`].
#[proc_macro_attribute]
pub fn options(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Fixed(Method::Options), attr, item)
}

/// A route for one path and several methods, each given as
/// `method = "…"` (case-sensitive, as on the wire).
///
/// ```ignore
/// use sutegi::{route, Request};
///
/// #[route("/echo", method = "GET", method = "POST", body_limit = "1MiB")]
/// fn echo(req: &Request) -> Vec<u8> {
///     req.body().to_vec()
/// }
/// ```
///
/// Arguments, return type and `body_limit` work as for [`macro@get`].
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Route, attr, item)
}

/// A Server-Sent Events stream: the function takes a `&mut SseSink` and
/// returns `std::io::Result<()>`.
///
/// ```ignore
/// use sutegi::{sse, Query, SseSink};
///
/// #[sse("/events")]
/// fn events(q: Query<Ticks>, sink: &mut SseSink) -> std::io::Result<()> {
///     for i in 0..q.n {
///         sink.event("tick", &i.to_string())?;
///     }
///     Ok(())
/// }
///
/// // An LLM-style answer streamed to a POST:
/// #[sse("/chat", method = "POST")]
/// fn chat(sutegi::Json(prompt): sutegi::Json<Prompt>, sink: &mut SseSink) -> std::io::Result<()> {
///     for token in answer(&prompt) {
///         sink.data(&token)?;
///     }
///     Ok(())
/// }
/// ```
///
/// The extractors run on the worker before the stream starts, so they can
/// still refuse with a 4xx; then the function runs on a stream thread of its
/// own, so extractors must own their values (`Query<T>`, `State<T>`,
/// `Headers`, `LastEventId`, …, not `&Request`). Each event is flushed; a
/// client that went away makes the next sink call return an error. The
/// response is `text/event-stream` with `Cache-Control: no-cache`. The method
/// is GET unless `method = "…"` says otherwise; `body_limit` works as for
/// [`macro@get`].
#[proc_macro_attribute]
pub fn sse(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Sse, attr, item)
}

/// A WebSocket: the function takes a `&mut WebSocket` and returns
/// `std::io::Result<()>`.
///
/// ```ignore
/// use sutegi::{ws, Query, WebSocket};
///
/// #[ws("/chat")]
/// fn chat(room: Query<Room>, ws: &mut WebSocket) -> std::io::Result<()> {
///     while let Some(message) = ws.recv()? {
///         ws.send(message)?;
///     }
///     Ok(())
/// }
/// ```
///
/// The opening handshake is checked first (a plain GET gets 426), then the
/// extractors run on the worker, so they can still refuse with a 4xx; then
/// the function runs on a stream thread of its own with the open socket, so
/// extractors must own their values, as for [`macro@sse`]. The method is
/// always GET. See `sutegi::ws` for the bounds and options.
#[proc_macro_attribute]
pub fn ws(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_attribute(AttrKind::Ws, attr, item)
}

/// Collects routes into a `sutegi::Router`.
///
/// ```ignore
/// use sutegi::routes;
///
/// let app = routes![user, create, events]
///     .mount("/admin", routes![admin::stats])
///     .with_state(Db::default());
/// sutegi::serve("127.0.0.1:8080", app)?;
/// ```
///
/// Each name is the path of a function that carries a route attribute
/// (`#[get]`, `#[sse]`, …). `routes![a, b]` is
/// `Router::new().route(a {}).route(b {})`: the braces build the route's
/// companion struct. So a function without a route attribute is reported by
/// rustc as "expected struct, variant or union type, found function": put a
/// route attribute on it. Another type that is not a route reads "`X` is not
/// a route".
#[proc_macro]
pub fn routes(input: TokenStream) -> TokenStream {
    match syn::parse::<routes::RouteList>(input) {
        Ok(list) => list.expand().into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Parses, checks and expands one route attribute. On refusal the user's
/// function is emitted unchanged beside the errors (as actix-web-codegen
/// does) so the rest of the crate, and the editor, still see it.
fn route_attribute(kind: AttrKind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let attr = RouteAttr::parse(kind, attr.into());
    let function = syn::parse2::<ItemFn>(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            format!("#[{}] goes on a function, like `#[{}(\"/\")] fn index() -> &'static str {{ \"hi\" }}`", kind.name(), kind.name()),
        )
    });
    let result = match (attr, function) {
        (Ok(attr), Ok(function)) => {
            let refused = refused_item(&function);
            Handler::analyze(&attr, function)
                .map(|handler| expand::expand(&attr, &handler))
                .map_err(|error| (error, refused))
        }
        (attr, function) => {
            let refused = match &function {
                Ok(function) => refused_item(function),
                Err(_) => item,
            };
            let errors = [attr.err(), function.err()].into_iter().flatten();
            Err((combine(errors).expect("one of the two failed"), refused))
        }
    };
    match result {
        Ok(tokens) => tokens.into(),
        Err((error, refused)) => {
            let error = error.to_compile_error();
            quote!(#error #refused).into()
        }
    }
}

/// What is emitted beside the errors when a function is refused: the
/// function itself and, unless another route attribute on it will define
/// one, an empty companion that still is a route,
/// so `routes![f]` elsewhere does not add a second, misleading error to the
/// real one. It never runs: the `compile_error!` beside it stops the build.
fn refused_item(function: &ItemFn) -> TokenStream2 {
    if function.attrs.iter().any(handler::is_route_attribute) {
        // The other attribute expands next and defines the companion.
        return quote!(#function);
    }
    let vis = &function.vis;
    let name = &function.sig.ident;
    quote! {
        #function

        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        impl ::sutegi::__private::RouteSource for #name {
            fn into_route(self) -> ::sutegi::Route {
                ::core::unreachable!()
            }
        }
    }
}
