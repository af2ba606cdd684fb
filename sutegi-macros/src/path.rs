//! Route paths: splitting `"/users/{id}/files/{*rest}"` into literal text and
//! captures, and refusing malformed paths before the program ever runs.
//!
//! A path must be accepted by matchit itself (it is inserted into a
//! throwaway `matchit::Router` here, so compile time and run time agree) and
//! pass sutegi's own checks on top: it starts with `/`, holds no query or
//! fragment, no spaces or non-ASCII text (requests arrive percent-encoded),
//! and each capture name is a Rust identifier, used once, so it can bind the
//! function argument of that name. Errors carry the byte range of the bad
//! part, so the message can quote it with a caret under it. Which argument a
//! capture binds is decided by `handler.rs`; turning pieces into code is
//! `expand.rs`'s job.

use std::fmt;
use std::ops::Range;

/// A parsed, validated route path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePath {
    /// The path exactly as written in the attribute (escapes included), which
    /// is what the runtime router is given.
    pub raw: String,
    /// The path in order: literal text and captures.
    pub pieces: Vec<Piece>,
}

/// One part of a route path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, unescaped (`{{` in the path is `{` here).
    Literal(String),
    /// `{name}` or `{*name}`.
    Capture(Capture),
}

/// A `{name}` capture or a `{*name}` catch-all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The name between the braces, without the `*`.
    pub name: String,
    /// `{*name}`: matches the rest of the path, slashes included.
    pub catch_all: bool,
    /// Byte range of `{…}` in [`RoutePath::raw`], for error messages.
    pub range: Range<usize>,
}

/// Why a path was refused, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// What is wrong and how to fix it, as a sentence.
    pub message: String,
    /// The offending bytes in the path (empty when the whole path is at fault).
    pub range: Range<usize>,
}

impl PathError {
    fn new(message: impl Into<String>, range: Range<usize>) -> PathError {
        PathError {
            message: message.into(),
            range,
        }
    }
}

impl RoutePath {
    /// Parses and validates `raw`, the text of the attribute's path literal.
    pub fn parse(raw: &str) -> Result<RoutePath, PathError> {
        check_characters(raw)?;
        let pieces = split(raw)?;
        check_captures(&pieces)?;
        check_with_matchit(raw)?;
        Ok(RoutePath {
            raw: raw.to_owned(),
            pieces,
        })
    }

    /// The captures, in path order.
    pub fn captures(&self) -> impl Iterator<Item = &Capture> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Capture(capture) => Some(capture),
            Piece::Literal(_) => None,
        })
    }
}

