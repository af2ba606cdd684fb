//! The blocking front door, [`parse_request`], over readers that hand out
//! the bytes in every way a socket could: one at a time, in blocks of any
//! size, cut at chosen places. Whatever the cuts, it must return the same
//! requests and leave exactly the bytes after each one in the reader.

use std::io::{self, BufRead, BufReader, Read};

use super::*;

#[test]
fn parse_request_reads_from_a_bufread_and_reports_a_closed_peer() {
    use std::io::BufReader;
    let limits = Limits::default();
    assert!(parse_request(&mut BufReader::new(&b""[..]), &limits)
        .unwrap()
        .is_none());
    assert!(parse_request(&mut BufReader::new(&b"\r\n"[..]), &limits)
        .unwrap()
        .is_none());
    let cut = parse_request(&mut BufReader::new(&b"GET / HT"[..]), &limits).unwrap();
    assert!(matches!(
        cut,
        Some(Incoming::Refused(Refusal::BadRequest(_)))
    ));
    // A tiny reader buffer makes the head span many reads.
    let bytes = b"POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n";
    let mut reader = BufReader::with_capacity(4, &bytes[..]);
    let Some(Incoming::Request(request)) = parse_request(&mut reader, &limits).unwrap() else {
        panic!()
    };
    assert_eq!((request.path(), request.body()), ("/e", &b"abc"[..]));
    let mut whole = BufReader::new(&bytes[..]);
    let Some(Incoming::Request(_)) = parse_request(&mut whole, &limits).unwrap() else {
        panic!()
    };
    // The fast path leaves the pipelined request in the reader.
    assert_eq!(whole.fill_buf().unwrap(), b"GET / HTTP/1.1\r\n");
}

/// A reader whose `fill_buf` ends at the next cut (or every `block`
/// bytes), as a socket's reads would, and never reads past what it was
/// asked to hold back.
struct Chopped<'a> {
    data: &'a [u8],
    at: usize,
    /// Sorted positions where a read ends.
    cuts: Vec<usize>,
}

impl<'a> Chopped<'a> {
    fn at_cuts(data: &'a [u8], mut cuts: Vec<usize>) -> Chopped<'a> {
        cuts.sort_unstable();
        Chopped { data, at: 0, cuts }
    }

    fn in_blocks(data: &'a [u8], block: usize) -> Chopped<'a> {
        Chopped::at_cuts(data, (block..data.len()).step_by(block).collect())
    }

    fn rest(&self) -> &[u8] {
        &self.data[self.at..]
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
        let end = self
            .cuts
            .iter()
            .copied()
            .find(|&cut| cut > self.at)
            .unwrap_or(self.data.len())
            .min(self.data.len());
        Ok(&self.data[self.at..end])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.data.len());
    }
}

/// One outcome of `parse_request`, in a form two runs can be compared by.
#[derive(Debug, PartialEq)]
enum Seen {
    Request {
        method: Method,
        target: String,
        host: Option<String>,
        body: Vec<u8>,
        /// The bytes left in the reader right after this request.
        left: usize,
    },
    Refused(u16),
    Closed,
}

/// Reads requests off `reader` until the stream ends or one is refused.
fn read_all(reader: &mut Chopped<'_>) -> Vec<Seen> {
    let limits = Limits::default();
    let mut seen = Vec::new();
    for _ in 0..16 {
        match parse_request(reader, &limits).unwrap() {
            Some(Incoming::Request(request)) => seen.push(Seen::Request {
                method: request.method(),
                target: request.target().to_owned(),
                host: request.header("host").map(str::to_owned),
                body: request.body().to_vec(),
                left: reader.rest().len(),
            }),
            Some(Incoming::Refused(refusal)) => {
                seen.push(Seen::Refused(refusal.status()));
                break;
            }
            None => {
                seen.push(Seen::Closed);
                break;
            }
        }
    }
    seen
}

/// Pipelined requests of every framing, then one the codec refuses.
const PIPELINE: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n\
\r\nGET http://other:81/d?q HTTP/1.1\r\nHost: x\r\n\r\n\
GET /e HTTP/1.0\r\n\r\n\
GET /f#frag HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn a_pipeline_reads_the_same_however_the_reads_are_cut() {
    let expected = read_all(&mut Chopped::at_cuts(PIPELINE, Vec::new()));
    assert_eq!(expected.len(), 6, "{expected:?}");
    assert_eq!(expected[5], Seen::Refused(400));
    let Seen::Request { host, target, .. } = &expected[3] else {
        panic!("{expected:?}")
    };
    assert_eq!(
        (host.as_deref(), target.as_str()),
        (Some("other:81"), "/d?q")
    );
    for block in 1..=PIPELINE.len() {
        let got = read_all(&mut Chopped::in_blocks(PIPELINE, block));
        assert_eq!(got, expected, "reads of {block} bytes");
    }
    // A cut at every line feed, and at every byte before one.
    let line_ends: Vec<usize> = (0..PIPELINE.len())
        .filter(|&i| PIPELINE[i] == b'\n')
        .flat_map(|i| [i, i + 1])
        .collect();
    assert_eq!(
        read_all(&mut Chopped::at_cuts(PIPELINE, line_ends)),
        expected
    );
}

#[test]
fn a_head_spanning_reads_keeps_the_pipelined_bytes() {
    let bytes = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    // Every way to cut the stream in two: the first head spans the reads.
    for cut in 1..bytes.len() {
        let mut reader = Chopped::at_cuts(bytes, vec![cut]);
        let limits = Limits::default();
        for path in ["/a", "/b"] {
            let Some(Incoming::Request(request)) = parse_request(&mut reader, &limits).unwrap()
            else {
                panic!("cut at {cut}: no request {path}")
            };
            assert_eq!(request.path(), path, "cut at {cut}");
        }
        assert!(parse_request(&mut reader, &limits).unwrap().is_none());
    }
}

#[test]
fn a_std_bufreader_of_any_capacity_reads_the_same() {
    let expected = read_all(&mut Chopped::at_cuts(PIPELINE, Vec::new()));
    for capacity in [1, 2, 3, 7, 16, 64, 100] {
        let mut reader = BufReader::with_capacity(capacity, PIPELINE);
        let limits = Limits::default();
        let mut statuses = Vec::new();
        loop {
            match parse_request(&mut reader, &limits).unwrap() {
                Some(Incoming::Request(request)) => statuses.push(request.target().to_owned()),
                Some(Incoming::Refused(refusal)) => {
                    statuses.push(refusal.status().to_string());
                    break;
                }
                None => break,
            }
        }
        let targets: Vec<String> = expected
            .iter()
            .map(|seen| match seen {
                Seen::Request { target, .. } => target.clone(),
                Seen::Refused(status) => status.to_string(),
                Seen::Closed => String::new(),
            })
            .collect();
        assert_eq!(statuses, targets, "capacity {capacity}");
    }
}
