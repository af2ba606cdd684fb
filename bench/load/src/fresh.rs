//! `fresh`: closed-loop keep-alive load without wrk — C connections, each
//! on its own thread, send requests one after another until N have been
//! answered (or `--secs` run out), reconnecting when the server closes.
//! Reports req/s and latency percentiles. wrk stays the throughput tool of
//! the benchmark; this exists so a script can get exact percentiles and
//! error reasons for a modest load (and POST bodies) from the same tool.
//!
//! With `--check-echo true` the body is a byte pattern rather than one
//! repeated letter, and every response body must come back equal to it
//! (`POST /echo`): a server that truncates, pads or garbles an echo is an
//! error, not a fast result.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{args::Args, http, stats::Latencies, Outcome};

const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Shared {
    latencies: Latencies,
    failures: u64,
    reasons: BTreeMap<String, u64>,
    statuses: BTreeMap<u16, u64>,
}

pub fn run(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let requests: u64 = args.get("requests", 10_000)?;
    let conns: usize = args.get("conns", 16)?;
    let path: String = args.get("path", "/plaintext".to_owned())?;
    let method: String = args.get("method", "GET".to_owned())?;
    let body_size: usize = args.get("body-size", 0)?;
    let secs = Duration::from_secs_f64(args.get("secs", 60.0)?);
    let check_echo: bool = args.get("check-echo", false)?;
    args.finish()?;
    if conns == 0 {
        return Err("--conns must be at least 1".into());
    }

    let started = Instant::now();
    let deadline = started + secs;
    let mut request = http::request_head(
        &method,
        &path,
        &addr.to_string(),
        (body_size > 0 || method == "POST").then_some(body_size),
    )
    .into_bytes();
    let body = echo_pattern(body_size, check_echo);
    request.extend_from_slice(&body);
    let request = Arc::new(request);
    let expected = Arc::new(check_echo.then_some(body));
    let issued = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Mutex::new(Shared::default()));

    let workers: Vec<_> = (0..conns)
        .map(|_| {
            let (request, issued, shared, expected) = (
                request.clone(),
                issued.clone(),
                shared.clone(),
                expected.clone(),
            );
            thread::spawn(move || {
                worker(
                    addr,
                    &request,
                    expected.as_deref(),
                    &issued,
                    requests,
                    deadline,
                    &shared,
                )
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "worker panicked")?;
    }
    let elapsed = started.elapsed();
    let mut s = std::mem::take(&mut *shared.lock().unwrap());
    let answered = s.latencies.len() as u64;
    let unsent = requests.saturating_sub(answered + s.failures);
    let errors = s.failures + unsent;
    let rps = answered as f64 / elapsed.as_secs_f64();
    let human = vec![
        format!(
            "fresh: {requests} x {method} {path} over {conns} keep-alive conns to {addr}: {answered} ok in {:.2} s = {rps:.0} req/s",
            elapsed.as_secs_f64()
        ),
        format!(
            "fresh: {}; {} failed, {unsent} not sent in time {:?}",
            s.latencies.human(),
            s.failures,
            s.reasons
        ),
    ];
    let json = json!({
        "scenario": "fresh",
        "addr": addr.to_string(),
        "requests": requests,
        "conns": conns,
        "method": method,
        "path": path,
        "body_size": body_size,
        "check_echo": check_echo,
        "ok": answered,
        "failures": s.failures,
        "not_sent": unsent,
        "failure_reasons": s.reasons,
        "statuses": s.statuses,
        "req_per_s": rps,
        "latency": s.latencies.json(),
        "errors": errors,
    });
    Ok(Outcome {
        json,
        human,
        errors,
        started,
    })
}

/// The request body: `size` bytes of `x`, or with `pattern` a sequence
/// that a shifted, truncated or repeated echo cannot match by accident.
pub fn echo_pattern(size: usize, pattern: bool) -> Vec<u8> {
    if pattern {
        (0..size)
            .map(|i| b'a' + ((i * 7 + i / 251) % 26) as u8)
            .collect()
    } else {
        vec![b'x'; size]
    }
}

fn worker(
    addr: SocketAddr,
    request: &[u8],
    expected: Option<&[u8]>,
    issued: &AtomicU64,
    total: u64,
    deadline: Instant,
    shared: &Mutex<Shared>,
) {
    let mut local = Latencies::default();
    let fail = |why: String| {
        let mut s = shared.lock().unwrap();
        s.failures += 1;
        if s.reasons.len() < 8 || s.reasons.contains_key(&why) {
            *s.reasons.entry(why).or_default() += 1;
        }
    };
    let mut conn: Option<TcpStream> = None;
    let mut buf = vec![0u8; 64 * 1024];
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < total {
        let start = Instant::now();
        let stream = match conn.take() {
            Some(s) => s,
            None => match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(IO_TIMEOUT));
                    let _ = s.set_write_timeout(Some(IO_TIMEOUT));
                    s
                }
                Err(e) => {
                    fail(format!("connect: {}", e.kind()));
                    continue;
                }
            },
        };
        let mut stream = stream;
        let mut reader = http::ResponseReader::new(expected.is_some());
        if let Err(e) = stream.write_all(request) {
            fail(format!("write: {}", e.kind()));
            continue;
        }
        let outcome = loop {
            match stream.read(&mut buf) {
                Ok(0) => break reader.eof().map(|()| false),
                Ok(n) => match reader.feed(&buf[..n]) {
                    Ok(true) => break Ok(!reader.closes),
                    Ok(false) => {}
                    Err(e) => break Err(e),
                },
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(format!("read: {}", e.kind())),
            }
        };
        match outcome {
            Ok(reusable) => {
                *statuses.entry(reader.status).or_default() += 1;
                let echoed = expected.is_none_or(|want| reader.take_body() == want);
                if !(200..400).contains(&reader.status) {
                    fail(format!("status {}", reader.status));
                } else if !echoed {
                    fail("echoed body differs from the one sent".into());
                } else {
                    local.record(start.elapsed());
                }
                if reusable {
                    conn = Some(stream);
                }
            }
            Err(e) => fail(e),
        }
    }
    let mut s = shared.lock().unwrap();
    s.latencies.extend(local);
    for (k, v) in statuses {
        *s.statuses.entry(k).or_default() += v;
    }
}
