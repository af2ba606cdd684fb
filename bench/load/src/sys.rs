//! What the tool needs from the operating system beyond `std`: raising the
//! open-file limit (10,000 idle connections need 10,000 descriptors, and the
//! soft limit is often 1,024), shrinking a socket's receive buffer (the slow
//! reader), and reading a server's memory and thread count from
//! `/proc/PID/status` so a result can carry the server's cost at the moment
//! the load is at its height (not after it has been released).

use std::os::fd::AsRawFd;

use serde_json::{json, Value};

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit (or the old one if raising failed, which the caller reports).
pub fn raise_nofile() -> u64 {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
        lim.rlim_cur
    }
}

/// Sets `SO_RCVBUF` (the kernel doubles it and applies its own minimum).
pub fn set_recv_buffer(sock: &impl AsRawFd, bytes: usize) {
    let size = bytes as libc::c_int;
    // SAFETY: setsockopt with a pointer to a live c_int of the stated size.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// A server's footprint from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// Resident set size now (VmRSS), KiB.
    pub rss_kib: u64,
    /// Peak resident set size over the process's life (VmHWM), KiB.
    pub hwm_kib: u64,
    pub threads: u64,
}

impl ProcSample {
    pub fn read(pid: u32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let mut s = ProcSample::default();
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
        // A zombie (exited, not yet reaped) has no memory lines: no sample.
        has_rss.then_some(s)
    }

    /// Keeps the larger of each figure.
    pub fn max(self, other: ProcSample) -> ProcSample {
        ProcSample {
            rss_kib: self.rss_kib.max(other.rss_kib),
            hwm_kib: self.hwm_kib.max(other.hwm_kib),
            threads: self.threads.max(other.threads),
        }
    }
}

/// Samples a server (if a PID was given) and keeps the maxima; `to_json`
/// reports `null` when there was no PID or it could not be read.
#[derive(Debug, Default)]
pub struct ServerWatch {
    pid: Option<u32>,
    peak: Option<ProcSample>,
    last: Option<ProcSample>,
}

impl ServerWatch {
    pub fn new(pid: Option<u32>) -> Self {
        Self {
            pid,
            peak: None,
            last: None,
        }
    }

    pub fn sample(&mut self) {
        if let Some(s) = self.pid.and_then(ProcSample::read) {
            self.peak = Some(self.peak.map_or(s, |p| p.max(s)));
            self.last = Some(s);
        }
    }

    /// `{rss_kib (at the last sample, load still applied), peak_rss_kib
    /// (largest VmRSS sampled), hwm_kib (VmHWM), threads (most sampled)}`.
    pub fn to_json(&self) -> Value {
        match (self.last, self.peak) {
            (Some(last), Some(peak)) => json!({
                "pid": self.pid,
                "rss_kib": last.rss_kib,
                "peak_rss_kib": peak.rss_kib,
                "hwm_kib": peak.hwm_kib,
                "threads": peak.threads,
            }),
            _ => Value::Null,
        }
    }

    pub fn human(&self) -> String {
        match (self.last, self.peak) {
            (Some(last), Some(peak)) => format!(
                "server RSS {:.1} MiB at the end (sampled peak {:.1} MiB, VmHWM {:.1} MiB), {} threads",
                last.rss_kib as f64 / 1024.0,
                peak.rss_kib as f64 / 1024.0,
                peak.hwm_kib as f64 / 1024.0,
                peak.threads
            ),
            _ if self.pid.is_some() => "server /proc status unreadable".into(),
            _ => "no --pid: server footprint not sampled".into(),
        }
    }
}
