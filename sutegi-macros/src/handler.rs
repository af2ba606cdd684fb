//! The function under a route attribute: which argument is a path capture,
//! which is an extractor, which is the `#[sse]` sink, and what it returns.
//!
//! This module only reads the function and refuses what can never work
//! (an `async fn`, a method, generics, a capture no argument takes, an
//! `#[sse]` function without its sink or with a borrowed extractor), each
//! error on the user's own tokens. What only the type checker can know (is
//! this type an extractor? a response? `FromStr`?) is left to checks that
//! `expand.rs` places at the argument's span.
//!
//! The file runs past 600 lines because its tests (a third of it) sit
//! beside the reader: one case for each way a function can be refused.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{FnArg, Ident, ItemFn, Pat, PatIdent, ReturnType, Type};

use crate::attribute::{AttrKind, RouteAttr};
use crate::diagnostics::{combine, type_text};
use crate::path::PathError;

/// The route attributes sutegi defines; two on one function would define
/// its companion twice.
const ROUTE_ATTRIBUTES: [&str; 10] = [
    "get", "post", "put", "patch", "delete", "head", "options", "route", "sse", "ws",
];

/// A route function, read and checked.
pub struct Handler {
    /// The function, exactly as the user wrote it.
    pub item: ItemFn,
    /// Its arguments in order.
    pub args: Vec<HandlerArg>,
    /// Its return type, if it names one.
    pub output: Option<Type>,
}

/// One argument of a route function.
pub struct HandlerArg {
    /// The argument's type, as written.
    pub ty: Type,
    /// The argument's name when its pattern is a plain identifier.
    pub ident: Option<Ident>,
    /// What the argument is fed from.
    pub kind: ArgKind,
}

/// What feeds an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgKind {
    /// A path capture of the same name, parsed with `FromStr`.
    Capture {
        /// The capture's name in the path.
        name: String,
        /// Whether it is a `{*rest}` catch-all.
        catch_all: bool,
    },
    /// Anything `FromRequest`.
    Extractor,
    /// The `&mut SseSink` of an `#[sse]` function, or the `&mut WebSocket`
    /// of a `#[ws]` function.
    Sink,
}

impl Handler {
    /// Reads `item` as the function of a route described by `attr`, refusing
    /// what cannot become a route. All the problems found are reported at once.
    pub fn analyze(attr: &RouteAttr, item: ItemFn) -> syn::Result<Handler> {
        let mut errors = Vec::new();
        check_signature(&item, &mut errors);

        let mut args = Vec::new();
        for input in &item.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    "a route is a free function, not a method: move it out of the `impl` block (it can call the method)",
                )),
                FnArg::Typed(typed) => {
                    let ident = match &*typed.pat {
                        Pat::Ident(PatIdent { ident, subpat: None, .. }) => Some(ident.clone()),
                        _ => None,
                    };
                    let ty = (*typed.ty).clone();
                    let kind = classify(attr, ident.as_ref(), &ty);
                    args.push(HandlerArg { ty, ident, kind });
                }
            }
        }

        check_captures_have_arguments(attr, &args, &mut errors);
        check_arguments(attr, &item, &args, &mut errors);

        let output = match &item.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        if attr.kind == AttrKind::Ws && output.is_none() {
            errors.push(syn::Error::new(
                item.sig.paren_token.span.close(),
                "a #[ws] function returns `std::io::Result<()>`: add `-> std::io::Result<()>` and end with `Ok(())`; an error from the socket means it closed",
            ));
        }
        if attr.kind == AttrKind::Sse && output.is_none() {
            errors.push(syn::Error::new(
                item.sig.paren_token.span.close(),
                "an #[sse] function returns `std::io::Result<()>`: add `-> std::io::Result<()>` and end with `Ok(())`; an error from the sink means the client went away",
            ));
        }

        match combine(errors) {
            Some(error) => Err(error),
            None => Ok(Handler { item, args, output }),
        }
    }
}

