//! Turning rounds of raw figures into the report: medians over rounds,
//! min–max and spread, ratios to axum taken per round and then the median
//! (so a noisy round moves both servers, not the ratio), the per-server
//! table, the idle and SSE tables, sutegi's targets from issue 5 as
//! re-based in docs/benchmarks.md, and the one-screen summary.

use std::fmt::Write as _;

use serde_json::Value;

use crate::scenarios::{Cell, ServerRound, Settings, CORES, ECHO, PLAIN};

/// The baseline every ratio is taken against.
pub const BASE: &str = "axum";

pub struct ServerInfo {
    pub name: &'static str,
    pub what: &'static str,
    pub streams: bool,
    pub binary_bytes: Option<u64>,
    /// Clean release build, seconds (full mode), or why not.
    pub build: Result<f64, String>,
}

/// The two hello servers built with the `min-size` profile: sutegi's
/// `examples/hello` and `std-hello` (bench/peers/std_hello), whose ratio
/// is the hello size target. Each is a size in bytes, or why it is missing.
pub struct MinSizes {
    pub hello: Result<u64, String>,
    pub std_hello: Result<u64, String>,
}

impl MinSizes {
    /// `examples/hello` over `std-hello`, when both were measured.
    pub fn ratio(&self) -> Option<f64> {
        match (&self.hello, &self.std_hello) {
            (Ok(a), Ok(b)) if *b > 0 => Some(*a as f64 / *b as f64),
            _ => None,
        }
    }

    /// "493 KiB vs 328 KiB = 1.50×", or what is missing.
    fn describe(&self) -> String {
        match (&self.hello, &self.std_hello, self.ratio()) {
            (Ok(a), Ok(b), Some(r)) => format!("{} vs {} = {r:.2}×", bytes(*a), bytes(*b)),
            (Err(why), _, _) | (_, Err(why), _) => format!("not measured: {why}"),
            _ => "not measured".into(),
        }
    }
}

/// The hello size target (docs/benchmarks.md).
const HELLO_TARGET: f64 = 1.4;

/// The criterion benches `bench/run` reads back, as `group/id`.
pub const MICRO_IDS: [&str; 8] = [
    "router_dispatch/10",
    "router_dispatch/1000",
    "router_dispatch/10000",
    "router_matchit/10",
    "router_matchit/1000",
    "router_matchit/10000",
    "parse/sutegi",
    "parse/httparse",
];

pub struct RunInfo {
    pub quick: bool,
    pub command: String,
    pub started_utc: String,
    pub elapsed_s: f64,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub settings: Settings,
    pub rounds: usize,
    pub servers: Vec<ServerInfo>,
    pub min_sizes: MinSizes,
    /// Medians (ns) of the micro-benchmarks, when they were run.
    pub micro: Option<Result<Vec<(String, f64)>, String>>,
}

pub struct Results<'a> {
    pub info: &'a RunInfo,
    pub rounds: &'a [ServerRound],
}

#[derive(Debug, Clone, Copy)]
pub struct Agg {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Agg {
    fn of(mut v: Vec<f64>) -> Option<Agg> {
        let median = median(&mut v)?;
        Some(Agg {
            median,
            min: v.iter().cloned().fold(f64::INFINITY, f64::min),
            max: v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// (max − min) / median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median * 100.0
        } else {
            0.0
        }
    }
}

pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl<'a> Results<'a> {
    fn names(&self) -> Vec<&'static str> {
        self.info.servers.iter().map(|s| s.name).collect()
    }

    fn server_rounds(&self, server: &str) -> impl Iterator<Item = &'a ServerRound> + '_ {
        let server = server.to_owned();
        self.rounds.iter().filter(move |r| r.server == server)
    }

    fn cell(&self, server: &str, round: usize, label: &str) -> Option<&'a Cell> {
        self.rounds
            .iter()
            .find(|r| r.server == server && r.round == round)?
            .cells
            .iter()
            .find(|c| c.def.label() == label)
    }

