//! The arguments of a route attribute: `("/users/{id}")`,
//! `("/x", method = "GET", method = "POST")`, `("/up", body_limit = "64MiB")`.
//!
//! This module reads the attribute's own tokens into a [`RouteAttr`] and
//! refuses what it cannot use, with the error on the offending token. The
//! path's own syntax is `path.rs`'s; the function under the attribute is
//! `handler.rs`'s.
//!
//! The file runs past 600 lines because its tests, one table row per
//! refusal and per route kind, sit beside the parser they pin.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue, Token};

use crate::diagnostics::combine;
use crate::path::RoutePath;

/// Which attribute was written: it decides the default methods and whether
/// `method = ".."` may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// `#[get]`, `#[post]`, …: the method is in the attribute's name.
    Fixed(Method),
    /// `#[route]`: the methods are given as `method = ".."`, at least one.
    Route,
    /// `#[sse]`: a stream of events, GET unless `method = ".."` says otherwise.
    Sse,
    /// `#[ws]`: a WebSocket, always GET (the opening handshake's method).
    Ws,
}

impl AttrKind {
    /// The attribute's name as the user wrote it, for messages.
    pub fn name(self) -> &'static str {
        match self {
            AttrKind::Fixed(method) => method.attribute_name(),
            AttrKind::Route => "route",
            AttrKind::Sse => "sse",
            AttrKind::Ws => "ws",
        }
    }
}

/// The request methods a route can claim (all that the server knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    Trace,
    Connect,
}

impl Method {
    const ALL: [Method; 9] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Patch,
        Method::Options,
        Method::Trace,
        Method::Connect,
    ];

    /// The method's token on the wire (`"GET"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
        }
    }

    /// The variant's name in `sutegi::Method`.
    pub fn variant(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Head => "Head",
            Method::Post => "Post",
            Method::Put => "Put",
            Method::Delete => "Delete",
            Method::Patch => "Patch",
            Method::Options => "Options",
            Method::Trace => "Trace",
            Method::Connect => "Connect",
        }
    }

    fn attribute_name(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Head => "head",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
            Method::Patch => "patch",
            Method::Options => "options",
            Method::Trace => "trace",
            Method::Connect => "connect",
        }
    }

    /// Methods are case-sensitive on the wire, so `"get"` is refused with a hint.
    fn parse(token: &str) -> Result<Method, String> {
        if let Some(method) = Method::ALL.into_iter().find(|m| m.as_str() == token) {
            return Ok(method);
        }
        let known = Method::ALL.map(Method::as_str).join(", ");
        match Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(token))
        {
            Some(method) => Err(format!(
                "methods are case-sensitive: write \"{}\", not \"{token}\"",
                method.as_str()
            )),
            None => Err(format!("unknown method \"{token}\": use one of {known}")),
        }
    }
}

/// A route attribute's arguments, checked.
#[derive(Clone)]
pub struct RouteAttr {
    /// Which attribute this is.
    pub kind: AttrKind,
    /// The path literal, kept for its span: errors about the path land on it.
    pub path_lit: LitStr,
    /// The path, parsed and validated.
    pub path: RoutePath,
    /// The methods, in the order written, without duplicates.
    pub methods: Vec<Method>,
    /// `body_limit = ".."` in bytes.
    pub body_limit: Option<u64>,
    /// `tool`: the route is an MCP tool (sutegi's `openapi` feature).
    // Accepted with or without the feature, so code carrying it compiles
    // either way; only the description reads it.
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub tool: bool,
    /// `hidden`: the route is left out of the API's description.
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub hidden: bool,
}

