//! Code generation, the last step of parse → check → emit: a checked route
//! becomes the user's function (untouched), a companion struct of the same
//! name, its `path(..)` builder and its `RouteSource` impl. The runtime side
//! of that contract (`RouteInfo`, `boxed_handler`, `build_path`) lives in
//! sutegi's `__private` module; this crate only names it.
//!
//! The generated code names only `::sutegi` items. Checks the type checker
//! must make (is this argument an extractor, is that return type a
//! response, is a capture's type `FromStr`) are emitted with the span of the
//! user's own tokens, so the error lands on the argument or return type it
//! is about. What the attribute and the function say was validated by
//! `attribute.rs` and `handler.rs`; nothing here refuses anything.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

use crate::attribute::{AttrKind, RouteAttr};
use crate::diagnostics::type_text;
use crate::handler::{ArgKind, Handler, HandlerArg};
use crate::path::Piece;

/// Expands a checked route.
pub fn expand(attr: &RouteAttr, handler: &Handler) -> TokenStream {
    let item = &handler.item;
    let vis = &item.vis;
    let name = &item.sig.ident;
    let name_text = name.unraw().to_string();
    // A `#[cfg]` that removes the function removes its companion too.
    let cfgs = item.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    let cfgs = quote!(#(#cfgs)*);

    let methods_text = attr
        .methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let struct_doc = format!(
        "The route `{methods_text} {}`, served by the function of the same name: pass it to `routes![{name_text}]`.",
        attr.path.raw
    );
    let path_builder = path_builder(attr, handler);
    let route_info = route_info(attr, handler);
    let route = quote!(::sutegi::Route::__from_macro(#route_info));
    // Under sutegi's `openapi` feature the route also says what it is.
    #[cfg(feature = "openapi")]
    let route = crate::describe::describe(attr, handler, route);
    let body_checks = body_checks(handler, &cfgs);

    quote! {
        #item

        #cfgs
        #[doc = #struct_doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #cfgs
        #[allow(dead_code)]
        impl #name {
            #path_builder
        }

        #cfgs
        impl ::sutegi::__private::RouteSource for #name {
            fn into_route(self) -> ::sutegi::Route {
                #route
            }
        }

        #body_checks
    }
}

/// `user::path(42) == "/users/42"`: one argument per capture, in path order.
fn path_builder(attr: &RouteAttr, handler: &Handler) -> TokenStream {
    let vis = &handler.item.vis;
    let params: Vec<&Ident> = attr
        .path
        .captures()
        .map(|capture| capture_ident(handler, &capture.name))
        .collect();
    let pieces = attr.path.pieces.iter().map(|piece| match piece {
        Piece::Literal(text) => quote!(::sutegi::__private::PathPiece::Literal(#text)),
        Piece::Capture(capture) => {
            let ident = capture_ident(handler, &capture.name);
            if capture.catch_all {
                quote!(::sutegi::__private::PathPiece::CatchAll(&#ident))
            } else {
                quote!(::sutegi::__private::PathPiece::Capture(&#ident))
            }
        }
    });
    let doc = if params.is_empty() {
        format!("Builds this route's path, `{}`, relative to the router it is mounted in (`Router::url_for` adds a mount prefix).", attr.path.raw)
    } else {
        format!("Builds this route's path, `{}`, from its captures in path order, each percent-encoded, relative to the router it is mounted in (`Router::url_for` adds a mount prefix).", attr.path.raw)
    };
    quote! {
        #[doc = #doc]
        #[must_use]
        #vis fn path(#(#params: impl ::std::fmt::Display),*) -> ::std::string::String {
            ::sutegi::__private::build_path(&[#(#pieces),*])
        }
    }
}

fn capture_ident<'a>(handler: &'a Handler, name: &str) -> &'a Ident {
    handler
        .args
        .iter()
        .find(|arg| matches!(&arg.kind, ArgKind::Capture { name: n, .. } if n == name))
        .and_then(|arg| arg.ident.as_ref())
        .expect("handler.rs refuses a capture no argument takes")
}

fn route_info(attr: &RouteAttr, handler: &Handler) -> TokenStream {
    let methods = attr.methods.iter().map(|m| {
        let variant = Ident::new(m.variant(), Span::call_site());
        quote!(::sutegi::Method::#variant)
    });
    let path = LitStr::new(&attr.path.raw, attr.path_lit.span());
    let name = handler.item.sig.ident.unraw().to_string();
    let body_limit = match attr.body_limit {
        Some(bytes) => {
            let bytes = proc_macro2::Literal::u64_unsuffixed(bytes);
            quote!(::core::option::Option::Some(#bytes))
        }
        None => quote!(::core::option::Option::None),
    };
    let kind = match attr.kind {
        AttrKind::Sse => quote!(::sutegi::__private::RouteKind::Stream),
        AttrKind::Ws => quote!(::sutegi::__private::RouteKind::WebSocket),
        AttrKind::Fixed(_) | AttrKind::Route => quote!(::sutegi::__private::RouteKind::Plain),
    };
    // The location is the path literal's, so a conflict names the attribute.
    let here = attr.path_lit.span();
    let file = quote_spanned!(here=> ::core::file!());
    let line = quote_spanned!(here=> ::core::line!());
    let column = quote_spanned!(here=> ::core::column!());
    let state_requirements = handler
        .args
        .iter()
        .filter(|a| a.kind == ArgKind::Extractor)
        .map(|arg| {
            let ty = &arg.ty;
            // Named with the argument's type, so the router's check can
            // say which extractor needs the state.
            quote_spanned!(ty.span()=> <#ty as ::sutegi::FromRequest>::state_requirement()
                .map(|needed| needed.needed_by(::core::any::type_name::<#ty>())))
        });
    let content_type_checks = extractor_consts(handler, "CONTENT_TYPE_CHECK");
    let streams_body = extractor_consts(handler, "STREAMS_BODY");
    let wrapper = wrapper(attr, handler);
    quote! {
        ::sutegi::__private::RouteInfo {
            methods: &[#(#methods),*],
            path: #path,
            name: #name,
            module: ::core::module_path!(),
            file: #file,
            line: #line,
            column: #column,
            body_limit: #body_limit,
            kind: #kind,
            state_requirements: ::std::vec![#(#state_requirements),*],
            content_type_check: ::sutegi::__private::first_content_type_check(
                &[#(#content_type_checks),*]
            ),
            streams_body: false #(|| #streams_body)*,
            handler: #wrapper,
        }
    }
}

/// `<T as FromRequest>::NAME` for each extractor argument's type `T`,
/// spanned at the type so an error points at the argument.
fn extractor_consts<'h>(
    handler: &'h Handler,
    name: &str,
) -> impl Iterator<Item = TokenStream> + 'h {
    let name = Ident::new(name, Span::call_site());
    handler
        .args
        .iter()
        .filter(|a| a.kind == ArgKind::Extractor)
        .map(move |arg| {
            let ty = &arg.ty;
            quote_spanned!(ty.span()=> <#ty as ::sutegi::FromRequest>::#name)
        })
}

/// The closure the router calls: extract every argument (a refusal returns
/// early as a response), call the function, turn its value into a response.
fn wrapper(attr: &RouteAttr, handler: &Handler) -> TokenStream {
    let cx = Ident::new("__sutegi_cx", Span::mixed_site());
    let sink = Ident::new("__sutegi_sink", Span::mixed_site());
    let locals: Vec<Ident> = (0..handler.args.len())
        .map(|i| format_ident!("__sutegi_arg{}", i, span = Span::mixed_site()))
        .collect();
    let extractions = handler.args.iter().zip(&locals).filter_map(|(arg, local)| {
        let ty = &arg.ty;
        let span = ty.span();
        let value = Ident::new("__sutegi_value", Span::mixed_site());
        let refusal = Ident::new("__sutegi_refusal", Span::mixed_site());
        match &arg.kind {
            ArgKind::Sink => None,
            ArgKind::Capture { name, .. } => Some(quote_spanned! {span=>
                let #local: #ty = match <#ty as FromPathCapture>::from_path_capture(#cx, #name) {
                    ::core::result::Result::Ok(#value) => #value,
                    ::core::result::Result::Err(#refusal) => return #refusal,
                };
            }),
            ArgKind::Extractor => {
                let call_args = group_spanning_to(&arg.ty, quote!(#cx));
                Some(quote_spanned! {span=>
                    let #local = match <#ty as ::sutegi::FromRequest>::from_request #call_args {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#refusal) => {
                            return ::sutegi::IntoResponse::into_response(#refusal)
                        }
                    };
                })
            }
        }
    });
    let call_args = handler
        .args
        .iter()
        .zip(&locals)
        .map(|(arg, local)| match arg.kind {
            ArgKind::Sink => sink.to_token_stream(),
            _ => local.to_token_stream(),
        });
    let name = &handler.item.sig.ident;
    let ret_span = match &handler.output {
        Some(ty) => ty.span(),
        None => name.span(),
    };
    let mut callee = name.clone();
    callee.set_span(ret_span);
    let call = quote_spanned!(ret_span=> #callee(#(#call_args),*));

    let respond = match attr.kind {
        AttrKind::Sse => quote_spanned! {ret_span=>
            ::sutegi::Response::sse(move |#sink: &mut ::sutegi::SseSink| -> ::std::io::Result<()> {
                #call
            })
        },
        AttrKind::Ws => ws_respond(ret_span, &sink, call),
        AttrKind::Fixed(_) | AttrKind::Route => respond(handler.output.as_ref(), ret_span, call),
    };
    let upgrade = match attr.kind {
        AttrKind::Ws => ws_handshake(),
        _ => TokenStream::new(),
    };
    let capture_trait = if handler
        .args
        .iter()
        .any(|arg| matches!(arg.kind, ArgKind::Capture { .. }))
    {
        capture_trait()
    } else {
        TokenStream::new()
    };
    quote! {
        ::sutegi::__private::boxed_handler(|#cx: &::sutegi::__private::Context<'_>| -> ::sutegi::Response {
            #capture_trait
            #upgrade
            #(#extractions)*
            #respond
        })
    }
}

/// A `#[ws]` route checks the opening handshake before its other
/// extractors, so a plain GET is told it reached a WebSocket (426).
fn ws_handshake() -> TokenStream {
    let cx = Ident::new("__sutegi_cx", Span::mixed_site());
    let upgrade = Ident::new("__sutegi_upgrade", Span::mixed_site());
    quote! {
        let #upgrade = match <::sutegi::ws::WebSocketUpgrade as ::sutegi::FromRequest>::from_request(#cx) {
            ::core::result::Result::Ok(upgrade) => upgrade,
            ::core::result::Result::Err(refusal) => return refusal,
        };
    }
}

/// The 101 answer whose socket runs the user's function.
fn ws_respond(span: Span, socket: &Ident, call: TokenStream) -> TokenStream {
    let upgrade = Ident::new("__sutegi_upgrade", Span::mixed_site());
    quote_spanned! {span=>
        #upgrade.on_upgrade(move |#socket: &mut ::sutegi::WebSocket| -> ::std::io::Result<()> {
            #call
        })
    }
}

/// The trait a capture is parsed through, defined in the generated code so
/// that a capture type without `FromStr` is reported on the user's argument
/// in the user's words: the call `<Ty as FromPathCapture>::..` names the
/// trait itself (no "required by a bound in" pointing into sutegi), and
/// `do_not_recommend` keeps the blanket impl out of the message. The bound
/// is `FromStr` itself, so the generated code names no sutegi trait that
/// may move.
fn capture_trait() -> TokenStream {
    quote! {
        #[diagnostic::on_unimplemented(
            message = "a path capture cannot be parsed into `{Self}`",
            label = "a capture's type must implement `FromStr`",
            note = "an argument named like a `{{capture}}` in the path is parsed from its text with `FromStr`: use a number, `String`, or your own type with a `FromStr` impl"
        )]
        trait FromPathCapture: ::core::marker::Sized {
            fn from_path_capture(
                cx: &::sutegi::__private::Context<'_>,
                name: &str,
            ) -> ::core::result::Result<Self, ::sutegi::Response>;
        }
        #[diagnostic::do_not_recommend]
        impl<T: ::core::str::FromStr> FromPathCapture for T {
            fn from_path_capture(
                cx: &::sutegi::__private::Context<'_>,
                name: &str,
            ) -> ::core::result::Result<T, ::sutegi::Response> {
                cx.capture::<T>(name)
            }
        }
    }
}

/// `(inner)` whose parentheses carry the span of `ty`'s last token: a call
/// `<#ty as Trait>::f(inner)` built with the span of `ty`'s first token then
/// covers exactly the type, so an error about the call reads the same as one
/// about the type and rustc shows it once (stable Rust cannot join spans).
fn group_spanning_to(ty: &Type, inner: TokenStream) -> Group {
    let last = ty
        .to_token_stream()
        .into_iter()
        .last()
        .map_or_else(Span::call_site, |tree| match tree {
            TokenTree::Group(group) => group.span_close(),
            other => other.span(),
        });
    let mut group = Group::new(Delimiter::Parenthesis, inner);
    group.set_span(last);
    group
}

/// `<Ret as IntoResponse>::into_response(call)` names the return type so a
/// type that is not a response is reported on the whole of it; an
/// `impl Trait` return cannot be named, so it goes through the trait path.
fn respond(output: Option<&Type>, span: Span, call: TokenStream) -> TokenStream {
    match output {
        Some(ty) if !matches!(ty, Type::ImplTrait(_)) => quote_spanned! {span=>
            <#ty as ::sutegi::IntoResponse>::into_response(#call)
        },
        _ => quote_spanned! {span=>
            ::sutegi::IntoResponse::into_response(#call)
        },
    }
}

/// A handler reads the request body at most once: for every pair of
/// extractors, a constant that fails to compile when both read it, placed
/// on the second one.
fn body_checks(handler: &Handler, cfgs: &TokenStream) -> TokenStream {
    let extractors: Vec<&HandlerArg> = handler
        .args
        .iter()
        .filter(|arg| arg.kind == ArgKind::Extractor)
        .collect();
    let mut checks = TokenStream::new();
    for (i, second) in extractors.iter().enumerate() {
        for first in &extractors[..i] {
            let (a, b) = (&first.ty, &second.ty);
            let message = format!(
                "`{}` and `{}` both read the request body, which can be read only once: keep one of them",
                type_text(a),
                type_text(b)
            );
            checks.extend(quote_spanned! {b.span()=>
                #cfgs
                const _: () = ::core::assert!(
                    !(<#a as ::sutegi::FromRequest>::READS_BODY && <#b as ::sutegi::FromRequest>::READS_BODY),
                    #message
                );
            });
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Method;

    fn expand_str(kind: AttrKind, attr: TokenStream, item: TokenStream) -> String {
        let attr = RouteAttr::parse(kind, attr).unwrap();
        let handler = match Handler::analyze(&attr, syn::parse2(item).unwrap()) {
            Ok(handler) => handler,
            Err(error) => panic!("{error}"),
        };
        // Compare without the spaces `quote` puts between tokens.
        expand(&attr, &handler).to_string().replace(' ', "")
    }

    #[test]
    fn a_route_expands_to_the_contract() {
        let out = expand_str(
            AttrKind::Fixed(Method::Get),
            quote!("/users/{id}/{*rest}", body_limit = "1KiB"),
            quote!(
                #[cfg(feature = "x")]
                pub(crate) fn user(q: Query<X>, id: u64, rest: String) -> Json<U> {
                    todo!()
                }
            ),
        );
        for expected in [
            // The function, untouched, then the companion with its visibility and cfg.
            "pub(crate)fnuser(q:Query<X>,id:u64,rest:String)->Json<U>{todo!()}",
            "#[cfg(feature=\"x\")]#[doc=",
            "pub(crate)structuser{}",
            "pub(crate)fnpath(id:impl::std::fmt::Display,rest:impl::std::fmt::Display)->::std::string::String",
            "PathPiece::Literal(\"/users/\"),::sutegi::__private::PathPiece::Capture(&id),::sutegi::__private::PathPiece::Literal(\"/\"),::sutegi::__private::PathPiece::CatchAll(&rest)",
            "impl::sutegi::__private::RouteSourceforuser",
            "methods:&[::sutegi::Method::Get]",
            "path:\"/users/{id}/{*rest}\"",
            "name:\"user\"",
            "body_limit:::core::option::Option::Some(1024)",
            "kind:::sutegi::__private::RouteKind::Plain",
            "state_requirements:::std::vec![<Query<X>as::sutegi::FromRequest>::state_requirement().map(|needed|needed.needed_by(::core::any::type_name::<Query<X>>()))]",
            "<u64asFromPathCapture>::from_path_capture(__sutegi_cx,\"id\")",
            "<StringasFromPathCapture>::from_path_capture(__sutegi_cx,\"rest\")",
            "<Query<X>as::sutegi::FromRequest>::from_request(__sutegi_cx)",
            "<Json<U>as::sutegi::IntoResponse>::into_response(user(__sutegi_arg0,__sutegi_arg1,__sutegi_arg2))",
        ] {
            assert!(out.contains(expected), "missing {expected}\nin {out}");
        }
    }

    #[test]
    fn an_sse_route_streams_from_a_producer() {
        let out = expand_str(
            AttrKind::Sse,
            quote!("/chat", method = "POST"),
            quote!(
                fn chat(prompt: String, sink: &mut SseSink) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        for expected in [
            "methods:&[::sutegi::Method::Post]",
            "kind:::sutegi::__private::RouteKind::Stream",
            "::sutegi::Response::sse(move|__sutegi_sink:&mut::sutegi::SseSink|->::std::io::Result<()>{chat(__sutegi_arg0,__sutegi_sink)})",
        ] {
            assert!(out.contains(expected), "missing {expected}\nin {out}");
        }
    }

    #[test]
    fn body_checks_cover_every_pair_of_extractors() {
        let out = expand_str(
            AttrKind::Fixed(Method::Post),
            quote!("/x/{id}"),
            quote!(
                fn f(id: u8, a: A, b: B, c: C) {}
            ),
        );
        assert_eq!(out.matches("READS_BODY&&").count(), 3, "{out}");
        assert!(out.contains("`A`and`C`bothreadtherequestbody"), "{out}");
        assert!(
            !out.contains("<u8as::sutegi::FromRequest>"),
            "a capture is no extractor: {out}"
        );
    }
}
