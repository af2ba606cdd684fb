//! The two slow clients a server must survive without giving them a worker:
//!
//! - `slowloris`: N connections each trickle a request head one byte every
//!   `--byte-interval-ms` (padded so it does not finish within the run),
//!   while the fresh probe times newcomers. Reported: how many the server
//!   cut (and after how long: its head deadline), what it answered (a 408,
//!   say), how many it still holds, and the fresh latencies.
//! - `slow-reader`: K connections ask for a long response (`--path`,
//!   default a million SSE events) with a tiny receive buffer and then read
//!   nothing for `--secs`, while the probe runs. At the end each is drained
//!   briefly to learn its fate: cut by the server (its write timeout),
//!   completed, or still being fed.

use std::{
    collections::BTreeMap,
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
    sys::{self, ServerWatch},
    Outcome,
};

struct Loris {
    sent: usize,
    opened: Instant,
    reader: ResponseReader,
}

pub fn slowloris(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let conns: usize = args.get("conns", 200)?;
    let secs = Duration::from_secs_f64(args.get("secs", 15.0)?);
    let every = Duration::from_millis(args.get("byte-interval-ms", 100)?.max(1));
    let path: String = args.get("path", "/plaintext".to_owned())?;
    let pad: usize = args.get("pad", 200)?;
    let fresh_path: String = args.get("fresh-path", "/plaintext".to_owned())?;
    let fresh_every = Duration::from_millis(args.get("fresh-interval-ms", 10)?);
    let pid: Option<u32> = args.opt("pid")?;
    args.finish()?;

    let started = Instant::now();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: sutegi-load-slowloris\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(pad)
    )
    .into_bytes();
    let mut pool: Pool<Loris> = Pool::new().map_err(|e| e.to_string())?;
    let mut connect_failures = 0u64;
    for _ in 0..conns {
        match pool::connect(addr, Duration::from_secs(5)) {
            Ok(s) => {
                let l = Loris {
                    sent: 0,
                    opened: Instant::now(),
                    reader: ResponseReader::new(false),
                };
                pool.insert(s, l).map_err(|e| e.to_string())?;
            }
            Err(_) => connect_failures += 1,
        }
    }
    let end = Instant::now() + secs;
    let probe = Probe::start(addr, &fresh_path, fresh_every, end + Duration::from_secs(1));
    let mut watch = ServerWatch::new(pid);
    let mut buf = vec![0u8; 16 * 1024];
    let mut cut_after = Latencies::default();
    let mut answers: BTreeMap<u16, u64> = BTreeMap::new();
    let mut heads_completed = 0u64;
    let mut next_byte = Instant::now();
    let mut next_sample = Instant::now();

    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_sample {
            watch.sample();
            next_sample = now + Duration::from_secs(1);
        }
        if now >= next_byte {
            for (_, stream, l) in pool.iter_mut() {
                if l.sent < head.len() && stream.write(&head[l.sent..=l.sent]).is_ok_and(|n| n == 1)
                {
                    l.sent += 1;
                    if l.sent == head.len() {
                        heads_completed += 1;
                    }
                }
            }
            next_byte += every;
        }
        let wait = next_byte
            .min(end)
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        for key in pool.wait(wait).map_err(|e| e.to_string())? {
            let read = pool.read(key, &mut buf);
            let Some((_, l)) = pool.get_mut(key) else {
                continue;
            };
            match read {
                Read1::Empty => {}
                Read1::Data(n) => {
                    // Whatever it says (408, 400, a 200 for a finished head)
                    // the status is what we report; then we hang up.
                    if l.reader.feed(&buf[..n]).unwrap_or(true) {
                        *answers.entry(l.reader.status).or_default() += 1;
                        cut_after.record(l.opened.elapsed());
                        pool.remove(key);
                    }
                }
                Read1::Eof | Read1::Error(_) => {
                    if l.reader.has_head() {
                        *answers.entry(l.reader.status).or_default() += 1;
                    }
                    cut_after.record(l.opened.elapsed());
                    pool.remove(key);
                }
            }
        }
    }
    watch.sample();
    let still_open = pool.open() as u64;
    drop(pool);
    let mut fresh = probe.finish();
    let ended = cut_after.len() as u64;
    let errors = fresh.failures + connect_failures;
    let human = vec![
        format!(
            "slowloris: {conns} conns to {addr} sending a {}-byte head, one byte every {} ms, for {:.0} s",
            head.len(),
            every.as_millis(),
            secs.as_secs_f64()
        ),
        format!(
            "slowloris: server ended {ended} (answers by status {answers:?}; {}), {still_open} still open, {heads_completed} heads completed, {connect_failures} connect failures",
            cut_after.human()
        ),
        format!("slowloris: {}", fresh.human()),
        format!("slowloris: {}", watch.human()),
    ];
    let json = json!({
        "scenario": "slowloris",
        "addr": addr.to_string(),
        "conns": conns,
        "secs": secs.as_secs_f64(),
        "head_bytes": head.len(),
        "byte_interval_ms": every.as_millis() as u64,
        "connect_failures": connect_failures,
        "ended_by_server": ended,
        "answers_by_status": answers,
        "ended_after": cut_after.json(),
        "still_open": still_open,
        "heads_completed": heads_completed,
        "fresh": fresh.json(),
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

pub fn slow_reader(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let conns: usize = args.get("conns", 10)?;
    let secs = Duration::from_secs_f64(args.get("secs", 35.0)?);
    let path: String = args.get("path", "/events?n=1000000".to_owned())?;
    let rcvbuf: usize = args.get("rcvbuf", 4096)?;
    let drain = Duration::from_secs_f64(args.get("drain-secs", 3.0)?);
    let fresh_path: String = args.get("fresh-path", "/plaintext".to_owned())?;
    let fresh_every = Duration::from_millis(args.get("fresh-interval-ms", 10)?);
    let pid: Option<u32> = args.opt("pid")?;
    args.finish()?;

    let started = Instant::now();
    let head = http::request_head("GET", &path, &addr.to_string(), None);
    let mut pool: Pool<ResponseReader> = Pool::new().map_err(|e| e.to_string())?;
    let mut connect_failures = 0u64;
    for _ in 0..conns {
        match pool::connect(addr, Duration::from_secs(5)).and_then(|mut s| {
            sys::set_recv_buffer(&s, rcvbuf);
            s.write_all(head.as_bytes())?;
            Ok(s)
        }) {
            Ok(s) => {
                pool.insert(s, ResponseReader::new(false))
                    .map_err(|e| e.to_string())?;
            }
            Err(_) => connect_failures += 1,
        }
    }
    // The hold: read nothing at all. The server fills its send buffer and
    // our tiny receive window, then its writes block or time out.
    let end = Instant::now() + secs;
    let probe = Probe::start(addr, &fresh_path, fresh_every, end + Duration::from_secs(1));
    let mut watch = ServerWatch::new(pid);
    while Instant::now() < end {
        watch.sample();
        std::thread::sleep(
            end.saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1)),
        );
    }
    watch.sample();
    let mut fresh = probe.finish();

    // The fate of each: drain as fast as we can for a moment.
    let mut buf = vec![0u8; 256 * 1024];
    let (mut cut, mut completed, mut bad_status) = (0u64, 0u64, 0u64);
    let drain_end = Instant::now() + drain;
    while pool.open() > 0 && Instant::now() < drain_end {
        for key in pool
            .wait(Duration::from_millis(50))
            .map_err(|e| e.to_string())?
        {
            let read = pool.read(key, &mut buf);
            let Some((_, reader)) = pool.get_mut(key) else {
                continue;
            };
            let finished = match read {
                Read1::Empty => continue,
                Read1::Data(n) => match reader.feed(&buf[..n]) {
                    Ok(done) => done.then_some(true),
                    Err(_) => Some(false),
                },
                Read1::Eof | Read1::Error(_) => Some(reader.eof().is_ok()),
            };
            if reader.has_head() && reader.status != 200 {
                bad_status += 1;
                pool.remove(key);
                continue;
            }
            match finished {
                Some(true) => completed += 1,
                Some(false) => cut += 1,
                None => continue,
            }
            pool.remove(key);
        }
    }
    let still_fed = pool.open() as u64;
    drop(pool);
    let errors = fresh.failures + connect_failures;
    let human = vec![
        format!(
            "slow-reader: {conns} conns to {addr} reading nothing of GET {path} for {:.0} s",
            secs.as_secs_f64()
        ),
        format!(
            "slow-reader: then {cut} cut by the server, {completed} completed, {still_fed} still being fed, {bad_status} bad status, {connect_failures} connect failures"
        ),
        format!("slow-reader: {}", fresh.human()),
        format!("slow-reader: {}", watch.human()),
    ];
    let json = json!({
        "scenario": "slow-reader",
        "addr": addr.to_string(),
        "conns": conns,
        "secs": secs.as_secs_f64(),
        "path": path,
        "connect_failures": connect_failures,
        "cut_by_server": cut,
        "completed": completed,
        "still_fed": still_fed,
        "bad_status": bad_status,
        "fresh": fresh.json(),
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
