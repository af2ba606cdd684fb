//! The HTTP/1.1 request codec: bytes in, requests or refusals out, no
//! sockets. The connection driver feeds it whatever arrived; it parses the
//! head with `httparse`, enforces [`Limits`], checks the framing headers
//! against request smuggling (RFC 9112 §6), and de-frames the body
//! (`Content-Length` or chunked) as it arrives.
//!
//! [`parse_request`] is the blocking front door over any `BufRead`.

use std::io::{self, BufRead};
use std::net::{Ipv4Addr, SocketAddr};

use super::handler::HeadVerdict;
use super::limits::Limits;
use super::request::{Method, Request};

/// Why the server refuses a request before any handler sees it. Each has a
/// status code and a fixed message, so refusing allocates nothing the client
/// asked for. The connection is always closed after a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: malformed syntax or framing; the message says what.
    BadRequest(&'static str),
    /// 408: the head did not arrive within the deadline, or the body stalled.
    Timeout,
    /// 413: the body is larger than the limit.
    BodyTooLarge,
    /// 414: the request target is longer than the limit.
    UriTooLong,
    /// 417: an `Expect` other than `100-continue`.
    ExpectationFailed,
    /// 431: the head is larger than the limit, or has too many fields.
    HeadersTooLarge,
    /// 501: a method token the server does not know.
    UnknownMethod,
    /// 501: a transfer coding other than `chunked` before the final `chunked`.
    UnsupportedTransferCoding,
    /// 503: the server is at a bound (streams) or shutting down.
    Unavailable,
    /// 505: an HTTP version other than 1.0 and 1.1.
    UnsupportedVersion,
}

impl Refusal {
    /// The status code that answers this refusal.
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Timeout => 408,
            Refusal::BodyTooLarge => 413,
            Refusal::UriTooLong => 414,
            Refusal::ExpectationFailed => 417,
            Refusal::HeadersTooLarge => 431,
            Refusal::UnknownMethod | Refusal::UnsupportedTransferCoding => 501,
            Refusal::Unavailable => 503,
            Refusal::UnsupportedVersion => 505,
        }
    }

    /// What was wrong, for the client.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::BadRequest(message) => message,
            Refusal::Timeout => "the request did not arrive in time",
            Refusal::BodyTooLarge => "the request body is larger than the server accepts",
            Refusal::UriTooLong => "the request target is longer than the server accepts",
            Refusal::ExpectationFailed => "only the expectation 100-continue is supported",
            Refusal::HeadersTooLarge => {
                "the request header fields are larger or more numerous than the server accepts"
            }
            Refusal::UnknownMethod => "the request method is not one the server implements",
            Refusal::UnsupportedTransferCoding => "only the chunked transfer coding is supported",
            Refusal::Unavailable => "the server cannot take this request now",
            Refusal::UnsupportedVersion => "only HTTP/1.0 and HTTP/1.1 are supported",
        }
    }
}

/// What [`parse_request`] yields: a request, or a refusal the server answers
/// (with [`Refusal::status`]) before closing the connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// A complete request, body included.
    Request(Request),
    /// A request the server refuses.
    Refused(Refusal),
}

