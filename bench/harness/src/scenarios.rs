//! One round of the benchmark: the wrk cells with every server running side
//! by side, then each server's own scenarios against a freshly started
//! process.
//!
//! 1. wrk cells, once per layout (see [`Layout`]): every server is started
//!    (pinned as the layout says), warmed for 1 s, then for each cell —
//!    `/plaintext`, `/json`, `/users/42` at 16 connections, the same at
//!    256, and in the server-bound layout `POST /echo` with 1 KiB and 1 MiB
//!    bodies at 16 connections — each server takes a short wrk run in turn
//!    (the order rotated per cell and round). So sutegi's run and its
//!    peer's are seconds apart, not minutes, and a ratio taken within the
//!    round pairs them in the same noise. Per run: req/s, latency
//!    percentiles and errors from wrk, the server's CPU time from
//!    `/proc/PID/stat`, threads and RSS sampled every 100 ms. Before an
//!    echo cell, each server echoes patterned bodies of that size through
//!    `sutegi-load fresh --check-echo`: a wrong echo is an error.
//! 2. idle (capacity rounds): a new process, `sutegi-load idle`.
//! 3. sse (capacity rounds, servers that stream): `sutegi-load sse`.
//! 4. slow handlers (servers with a sleeping route): `sutegi-load
//!    slow-handlers`, 32 × `POST /slow?ms=3000` while probes are timed.
//!
//! Every external command runs under a watchdog. A tool that exits
//! non-zero without saying why in its JSON, or JSON without `errors`, is a
//! failure, never read as "no errors".

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::Value;

use crate::server::{self, Running, Spec};

/// Where the server and wrk run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// The server pinned alone to CPU 1 (`taskset -c 1`), wrk with one
    /// thread pinned to CPU 0: the server is the bottleneck, so its figures
    /// are the server's. Headline claims come from this layout.
    ServerBound,
    /// Nothing pinned, wrk with one thread: server and load generator
    /// share the two cores as a user trying it on a laptop would.
    Shared,
}

impl Layout {
    pub const ALL: [Layout; 2] = [Layout::ServerBound, Layout::Shared];

    pub fn name(self) -> &'static str {
        match self {
            Layout::ServerBound => "server-bound",
            Layout::Shared => "shared",
        }
    }

    /// `taskset -c` list for the server.
    pub fn server_cpus(self) -> Option<&'static str> {
        match self {
            Layout::ServerBound => Some("1"),
            Layout::Shared => None,
        }
    }

    /// `taskset -c` list for wrk.
    pub fn wrk_cpus(self) -> Option<&'static str> {
        match self {
            Layout::ServerBound => Some("0"),
            Layout::Shared => None,
        }
    }

    /// The cells run in this layout: the plain ones in both, the echo
    /// and WebSocket cells in the server-bound one only (their targets are
    /// its).
    pub fn cells(self) -> Vec<CellDef> {
        let mut v = PLAIN.to_vec();
        if self == Layout::ServerBound {
            v.extend(ECHO);
            v.extend(WS);
        }
        v
    }
}

/// One throughput cell: a route, a body, a connection count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CellDef {
    pub route: &'static str,
    pub path: &'static str,
    pub method: &'static str,
    pub body: usize,
    pub conns: u32,
    /// A WebSocket cell: `sutegi-load ws` round trips of `body`-byte
    /// messages on `conns` sockets, instead of wrk.
    pub ws: bool,
}

impl CellDef {
    pub fn label(&self) -> String {
        format!("{} c{}", self.route, self.conns)
    }

    fn is_echo(&self) -> bool {
        self.body > 0 && !self.ws
    }
}

const fn get(route: &'static str, path: &'static str, conns: u32) -> CellDef {
    CellDef {
        route,
        path,
        method: "GET",
        body: 0,
        conns,
        ws: false,
    }
}

const fn echo(route: &'static str, body: usize) -> CellDef {
    CellDef {
        route,
        path: "/echo",
        method: "POST",
        body,
        conns: 16,
        ws: false,
    }
}

const fn ws_echo(conns: u32) -> CellDef {
    CellDef {
        route: "ws echo",
        path: "/ws/echo",
        method: "GET",
        body: WS_MESSAGE_BYTES,
        conns,
        ws: true,
    }
}

/// The size of a ws cell's messages: a chat line or a token batch.
pub const WS_MESSAGE_BYTES: usize = 32;

