//! Feeding one byte string to `parse_request` in every way a socket could
//! cut it, and comparing what comes out. A codec whose answer depends on
//! where the reads end is a smuggling risk: a proxy and this server would
//! see different requests in the same bytes.

use std::io::{self, BufRead, BufReader, Read};

use sutegi::server::Version;
use sutegi::{parse_request, Incoming, Limits, Method};

/// The limits the fuzz targets run under: small enough for a fuzz input to
/// cross each of them.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_body_bytes: 64 * 1024,
        max_target_bytes: 512,
        max_head_bytes: 2048,
        max_headers: 16,
        ..Limits::default()
    }
}

/// A reader whose `fill_buf` ends at the next cut, as a socket read would.
pub struct Chopped<'a> {
    data: &'a [u8],
    at: usize,
    /// Sorted positions where a read ends.
    cuts: Vec<usize>,
}

impl<'a> Chopped<'a> {
    /// A reader that ends a read at each of `cuts`.
    pub fn at_cuts(data: &'a [u8], mut cuts: Vec<usize>) -> Chopped<'a> {
        cuts.sort_unstable();
        cuts.dedup();
        Chopped { data, at: 0, cuts }
    }

    /// A reader that hands out `block` bytes at a time.
    pub fn in_blocks(data: &'a [u8], block: usize) -> Chopped<'a> {
        let block = block.max(1);
        Chopped::at_cuts(data, (block..data.len()).step_by(block).collect())
    }
}

impl Read for Chopped<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chopped<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // The first cut past the current position (binary search: the
        // one-byte reader has as many cuts as bytes).
        let next = self.cuts.partition_point(|&cut| cut <= self.at);
        let end = self.cuts.get(next).copied().unwrap_or(self.data.len());
        Ok(&self.data[self.at..end.min(self.data.len())])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.data.len());
    }
}

/// What one `parse_request` call gave, in a form two runs compare by.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// A request, and how many bytes were left in the reader after it.
    Request {
        method: Method,
        version: Version,
        target: String,
        fields: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
        keep_alive: bool,
        left: usize,
    },
    /// A refusal's status.
    Refused(u16),
    /// The peer closed between requests.
    Closed,
}

/// Reads up to 8 requests, as a pipelining client sends them, until the
/// stream ends or one is refused. `left` says how many bytes the reader
/// still holds. Checks what must hold of every request on the way.
pub fn read_sequence<R: BufRead>(reader: &mut R, left: fn(&R) -> usize) -> Vec<Seen> {
    let limits = fuzz_limits();
    let mut seen = Vec::new();
    for _ in 0..8 {
        match parse_request(reader, &limits) {
            Ok(Some(Incoming::Request(request))) => {
                assert!(request.target().len() <= limits.max_target_bytes);
                assert!(request.path().len() <= request.target().len());
                assert!(
                    !request.target().contains('#'),
                    "a fragment reached a handler"
                );
                assert!(request.body().len() as u64 <= limits.max_body_bytes);
                assert!(
                    request.target().starts_with('/') || request.target() == "*",
                    "a target not in origin form: {:?}",
                    request.target()
                );
                seen.push(Seen::Request {
                    method: request.method(),
                    version: request.version(),
                    target: request.target().to_owned(),
                    fields: request
                        .headers()
                        .map(|(name, value)| (name.to_owned(), value.to_vec()))
                        .collect(),
                    body: request.body().to_vec(),
                    keep_alive: request.keep_alive(),
                    left: left(reader),
                });
            }
            Ok(Some(Incoming::Refused(refusal))) => {
                assert!((400..600).contains(&refusal.status()));
                assert!(!refusal.message().is_empty());
                seen.push(Seen::Refused(refusal.status()));
                break;
            }
            Ok(Some(_)) => unreachable!("Incoming has two variants today"),
            Ok(None) => {
                seen.push(Seen::Closed);
                break;
            }
            Err(error) => panic!("reading from memory failed: {error}"),
        }
    }
    seen
}

fn chopped_left(reader: &Chopped<'_>) -> usize {
    reader.data.len() - reader.at
}

fn bufreader_left(reader: &BufReader<&[u8]>) -> usize {
    reader.buffer().len() + reader.get_ref().len()
}

/// Decodes `bytes` read whole, then cut in several ways picked from
/// `split`: one byte per read, a read ending after each byte equal to
/// `split`, blocks of a few sizes, and std's `BufReader` with a capacity of
/// `split`. Every way must give the same sequence; it is returned.
pub fn decode_every_way(split: u8, bytes: &[u8]) -> Vec<Seen> {
    let whole = read_sequence(&mut Chopped::at_cuts(bytes, Vec::new()), chopped_left);
    let mut ways: Vec<(String, Chopped<'_>)> = vec![
        ("one byte per read".into(), Chopped::in_blocks(bytes, 1)),
        (
            format!("a read ending after each {split:#04x}"),
            Chopped::at_cuts(
                bytes,
                (0..bytes.len())
                    .filter(|&i| bytes[i] == split)
                    .map(|i| i + 1)
                    .collect(),
            ),
        ),
    ];
    for block in [2, 3, 7, 64, usize::from(split) % 29 + 4] {
        ways.push((
            format!("reads of {block} bytes"),
            Chopped::in_blocks(bytes, block),
        ));
    }
    for (way, mut reader) in ways {
        let got = read_sequence(&mut reader, chopped_left);
        assert_eq!(got, whole, "{way} decodes differently from one read");
    }
    let capacity = usize::from(split).max(1);
    let std_reader = read_sequence(
        &mut BufReader::with_capacity(capacity, bytes),
        bufreader_left,
    );
    assert_eq!(
        std_reader, whole,
        "a BufReader of {capacity} bytes decodes differently"
    );
    whole
}
