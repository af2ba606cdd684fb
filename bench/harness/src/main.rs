//! `sutegi-bench`: the benchmark's orchestrator, which `bench/run` builds
//! and executes. It owns the run as a whole — options, the machine and
//! version facts, the rounds, clean build timings, the micro-benchmarks
//! (read only from this run's own output directory), and where results
//! go — and leaves the scenarios of a round to `scenarios`, process
//! handling to `server` and the tables and targets to `report`.
//!
//! Exit status: 0 when every server started, no scenario saw an error and
//! every figure the run should produce is there; 1 otherwise (the report
//! and summary are still written); 2 for bad usage or a missing tool.
//! Targets missed are reported, not failures: the regression guard CI
//! trusts is `bench/callgrind/check`, whose counts are deterministic.

mod report;
mod scenarios;
mod server;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

use report::{Results, RunInfo, ServerInfo};
use scenarios::Settings;

const USAGE: &str = "\
usage: bench/run [--quick] [options]   (bench/run builds, then runs sutegi-bench)

  --quick                 1 round, 1 s per wrk cell, 3 s idle hold, no build
                          timings, no micro-benchmarks; report to
                          bench/target/quick-report.md
  --rounds N              rounds (default 5; quick 1); in each round every
                          cell runs each server in turn, so ratios pair
  --secs N                seconds per wrk run and per WebSocket echo cell
                          (default 4; quick 1)
  --layouts a,b           server-bound,shared (default both)
  --capacity-rounds N     rounds that also run idle, SSE and 1,000 held
                          WebSockets (default 2; quick 1)
  --servers a,b,...       subset of sutegi,axum,actix,tiny_http,rouille,nginx
  --idle-conns N          (10000)   --idle-hold SECS (10; quick 3; also
                          how long the WebSockets are held)
  --sse-clients N         (1000)    --sse-events N (50)   --sse-interval-ms N (100)
  --build-times | --no-build-times   clean release build per server
                          (default: on in full mode, off in --quick)
  --micro | --no-micro    run sutegi-microbench (bench/micro, criterion):
                          router dispatch and parse_request (default: on in
                          full mode, off in --quick)
  --out FILE              report path (default: BENCHMARKS.md at the repo
                          root in full mode, bench/target/quick-report.md
                          in quick mode)
  --sutegi-bin PATH       (default: <repo>/target/release/examples/api)
  --sutegi-unavailable WHY   do not run sutegi; report WHY (bench/run passes
                          this when examples/api failed to build)
  --hello-bin PATH        sutegi's hello, min-size profile (default:
                          <repo>/target/min-size/examples/hello)
  --std-hello-bin PATH    the std-only hello, min-size profile (default:
                          <bench-dir>/target/min-size/std-hello)
  --hello-unavailable WHY, --std-hello-unavailable WHY
                          do not measure that binary; report WHY (bench/run
                          passes these when its min-size build failed)
  --bench-dir DIR --repo DIR   (default: found from this executable)";

struct Options {
    quick: bool,
    rounds: usize,
    secs: u64,
    layouts: Vec<scenarios::Layout>,
    capacity_rounds: Option<usize>,
    servers: Option<Vec<String>>,
    idle_conns: u32,
    idle_hold: u64,
    sse_clients: u32,
    sse_events: u32,
    sse_interval_ms: u64,
    build_times: bool,
    micro: bool,
    out: Option<PathBuf>,
    sutegi_bin: Option<PathBuf>,
    sutegi_unavailable: Option<String>,
    hello_bin: Option<PathBuf>,
    std_hello_bin: Option<PathBuf>,
    hello_unavailable: Option<String>,
    std_hello_unavailable: Option<String>,
    bench_dir: PathBuf,
    repo: Option<PathBuf>,
}

