//! `slow-handlers`: N requests to a handler that blocks (by default
//! `POST /slow?ms=3000`, examples/api's sleeping route) held in flight at
//! once, while fresh `GET /plaintext` probes — a new connection each, paced
//! — are timed. What it shows is whether handlers that block stall anyone
//! else: a server whose workers are all asleep in handlers answers the
//! probes only when a handler returns.
//!
//! Every slow request gets its own connection and thread and is read to
//! the end of its answer (bounded by the handler's time plus a margin);
//! each one's status (or why it has none) is reported, in order. The probe
//! starts once every slow request has been written and runs until the last
//! slow answer arrives (at least the handler's sleep), so it covers the
//! whole stall. A probe that fails is an error, and its time up to the
//! failure still counts in the percentiles: a stalled server must not look
//! fast because its slowest answers were lost.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{args::Args, http, probe, stats::Latencies, Outcome};

/// What one slow request came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SlowAnswer {
    /// The response's status and the time from sending to its last byte.
    Status(u16, Duration),
    /// No whole response: why.
    Failed(String),
}

pub fn run(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let count: usize = args.get("slow", 32)?;
    let slow_path: String = args.get("slow-path", "/slow?ms=3000".to_owned())?;
    let method: String = args.get("method", "POST".to_owned())?;
    let probe_path: String = args.get("probe-path", "/plaintext".to_owned())?;
    let interval = Duration::from_millis(args.get("probe-interval-ms", 20)?);
    // The handler's own sleep, when the path says it: the probe runs at
    // least that long, and each slow request gets that plus a margin.
    let sleep_ms = slow_path
        .split_once("ms=")
        .and_then(|(_, v)| v.split('&').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let margin = Duration::from_secs(args.get("margin-secs", 15)?);
    args.finish()?;
    if count == 0 || count > 10_000 {
        return Err("--slow must be between 1 and 10000".into());
    }
    if interval.is_zero() {
        return Err("--probe-interval-ms must be at least 1".into());
    }
    let budget = Duration::from_millis(sleep_ms) + margin;
    let started = Instant::now();

    let head = http::request_head(&method, &slow_path, &addr.to_string(), Some(0));
    let written = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..count)
        .map(|_| {
            let (head, written) = (head.clone(), written.clone());
            thread::spawn(move || slow_request(addr, head.as_bytes(), budget, &written))
        })
        .collect();
    // Every slow request written (or failed to be) before probing, so the
    // probes meet a server with all of them in flight. Bounded: a connect
    // that hangs is a failure of its own thread, not a wait here.
    let write_deadline = Instant::now() + Duration::from_secs(10);
    while written.load(Ordering::Relaxed) < count && Instant::now() < write_deadline {
        thread::sleep(Duration::from_millis(5));
    }
    // A moment for the server to read them and enter the handlers.
    thread::sleep(Duration::from_millis(100));

    let done = Arc::new(AtomicBool::new(false));
    let probe_min_end = Instant::now() + Duration::from_millis(sleep_ms);
    let probe_deadline = Instant::now() + budget;
    let probe = {
        let done = done.clone();
        let probe_head = http::request_head("GET", &probe_path, &addr.to_string(), None);
        thread::spawn(move || {
            probe_loop(
                addr,
                probe_head.as_bytes(),
                interval,
                probe_min_end,
                probe_deadline,
                &done,
            )
        })
    };
    let answers: Vec<SlowAnswer> = slow
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| SlowAnswer::Failed("thread panicked".into()))
        })
        .collect();
    done.store(true, Ordering::Relaxed);
    let (mut latencies, probe_failures, reasons) = probe.join().map_err(|_| "probe panicked")?;

    let ok = answers
        .iter()
        .filter(|a| matches!(a, SlowAnswer::Status(200, _)))
        .count();
    let slow_errors = (count - ok) as u64;
    let errors = slow_errors + probe_failures;
    let statuses: Vec<serde_json::Value> = answers
        .iter()
        .map(|a| match a {
            SlowAnswer::Status(s, d) => json!({"status": s, "ms": d.as_millis() as u64}),
            SlowAnswer::Failed(why) => json!({"status": null, "error": why}),
        })
        .collect();
    let mut human = vec![format!(
        "slow-handlers: {count} x {method} {slow_path} to {addr}: {ok} answered 200"
    )];
    for (i, a) in answers.iter().enumerate() {
        if !matches!(a, SlowAnswer::Status(200, _)) {
            human.push(format!("  slow request {i}: {a:?}"));
        }
    }
    human.push(format!(
        "slow-handlers: probes GET {probe_path} every {} ms: {}; {probe_failures} failed {reasons:?}",
        interval.as_millis(),
        latencies.human()
    ));
    let json = json!({
        "scenario": "slow-handlers",
        "addr": addr.to_string(),
        "slow": count,
        "slow_path": slow_path,
        "method": method,
        "slow_ok": ok,
        "slow_answers": statuses,
        "probe": {
            "path": probe_path,
            "interval_ms": interval.as_millis() as u64,
            "latency": latencies.json(),
            "failures": probe_failures,
            "failure_reasons": reasons,
        },
        "errors": errors,
    });
    Ok(Outcome {
        json,
        human,
        errors,
        started,
    })
}

