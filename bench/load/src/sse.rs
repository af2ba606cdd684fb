//! `sse`: N Server-Sent Events clients on one poller, each asking for
//! `--events` events every `--interval-ms`, parsing every frame and checking
//! that ids run 0, 1, 2… with `event: tick` and `data` equal to the id —
//! the `/events` contract of examples/api (the reference API). Meanwhile the fresh
//! probe times plain requests, because the promise is that streams never
//! starve ordinary traffic.
//!
//! Reported: events delivered in order against expected, id errors, clients
//! that completed / were cut / got a bad status, each stream's duration
//! against the ideal `(events-1) × interval`, fresh latencies, and the
//! server's RSS and threads sampled while the streams ran. Fresh latencies
//! come in two sets: `fresh`, once every stream has delivered its first
//! event (the streaming the scenario is about), and `fresh_connecting`,
//! while the N clients connect (a storm of new streams, reported apart so
//! one does not hide the other).
//!
//! `--reconnect N` lets each client reconnect up to N times when its stream
//! ends or is cut before the last event (or a reconnect fails to connect),
//! after `--reconnect-delay-ms`, sending `Last-Event-ID` with the last id
//! it saw, as `EventSource` does; the ids must still run 0, 1, 2… across
//! the connections, so a lost or repeated event is an id error. A bad
//! status is not retried (`EventSource` gives up on one too).

use std::{
    io::Write,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    args::Args,
    http::{self, ResponseReader},
    pool::{self, Pool, Read1},
    probe::Probe,
    stats::Latencies,
    sys::ServerWatch,
    Outcome,
};

/// One SSE frame as the client saw it.
#[derive(Debug, Default, PartialEq)]
pub struct Frame {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// Incremental `text/event-stream` parser (the subset servers send here:
/// `event`, `id`, `data`, comments; `retry` and unknown fields ignored).
/// A frame is dispatched at a blank line if it carried data, as EventSource
/// does, so keep-alive comments never count as events.
#[derive(Default)]
pub struct SseParser {
    line: Vec<u8>,
    current: Frame,
    has_data: bool,
}

impl SseParser {
    pub fn feed(&mut self, bytes: &[u8], mut on_frame: impl FnMut(Frame)) {
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                let frame = std::mem::take(&mut self.current);
                if std::mem::take(&mut self.has_data) {
                    on_frame(frame);
                }
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            let (field, value) = match text.split_once(':') {
                Some(("", _)) => continue, // a comment
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (&*text, ""),
            };
            match field {
                "event" => self.current.event = Some(value.to_owned()),
                "id" => self.current.id = Some(value.to_owned()),
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                _ => {}
            }
        }
    }
}

struct Client {
    reader: ResponseReader,
    parser: SseParser,
    next_id: u64,
    delivered: u64,
    id_errors: u64,
    opened: Instant,
    reconnects: u32,
}

impl Client {
    fn new(opened: Instant) -> Client {
        Client {
            reader: ResponseReader::new(true),
            parser: SseParser::default(),
            next_id: 0,
            delivered: 0,
            id_errors: 0,
            opened,
            reconnects: 0,
        }
    }
}

/// The request head, with `Last-Event-ID` when resuming after `last`.
fn stream_head(target: &str, host: &str, last: Option<u64>) -> String {
    let mut head = http::request_head("GET", target, host, None);
    if let Some(id) = last {
        head.truncate(head.len() - 2);
        head.push_str(&format!("Last-Event-ID: {id}\r\n\r\n"));
    }
    head
}

/// Clients waiting to reconnect (`--reconnect`).
struct Retry {
    max: u32,
    delay: Duration,
    addr: std::net::SocketAddr,
    target: String,
    waiting: Vec<(Instant, Client)>,
}

