//! `idle`: N keep-alive connections each send one request, read the answer
//! and then stay silent for `--hold` seconds, while the fresh-request probe
//! times newcomers. This is what a server with many browsers parked on it
//! sees: the question is whether a silent connection costs a thread, a
//! buffer, or nothing, and whether newcomers still get in quickly.
//!
//! Reported: how many connected and were answered, how many the server
//! closed during the hold (and when the first went: that is its idle
//! timeout), how many were still open at the end and how many of those
//! still answered a second request (an open socket nobody serves is worse
//! than a closed one), the fresh requests' latencies, and the server's RSS
//! and threads sampled while every connection was still held.

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
    sys::ServerWatch,
    Outcome,
};

#[derive(PartialEq, Eq, Clone, Copy)]
enum Phase {
    /// Sent the first request, waiting for its answer.
    Waiting,
    /// Answered; silent since.
    Idle,
    /// Sent the request after the hold, waiting for its answer.
    Verifying,
    Verified,
}

struct Conn {
    reader: ResponseReader,
    phase: Phase,
}

#[derive(Default)]
struct Counts {
    answered: u64,
    bad_answers: u64,
    closed_by_server: u64,
    first_close: Option<Duration>,
    unexpected_data: u64,
    verified: u64,
    verify_failed: u64,
    /// Open at the end of the hold, but closed (no answer, no byte) when
    /// the second request came: an idle timeout the server acted on only
    /// when the socket woke up. Not a hang, so not an error; not kept.
    closed_on_reuse: u64,
    reasons: std::collections::BTreeMap<String, u64>,
}

impl Counts {
    fn note(&mut self, why: String) {
        if self.reasons.len() < 8 || self.reasons.contains_key(&why) {
            *self.reasons.entry(why).or_default() += 1;
        }
    }
}