/// The six plain cells, c16 first.
pub const PLAIN: [CellDef; 6] = [
    get("plaintext", "/plaintext", 16),
    get("json", "/json", 16),
    get("users/42", "/users/42", 16),
    get("plaintext", "/plaintext", 256),
    get("json", "/json", 256),
    get("users/42", "/users/42", 256),
];
pub const ECHO: [CellDef; 2] = [echo("echo 1 KiB", 1024), echo("echo 1 MiB", 1 << 20)];
/// WebSocket echo round trips at 16 and 256 sockets (servers with
/// `GET /ws/echo`).
pub const WS: [CellDef; 2] = [ws_echo(16), ws_echo(256)];

/// One wrk run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub def: CellDef,
    pub layout: Layout,
    pub rps: f64,
    pub requests: u64,
    pub secs: f64,
    pub bytes: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Socket errors plus non-2xx/3xx responses.
    pub errors: u64,
    pub error_detail: String,
    /// Body bytes echoed per second (POST /echo), MB = 10^6 bytes.
    pub mb_s: Option<f64>,
    /// Server utime+stime over the run divided by requests.
    pub cpu_us_per_req: Option<f64>,
    pub cpu_s: Option<f64>,
    pub threads_max: u64,
    pub rss_max_kib: u64,
    /// Listen-queue overflows on the machine during the run.
    pub listen_overflows: Option<u64>,
}

/// Everything one server produced in one round.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerRound {
    pub server: String,
    pub round: usize,
    pub cells: Vec<Cell>,
    /// VmHWM after the plain cells of the server-bound layout (c16 then
    /// c256): peak RSS under c256.
    pub hwm_c256_kib: Option<u64>,
    /// VmHWM after the echo cells too.
    pub hwm_echo_kib: Option<u64>,
    pub idle: Option<Value>,
    pub sse: Option<Value>,
    /// `sutegi-load slow-handlers`' result.
    pub slow: Option<Value>,
    /// `sutegi-load ws-hold`'s result (servers with WebSocket).
    pub ws_hold: Option<Value>,
    /// A server that failed to start, died, or a tool that failed.
    pub failures: Vec<String>,
    /// Scenario errors (wrk errors, lost events, failed fresh requests,
    /// wrong echoes).
    pub errors: Vec<String>,
    /// A peer's errors in the capacity scenarios (idle, SSE), and a peer
    /// that dies there: what the benchmark exists to show, so they are
    /// reported but do not fail the run. sutegi's never land here.
    pub findings: Vec<String>,
    pub notes: Vec<String>,
}

/// Settings shared by every scenario of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub wrk_secs: u64,
    pub wrk_threads: u32,
    pub layouts: Vec<Layout>,
    /// Rounds that also run the idle and SSE scenarios (the first N).
    pub capacity_rounds: usize,
    pub idle_conns: u32,
    pub idle_hold_s: u64,
    /// Budget for opening the idle connections (thread-per-connection
    /// peers take most of a minute to accept 10,000).
    pub idle_connect_s: u64,
    pub sse_clients: u32,
    pub sse_events: u32,
    pub sse_interval_ms: u64,
    /// Slow-handler scenario: requests held in the sleeping handler, and
    /// how long each sleeps.
    pub slow_requests: u32,
    pub slow_ms: u64,
    /// Held-WebSockets scenario (capacity rounds): sockets and seconds.
    pub ws_hold_conns: u32,
    pub ws_hold_s: u64,
    #[serde(skip)]
    pub load_bin: PathBuf,
    #[serde(skip)]
    pub lua: PathBuf,
    #[serde(skip)]
    pub logs: PathBuf,
}

/// One round: the wrk cells of every layout with all servers side by side,
/// then each server's own scenarios. Returns one `ServerRound` per spec,
/// in `specs`' order.
pub fn run_round(set: &Settings, specs: &[Spec], round: usize, rounds: usize) -> Vec<ServerRound> {
    let mut outs: Vec<ServerRound> = specs
        .iter()
        .map(|s| ServerRound {
            server: s.name.to_owned(),
            round,
            ..Default::default()
        })
        .collect();
    for &layout in &set.layouts {
        wrk_layout(set, specs, layout, round, rounds, &mut outs);
    }
    for (spec, out) in specs.iter().zip(outs.iter_mut()) {
        let tag = format!("[round {round}/{rounds}] {:<9}", spec.name);
        let log = |phase: &str| set.logs.join(format!("{}-r{round}-{phase}.log", spec.name));
        if spec.capacity && round <= set.capacity_rounds {
            capacity(set, spec, &tag, round, out);
        }
        if spec.websocket && round <= set.capacity_rounds {
            load_phase(
                set,
                spec,
                &tag,
                &log("server-ws-hold"),
                out,
                "ws-hold",
                |addr, pid| {
                    vec![
                        "ws-hold".into(),
                        "--addr".into(),
                        addr.into(),
                        "--conns".into(),
                        set.ws_hold_conns.to_string(),
                        "--hold".into(),
                        set.ws_hold_s.to_string(),
                        "--pid".into(),
                        pid.to_string(),
                    ]
                },
            );
        }
        if spec.blocking {
            load_phase(
                set,
                spec,
                &tag,
                &log("server-slow"),
                out,
                "slow",
                |addr, _pid| {
                    vec![
                        "slow-handlers".into(),
                        "--addr".into(),
                        addr.into(),
                        "--slow".into(),
                        set.slow_requests.to_string(),
                        "--slow-path".into(),
                        format!("/slow?ms={}", set.slow_ms),
                    ]
                },
            );
        }
    }
    outs
}