impl Retry {
    /// Schedules a reconnect if the client has one left; else hands it back.
    fn offer(&mut self, mut c: Client, t: &mut Tally, why: String) -> Option<Client> {
        if c.reconnects >= self.max {
            return Some(c);
        }
        c.reconnects += 1;
        t.reconnects += 1;
        t.note(format!("reconnected after: {why}"));
        // A frame cut in the middle is dropped, as EventSource drops it.
        c.reader = ResponseReader::new(true);
        c.parser = SseParser::default();
        self.waiting.push((Instant::now() + self.delay, c));
        None
    }

    /// Reconnects the clients whose delay is over.
    fn connect_due(&mut self, pool: &mut Pool<Client>, t: &mut Tally) -> Result<(), String> {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.waiting = later;
        for (_, c) in due {
            let last = c.next_id.checked_sub(1);
            let head = stream_head(&self.target, &self.addr.to_string(), last);
            match pool::connect(self.addr, Duration::from_secs(5)).and_then(|mut s| {
                s.write_all(head.as_bytes())?;
                Ok(s)
            }) {
                Ok(s) => {
                    pool.insert(s, c).map_err(|e| e.to_string())?;
                }
                Err(e) => {
                    let why = format!("reconnect: {}", e.kind());
                    if let Some(c) = self.offer(c, t, why.clone()) {
                        t.truncated += 1;
                        t.note(why);
                        t.delivered += c.delivered;
                        t.id_errors += c.id_errors;
                    }
                }
            }
        }
        Ok(())
    }
}

