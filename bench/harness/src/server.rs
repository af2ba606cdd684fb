//! The servers under test and their processes: where each binary lives,
//! how it is built, which scenarios it takes part in, and starting one on a
//! free loopback port (address `127.0.0.1:0`, the real port read from its
//! `listening on http://ADDR` line), optionally pinned with `taskset`, then
//! stopping it by the PID that was started — SIGTERM, then SIGKILL if it has
//! not exited within a few seconds. Also the `/proc` readings the figures
//! need: CPU ticks, RSS, peak RSS, threads.
//!
//! nginx is the one server that is not ours to build: Debian's package, one
//! process (`master_process off`, so the PID started is the worker whose CPU
//! is read), its configuration rendered into `bench/target/nginx/` with a
//! free port, a temporary prefix for its logs and temp files, and run as
//! `nobody` when the harness is root. It answers the plain routes with
//! `return 200` and fixed bodies: the row that marks what the machine can
//! do, not a framework.

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
    /// nginx: started from a rendered configuration, not with an address.
    pub nginx: bool,
    /// Serves `POST /echo` (the echo cells).
    pub echoes: bool,
    /// Takes part in the capacity scenarios (idle connections, SSE).
    pub capacity: bool,
    /// Serves `POST /slow?ms=N`, a handler that sleeps (the slow-handler
    /// scenario).
    pub blocking: bool,
    /// Serves `GET /ws/echo`, a WebSocket echoing every message (the ws
    /// cells and the held-sockets scenario).
    pub websocket: bool,
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
        nginx: false,
        echoes: true,
        capacity: true,
        blocking: false,
        websocket: matches!(name, "axum" | "actix"),
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
            nginx: false,
            echoes: true,
            capacity: true,
            blocking: true,
            websocket: true,
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
        Spec {
            name: "nginx",
            what: "nginx (Debian), one worker, `return 200` with fixed bodies",
            binary: PathBuf::from(NGINX),
            streams: false,
            package: "",
            example: None,
            build_dir: bench_dir.join("target/nginx"),
            unavailable: None,
            nginx: true,
            echoes: false,
            capacity: false,
            blocking: false,
            websocket: false,
        },
    ]
}

/// Debian's nginx binary.
pub const NGINX: &str = "/usr/sbin/nginx";

/// The nginx configuration for one run on `port`, with everything it
/// writes under `prefix`. The bodies are examples/api's, byte for byte.
pub fn nginx_conf(port: u16, prefix: &Path) -> String {
    let p = prefix.display();
    format!(
        r#"# Rendered by sutegi-bench for one run; see bench/README.md.
daemon off;
master_process off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /plaintext {{
            default_type text/plain;
            return 200 "Hello, World!";
        }}
        location = /json {{
            default_type application/json;
            return 200 '{{"message":"Hello, World!"}}';
        }}
        location ~ "^/users/([0-9]+)$" {{
            default_type application/json;
            return 200 '{{"id":$1,"name":"user$1"}}';
        }}
    }}
}}
"#
    )
}

/// A port free on 127.0.0.1 at the time of asking (for nginx, which must
/// be told its port).
fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts nginx on a free port: the configuration rendered into
/// `spec.build_dir`, a fresh prefix under the system's temp directory,
/// ready when the port accepts a connection.
fn start_nginx(spec: &Spec, cpus: Option<&str>, log: &Path) -> Result<Running, String> {
    let port = free_port()?;
    let prefix =
        std::env::temp_dir().join(format!("sutegi-bench-nginx-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
    std::fs::create_dir_all(&spec.build_dir)
        .map_err(|e| format!("{}: {e}", spec.build_dir.display()))?;
    let conf = spec.build_dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(port, &prefix))
        .map_err(|e| format!("{}: {e}", conf.display()))?;
    // SAFETY: getuid has no preconditions.
    let root = unsafe { libc::getuid() } == 0;
    let mut argv: Vec<String> = Vec::new();
    if let Some(cpus) = cpus {
        argv.extend(["taskset".into(), "-c".into(), cpus.into()]);
    }
    if root {
        // Unprivileged: nobody, owning its prefix. Each program here execs
        // the next, so the PID started is nginx's.
        let c = std::ffi::CString::new(prefix.display().to_string()).map_err(|e| e.to_string())?;
        // SAFETY: a valid C string; uid/gid 65534 is nobody/nogroup.
        unsafe { libc::chown(c.as_ptr(), 65534, 65534) };
        argv.extend(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]
            .map(String::from),
        );
    }
    argv.push(spec.binary.display().to_string());
    argv.extend([
        "-p".into(),
        prefix.display().to_string(),
        "-c".into(),
        conf.display().to_string(),
        "-e".into(),
        prefix.join("error.log").display().to_string(),
    ]);
    let log_file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let mut running = Running {
        name: spec.name,
        addr: format!("127.0.0.1:{port}"),
        pid: child.id(),
        child: Some(child),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    let addr: std::net::SocketAddr = running.addr.parse().map_err(|e| format!("{e}"))?;
    loop {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(running);
        }
        if !running.alive() {
            let errors = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
            running.child = None;
            return Err(format!(
                "nginx exited before listening (`{}`); log {}:\n{}\n{errors}",
                argv.join(" "),
                log.display(),
                tail(log, 10)
            ));
        }
        if Instant::now() > deadline {
            running.stop();
            return Err(format!(
                "nginx did not listen on {addr} within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
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
    if spec.nginx {
        return start_nginx(spec, cpus, log);
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
        // Benchmarks run with sutegi's access log off, as a deployment would.
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