fn parse_options(argv: &[String]) -> Result<Options, String> {
    let quick = argv.iter().any(|a| a == "--quick");
    // bench/target/release/sutegi-bench → bench/
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let default_bench = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut o = Options {
        quick,
        rounds: if quick { 1 } else { 5 },
        secs: if quick { 1 } else { 4 },
        layouts: scenarios::Layout::ALL.to_vec(),
        capacity_rounds: None,
        servers: None,
        idle_conns: 10_000,
        idle_hold: if quick { 3 } else { 10 },
        sse_clients: 1_000,
        sse_events: 50,
        sse_interval_ms: 100,
        build_times: !quick,
        micro: !quick,
        out: None,
        sutegi_bin: None,
        sutegi_unavailable: None,
        hello_bin: None,
        std_hello_bin: None,
        hello_unavailable: None,
        std_hello_unavailable: None,
        bench_dir: default_bench,
        repo: None,
    };
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse().map_err(|_| format!("{name}: cannot parse {v:?}"))
        }
        match a.as_str() {
            "--quick" => {}
            "--rounds" => o.rounds = num(a, val()?)?,
            "--secs" => o.secs = num(a, val()?)?,
            "--layouts" => {
                o.layouts = val()?
                    .split(',')
                    .map(|l| {
                        scenarios::Layout::ALL
                            .into_iter()
                            .find(|x| x.name() == l)
                            .ok_or_else(|| format!("--layouts: unknown layout {l:?}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--capacity-rounds" => o.capacity_rounds = Some(num(a, val()?)?),
            "--servers" => o.servers = Some(val()?.split(',').map(str::to_owned).collect()),
            "--idle-conns" => o.idle_conns = num(a, val()?)?,
            "--idle-hold" => o.idle_hold = num(a, val()?)?,
            "--sse-clients" => o.sse_clients = num(a, val()?)?,
            "--sse-events" => o.sse_events = num(a, val()?)?,
            "--sse-interval-ms" => o.sse_interval_ms = num(a, val()?)?,
            "--build-times" => o.build_times = true,
            "--no-build-times" => o.build_times = false,
            "--micro" => o.micro = true,
            "--no-micro" => o.micro = false,
            "--out" => o.out = Some(val()?.into()),
            "--sutegi-bin" => o.sutegi_bin = Some(val()?.into()),
            "--sutegi-unavailable" => o.sutegi_unavailable = Some(val()?),
            "--hello-bin" => o.hello_bin = Some(val()?.into()),
            "--std-hello-bin" => o.std_hello_bin = Some(val()?.into()),
            "--hello-unavailable" => o.hello_unavailable = Some(val()?),
            "--std-hello-unavailable" => o.std_hello_unavailable = Some(val()?),
            "--bench-dir" => o.bench_dir = val()?.into(),
            "--repo" => o.repo = Some(val()?.into()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.rounds == 0 || o.secs == 0 || o.layouts.is_empty() {
        return Err("--rounds and --secs must be at least 1, --layouts not empty".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let o = match parse_options(&argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sutegi-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Children (servers, wrk, the load tool) inherit the raised limit.
    raise_nofile();
    for tool in ["wrk", "taskset"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!(
                "sutegi-bench: `{tool}` not found (Debian: apt-get install -y {})",
                if tool == "wrk" { "wrk" } else { "util-linux" }
            );
            return ExitCode::from(2);
        }
    }
    let bench = o.bench_dir.canonicalize().unwrap_or(o.bench_dir.clone());
    let repo = o.repo.clone().unwrap_or_else(|| bench.join(".."));
    let repo = repo.canonicalize().unwrap_or(repo);
    let load_bin = bench.join("target/release/sutegi-load");
    if !load_bin.exists() {
        eprintln!(
            "sutegi-bench: {} missing: build the bench workspace first (bench/run does)",
            load_bin.display()
        );
        return ExitCode::from(2);
    }
    let logs = bench.join("target/bench-logs");
    let _ = std::fs::remove_dir_all(&logs);
    if let Err(e) = std::fs::create_dir_all(&logs) {
        eprintln!("sutegi-bench: {}: {e}", logs.display());
        return ExitCode::from(2);
    }

    let sutegi_bin = o
        .sutegi_bin
        .clone()
        .unwrap_or_else(|| repo.join("target/release/examples/api"));
    let mut specs = server::specs(&bench, &repo, &sutegi_bin);
    if let Some(why) = &o.sutegi_unavailable {
        specs[0].unavailable = Some(why.clone());
    }
    if let Some(want) = &o.servers {
        if let Some(bad) = want
            .iter()
            .find(|w| !specs.iter().any(|s| s.name == w.as_str()))
        {
            eprintln!("sutegi-bench: unknown server {bad:?}");
            return ExitCode::from(2);
        }
        specs.retain(|s| want.iter().any(|w| w == s.name));
    }
    if !specs.iter().any(|s| s.name == report::BASE) {
        println!("note: axum is not in this run, so no ratios to axum can be given");
    }

    let settings = Settings {
        wrk_secs: o.secs,
        wrk_threads: 1,
        layouts: o.layouts.clone(),
        capacity_rounds: o
            .capacity_rounds
            .unwrap_or(if o.quick { 1 } else { 2 })
            .min(o.rounds),
        slow_requests: 32,
        slow_ms: 3000,
        ws_hold_conns: 1000,
        ws_hold_s: o.idle_hold,
        idle_conns: o.idle_conns,
        idle_hold_s: o.idle_hold,
        idle_connect_s: if o.quick { 10 } else { 60 },
        sse_clients: o.sse_clients,
        sse_events: o.sse_events,
        sse_interval_ms: o.sse_interval_ms,
        load_bin,
        lua: bench.join("wrk/bench.lua"),
        logs: logs.clone(),
    };
    let started = Instant::now();
    let load_at_start = loadavg();
    let started_utc = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    println!(
        "sutegi-bench: {} round(s) × {} server(s), {} s per wrk cell; logs in {}",
        o.rounds,
        specs.len(),
        o.secs,
        logs.display()
    );
    for s in &specs {
        if let Some(why) = &s.unavailable {
            println!("sutegi-bench: {} will not run: {why}", s.name);
        } else if !s.binary.exists() {
            println!(
                "sutegi-bench: {} will not run: {} does not exist",
                s.name,
                s.binary.display()
            );
        }
    }

    let mut rounds = Vec::new();
    for round in 1..=o.rounds {
        rounds.extend(scenarios::run_round(&settings, &specs, round, o.rounds));
    }

    let mut servers: Vec<ServerInfo> = specs
        .iter()
        .map(|s| ServerInfo {
            name: s.name,
            what: s.what,
            streams: s.streams,
            websocket: s.websocket,
            binary_bytes: std::fs::metadata(&s.binary)
                .ok()
                .filter(|_| s.unavailable.is_none() && !s.nginx)
                .map(|m| m.len()),
            build: Err(if o.quick {
                "(full mode)".into()
            } else {
                "(skipped)".into()
            }),
        })
        .collect();
    if o.build_times {
        for (spec, info) in specs.iter().zip(servers.iter_mut()) {
            if spec.nginx {
                info.build = Err("(Debian's package)".into());
                continue;
            }
            info.build = build_time(spec, &bench);
            match &info.build {
                Ok(secs) => println!("build  {:<9} clean release build {secs:.1} s", spec.name),
                Err(e) => println!("build  {:<9} FAILED: {e}", spec.name),
            }
        }
    }

    let min_sizes = report::MinSizes {
        hello: min_size(
            &o.hello_bin
                .clone()
                .unwrap_or_else(|| repo.join("target/min-size/examples/hello")),
            &o.hello_unavailable,
        ),
        std_hello: min_size(
            &o.std_hello_bin
                .clone()
                .unwrap_or_else(|| bench.join("target/min-size/std-hello")),
            &o.std_hello_unavailable,
        ),
    };
    for (name, size) in [
        ("examples/hello", &min_sizes.hello),
        ("std-hello", &min_sizes.std_hello),
    ] {
        match size {
            Ok(b) => println!("size   {name:<15} {b} bytes (min-size profile)"),
            Err(why) => println!("size   {name:<15} not measured: {why}"),
        }
    }

    let micro = o.micro.then(|| {
        let r = run_micro(&bench, o.rounds);
        match &r {
            Ok(v) => {
                for (id, passes) in v {
                    let ns = report::median(&mut passes.clone()).unwrap_or(f64::NAN);
                    println!("micro  {id:<24} {ns:>10.1} ns (median of {})", passes.len());
                }
            }
            Err(e) => println!("micro  FAILED: {e}"),
        }
        r
    });

    let info = RunInfo {
        quick: o.quick,
        command: shown_command(&argv),
        started_utc,
        elapsed_s: started.elapsed().as_secs_f64(),
        machine: machine_facts(&load_at_start),
        versions: versions(&bench, &repo),
        settings,
        rounds: o.rounds,
        servers,
        min_sizes,
        micro,
    };
    let results = Results {
        info: &info,
        rounds: &rounds,
    };
    let out = o.out.clone().unwrap_or_else(|| {
        if o.quick {
            bench.join("target/quick-report.md")
        } else {
            repo.join("BENCHMARKS.md")
        }
    });
    let raw = bench.join(if o.quick {
        "target/results-quick.json"
    } else {
        "target/results.json"
    });
    let _ = std::fs::write(
        &raw,
        serde_json::json!({ "settings": &info.settings, "rounds": &rounds }).to_string(),
    );
    match std::fs::write(&out, results.markdown()) {
        Ok(()) => println!(
            "\nreport written to {} (raw figures: {})",
            out.display(),
            raw.display()
        ),
        Err(e) => eprintln!("sutegi-bench: cannot write {}: {e}", out.display()),
    }
    print!("{}", results.summary());

    let mut failures = results.failures();
    if let Some(Err(e)) = &info.micro {
        failures.push(format!("sutegi-microbench: {e}"));
    }
    let mut errors = results.errors();
    errors.extend(results.missing());
    let findings = results.findings();
    if !findings.is_empty() {
        println!("\nfindings (peers in the capacity scenarios; not failures):");
        for f in &findings {
            println!("  {f}");
        }
    }
    // A server that could not be built or is missing never got a round.
    let never_ran: Vec<_> = specs
        .iter()
        .filter(|s| {
            !rounds
                .iter()
                .any(|r| r.server == s.name && !r.cells.is_empty())
        })
        .map(|s| s.name)
        .collect();
    if failures.is_empty() && errors.is_empty() && never_ran.is_empty() {
        println!(
            "\nOK: every server started and no scenario saw an error ({:.1} min).",
            started.elapsed().as_secs_f64() / 60.0
        );
        ExitCode::SUCCESS
    } else {
        println!("\nFAILED:");
        for f in failures {
            println!("  failure: {}", f.lines().next().unwrap_or(""));
        }
        for e in errors {
            println!("  error: {e}");
        }
        if !never_ran.is_empty() {
            println!("  no results at all for: {}", never_ran.join(", "));
        }
        ExitCode::from(1)
    }
}

/// The command as a user types it: without the options `bench/run` adds.
fn shown_command(argv: &[String]) -> String {
    let mut shown = vec!["bench/run".to_owned()];
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if matches!(
            a.as_str(),
            "--bench-dir"
                | "--repo"
                | "--sutegi-unavailable"
                | "--hello-unavailable"
                | "--std-hello-unavailable"
        ) {
            it.next();
        } else {
            shown.push(a.clone());
        }
    }
    shown.join(" ")
}

fn raise_nofile() {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The size of a binary built with the `min-size` profile, or why it is
/// not measured: `bench/run` says when its build failed, since an older
/// binary left in the target directory would give a stale figure.
fn min_size(path: &Path, unavailable: &Option<String>) -> Result<u64, String> {
    if let Some(why) = unavailable {
        return Err(why.clone());
    }
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A clean release build of one server in a fresh target directory (its
/// dependencies already downloaded), timed, then the directory removed.
fn build_time(spec: &server::Spec, bench: &Path) -> Result<f64, String> {
    let dir = bench.join("target/buildtime").join(spec.name);
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = vec!["build", "--release", "--quiet", "-p", spec.package];
    if let Some(ex) = spec.example {
        args.extend(["--example", ex]);
    }
    let dir_s = dir.display().to_string();
    args.extend(["--target-dir", &dir_s]);
    let log = bench
        .join("target/bench-logs")
        .join(format!("build-{}.log", spec.name));
    let start = Instant::now();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let result = scenarios::run_command_in(
        Some(&spec.build_dir),
        "cargo",
        &args,
        Duration::from_secs(1800),
        &log,
    );
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok((_, 0)) => Ok(secs),
        Ok((_, code)) => Err(format!("cargo exited {code} (see {})", log.display())),
        Err(e) => Err(e),
    }
}

/// The criterion benches in `bench/micro` (their own workspace), with
/// short warm-up and measurement times, run `passes` times (one per round):
/// returns each bench's criterion median (ns) of every pass. One pass alone
/// moved by 1.5x between two runs minutes apart on this shared machine, so
/// the report takes the median over passes, and ratios pass by pass.
fn run_micro(bench: &Path, passes: usize) -> Result<report::MicroPasses, String> {
    let mut per_pass = Vec::new();
    for pass in 1..=passes.max(1) {
        println!("micro  pass {pass} of {passes}");
        per_pass.push(run_micro_pass(bench, pass)?);
    }
    Ok(report::MICRO_IDS
        .iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), per_pass.iter().map(|p| p[i].1).collect()))
        .collect())
}

/// One criterion pass over every micro-benchmark, written to a directory
/// of its own (`CRITERION_HOME`), emptied first: a figure is read only
/// from this pass, so a renamed or failed bench is an error, never an
/// older run's `estimates.json`.
fn run_micro_pass(bench: &Path, pass: usize) -> Result<Vec<(String, f64)>, String> {
    let dir = bench.join("micro");
    let out_dir = bench.join(format!("target/criterion-pass-{pass}"));
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let log = bench.join(format!("target/bench-logs/micro-pass-{pass}.log"));
    let args: Vec<String> = [
        "bench",
        "--locked",
        "--bench",
        "micro",
        "--",
        "--warm-up-time",
        "1",
        "--measurement-time",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    println!("micro  building and running sutegi-microbench (criterion; a few minutes)");
    std::env::set_var("CRITERION_HOME", &out_dir);
    let run =
        scenarios::run_command_in(Some(&dir), "cargo", &args, Duration::from_secs(1800), &log);
    std::env::remove_var("CRITERION_HOME");
    match run? {
        (_, 0) => {}
        (_, code) => {
            return Err(format!(
                "cargo bench exited {code} (see {}):\n{}",
                log.display(),
                server::tail(&log, 8)
            ))
        }
    }
    let mut out = Vec::new();
    for id in report::MICRO_IDS {
        let path = out_dir.join(id).join("new/estimates.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (this pass wrote no such figure)", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let ns = v["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no median", path.display()))?;
        out.push((id.to_string(), ns));
    }
    Ok(out)
}

fn sh(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .to_string();
    Some(text.lines().next().unwrap_or("").trim().to_owned())
}

/// The 1, 5 and 15 minute load averages: on a shared 2-core machine,
/// whoever else was compiling shows up here and in the spreads.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn machine_facts(load_at_start: &str) -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|r| r.trim().to_owned()))
        .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("?".into(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "?".into());
    vec![
        ("CPU".into(), format!("{cpu}, {cores} cores")),
        ("memory".into(), mem),
        (
            "OS / kernel".into(),
            format!("{os} / Linux {}", read("/proc/sys/kernel/osrelease").trim()),
        ),
        (
            "load average (1/5/15 min)".into(),
            format!("{load_at_start} at the start, {} at the end", loadavg()),
        ),
    ]
}

fn versions(bench: &Path, repo: &Path) -> Vec<(String, String)> {
    let lock = std::fs::read_to_string(bench.join("Cargo.lock")).unwrap_or_default();
    let crate_version = |name: &str| -> String {
        let needle = format!("name = \"{name}\"\nversion = \"");
        lock.find(&needle)
            .map(|i| {
                let rest = &lock[i + needle.len()..];
                rest[..rest.find('"').unwrap_or(0)].to_owned()
            })
            .unwrap_or_else(|| "?".into())
    };
    let rev = sh(
        "git",
        &[
            "-C",
            &repo.display().to_string(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    )
    .unwrap_or_default();
    let dirty = sh(
        "git",
        &[
            "-C",
            &repo.display().to_string(),
            "status",
            "--porcelain",
            "--",
            "sutegi",
            "sutegi-macros",
            "examples",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    vec![
        ("rustc".into(), sh("rustc", &["-V"]).unwrap_or_default()),
        ("wrk".into(), sh("wrk", &["-v"]).unwrap_or_default()),
        (
            "sutegi".into(),
            format!(
                "git {rev}{}",
                if dirty {
                    " + uncommitted changes in sutegi/ or examples/"
                } else {
                    ""
                }
            ),
        ),
        (
            "peers (bench/Cargo.lock)".into(),
            format!(
                "axum {}, hyper {}, tokio {}, actix-web {}, tiny_http {}, rouille {}",
                crate_version("axum"),
                crate_version("hyper"),
                crate_version("tokio"),
                crate_version("actix-web"),
                crate_version("tiny_http"),
                crate_version("rouille")
            ),
        ),
        (
            "profile".into(),
            "cargo's release profile at its defaults, for every server; the `min-size` profile for the two hellos of the size target".into(),
        ),
    ]
}
