//! What the end-to-end suites share: building `examples/api` once per test
//! binary, starting it on a free loopback port (one process per test, so
//! state such as user ids starts fresh), and speaking raw HTTP/1.1 to it.
//! The raw client keeps a transcript of every byte sent and received, so a
//! failure shows both; every read has a timeout and every wait a bound.
//! Clients with opinions of their own (ureq, curl, Python) are the suites'
//! business, apart from finding the external programs.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one read may block before a response counts as missing. Long
/// enough for a loaded 2-core machine; a passing test never waits for it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the server gets to close a connection it should close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the server gets to print its address after it was spawned.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root (the parent of this package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits inside the workspace")
        .to_path_buf()
}

/// The target directory the inner `cargo build` writes to.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        // Relative to where cargo runs, which is the workspace root below.
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The `examples/api` binary, built once per test binary. Every test that
/// needs it gets the same answer, the build's output included on failure.
pub fn api_binary() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(build_api)
        .clone()
        .unwrap_or_else(|message| panic!("{message}"))
}

fn build_api() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(&cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "-p",
            "sutegi-examples",
            "--example",
            "api",
            "--message-format=json",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run `{cargo} build`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`{cargo} build -p sutegi-examples --example api` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // Cargo names the executable it built; the target directory is the
    // fallback if it ever does not.
    let named = stdout.lines().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        if message["reason"] != "compiler-artifact" || message["target"]["name"] != "api" {
            return None;
        }
        message["executable"].as_str().map(PathBuf::from)
    });
    let binary = named.unwrap_or_else(|| {
        target_dir()
            .join("debug/examples")
            .join(format!("api{}", std::env::consts::EXE_SUFFIX))
    });
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "the build succeeded but {} is not there",
            binary.display()
        ))
    }
}

/// A running `examples/api`, killed (and waited for) when dropped.
pub struct Api {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
    /// Kept open so a late line on stdout never meets a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Api {
    /// Starts the API on `127.0.0.1:0`.
    pub fn start() -> Api {
        Api::start_with(&["127.0.0.1:0"], &[])
    }