/// The wrk cells of one layout: every server started side by side, each
/// cell run against each server in turn.
fn wrk_layout(
    set: &Settings,
    specs: &[Spec],
    layout: Layout,
    round: usize,
    rounds: usize,
    outs: &mut [ServerRound],
) {
    let lname = layout.name();
    let log = |server: &str, phase: &str| {
        set.logs
            .join(format!("{server}-r{round}-{lname}-{phase}.log"))
    };
    let mut running: Vec<Option<Running>> = Vec::new();
    for (spec, out) in specs.iter().zip(outs.iter_mut()) {
        match server::start(spec, layout.server_cpus(), &log(spec.name, "server")) {
            Ok(mut srv) => {
                println!(
                    "[round {round}/{rounds}] {:<9} {lname}: started, pid {} at {}",
                    spec.name, srv.pid, srv.addr
                );
                let _ = wrk(
                    set,
                    layout,
                    &mut srv,
                    &PLAIN[0],
                    1,
                    &log(spec.name, "warmup"),
                );
                running.push(Some(srv));
            }
            Err(e) => {
                println!(
                    "[round {round}/{rounds}] {:<9} {lname}: FAILED to start: {e}",
                    spec.name
                );
                out.failures.push(format!("start ({lname}): {e}"));
                running.push(None);
            }
        }
    }
    let n = specs.len();
    for (ci, def) in layout.cells().iter().enumerate() {
        // Rotate who goes first, per cell and per round.
        for k in 0..n {
            let i = (k + ci + round - 1) % n;
            let (spec, out) = (&specs[i], &mut outs[i]);
            let Some(srv) = running[i].as_mut() else {
                continue;
            };
            if (def.is_echo() && !spec.echoes) || (def.ws && !spec.websocket) {
                continue;
            }
            let tag = format!("[round {round}/{rounds}] {:<9} {lname:<12}", spec.name);
            if !srv.alive() {
                out.failures
                    .push(format!("{} died during the {lname} wrk cells", spec.name));
                running[i] = None;
                continue;
            }
            let label = def.label().replace([' ', '/'], "_");
            if def.is_echo() {
                if let Err(e) = check_echo(
                    set,
                    srv,
                    def,
                    &log(spec.name, &format!("echo-check-{label}")),
                ) {
                    println!("{tag} {} echo check FAILED: {e}", def.label());
                    out.errors.push(format!("{lname} {}: {e}", def.label()));
                }
            }
            let measured = if def.ws {
                ws_cell(
                    set,
                    layout,
                    srv,
                    def,
                    &log(spec.name, &format!("load-{label}")),
                )
            } else {
                wrk(
                    set,
                    layout,
                    srv,
                    def,
                    set.wrk_secs,
                    &log(spec.name, &format!("wrk-{label}")),
                )
            };
            match measured {
                Ok(cell) => {
                    println!("{tag} {}", cell_line(&cell));
                    if cell.errors > 0 {
                        out.errors.push(format!(
                            "{lname} {}: {} errors ({})",
                            def.label(),
                            cell.errors,
                            cell.error_detail
                        ));
                    }
                    out.cells.push(cell);
                }
                Err(e) => {
                    println!("{tag} {} FAILED: {e}", def.label());
                    out.failures.push(format!("{lname} {}: {e}", def.label()));
                }
            }
        }
        if layout == Layout::ServerBound && def == &PLAIN[5] {
            for (srv, out) in running.iter().zip(outs.iter_mut()) {
                if let Some(srv) = srv {
                    out.hwm_c256_kib = server::status(srv.pid).map(|s| s.hwm_kib);
                }
            }
        }
    }
    for (srv, out) in running.iter_mut().zip(outs.iter_mut()) {
        if let Some(srv) = srv {
            if layout == Layout::ServerBound {
                out.hwm_echo_kib = server::status(srv.pid).map(|s| s.hwm_kib);
            }
            finish_phase(srv, out, &format!("{lname} wrk "), true);
        }
    }
}