impl RouteAttr {
    /// Parses the tokens inside `#[kind(…)]`.
    pub fn parse(kind: AttrKind, tokens: TokenStream) -> syn::Result<RouteAttr> {
        let attr_span = Span::call_site();
        let args = (|input: ParseStream<'_>| RawArgs::parse(input, kind)).parse2(tokens)?;
        let Some(path_lit) = args.path else {
            return Err(syn::Error::new(
                attr_span,
                format!(
                    "#[{}] needs the route's path first, like #[{}(\"/users/{{id}}\")]",
                    kind.name(),
                    kind.name()
                ),
            ));
        };
        let path = RoutePath::parse(&path_lit.value())
            .map_err(|e| syn::Error::new(path_lit.span(), e.with_caret_under(&path_lit.value())))?;

        let mut errors = Vec::new();
        let mut methods = Vec::new();
        for lit in &args.methods {
            match Method::parse(&lit.value()) {
                Ok(method) if methods.contains(&method) => errors.push(syn::Error::new(
                    lit.span(),
                    format!("method \"{}\" is listed twice", method.as_str()),
                )),
                Ok(method) => methods.push(method),
                Err(message) => errors.push(syn::Error::new(lit.span(), message)),
            }
        }
        match kind {
            AttrKind::Fixed(method) => {
                if let Some(lit) = args.methods.first() {
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!(
                            "#[{}] already says the method; for several methods on one path use #[route(\"{}\", method = \"{}\", method = \"…\")]",
                            kind.name(),
                            path_lit.value(),
                            method.as_str()
                        ),
                    ));
                }
                methods = vec![method];
            }
            AttrKind::Route if args.methods.is_empty() => errors.push(syn::Error::new(
                path_lit.span(),
                format!(
                    "#[route] needs at least one method: #[route(\"{}\", method = \"GET\", method = \"POST\")], or use #[get], #[post], …",
                    path_lit.value()
                ),
            )),
            AttrKind::Route => {}
            AttrKind::Sse if args.methods.is_empty() => methods = vec![Method::Get],
            AttrKind::Sse => {}
            AttrKind::Ws => {
                if let Some(lit) = args.methods.first() {
                    errors.push(syn::Error::new(
                        lit.span(),
                        "a WebSocket opens with a GET request: #[ws] takes no `method`",
                    ));
                }
                if args.tool {
                    errors.push(syn::Error::new(
                        path_lit.span(),
                        "a WebSocket route cannot be an MCP tool: a tool call is one request and one answer",
                    ));
                }
                methods = vec![Method::Get];
            }
        }

        let body_limit = match &args.body_limit {
            None => None,
            Some(value) => match parse_body_limit(value) {
                Ok(bytes) => Some(bytes),
                Err(error) => {
                    errors.push(error);
                    None
                }
            },
        };

        if let Some(error) = combine(errors) {
            return Err(error);
        }
        Ok(RouteAttr {
            kind,
            path_lit,
            path,
            methods,
            body_limit,
            tool: args.tool,
            hidden: args.hidden,
        })
    }
}

/// The attribute's arguments before their values are checked.
struct RawArgs {
    path: Option<LitStr>,
    methods: Vec<LitStr>,
    body_limit: Option<Expr>,
    tool: bool,
    hidden: bool,
}