/// Reads one request off a buffered stream under `limits`.
///
/// Returns `Ok(None)` when the peer closed before sending anything (blank
/// lines before a request are skipped), a refusal when the request breaks
/// HTTP/1.1 or crosses a limit, and the request otherwise, its body read and
/// de-chunked. Time limits are the caller's (socket timeouts); an I/O error
/// is returned as is. A `100 Continue` cannot be sent from here: the server
/// drives the same codec itself and answers it.
///
/// ```
/// use std::io::BufReader;
/// use sutegi::{parse_request, Incoming, Limits};
///
/// let bytes = b"GET /users/1?x=2 HTTP/1.1\r\nHost: example.com\r\n\r\n";
/// let parsed = parse_request(&mut BufReader::new(&bytes[..]), &Limits::default()).unwrap();
/// let Some(Incoming::Request(request)) = parsed else { panic!() };
/// assert_eq!(request.path(), "/users/1");
/// assert_eq!(request.query(), Some("x=2"));
/// ```
pub fn parse_request<R: BufRead>(reader: &mut R, limits: &Limits) -> io::Result<Option<Incoming>> {
    let mut decoder = RequestDecoder::new(peer_unknown());
    let no_override = |_: Method, _: &str| None;
    // Bytes already taken from the reader that the decoder has not consumed
    // yet: the start of a head that spans several reads. Empty on the fast
    // path, where the whole request sits in the reader's buffer and is
    // parsed in place.
    let mut spanning: Vec<u8> = Vec::new();
    loop {
        let available = reader.fill_buf()?;
        let read = available.len();
        if read == 0 {
            let nothing_sent = spanning.iter().all(|b| matches!(b, b'\r' | b'\n'));
            return Ok(if decoder.in_head() && nothing_sent {
                None
            } else {
                Some(Incoming::Refused(Refusal::BadRequest(
                    "the connection closed before the request was complete",
                )))
            });
        }
        let (step, unconsumed) = if spanning.is_empty() {
            match decoder.feed(available, limits, &no_override) {
                Err(refusal) => return Ok(Some(Incoming::Refused(refusal))),
                // The fast path: the whole request was in this read.
                Ok(Step {
                    consumed,
                    outcome: Outcome::Request(request),
                }) => {
                    reader.consume(consumed);
                    return Ok(Some(Incoming::Request(request)));
                }
                Ok(step) => {
                    spanning.extend_from_slice(&available[step.consumed..]);
                    (step.outcome, read - step.consumed)
                }
            }
        } else {
            spanning.extend_from_slice(available);
            let step = match decoder.feed(&spanning, limits, &no_override) {
                Ok(step) => step,
                Err(refusal) => return Ok(Some(Incoming::Refused(refusal))),
            };
            spanning.drain(..step.consumed);
            (step.outcome, spanning.len())
        };
        if let Outcome::Request(request) = step {
            // Only the request's own bytes leave the reader: what follows
            // it (a pipelined request) stays there for the next call. The
            // bytes kept from earlier reads were an incomplete head, so the
            // request ends inside this read and `unconsumed <= read`.
            reader.consume(read - unconsumed.min(read));
            return Ok(Some(Incoming::Request(request)));
        }
        reader.consume(read);
    }
}

fn peer_unknown() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}

/// The result of feeding bytes to a [`RequestDecoder`].
pub(crate) struct Step {
    /// How many input bytes the decoder took. A partial head is not taken:
    /// the caller keeps it and feeds it again with more bytes after it.
    pub(crate) consumed: usize,
    pub(crate) outcome: Outcome,
}

pub(crate) enum Outcome {
    /// More bytes are needed.
    NeedMore,
    /// A complete request.
    Request(Request),
    /// The head of a request whose body the handler does not want (see
    /// [`HeadVerdict::AnswerFromHead`]); its body is not read. The decoder
    /// is left inside no request: the connection must close after the
    /// answer, since the unread body would be taken for the next request.
    AnswerFromHead(Request),
    /// The head of a request whose handler reads the body itself (see
    /// [`HeadVerdict::StreamBody`]), with how the body is framed. The
    /// decoder is left between requests: the body's bytes, and any behind
    /// it, are the [`BodyReader`](super::BodyReader)'s to read.
    StreamBody(Request, StreamedBody),
}

/// How a streamed body is framed on the wire, as its head declared.
pub(crate) enum StreamFraming {
    /// `Content-Length`: this many bytes.
    Sized(u64),
    /// `Transfer-Encoding: chunked`, decoded under the body limit.
    Chunked(ChunkedDecoder),
}

/// A body the decoder left for the handler to read (see [`HeadVerdict::StreamBody`]).
pub(crate) struct StreamedBody {
    pub(crate) framing: StreamFraming,
    /// The limit that applied, for the 413's message.
    pub(crate) limit: u64,
    /// The client waits for `100 Continue` before it sends the body.
    pub(crate) expects_continue: bool,
}

enum DecodeState {
    /// Waiting for a complete head. `scanned` is how far the caller's bytes
    /// were already searched for a line feed: a head can only complete at
    /// one, so a client trickling bytes does not make us re-parse for each.
    Head { scanned: usize },
    /// Reading a `Content-Length` body.
    Sized {
        request: Box<Request>,
        remaining: u64,
    },
    /// Reading a chunked body.
    Chunked {
        request: Box<Request>,
        chunks: ChunkedDecoder,
    },
}

/// Resumable request decoding for one connection: head, then body.
pub(crate) struct RequestDecoder {
    state: DecodeState,
    peer: SocketAddr,
    /// The head of a request refused after it was parsed (413, 417), for
    /// the caller to render the refusal with ([`take_refused_head`]).
    ///
    /// [`take_refused_head`]: RequestDecoder::take_refused_head
    refused_head: Option<Box<Request>>,
    /// Set when a head asked for `100-continue` and its body has not begun;
    /// the driver sends the interim response and clears it.
    continue_wanted: bool,
}