impl PathError {
    /// The message, then `path` in quotes with carets under the bad part
    /// (stable Rust cannot point inside a string literal, so the message
    /// does it):
    ///
    /// ```text
    /// a path segment can hold only one capture
    ///   "/files/{name}.{ext}"
    ///                  ^^^^^
    /// ```
    pub fn with_caret_under(&self, path: &str) -> String {
        let error = self;
        let mut out = error.message.clone();
        if error.range.is_empty() {
            return out;
        }
        // The quote opens one column before the path; a char may be several bytes.
        let lead = path[..error.range.start].chars().count() + 1;
        let width = path[error.range.clone()].chars().count().max(1);
        out.push_str(&format!(
            "\n  \"{path}\"\n  {}{}",
            " ".repeat(lead),
            "^".repeat(width)
        ));
        out
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn check_characters(raw: &str) -> Result<(), PathError> {
    if !raw.starts_with('/') {
        let first = raw.chars().next().map_or(0, char::len_utf8);
        return Err(PathError::new(
            if raw.is_empty() {
                "a route path cannot be empty: write \"/\" for the root".to_owned()
            } else {
                format!("a route path starts with `/`: write \"/{raw}\"")
            },
            0..first,
        ));
    }
    for (at, c) in raw.char_indices() {
        let bad = at..at + c.len_utf8();
        let message = match c {
            '?' => "a route path cannot hold a query string: the query never takes part in routing; read it with the `Query<T>` extractor".to_owned(),
            '#' => "a route path cannot hold a fragment (`#…`): browsers never send it".to_owned(),
            c if c.is_whitespace() || c.is_control() => format!(
                "a route path cannot contain {}: write it percent-encoded (`%{:02X}`) if you mean it",
                describe(c),
                c as u32
            ),
            c if !c.is_ascii() => format!(
                "a route path must be ASCII: requests arrive percent-encoded, so write `{c}` as `{}`",
                percent_encode(c)
            ),
            _ => continue,
        };
        return Err(PathError::new(message, bad));
    }
    Ok(())
}

fn describe(c: char) -> &'static str {
    match c {
        ' ' => "a space",
        '\t' => "a tab",
        '\n' | '\r' => "a line break",
        _ => "a control or whitespace character",
    }
}

fn percent_encode(c: char) -> String {
    let mut buf = [0; 4];
    c.encode_utf8(&mut buf)
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect()
}

/// Splits the path into literal pieces and captures, following matchit's
/// syntax: `{{` and `}}` are literal braces, `{name}` a capture, `{*name}`
/// a catch-all that must end the path, one capture per segment.
fn split(raw: &str) -> Result<Vec<Piece>, PathError> {
    let bytes = raw.as_bytes();
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut segment_has_capture = false;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'{' if bytes.get(at + 1) == Some(&b'{') => {
                literal.push('{');
                at += 2;
            }
            b'}' if bytes.get(at + 1) == Some(&b'}') => {
                literal.push('}');
                at += 2;
            }
            b'}' => {
                return Err(PathError::new(
                    "this `}` closes no capture: write `}}` for a literal brace",
                    at..at + 1,
                ))
            }
            b'{' => {
                let Some(len) = bytes[at..].iter().position(|&b| b == b'}' || b == b'/') else {
                    return Err(PathError::new(
                        "this capture is never closed: add `}` after its name (write `{{` for a literal brace)",
                        at..bytes.len(),
                    ));
                };
                if bytes[at + len] == b'/' {
                    return Err(PathError::new(
                        "this capture is never closed: add `}` after its name (a capture cannot contain `/`)",
                        at..at + len,
                    ));
                }
                let range = at..at + len + 1;
                let inner = &raw[at + 1..at + len];
                let (name, catch_all) = match inner.strip_prefix('*') {
                    Some(name) => (name, true),
                    None => (inner, false),
                };
                check_capture_name(name, catch_all, &range)?;
                if segment_has_capture {
                    return Err(PathError::new(
                        "a path segment can hold only one capture: split it with `/`, or capture the whole segment and split it in the handler",
                        range,
                    ));
                }
                if catch_all && range.end != raw.len() {
                    return Err(PathError::new(
                        format!("a catch-all matches the rest of the path, so it must come last: end the path with `{{*{name}}}`"),
                        range,
                    ));
                }
                segment_has_capture = true;
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Capture(Capture {
                    name: name.to_owned(),
                    catch_all,
                    range,
                }));
                at += len + 1;
            }
            b => {
                if b == b'/' {
                    segment_has_capture = false;
                }
                // Multi-byte characters were refused earlier, so a byte is a char.
                literal.push(char::from(b));
                at += 1;
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

fn check_capture_name(name: &str, catch_all: bool, range: &Range<usize>) -> Result<(), PathError> {
    let example = if catch_all { "{*rest}" } else { "{id}" };
    if name.is_empty() {
        return Err(PathError::new(
            format!("this capture has no name: write one between the braces, like `{example}`; it binds the function argument of that name"),
            range.clone(),
        ));
    }
    if name.contains('*') {
        return Err(PathError::new(
            "`*` may only start a catch-all's name, like `{*rest}`",
            range.clone(),
        ));
    }
    if !is_identifier(name) {
        let star = if catch_all { "*" } else { "" };
        let suggestion = identifier_like(name);
        return Err(PathError::new(
            format!("capture name `{name}` is not a Rust identifier: a capture binds the function argument of the same name, so use letters, digits and `_`, like `{{{star}{suggestion}}}`"),
            range.clone(),
        ));
    }
    Ok(())
}

/// `user-id` → `user_id`, `1st` → `_1st`: the nearest identifier, for hints.
fn identifier_like(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.chars().all(|c| c == '_') {
        out = "id".to_owned();
    }
    out
}

/// Whether `name` can name a function argument (keywords included: they
/// bind `r#name`).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic());
    first_ok && name != "_" && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn check_captures(pieces: &[Piece]) -> Result<(), PathError> {
    let captures: Vec<&Capture> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Capture(capture) => Some(capture),
            Piece::Literal(_) => None,
        })
        .collect();
    for (i, capture) in captures.iter().enumerate() {
        if captures[..i]
            .iter()
            .any(|earlier| earlier.name == capture.name)
        {
            return Err(PathError::new(
                format!("capture `{}` appears twice: each capture binds one argument, so give them different names", capture.name),
                capture.range.clone(),
            ));
        }
    }
    // matchit renames captures `a`..`z` internally and panics past 26.
    if let Some(capture) = captures.get(26) {
        return Err(PathError::new(
            "a route path can hold at most 26 captures",
            capture.range.clone(),
        ));
    }
    Ok(())
}

