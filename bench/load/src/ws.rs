//! WebSocket scenarios against `GET /ws/echo`, with tungstenite as the
//! client (frames, masking and the handshake are its, not ours):
//!
//! - `ws`: N sockets, each in a closed loop of one binary message out and
//!   its echo back, for a fixed time. Every echo must come back byte for
//!   byte (the message carries its socket and sequence number, so a
//!   crossed or stale echo is caught). One thread and one `polling`
//!   poller drive every socket, as wrk does for HTTP: a thread per socket
//!   would measure this tool's scheduler, not the server.
//! - `ws-hold`: N sockets opened (each echoes once), then held silent
//!   while the fresh-request probe times a new `GET /plaintext` every
//!   interval and the server's RSS is sampled; afterwards each socket must
//!   echo once more.
//!
//! Round trips per second, their latency (send to echo) and every error
//! go into the JSON line.

use std::{
    collections::BTreeMap,
    io,
    net::{SocketAddr, TcpStream},
    num::NonZeroUsize,
    thread,
    time::{Duration, Instant},
};

use polling::{Event, Events, PollMode, Poller};
use serde_json::{json, Value};
use tungstenite::{protocol::WebSocket, Message};

use crate::{args::Args, pool, probe::Probe, stats::Latencies, sys::ServerWatch, Outcome};

/// One socket's budget for connecting and its handshake, and for a
/// blocking echo in `ws-hold`.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors kept by reason, the first few of each kind counted.
#[derive(Default)]
struct Failures {
    count: u64,
    reasons: BTreeMap<String, u64>,
}

impl Failures {
    /// The scenario's outcome: `json` with the errors and their reasons.
    fn outcome(self, mut json: Value, human: Vec<String>, started: Instant) -> Outcome {
        json["errors"] = json!(self.count);
        json["failure_reasons"] = json!(self.reasons);
        Outcome {
            json,
            human,
            errors: self.count,
            started,
        }
    }

    fn add(&mut self, why: String) {
        self.count += 1;
        if self.reasons.len() < 8 || self.reasons.contains_key(&why) {
            *self.reasons.entry(why).or_default() += 1;
        }
    }
}

/// Connects and upgrades one socket (blocking, with timeouts).
fn open(addr: SocketAddr, path: &str) -> Result<WebSocket<TcpStream>, String> {
    let stream = pool::connect(addr, STEP_TIMEOUT).map_err(|e| format!("connect: {}", e.kind()))?;
    stream
        .set_read_timeout(Some(STEP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(STEP_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))?;
    let url = format!("ws://{addr}{path}");
    match tungstenite::client(url.as_str(), stream) {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(e)) => Err(format!("handshake: {e}")),
        Err(tungstenite::HandshakeError::Interrupted(_)) => {
            Err("handshake: timed out mid-way".into())
        }
    }
}

/// The message socket `key` sends as its `seq`th: the two numbers, then a
/// pattern of them, `size` bytes in all (at least 16).
fn payload(key: usize, seq: u64, size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size.max(16));
    p.extend_from_slice(&(key as u64).to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    while p.len() < size {
        p.push((key as u64 ^ seq ^ p.len() as u64) as u8);
    }
    p
}

/// Reads (blocking) until a data message arrives; control frames are
/// answered by tungstenite and skipped.
fn read_data(ws: &mut WebSocket<TcpStream>) -> Result<Vec<u8>, String> {
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) => return Ok(b.to_vec()),
            Ok(Message::Text(t)) => return Ok(t.as_bytes().to_vec()),
            Ok(Message::Close(frame)) => return Err(format!("closed by the server: {frame:?}")),
            Ok(_) => continue,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// One blocking echo on `ws`, checked.
fn echo_once(
    ws: &mut WebSocket<TcpStream>,
    key: usize,
    seq: u64,
    size: usize,
) -> Result<(), String> {
    let sent = payload(key, seq, size);
    ws.send(Message::binary(sent.clone()))
        .map_err(|e| format!("send: {e}"))?;
    let got = read_data(ws)?;
    if got == sent {
        Ok(())
    } else {
        Err("echo differs from what was sent".into())
    }
}

/// A socket in the echo loop.
struct Looping {
    ws: WebSocket<TcpStream>,
    seq: u64,
    sent: Vec<u8>,
    sent_at: Instant,
    /// A send that would have blocked: tungstenite holds it until flushed.
    unflushed: bool,
}

