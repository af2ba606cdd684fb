//! One server's turn in one round: the scenarios, in a fixed order, each
//! against a freshly started process where that keeps a figure clean.
//!
//! 1. wrk: a 1 s warm-up, then `/plaintext`, `/json`, `/users/42` at 16
//!    connections, the same at 256 (peak RSS read here: VmHWM after the
//!    c256 cells), then `POST /echo` with 1 KiB and 1 MiB bodies at 16
//!    connections. For each cell: req/s, latency percentiles and errors
//!    from wrk, the server's CPU time over the run from `/proc/PID/stat`,
//!    its threads and RSS sampled every 100 ms.
//! 2. idle: a new process, `sutegi-load idle` (10,000 connections).
//! 3. sse: a new process, `sutegi-load sse` (1,000 clients × 50 events at
//!    100 ms), for the servers that stream.
//! 4. cores: a new process pinned with `taskset` to one core, then one
//!    pinned to both, each running `/plaintext` at 256 connections.
//!
//! A new process per group so that the idle test's 10,000 sockets do not
//! inflate the wrk phase's peak RSS, and so on. Every external command runs
//! under a watchdog.

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

/// One throughput cell: a route, a body, a connection count, a CPU set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CellDef {
    pub route: &'static str,
    pub path: &'static str,
    pub method: &'static str,
    pub body: usize,
    pub conns: u32,
    /// `taskset -c` list, for the cores scenario.
    pub cpus: Option<&'static str>,
}

impl CellDef {
    pub fn label(&self) -> String {
        let mut s = format!("{} c{}", self.route, self.conns);
        if let Some(cpus) = self.cpus {
            let n = cpus.split(',').count();
            s.push_str(&format!(" {n} core{}", if n == 1 { "" } else { "s" }));
        }
        s
    }
}

const fn get(route: &'static str, path: &'static str, conns: u32) -> CellDef {
    CellDef {
        route,
        path,
        method: "GET",
        body: 0,
        conns,
        cpus: None,
    }
}

const fn echo(route: &'static str, body: usize) -> CellDef {
    CellDef {
        route,
        path: "/echo",
        method: "POST",
        body,
        conns: 16,
        cpus: None,
    }
}

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
pub const CORES: [CellDef; 2] = [
    CellDef {
        cpus: Some("1"),
        ..get("plaintext", "/plaintext", 256)
    },
    CellDef {
        cpus: Some("0,1"),
        ..get("plaintext", "/plaintext", 256)
    },
];

/// One wrk run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub def: CellDef,
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
    /// VmHWM after the plain cells (c16 then c256): peak RSS under c256.
    pub hwm_c256_kib: Option<u64>,
    /// VmHWM after the echo cells too.
    pub hwm_echo_kib: Option<u64>,
    pub idle: Option<Value>,
    pub sse: Option<Value>,
    /// A server that failed to start, died, or a tool that failed.
    pub failures: Vec<String>,
    /// Scenario errors (wrk errors, lost events, failed fresh requests).
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
    pub idle_conns: u32,
    pub idle_hold_s: u64,
    /// Budget for opening the idle connections (thread-per-connection
    /// peers take most of a minute to accept 10,000).
    pub idle_connect_s: u64,
    pub sse_clients: u32,
    pub sse_events: u32,
    pub sse_interval_ms: u64,
    #[serde(skip)]
    pub load_bin: PathBuf,
    #[serde(skip)]
    pub lua: PathBuf,
    #[serde(skip)]
    pub logs: PathBuf,
}