pub fn run(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let conns: usize = args.get("conns", 10_000)?;
    let hold = Duration::from_secs_f64(args.get("hold", 10.0)?);
    let path: String = args.get("path", "/plaintext".to_owned())?;
    let fresh_path: String = args.get("fresh-path", "/plaintext".to_owned())?;
    let fresh_every = Duration::from_millis(args.get("fresh-interval-ms", 10)?);
    let connect_budget = Duration::from_secs_f64(args.get("connect-secs", 60.0)?);
    let answer_budget = Duration::from_secs_f64(args.get("answer-secs", 30.0)?);
    let window: u64 = args.get("window", 256u64)?.max(1);
    let pid: Option<u32> = args.opt("pid")?;
    args.finish()?;

    let started = Instant::now();
    let head = http::request_head("GET", &path, &addr.to_string(), None);
    let mut pool: Pool<Conn> = Pool::new().map_err(|e| e.to_string())?;
    let mut c = Counts::default();
    let mut watch = ServerWatch::new(pid);
    let mut buf = vec![0u8; 64 * 1024];
    let mut connect_failures = 0u64;

    // 1. Connect and send the first request, answering as we go. At most
    //    `--window` connections wait for their first answer at once: firing
    //    10,000 connects blind overflows the listen backlog, the kernel drops
    //    SYNs, and the phase then measures TCP's one-second retransmit timer
    //    instead of the server.
    let connect_deadline = started + connect_budget;
    let mut opened = 0u64;
    for i in 0..conns {
        while opened - c.answered - c.bad_answers >= window && Instant::now() < connect_deadline {
            pump(&mut pool, &mut buf, Duration::from_millis(20), &mut c, None)?;
        }
        if Instant::now() > connect_deadline {
            connect_failures += (conns - i) as u64;
            c.note("connect phase over its time budget".into());
            break;
        }
        match pool::connect(addr, Duration::from_secs(5)).and_then(|mut s| {
            s.write_all(head.as_bytes())?;
            Ok(s)
        }) {
            Ok(s) => {
                let conn = Conn {
                    reader: ResponseReader::new(false),
                    phase: Phase::Waiting,
                };
                pool.insert(s, conn).map_err(|e| e.to_string())?;
                opened += 1;
            }
            Err(e) => {
                connect_failures += 1;
                c.note(format!("connect: {}", e.kind()));
            }
        }
        if i % 64 == 63 {
            pump(&mut pool, &mut buf, Duration::ZERO, &mut c, None)?;
        }
    }
    let connected = opened;
    eprintln!(
        "idle: {connected} of {conns} connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. Every first request answered (or the budget spent).
    let answer_deadline = Instant::now() + answer_budget;
    while c.answered + c.bad_answers < connected && Instant::now() < answer_deadline {
        pump(
            &mut pool,
            &mut buf,
            Duration::from_millis(100),
            &mut c,
            None,
        )?;
    }
    let unanswered = connected - c.answered - c.bad_answers;
    eprintln!(
        "idle: {} answered, holding for {:.0} s",
        c.answered,
        hold.as_secs_f64()
    );

    // 3. The hold: nobody sends; the probe times newcomers; the server is
    //    sampled every second and once more at the very end.
    let hold_start = Instant::now();
    let hold_end = hold_start + hold;
    let probe = Probe::start(
        addr,
        &fresh_path,
        fresh_every,
        hold_end + Duration::from_secs(1),
    );
    let mut next_sample = hold_start;
    loop {
        let now = Instant::now();
        if now >= hold_end {
            break;
        }
        if now >= next_sample {
            watch.sample();
            next_sample = now + Duration::from_secs(1);
        }
        let wait = (hold_end - now).min(Duration::from_millis(200));
        pump(&mut pool, &mut buf, wait, &mut c, Some(hold_start))?;
    }
    watch.sample();
    let mut fresh = probe.finish();
    let kept = pool
        .iter_mut()
        .filter(|(_, _, conn)| conn.phase == Phase::Idle)
        .count() as u64;

    // 4. Are the kept ones really served? One more request on each.
    for key in pool.keys() {
        let (stream, conn) = pool.get_mut(key).expect("open key");
        if conn.phase != Phase::Idle {
            continue;
        }
        // A head of ~70 bytes into an empty send buffer: written whole.
        match stream.write(head.as_bytes()) {
            Ok(n) if n == head.len() => conn.phase = Phase::Verifying,
            Ok(_) | Err(_) => {
                c.verify_failed += 1;
                c.note("second request: write failed".into());
                pool.remove(key);
            }
        }
    }
    let verify_deadline = Instant::now() + Duration::from_secs(15);
    while c.verified + c.verify_failed + c.closed_on_reuse < kept
        && Instant::now() < verify_deadline
    {
        pump(
            &mut pool,
            &mut buf,
            Duration::from_millis(100),
            &mut c,
            None,
        )?;
    }
    // Neither answered nor closed: a socket the server holds but no longer
    // serves. That is an error.
    let verify_missing = kept - c.verified - c.verify_failed - c.closed_on_reuse;
    if verify_missing > 0 {
        c.note("second request: no answer within 15 s".into());
    }
    drop(pool);

    let errors = connect_failures
        + c.bad_answers
        + unanswered
        + fresh.failures
        + c.verify_failed
        + verify_missing;
    let human = vec![
        format!(
            "idle: {conns} conns to {addr}: {connected} connected, {} answered, {} refused or bad",
            c.answered,
            connect_failures + c.bad_answers + unanswered
        ),
        format!(
            "idle: after {:.0} s: {kept} still open, {} closed by the server{}; of the open, {} answered a second request and {} closed when it came",
            hold.as_secs_f64(),
            c.closed_by_server,
            c.first_close
                .map(|d| format!(" (first after {:.1} s)", d.as_secs_f64()))
                .unwrap_or_default(),
            c.verified,
            c.closed_on_reuse
        ),
        format!("idle: {}", fresh.human()),
        format!("idle: {}", watch.human()),
    ];
    let json = json!({
        "scenario": "idle",
        "addr": addr.to_string(),
        "conns": conns,
        "hold_s": hold.as_secs_f64(),
        "connected": connected,
        "connect_failures": connect_failures,
        "answered": c.answered,
        "bad_answers": c.bad_answers + unanswered,
        "kept": kept,
        "closed_by_server": c.closed_by_server,
        "first_close_after_s": c.first_close.map(|d| d.as_secs_f64()),
        "unexpected_data": c.unexpected_data,
        "answered_after_hold": c.verified,
        "closed_on_reuse": c.closed_on_reuse,
        "failure_reasons": c.reasons,
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

/// Waits up to `timeout` for events and handles each readable connection.
/// `hold_start` is set during the hold, to time server-side closes.
fn pump(
    pool: &mut Pool<Conn>,
    buf: &mut [u8],
    timeout: Duration,
    c: &mut Counts,
    hold_start: Option<Instant>,
) -> Result<(), String> {
    for key in pool.wait(timeout).map_err(|e| e.to_string())? {
        let read = pool.read(key, buf);
        let Some((_, conn)) = pool.get_mut(key) else {
            continue;
        };
        match read {
            Read1::Empty => {}
            Read1::Data(n) => match conn.phase {
                Phase::Waiting | Phase::Verifying => match conn.reader.feed(&buf[..n]) {
                    Ok(false) => {}
                    Ok(true) => {
                        let ok = conn.reader.status == 200;
                        let closes = conn.reader.closes;
                        let verifying = conn.phase == Phase::Verifying;
                        conn.reader.reset();
                        conn.phase = if verifying {
                            Phase::Verified
                        } else {
                            Phase::Idle
                        };
                        match (verifying, ok) {
                            (false, true) => c.answered += 1,
                            (true, true) => c.verified += 1,
                            (false, false) => c.bad_answers += 1,
                            (true, false) => c.verify_failed += 1,
                        }
                        if !ok {
                            c.note(format!("status {}", conn.reader.status));
                            pool.remove(key);
                        } else if closes {
                            // The server announced it will close: not idle.
                            c.note("server answered with Connection: close".into());
                        }
                    }
                    Err(e) => {
                        if conn.phase == Phase::Verifying {
                            c.verify_failed += 1;
                        } else {
                            c.bad_answers += 1;
                        }
                        c.note(e);
                        pool.remove(key);
                    }
                },
                // Bytes nobody asked for (a 408 before an idle close, say).
                Phase::Idle | Phase::Verified => c.unexpected_data += 1,
            },
            Read1::Eof | Read1::Error(_) => {
                match conn.phase {
                    Phase::Waiting => {
                        c.bad_answers += 1;
                        c.note(format!("first request: {}", read.ending()));
                    }
                    Phase::Verifying if !conn.reader.has_head() => c.closed_on_reuse += 1,
                    Phase::Verifying => {
                        c.verify_failed += 1;
                        c.note(format!("second request: {} mid-answer", read.ending()));
                    }
                    Phase::Idle => {
                        c.closed_by_server += 1;
                        if let Some(t0) = hold_start {
                            c.first_close.get_or_insert(t0.elapsed());
                        }
                    }
                    Phase::Verified => {}
                }
                pool.remove(key);
            }
        }
    }
    Ok(())
}