pub fn run(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let clients: usize = args.get("clients", 1_000)?;
    let events: u64 = args.get("events", 50)?;
    let interval_ms: u64 = args.get("interval-ms", 100)?;
    let path: String = args.get("path", "/events".to_owned())?;
    let fresh_path: String = args.get("fresh-path", "/plaintext".to_owned())?;
    let fresh_every = Duration::from_millis(args.get("fresh-interval-ms", 10)?);
    let ideal = Duration::from_millis(events.saturating_sub(1) * interval_ms);
    let timeout = Duration::from_secs_f64(args.get("timeout", ideal.as_secs_f64() + 60.0)?);
    let reconnect: u32 = args.get("reconnect", 0)?;
    let reconnect_delay = Duration::from_millis(args.get("reconnect-delay-ms", 100)?);
    let pid: Option<u32> = args.opt("pid")?;
    args.finish()?;

    let started = Instant::now();
    let deadline = started + timeout;
    let sep = if path.contains('?') { '&' } else { '?' };
    let target = format!("{path}{sep}n={events}&interval_ms={interval_ms}");
    let head = stream_head(&target, &addr.to_string(), None);
    let mut retry = Retry {
        max: reconnect,
        delay: reconnect_delay,
        addr,
        target: target.clone(),
        waiting: Vec::new(),
    };
    let mut pool: Pool<Client> = Pool::new().map_err(|e| e.to_string())?;
    let mut watch = ServerWatch::new(pid);
    // Two probes: one while the clients connect (a storm of new streams),
    // and the reported one while they stream, started once every stream
    // has delivered its first event.
    let connecting_probe = Probe::start(addr, &fresh_path, fresh_every, deadline);
    let mut buf = vec![0u8; 64 * 1024];
    let mut t = Tally::default();

    for i in 0..clients {
        if Instant::now() > deadline {
            t.connect_failures += (clients - i) as u64;
            break;
        }
        let opened = Instant::now();
        match pool::connect(addr, Duration::from_secs(5)).and_then(|mut s| {
            s.write_all(head.as_bytes())?;
            Ok(s)
        }) {
            Ok(s) => {
                pool.insert(s, Client::new(opened))
                    .map_err(|e| e.to_string())?;
            }
            Err(e) => {
                t.connect_failures += 1;
                t.note(format!("connect: {}", e.kind()));
            }
        }
        if i % 128 == 127 {
            pump(
                &mut pool,
                &mut buf,
                Duration::ZERO,
                &mut t,
                events,
                &mut retry,
            )?;
        }
    }
    eprintln!(
        "sse: {} of {clients} clients connected in {:.1} s, streaming {events} events every {interval_ms} ms",
        pool.open() + t.finished() + retry.waiting.len(),
        started.elapsed().as_secs_f64()
    );

    let all_started = Instant::now() + ideal.min(Duration::from_secs(10));
    while Instant::now() < all_started
        && pool
            .iter_mut()
            .any(|(_, _, c)| c.delivered == 0 && c.reconnects == 0)
    {
        pump(
            &mut pool,
            &mut buf,
            Duration::from_millis(10),
            &mut t,
            events,
            &mut retry,
        )?;
    }
    let mut connecting = connecting_probe.finish();
    eprintln!(
        "sse: every stream started {:.1} s after the first connect",
        started.elapsed().as_secs_f64()
    );
    let probe = Probe::start(addr, &fresh_path, fresh_every, deadline);

    let mut next_sample = Instant::now();
    while (pool.open() > 0 || !retry.waiting.is_empty()) && Instant::now() < deadline {
        if Instant::now() >= next_sample {
            watch.sample();
            next_sample += Duration::from_millis(500);
        }
        retry.connect_due(&mut pool, &mut t)?;
        let wait = if retry.waiting.is_empty() { 100 } else { 20 };
        pump(
            &mut pool,
            &mut buf,
            Duration::from_millis(wait),
            &mut t,
            events,
            &mut retry,
        )?;
    }
    let stalled = (pool.open() + retry.waiting.len()) as u64;
    for key in pool.keys() {
        if let Some(c) = pool.remove(key) {
            t.delivered += c.delivered;
            t.id_errors += c.id_errors;
        }
    }
    for (_, c) in std::mem::take(&mut retry.waiting) {
        t.delivered += c.delivered;
        t.id_errors += c.id_errors;
    }
    if stalled > 0 {
        t.note("stream still open at the deadline".into());
    }
    let mut fresh = probe.finish();

    let expected = clients as u64 * events;
    let missing = expected.saturating_sub(t.delivered);
    let errors = missing + t.id_errors + fresh.failures + connecting.failures;
    let human = vec![
        format!(
            "sse: {clients} clients x {events} events @ {interval_ms} ms from {addr}: {} of {expected} events delivered in order, {} id errors",
            t.delivered, t.id_errors
        ),
        format!(
            "sse: {} complete, {} cut short, {} bad status, {} connect failures, {stalled} stalled, {} reconnects; stream time {} (ideal {} ms)",
            t.complete, t.truncated, t.bad_status, t.connect_failures, t.reconnects,
            t.stream_time.human(),
            ideal.as_millis()
        ),
        format!("sse: while streaming: {}", fresh.human()),
        format!("sse: while connecting: {}", connecting.human()),
        format!("sse: {}", watch.human()),
    ];
    let json = json!({
        "scenario": "sse",
        "addr": addr.to_string(),
        "clients": clients,
        "events": events,
        "interval_ms": interval_ms,
        "expected": expected,
        "delivered": t.delivered,
        "id_errors": t.id_errors,
        "complete": t.complete,
        "truncated": t.truncated,
        "bad_status": t.bad_status,
        "connect_failures": t.connect_failures,
        "stalled": stalled,
        "reconnect": reconnect,
        "reconnects": t.reconnects,
        "failure_reasons": t.reasons,
        "stream_time": t.stream_time.json(),
        "ideal_stream_ms": ideal.as_millis() as u64,
        "fresh": fresh.json(),
        "fresh_connecting": connecting.json(),
        "server": watch.to_json(),
        "errors": errors,
    });
    Ok(Outcome {
        json,
        human,
        errors,
        started,
    })
}

#[derive(Default)]
struct Tally {
    delivered: u64,
    id_errors: u64,
    complete: u64,
    truncated: u64,
    bad_status: u64,
    connect_failures: u64,
    reconnects: u64,
    stream_time: Latencies,
    reasons: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    fn note(&mut self, why: String) {
        if self.reasons.len() < 8 || self.reasons.contains_key(&why) {
            *self.reasons.entry(why).or_default() += 1;
        }
    }