fn check_signature(item: &ItemFn, errors: &mut Vec<syn::Error>) {
    let sig = &item.sig;
    if let Some(token) = &sig.asyncness {
        errors.push(syn::Error::new(
            token.span,
            "sutegi handlers are synchronous: remove `async` (each request runs on a worker thread, where blocking is fine)",
        ));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(syn::Error::new(
            token.span,
            "a route cannot be an `unsafe fn`: make it safe and put the `unsafe` block inside",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a route cannot be generic: the router must know every argument's type (elided lifetimes like `&Request` are fine)",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "a route cannot be variadic",
        ));
    }
    for attr in &item.attrs {
        if is_route_attribute(attr) {
            errors.push(syn::Error::new_spanned(
                attr,
                "a function can carry one route attribute: for several methods on one path use #[route(\"/path\", method = \"GET\", method = \"POST\")]; for another path, write another function",
            ));
        }
    }
}

/// Whether `attr` looks like one of sutegi's route attributes (`#[post]`,
/// `#[sutegi::sse]`, …).
pub fn is_route_attribute(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|last| ROUTE_ATTRIBUTES.contains(&last.ident.to_string().as_str()))
}

fn classify(attr: &RouteAttr, ident: Option<&Ident>, ty: &Type) -> ArgKind {
    if let Some(ident) = ident {
        let name = ident.unraw().to_string();
        if let Some(capture) = attr.path.captures().find(|c| c.name == name) {
            return ArgKind::Capture {
                name,
                catch_all: capture.catch_all,
            };
        }
    }
    if is_sse_sink(ty) || (attr.kind == AttrKind::Ws && is_web_socket(ty)) {
        return ArgKind::Sink;
    }
    ArgKind::Extractor
}

/// `&mut WebSocket` (any path to it), recognised by spelling as the sink is.
fn is_web_socket(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => {
            reference.mutability.is_some() && names_type(&reference.elem, "WebSocket")
        }
        _ => false,
    }
}

fn names_type(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none() && path.path.segments.last().is_some_and(|s| s.ident == name)
        }
        Type::Paren(paren) => names_type(&paren.elem, name),
        _ => false,
    }
}

/// A `#[ws]` function takes exactly one `&mut WebSocket` and no `SseSink`.
fn check_ws_arguments(item: &ItemFn, args: &[HandlerArg], errors: &mut Vec<syn::Error>) {
    let mut sockets = args.iter().filter(|arg| arg.kind == ArgKind::Sink);
    if sockets.next().is_none() {
        errors.push(match args.iter().find(|arg| names_type(&arg.ty, "WebSocket")) {
            Some(arg) => syn::Error::new_spanned(
                &arg.ty,
                "the socket is lent to the function while it is open: take it as `&mut WebSocket`",
            ),
            None => syn::Error::new(
                item.sig.paren_token.span.join(),
                "a #[ws] function talks through its socket: add an argument `ws: &mut WebSocket` and call `ws.recv()` / `ws.send_text(..)` in it",
            ),
        });
    }
    for extra in sockets {
        errors.push(syn::Error::new_spanned(
            &extra.ty,
            "a #[ws] function takes one `&mut WebSocket`: remove this one",
        ));
    }
}

/// `&mut SseSink`, `&mut sutegi::SseSink`, `&mut ::sutegi::SseSink`: the
/// sink is recognised by its spelling, as the macro cannot see types.
fn is_sse_sink(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => {
            reference.mutability.is_some() && names_sse_sink(&reference.elem)
        }
        _ => false,
    }
}

fn names_sse_sink(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "SseSink")
        }
        Type::Paren(paren) => names_sse_sink(&paren.elem),
        _ => false,
    }
}

fn check_captures_have_arguments(
    attr: &RouteAttr,
    args: &[HandlerArg],
    errors: &mut Vec<syn::Error>,
) {
    for capture in attr.path.captures() {
        let taken = args
            .iter()
            .any(|arg| matches!(&arg.kind, ArgKind::Capture { name, .. } if *name == capture.name));
        if taken {
            continue;
        }
        let braces = if capture.catch_all {
            format!("{{*{}}}", capture.name)
        } else {
            format!("{{{}}}", capture.name)
        };
        let example = if capture.catch_all { "String" } else { "u64" };
        let name = &capture.name;
        let message = format!(
            "the path captures `{braces}` but the function has no argument named `{name}`: add one (like `{name}: {example}`), or rename the capture to match an argument"
        );
        let error = PathError {
            message,
            range: capture.range.clone(),
        };
        errors.push(syn::Error::new(
            attr.path_lit.span(),
            error.with_caret_under(&attr.path.raw),
        ));
    }
}

