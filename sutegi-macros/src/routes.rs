//! `routes![user, admin::stats]`: the names of route functions, collected
//! into a `Router`.
//!
//! Each name is the path of a function under a route attribute; its
//! companion struct (same name, type namespace) is what the router takes.
//! This module parses the list and refuses what is not a plain path; whether
//! each path is a route is the type checker's call (`RouteSource` carries a
//! `#[diagnostic::on_unimplemented]` message in sutegi).
//!
//! A plain function without a route attribute has no companion, so rustc
//! answers `routes![f]` with its own E0574 ("expected struct, variant or
//! union type, found function `f`") before any trait is consulted; stable
//! Rust offers no hook to add a hint to a name-resolution error. The fix is
//! to put `#[get("/path")]` (or a sibling) on `f`, as the crate docs say.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Path, Token};

/// The parsed list of route names.
pub struct RouteList {
    routes: Punctuated<Path, Token![,]>,
}

impl Parse for RouteList {
    fn parse(input: ParseStream<'_>) -> syn::Result<RouteList> {
        let mut routes = Punctuated::new();
        while !input.is_empty() {
            let span = input.span();
            let path = input
                .call(Path::parse_mod_style)
                .map_err(|_| not_a_route_name(span))?;
            if !input.is_empty() && !input.peek(Token![,]) {
                return Err(not_a_route_name(input.span()));
            }
            routes.push_value(path);
            if input.is_empty() {
                break;
            }
            routes.push_punct(input.parse()?);
        }
        Ok(RouteList { routes })
    }
}

fn not_a_route_name(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        "routes! takes the names of route functions, separated by commas: `routes![user, create, admin::stats]` (no calls, no arguments)",
    )
}

impl RouteList {
    /// `::sutegi::Router::new().route(user {}).route(admin::stats {})`.
    pub fn expand(&self) -> TokenStream {
        let mut router = quote_spanned!(proc_macro2::Span::call_site()=> ::sutegi::Router::new());
        for path in &self.routes {
            // Spanned on the name, so "not a route" lands on it.
            // Through the trait by name, so a name that is not a route is
            // reported on it alone, not as a bound of `Router::route`.
            router = quote_spanned!(path.span()=>
                #router.route(::sutegi::__private::RouteSource::into_route(#path {})));
        }
        router
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn expand(tokens: TokenStream) -> syn::Result<String> {
        syn::parse2::<RouteList>(tokens).map(|list| list.expand().to_string())
    }

    #[test]
    fn names_become_companion_structs() {
        let expected = quote!(::sutegi::Router::new()
            .route(::sutegi::__private::RouteSource::into_route(user {}))
            .route(::sutegi::__private::RouteSource::into_route(
                admin::stats {}
            )));
        assert_eq!(
            expand(quote!(user, admin::stats)).unwrap(),
            expected.to_string()
        );
        assert_eq!(
            expand(quote!(user, admin::stats,)).unwrap(),
            expected.to_string()
        );
        assert_eq!(
            expand(quote!(::app::user)).unwrap(),
            quote!(::sutegi::Router::new()
                .route(::sutegi::__private::RouteSource::into_route(::app::user {})))
            .to_string()
        );
        assert_eq!(
            expand(quote!()).unwrap(),
            quote!(::sutegi::Router::new()).to_string()
        );
    }

    #[test]
    fn other_things_are_refused() {
        for tokens in [
            quote!(user()),
            quote!("/users"),
            quote!(a b),
            quote!(user::<u8>),
            quote!(a,, b),
            quote!(1),
        ] {
            let error = expand(tokens.clone()).expect_err(&tokens.to_string());
            assert!(
                error.to_string().contains("routes! takes the names"),
                "{tokens}: {error}"
            );
        }
    }
}