    fn finished(&self) -> usize {
        (self.complete + self.truncated + self.bad_status) as usize
    }
}

fn pump(
    pool: &mut Pool<Client>,
    buf: &mut [u8],
    timeout: Duration,
    t: &mut Tally,
    events: u64,
    retry: &mut Retry,
) -> Result<(), String> {
    for key in pool.wait(timeout).map_err(|e| e.to_string())? {
        let read = pool.read(key, buf);
        let Some((_, c)) = pool.get_mut(key) else {
            continue;
        };
        let result = match read {
            Read1::Empty => continue,
            Read1::Data(n) => c.reader.feed(&buf[..n]),
            Read1::Eof | Read1::Error(_) => c.reader.eof().map(|()| true),
        };
        if c.reader.has_head() && c.reader.status != 200 {
            t.bad_status += 1;
            t.note(format!("status {}", c.reader.status));
            let c = pool.remove(key).expect("open");
            t.delivered += c.delivered;
            continue;
        }
        let body = c.reader.take_body();
        let (next_id, delivered, id_errors) = (&mut c.next_id, &mut c.delivered, &mut c.id_errors);
        c.parser.feed(&body, |f| {
            // The reference API's goodbye when the server shuts down: the
            // stream ends after it and the client resumes elsewhere with
            // Last-Event-ID, so it is neither an event nor an id error.
            if f.event.as_deref() == Some("error") && f.data == "shutting down" {
                return;
            }
            let id = f.id.as_deref().and_then(|s| s.parse::<u64>().ok());
            let well_formed =
                f.event.as_deref() == Some("tick") && id.is_some_and(|i| f.data == i.to_string());
            if well_formed && id == Some(*next_id) {
                *delivered += 1;
                *next_id += 1;
            } else {
                *id_errors += 1;
                // Resynchronise so one gap is one error, not all that follow.
                if let Some(i) = id {
                    *next_id = i + 1;
                }
            }
        });
        match result {
            Ok(false) => {}
            Ok(true) => {
                let c = pool.remove(key).expect("open");
                if c.delivered + c.id_errors >= events || c.next_id >= events {
                    t.complete += 1;
                } else {
                    let Some(c) = retry.offer(c, t, "stream ended early".into()) else {
                        continue;
                    };
                    t.truncated += 1;
                    t.note("stream ended early".into());
                    t.delivered += c.delivered;
                    t.id_errors += c.id_errors;
                    continue;
                }
                t.stream_time.record(c.opened.elapsed());
                t.delivered += c.delivered;
                t.id_errors += c.id_errors;
            }
            Err(e) => {
                let why = match read {
                    Read1::Error(_) => format!("{e} ({})", read.ending()),
                    _ => e,
                };
                let c = pool.remove(key).expect("open");
                let Some(c) = retry.offer(c, t, why.clone()) else {
                    continue;
                };
                t.truncated += 1;
                t.note(why);
                t.delivered += c.delivered;
                t.id_errors += c.id_errors;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_head_carries_last_event_id() {
        let head = stream_head("/events?n=5", "127.0.0.1:1", Some(7));
        assert!(head.starts_with("GET /events?n=5 HTTP/1.1\r\n"));
        assert!(head.ends_with("\r\nLast-Event-ID: 7\r\n\r\n"));
        assert!(!stream_head("/events", "h", None).contains("Last-Event-ID"));
    }

    #[test]
    fn frames_split_anywhere_and_comments_ignored() {
        let text = b": keep-alive\n\nevent: tick\nid: 0\ndata: 0\n\nevent: tick\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\n";
        let mut p = SseParser::default();
        let mut frames = Vec::new();
        for b in text {
            p.feed(std::slice::from_ref(b), |f| frames.push(f));
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].id.as_deref(), Some("0"));
        assert_eq!(frames[1].data, "a\nb");
        assert_eq!(frames[1].event.as_deref(), Some("tick"));
    }
}