impl RequestDecoder {
    pub(crate) fn new(peer: SocketAddr) -> RequestDecoder {
        RequestDecoder {
            state: DecodeState::Head { scanned: 0 },
            peer,
            refused_head: None,
            continue_wanted: false,
        }
    }

    /// Whether the decoder is between requests or inside a head (as opposed
    /// to reading a body).
    pub(crate) fn in_head(&self) -> bool {
        matches!(self.state, DecodeState::Head { .. })
    }

    /// The head of the request the last refusal was about, when it was
    /// decided after the head was parsed (a body too large, an unknown
    /// expectation); its body is not there.
    pub(crate) fn take_refused_head(&mut self) -> Option<Request> {
        self.refused_head.take().map(|head| *head)
    }

    /// Body bytes received so far for the request being read (de-chunked),
    /// or 0 between requests: what the minimum body rate is measured on.
    pub(crate) fn body_received(&self) -> u64 {
        match &self.state {
            DecodeState::Head { .. } => 0,
            DecodeState::Sized { request, .. } | DecodeState::Chunked { request, .. } => {
                request.body.len() as u64
            }
        }
    }

    /// Takes the "send `100 Continue` now" signal.
    pub(crate) fn take_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_wanted)
    }

    /// Feeds `input` (which starts with any bytes not consumed last time).
    /// `body_limit` may raise or lower the body limit for a method and path.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        limits: &Limits,
        body_limit: &dyn Fn(Method, &str) -> Option<u64>,
    ) -> Result<Step, Refusal> {
        let check_head = |head: &Request| HeadVerdict::ReadBody {
            limit: body_limit(head.method, head.path()),
        };
        self.feed_judged(input, limits, &check_head)
    }

    /// [`feed`](Self::feed), with the handler's verdict on each head that
    /// declares a body: its limit, or [`Outcome::AnswerFromHead`] for a
    /// body nobody wants that has not fully arrived.
    pub(crate) fn feed_judged(
        &mut self,
        input: &[u8],
        limits: &Limits,
        check_head: &dyn Fn(&Request) -> HeadVerdict,
    ) -> Result<Step, Refusal> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match &mut self.state {
                DecodeState::Head { scanned } => {
                    let searched_to = (*scanned).min(rest.len());
                    // A whole request usually ends the buffer with its LF:
                    // then no scan is needed.
                    let has_line_feed =
                        rest.last() == Some(&b'\n') || rest[searched_to..].contains(&b'\n');
                    if !has_line_feed {
                        // Refused now rather than at the deadline: a bare CR,
                        // a target or head over the limit.
                        check_incomplete_head(rest, searched_to, limits)?;
                        *scanned = rest.len();
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    }
                    let Some((request, head_len, framing)) =
                        parse_head(rest, searched_to, limits, self.peer)?
                    else {
                        *scanned = rest.len();
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    };
                    consumed += head_len;
                    if framing.expectation_failed {
                        self.refused_head = Some(Box::new(request));
                        return Err(Refusal::ExpectationFailed);
                    }
                    let expects_continue = framing.expect_continue;
                    // Asked only when there is a body to bound. A body
                    // nobody wants is left unread unless it is all here
                    // already (then reading it costs nothing and the
                    // connection can be kept).
                    let body_here = (rest.len() - head_len) as u64;
                    let limit = match framing.body {
                        BodyFraming::None | BodyFraming::Sized(0) => limits.max_body_bytes,
                        BodyFraming::Sized(_) | BodyFraming::Chunked => {
                            match check_head(&request) {
                                HeadVerdict::ReadBody { limit } => {
                                    limit.unwrap_or(limits.max_body_bytes)
                                }
                                HeadVerdict::StreamBody { limit } => {
                                    let limit = limit.unwrap_or(limits.max_body_bytes);
                                    let framing = match framing.body {
                                        BodyFraming::Sized(length) if length > limit => {
                                            self.refused_head = Some(Box::new(request));
                                            return Err(Refusal::BodyTooLarge);
                                        }
                                        BodyFraming::Sized(length) => StreamFraming::Sized(length),
                                        _ => StreamFraming::Chunked(ChunkedDecoder::new(limit)),
                                    };
                                    let body = StreamedBody {
                                        framing,
                                        limit,
                                        expects_continue: expects_continue && body_here == 0,
                                    };
                                    self.state = DecodeState::Head { scanned: 0 };
                                    return Ok(Step {
                                        consumed,
                                        outcome: Outcome::StreamBody(request, body),
                                    });
                                }
                                HeadVerdict::AnswerFromHead => match framing.body {
                                    BodyFraming::Sized(length) if length <= body_here => {
                                        limits.max_body_bytes
                                    }
                                    _ => {
                                        self.state = DecodeState::Head { scanned: 0 };
                                        return Ok(Step {
                                            consumed,
                                            outcome: Outcome::AnswerFromHead(request),
                                        });
                                    }
                                },
                            }
                        }
                    };
                    match framing.body {
                        BodyFraming::None => {
                            self.state = DecodeState::Head { scanned: 0 };
                            return Ok(Step {
                                consumed,
                                outcome: Outcome::Request(request),
                            });
                        }
                        BodyFraming::Sized(length) => {
                            if length > limit {
                                self.refused_head = Some(Box::new(request));
                                return Err(Refusal::BodyTooLarge);
                            }
                            let mut request = Box::new(request);
                            // Reserve up to 1 MiB at once (one allocation for
                            // most bodies); past that the buffer grows as
                            // bytes arrive, so a lying Content-Length costs
                            // little up front.
                            request.body.reserve(length.min(1 << 20) as usize);
                            self.state = DecodeState::Sized {
                                request,
                                remaining: length,
                            };
                        }
                        BodyFraming::Chunked => {
                            let chunks = ChunkedDecoder::new(limit);
                            self.state = DecodeState::Chunked {
                                request: Box::new(request),
                                chunks,
                            };
                        }
                    }
                    self.continue_wanted = expects_continue && consumed == input.len();
                }
                DecodeState::Sized { request, remaining } => {
                    let take = (*remaining).min(rest.len() as u64) as usize;
                    request.body.extend_from_slice(&rest[..take]);
                    *remaining -= take as u64;
                    consumed += take;
                    if *remaining > 0 {
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    }
                    return Ok(Step {
                        consumed,
                        outcome: self.finish_body(),
                    });
                }
                DecodeState::Chunked { request, chunks } => {
                    let (taken, done) = match chunks.decode(rest, &mut request.body) {
                        Ok(decoded) => decoded,
                        Err(Refusal::BodyTooLarge) => {
                            let state = std::mem::replace(
                                &mut self.state,
                                DecodeState::Head { scanned: 0 },
                            );
                            if let DecodeState::Chunked { mut request, .. } = state {
                                request.body = Vec::new();
                                self.refused_head = Some(request);
                            }
                            return Err(Refusal::BodyTooLarge);
                        }
                        Err(refusal) => return Err(refusal),
                    };
                    consumed += taken;
                    if !done {
                        return Ok(Step {
                            consumed,
                            outcome: Outcome::NeedMore,
                        });
                    }
                    return Ok(Step {
                        consumed,
                        outcome: self.finish_body(),
                    });
                }
            }
        }
    }

    /// While a `Content-Length` body is arriving: its buffer and the bytes
    /// still to come, so the connection can read the body straight into
    /// its final buffer. What it appends is counted with
    /// [`body_arrived`](RequestDecoder::body_arrived).
    pub(crate) fn sized_body(&mut self) -> Option<(&mut Vec<u8>, &u64)> {
        match &mut self.state {
            DecodeState::Sized { request, remaining } => Some((&mut request.body, remaining)),
            _ => None,
        }
    }

    /// Counts `count` body bytes appended through
    /// [`sized_body`](RequestDecoder::sized_body); the next `feed` (even of
    /// no input) completes the request when none remain.
    pub(crate) fn body_arrived(&mut self, count: usize) {
        if let DecodeState::Sized { remaining, .. } = &mut self.state {
            *remaining = remaining.saturating_sub(count as u64);
            self.continue_wanted = false;
        }
    }

    fn finish_body(&mut self) -> Outcome {
        self.continue_wanted = false;
        match std::mem::replace(&mut self.state, DecodeState::Head { scanned: 0 }) {
            DecodeState::Sized { request, .. } | DecodeState::Chunked { request, .. } => {
                Outcome::Request(*request)
            }
            DecodeState::Head { .. } => Outcome::NeedMore,
        }
    }
}

mod chunked;
mod head;

#[cfg(test)]
use chunked::encode_chunk;
pub(crate) use chunked::ChunkedDecoder;
use head::{check_incomplete_head, parse_head, BodyFraming};
#[cfg(test)]
use head::{classify, Special};

#[cfg(test)]
mod tests;
