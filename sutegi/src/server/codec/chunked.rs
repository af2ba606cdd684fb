//! The resumable decoder of a chunked request body (RFC 9112 §7.1), held to
//! the grammar byte by byte. It owns the chunk framing only: the head that
//! announced `Transfer-Encoding: chunked` and the body limit come from the
//! [`RequestDecoder`](super::RequestDecoder).
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! field-line     = field-name ":" OWS field-value OWS
//! ```
//!
//! Anything outside it is a 400 that closes the connection, with a message
//! naming what was wrong: lenient chunk parsing is a classic ingredient of
//! request smuggling, where a proxy and this server would read different
//! bodies from the same bytes. In particular a chunk size is hex digits
//! only (at most 16, so it cannot overflow), whitespace after it is allowed
//! only before a `;` (the grammar's BWS), an extension needs a name, and a
//! trailer line needs a colon. Extensions and trailers are checked and then
//! ignored; their total size per body is bounded.

use super::Refusal;

/// Longest chunk-size line: the size and its extensions.
const MAX_CHUNK_LINE: usize = 4096;
/// All chunk extensions of one body together: many small chunks, each with
/// a long extension, would otherwise be an unbounded amount of work.
const MAX_EXTENSION_BYTES: usize = 16 * 1024;
/// The whole trailer section of one body.
const MAX_TRAILER_BYTES: usize = 4096;
/// Hex digits in a chunk size, leading zeros included: 16 fill a `u64`.
const MAX_SIZE_DIGITS: u32 = 16;

/// Resumable decoder of a chunked body: feed it bytes as they arrive.
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
    /// The body limit, checked as each chunk size is read.
    limit: u64,
    /// Body bytes announced so far.
    total: u64,
    /// The size of the chunk whose size line is being read.
    size: u64,
    size_digits: u32,
    /// Bytes of the current size line.
    line_bytes: usize,
    /// Bytes of extensions in this body so far.
    extension_bytes: usize,
    /// Bytes of the trailer section so far.
    trailer_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex digits of a chunk size.
    Size,
    /// Whitespace after the size: only `;` may follow.
    SizeSpace,
    /// After `;` (and any BWS): an extension name must start.
    ExtNameStart,
    ExtName,
    /// Whitespace after an extension name: `=` or `;` may follow.
    ExtAfterName,
    /// After `=` (and any BWS): a token or a quoted string must start.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    /// After a backslash inside a quoted string.
    ExtQuotedPair,
    /// Right after a quoted string's closing quote.
    ExtAfterQuoted,
    /// Whitespace after a value: only `;` may follow.
    ExtAfterValue,
    /// Saw CR ending the size line; LF must follow.
    SizeLf,
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    FinalLf,
    Done,
}

const NEED_CRLF: Refusal = Refusal::BadRequest("chunked framing lines must end with CRLF");
const NOT_HEX: Refusal = Refusal::BadRequest("a chunk size must be hexadecimal digits");
const BAD_EXTENSION: Refusal = Refusal::BadRequest(
    "a chunk extension must be ;name or ;name=value (a token or a quoted string)",
);

fn is_token_byte(byte: u8) -> bool {
    super::head::is_token_byte(byte)
}

fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// A byte a quoted string may hold as is (`qdtext`).
fn is_qdtext(byte: u8) -> bool {
    matches!(byte, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

/// A byte a field value may hold: visible, space, tab or obs-text.
fn is_field_byte(byte: u8) -> bool {
    matches!(byte, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

impl ChunkedDecoder {
    pub(crate) fn new(limit: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: ChunkState::Size,
            limit,
            total: 0,
            size: 0,
            size_digits: 0,
            line_bytes: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
        }
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns how many
    /// bytes were taken and whether the body (with its trailers) ended; the
    /// bytes after the end are not taken.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), Refusal> {
        let mut at = 0;
        while at < input.len() {
            if let ChunkState::Data { remaining } = self.state {
                let take = remaining.min((input.len() - at) as u64) as usize;
                out.extend_from_slice(&input[at..at + take]);
                at += take;
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    ChunkState::DataCr
                } else {
                    ChunkState::Data { remaining: left }
                };
                continue;
            }
            let byte = input[at];
            at += 1;
            self.step(byte)?;
            if self.state == ChunkState::Done {
                return Ok((at, true));
            }
        }
        Ok((at, self.state == ChunkState::Done))
    }

    /// Counts one byte of the size line, and of the body's extensions when
    /// it belongs to one.
    fn count_line_byte(&mut self, in_extension: bool) -> Result<(), Refusal> {
        self.line_bytes += 1;
        if self.line_bytes > MAX_CHUNK_LINE {
            return Err(Refusal::BadRequest("a chunk-size line is too long"));
        }
        if in_extension {
            self.extension_bytes += 1;
            if self.extension_bytes > MAX_EXTENSION_BYTES {
                return Err(Refusal::BadRequest(
                    "the chunk extensions of a body are too long",
                ));
            }
        }
        Ok(())
    }

    fn step(&mut self, byte: u8) -> Result<(), Refusal> {
        use ChunkState as S;
        let in_size_line = matches!(
            self.state,
            S::Size
                | S::SizeSpace
                | S::ExtNameStart
                | S::ExtName
                | S::ExtAfterName
                | S::ExtValueStart
                | S::ExtToken
                | S::ExtQuoted
                | S::ExtQuotedPair
                | S::ExtAfterQuoted
                | S::ExtAfterValue
        );
        if in_size_line {
            self.count_line_byte(self.state != S::Size)?;
        }
        if matches!(
            self.state,
            S::TrailerStart | S::TrailerName | S::TrailerValue | S::TrailerLf
        ) {
            self.trailer_bytes += 1;
            if self.trailer_bytes > MAX_TRAILER_BYTES {
                return Err(Refusal::BadRequest("the trailer section is too long"));
            }
        }
        self.state = match (self.state, byte) {
            (S::Size, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                if self.size_digits == MAX_SIZE_DIGITS {
                    return Err(Refusal::BadRequest(
                        "a chunk size has more than 16 hex digits",
                    ));
                }
                let digit = (byte as char).to_digit(16).unwrap_or(0);
                self.size = self.size << 4 | u64::from(digit);
                self.size_digits += 1;
                S::Size
            }
            (S::Size, _) if self.size_digits == 0 => return Err(NOT_HEX),
            (S::Size, b'\r') => S::SizeLf,
            (S::Size, b';') | (S::SizeSpace, b';') => S::ExtNameStart,
            (S::Size | S::SizeSpace, b' ' | b'\t') => S::SizeSpace,
            (S::SizeSpace, b'\r') => {
                return Err(Refusal::BadRequest(
                    "whitespace after a chunk size (only before a ';' extension)",
                ))
            }
            (S::Size | S::SizeSpace, b'\n') => return Err(NEED_CRLF),
            (S::Size | S::SizeSpace, _) => return Err(NOT_HEX),

            (S::ExtNameStart, b) if is_space(b) => S::ExtNameStart,
            (S::ExtNameStart, b) if is_token_byte(b) => S::ExtName,
            (S::ExtNameStart, _) => {
                return Err(Refusal::BadRequest("a chunk extension without a name"))
            }
            (S::ExtName, b) if is_token_byte(b) => S::ExtName,
            (S::ExtName | S::ExtAfterName, b) if is_space(b) => S::ExtAfterName,
            (S::ExtName | S::ExtAfterName, b'=') => S::ExtValueStart,
            (S::ExtName | S::ExtAfterName, b';') => S::ExtNameStart,
            (S::ExtName, b'\r') => S::SizeLf,
            (S::ExtValueStart, b) if is_space(b) => S::ExtValueStart,
            (S::ExtValueStart, b'"') => S::ExtQuoted,
            (S::ExtValueStart, b) if is_token_byte(b) => S::ExtToken,
            (S::ExtToken, b) if is_token_byte(b) => S::ExtToken,
            (S::ExtToken | S::ExtAfterQuoted | S::ExtAfterValue, b) if is_space(b) => {
                S::ExtAfterValue
            }
            (S::ExtToken | S::ExtAfterQuoted | S::ExtAfterValue, b';') => S::ExtNameStart,
            (S::ExtToken | S::ExtAfterQuoted, b'\r') => S::SizeLf,
            (S::ExtQuoted, b'"') => S::ExtAfterQuoted,
            (S::ExtQuoted, b'\\') => S::ExtQuotedPair,
            (S::ExtQuoted, b) if is_qdtext(b) => S::ExtQuoted,
            (S::ExtQuotedPair, b) if is_field_byte(b) => S::ExtQuoted,
            (S::ExtQuoted | S::ExtQuotedPair, _) => {
                return Err(Refusal::BadRequest(
                    "a control byte in a chunk extension's quoted string",
                ))
            }
            (_, b'\n') if in_size_line => return Err(NEED_CRLF),

            (S::SizeLf, b'\n') => {
                self.line_bytes = 0;
                let size = std::mem::take(&mut self.size);
                self.size_digits = 0;
                // Decided once the size line is whole, so a huge size is a
                // 413 however the bytes arrive.
                if self.total.saturating_add(size) > self.limit {
                    return Err(Refusal::BodyTooLarge);
                }
                if size == 0 {
                    S::TrailerStart
                } else {
                    self.total += size;
                    S::Data { remaining: size }
                }
            }
            (S::Data { .. }, _) => unreachable!("data is copied in bulk by decode"),
            (S::DataCr, b'\r') => S::DataLf,
            (S::DataLf, b'\n') => S::Size,
            (S::DataCr | S::DataLf, _) => {
                return Err(Refusal::BadRequest("chunk data must be followed by CRLF"))
            }

            (S::TrailerStart, b'\r') => S::FinalLf,
            (S::TrailerStart, b' ' | b'\t') => {
                return Err(Refusal::BadRequest("obsolete line folding in a trailer"))
            }
            (S::TrailerStart | S::TrailerName, b) if is_token_byte(b) => S::TrailerName,
            (S::TrailerName, b':') => S::TrailerValue,
            (S::TrailerName, b'\r') => {
                return Err(Refusal::BadRequest("a trailer line without a colon"))
            }
            (S::TrailerStart | S::TrailerName, b'\n') => return Err(NEED_CRLF),
            (S::TrailerStart | S::TrailerName, _) => {
                return Err(Refusal::BadRequest("malformed trailer field name"))
            }
            (S::TrailerValue, b'\r') => S::TrailerLf,
            (S::TrailerValue, b) if is_field_byte(b) => S::TrailerValue,
            (S::TrailerValue, b'\n') => return Err(NEED_CRLF),
            (S::TrailerValue, _) => {
                return Err(Refusal::BadRequest("a control byte in a trailer field"))
            }
            (S::TrailerLf, b'\n') => S::TrailerStart,
            (S::FinalLf, b'\n') => S::Done,
            (S::SizeLf | S::TrailerLf | S::FinalLf, _) => return Err(NEED_CRLF),
            (S::Done, _) => S::Done,
            // What is left of the size line: a byte the extension grammar
            // has no place for.
            (
                S::ExtName
                | S::ExtAfterName
                | S::ExtValueStart
                | S::ExtToken
                | S::ExtAfterQuoted
                | S::ExtAfterValue,
                _,
            ) => return Err(BAD_EXTENSION),
        };
        Ok(())
    }
}

/// Encodes `data` as one chunk (used by tests and the in-memory codec
/// round-trip; the server's sinks frame their writes themselves).
#[cfg(test)]
pub(crate) fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}
