//! Conditional requests on a served file: its validators (a strong `ETag`
//! made of the size and modification time, and `Last-Modified`) and the
//! preconditions checked against them, in RFC 9110 §13.2.2's order (304
//! Not Modified, 412 Precondition Failed), plus `If-Range`.
//!
//! What the answer then carries is the parent module's business.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::server::Request;

/// The file's validators. `None` where the platform reports no
/// modification time: then there is nothing to validate against.
pub(super) struct Validators {
    /// The strong entity tag, quoted.
    pub(super) etag: Option<String>,
    /// The modification time in whole seconds since the epoch (what
    /// `Last-Modified` can say).
    pub(super) last_modified: Option<u64>,
}

/// `"<mtime seconds>-<mtime nanoseconds>-<size>"` in hex, like nginx's
/// (which uses seconds and size) with sub-second changes seen too.
pub(super) fn make_etag(size: u64, mtime: SystemTime) -> String {
    let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "\"{:x}-{:x}-{:x}\"",
        since.as_secs(),
        since.subsec_nanos(),
        size
    )
}

pub(super) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// An HTTP date header in whole seconds since the epoch; `None` when
/// absent or malformed (and then ignored, as RFC 9110 says).
fn date_header(request: &Request, name: &str) -> Option<u64> {
    let value = request.header(name)?;
    httpdate::parse_http_date(value).ok().map(unix_seconds)
}

pub(super) enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// RFC 9110 §13.2.2's order: If-Match, else If-Unmodified-Since; then
/// If-None-Match, else If-Modified-Since.
pub(super) fn check_preconditions(request: &Request, validators: &Validators) -> Precondition {
    if let Some(list) = request.header("if-match") {
        let matched = match_entity_tags(list, validators.etag.as_deref(), Comparison::Strong);
        if !matched {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(modified)) = (
        date_header(request, "if-unmodified-since"),
        validators.last_modified,
    ) {
        if modified > since {
            return Precondition::Failed;
        }
    }
    if let Some(list) = request.header("if-none-match") {
        if match_entity_tags(list, validators.etag.as_deref(), Comparison::Weak) {
            return Precondition::NotModified;
        }
    } else if let (Some(since), Some(modified)) = (
        date_header(request, "if-modified-since"),
        validators.last_modified,
    ) {
        if modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// Whether `list` (`*`, or comma-separated entity tags) matches `ours`.
/// `*` matches any existing file; otherwise tags compare as RFC 9110
/// §8.8.3.2 says (our tag is strong).
fn match_entity_tags(list: &str, ours: Option<&str>, comparison: Comparison) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let Some(ours) = ours else {
        return false;
    };
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(after_quote) = rest.strip_prefix('"') else {
            // Not an entity tag: the list is malformed; match nothing.
            return false;
        };
        let Some(end) = after_quote.find('"') else {
            return false;
        };
        let tag = &rest[..end + 2];
        if tag == ours && (comparison == Comparison::Weak || !weak) {
            return true;
        }
        rest = &after_quote[end + 1..];
    }
}

/// Whether the `Range` header may be used: no `If-Range`, or one that
/// matches the file exactly (a strong entity tag, or the `Last-Modified`
/// date itself).
pub(super) fn if_range_allows(request: &Request, validators: &Validators) -> bool {
    let Some(condition) = request.header("if-range") else {
        return true;
    };
    let condition = condition.trim();
    if condition.starts_with('"') {
        validators.etag.as_deref() == Some(condition)
    } else if condition.starts_with("W/") {
        false
    } else {
        match (
            httpdate::parse_http_date(condition).ok(),
            validators.last_modified,
        ) {
            (Some(date), Some(modified)) => unix_seconds(date) == modified,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tag_lists() {
        let ours = Some("\"abc\"");
        let weak = Comparison::Weak;
        let strong = Comparison::Strong;
        assert!(match_entity_tags("\"abc\"", ours, strong));
        assert!(match_entity_tags(" W/\"abc\"", ours, weak));
        assert!(!match_entity_tags("W/\"abc\"", ours, strong));
        assert!(match_entity_tags("\"a\",\"abc\"", ours, strong));
        assert!(!match_entity_tags("\"ab\", \"abcd\"", ours, weak));
        assert!(!match_entity_tags("\"abc", ours, weak));
        assert!(!match_entity_tags("abc", ours, weak));
        assert!(!match_entity_tags("", ours, weak));
        assert!(match_entity_tags("*", None, weak));
        assert!(!match_entity_tags("\"abc\"", None, weak));
    }
}
