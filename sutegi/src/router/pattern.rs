//! Path patterns, read and written: splitting a matchit pattern into
//! literals and captures, the capture-blind form two patterns are compared
//! by, mount prefixes, the hints for patterns matchit refuses, and the
//! other direction, building a path from a pattern and values
//! ([`build_path`], which the route macros' `path(..)` builders call, and
//! [`url_for`], behind both `url_for` methods).
//!
//! Matching requests is matchit's (in [`dispatch`](super::dispatch)); this
//! file only reads the patterns it was given.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::error::UrlError;
use super::route::{Declaration, IntoRoute};

/// The full path of `route` among `declared` (each route's declaration
/// and full pattern), with `args` filling its captures: what
/// [`Router::url_for`](super::Router::url_for) and
/// [`RouterHandler::url_for`](super::RouterHandler::url_for) both answer.
pub(super) fn url_for<'a>(
    route: impl IntoRoute,
    declared: impl Iterator<Item = (Declaration<'a>, &'a str)>,
    args: &[&dyn fmt::Display],
) -> Result<String, UrlError> {
    let wanted = route.into_route();
    let wanted_declaration = wanted.declaration();
    let paths: Vec<&str> = declared
        .filter(|(declaration, _)| *declaration == wanted_declaration)
        .map(|(_, path)| path)
        .collect();
    fill_path(wanted.path(), &paths, args)
}

/// `wanted_path` (the pattern as declared) built from the one full pattern
/// in `paths` that holds it, or why not.
fn fill_path(
    wanted_path: &str,
    paths: &[&str],
    args: &[&dyn fmt::Display],
) -> Result<String, UrlError> {
    let path = match paths {
        [] => {
            return Err(UrlError::NotInRouter {
                route: wanted_path.to_owned(),
            })
        }
        [first, rest @ ..] if rest.iter().all(|p| p == first) => *first,
        _ => {
            return Err(UrlError::Ambiguous {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            })
        }
    };
    let pieces = parse_pattern(path);
    let expected = pieces
        .iter()
        .filter(|p| !matches!(p, PatternPiece::Literal(_)))
        .count();
    if expected != args.len() {
        return Err(UrlError::WrongArgumentCount {
            path: path.to_owned(),
            expected,
            given: args.len(),
        });
    }
    let mut args = args.iter();
    let built: Vec<PathPiece<'_>> = pieces
        .iter()
        .map(|piece| match piece {
            PatternPiece::Literal(text) => PathPiece::Text(text),
            PatternPiece::Capture(_) => PathPiece::Capture(*args.next().expect("counted above")),
            PatternPiece::CatchAll(_) => PathPiece::CatchAll(*args.next().expect("counted above")),
        })
        .collect();
    Ok(build_path(&built))
}

/// A piece of a matchit path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PatternPiece<'a> {
    /// Literal text, `{{` and `}}` unescaped.
    Literal(Cow<'a, str>),
    /// `{name}`
    Capture(&'a str),
    /// `{*name}`
    CatchAll(&'a str),
}

/// Splits a pattern matchit accepted into its pieces.
pub(crate) fn parse_pattern(pattern: &str) -> Vec<PatternPiece<'_>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            literal.push('{');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            literal.push('}');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let end = after.find('}').unwrap_or(after.len());
            if !literal.is_empty() {
                pieces.push(PatternPiece::Literal(Cow::Owned(std::mem::take(
                    &mut literal,
                ))));
            }
            let name = &after[..end];
            pieces.push(match name.strip_prefix('*') {
                Some(name) => PatternPiece::CatchAll(name),
                None => PatternPiece::Capture(name),
            });
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let next = rest
                .char_indices()
                .find(|(_, c)| *c == '{' || *c == '}')
                .map_or(rest.len(), |(i, _)| i);
            let next = if next == 0 {
                rest.chars().next().map_or(1, char::len_utf8)
            } else {
                next
            };
            literal.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    if !literal.is_empty() {
        pieces.push(PatternPiece::Literal(Cow::Owned(literal)));
    }
    pieces
}