fn check_arguments(
    attr: &RouteAttr,
    item: &ItemFn,
    args: &[HandlerArg],
    errors: &mut Vec<syn::Error>,
) {
    let sse = attr.kind == AttrKind::Sse;
    let ws = attr.kind == AttrKind::Ws;
    let mut sinks = args.iter().filter(|arg| arg.kind == ArgKind::Sink);
    if ws {
        check_ws_arguments(item, args, errors);
    } else if sse {
        if sinks.next().is_none() {
            let by_value = args.iter().find(|arg| names_sse_sink(&arg.ty));
            errors.push(match by_value {
                Some(arg) => syn::Error::new_spanned(
                    &arg.ty,
                    "the sink is lent to the function while the stream runs: take it as `&mut SseSink`",
                ),
                None => syn::Error::new(
                    item.sig.paren_token.span.join(),
                    "an #[sse] function sends its events into a sink: add an argument `sink: &mut SseSink` and call `sink.event(..)` or `sink.data(..)` in it",
                ),
            });
        }
        for extra in sinks {
            errors.push(syn::Error::new_spanned(
                &extra.ty,
                "an #[sse] function takes one `&mut SseSink`: remove this one",
            ));
        }
    } else if let Some(sink) = sinks.next() {
        errors.push(syn::Error::new_spanned(
            &sink.ty,
            format!(
                "`&mut SseSink` belongs to a stream of events: use #[sse(\"{}\")] instead of #[{}]",
                attr.path.raw,
                attr.kind.name()
            ),
        ));
    }

    for arg in args {
        if let (ArgKind::Capture { name, .. }, Type::Reference(_)) = (&arg.kind, &arg.ty) {
            errors.push(syn::Error::new_spanned(
                &arg.ty,
                format!(
                    "capture `{name}` is percent-decoded into a value of its own, so it cannot be borrowed: take `{name}: String` (or any type that implements `FromStr`)"
                ),
            ));
        } else if contains_impl_trait(arg.ty.to_token_stream()) {
            errors.push(syn::Error::new_spanned(
                &arg.ty,
                "a route's arguments need concrete types: `impl Trait` makes the function generic, and the router must know what to extract",
            ));
        } else if (sse || ws) && arg.kind == ArgKind::Extractor && borrows(arg.ty.to_token_stream())
        {
            errors.push(syn::Error::new_spanned(
                &arg.ty,
                format!(
                    "an #[{}] function's extractors must own their data: the {} runs on after the request is gone, so `{}` cannot be taken here; use owned extractors (`Headers`, `Query<T>`, `State<T>`, `LastEventId`, ...)",
                    attr.kind.name(),
                    if ws { "socket" } else { "stream" },
                    type_text(&arg.ty)
                ),
            ));
        }
    }
}

fn contains_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => contains_impl_trait(group.stream()),
        _ => false,
    })
}

/// Whether a type holds a reference or a lifetime other than `'static`.
fn borrows(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.iter().enumerate().any(|(i, tree)| match tree {
        TokenTree::Punct(p) if p.as_char() == '&' => !is_static_lifetime(&trees[i + 1..]),
        TokenTree::Punct(p) if p.as_char() == '\'' => !is_static_lifetime(&trees[i..]),
        TokenTree::Group(group) => borrows(group.stream()),
        _ => false,
    })
}

