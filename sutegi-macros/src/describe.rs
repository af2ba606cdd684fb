//! Emitting a route's description, under the `openapi` feature (which
//! sutegi's own `openapi` feature turns on): the handler's doc comment,
//! whether it is a tool, and a function that tells sutegi's
//! `Operation` the captures, extractors and response of the route.
//!
//! Part of the emit step, beside `expand`; nothing here refuses anything.
//! What is known only to the type checker goes through probes in
//! `sutegi::__private`: an extractor or response type that describes itself
//! is asked to, any other is described as unknown. The one hard requirement
//! is a schema for the `T` of every `Json<T>`, `Query<T>` and `Form<T>`
//! the route reads or answers, checked on `T`'s own tokens so that the
//! error names the type and the derive to add.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, GenericArgument, Ident, Lit, Meta, PathArguments, Type};

use crate::attribute::{AttrKind, RouteAttr};
use crate::handler::{ArgKind, Handler};

/// `route` (an expression of type `sutegi::Route`) with the route's
/// description attached; unchanged for a `hidden` route.
pub fn describe(attr: &RouteAttr, handler: &Handler, route: TokenStream) -> TokenStream {
    if attr.hidden {
        return route;
    }
    let op = Ident::new("__sutegi_op", Span::mixed_site());
    let mut steps = TokenStream::new();
    let mut typed = Vec::new();
    for arg in &handler.args {
        let ty = &arg.ty;
        match &arg.kind {
            ArgKind::Capture { name, .. } => steps.extend(quote! {
                (&::sutegi::__private::Probe::<::sutegi::__private::Capture<#ty>>::NEW).describe_capture(#op, #name);
            }),
            ArgKind::Extractor => {
                schema_bearers(ty, &mut typed);
                steps.extend(quote! {
                    (&::sutegi::__private::Probe::<::sutegi::__private::Input<#ty>>::NEW).describe_input(#op);
                });
            }
            ArgKind::Sink => {}
        }
    }
    // A stream's response is described by its kind; an `impl Trait`
    // return cannot be named.
    if attr.kind != AttrKind::Sse {
        if let Some(ty) = handler
            .output
            .as_ref()
            .filter(|ty| !matches!(ty, Type::ImplTrait(_)))
        {
            schema_bearers(ty, &mut typed);
            steps.extend(quote! {
                (&::sutegi::__private::Probe::<::sutegi::__private::Output<#ty>>::NEW).describe_response(#op);
            });
        } else if handler.output.is_none() {
            steps.extend(quote! {
                (&::sutegi::__private::Probe::<::sutegi::__private::Output<()>>::NEW).describe_response(#op);
            });
        }
    }
    let checks = typed.iter().map(|inner| {
        quote_spanned! {inner.span()=>
            let () = <#inner as ::sutegi::__private::Described>::DESCRIBED;
        }
    });
    let doc = doc_text(handler);
    let tool = attr.tool;
    quote! {{
        #[allow(unused_imports)]
        use ::sutegi::__private::{Fallback as _, Known as _};
        fn __sutegi_describe(#op: &mut ::sutegi::__private::Operation) {
            #(#checks)*
            #steps
        }
        static __SUTEGI_DOC: ::sutegi::__private::RouteDoc = ::sutegi::__private::RouteDoc {
            doc: #doc,
            tool: #tool,
            describe: __sutegi_describe,
        };
        #route.__describe(&__SUTEGI_DOC)
    }}
}

/// The function's doc comment, one line per `///` line, each without the
/// one space after `///`.
fn doc_text(handler: &Handler) -> String {
    let lines: Vec<String> = handler
        .item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    lines.join("\n")
}

/// The `T` of every `Json<T>`, `Query<T>` and `Form<T>` in `ty`, wherever
/// it sits (`Option<Json<T>>`, `(Status, Json<T>)`, `Result<Json<T>, E>`).
/// Recognised by spelling, as the macro cannot see types.
fn schema_bearers(ty: &Type, found: &mut Vec<Type>) {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            for segment in &path.path.segments {
                let PathArguments::AngleBracketed(args) = &segment.arguments else {
                    continue;
                };
                let types: Vec<&Type> = args
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        GenericArgument::Type(ty) => Some(ty),
                        _ => None,
                    })
                    .collect();
                let bears = ["Json", "Query", "Form"]
                    .iter()
                    .any(|name| segment.ident == name);
                if bears && types.len() == 1 {
                    found.push(types[0].clone());
                }
                for inner in types {
                    schema_bearers(inner, found);
                }
            }
        }
        Type::Tuple(tuple) => tuple.elems.iter().for_each(|ty| schema_bearers(ty, found)),
        Type::Array(array) => schema_bearers(&array.elem, found),
        Type::Paren(paren) => schema_bearers(&paren.elem, found),
        Type::Group(group) => schema_bearers(&group.elem, found),
        Type::Reference(reference) => schema_bearers(&reference.elem, found),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearers(ty: TokenStream) -> Vec<String> {
        let mut found = Vec::new();
        schema_bearers(&syn::parse2(ty).unwrap(), &mut found);
        found.iter().map(|t| quote!(#t).to_string()).collect()
    }

    #[test]
    fn schema_bearers_are_found_anywhere() {
        assert_eq!(bearers(quote!(Json<User>)), ["User"]);
        assert_eq!(bearers(quote!(sutegi::Query<Search>)), ["Search"]);
        assert_eq!(
            bearers(quote!((Status, [(&'static str, String); 1], Json<User>))),
            ["User"]
        );
        assert_eq!(
            bearers(quote!(Result<Json<Vec<User>>, Error>)),
            ["Vec < User >"]
        );
        assert_eq!(bearers(quote!(Option<Form<New>>)), ["New"]);
        assert!(bearers(quote!(State<Users>)).is_empty());
        assert!(bearers(quote!(String)).is_empty());
    }
}
