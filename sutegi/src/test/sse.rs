//! The test client's reading of `text/event-stream` bodies: [`SseEvent`],
//! one frame as a browser's `EventSource` sees it, and the parser that
//! splits a body into frames. The server side of SSE (writing frames) is
//! `server/sink.rs`; this module only reads.

/// One Server-Sent Event as a client reads it: the fields of one frame.
///
/// `data` joins the frame's `data:` lines with `\n`; `event` and `id` are
/// the frame's own (`None` when it had none: a browser would then use
/// `message` and the previous id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseEvent {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines, joined with `\n` (empty when there were none).
    pub data: String,
    /// The `retry:` field, in milliseconds.
    pub retry: Option<u64>,
}

/// Splits an event stream into frames as the HTML standard's parser does:
/// lines end with CRLF, LF or CR; a blank line ends a frame; `:` starts a
/// comment; one space after the field's colon is dropped.
pub(super) fn parse_events(text: &str) -> Vec<SseEvent> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut events = Vec::new();
    let mut current = SseEvent::default();
    let mut has_fields = false;
    let mut has_data = false;
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            if has_fields {
                events.push(std::mem::take(&mut current));
            }
            has_fields = false;
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => current.event = Some(value.to_owned()),
            "data" => {
                if has_data {
                    current.data.push('\n');
                }
                current.data.push_str(value);
                has_data = true;
            }
            "id" if !value.contains('\0') => current.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                current.retry = value.parse().ok();
            }
            _ => continue,
        }
        has_fields = true;
    }
    events
}