pub fn run_round(set: &Settings, spec: &Spec, round: usize, rounds: usize) -> ServerRound {
    let mut out = ServerRound {
        server: spec.name.to_owned(),
        round,
        ..Default::default()
    };
    let tag = format!("[round {round}/{rounds}] {:<9}", spec.name);
    let log = |phase: &str| set.logs.join(format!("{}-r{round}-{phase}.log", spec.name));

    // 1. wrk cells.
    let mut srv = match server::start(spec, None, &log("server-wrk")) {
        Ok(s) => s,
        Err(e) => {
            println!("{tag} FAILED to start: {e}");
            out.failures.push(format!("start: {e}"));
            return out; // the other groups would fail the same way
        }
    };
    println!("{tag} started, pid {} at {}", srv.pid, srv.addr);
    let _ = wrk(set, &mut srv, &PLAIN[0], 1, &log("wrk-warmup"));
    for def in PLAIN.iter().chain(ECHO.iter()) {
        if !srv.alive() {
            out.failures
                .push(format!("{} died during the wrk cells", spec.name));
            break;
        }
        let wlog = log(&format!("wrk-{}", def.label().replace([' ', '/'], "_")));
        match wrk(set, &mut srv, def, set.wrk_secs, &wlog) {
            Ok(cell) => {
                println!("{tag} {}", cell_line(&cell));
                if cell.errors > 0 {
                    out.errors.push(format!(
                        "{}: {} errors ({})",
                        def.label(),
                        cell.errors,
                        cell.error_detail
                    ));
                }
                out.cells.push(cell);
            }
            Err(e) => {
                println!("{tag} {} FAILED: {e}", def.label());
                out.failures.push(format!("{}: {e}", def.label()));
            }
        }
        if def == &PLAIN[5] {
            out.hwm_c256_kib = server::status(srv.pid).map(|s| s.hwm_kib);
        }
    }
    out.hwm_echo_kib = server::status(srv.pid).map(|s| s.hwm_kib);
    finish(&mut srv, &mut out);

    // 2. idle connections.
    load_phase(
        set,
        spec,
        &tag,
        &log("server-idle"),
        &mut out,
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

    // 3. SSE fan-out.
    if spec.streams {
        load_phase(
            set,
            spec,
            &tag,
            &log("server-sse"),
            &mut out,
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

    // 4. One core, then two.
    for def in CORES {
        let phase = format!(
            "server-cores-{}",
            def.cpus.unwrap_or("all").replace(',', "")
        );
        let mut srv = match server::start(spec, def.cpus, &log(&phase)) {
            Ok(s) => s,
            Err(e) => {
                out.failures
                    .push(format!("start pinned to {:?}: {e}", def.cpus));
                continue;
            }
        };
        let _ = wrk(set, &mut srv, &PLAIN[0], 1, &log("wrk-warmup-cores"));
        let wlog = log(&format!("wrk-{}", def.label().replace([' ', '/'], "_")));
        match wrk(set, &mut srv, &def, set.wrk_secs, &wlog) {
            Ok(cell) => {
                println!("{tag} {}", cell_line(&cell));
                if cell.errors > 0 {
                    out.errors.push(format!(
                        "{}: {} errors ({})",
                        def.label(),
                        cell.errors,
                        cell.error_detail
                    ));
                }
                out.cells.push(cell);
            }
            Err(e) => out.failures.push(format!("{}: {e}", def.label())),
        }
        finish(&mut srv, &mut out);
    }
    out
}

fn finish(srv: &mut Running, out: &mut ServerRound) {
    finish_phase(srv, out, "", true);
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
        "{:<22} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  cpu {:>6} µs/req  {} thr  {:.1} MiB{}{}",
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
    // broken harness; sutegi is held to every scenario.
    let gating = spec.name == "sutegi";
    // Generous: the tool bounds itself; this only catches a hung tool.
    let budget = Duration::from_secs(300);
    match run_tool(&set.load_bin, &args(&srv.addr, srv.pid), budget, &log) {
        Ok((json, _code)) => {
            let errors = json["errors"].as_u64().unwrap_or(0);
            println!("{tag} {}", load_line(scenario, &json));
            if errors > 0 {
                let fresh_failures = json["fresh"]["failures"].as_u64().unwrap_or(0);
                let msg =
                    format!(
                    "{scenario}: {errors} errors ({fresh_failures} fresh requests failed) {} {}",
                    json.get("failure_reasons").map_or(String::new(), |r| r.to_string()),
                    json["fresh"].get("failure_reasons").map_or(String::new(), |r| r.to_string()),
                );
                if gating {
                    out.errors.push(msg);
                } else {
                    out.findings.push(msg);
                }
            }
            match scenario {
                "idle" => out.idle = Some(json),
                _ => out.sse = Some(json),
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

/// Runs wrk for one cell against a running server and reads the server's
/// CPU time and footprint around it.
fn wrk(
    set: &Settings,
    srv: &mut Running,
    def: &CellDef,
    secs: u64,
    log: &Path,
) -> Result<Cell, String> {
    let url = format!("http://{}{}", srv.addr, def.path);
    let threads = set.wrk_threads.min(def.conns).max(1);
    let mut args = vec![
        format!("-t{threads}"),
        format!("-c{}", def.conns),
        format!("-d{secs}s"),
        "--timeout".into(),
        "2s".into(),
        "-s".into(),
        set.lua.display().to_string(),
        url,
        "--".into(),
        def.method.into(),
    ];
    if def.body > 0 {
        args.push(def.body.to_string());
    }

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
    let result = run_command("wrk", &args, Duration::from_secs(secs + 30), log);
    let cpu1 = server::cpu_seconds(srv.pid);
    let listen_overflows = match (overflows0, server::listen_overflows()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or_default();
    let (stdout, _) = result?;

    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUTEGI_WRK "))
        .ok_or_else(|| format!("wrk printed no result line (see {})", log.display()))?;
    let j: Value = serde_json::from_str(line).map_err(|e| format!("wrk result: {e}"))?;
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let requests = n(&j["requests"]);
    let secs = n(&j["duration_us"]) as f64 / 1e6;
    let e = &j["errors"];
    let kinds = ["connect", "read", "write", "status", "timeout"];
    let errors: u64 = kinds.iter().map(|k| n(&e[*k])).sum();
    let mut error_detail = kinds
        .iter()
        .filter(|k| n(&e[**k]) > 0)
        .map(|k| format!("{k} {}", n(&e[*k])))
        .collect::<Vec<_>>()
        .join(", ");
    // wrk counts a connection still waiting to connect as a timeout at each
    // 2 s check; overflowing listen queues are the usual reason.
    if let Some(o) = listen_overflows.filter(|&o| o > 0 && errors > 0) {
        error_detail.push_str(&format!(
            "; {o} listen-queue overflows on the machine meanwhile"
        ));
    }
    let cpu_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(Cell {
        def: *def,
        rps: if secs > 0.0 {
            requests as f64 / secs
        } else {
            0.0
        },
        requests,
        secs,
        bytes: n(&j["bytes"]),
        p50_us: n(&j["latency_us"]["p50"]),
        p99_us: n(&j["latency_us"]["p99"]),
        max_us: n(&j["latency_us"]["max"]),
        errors,
        error_detail,
        mb_s: (def.body > 0 && secs > 0.0)
            .then(|| (requests * def.body as u64) as f64 / secs / 1e6),
        cpu_us_per_req: cpu_s
            .filter(|_| requests > 0)
            .map(|c| c * 1e6 / requests as f64),
        cpu_s,
        threads_max: peak.threads,
        rss_max_kib: peak.rss_kib,
        listen_overflows,
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