fn is_static_lifetime(trees: &[TokenTree]) -> bool {
    matches!(trees, [TokenTree::Punct(tick), TokenTree::Ident(name), ..] if tick.as_char() == '\'' && name == "static")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Method;
    use quote::quote;

    fn analyze(kind: AttrKind, attr: TokenStream, item: TokenStream) -> syn::Result<Handler> {
        let attr = RouteAttr::parse(kind, attr).unwrap();
        Handler::analyze(&attr, syn::parse2(item).unwrap())
    }

    const GET: AttrKind = AttrKind::Fixed(Method::Get);

    #[test]
    fn arguments_are_captures_extractors_or_the_sink() {
        let handler = analyze(
            GET,
            quote!("/users/{id}/{*rest}"),
            quote!(
                fn f(q: Query<X>, mut id: u64, Json(b): Json<B>, r#rest: String, _: &Request) {}
            ),
        )
        .unwrap();
        let kinds: Vec<ArgKind> = handler.args.iter().map(|a| a.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                ArgKind::Extractor,
                ArgKind::Capture {
                    name: "id".into(),
                    catch_all: false
                },
                ArgKind::Extractor,
                ArgKind::Capture {
                    name: "rest".into(),
                    catch_all: true
                },
                ArgKind::Extractor,
            ]
        );
        assert!(handler.output.is_none());

        let handler = analyze(
            AttrKind::Sse,
            quote!("/events"),
            quote!(
                fn f(q: Query<X>, sink: &mut sutegi::SseSink) -> io::Result<()> {
                    Ok(())
                }
            ),
        )
        .unwrap();
        assert_eq!(handler.args[1].kind, ArgKind::Sink);
    }

    #[test]
    fn a_keyword_capture_binds_a_raw_identifier() {
        let handler = analyze(
            GET,
            quote!("/{type}"),
            quote!(
                fn f(r#type: String) {}
            ),
        )
        .unwrap();
        assert_eq!(
            handler.args[0].kind,
            ArgKind::Capture {
                name: "type".into(),
                catch_all: false
            }
        );
    }

    #[test]
    fn refusals() {
        let table: &[(AttrKind, TokenStream, TokenStream, &str)] = &[
            (
                GET,
                quote!("/"),
                quote!(
                    async fn f() {}
                ),
                "remove `async`",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    unsafe fn f() {}
                ),
                "`unsafe fn`",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    fn f<T>(t: T) {}
                ),
                "cannot be generic",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    fn f<'a>(r: &'a Request) {}
                ),
                "cannot be generic",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    fn f(self) {}
                ),
                "not a method",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    fn f(q: impl Extract) {}
                ),
                "`impl Trait`",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    #[post("/x")]
                    fn f() {}
                ),
                "one route attribute",
            ),
            (
                GET,
                quote!("/users/{id}"),
                quote!(
                    fn f(user_id: u64) {}
                ),
                "no argument named `id`",
            ),
            (
                GET,
                quote!("/"),
                quote!(
                    fn f(s: &mut SseSink) {}
                ),
                "use #[sse(\"/\")]",
            ),
            (
                GET,
                quote!("/{name}"),
                quote!(
                    fn f(name: &str) {}
                ),
                "take `name: String`",
            ),
            (
                AttrKind::Sse,
                quote!("/e"),
                quote!(
                    fn f() -> io::Result<()> {}
                ),
                "add an argument `sink: &mut SseSink`",
            ),
            (
                AttrKind::Sse,
                quote!("/e"),
                quote!(
                    fn f(s: SseSink) -> io::Result<()> {}
                ),
                "take it as `&mut SseSink`",
            ),
            (
                AttrKind::Sse,
                quote!("/e"),
                quote!(
                    fn f(a: &mut SseSink, b: &mut SseSink) -> io::Result<()> {}
                ),
                "one `&mut SseSink`",
            ),
            (
                AttrKind::Sse,
                quote!("/e"),
                quote!(
                    fn f(r: &Request, s: &mut SseSink) -> io::Result<()> {}
                ),
                "`&Request` cannot be taken here",
            ),
            (
                AttrKind::Sse,
                quote!("/e"),
                quote!(
                    fn f(r: Option<Foo<'a>>, s: &mut SseSink) -> io::Result<()> {}
                ),
                "must own their data",
            ),
            (
                AttrKind::Sse,
                quote!("/e"),
                quote!(
                    fn f(s: &mut SseSink) {}
                ),
                "returns `std::io::Result<()>`",
            ),
        ];
        for (kind, attr, item, expected) in table {
            let error = match analyze(*kind, attr.clone(), item.clone()) {
                Ok(_) => panic!("{item} should be refused"),
                Err(error) => error.to_string(),
            };
            assert!(error.contains(expected), "{item}: {error}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = match analyze(
            GET,
            quote!("/{a}/{b}"),
            quote!(
                async fn f() {}
            ),
        ) {
            Ok(_) => panic!("should be refused"),
            Err(error) => error,
        };
        assert_eq!(error.into_iter().count(), 3);
    }

    #[test]
    fn static_references_are_owned_enough() {
        assert!(!borrows(quote!(&'static str)));
        assert!(!borrows(quote!(Cow<'static, str>)));
        assert!(borrows(quote!(&str)));
        assert!(borrows(quote!(Option<&Request>)));
        assert!(borrows(quote!(Headers<'a>)));
    }
}
