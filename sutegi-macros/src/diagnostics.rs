//! Wording shared by every step of the macros: how a type is quoted in a
//! message and how several errors become one report. A leaf module: parsing
//! (`attribute`, `path`), checking (`handler`) and emitting (`expand`,
//! `routes`) all use it, and it uses none of them.

use quote::ToTokens;
use syn::Type;

/// Folds errors into one that reports them all.
pub fn combine(errors: impl IntoIterator<Item = syn::Error>) -> Option<syn::Error> {
    errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    })
}

/// A type as the user would write it, for messages.
pub fn type_text(ty: &Type) -> String {
    let text = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // `quote` spaces every token: `Json < T >`, `& mut X`, `a :: b`.
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.peek().copied();
            let glue = matches!(prev, Some('<' | '&' | ':' | '('))
                || matches!(next, Some('<' | '>' | ',' | ':' | ')'));
            if glue {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn type_text_reads_like_source() {
        let table = [
            (quote!(Json<NewUser>), "Json<NewUser>"),
            (quote!(Option<Json<Vec<u8>>>), "Option<Json<Vec<u8>>>"),
            (quote!(&mut sutegi::SseSink), "&mut sutegi::SseSink"),
            (
                quote!(Result<Json<T>, JsonRejection>),
                "Result<Json<T>, JsonRejection>",
            ),
            (quote!((u8, String)), "(u8, String)"),
            (quote!(&'static str), "&'static str"),
        ];
        for (tokens, expected) in table {
            let ty: Type = syn::parse2(tokens).unwrap();
            assert_eq!(type_text(&ty), expected);
        }
    }
}