/// `sutegi-load fresh --check-echo`: patterned bodies of the cell's size
/// must come back byte for byte.
fn check_echo(set: &Settings, srv: &Running, def: &CellDef, log: &Path) -> Result<(), String> {
    let requests = if def.body >= 1 << 20 { 8 } else { 64 };
    let args: Vec<String> = [
        "fresh",
        "--addr",
        &srv.addr,
        "--requests",
        &requests.to_string(),
        "--conns",
        "2",
        "--method",
        def.method,
        "--path",
        def.path,
        "--body-size",
        &def.body.to_string(),
        "--check-echo",
        "true",
        "--secs",
        "30",
    ]
    .map(String::from)
    .to_vec();
    let (json, code) = run_tool(&set.load_bin, &args, Duration::from_secs(60), log)?;
    let errors = tool_errors(&json, code, log)?;
    if errors > 0 {
        return Err(format!(
            "{errors} of {requests} echoes wrong or failed: {}",
            json["failure_reasons"]
        ));
    }
    Ok(())
}

/// Idle connections, then SSE for servers that stream, each against a
/// freshly started process.
fn capacity(set: &Settings, spec: &Spec, tag: &str, round: usize, out: &mut ServerRound) {
    let log = |phase: &str| set.logs.join(format!("{}-r{round}-{phase}.log", spec.name));
    load_phase(
        set,
        spec,
        tag,
        &log("server-idle"),
        out,
        "idle",
        |addr, pid| {
            vec![
                "idle".into(),
                "--addr".into(),
                addr.into(),
                "--conns".into(),
                set.idle_conns.to_string(),
                "--hold".into(),
                set.idle_hold_s.to_string(),
                "--connect-secs".into(),
                set.idle_connect_s.to_string(),
                "--pid".into(),
                pid.to_string(),
            ]
        },
    );
    if spec.streams {
        load_phase(
            set,
            spec,
            tag,
            &log("server-sse"),
            out,
            "sse",
            |addr, pid| {
                vec![
                    "sse".into(),
                    "--addr".into(),
                    addr.into(),
                    "--clients".into(),
                    set.sse_clients.to_string(),
                    "--events".into(),
                    set.sse_events.to_string(),
                    "--interval-ms".into(),
                    set.sse_interval_ms.to_string(),
                    "--pid".into(),
                    pid.to_string(),
                ]
            },
        );
    }
}

/// The `errors` a load tool reported, checked against its exit status:
/// 0 must mean no errors, 1 must come with errors counted; a missing
/// `errors` field or any other exit is a failure of the tool.
pub fn tool_errors(json: &Value, code: i32, log: &Path) -> Result<u64, String> {
    let errors = json["errors"].as_u64().ok_or_else(|| {
        format!(
            "the load tool's JSON has no `errors` field (see {})",
            log.display()
        )
    })?;
    match (code, errors) {
        (0, 0) | (1, 1..) => Ok(errors),
        _ => Err(format!(
            "the load tool exited {code} reporting {errors} errors (see {})",
            log.display()
        )),
    }
}

/// Stops the server; a server found dead is a failure, or a finding for a
/// peer in a capacity scenario (`gating` false).
fn finish_phase(srv: &mut Running, out: &mut ServerRound, phase: &str, gating: bool) {
    if !srv.alive() {
        let msg = format!("{} had died by the end of the {phase}phase", srv.name);
        if gating {
            out.failures.push(msg);
        } else {
            out.findings.push(msg);
        }
    }
    if let Some(note) = srv.stop() {
        out.notes.push(note);
    }
}

fn cell_line(c: &Cell) -> String {
    format!(
        "{:<16} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  cpu {:>6} µs/req  {} thr  {:.1} MiB{}{}",
        c.def.label(),
        c.rps,
        c.p50_us as f64 / 1000.0,
        c.p99_us as f64 / 1000.0,
        c.cpu_us_per_req.map_or("-".into(), |v| format!("{v:.1}")),
        c.threads_max,
        c.rss_max_kib as f64 / 1024.0,
        c.mb_s.map_or(String::new(), |m| format!("  {m:.1} MB/s")),
        if c.errors > 0 {
            format!("  {} ERRORS ({})", c.errors, c.error_detail)
        } else {
            String::new()
        }
    )
}

