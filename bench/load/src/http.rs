//! Just enough HTTP/1.1 client for a load tool: building request heads, and
//! an incremental response reader that can be fed whatever a non-blocking
//! socket returned (any split: mid-line, mid-chunk-size) and says when the
//! response is complete. It understands `Content-Length`, chunked bodies
//! (extensions and trailers skipped) and close-delimited bodies, and keeps
//! the decoded body only when asked (SSE clients parse it; everyone else
//! just counts it). It does not try to be a validating client: the
//! conformance suite in `tests/` is where malformed responses are judged.

use std::fmt::Write as _;

/// Refuse response heads larger than this: a bug, not a response.
const MAX_HEAD: usize = 64 * 1024;

/// A request head for `method path` on `host`, with an optional body
/// length (sent as `Content-Length`), ending with the blank line.
pub fn request_head(method: &str, path: &str, host: &str, body_len: Option<usize>) -> String {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sutegi-load\r\n");
    if let Some(len) = body_len {
        let _ = write!(
            head,
            "Content-Type: application/octet-stream\r\nContent-Length: {len}\r\n"
        );
    }
    head.push_str("\r\n");
    head
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    /// `Content-Length` body: bytes still to come.
    Length(u64),
    ChunkSize,
    /// Inside a chunk: data bytes still to come.
    ChunkData(u64),
    /// The CRLF that ends a chunk's data.
    ChunkEnd,
    /// After the zero chunk: trailer lines until an empty one.
    Trailers,
    /// No length and not chunked: the body ends when the server closes.
    UntilClose,
    Done,
}

/// Reads one response at a time; `reset` prepares it for the next one on a
/// keep-alive connection (bytes already received past the end are kept).
#[derive(Debug)]
pub struct ResponseReader {
    buf: Vec<u8>,
    phase: Phase,
    keep_body: bool,
    /// Status code, valid once the head has been read.
    pub status: u16,
    /// The server said `Connection: close` (or the body is close-delimited).
    pub closes: bool,
    /// The body is `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Decoded body bytes seen so far.
    pub body_bytes: u64,
    /// Decoded body bytes not yet taken with `take_body` (when kept).
    body: Vec<u8>,
}

impl ResponseReader {
    /// `keep_body`: hold decoded body bytes for `take_body` (else only count).
    pub fn new(keep_body: bool) -> Self {
        Self {
            buf: Vec::new(),
            phase: Phase::Head,
            keep_body,
            status: 0,
            closes: false,
            chunked: false,
            body_bytes: 0,
            body: Vec::new(),
        }
    }

    /// Ready for the next response on the same connection.
    pub fn reset(&mut self) {
        self.phase = Phase::Head;
        self.status = 0;
        self.closes = false;
        self.chunked = false;
        self.body_bytes = 0;
        self.body.clear();
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The head has been read (status and framing known).
    pub fn has_head(&self) -> bool {
        self.phase != Phase::Head
    }

    /// Decoded body bytes received since the last call.
    pub fn take_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }

    /// Feeds bytes from the socket; `Ok(true)` once the response is complete.
    pub fn feed(&mut self, data: &[u8]) -> Result<bool, String> {
        self.buf.extend_from_slice(data);
        self.advance()?;
        Ok(self.is_done())
    }

    /// The server closed the connection: completes a close-delimited body,
    /// otherwise it is an error (a response cut short).
    pub fn eof(&mut self) -> Result<(), String> {
        match self.phase {
            Phase::UntilClose => {
                self.phase = Phase::Done;
                Ok(())
            }
            Phase::Done => Ok(()),
            Phase::Head if self.buf.is_empty() => Err("closed before any response".into()),
            p => Err(format!("closed mid-response ({p:?})")),
        }
    }

    fn emit_body(&mut self, start: usize, end: usize) {
        self.body_bytes += (end - start) as u64;
        if self.keep_body {
            self.body.extend_from_slice(&self.buf[start..end]);
        }
    }