    fn cells(&self, server: &str, label: &str) -> Vec<&'a Cell> {
        self.server_rounds(server)
            .filter_map(|r| r.cells.iter().find(|c| c.def.label() == label))
            .collect()
    }

    pub fn rps(&self, server: &str, label: &str) -> Option<Agg> {
        Agg::of(self.cells(server, label).iter().map(|c| c.rps).collect())
    }

    /// Median over rounds of a per-cell figure.
    pub fn cell_median(
        &self,
        server: &str,
        label: &str,
        f: impl Fn(&Cell) -> Option<f64>,
    ) -> Option<f64> {
        median(
            &mut self
                .cells(server, label)
                .into_iter()
                .filter_map(f)
                .collect::<Vec<_>>(),
        )
    }

    fn cell_errors(&self, server: &str, label: &str) -> u64 {
        self.cells(server, label).iter().map(|c| c.errors).sum()
    }

    /// `server`'s req/s over `base`'s, per round, then the median.
    pub fn ratio(&self, server: &str, base: &str, label: &str) -> Option<f64> {
        let mut v: Vec<f64> = (1..=self.info.rounds)
            .filter_map(|r| {
                let (a, b) = (self.cell(server, r, label)?, self.cell(base, r, label)?);
                (b.rps > 0.0).then(|| a.rps / b.rps)
            })
            .collect();
        median(&mut v)
    }

    fn load_values(&self, server: &str, scenario: &str) -> Vec<&'a Value> {
        self.server_rounds(server)
            .filter_map(|r| {
                if scenario == "idle" {
                    r.idle.as_ref()
                } else {
                    r.sse.as_ref()
                }
            })
            .collect()
    }

    /// Median over rounds of a number in the load tool's JSON (by pointer).
    pub fn load_median(&self, server: &str, scenario: &str, ptr: &str) -> Option<f64> {
        median(
            &mut self
                .load_values(server, scenario)
                .iter()
                .filter_map(|v| v.pointer(ptr)?.as_f64())
                .collect::<Vec<_>>(),
        )
    }

    fn load_min(&self, server: &str, scenario: &str, ptr: &str) -> Option<f64> {
        self.load_values(server, scenario)
            .iter()
            .filter_map(|v| v.pointer(ptr)?.as_f64())
            .reduce(f64::min)
    }

    fn load_max(&self, server: &str, scenario: &str, ptr: &str) -> Option<f64> {
        self.load_values(server, scenario)
            .iter()
            .filter_map(|v| v.pointer(ptr)?.as_f64())
            .reduce(f64::max)
    }

    fn load_sum(&self, server: &str, scenario: &str, ptr: &str) -> u64 {
        self.load_values(server, scenario)
            .iter()
            .filter_map(|v| v.pointer(ptr)?.as_u64())
            .sum()
    }

    fn hwm_c256(&self, server: &str) -> Option<f64> {
        median(
            &mut self
                .server_rounds(server)
                .filter_map(|r| r.hwm_c256_kib.map(|k| k as f64))
                .collect::<Vec<_>>(),
        )
    }

    fn hwm_echo(&self, server: &str) -> Option<f64> {
        median(
            &mut self
                .server_rounds(server)
                .filter_map(|r| r.hwm_echo_kib.map(|k| k as f64))
                .collect::<Vec<_>>(),
        )
    }

    fn wrk_threads(&self, server: &str) -> Option<u64> {
        self.server_rounds(server)
            .flat_map(|r| {
                r.cells
                    .iter()
                    .filter(|c| c.def.cpus.is_none())
                    .map(|c| c.threads_max)
            })
            .max()
    }

    fn info(&self, server: &str) -> Option<&ServerInfo> {
        self.info.servers.iter().find(|s| s.name == server)
    }

    pub fn failures(&self) -> Vec<String> {
        let mut v = Vec::new();
        for r in self.rounds {
            for f in &r.failures {
                v.push(format!("{} round {}: {f}", r.server, r.round));
            }
        }
        v
    }

    pub fn errors(&self) -> Vec<String> {
        let mut v = Vec::new();
        for r in self.rounds {
            for e in &r.errors {
                v.push(format!("{} round {}: {e}", r.server, r.round));
            }
        }
        v
    }

    pub fn findings(&self) -> Vec<String> {
        self.rounds
            .iter()
            .flat_map(|r| {
                r.findings
                    .iter()
                    .map(move |f| format!("{} round {}: {f}", r.server, r.round))
            })
            .collect()
    }

    /// Issue 5's targets for sutegi, each with what was measured and
    /// whether it holds (`None`: not measured in this run).
    pub fn targets(&self) -> Vec<(String, String, Option<bool>)> {
        let s = "sutegi";
        let mut t = Vec::new();
        let plain: Vec<String> = PLAIN.iter().map(|c| c.label()).collect();
        let worst_ratio = |base: &str| -> Option<(f64, String)> {
            plain
                .iter()
                .map(|l| self.ratio(s, base, l).map(|r| (r, l.clone())))
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .min_by(|a, b| a.0.total_cmp(&b.0))
        };
        let ratio_target = |base: &str, need: f64| match worst_ratio(base) {
            Some((r, l)) => (format!("lowest {r:.2}× ({l})"), Some(r >= need)),
            None => ("not measured".to_owned(), None),
        };
        let (m, ok) = ratio_target(BASE, 1.0);
        t.push((
            "throughput ≥ 1.0× axum on each of the six plain cells".into(),
            m,
            ok,
        ));
        for peer in ["tiny_http", "rouille"] {
            let (m, ok) = ratio_target(peer, 2.0);
            t.push((format!("throughput ≥ 2× {peer} on each plain cell"), m, ok));
        }
        let cpu_cells = ["plaintext c16", "json c16", "plaintext c256", "json c256"];
        let cpu: Option<Vec<(f64, f64, &str)>> = cpu_cells
            .iter()
            .map(|l| {
                Some((
                    self.cell_median(s, l, |c| c.cpu_us_per_req)?,
                    self.cell_median(BASE, l, |c| c.cpu_us_per_req)?,
                    *l,
                ))
            })
            .collect();
        t.push(match cpu {
            Some(v) => (
                "server CPU per request ≤ axum's on /plaintext and /json".into(),
                v.iter()
                    .map(|(a, b, l)| format!("{l}: {a:.1} vs {b:.1} µs"))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(v.iter().all(|(a, b, _)| a <= b)),
            ),
            None => (
                "server CPU per request ≤ axum's on /plaintext and /json".into(),
                "not measured".into(),
                None,
            ),
        });
        let p99: Option<Vec<(f64, f64, String)>> = PLAIN[3..]
            .iter()
            .map(|c| {
                let l = c.label();
                Some((
                    self.cell_median(s, &l, |c| Some(c.p99_us as f64))?,
                    self.cell_median(BASE, &l, |c| Some(c.p99_us as f64))?,
                    l,
                ))
            })
            .collect();
        t.push(match p99 {
            Some(v) => (
                "p99 at 256 connections ≤ axum's".into(),
                v.iter()
                    .map(|(a, b, l)| format!("{l}: {:.2} vs {:.2} ms", a / 1e3, b / 1e3))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(v.iter().all(|(a, b, _)| a <= b)),
            ),
            None => (
                "p99 at 256 connections ≤ axum's".into(),
                "not measured".into(),
                None,
            ),
        });
        let hwm = self.hwm_c256(s);
        t.push((
            "peak RSS under the c256 load ≤ 8 MiB".into(),
            hwm.map_or("not measured".into(), |k| format!("{:.1} MiB", k / 1024.0)),
            hwm.map(|k| k <= 8.0 * 1024.0),
        ));
        let size = |n: &str| self.info(n).and_then(|i| i.binary_bytes);
        t.push(match (size(s), size(BASE)) {
            (Some(a), Some(b)) => (
                "release binary of examples/api ≤ 0.6× the axum peer's".into(),
                format!("{} vs {} = {:.2}×", bytes(a), bytes(b), a as f64 / b as f64),
                Some(a as f64 <= 0.6 * b as f64),
            ),
            _ => (
                "release binary of examples/api ≤ 0.6× the axum peer's".into(),
                "not measured".into(),
                None,
            ),
        });
        let conns = self.info.settings.idle_conns as f64;
        let kept = self.load_min(s, "idle", "/answered_after_hold");
        let idle_p99 = self.load_median(s, "idle", "/fresh/p99_us");
        let idle_rss = self.load_median(s, "idle", "/server/rss_kib");
        t.push((
            format!(
                "{} idle keep-alive connections: all kept",
                self.info.settings.idle_conns
            ),
            kept.map_or("not measured".into(), |k| {
                format!("{k:.0} kept and still answering")
            }),
            kept.map(|k| k >= conns),
        ));
        t.push((
            "idle: fresh p99 < 2 ms".into(),
            idle_p99.map_or("not measured".into(), |us| format!("{:.3} ms", us / 1e3)),
            idle_p99.map(|us| us < 2000.0),
        ));
        t.push((
            "idle: server RSS < 48 MiB".into(),
            idle_rss.map_or("not measured".into(), |k| format!("{:.1} MiB", k / 1024.0)),
            idle_rss.map(|k| k < 48.0 * 1024.0),
        ));
        let delivered = self.load_min(s, "sse", "/delivered");
        let expected = self.load_min(s, "sse", "/expected");
        let sse_p99 = self.load_median(s, "sse", "/fresh/p99_us");
        let sse_rss = self.load_median(s, "sse", "/server/peak_rss_kib");
        t.push((
            format!(
                "{} SSE clients: every event delivered",
                self.info.settings.sse_clients
            ),
            match (delivered, expected) {
                (Some(d), Some(e)) => format!("{d:.0} / {e:.0} (worst round)"),
                _ => "not measured".into(),
            },
            delivered.zip(expected).map(|(d, e)| d >= e),
        ));
        t.push((
            "SSE: fresh p99 < 5 ms during the streams".into(),
            sse_p99.map_or("not measured".into(), |us| format!("{:.3} ms", us / 1e3)),
            sse_p99.map(|us| us < 5000.0),
        ));
        t.push((
            "SSE: server RSS < 48 MiB".into(),
            sse_rss.map_or("not measured".into(), |k| format!("{:.1} MiB", k / 1024.0)),
            sse_rss.map(|k| k < 48.0 * 1024.0),
        ));
        let build = |n: &str| self.info(n).and_then(|i| i.build.as_ref().ok().copied());
        t.push(match (build(s), build(BASE)) {
            (Some(a), Some(b)) => (
                "clean release build ≤ 0.75× the axum peer's (docs/benchmarks.md; issue: 0.5×)"
                    .into(),
                format!("{a:.1} s vs {b:.1} s = {:.2}×", a / b),
                Some(a <= 0.75 * b),
            ),
            _ => (
                "clean release build ≤ 0.75× the axum peer's (docs/benchmarks.md; issue: 0.5×)"
                    .into(),
                "not measured (full mode only)".into(),
                None,
            ),
        });
        let micro = |id: &str| self.micro(id);
        let router = "router dispatch at 10,000 routes within 2× of 10 routes";
        t.push(
            match (micro("router_dispatch/10"), micro("router_dispatch/10000")) {
                (Some(a), Some(b)) => (
                    router.into(),
                    format!("{a:.0} ns → {b:.0} ns = {:.2}×", b / a),
                    Some(b <= 2.0 * a),
                ),
                _ => (
                    router.into(),
                    "not measured (sutegi-microbench; full mode)".into(),
                    None,
                ),
            },
        );
        let parse = "parse_request ≤ 1.5× httparse alone on a browser request (docs/benchmarks.md)";
        t.push(match (micro("parse/sutegi"), micro("parse/httparse")) {
            (Some(a), Some(b)) => (
                parse.into(),
                format!("{a:.0} ns vs {b:.0} ns = {:.2}×", a / b),
                Some(a <= 1.5 * b),
            ),
            _ => (
                parse.into(),
                "not measured (sutegi-microbench; full mode)".into(),
                None,
            ),
        });
        let sizes = &self.info.min_sizes;
        t.push((
            "hello (min-size profile) ≤ 1.4× a std-only hello (docs/benchmarks.md; issue: ≤ 400 KB)"
                .into(),
            sizes.describe(),
            sizes.ratio().map(|r| r <= HELLO_TARGET),
        ));
        t
    }

    fn micro(&self, id: &str) -> Option<f64> {
        match &self.info.micro {
            Some(Ok(v)) => v.iter().find(|(i, _)| i == id).map(|(_, ns)| *ns),
            _ => None,
        }
    }

    pub fn markdown(&self) -> String {
        let info = self.info;
        let set = &info.settings;
        let names = self.names();
        let mut md = String::new();
        let w = &mut md;
        let _ = writeln!(
            w,
            "# Benchmarks: sutegi beside axum, actix-web, tiny_http and rouille\n"
        );
        let _ = writeln!(
            w,
            "Written by `bench/run`{} on {} ({:.0} min). Every server ran in every round, \
             in rotating order, on this one machine, each on a fresh loopback port; \
             figures are the median over {} round{} unless a column says otherwise. \
             `bench/README.md` explains each figure.\n",
            if info.quick {
                " --quick (a smoke run: short and noisy)"
            } else {
                ""
            },
            info.started_utc,
            info.elapsed_s / 60.0,
            info.rounds,
            if info.rounds == 1 { "" } else { "s" }
        );
        let _ = writeln!(w, "Command: `{}`\n", info.command);
        let _ = writeln!(w, "## Machine and versions\n\n| | |\n| --- | --- |");
        for (k, v) in info.machine.iter().chain(info.versions.iter()) {
            let _ = writeln!(w, "| {k} | {v} |");
        }
        let _ = writeln!(
            w,
            "| settings | wrk {} s per cell, {} threads, 2 s timeout; idle {} conns held {} s; SSE {} clients × {} events every {} ms |\n",
            set.wrk_secs, set.wrk_threads, set.idle_conns, set.idle_hold_s, set.sse_clients, set.sse_events, set.sse_interval_ms
        );
        let _ = writeln!(w, "| server | what | `/events` |\n| --- | --- | --- |");
        for s in &info.servers {
            let _ = writeln!(
                w,
                "| {} | {} | {} |",
                s.name,
                s.what,
                if s.streams { "streams" } else { "—" }
            );
        }

        // Sutegi's targets first: they are what the reader came for.
        if names.contains(&"sutegi") {
            let _ = writeln!(
                w,
                "\n## sutegi's targets (issue 5, re-based in docs/benchmarks.md)\n"
            );
            let _ = writeln!(w, "| target | measured | holds |\n| --- | --- | --- |");
            for (what, measured, ok) in self.targets() {
                let mark = match ok {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                };
                let _ = writeln!(w, "| {what} | {measured} | {mark} |");
            }
        }

        let _ = writeln!(w, "\n## Throughput and latency (wrk)\n");
        let _ = writeln!(
            w,
            "Keep-alive GETs; server and wrk share the machine's 2 cores. \
             `× axum`: the server's req/s over axum's in the same round, median over rounds. \
             CPU: the server's utime+stime over the run ÷ requests.\n"
        );
        self.cell_table(
            w,
            &PLAIN.iter().map(|c| c.label()).collect::<Vec<_>>(),
            false,
        );
        let _ = writeln!(
            w,
            "\n### POST /echo (16 connections; MB/s = body bytes echoed per second, 10^6 B)\n"
        );
        self.cell_table(w, &ECHO.iter().map(|c| c.label()).collect::<Vec<_>>(), true);

        let _ = writeln!(
            w,
            "\n### 1 core vs 2 cores (`taskset`, /plaintext at 256 connections)\n"
        );
        let _ = writeln!(
            w,
            "The server is pinned with `taskset -c 1` (1 core) or `-c 0,1` (2 cores); wrk is not pinned, \
             so with one core the server has a core to itself and wrk the other.\n"
        );
        let _ = writeln!(w, "| server | 1 core req/s | × axum | 2 cores req/s | × axum | 2 / 1 |\n| --- | ---: | ---: | ---: | ---: | ---: |");
        let (l1, l2) = (CORES[0].label(), CORES[1].label());
        for n in &names {
            let (a, b) = (self.rps(n, &l1), self.rps(n, &l2));
            let _ = writeln!(
                w,
                "| {n} | {} | {} | {} | {} | {} |",
                a.map_or("-".into(), |a| rps(a.median)),
                ratio(self.ratio(n, BASE, &l1)),
                b.map_or("-".into(), |b| rps(b.median)),
                ratio(self.ratio(n, BASE, &l2)),
                match (a, b) {
                    (Some(a), Some(b)) if a.median > 0.0 => format!("{:.2}", b.median / a.median),
                    _ => "-".into(),
                }
            );
        }

        let _ = writeln!(w, "\n## Per server\n");
        let _ = writeln!(
            w,
            "Peak RSS is VmHWM from `/proc/PID/status` after the plain cells (16, then 256 connections), \
             and again after the echo cells (a 1 MiB body is buffered whole by every server). \
             Threads: the most seen in `/proc/PID/status` during the wrk cells. \
             Build: `cargo build --release` of the server alone in a fresh target directory.\n"
        );
        let _ = writeln!(
            w,
            "| server | binary | clean build | peak RSS c256, MiB | peak RSS with echo, MiB | threads | CPU µs/req plaintext c16 / c256 | json c16 / c256 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for n in &names {
            let i = self.info(n).expect("known server");
            let cpu = |l: &str| {
                self.cell_median(n, l, |c| c.cpu_us_per_req)
                    .map_or("-".into(), |v| format!("{v:.1}"))
            };
            let _ = writeln!(
                w,
                "| {n} | {} | {} | {} | {} | {} | {} / {} | {} / {} |",
                i.binary_bytes.map_or("-".into(), bytes),
                match &i.build {
                    Ok(s) => format!("{s:.1} s"),
                    Err(why) => why.clone(),
                },
                mib(self.hwm_c256(n)),
                mib(self.hwm_echo(n)),
                self.wrk_threads(n).map_or("-".into(), |t| t.to_string()),
                cpu("plaintext c16"),
                cpu("plaintext c256"),
                cpu("json c16"),
                cpu("json c256"),
            );
        }

        let sizes = &info.min_sizes;
        let _ = writeln!(
            w,
            "\n### Binary size with the `min-size` profile\n\n\
             Both built in this run with the same profile (opt-level \"z\", fat LTO, one codegen unit, \
             stripped, panic = abort): sutegi's smallest program beside the hello server a \
             zero-dependency author writes on std alone, a thread per connection.\n"
        );
        let size = |r: &Result<u64, String>| match r {
            Ok(b) => format!("{} ({b} bytes)", bytes(*b)),
            Err(why) => format!("not measured: {why}"),
        };
        let _ = writeln!(
            w,
            "| program | binary |\n| --- | ---: |\n| sutegi `examples/hello` | {} |\n| std-only hello (`bench/peers/std_hello`) | {} |\n| ratio (target ≤ {HELLO_TARGET}×) | {} |",
            size(&sizes.hello),
            size(&sizes.std_hello),
            sizes.ratio().map_or("-".into(), |r| format!("{r:.2}×")),
        );

        let _ = writeln!(
            w,
            "\n## {} idle keep-alive connections (`sutegi-load idle`)\n",
            set.idle_conns
        );
        let _ = writeln!(
            w,
            "Each connection sends one GET /plaintext, reads the answer, then stays silent for {} s while a \
             fresh connection every 10 ms times one GET (connect to last byte). *Kept*: still open at the end \
             of the hold (worst round); *answering*: of those, how many answered a second request; RSS and \
             threads sampled with every connection still held.\n",
            set.idle_hold_s
        );
        let _ = writeln!(
            w,
            "| server | answered | kept | answering | closed by server (first after) | fresh p50 ms | fresh p99 ms | RSS held, MiB | threads | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for n in &names {
            if self.load_values(n, "idle").is_empty() {
                let _ = writeln!(w, "| {n} | not run | | | | | | | | |");
                continue;
            }
            let first_close = self.load_min(n, "idle", "/first_close_after_s");
            let _ = writeln!(
                w,
                "| {n} | {} | {} | {} | {}{} | {} | {} | {} | {} | {} |",
                num(self.load_min(n, "idle", "/answered")),
                num(self.load_min(n, "idle", "/kept")),
                num(self.load_min(n, "idle", "/answered_after_hold")),
                num(self.load_max(n, "idle", "/closed_by_server")),
                first_close.map_or(String::new(), |s| format!(" ({s:.1} s)")),
                ms(self.load_median(n, "idle", "/fresh/p50_us")),
                ms(self.load_median(n, "idle", "/fresh/p99_us")),
                mib(self.load_median(n, "idle", "/server/rss_kib")),
                num(self.load_max(n, "idle", "/server/threads")),
                self.load_sum(n, "idle", "/errors"),
            );
        }

        let _ = writeln!(
            w,
            "\n## {} SSE clients × {} events every {} ms (`sutegi-load sse`)\n",
            set.sse_clients, set.sse_events, set.sse_interval_ms
        );
        let _ = writeln!(
            w,
            "Every frame parsed; *delivered* counts events whose id came in order (worst round). \
             Stream time: connect to the closing chunk, p99 over clients, against the ideal {} ms. \
             Fresh: one new connection every 10 ms, timed once every stream has delivered its \
             first event; *while connecting*: the same probe during the clients' connect storm \
             (every stream starting at once), reported apart.\n",
            (set.sse_events.saturating_sub(1) as u64) * set.sse_interval_ms
        );
        let _ = writeln!(
            w,
            "| server | delivered / expected | id errors | stream p99 ms | fresh p50 ms | fresh p99 ms | p99 while connecting, ms | peak RSS, MiB | threads | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for n in &names {
            if self.load_values(n, "sse").is_empty() {
                let streams = self.info(n).is_some_and(|i| i.streams);
                let _ = writeln!(
                    w,
                    "| {n} | {} | | | | | | | | |",
                    if streams { "not run" } else { "cannot stream" }
                );
                continue;
            }
            let _ = writeln!(
                w,
                "| {n} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                num(self.load_min(n, "sse", "/delivered")),
                num(self.load_min(n, "sse", "/expected")),
                self.load_sum(n, "sse", "/id_errors"),
                ms(self.load_median(n, "sse", "/stream_time/p99_us")),
                ms(self.load_median(n, "sse", "/fresh/p50_us")),
                ms(self.load_median(n, "sse", "/fresh/p99_us")),
                ms(self.load_median(n, "sse", "/fresh_connecting/p99_us")),
                mib(self.load_median(n, "sse", "/server/peak_rss_kib")),
                num(self.load_max(n, "sse", "/server/threads")),
                self.load_sum(n, "sse", "/errors"),
            );
        }

        let _ = writeln!(
            w,
            "\n## Micro-benchmarks (`sutegi-microbench`, criterion)\n"
        );
        match &info.micro {
            None => {
                let _ = writeln!(
                    w,
                    "Not run (`--quick` or `--no-micro`): `cargo bench` in `bench/micro/`."
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(w, "Failed: {}", e.replace('\n', " "));
            }
            Some(Ok(_)) => {
                let _ = writeln!(
                    w,
                    "Median time per operation (criterion, 1 s warm-up, 3 s measurement; one pass per round, the median of the passes). *dispatch*: \
                     `RouterHandler::handle` on `GET /r{{n/2}}/items/42` in a router of n `GET /r{{i}}/items/{{id}}` \
                     routes (match, capture, a handler returning \"ok\" and its response, the request's drop; requests are \
                     parsed outside the timing, 7 ahead of each timed batch, so their memory is reused as a \
                     server thread's is; the response's drop is not timed); *matchit*: `at()` on the same table in matchit alone. *parse*: a \
                     430-byte Chromium `fetch` request with 13 headers.\n"
                );
                let _ = writeln!(
                    w,
                    "| routes | sutegi dispatch | matchit alone |\n| ---: | ---: | ---: |"
                );
                for n in ["10", "1000", "10000"] {
                    let f = |g: &str| {
                        self.micro(&format!("{g}/{n}"))
                            .map_or("-".into(), |ns| format!("{ns:.0} ns"))
                    };
                    let _ = writeln!(
                        w,
                        "| {n} | {} | {} |",
                        f("router_dispatch"),
                        f("router_matchit")
                    );
                }
                let _ = writeln!(
                    w,
                    "\n| parser | ns per request |\n| --- | ---: |\n| `sutegi::parse_request` (into a `Request`) | {} |\n| `httparse` alone (into 32 header slots) | {} |",
                    self.micro("parse/sutegi").map_or("-".into(), |ns| format!("{ns:.0}")),
                    self.micro("parse/httparse").map_or("-".into(), |ns| format!("{ns:.0}")),
                );
            }
        }

        let failures = self.failures();
        let errors = self.errors();
        let _ = writeln!(w, "\n## Failures and errors\n");
        if failures.is_empty() && errors.is_empty() {
            let _ = writeln!(
                w,
                "None: every server started, and no scenario saw an error."
            );
        }
        for f in failures {
            let _ = writeln!(w, "- failure: {}", f.replace('\n', " "));
        }
        if !self.findings().is_empty() && self.failures().is_empty() && self.errors().is_empty() {
            let _ = writeln!(w, "(The findings below are not failures.)");
        }
        for e in errors {
            let _ = writeln!(w, "- error: {e}");
        }
        let findings = self.findings();
        if !findings.is_empty() {
            let _ = writeln!(
                w,
                "\nFindings — a peer's errors in the idle and SSE scenarios, reported but not failing the run \
                 (a thread-per-connection server cannot hold 10,000 sockets on this machine, whose pid_max is \
                 32,768 threads for everything):\n"
            );
            for f in findings {
                let _ = writeln!(w, "- {}", f.replace('\n', " "));
            }
        }
        let notes: Vec<String> = self
            .rounds
            .iter()
            .flat_map(|r| {
                r.notes
                    .iter()
                    .map(move |n| format!("{} round {}: {n}", r.server, r.round))
            })
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(w, "\nNotes:\n");
            for n in notes {
                let _ = writeln!(w, "- {n}");
            }
        }
        md
    }

    fn cell_table(&self, w: &mut String, labels: &[String], echo: bool) {
        let _ = writeln!(
            w,
            "| cell | server | req/s | min–max | spread | {}p50 ms | p99 ms | errors | × axum | CPU µs/req |\n| --- | --- | ---: | ---: | ---: | {}---: | ---: | ---: | ---: | ---: |",
            if echo { "MB/s | " } else { "" },
            if echo { "---: | " } else { "" }
        );
        for label in labels {
            for n in self.names() {
                let Some(a) = self.rps(n, label) else {
                    let _ = writeln!(
                        w,
                        "| {label} | {n} | not run | | | {}| | | | |",
                        if echo { "| " } else { "" }
                    );
                    continue;
                };
                let _ = writeln!(
                    w,
                    "| {label} | {n} | {} | {}–{} | {:.0}% | {}{} | {} | {} | {} | {} |",
                    rps(a.median),
                    rps(a.min),
                    rps(a.max),
                    a.spread_pct(),
                    if echo {
                        format!(
                            "{} | ",
                            self.cell_median(n, label, |c| c.mb_s)
                                .map_or("-".into(), mbs)
                        )
                    } else {
                        String::new()
                    },
                    ms(self.cell_median(n, label, |c| Some(c.p50_us as f64))),
                    ms(self.cell_median(n, label, |c| Some(c.p99_us as f64))),
                    self.cell_errors(n, label),
                    ratio(self.ratio(n, BASE, label)),
                    self.cell_median(n, label, |c| c.cpu_us_per_req)
                        .map_or("-".into(), |v| format!("{v:.1}")),
                );
            }
        }
    }

    /// The one-screen summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let names = self.names();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\n=== summary: median of {} round(s); (×) = req/s ratio to axum, per round then median ===",
            self.info.rounds
        );
        let _ = write!(s, "{:<23}", "");
        for n in &names {
            let _ = write!(s, "{n:>16}");
        }
        let _ = writeln!(s);
        let row = |s: &mut String, label: &str, f: &dyn Fn(&str) -> String| {
            let _ = write!(s, "{label:<23}");
            for n in &names {
                let _ = write!(s, "{:>16}", f(n));
            }
            let _ = writeln!(s);
        };
        for c in PLAIN.iter().chain(CORES.iter()) {
            let l = c.label();
            row(
                &mut s,
                &l,
                &|n| match (self.rps(n, &l), self.ratio(n, BASE, &l)) {
                    (Some(a), Some(r)) => format!("{} ({r:.2})", short(a.median)),
                    (Some(a), None) => short(a.median),
                    _ => "-".into(),
                },
            );
        }
        for c in ECHO {
            let l = c.label();
            row(&mut s, &format!("{l} MB/s"), &|n| {
                self.cell_median(n, &l, |c| c.mb_s).map_or("-".into(), mbs)
            });
        }
        row(&mut s, "p99 plaintext c256", &|n| {
            ms(self.cell_median(n, "plaintext c256", |c| Some(c.p99_us as f64))) + " ms"
        });
        row(&mut s, "CPU µs/req pt c256", &|n| {
            self.cell_median(n, "plaintext c256", |c| c.cpu_us_per_req)
                .map_or("-".into(), |v| format!("{v:.1}"))
        });
        row(&mut s, "peak RSS c256", &|n| mib(self.hwm_c256(n)) + " MiB");
        row(&mut s, "binary", &|n| {
            self.info(n)
                .and_then(|i| i.binary_bytes)
                .map_or("-".into(), bytes)
        });
        row(
            &mut s,
            "clean build",
            &|n| match self.info(n).map(|i| &i.build) {
                Some(Ok(secs)) => format!("{secs:.0} s"),
                _ => "-".into(),
            },
        );
        row(&mut s, "idle kept/answer", &|n| {
            format!(
                "{}/{}",
                num(self.load_min(n, "idle", "/kept")),
                num(self.load_min(n, "idle", "/answered_after_hold"))
            )
        });
        row(&mut s, "idle fresh p99", &|n| {
            ms(self.load_median(n, "idle", "/fresh/p99_us")) + " ms"
        });
        row(&mut s, "idle RSS", &|n| {
            mib(self.load_median(n, "idle", "/server/rss_kib")) + " MiB"
        });
        row(&mut s, "sse delivered", &|n| match (
            self.load_min(n, "sse", "/delivered"),
            self.load_min(n, "sse", "/expected"),
        ) {
            (Some(d), Some(e)) => format!("{d:.0}/{e:.0}"),
            _ => "-".into(),
        });
        row(&mut s, "sse fresh p99", &|n| {
            ms(self.load_median(n, "sse", "/fresh/p99_us")) + " ms"
        });
        row(&mut s, "sse peak RSS", &|n| {
            mib(self.load_median(n, "sse", "/server/peak_rss_kib")) + " MiB"
        });
        let _ = writeln!(
            s,
            "hello (min-size profile) vs std-only hello: {}",
            self.info.min_sizes.describe()
        );
        if let Some(Ok(_)) = &self.info.micro {
            let f = |id: &str| self.micro(id).map_or("-".into(), |ns| format!("{ns:.0}"));
            let _ = writeln!(
                s,
                "micro (ns): dispatch 10/1k/10k routes {}/{}/{} (matchit alone {}/{}/{}); parse sutegi {} vs httparse {}",
                f("router_dispatch/10"), f("router_dispatch/1000"), f("router_dispatch/10000"),
                f("router_matchit/10"), f("router_matchit/1000"), f("router_matchit/10000"),
                f("parse/sutegi"), f("parse/httparse")
            );
        }
        if names.contains(&"sutegi") {
            let targets = self.targets();
            let measured: Vec<_> = targets.iter().filter(|t| t.2.is_some()).collect();
            let met = measured.iter().filter(|t| t.2 == Some(true)).count();
            let _ = writeln!(
                s,
                "sutegi targets met: {met} of {} measured",
                measured.len()
            );
            for (what, m, ok) in &targets {
                if *ok == Some(false) {
                    let _ = writeln!(s, "  missed: {what}: {m}");
                }
            }
        }
        s
    }
}

fn rps(v: f64) -> String {
    let n = v.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

fn mbs(m: f64) -> String {
    if m < 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.0}")
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}"))
}

fn ms(us: Option<f64>) -> String {
    us.map_or("-".into(), |us| format!("{:.2}", us / 1000.0))
}

fn mib(kib: Option<f64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1}", k / 1024.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

pub fn bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.2} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", b as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_grouping() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        assert_eq!(rps(1234567.4), "1,234,567");
        assert_eq!(rps(999.0), "999");
        let a = Agg::of(vec![90.0, 100.0, 110.0]).unwrap();
        assert_eq!(a.median, 100.0);
        assert!((a.spread_pct() - 20.0).abs() < 1e-9);
    }
}