/// Starts a server, runs one `sutegi-load` scenario against it, stops it.
fn load_phase(
    set: &Settings,
    spec: &Spec,
    tag: &str,
    server_log: &Path,
    out: &mut ServerRound,
    scenario: &str,
    args: impl Fn(&str, u32) -> Vec<String>,
) {
    let mut srv = match server::start(spec, None, server_log) {
        Ok(s) => s,
        Err(e) => {
            out.failures.push(format!("start for {scenario}: {e}"));
            return;
        }
    };
    let log = server_log.with_file_name(
        server_log
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("server-", "load-"),
    );
    // A peer that cannot hold 10,000 idle sockets is a result, not a
    // broken harness; sutegi is held to every scenario. The slow-handler
    // scenario's errors (probes that time out, slow requests not answered
    // 200) are the figures of its two targets, judged there.
    let gating = spec.name == "sutegi" && scenario != "slow";
    // Generous: the tool bounds itself; this only catches a hung tool.
    let budget = Duration::from_secs(300);
    let result = run_tool(&set.load_bin, &args(&srv.addr, srv.pid), budget, &log)
        .and_then(|(json, code)| Ok((tool_errors(&json, code, &log)?, json)));
    match result {
        Ok((errors, json)) => {
            println!("{tag} {}", load_line(scenario, &json));
            if errors > 0 {
                let msg = match scenario {
                    "slow" => format!(
                        "slow handlers: {errors} errors ({} of {} slow requests answered 200; probe failures {} {})",
                        json["slow_ok"], json["slow"], json["probe"]["failures"], json["probe"]["failure_reasons"]
                    ),
                    _ => {
                        let fresh_failures = json["fresh"]["failures"].as_u64().unwrap_or(0);
                        format!(
                            "{scenario}: {errors} errors ({fresh_failures} fresh requests failed) {} {}",
                            json.get("failure_reasons").map_or(String::new(), |r| r.to_string()),
                            json["fresh"].get("failure_reasons").map_or(String::new(), |r| r.to_string()),
                        )
                    }
                };
                if gating {
                    out.errors.push(msg);
                } else if scenario == "slow" {
                    out.notes
                        .push(format!("{msg}: figures of the slow-handler targets"));
                } else {
                    out.findings.push(msg);
                }
            }
            match scenario {
                "idle" => out.idle = Some(json),
                "sse" => out.sse = Some(json),
                "ws-hold" => out.ws_hold = Some(json),
                _ => out.slow = Some(json),
            }
        }
        Err(e) => {
            println!("{tag} {scenario} FAILED: {e}");
            out.failures.push(format!("{scenario}: {e}"));
        }
    }
    finish_phase(&mut srv, out, &format!("{scenario} "), gating);
}

fn load_line(scenario: &str, j: &Value) -> String {
    let ms = |v: &Value| {
        v.as_f64()
            .map_or("-".into(), |us| format!("{:.3}", us / 1000.0))
    };
    let int = |v: &Value| v.as_u64().map_or("-".into(), |n| n.to_string());
    let mib = |v: &Value| {
        v.as_f64()
            .map_or("-".into(), |k| format!("{:.1}", k / 1024.0))
    };
    let server = &j["server"];
    match scenario {
        "slow" => format!(
            "slow handlers {}x {}: {}/{} answered 200; probes p50 {} ms p99 {} ms max {} ms, {} failed",
            j["slow"], j["slow_path"], j["slow_ok"], j["slow"],
            ms(&j["probe"]["latency"]["p50_us"]), ms(&j["probe"]["latency"]["p99_us"]),
            ms(&j["probe"]["latency"]["max_us"]), j["probe"]["failures"]
        ),
        "ws-hold" => format!(
            "ws-hold {} sockets: {} opened, {} answering after {} s, fresh p50 {} ms p99 {} ms, RSS {} MiB, {} thr, {} errors",
            j["conns"], j["opened"], j["answered_after_hold"], j["hold_s"],
            ms(&j["fresh"]["p50_us"]), ms(&j["fresh"]["p99_us"]),
            mib(&server["rss_kib"]), int(&server["threads"]), j["errors"]
        ),
        "idle" => format!(
            "idle {} conns: {} answered, {} open after {} s, {} answering, fresh p50 {} ms p99 {} ms, RSS {} MiB, {} thr, {} errors",
            j["conns"], j["answered"], j["kept"], j["hold_s"], j["answered_after_hold"],
            ms(&j["fresh"]["p50_us"]), ms(&j["fresh"]["p99_us"]),
            mib(&server["rss_kib"]), int(&server["threads"]), j["errors"]
        ),
        _ => format!(
            "sse {}x{}@{}ms: {}/{} events, fresh p50 {} ms p99 {} ms, RSS {} MiB, {} thr, {} errors",
            j["clients"], j["events"], j["interval_ms"], j["delivered"], j["expected"],
            ms(&j["fresh"]["p50_us"]), ms(&j["fresh"]["p99_us"]),
            mib(&server["peak_rss_kib"]), int(&server["threads"]), j["errors"]
        ),
    }
}