impl RawArgs {
    fn parse(input: ParseStream<'_>, kind: AttrKind) -> syn::Result<RawArgs> {
        let mut args = RawArgs {
            path: None,
            methods: Vec::new(),
            body_limit: None,
            tool: false,
            hidden: false,
        };
        if input.peek(LitStr) {
            args.path = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let pairs = Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
        for arg in pairs {
            match arg {
                Arg::Path(lit) => {
                    let message = if args.path.is_some() {
                        "a route has one path; to serve several, write one function per path (they may call a shared function)"
                    } else {
                        "the path comes first, before `method = ..` and `body_limit = ..`"
                    };
                    return Err(syn::Error::new(lit.span(), message));
                }
                Arg::Flag(flag) => {
                    let slot = match flag.to_string().as_str() {
                        "tool" => &mut args.tool,
                        "hidden" => &mut args.hidden,
                        other => {
                            return Err(syn::Error::new(
                                flag.span(),
                                format!("unknown option `{other}`: a route takes `tool` (an MCP tool) and `hidden` (left out of the API's description)"),
                            ))
                        }
                    };
                    if *slot {
                        return Err(syn::Error::new(
                            flag.span(),
                            format!("`{flag}` is given twice"),
                        ));
                    }
                    *slot = true;
                }
                Arg::NameValue(pair) => {
                    let name = pair
                        .path
                        .get_ident()
                        .map(|i| i.to_string())
                        .unwrap_or_default();
                    match name.as_str() {
                        "method" => args
                            .methods
                            .push(string_value(&pair.value, "method = \"POST\"")?),
                        "body_limit" => {
                            if args.body_limit.is_some() {
                                return Err(syn::Error::new_spanned(
                                    &pair.path,
                                    "`body_limit` is given twice",
                                ));
                            }
                            args.body_limit = Some(pair.value.clone());
                        }
                        _ => {
                            let allowed = match kind {
                                AttrKind::Fixed(_) | AttrKind::Ws => "`body_limit`",
                                AttrKind::Route | AttrKind::Sse => "`method` and `body_limit`",
                            };
                            return Err(syn::Error::new_spanned(
                                &pair.path,
                                format!(
                                    "unknown argument `{}`: #[{}] takes the path, then {allowed}",
                                    pair.path.to_token_stream().to_string().replace(' ', ""),
                                    kind.name()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(args)
    }
}

enum Arg {
    Path(LitStr),
    /// `tool`, `hidden`.
    Flag(syn::Ident),
    NameValue(Box<MetaNameValue>),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Arg> {
        if input.peek(LitStr) {
            return input.parse().map(Arg::Path);
        }
        if input.peek(syn::Ident)
            && (input.peek2(Token![,])
                || input
                    .cursor()
                    .token_tree()
                    .is_some_and(|(_, rest)| rest.eof()))
        {
            return input.parse().map(Arg::Flag);
        }
        let lookahead_span = input.span();
        input
            .parse()
            .map(|pair| Arg::NameValue(Box::new(pair)))
            .map_err(|_| {
                syn::Error::new(
                    lookahead_span,
                    "expected `name = value`, like `method = \"POST\"` or `body_limit = \"64MiB\"`",
                )
            })
    }
}

fn string_value(expr: &Expr, example: &str) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a string, like `{example}`"),
        )),
    }
}

/// `body_limit = "64MiB"`, `"512 KiB"`, `"1_000"` or `body_limit = 1000`.
fn parse_body_limit(expr: &Expr) -> syn::Result<u64> {
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => {
            parse_size(&lit.value()).map_err(|message| syn::Error::new(lit.span(), message))
        }
        Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => lit.base10_parse::<u64>(),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a size, like `body_limit = \"64MiB\"` (units B, KiB, MiB, GiB) or a number of bytes",
        )),
    }
}

/// Parses a size with an optional binary unit into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    const UNITS: &str = "B, KiB, MiB or GiB";
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let number: String = number.chars().filter(|&c| c != '_').collect();
    if number.is_empty() {
        return Err(format!(
            "\"{text}\" is not a size: write a whole number of bytes, or one followed by {UNITS}, like \"64MiB\""
        ));
    }
    let shift = match unit.trim_start() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        other => {
            let hint = match other {
                "K" | "k" | "KB" | "kB" | "kb" | "Kb" => " (1 KiB = 1,024 bytes)",
                "M" | "m" | "MB" | "mb" | "Mb" => " (1 MiB = 1,048,576 bytes)",
                "G" | "g" | "GB" | "gb" | "Gb" => " (1 GiB = 1,073,741,824 bytes)",
                _ => "",
            };
            return Err(format!("unknown size unit \"{other}\": use {UNITS}{hint}"));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("\"{text}\" is too large for a body limit"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(kind: AttrKind, tokens: TokenStream) -> syn::Result<RouteAttr> {
        RouteAttr::parse(kind, tokens)
    }

    fn error(kind: AttrKind, tokens: TokenStream) -> String {
        match parse(kind, tokens) {
            Ok(_) => panic!("should be refused"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn fixed_method_attributes() {
        let attr = parse(AttrKind::Fixed(Method::Get), quote!("/users/{id}")).unwrap();
        assert_eq!(attr.methods, [Method::Get]);
        assert_eq!(attr.path.raw, "/users/{id}");
        assert_eq!(attr.body_limit, None);

        let attr = parse(
            AttrKind::Fixed(Method::Post),
            quote!("/up", body_limit = "64MiB"),
        )
        .unwrap();
        assert_eq!(attr.methods, [Method::Post]);
        assert_eq!(attr.body_limit, Some(64 << 20));

        // A trailing comma is fine.
        parse(AttrKind::Fixed(Method::Put), quote!("/x",)).unwrap();
        parse(AttrKind::Fixed(Method::Put), quote!("/x", body_limit = 10,)).unwrap();
    }

    #[test]
    fn route_takes_several_methods() {
        let attr = parse(
            AttrKind::Route,
            quote!("/x", method = "GET", method = "POST", body_limit = 1024),
        )
        .unwrap();
        assert_eq!(attr.methods, [Method::Get, Method::Post]);
        assert_eq!(attr.body_limit, Some(1024));
    }

    #[test]
    fn sse_defaults_to_get() {
        assert_eq!(
            parse(AttrKind::Sse, quote!("/events")).unwrap().methods,
            [Method::Get]
        );
        let attr = parse(AttrKind::Sse, quote!("/chat", method = "POST")).unwrap();
        assert_eq!(attr.methods, [Method::Post]);
    }

    #[test]
    fn refusals_say_how_to_fix() {
        let get = AttrKind::Fixed(Method::Get);
        let table: &[(AttrKind, TokenStream, &str)] = &[
            (get, quote!(), "needs the route's path first"),
            (get, quote!(path = "/x"), "unknown argument `path`"),
            (get, quote!(body_limit = 1, "/x"), "the path comes first"),
            (get, quote!("/x", "/y"), "one path"),
            (
                get,
                quote!("/x", method = "POST"),
                "already says the method",
            ),
            (get, quote!("/x", limit = 3), "unknown argument `limit`"),
            (
                get,
                quote!("/x", body_limit = "1MB"),
                "1 MiB = 1,048,576 bytes",
            ),
            (get, quote!("/x", body_limit = "big"), "not a size"),
            (get, quote!("/x", body_limit = 1, body_limit = 2), "twice"),
            (
                get,
                quote!("/x", body_limit = some_const),
                "expected a size",
            ),
            (get, quote!("/x" body_limit = 1), "expected `,`"),
            (get, quote!("x"), "starts with `/`"),
            (AttrKind::Route, quote!("/x"), "at least one method"),
            (
                AttrKind::Route,
                quote!("/x", method = "get"),
                "write \"GET\"",
            ),
            (
                AttrKind::Route,
                quote!("/x", method = "FETCH"),
                "unknown method \"FETCH\"",
            ),
            (
                AttrKind::Route,
                quote!("/x", method = "GET", method = "GET"),
                "listed twice",
            ),
            (
                AttrKind::Route,
                quote!("/x", method = GET),
                "expected a string",
            ),
            (
                AttrKind::Sse,
                quote!("/x", methods = "POST"),
                "`method` and `body_limit`",
            ),
            (AttrKind::Ws, quote!("/x", tool), "cannot be an MCP tool"),
        ];
        for (kind, tokens, expected) in table {
            let message = error(*kind, tokens.clone());
            assert!(message.contains(expected), "{tokens}: {message}");
        }
    }

    #[test]
    fn sizes_and_units() {
        let table: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("1024", Some(1024)),
            ("1_048_576", Some(1 << 20)),
            ("10B", Some(10)),
            ("1KiB", Some(1024)),
            ("64MiB", Some(64 << 20)),
            ("64 MiB", Some(64 << 20)),
            (" 2GiB ", Some(2 << 30)),
            ("1MB", None),
            ("1mib", None),
            ("1.5MiB", None),
            ("MiB", None),
            ("", None),
            ("-1", None),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("17179869184GiB", None),
        ];
        for (text, bytes) in table {
            assert_eq!(parse_size(text).ok(), *bytes, "{text:?}");
        }
    }

    #[test]
    fn description_flags() {
        let get = AttrKind::Fixed(Method::Get);
        let attr = parse(get, quote!("/x", tool, body_limit = 1)).unwrap();
        assert!(attr.tool && !attr.hidden);
        let attr = parse(get, quote!("/x", hidden)).unwrap();
        assert!(attr.hidden && !attr.tool);
        assert!(error(get, quote!("/x", tools)).contains("unknown option `tools`"));
        assert!(error(get, quote!("/x", tool, tool)).contains("twice"));
    }

    #[test]
    fn method_names_are_case_sensitive() {
        assert_eq!(Method::parse("DELETE"), Ok(Method::Delete));
        assert!(Method::parse("Delete").unwrap_err().contains("\"DELETE\""));
    }
}
