//! The fresh-request probe: while a scenario loads the server (idle
//! connections, SSE streams, slow clients), one thread opens a NEW
//! connection every `interval`, sends one GET, reads the whole response and
//! records connect-to-last-byte time. A new connection each time because
//! that is what a newcomer experiences: the accept path and the first
//! request, not a warm keep-alive socket. Starts are paced (no catch-up
//! burst after a slow answer), and the probe stops at its flag, its sample
//! cap or its deadline, whichever comes first.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{http, stats::Latencies};

/// The hard cap on probe requests in one run, whatever the duration.
const MAX_SAMPLES: usize = 200_000;
/// One probe request's budget (connect + request + response).
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct ProbeResult {
    pub latencies: Latencies,
    pub failures: u64,
    /// First few failure reasons, counted: what to look at first.
    pub reasons: BTreeMap<String, u64>,
}

impl ProbeResult {
    fn fail(&mut self, why: String) {
        self.failures += 1;
        if self.reasons.len() < 8 || self.reasons.contains_key(&why) {
            *self.reasons.entry(why).or_default() += 1;
        }
    }

    pub fn json(&mut self) -> Value {
        let mut v = self.latencies.json();
        v["failures"] = json!(self.failures);
        v["failure_reasons"] = json!(self.reasons);
        v
    }

    pub fn human(&mut self) -> String {
        format!(
            "fresh requests: {}, {} failed{}",
            self.latencies.human(),
            self.failures,
            if self.reasons.is_empty() {
                String::new()
            } else {
                format!(" {:?}", self.reasons)
            }
        )
    }
}

pub struct Probe {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<ProbeResult>>,
}

impl Probe {
    /// Starts probing `GET path` every `interval` until `deadline`; an
    /// `interval` of zero starts nothing (an empty result).
    pub fn start(addr: SocketAddr, path: &str, interval: Duration, deadline: Instant) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        if interval.is_zero() {
            return Probe { stop, handle: None };
        }
        let head = http::request_head("GET", path, &addr.to_string(), None);
        let flag = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("fresh-probe".into())
            .spawn(move || {
                let mut result = ProbeResult::default();
                let mut next = Instant::now();
                while !flag.load(Ordering::Relaxed)
                    && Instant::now() < deadline
                    && result.latencies.len() + (result.failures as usize) < MAX_SAMPLES
                {
                    let start = Instant::now();
                    match one_request(addr, head.as_bytes()) {
                        Ok(200) => result.latencies.record(start.elapsed()),
                        Ok(status) => result.fail(format!("status {status}")),
                        Err(e) => result.fail(e),
                    }
                    next += interval;
                    let now = Instant::now();
                    if next > now {
                        thread::sleep(next - now);
                    } else {
                        next = now; // late: carry on at the pace, no burst
                    }
                }
                result
            })
            .expect("spawn probe thread");
        Probe {
            stop,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> ProbeResult {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .map(|h| h.join().expect("probe thread panicked"))
            .unwrap_or_default()
    }
}

/// One request on a new connection; the status once the response is whole.
pub fn one_request(addr: SocketAddr, head: &[u8]) -> Result<u16, String> {
    let start = Instant::now();
    let mut s =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect: {}", e.kind()))?;
    let _ = s.set_nodelay(true);
    s.write_all(head)
        .map_err(|e| format!("write: {}", e.kind()))?;
    let mut reader = http::ResponseReader::new(false);
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = TIMEOUT
            .checked_sub(start.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or("timeout")?;
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => {
                reader.eof()?;
                return Ok(reader.status);
            }
            Ok(n) => {
                if reader.feed(&buf[..n])? {
                    return Ok(reader.status);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err("timeout".into())
            }
            Err(e) => return Err(format!("read: {}", e.kind())),
        }
    }
}