/// wrk's per-request timeout for a cell whose requests carry `body`
/// bytes: 2 s, but 10 s for megabyte bodies, which the slowest peers
/// (thread-per-connection, copying) take longer than 2 s to echo under 16
/// connections without being stuck. A request past it is an error.
fn wrk_timeout(body: usize) -> &'static str {
    if body >= 1 << 20 {
        "10s"
    } else {
        "2s"
    }
}

/// Runs wrk for one cell against a running server and reads the server's
/// CPU time and footprint around it. wrk runs with `set.wrk_threads`
/// threads, pinned as the layout says.
fn wrk(
    set: &Settings,
    layout: Layout,
    srv: &mut Running,
    def: &CellDef,
    secs: u64,
    log: &Path,
) -> Result<Cell, String> {
    let url = format!("http://{}{}", srv.addr, def.path);
    let threads = set.wrk_threads.min(def.conns).max(1);
    let mut args = Vec::new();
    if let Some(cpus) = layout.wrk_cpus() {
        args.extend(["-c".to_owned(), cpus.to_owned(), "wrk".to_owned()]);
    }
    args.extend([
        format!("-t{threads}"),
        format!("-c{}", def.conns),
        format!("-d{secs}s"),
        "--timeout".into(),
        wrk_timeout(def.body).into(),
        "-s".into(),
        set.lua.display().to_string(),
        url,
        "--".into(),
        def.method.into(),
    ]);
    if def.body > 0 {
        args.push(def.body.to_string());
    }
    let program = if layout.wrk_cpus().is_some() {
        "taskset"
    } else {
        "wrk"
    };

    // Sample threads and RSS while wrk runs.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, pid) = (stop.clone(), srv.pid);
        thread::spawn(move || {
            let mut peak = server::Status::default();
            while !stop.load(Ordering::Relaxed) {
                if let Some(s) = server::status(pid) {
                    peak.threads = peak.threads.max(s.threads);
                    peak.rss_kib = peak.rss_kib.max(s.rss_kib);
                }
                thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let cpu0 = server::cpu_seconds(srv.pid);
    let overflows0 = server::listen_overflows();
    let result = run_command(program, &args, Duration::from_secs(secs + 30), log);
    let cpu1 = server::cpu_seconds(srv.pid);
    let listen_overflows = match (overflows0, server::listen_overflows()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or_default();
    let (stdout, code) = result?;
    if code != 0 {
        return Err(format!("wrk exited {code} (see {})", log.display()));
    }
    let mut cell =
        parse_wrk(&stdout, def, layout).map_err(|e| format!("{e} (see {})", log.display()))?;
    // wrk counts a connection still waiting to connect as a timeout at each
    // 2 s check; overflowing listen queues are the usual reason.
    if let Some(o) = listen_overflows.filter(|&o| o > 0 && cell.errors > 0) {
        cell.error_detail.push_str(&format!(
            "; {o} listen-queue overflows on the machine meanwhile"
        ));
    }
    cell.cpu_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    cell.cpu_us_per_req = cell.cpu_s.map(|c| c * 1e6 / cell.requests as f64);
    cell.threads_max = peak.threads;
    cell.rss_max_kib = peak.rss_kib;
    cell.listen_overflows = listen_overflows;
    Ok(cell)
}

/// One WebSocket cell: `sutegi-load ws` (pinned where wrk would be)
/// against a running server, read into a [`Cell`] whose "requests" are
/// round trips. The server's CPU time is read around the tool's run, so it
/// includes the sockets' handshakes (a few hundred, against tens of
/// thousands of round trips).
fn ws_cell(
    set: &Settings,
    layout: Layout,
    srv: &mut Running,
    def: &CellDef,
    log: &Path,
) -> Result<Cell, String> {
    let tool = set.load_bin.display().to_string();
    let mut args: Vec<String> = Vec::new();
    if let Some(cpus) = layout.wrk_cpus() {
        args.extend(["-c".to_owned(), cpus.to_owned(), tool.clone()]);
    }
    args.extend(
        [
            "ws",
            "--addr",
            &srv.addr,
            "--conns",
            &def.conns.to_string(),
            "--secs",
            &set.wrk_secs.to_string(),
            "--size",
            &def.body.to_string(),
            "--pid",
            &srv.pid.to_string(),
        ]
        .map(String::from),
    );
    let program = if layout.wrk_cpus().is_some() {
        "taskset"
    } else {
        tool.as_str()
    };
    let cpu0 = server::cpu_seconds(srv.pid);
    let result = run_command(program, &args, Duration::from_secs(set.wrk_secs + 60), log);
    let cpu1 = server::cpu_seconds(srv.pid);
    let (stdout, code) = result?;
    let json: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("the load tool printed no JSON (see {})", log.display()))?;
    let errors = tool_errors(&json, code, log)?;
    let field = |ptr: &str| {
        json.pointer(ptr)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("the ws result has no {ptr} (see {})", log.display()))
    };
    let requests = field("/round_trips")? as u64;
    let secs = field("/secs")?;
    let peak = &json["server"];
    let mut cell = Cell {
        def: *def,
        layout,
        rps: requests as f64 / secs,
        requests,
        secs,
        bytes: requests * def.body as u64 * 2,
        p50_us: field("/latency/p50_us")? as u64,
        p99_us: field("/latency/p99_us")? as u64,
        max_us: field("/latency/max_us")? as u64,
        errors,
        error_detail: json["failure_reasons"].to_string(),
        mb_s: None,
        cpu_us_per_req: None,
        cpu_s: None,
        threads_max: peak["threads"].as_u64().unwrap_or(0),
        rss_max_kib: peak["peak_rss_kib"].as_u64().unwrap_or(0),
        listen_overflows: None,
    };
    cell.cpu_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    cell.cpu_us_per_req = cell
        .cpu_s
        .filter(|_| requests > 0)
        .map(|c| c * 1e6 / requests as f64);
    Ok(cell)
}

/// Reads the `SUTEGI_WRK {json}` line of `bench/wrk/bench.lua`. Every field
/// must be there: a missing one is an error, never a zero. A run that
/// answered nothing is an error, and so is an echo cell whose responses
/// carry fewer bytes than the body they should echo.
pub fn parse_wrk(stdout: &str, def: &CellDef, layout: Layout) -> Result<Cell, String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUTEGI_WRK "))
        .ok_or("wrk printed no result line")?;
    let j: Value = serde_json::from_str(line).map_err(|e| format!("wrk result: {e}"))?;
    let n = |ptr: &str| {
        j.pointer(ptr)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("wrk result has no {ptr}"))
    };
    let requests = n("/requests")?;
    let secs = n("/duration_us")? as f64 / 1e6;
    let kinds = ["connect", "read", "write", "status", "timeout"];
    let mut errors = 0;
    let mut detail = Vec::new();
    for k in kinds {
        let v = n(&format!("/errors/{k}"))?;
        errors += v;
        if v > 0 {
            detail.push(format!("{k} {v}"));
        }
    }
    if requests == 0 || secs <= 0.0 {
        return Err(format!(
            "wrk completed no requests ({})",
            if detail.is_empty() {
                "no errors either".into()
            } else {
                detail.join(", ")
            }
        ));
    }
    let bytes = n("/bytes")?;
    if def.body > 0 && bytes / requests < def.body as u64 {
        return Err(format!(
            "echo responses averaged {} bytes, less than the {}-byte body they echo",
            bytes / requests,
            def.body
        ));
    }
    Ok(Cell {
        def: *def,
        layout,
        rps: requests as f64 / secs,
        requests,
        secs,
        bytes,
        p50_us: n("/latency_us/p50")?,
        p99_us: n("/latency_us/p99")?,
        max_us: n("/latency_us/max")?,
        errors,
        error_detail: detail.join(", "),
        mb_s: (def.body > 0).then(|| (requests * def.body as u64) as f64 / secs / 1e6),
        cpu_us_per_req: None,
        cpu_s: None,
        threads_max: 0,
        rss_max_kib: 0,
        listen_overflows: None,
    })
}

