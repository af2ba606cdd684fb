//! The servers under test and their processes: where each binary lives,
//! how it is built, which scenarios it takes part in, and starting one on a
//! free loopback port (address `127.0.0.1:0`, the real port read from its
//! `listening on http://ADDR` line), optionally pinned with `taskset`, then
//! stopping it by the PID that was started — SIGTERM, then SIGKILL if it has
//! not exited within a few seconds. Also the `/proc` readings the figures
//! need: CPU ticks, RSS, peak RSS, threads.

use std::{
    fs::File,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

/// How long a server gets to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long SIGTERM gets before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Spec {
    /// Short name used in tables: sutegi, axum, actix, tiny_http, rouille.
    pub name: &'static str,
    /// What it is, for the report.
    pub what: &'static str,
    pub binary: PathBuf,
    /// Serves `/events` as a real stream.
    pub streams: bool,
    /// The cargo package (for build times) and the directory to build from.
    pub package: &'static str,
    pub example: Option<&'static str>,
    pub build_dir: PathBuf,
    /// Set when the wrapper already knows it cannot run (e.g. its build
    /// failed): the harness reports this instead of running a stale binary.
    pub unavailable: Option<String>,
}

pub fn specs(bench_dir: &Path, repo_dir: &Path, sutegi_bin: &Path) -> Vec<Spec> {
    let peer = |name, what, bin: &str, package, streams| Spec {
        name,
        what,
        binary: bench_dir.join("target/release").join(bin),
        streams,
        package,
        example: None,
        build_dir: bench_dir.to_path_buf(),
        unavailable: None,
    };
    vec![
        Spec {
            name: "sutegi",
            what: "sutegi examples/api (std threads + polling)",
            binary: sutegi_bin.to_path_buf(),
            streams: true,
            package: "sutegi-examples",
            example: Some("api"),
            build_dir: repo_dir.to_path_buf(),
            unavailable: None,
        },
        peer("axum", "axum 0.8 on tokio", "peer-axum", "peer-axum", true),
        peer("actix", "actix-web 4", "peer-actix", "peer-actix", true),
        peer(
            "tiny_http",
            "tiny_http 0.12, 4 request threads",
            "peer-tiny-http",
            "peer-tiny-http",
            true,
        ),
        peer(
            "rouille",
            "rouille 3 (thread per request)",
            "peer-rouille",
            "peer-rouille",
            false,
        ),
    ]
}

/// A running server: stop it with `stop`, or it is killed on drop.
pub struct Running {
    pub name: &'static str,
    pub addr: String,
    pub pid: u32,
    child: Option<Child>,
}

/// Starts `spec` on `127.0.0.1:0`, pinned to `cpus` if given; its stdout
/// after the address line and its stderr go to `log`.
pub fn start(spec: &Spec, cpus: Option<&str>, log: &Path) -> Result<Running, String> {
    if let Some(why) = &spec.unavailable {
        return Err(why.clone());
    }
    if !spec.binary.exists() {
        return Err(format!("binary {} does not exist", spec.binary.display()));
    }
    let log_file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(&spec.binary);
            c
        }
        None => Command::new(&spec.binary),
    };
    cmd.arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file.try_clone().map_err(|e| e.to_string())?)
        // Benchmarks run with sutegi's access log off (docs/benchmarks.md).
        .env_remove("SUTEGI_LOG")
        .env_remove("SUTEGI_ADDR")
        .env_remove("RUST_LOG");
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", spec.binary.display()))?;
    let pid = child.id(); // taskset execs the server: same PID
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut log_file = log_file;
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                    let _ = tx.send(addr.trim_end_matches('/').to_owned());
                    sent = true;
                }
            }
            let _ = writeln!(log_file, "{line}");
        }
    });
    let mut running = Running {
        name: spec.name,
        addr: String::new(),
        pid,
        child: Some(child),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(addr) => {
                running.addr = addr;
                return Ok(running);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if let Some(status) = running
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            running.child = None;
            return Err(format!(
                "{} exited ({status}) before printing its address; log {}:\n{}",
                spec.name,
                log.display(),
                tail(log, 10)
            ));
        }
        if Instant::now() > deadline {
            running.stop();
            return Err(format!(
                "{} printed no `listening on http://ADDR` within {} s; log {}:\n{}",
                spec.name,
                START_TIMEOUT.as_secs(),
                log.display(),
                tail(log, 10)
            ));
        }
    }
}

impl Running {
    /// SIGTERM by PID, then SIGKILL after `STOP_TIMEOUT`. Returns a note
    /// when the server had to be killed or had already died.
    pub fn stop(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(format!("{} had already exited ({status})", self.name));
        }
        // SAFETY: signalling the PID of a child we spawned and have not
        // reaped, so it cannot have been reused.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Some(format!(
            "{} did not exit within {} s of SIGTERM; killed",
            self.name,
            STOP_TIMEOUT.as_secs()
        ))
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// utime + stime of a process (all its threads), in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, i.e. the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((utime + stime) as f64 / hz)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Status {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
}

pub fn status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut s = Status::default();
    let mut has_rss = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let n = || rest.split_whitespace().next()?.parse::<u64>().ok();
        match key {
            "VmRSS" => {
                s.rss_kib = n()?;
                has_rss = true;
            }
            "VmHWM" => s.hwm_kib = n()?,
            "Threads" => s.threads = n()?,
            _ => {}
        }
    }
    // A zombie (exited, not yet reaped) has no memory lines: no reading.
    has_rss.then_some(s)
}

/// The last `n` lines of a log file, indented, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    if lines.is_empty() {
        return "    (empty)".into();
    }
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The machine's count of connections dropped because a listen queue was
/// full (`TcpExt: ListenOverflows` in `/proc/net/netstat`). System-wide, so
/// read around one wrk run it tells whether wrk's "timeouts" were
/// connections that never got accepted.
pub fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let i = names
        .split_whitespace()
        .position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(i)?.parse().ok()
}