/// `sutegi-load ws`: closed-loop echo round trips on `--conns` sockets
/// for `--secs`.
pub fn run(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let conns: usize = args.get("conns", 16)?;
    let secs: f64 = args.get("secs", 4.0)?;
    let size: usize = args.get("size", 32)?;
    let path: String = args.get("path", "/ws/echo".to_owned())?;
    let pid: Option<u32> = args.opt("pid")?;
    args.finish()?;
    if !(1..=20_000).contains(&conns) || !(0.1..=600.0).contains(&secs) || size > 1 << 20 {
        return Err("--conns 1..=20000, --secs 0.1..=600, --size up to 1 MiB".into());
    }
    let size = size.max(16);
    let started = Instant::now();
    let mut failures = Failures::default();
    let mut watch = ServerWatch::new(pid);
    let poller = Poller::new().map_err(|e| format!("poller: {e}"))?;
    let mut sockets: Vec<Option<Looping>> = Vec::with_capacity(conns);
    for key in 0..conns {
        let opened = open(addr, &path).and_then(|ws| {
            ws.get_ref()
                .set_nonblocking(true)
                .map_err(|e| format!("non-blocking: {e}"))?;
            // SAFETY: the socket is owned by `sockets` and deleted from the
            // poller before it is dropped (`close_all`).
            unsafe { poller.add_with_mode(ws.get_ref(), Event::readable(key), PollMode::Level) }
                .map_err(|e| format!("poller add: {e}"))?;
            Ok(ws)
        });
        match opened {
            Ok(ws) => sockets.push(Some(Looping {
                ws,
                seq: 0,
                sent: Vec::new(),
                sent_at: started,
                unflushed: false,
            })),
            Err(e) => {
                failures.add(e);
                sockets.push(None);
            }
        }
    }
    let opened = sockets.iter().filter(|s| s.is_some()).count();
    watch.sample();

    let mut latencies = Latencies::default();
    let loop_start = Instant::now();
    let deadline = loop_start + Duration::from_secs_f64(secs);
    for (key, slot) in sockets.iter_mut().enumerate() {
        if let Some(s) = slot {
            if let Err(e) = send_next(s, key, size) {
                failures.add(e);
                drop_socket(&poller, slot);
            }
        }
    }
    let mut events = Events::with_capacity(NonZeroUsize::new(1024).unwrap());
    let mut last_sample = Instant::now();
    while Instant::now() < deadline && sockets.iter().any(Option::is_some) {
        events.clear();
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        match poller.wait(&mut events, Some(wait)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("poller wait: {e}")),
        }
        for key in events.iter().map(|e| e.key) {
            let Some(Some(s)) = sockets.get_mut(key) else {
                continue;
            };
            if let Err(e) = on_readable(s, key, size, deadline, &mut latencies) {
                failures.add(e);
                drop_socket(&poller, &mut sockets[key]);
            }
        }
        for slot in sockets.iter_mut() {
            if let Some(s) = slot.as_mut().filter(|s| s.unflushed) {
                match s.ws.flush() {
                    Ok(()) => s.unflushed = false,
                    Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        failures.add(format!("flush: {e}"));
                        drop_socket(&poller, slot);
                    }
                }
            }
        }
        if last_sample.elapsed() >= Duration::from_millis(250) {
            watch.sample();
            last_sample = Instant::now();
        }
    }
    let loop_secs = loop_start.elapsed().as_secs_f64();
    watch.sample();
    close_all(&poller, &mut sockets);

    let round_trips = latencies.len() as u64;
    if round_trips == 0 {
        failures.add("no round trip completed".into());
    }
    let rt_per_s = round_trips as f64 / loop_secs;
    let mut latency = latencies.json();
    let human = vec![
        format!(
            "ws {conns} sockets ({opened} opened), {size}-byte messages, {loop_secs:.2} s: \
             {round_trips} round trips, {rt_per_s:.0}/s, {}",
            latencies.human()
        ),
        watch.human(),
    ];
    latency["count"] = json!(round_trips);
    let json = json!({
        "scenario": "ws",
        "conns": conns,
        "opened": opened,
        "size": size,
        "secs": loop_secs,
        "round_trips": round_trips,
        "rt_per_s": rt_per_s,
        "latency": latency,
        "server": watch.to_json(),
    });
    Ok(failures.outcome(json, human, started))
}

/// Sends socket `key`'s next message (non-blocking; what would block is
/// flushed later).
fn send_next(s: &mut Looping, key: usize, size: usize) -> Result<(), String> {
    s.seq += 1;
    s.sent = payload(key, s.seq, size);
    s.sent_at = Instant::now();
    match s.ws.send(Message::binary(s.sent.clone())) {
        Ok(()) => Ok(()),
        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
            s.unflushed = true;
            Ok(())
        }
        Err(e) => Err(format!("send: {e}")),
    }
}