    /// Starts the API with these arguments and environment variables.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Api {
        let (mut child, stderr) = spawn(args, env);
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // The first line arrives on a thread so the wait for it is bounded.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line);
            let _ = tx.send((read.map(|_| line), reader));
        });
        let (line, stdout) = match rx.recv_timeout(START_TIMEOUT) {
            Ok((Ok(line), reader)) => (line, reader),
            Ok((Err(e), _)) => {
                fail_start(&mut child, &stderr, &format!("reading stdout failed: {e}"))
            }
            Err(_) => fail_start(
                &mut child,
                &stderr,
                &format!("no line on stdout within {START_TIMEOUT:?}"),
            ),
        };
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                fail_start(
                    &mut child,
                    &stderr,
                    &format!("expected `listening on http://ADDR`, got {line:?}"),
                )
            });
        Api {
            child,
            addr,
            stderr,
            _stdout: stdout,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` followed by `target`.
    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whatever the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// A fresh raw connection.
    pub fn connect(&self) -> Conn {
        Conn::open(self.addr)
    }

    /// Sends `bytes` on a fresh connection and reads one response (to a
    /// HEAD request when `bytes` starts with `HEAD `), then watches whether
    /// the server closes the connection within [`CLOSE_TIMEOUT`].
    pub fn exchange(&self, bytes: &[u8]) -> Exchange {
        let mut conn = self.connect();
        let send_error = conn.send(bytes).err();
        let response = if bytes.starts_with(b"HEAD ") {
            conn.read_head_response()
        } else {
            conn.read_response()
        };
        let closed = match &response {
            Ok(_) => conn.closes_within(CLOSE_TIMEOUT),
            Err(_) => Ok(true),
        };
        Exchange {
            response,
            closed,
            send_error,
            transcript: conn.transcript(),
        }
    }

    /// `GET target` on a fresh connection; panics (with the transcript) if
    /// no well-formed response comes back.
    pub fn get(&self, target: &str) -> Response {
        let mut conn = self.connect();
        conn.send_ok(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        conn.response()
    }

    /// Panics unless the server answers `GET /plaintext` normally, on a
    /// fresh connection; `after` says what came before, for the message.
    pub fn assert_alive(&self, after: &str) {
        let mut conn = self.connect();
        let answer = conn
            .send(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            .and_then(|()| conn.read_response());
        match answer {
            Ok(r) if r.status == 200 && r.body == b"Hello, World!" => {}
            _ => panic!(
                "the server did not answer a normal request after {after}\n{}",
                conn.transcript()
            ),
        }
    }

    /// Panics if the process has exited; `after` says what came before.
    pub fn assert_running(&mut self, after: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "the server exited ({status}) after {after}; stderr:\n{}",
                self.stderr()
            );
        }
    }

    /// Sends SIGTERM and waits (at most `bound`) for the process to exit.
    /// Send it once: a repeated signal is the user's "stop now" (a second
    /// SIGINT quits without draining).
    pub fn terminate(&mut self, bound: Duration) -> Option<ExitStatus> {
        signal(self.child.id(), "TERM");
        self.wait_exit(bound)
    }

    /// Waits (at most `bound`) for the process to exit by itself.
    pub fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        wait_bounded(&mut self.child, bound)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = wait_bounded(&mut self.child, Duration::from_secs(10));
        }
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// Spawns the API binary; stderr goes to a file (read on failure).
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> (Child, PathBuf) {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let binary = api_binary();
    let stderr = std::env::temp_dir().join(format!(
        "sutegi-api-{}-{}.stderr",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::File::create(&stderr).expect("a temporary file for the server's stderr");
    let mut command = Command::new(&binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(file);
    // The suites decide the environment; the caller's SUTEGI_* must not leak in.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SUTEGI_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
    (child, stderr)
}

fn fail_start(child: &mut Child, stderr: &Path, why: &str) -> ! {
    let _ = child.kill();
    let status = wait_bounded(child, Duration::from_secs(10));
    let text = std::fs::read_to_string(stderr).unwrap_or_default();
    panic!("examples/api did not start: {why}\nexit status: {status:?}\nstderr:\n{text}");
}

/// Sends a signal through the `kill` command (std has no signal API).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("could not run `kill -{name} {pid}`: {e}"));
    assert!(status.success(), "`kill -{name} {pid}` failed: {status}");
}

/// Waits for `child` to exit, polling, for at most `bound`.
pub fn wait_bounded(child: &mut Child, bound: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + bound;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// One response read off the wire.
#[derive(Clone, Debug)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The chunks of a chunked body, as framed (`None` otherwise).
    pub chunks: Option<Vec<Vec<u8>>>,
    /// Whether the body was delimited by the server closing the connection.
    pub close_delimited: bool,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {:?}", self.text()))
    }

    /// Whether the response says the connection closes after it.
    pub fn says_close(&self) -> bool {
        self.header_all("connection")
            .iter()
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// What [`Api::exchange`] saw.
pub struct Exchange {
    pub response: Result<Response, String>,
    /// Whether the server closed the connection after the response.
    pub closed: Result<bool, String>,
    /// A write that failed (the server may close before taking everything).
    pub send_error: Option<String>,
    pub transcript: String,
}

impl Exchange {
    /// The response's status, 0 when none came.
    pub fn status(&self) -> u16 {
        self.response.as_ref().map_or(0, |r| r.status)
    }

    /// `None` when the server answered `status` and closed the connection;
    /// otherwise what went wrong, with the transcript.
    pub fn refused_with(&self, status: u16) -> Option<String> {
        let mut problems = Vec::new();
        match &self.response {
            Err(e) => problems.push(format!("no response: {e}")),
            Ok(r) if r.status != status => {
                problems.push(format!("status {} instead of {status}", r.status))
            }
            Ok(_) => {}
        }
        match &self.closed {
            Ok(true) => {}
            Ok(false) => problems.push(format!(
                "the connection stayed open {CLOSE_TIMEOUT:?} after the response"
            )),
            Err(e) => problems.push(e.clone()),
        }
        if problems.is_empty() {
            None
        } else {
            Some(format!("{}\n{}", problems.join("; "), self.transcript))
        }
    }
}

/// A raw client connection that records what went each way.
pub struct Conn {
    stream: TcpStream,
    /// Received and not yet parsed.
    pending: Vec<u8>,
    sent: Vec<u8>,
    received: Vec<u8>,
    /// The peer closed (EOF or reset).
    eof: bool,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(READ_TIMEOUT))
            .expect("write timeout");
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            pending: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            eof: false,
        }
    }

    /// Writes `bytes` whole; the error (with transcript) if the server
    /// refused them.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.sent.extend_from_slice(bytes);
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Like [`Conn::send`], but panics on a write error.
    pub fn send_ok(&mut self, bytes: &[u8]) {
        if let Err(e) = self.send(bytes) {
            panic!("{e}\n{}", self.transcript());
        }
    }

    /// Half-closes the client side (the server sees EOF).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("read timeout");
    }

    /// What was sent and received so far, escaped and shortened.
    pub fn transcript(&self) -> String {
        format!(
            "--- sent ({} bytes):\n{}\n--- received ({} bytes):\n{}\n---",
            self.sent.len(),
            shown(&self.sent),
            self.received.len(),
            shown(&self.received)
        )
    }

    /// Reads more bytes into `pending`; `Ok(false)` on EOF.
    fn fill(&mut self) -> Result<bool, String> {
        if self.eof {
            return Ok(false);
        }
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    self.received.extend_from_slice(&buf[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(format!("nothing more arrived within {READ_TIMEOUT:?}"));
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    self.eof = true;
                    return Ok(false);
                }
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    }

    /// Takes one CRLF-terminated line (without the CRLF) off `pending`.
    fn line(&mut self, what: &str) -> Result<Vec<u8>, String> {
        for _ in 0..100_000 {
            if let Some(at) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = self.pending[..at].to_vec();
                self.pending.drain(..at + 2);
                return Ok(line);
            }
            if self.pending.len() > 64 * 1024 {
                return Err(format!("{what}: a line longer than 64 KiB"));
            }
            if !self.fill()? {
                return Err(format!(
                    "{what}: the connection closed before the line ended"
                ));
            }
        }
        Err(format!("{what}: too many reads"))
    }

    /// Takes exactly `n` bytes off `pending`.
    fn exact(&mut self, n: usize, what: &str) -> Result<Vec<u8>, String> {
        while self.pending.len() < n {
            if !self.fill()? {
                return Err(format!(
                    "{what}: the connection closed after {} of {n} bytes",
                    self.pending.len()
                ));
            }
        }
        Ok(self.pending.drain(..n).collect())
    }

    fn read_head(&mut self) -> Result<Response, String> {
        let status_line = self.line("status line")?;
        let status_line = String::from_utf8(status_line)
            .map_err(|_| "the status line is not UTF-8".to_owned())?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("").to_owned();
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| (100..1000).contains(s));
        let (Some(status), true) = (status, version == "HTTP/1.1" || version == "HTTP/1.0") else {
            return Err(format!("malformed status line {status_line:?}"));
        };
        let reason = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        for _ in 0..200 {
            let line = self.line("header line")?;
            if line.is_empty() {
                return Ok(Response {
                    version,
                    status,
                    reason,
                    headers,
                    body: Vec::new(),
                    chunks: None,
                    close_delimited: false,
                });
            }
            let line =
                String::from_utf8(line).map_err(|_| "a header line is not UTF-8".to_owned())?;
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("malformed header line {line:?}"));
            };
            if name.is_empty() || name.contains([' ', '\t']) {
                return Err(format!("malformed header name in {line:?}"));
            }
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        Err("more than 200 header lines".to_owned())
    }

    /// Reads one response, its body framed as RFC 9112 §6.3 says for a
    /// request that was not HEAD. A 1xx comes back on its own.
    pub fn read_response(&mut self) -> Result<Response, String> {
        self.read_framed(false)
    }

    /// Reads the response to a HEAD request (never a body).
    pub fn read_head_response(&mut self) -> Result<Response, String> {
        self.read_framed(true)
    }

    fn read_framed(&mut self, head_request: bool) -> Result<Response, String> {
        let mut response = self.read_head()?;
        let lengths = response.header_all("content-length");
        let chunked = response
            .header_all("transfer-encoding")
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case("chunked"));
        if head_request || response.status < 200 || response.status == 204 || response.status == 304
        {
            return Ok(response);
        }
        if chunked {
            if !lengths.is_empty() {
                return Err("both Content-Length and Transfer-Encoding in a response".to_owned());
            }
            let mut chunks = Vec::new();
            for _ in 0..1_000_000 {
                let size_line = self.line("chunk size line")?;
                let size_text = String::from_utf8_lossy(&size_line).into_owned();
                let digits = size_text.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(digits, 16)
                    .map_err(|_| format!("bad chunk size line {size_text:?}"))?;
                if size == 0 {
                    // Trailers, then the empty line.
                    for _ in 0..100 {
                        if self.line("trailer")?.is_empty() {
                            response.body = chunks.concat();
                            response.chunks = Some(chunks);
                            return Ok(response);
                        }
                    }
                    return Err("too many trailer lines".to_owned());
                }
                let data = self.exact(size, "chunk data")?;
                if self.exact(2, "chunk data end")? != b"\r\n" {
                    return Err("chunk data not followed by CRLF".to_owned());
                }
                chunks.push(data);
            }
            return Err("too many chunks".to_owned());
        }
        if let Some(first) = lengths.first() {
            if lengths.len() > 1 {
                return Err("more than one Content-Length in a response".to_owned());
            }
            let length: usize = first
                .parse()
                .map_err(|_| format!("bad Content-Length {first:?}"))?;
            response.body = self.exact(length, "body")?;
            return Ok(response);
        }
        // Delimited by close.
        let deadline = Instant::now() + READ_TIMEOUT * 2;
        while self.fill()? {
            if Instant::now() > deadline {
                return Err("a close-delimited body did not end".to_owned());
            }
        }
        response.body = std::mem::take(&mut self.pending);
        response.close_delimited = true;
        Ok(response)
    }

    /// Like [`Conn::read_response`], but panics with the transcript.
    pub fn response(&mut self) -> Response {
        self.read_response()
            .unwrap_or_else(|e| panic!("{e}\n{}", self.transcript()))
    }

    /// Like [`Conn::read_head_response`], but panics with the transcript.
    pub fn head_response(&mut self) -> Response {
        self.read_head_response()
            .unwrap_or_else(|e| panic!("{e}\n{}", self.transcript()))
    }

    /// Reads until at least `n` bytes past what was parsed are here, or
    /// `bound` passes; returns them without consuming them.
    pub fn peek_raw(&mut self, n: usize, bound: Duration) -> Vec<u8> {
        let deadline = Instant::now() + bound;
        while self.pending.len() < n && Instant::now() < deadline && !self.eof {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let _ = self.stream.set_read_timeout(Some(left));
            if self.fill().is_err() {
                break;
            }
        }
        let _ = self.stream.set_read_timeout(Some(READ_TIMEOUT));
        self.pending.clone()
    }

    /// Whether the server closes the connection within `bound` without
    /// sending anything more. Extra bytes are an error.
    pub fn closes_within(&mut self, bound: Duration) -> Result<bool, String> {
        if !self.pending.is_empty() {
            return Err(format!(
                "unexpected bytes after the response: {}",
                shown(&self.pending)
            ));
        }
        let _ = self.stream.set_read_timeout(Some(bound));
        let result = match self.fill() {
            Ok(false) => Ok(true),
            Ok(true) => Err(format!(
                "unexpected bytes after the response: {}",
                shown(&self.pending)
            )),
            Err(_) => Ok(false),
        };
        let _ = self.stream.set_read_timeout(Some(READ_TIMEOUT));
        result
    }

    /// Panics unless the server closes the connection within [`CLOSE_TIMEOUT`].
    pub fn assert_closed(&mut self, after: &str) {
        match self.closes_within(CLOSE_TIMEOUT) {
            Ok(true) => {}
            Ok(false) => panic!(
                "the connection stayed open after {after}\n{}",
                self.transcript()
            ),
            Err(e) => panic!("{e} (after {after})\n{}", self.transcript()),
        }
    }

    /// Panics if the server closes the connection (or sends anything)
    /// within `wait`.
    pub fn assert_open(&mut self, wait: Duration, after: &str) {
        match self.closes_within(wait) {
            Ok(false) => {}
            Ok(true) => panic!(
                "the server closed the connection after {after}\n{}",
                self.transcript()
            ),
            Err(e) => panic!("{e} (after {after})\n{}", self.transcript()),
        }
    }
}

/// Bytes for a message: printable ASCII as is, the rest escaped, the middle
/// of anything long left out.
pub fn shown(bytes: &[u8]) -> String {
    const KEEP: usize = 1500;
    let escape = |part: &[u8]| {
        let mut out = String::new();
        for &b in part {
            match b {
                b'\n' => out.push_str("\\n\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                b'\\' => out.push_str("\\\\"),
                0x20..=0x7e => out.push(b as char),
                _ => {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
        out
    };
    if bytes.len() <= 2 * KEEP {
        escape(bytes)
    } else {
        format!(
            "{}\n[... {} bytes left out ...]\n{}",
            escape(&bytes[..KEEP]),
            bytes.len() - 2 * KEEP,
            escape(&bytes[bytes.len() - KEEP..])
        )
    }
}

/// The RFC 9110 reason phrase the error bodies carry for `status`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// `None` when `body` (with `content_type`) is the one error shape,
/// `{"error":"<reason phrase>","message":"..."}` as `application/json`,
/// whose message mentions `naming` (when given); otherwise what is wrong.
pub fn error_shape_problem(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    naming: Option<&str>,
) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    if content_type != Some("application/json") {
        return Some(format!(
            "Content-Type {content_type:?} instead of application/json (body {text:?})"
        ));
    }
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Some(format!("the error body is not JSON ({e}): {text:?}")),
    };
    let Some(object) = value.as_object() else {
        return Some(format!("the error body is not an object: {text}"));
    };
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["error", "message"] {
        return Some(format!(
            "the error body has keys {keys:?}, not error and message: {text}"
        ));
    }
    if object["error"] != reason_phrase(status) {
        return Some(format!(
            "`error` is {} for a {status}, not {:?}",
            object["error"],
            reason_phrase(status)
        ));
    }
    let Some(message) = object["message"].as_str().filter(|m| !m.is_empty()) else {
        return Some(format!("`message` is not a non-empty string: {text}"));
    };
    if let Some(name) = naming {
        if !message.contains(&format!("`{name}`")) && !message.contains(name) {
            return Some(format!("the message does not name `{name}`: {message:?}"));
        }
    }
    None
}

/// Panics unless `response` is `status` with the one error shape.
pub fn assert_error(response: &Response, status: u16, naming: Option<&str>, context: &str) {
    assert_eq!(
        response.status,
        status,
        "{context}: status (body {:?})",
        response.text()
    );
    if let Some(problem) = error_shape_problem(
        status,
        response.header("content-type"),
        &response.body,
        naming,
    ) {
        panic!("{context}: {problem}");
    }
}

/// Finds an external client program the suites drive the API with
/// (`curl`, `python3`). A missing one fails the test, naming the package to
/// install: the README's test command needs them, and `.ci/run` installs
/// them before it runs the tests, so no test passes without running.
pub fn required_tool(program: &str, package: &str) -> PathBuf {
    find_on_path(program).unwrap_or_else(|| {
        panic!(
            "`{program}` is not installed, and this test drives the API with it: \
             install it (`apt-get install -y {package}`, or run `.ci/run`, which does)"
        )
    })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs `command` for at most `bound`, returning (status, stdout, stderr);
/// a command still running then is killed and reported.
pub fn run_bounded(mut command: Command, bound: Duration) -> (ExitStatus, Vec<u8>, Vec<u8>) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let status = match wait_bounded(&mut child, bound) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = wait_bounded(&mut child, Duration::from_secs(10));
            panic!("{command:?} ran longer than {bound:?}");
        }
    };
    (
        status,
        out_thread.join().unwrap_or_default(),
        err_thread.join().unwrap_or_default(),
    )
}

/// A server on a thread of the test, under `limits` with two seats, until
/// dropped (then it drains and the thread is joined).
pub struct Running {
    pub addr: SocketAddr,
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn start(
        limits: sutegi::Limits,
        app: impl sutegi::IntoHandler + Send + 'static,
    ) -> Running {
        let server = sutegi::Server::bind("127.0.0.1:0")
            .unwrap()
            .limits(limits)
            .workers(2);
        let addr = server.local_addr().unwrap();
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = std::sync::Arc::clone(&flag);
        let thread = std::thread::spawn(move || server.serve_until(app, &stop));
        Running {
            addr,
            flag,
            thread: Some(thread),
        }
    }

    /// A raw connection to it.
    pub fn connect(&self) -> Conn {
        Conn::open(self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