/// Runs a tool and returns its parsed JSON stdout line and exit code
/// (exit 1 means "ran, saw errors": the JSON says which).
fn run_tool(
    bin: &Path,
    args: &[String],
    budget: Duration,
    log: &Path,
) -> Result<(Value, i32), String> {
    let (stdout, code) = run_command(&bin.display().to_string(), args, budget, log)?;
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("exit {code}, no JSON result (see {})", log.display()))?;
    let json =
        serde_json::from_str(line).map_err(|e| format!("bad JSON from the load tool: {e}"))?;
    Ok((json, code))
}

/// Runs a command with a watchdog; stdout is returned (and logged with
/// stderr). Err when it cannot start, runs over `budget`, or dies by signal.
pub fn run_command(
    program: &str,
    args: &[String],
    budget: Duration,
    log: &Path,
) -> Result<(String, i32), String> {
    run_command_in(None, program, args, budget, log)
}

/// `run_command` in working directory `cwd`.
pub fn run_command_in(
    cwd: Option<&Path>,
    program: &str,
    args: &[String],
    budget: Duration,
    log: &Path,
) -> Result<(String, i32), String> {
    let out_path = log.with_extension("stdout");
    let err_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let out_file = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(program);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = Instant::now() + budget;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{program} ran over {} s and was killed",
                budget.as_secs()
            ));
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    // Keep one log per run: stdout appended after stderr.
    let _ = std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, format!("--- stdout ---\n{stdout}").as_bytes())
        });
    let _ = std::fs::remove_file(&out_path);
    match status.code() {
        Some(code) => Ok((stdout, code)),
        None => Err(format!("{program} was killed by a signal ({status})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"SUTEGI_WRK {"requests":1000,"duration_us":2000000,"bytes":1100000,"errors":{"connect":0,"read":0,"write":0,"status":2,"timeout":0},"latency_us":{"p50":100,"p90":200,"p99":300,"max":900,"mean":120.0}}"#;

    #[test]
    fn wrk_line_parsed_whole() {
        let c = parse_wrk(GOOD, &PLAIN[0], Layout::Shared).unwrap();
        assert_eq!(c.rps, 500.0);
        assert_eq!(c.p99_us, 300);
        assert_eq!(c.errors, 2);
        assert_eq!(c.error_detail, "status 2");
        // 1,100 bytes per response carry a 1 KiB echo.
        assert!(parse_wrk(GOOD, &ECHO[0], Layout::ServerBound).is_ok());
    }

    #[test]
    fn missing_figures_are_errors_not_zeros() {
        assert!(parse_wrk("no line", &PLAIN[0], Layout::Shared).is_err());
        let no_errors = GOOD.replace(
            r#""errors":{"connect":0,"read":0,"write":0,"status":2,"timeout":0},"#,
            "",
        );
        let e = parse_wrk(&no_errors, &PLAIN[0], Layout::Shared).unwrap_err();
        assert!(e.contains("/errors/connect"), "{e}");
        let no_p99 = GOOD.replace(r#""p99":300,"#, "");
        assert!(parse_wrk(&no_p99, &PLAIN[0], Layout::Shared).is_err());
        let nothing = GOOD.replace(r#""requests":1000"#, r#""requests":0"#);
        assert!(parse_wrk(&nothing, &PLAIN[0], Layout::Shared).is_err());
    }

    #[test]
    fn short_echo_is_an_error() {
        // 1,100 bytes per response cannot have echoed 1 MiB.
        let e = parse_wrk(GOOD, &ECHO[1], Layout::ServerBound).unwrap_err();
        assert!(e.contains("less than"), "{e}");
    }

    #[test]
    fn tool_exit_and_errors_must_agree() {
        let log = Path::new("x.log");
        let j = |e: &str| serde_json::from_str::<Value>(e).unwrap();
        assert_eq!(tool_errors(&j(r#"{"errors":0}"#), 0, log), Ok(0));
        assert_eq!(tool_errors(&j(r#"{"errors":3}"#), 1, log), Ok(3));
        assert!(tool_errors(&j(r#"{"ok":true}"#), 0, log).is_err());
        assert!(tool_errors(&j(r#"{"errors":0}"#), 1, log).is_err());
        assert!(tool_errors(&j(r#"{"errors":2}"#), 0, log).is_err());
        assert!(tool_errors(&j(r#"{"errors":0}"#), 2, log).is_err());
    }

    #[test]
    fn layouts_pin_as_documented() {
        assert_eq!(Layout::ServerBound.server_cpus(), Some("1"));
        assert_eq!(Layout::ServerBound.wrk_cpus(), Some("0"));
        assert_eq!(Layout::Shared.server_cpus(), None);
        // Plain, echo and WebSocket cells; only the plain ones when shared.
        let bound = Layout::ServerBound.cells();
        assert_eq!(bound.len(), 10);
        assert_eq!(bound.iter().filter(|c| c.ws).count(), 2);
        assert_eq!(bound.iter().filter(|c| c.is_echo()).count(), 2);
        assert_eq!(Layout::Shared.cells().len(), 6);
    }
}