/// Reads what is there; each echo is checked and timed, and the next
/// message goes out until the deadline.
fn on_readable(
    s: &mut Looping,
    key: usize,
    size: usize,
    deadline: Instant,
    latencies: &mut Latencies,
) -> Result<(), String> {
    loop {
        match s.ws.read() {
            Ok(Message::Binary(b)) => {
                if b.as_ref() != s.sent.as_slice() {
                    return Err("echo differs from what was sent".into());
                }
                latencies.record(s.sent_at.elapsed());
                if Instant::now() < deadline {
                    send_next(s, key, size)?;
                }
            }
            Ok(Message::Text(_)) => return Err("a text message answered a binary one".into()),
            Ok(Message::Close(frame)) => return Err(format!("closed by the server: {frame:?}")),
            // Pings are answered by tungstenite (queued, flushed on the
            // next write or flush).
            Ok(_) => s.unflushed = true,
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(())
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

fn drop_socket(poller: &Poller, slot: &mut Option<Looping>) {
    if let Some(s) = slot.take() {
        let _ = poller.delete(s.ws.get_ref());
    }
}

/// Sends every open socket a Close (best effort) and drops it.
fn close_all(poller: &Poller, sockets: &mut [Option<Looping>]) {
    for slot in sockets.iter_mut() {
        if let Some(s) = slot.as_mut() {
            let _ = s.ws.close(None);
            let _ = s.ws.flush();
        }
        drop_socket(poller, slot);
    }
}

/// `sutegi-load ws-hold`: `--conns` sockets opened and echoing once, held
/// for `--hold` seconds while fresh requests are timed, then each must
/// echo again.
pub fn hold(args: &Args) -> Result<Outcome, String> {
    let addr = args.addr()?;
    let conns: usize = args.get("conns", 1000)?;
    let hold_s: f64 = args.get("hold", 10.0)?;
    let connect_secs: f64 = args.get("connect-secs", 60.0)?;
    let path: String = args.get("path", "/ws/echo".to_owned())?;
    let fresh_path: String = args.get("fresh-path", "/plaintext".to_owned())?;
    let fresh_ms: u64 = args.get("fresh-interval-ms", 20)?;
    let pid: Option<u32> = args.opt("pid")?;
    args.finish()?;
    if !(1..=20_000).contains(&conns) || !(0.0..=600.0).contains(&hold_s) {
        return Err("--conns 1..=20000, --hold 0..=600".into());
    }
    let started = Instant::now();
    let mut failures = Failures::default();
    let mut watch = ServerWatch::new(pid);
    let connect_deadline = started + Duration::from_secs_f64(connect_secs);
    let mut sockets: Vec<(usize, WebSocket<TcpStream>)> = Vec::with_capacity(conns);
    for key in 0..conns {
        if Instant::now() > connect_deadline {
            failures.add(format!(
                "{} sockets not opened within {connect_secs} s",
                conns - key
            ));
            break;
        }
        match open(addr, &path).and_then(|mut ws| echo_once(&mut ws, key, 0, 32).map(|()| ws)) {
            Ok(ws) => sockets.push((key, ws)),
            Err(e) => failures.add(e),
        }
    }
    let opened = sockets.len();
    watch.sample();

    // Held: nothing is sent on the sockets while the probe runs.
    let hold_end = Instant::now() + Duration::from_secs_f64(hold_s);
    let probe = Probe::start(addr, &fresh_path, Duration::from_millis(fresh_ms), hold_end);
    while Instant::now() < hold_end {
        watch.sample();
        thread::sleep(
            hold_end
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(200)),
        );
    }
    let mut fresh = probe.finish();
    watch.sample();

    let mut answering = 0;
    for (key, ws) in sockets.iter_mut() {
        match echo_once(ws, *key, 1, 32) {
            Ok(()) => answering += 1,
            Err(e) => failures.add(format!("after the hold: {e}")),
        }
    }
    for (_, ws) in sockets.iter_mut() {
        let _ = ws.close(None);
        let _ = ws.flush();
    }
    drop(sockets);
    failures.count += fresh.failures;
    let human = vec![
        format!("ws-hold {conns} sockets: {opened} opened, {answering} answering after {hold_s} s"),
        fresh.human(),
        watch.human(),
    ];
    let json = json!({
        "scenario": "ws-hold",
        "conns": conns,
        "opened": opened,
        "answered_after_hold": answering,
        "hold_s": hold_s,
        "fresh": fresh.json(),
        "server": watch.to_json(),
    });
    Ok(failures.outcome(json, human, started))
}