/// The final word is matchit's: what it refuses here it would refuse when
/// the router is built.
fn check_with_matchit(raw: &str) -> Result<(), PathError> {
    let mut router = matchit::Router::new();
    router.insert(raw, ()).map_err(|error| {
        PathError::new(format!("matchit refuses this path: {error}"), 0..raw.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(text: &str) -> Piece {
        Piece::Literal(text.to_owned())
    }

    fn capture(name: &str, catch_all: bool, range: Range<usize>) -> Piece {
        Piece::Capture(Capture {
            name: name.to_owned(),
            catch_all,
            range,
        })
    }

    #[test]
    fn good_paths_split_into_pieces() {
        let table: &[(&str, Vec<Piece>)] = &[
            ("/", vec![literal("/")]),
            ("/users", vec![literal("/users")]),
            ("/users/", vec![literal("/users/")]),
            (
                "/users/{id}",
                vec![literal("/users/"), capture("id", false, 7..11)],
            ),
            (
                "/users/{id}/posts",
                vec![
                    literal("/users/"),
                    capture("id", false, 7..11),
                    literal("/posts"),
                ],
            ),
            ("/{*rest}", vec![literal("/"), capture("rest", true, 1..8)]),
            (
                "/img{n}.png",
                vec![literal("/img"), capture("n", false, 4..7), literal(".png")],
            ),
            (
                "/a/{x}/b/{y}",
                vec![
                    literal("/a/"),
                    capture("x", false, 3..6),
                    literal("/b/"),
                    capture("y", false, 9..12),
                ],
            ),
            ("/{{literal}}", vec![literal("/{literal}")]),
            ("/{type}", vec![literal("/"), capture("type", false, 1..7)]),
            ("/a%20b/:x/@y", vec![literal("/a%20b/:x/@y")]),
        ];
        for (raw, pieces) in table {
            let path = RoutePath::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(&path.pieces, pieces, "{raw}");
            assert_eq!(path.raw, *raw);
        }
    }

    #[test]
    fn bad_paths_are_refused_with_the_bad_part() {
        // (path, a word the message must contain, the bad part)
        let table: &[(&str, &str, &str)] = &[
            ("", "empty", ""),
            ("users", "starts with `/`", "u"),
            ("/users?page=1", "query", "?"),
            ("/a#b", "fragment", "#"),
            ("/a b", "space", " "),
            ("/café", "ASCII", "é"),
            ("/users/{}", "no name", "{}"),
            ("/users/{id", "never closed", "{id"),
            ("/users/{id/posts", "never closed", "{id"),
            ("/users/id}", "closes no capture", "}"),
            ("/users/{user-id}", "not a Rust identifier", "{user-id}"),
            ("/users/{_}", "not a Rust identifier", "{_}"),
            ("/users/{1d}", "not a Rust identifier", "{1d}"),
            ("/files/{*}", "no name", "{*}"),
            ("/files/{a*b}", "`*`", "{a*b}"),
            ("/files/{*rest}/x", "must come last", "{*rest}"),
            ("/files/{name}.{ext}", "only one capture", "{ext}"),
            ("/{a}{b}", "only one capture", "{b}"),
            ("/{id}/x/{id}", "twice", "{id}"),
        ];
        for (raw, word, bad) in table {
            let error = RoutePath::parse(raw).expect_err(raw);
            assert!(error.message.contains(word), "{raw}: {}", error.message);
            assert_eq!(&raw[error.range.clone()], *bad, "{raw}: {}", error.message);
        }
    }

    #[test]
    fn a_bad_capture_name_gets_a_nearby_suggestion() {
        for (raw, suggestion) in [
            ("/{user-id}", "`{user_id}`"),
            ("/{1st}", "`{_1st}`"),
            ("/{_}", "`{id}`"),
            ("/{*rest.txt}", "`{*rest_txt}`"),
            ("/{ü}", ""),
        ] {
            let error = RoutePath::parse(raw).unwrap_err();
            assert!(
                error.message.contains(suggestion),
                "{raw}: {}",
                error.message
            );
        }
    }

    #[test]
    fn too_many_captures_are_refused_before_matchit_panics() {
        let raw: String = (0..27).map(|i| format!("/{{c{i}}}")).collect();
        let error = RoutePath::parse(&raw).unwrap_err();
        assert!(error.message.contains("26"), "{}", error.message);
    }

    #[test]
    fn every_path_matchit_refuses_is_refused() {
        // Paths that sail past sutegi's own checks must still meet matchit's.
        for raw in ["/x/{a}", "/{*a}", "/a/{{b}}/{c}"] {
            assert!(check_with_matchit(raw).is_ok(), "{raw}");
        }
        assert!(check_with_matchit("/{a}{b}").is_err());
    }

    #[test]
    fn the_caret_sits_under_the_bad_part() {
        let raw = "/files/{name}.{ext}";
        let error = RoutePath::parse(raw).unwrap_err();
        let rendered = error.with_caret_under(raw);
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[1], "  \"/files/{name}.{ext}\"");
        assert_eq!(lines[2], "                 ^^^^^");
    }

    #[test]
    fn the_caret_counts_characters_not_bytes() {
        let raw = "/é/é";
        let error = RoutePath::parse(raw).unwrap_err();
        let rendered = error.with_caret_under(raw);
        assert_eq!(rendered.lines().nth(2), Some("    ^"));
    }
}