/// One slow request on its own connection, read to the end of its answer.
fn slow_request(
    addr: SocketAddr,
    head: &[u8],
    budget: Duration,
    written: &AtomicUsize,
) -> SlowAnswer {
    let start = Instant::now();
    let connected = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {}", e.kind()))
        .and_then(|mut s| {
            let _ = s.set_nodelay(true);
            s.write_all(head)
                .map_err(|e| format!("write: {}", e.kind()))?;
            Ok(s)
        });
    written.fetch_add(1, Ordering::Relaxed);
    let mut stream = match connected {
        Ok(s) => s,
        Err(e) => return SlowAnswer::Failed(e),
    };
    let mut reader = http::ResponseReader::new(false);
    let mut buf = [0u8; 8192];
    loop {
        let Some(left) = budget.checked_sub(start.elapsed()).filter(|d| !d.is_zero()) else {
            return SlowAnswer::Failed(format!("no answer within {} s", budget.as_secs()));
        };
        if stream.set_read_timeout(Some(left)).is_err() {
            return SlowAnswer::Failed("set_read_timeout".into());
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                return match reader.eof() {
                    Ok(()) => SlowAnswer::Status(reader.status, start.elapsed()),
                    Err(e) => SlowAnswer::Failed(e),
                }
            }
            Ok(n) => match reader.feed(&buf[..n]) {
                Ok(true) => return SlowAnswer::Status(reader.status, start.elapsed()),
                Ok(false) => {}
                Err(e) => return SlowAnswer::Failed(e),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return SlowAnswer::Failed(format!("no answer within {} s", budget.as_secs()))
            }
            Err(e) => return SlowAnswer::Failed(format!("read: {}", e.kind())),
        }
    }
}

/// Paced fresh-connection probes until the slow requests are all answered
/// (`done`) and `min_end` has passed, or `deadline`. Every attempt's time
/// is recorded, failed ones included.
fn probe_loop(
    addr: SocketAddr,
    head: &[u8],
    interval: Duration,
    min_end: Instant,
    deadline: Instant,
    done: &AtomicBool,
) -> (Latencies, u64, std::collections::BTreeMap<String, u64>) {
    let mut latencies = Latencies::default();
    let mut failures = 0;
    let mut reasons = std::collections::BTreeMap::new();
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline || (done.load(Ordering::Relaxed) && now >= min_end) {
            break;
        }
        let start = Instant::now();
        let result = probe::one_request(addr, head);
        latencies.record(start.elapsed());
        match result {
            Ok(200) => {}
            Ok(status) => {
                failures += 1;
                *reasons.entry(format!("status {status}")).or_insert(0) += 1;
            }
            Err(e) => {
                failures += 1;
                *reasons.entry(e).or_insert(0) += 1;
            }
        }
        next += interval;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    (latencies, failures, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that answers every connection 200 after `delay` (one
    /// thread per connection), for `conns` connections.
    fn delayed_server(conns: usize, delay: Duration, status: u16) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().take(conns) {
                let mut s = stream.unwrap();
                thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    thread::sleep(delay);
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                });
            }
        });
        addr
    }

    #[test]
    fn slow_request_reports_status_and_time() {
        let addr = delayed_server(1, Duration::from_millis(50), 200);
        let written = AtomicUsize::new(0);
        let head = http::request_head("POST", "/slow?ms=50", "x", Some(0));
        match slow_request(addr, head.as_bytes(), Duration::from_secs(5), &written) {
            SlowAnswer::Status(200, d) => assert!(d >= Duration::from_millis(50)),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(written.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn slow_request_times_out_instead_of_hanging() {
        let addr = delayed_server(1, Duration::from_secs(3), 200);
        let written = AtomicUsize::new(0);
        let head = http::request_head("POST", "/slow", "x", Some(0));
        let started = Instant::now();
        let answer = slow_request(addr, head.as_bytes(), Duration::from_millis(300), &written);
        assert!(matches!(answer, SlowAnswer::Failed(ref e) if e.starts_with("no answer")));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn whole_scenario_counts_non_200_as_errors() {
        let addr = delayed_server(100, Duration::from_millis(20), 503);
        let args = Args::parse(
            [
                "slow-handlers",
                "--addr",
                &addr.to_string(),
                "--slow",
                "3",
                "--slow-path",
                "/slow?ms=20",
                "--margin-secs",
                "3",
            ]
            .into_iter()
            .map(String::from),
        )
        .unwrap();
        let out = run(&args).unwrap();
        assert_eq!(out.json["slow_ok"], 0);
        assert_eq!(out.json["slow_answers"].as_array().unwrap().len(), 3);
        // 3 slow answers not 200, and every probe answered 503 too.
        assert!(out.errors >= 3, "{}", out.json);
        assert!(out.json["probe"]["latency"]["count"].as_u64().unwrap() >= 1);
    }
}