    fn advance(&mut self) -> Result<(), String> {
        let mut pos = 0;
        loop {
            match self.phase {
                Phase::Done => break,
                Phase::Head => {
                    let Some(end) = find(&self.buf[pos..], b"\r\n\r\n") else {
                        if self.buf.len() - pos > MAX_HEAD {
                            return Err("response head too large".into());
                        }
                        break;
                    };
                    let head = std::str::from_utf8(&self.buf[pos..pos + end])
                        .map_err(|_| "response head is not UTF-8".to_string())?
                        .to_owned();
                    pos += end + 4;
                    self.parse_head(&head)?;
                }
                Phase::Length(0) => self.phase = Phase::Done,
                Phase::Length(left) => {
                    let take = left.min((self.buf.len() - pos) as u64) as usize;
                    if take == 0 {
                        break;
                    }
                    self.emit_body(pos, pos + take);
                    pos += take;
                    self.phase = Phase::Length(left - take as u64);
                }
                Phase::UntilClose => {
                    let end = self.buf.len();
                    self.emit_body(pos, end);
                    pos = end;
                    break;
                }
                Phase::ChunkSize => {
                    let Some(end) = find(&self.buf[pos..], b"\r\n") else {
                        break;
                    };
                    let line = std::str::from_utf8(&self.buf[pos..pos + end])
                        .map_err(|_| "chunk size is not ASCII".to_string())?;
                    let size_text = line.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(size_text, 16)
                        .map_err(|_| format!("bad chunk size {size_text:?}"))?;
                    pos += end + 2;
                    self.phase = if size == 0 {
                        Phase::Trailers
                    } else {
                        Phase::ChunkData(size)
                    };
                }
                Phase::ChunkData(left) => {
                    let take = left.min((self.buf.len() - pos) as u64) as usize;
                    if take == 0 {
                        break;
                    }
                    self.emit_body(pos, pos + take);
                    pos += take;
                    let left = left - take as u64;
                    self.phase = if left == 0 {
                        Phase::ChunkEnd
                    } else {
                        Phase::ChunkData(left)
                    };
                }
                Phase::ChunkEnd => {
                    if self.buf.len() - pos < 2 {
                        break;
                    }
                    if &self.buf[pos..pos + 2] != b"\r\n" {
                        return Err("chunk data not followed by CRLF".into());
                    }
                    pos += 2;
                    self.phase = Phase::ChunkSize;
                }
                Phase::Trailers => {
                    let Some(end) = find(&self.buf[pos..], b"\r\n") else {
                        break;
                    };
                    pos += end + 2;
                    if end == 0 {
                        self.phase = Phase::Done;
                    }
                }
            }
        }
        self.buf.drain(..pos);
        Ok(())
    }

    fn parse_head(&mut self, head: &str) -> Result<(), String> {
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(format!("not an HTTP/1.x status line: {status_line:?}"));
        }
        self.status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut length = None;
        self.chunked = false;
        self.closes = version == "HTTP/1.0";
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("bad Content-Length {value:?}"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                self.chunked = value.to_ascii_lowercase().ends_with("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    self.closes = true;
                } else if v.contains("keep-alive") {
                    self.closes = false;
                }
            }
        }
        // 1xx interim responses (100 Continue) are skipped: read the next head.
        if (100..200).contains(&self.status) {
            self.phase = Phase::Head;
            return Ok(());
        }
        self.phase = if self.status == 204 || self.status == 304 {
            Phase::Done
        } else if self.chunked {
            Phase::ChunkSize
        } else if let Some(len) = length {
            Phase::Length(len)
        } else {
            self.closes = true;
            Phase::UntilClose
        };
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_bytewise(r: &mut ResponseReader, data: &[u8]) -> bool {
        let mut done = false;
        for b in data {
            done = r.feed(std::slice::from_ref(b)).unwrap();
        }
        done
    }

    #[test]
    fn content_length_split_anywhere() {
        let mut r = ResponseReader::new(true);
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert!(feed_bytewise(&mut r, resp));
        assert_eq!(r.status, 200);
        assert_eq!(r.take_body(), b"hello");
    }

    #[test]
    fn chunked_with_extension_and_trailer_then_next_response() {
        let mut r = ResponseReader::new(true);
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                     3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n\
                     HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert!(r.feed(resp).unwrap());
        assert_eq!(r.take_body(), b"abcde");
        r.reset();
        assert!(r.feed(b"").unwrap());
        assert_eq!(r.status, 404);
    }

    #[test]
    fn close_delimited_needs_eof() {
        let mut r = ResponseReader::new(false);
        assert!(!r.feed(b"HTTP/1.0 200 OK\r\n\r\nabc").unwrap());
        r.eof().unwrap();
        assert!(r.is_done());
        assert_eq!(r.body_bytes, 3);
        let mut cut = ResponseReader::new(false);
        cut.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
            .unwrap();
        assert!(cut.eof().is_err());
    }

    #[test]
    fn interim_100_is_skipped() {
        let mut r = ResponseReader::new(false);
        let resp =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
        assert!(r.feed(resp).unwrap());
        assert_eq!(r.status, 201);
    }
}