/// The pattern with capture names erased: two patterns that normalise
/// alike match the same paths.
pub(super) fn normalized(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for piece in parse_pattern(pattern) {
        match piece {
            PatternPiece::Literal(text) => {
                out.push_str(&text.replace('{', "{{").replace('}', "}}"))
            }
            PatternPiece::Capture(_) => out.push_str("{}"),
            PatternPiece::CatchAll(_) => out.push_str("{*}"),
        }
    }
    out
}

/// `/admin/` → `/admin`, `/` → ``; refuses what cannot prefix a path.
pub(super) fn normalize_prefix(prefix: &str) -> Result<String, String> {
    if !prefix.starts_with('/') {
        return Err("a mount prefix starts with `/`".into());
    }
    if prefix.contains("{*") {
        return Err("a mount prefix cannot hold a catch-all `{*…}`: it would leave nothing for the mounted routes".into());
    }
    Ok(prefix.trim_end_matches('/').to_owned())
}

/// `/admin` + `/stats` → `/admin/stats`; `/admin` + `/` → `/admin`.
pub(super) fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_owned()
    } else if path == "/" {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

/// The first capture named differently in two patterns that normalise alike.
pub(super) fn first_name_difference(a: &str, b: &str) -> (String, String) {
    let names = |p| {
        parse_pattern(p)
            .into_iter()
            .filter_map(|piece| match piece {
                PatternPiece::Capture(name) | PatternPiece::CatchAll(name) => Some(name.to_owned()),
                PatternPiece::Literal(_) => None,
            })
            .collect::<Vec<_>>()
    };
    names(a)
        .into_iter()
        .zip(names(b))
        .find(|(x, y)| x != y)
        .unwrap_or_default()
}

/// What to tell the author of a pattern matchit refused.
pub(super) fn path_error_hint(error: &matchit::InsertError) -> String {
    match error {
        matchit::InsertError::InvalidParamSegment => {
            "only one capture is allowed per path segment (`/{a}-{b}` is not; `/{a}/{b}` is)".into()
        }
        matchit::InsertError::InvalidParam => {
            "a capture is `{name}` with a non-empty name and matching braces; write `{{` or `}}` for a literal brace".into()
        }
        matchit::InsertError::InvalidCatchAll => {
            "a catch-all `{*name}` must be the last thing in the path".into()
        }
        other => other.to_string(),
    }
}

/// What percent-encoding leaves alone in a path segment: RFC 3986's
/// unreserved characters, sub-delims, `:` and `@`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A catch-all keeps its `/` separators.
const CATCH_ALL: &AsciiSet = &SEGMENT.remove(b'/');

/// A piece of a path for [`build_path`]. Not for hand-written code:
/// reached through `sutegi::__private` only.
#[doc(hidden)]
pub enum PathPiece<'a> {
    /// Literal text of the pattern, verbatim (braces unescaped).
    Literal(&'static str),
    /// Literal text not known at compile time.
    Text(&'a str),
    /// A capture's value: its `Display`, percent-encoded as one segment.
    Capture(&'a dyn fmt::Display),
    /// A catch-all's value: percent-encoded, `/` kept.
    CatchAll(&'a dyn fmt::Display),
}

/// Builds a path from literal pieces and encoded capture values (what a
/// route macro's `path(..)` builder calls). Not for hand-written code:
/// reached through `sutegi::__private` only.
#[doc(hidden)]
pub fn build_path(pieces: &[PathPiece<'_>]) -> String {
    let mut path = String::new();
    for piece in pieces {
        match piece {
            PathPiece::Literal(text) => path.push_str(text),
            PathPiece::Text(text) => path.push_str(text),
            PathPiece::Capture(value) => push_encoded(&mut path, &value.to_string(), SEGMENT),
            PathPiece::CatchAll(value) => {
                let value = value.to_string();
                for (i, segment) in value.split('/').enumerate() {
                    if i > 0 {
                        path.push('/');
                    }
                    push_encoded(&mut path, segment, CATCH_ALL);
                }
            }
        }
    }
    path
}

/// Encodes one segment; `.` and `..` are encoded too, so a client does not
/// resolve them away.
fn push_encoded(path: &mut String, segment: &str, set: &'static AsciiSet) {
    match segment {
        "." => path.push_str("%2E"),
        ".." => path.push_str("%2E%2E"),
        _ => path.extend(utf8_percent_encode(segment, set)),
    }
}
