//! Single byte ranges of a served file (RFC 9110 §14): parsing `Range`
//! into the part to send (206) or a refusal (416), and reading those bytes,
//! into memory or as a stream for large bodies.
//!
//! Several ranges, other units and malformed values fall back to the
//! whole file, as the RFC allows; multipart answers are not produced.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use crate::server::Body;

/// The size of each piece a streamed file is read and sent in.
const STREAM_PIECE: usize = 64 * 1024;

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RangeAnswer {
    /// No usable single byte range: send the whole file.
    Whole,
    /// Bytes `start..=end`, both inside the file.
    Part { start: u64, end: u64 },
    /// A well-formed range that selects nothing.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2) for a
/// non-empty file. Several ranges, other units and malformed values are
/// [`RangeAnswer::Whole`].
pub(super) fn parse_range(header: &str, size: u64) -> RangeAnswer {
    let header = header.trim();
    let Some(unit) = header.get(..6) else {
        return RangeAnswer::Whole;
    };
    if !unit.eq_ignore_ascii_case("bytes=") {
        return RangeAnswer::Whole;
    }
    let spec = header[6..].trim();
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |text: &str| -> Option<u64> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    if first.is_empty() {
        let Some(suffix) = number(last) else {
            return RangeAnswer::Whole;
        };
        if suffix == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        return RangeAnswer::Part {
            start: size.saturating_sub(suffix),
            end: size - 1,
        };
    }
    let Some(start) = number(first) else {
        return RangeAnswer::Whole;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return RangeAnswer::Whole,
        }
    };
    if start >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Part {
        start,
        end: end.min(size - 1),
    }
}

/// Reads `length` bytes from `start` into memory.
pub(super) fn read_file(mut file: File, start: u64, length: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.take(length).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < length {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file shrank while it was read",
        ));
    }
    Ok(bytes)
}

/// A body that reads `length` bytes from `start` in 64 KiB pieces as the
/// client takes them.
pub(super) fn stream_file(mut file: File, start: u64, length: u64) -> Body {
    Body::stream(move |sink| {
        file.seek(SeekFrom::Start(start))?;
        let mut piece =
            vec![0; usize::try_from(length).map_or(STREAM_PIECE, |n| n.min(STREAM_PIECE))];
        let mut remaining = length;
        while remaining > 0 {
            let want = piece
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let read = match file.read(&mut piece[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was sent",
                    ))
                }
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            sink.send(&piece[..read])?;
            remaining -= read as u64;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parsing() {
        use RangeAnswer::*;
        let cases: &[(&str, u64, RangeAnswer)] = &[
            ("bytes=0-0", 1, Part { start: 0, end: 0 }),
            ("bytes=0-", 1, Part { start: 0, end: 0 }),
            ("bytes=-1", 1, Part { start: 0, end: 0 }),
            ("bytes=1-", 1, Unsatisfiable),
            ("bytes=18446744073709551615-", 10, Unsatisfiable),
            ("bytes=99999999999999999999-", 10, Whole),
            ("bytes=0-99999999999999999999", 10, Whole),
            ("bytes=", 10, Whole),
            ("bytes", 10, Whole),
            ("", 10, Whole),
            ("bytes=1-2-3", 10, Whole),
        ];
        for (header, size, answer) in cases {
            assert_eq!(parse_range(header, *size), *answer, "{header}");
        }
    }
}
