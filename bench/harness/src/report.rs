//! Turning rounds of raw figures into the report: medians over rounds,
//! ratios to a peer taken round by round from paired runs (the two servers
//! ran seconds apart in the same round) and then the median with the
//! min–max over rounds, the verdict on each of sutegi's targets (met only
//! when the spread's lower end clears it, "within noise" when only the
//! median does), the per-layout tables, the idle, SSE and slow-handler
//! tables, the figures a run should have produced and did not, and the
//! one-screen summary.

use std::fmt::Write as _;

use serde_json::Value;

use crate::scenarios::{Cell, Layout, ServerRound, Settings, ECHO, PLAIN, WS, WS_MESSAGE_BYTES};

/// The baseline every ratio is taken against.
pub const BASE: &str = "axum";

pub struct ServerInfo {
    pub name: &'static str,
    pub what: &'static str,
    pub streams: bool,
    /// Serves `GET /ws/echo` (the WebSocket cells and held sockets).
    pub websocket: bool,
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

/// The hello size target.
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

/// Each micro-benchmark's id with its criterion median (ns) of every pass.
pub type MicroPasses = Vec<(String, Vec<f64>)>;

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
    /// Each micro-benchmark's criterion median (ns), one per pass, when
    /// they were run.
    pub micro: Option<Result<MicroPasses, String>>,
}

pub struct Results<'a> {
    pub info: &'a RunInfo,
    pub rounds: &'a [ServerRound],
}

/// A figure over rounds (or passes): the median and the min–max.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Agg {
    pub fn of(mut v: Vec<f64>) -> Option<Agg> {
        let median = median(&mut v)?;
        Some(Agg {
            median,
            min: v.iter().cloned().fold(f64::INFINITY, f64::min),
            max: v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// "1.21× (1.10–1.30)": a ratio with its min–max over rounds.
    fn ratio_text(&self) -> String {
        if self.min == self.max {
            format!("{:.2}×", self.median)
        } else {
            format!("{:.2}× ({:.2}–{:.2})", self.median, self.min, self.max)
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

/// What a target asks of a figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Want {
    /// ≥ x (throughput ratios).
    AtLeast(f64),
    /// ≤ x (CPU, p99 ratios, sizes).
    AtMost(f64),
    /// < x (absolute latency and memory bounds).
    Below(f64),
}

impl Want {
    fn holds(self, v: f64) -> bool {
        match self {
            Want::AtLeast(x) => v >= x,
            Want::AtMost(x) => v <= x,
            Want::Below(x) => v < x,
        }
    }

    /// The verdict on a figure with its spread: met when even the
    /// unfavourable end of the spread clears the bar, within noise when the
    /// median does but that end does not, missed otherwise.
    pub fn verdict(self, a: &Agg) -> Verdict {
        let worst = match self {
            Want::AtLeast(_) => a.min,
            Want::AtMost(_) | Want::Below(_) => a.max,
        };
        if self.holds(worst) {
            Verdict::Met
        } else if self.holds(a.median) {
            Verdict::WithinNoise
        } else {
            Verdict::Missed
        }
    }
}

/// A target's standing. Ordered from worst to best, so the verdict over
/// several cells is the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Missed,
    WithinNoise,
    Met,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::WithinNoise => "**within noise**",
            Verdict::Missed => "**missed**",
        }
    }
}

/// One of sutegi's targets as this run measured it.
pub struct Target {
    /// "server-bound", "shared", or "" when no layout applies.
    pub layout: &'static str,
    pub what: String,
    pub measured: String,
    /// `None`: not measured in this run.
    pub verdict: Option<Verdict>,
    /// The run should have measured it (its servers and scenario were in
    /// the run): a missing figure is then an error.
    pub expected: bool,
    /// The older target this one re-bases, and why.
    pub rebases: Option<&'static str>,
}

impl<'a> Results<'a> {
    fn names(&self) -> Vec<&'static str> {
        self.info.servers.iter().map(|s| s.name).collect()
    }

    fn has(&self, server: &str) -> bool {
        self.names().contains(&server)
    }

    fn server_rounds(&self, server: &str) -> impl Iterator<Item = &'a ServerRound> + '_ {
        let server = server.to_owned();
        self.rounds.iter().filter(move |r| r.server == server)
    }

    fn cell(&self, server: &str, round: usize, layout: Layout, label: &str) -> Option<&'a Cell> {
        self.rounds
            .iter()
            .find(|r| r.server == server && r.round == round)?
            .cells
            .iter()
            .find(|c| c.layout == layout && c.def.label() == label)
    }

    fn cells(&self, server: &str, layout: Layout, label: &str) -> Vec<&'a Cell> {
        self.server_rounds(server)
            .filter_map(|r| {
                r.cells
                    .iter()
                    .find(|c| c.layout == layout && c.def.label() == label)
            })
            .collect()
    }

    pub fn rps(&self, server: &str, layout: Layout, label: &str) -> Option<Agg> {
        Agg::of(
            self.cells(server, layout, label)
                .iter()
                .map(|c| c.rps)
                .collect(),
        )
    }

    /// A per-cell figure over rounds.
    pub fn cell_agg(
        &self,
        server: &str,
        layout: Layout,
        label: &str,
        f: impl Fn(&Cell) -> Option<f64>,
    ) -> Option<Agg> {
        Agg::of(
            self.cells(server, layout, label)
                .into_iter()
                .filter_map(f)
                .collect(),
        )
    }

    fn cell_median(
        &self,
        server: &str,
        layout: Layout,
        label: &str,
        f: impl Fn(&Cell) -> Option<f64>,
    ) -> Option<f64> {
        self.cell_agg(server, layout, label, f).map(|a| a.median)
    }

    fn cell_errors(&self, server: &str, layout: Layout, label: &str) -> u64 {
        self.cells(server, layout, label)
            .iter()
            .map(|c| c.errors)
            .sum()
    }

    /// `f(server) / f(base)` round by round (the two ran seconds apart in
    /// the same round), then the median and min–max over rounds.
    pub fn paired(
        &self,
        server: &str,
        base: &str,
        layout: Layout,
        label: &str,
        f: impl Fn(&Cell) -> Option<f64>,
    ) -> Option<Agg> {
        Agg::of(
            (1..=self.info.rounds)
                .filter_map(|r| {
                    let a = f(self.cell(server, r, layout, label)?)?;
                    let b = f(self.cell(base, r, layout, label)?)?;
                    (b > 0.0).then(|| a / b)
                })
                .collect(),
        )
    }

    /// The req/s ratio to `base`, paired per round.
    pub fn ratio(&self, server: &str, base: &str, layout: Layout, label: &str) -> Option<Agg> {
        self.paired(server, base, layout, label, |c| Some(c.rps))
    }

    fn load_values(&self, server: &str, scenario: &str) -> Vec<&'a Value> {
        self.server_rounds(server)
            .filter_map(|r| match scenario {
                "idle" => r.idle.as_ref(),
                "ws-hold" => r.ws_hold.as_ref(),
                "sse" => r.sse.as_ref(),
                _ => r.slow.as_ref(),
            })
            .collect()
    }

    /// A number in the load tool's JSON (by pointer) over rounds.
    fn load_agg(&self, server: &str, scenario: &str, ptr: &str) -> Option<Agg> {
        Agg::of(
            self.load_values(server, scenario)
                .iter()
                .filter_map(|v| v.pointer(ptr)?.as_f64())
                .collect(),
        )
    }

    /// Median over rounds of a number in the load tool's JSON (by pointer).
    pub fn load_median(&self, server: &str, scenario: &str, ptr: &str) -> Option<f64> {
        self.load_agg(server, scenario, ptr).map(|a| a.median)
    }

    fn load_min(&self, server: &str, scenario: &str, ptr: &str) -> Option<f64> {
        self.load_agg(server, scenario, ptr).map(|a| a.min)
    }

    fn load_max(&self, server: &str, scenario: &str, ptr: &str) -> Option<f64> {
        self.load_agg(server, scenario, ptr).map(|a| a.max)
    }

    fn load_sum(&self, server: &str, scenario: &str, ptr: &str) -> u64 {
        self.load_values(server, scenario)
            .iter()
            .filter_map(|v| v.pointer(ptr)?.as_u64())
            .sum()
    }

    fn hwm_c256_agg(&self, server: &str) -> Option<Agg> {
        Agg::of(
            self.server_rounds(server)
                .filter_map(|r| r.hwm_c256_kib.map(|k| k as f64))
                .collect(),
        )
    }

    fn hwm_c256(&self, server: &str) -> Option<f64> {
        self.hwm_c256_agg(server).map(|a| a.median)
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
            .flat_map(|r| r.cells.iter().map(|c| c.threads_max))
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

    /// Figures this run should have produced and did not: a wrk cell of a
    /// server that ran that round without a failure, or a target whose
    /// servers and scenario were in the run. Each is an error: a missing
    /// figure must never read as success.
    pub fn missing(&self) -> Vec<String> {
        let mut v = Vec::new();
        for r in self.rounds {
            if !r.failures.is_empty() {
                continue; // the failure already says why
            }
            for &layout in &self.info.settings.layouts {
                for def in layout.cells() {
                    let echoes = r.server != "nginx";
                    let websocket = self.info(&r.server).is_some_and(|i| i.websocket);
                    if (def.ws && !websocket) || (def.body > 0 && !echoes) {
                        continue;
                    }
                    if self
                        .cell(&r.server, r.round, layout, &def.label())
                        .is_none()
                    {
                        v.push(format!(
                            "missing figure: {} round {}, {} {}",
                            r.server,
                            r.round,
                            layout.name(),
                            def.label()
                        ));
                    }
                }
            }
        }
        for t in self.targets() {
            if t.expected && t.verdict.is_none() {
                v.push(format!(
                    "missing figure: target {}{}: {}",
                    if t.layout.is_empty() { "" } else { t.layout },
                    if t.layout.is_empty() { "" } else { ":" },
                    t.what
                ));
            }
        }
        v
    }

    /// A target over several cells: each cell's paired figure, the verdict
    /// the worst of the cells'.
    fn cells_target(
        &self,
        layout: Layout,
        what: String,
        labels: &[String],
        want: Want,
        figure: impl Fn(&str) -> Option<Agg>,
        needs: &[&str],
    ) -> Target {
        let present = self.info.settings.layouts.contains(&layout);
        let aggs: Option<Vec<(String, Agg)>> = labels
            .iter()
            .map(|l| figure(l).map(|a| (l.clone(), a)))
            .collect();
        let (measured, verdict) = match aggs {
            Some(v) if !v.is_empty() => (
                v.iter()
                    .map(|(l, a)| format!("{l} {}", a.ratio_text()))
                    .collect::<Vec<_>>()
                    .join("; "),
                v.iter().map(|(_, a)| want.verdict(a)).min(),
            ),
            _ => ("not measured".into(), None),
        };
        Target {
            layout: layout.name(),
            what,
            measured,
            verdict,
            expected: present && needs.iter().all(|n| self.has(n)),
            rebases: None,
        }
    }

    /// sutegi's targets, each with what was measured and its verdict.
    pub fn targets(&self) -> Vec<Target> {
        let s = "sutegi";
        let mut t = Vec::new();
        let plain: Vec<String> = PLAIN.iter().map(|c| c.label()).collect();
        let rps =
            |peer: &'static str, layout: Layout| move |l: &str| self.ratio(s, peer, layout, l);
        let cpu =
            |layout: Layout| move |l: &str| self.paired(s, BASE, layout, l, |c| c.cpu_us_per_req);
        let p99 = |layout: Layout| {
            move |l: &str| self.paired(s, BASE, layout, l, |c| Some(c.p99_us as f64))
        };
        let sb = Layout::ServerBound;
        t.push(self.cells_target(
            sb,
            "req/s ≥ 1.1× axum on each plain cell".into(),
            &plain,
            Want::AtLeast(1.1),
            rps(BASE, sb),
            &[s, BASE],
        ));
        t.push(self.cells_target(
            sb,
            "req/s ≥ 0.95× nginx (one worker, `return 200`) on /plaintext".into(),
            &["plaintext c16".into(), "plaintext c256".into()],
            Want::AtLeast(0.95),
            rps("nginx", sb),
            &[s, "nginx"],
        ));
        let mut tiny = self.cells_target(
            sb,
            "req/s ≥ 2× tiny_http on each plain cell".into(),
            &plain,
            Want::AtLeast(2.0),
            rps("tiny_http", sb),
            &[s, "tiny_http"],
        );
        tiny.rebases = Some(
            "issue 5's ≥ 2× tiny_http and rouille, which the old layout (wrk sharing the cores, the load generator every server's ceiling) could not show",
        );
        t.push(tiny);
        for layout in [sb, Layout::Shared] {
            if layout == Layout::Shared {
                t.push(self.cells_target(
                    layout,
                    "req/s ≥ 1.0× axum on each plain cell".into(),
                    &plain,
                    Want::AtLeast(1.0),
                    rps(BASE, layout),
                    &[s, BASE],
                ));
            }
            t.push(self.cells_target(
                layout,
                "CPU per request ≤ 0.9× axum's on each plain cell".into(),
                &plain,
                Want::AtMost(0.9),
                cpu(layout),
                &[s, BASE],
            ));
            t.push(self.cells_target(
                layout,
                "p99 ≤ 1.25× axum's in each plain cell".into(),
                &plain,
                Want::AtMost(1.25),
                p99(layout),
                &[s, BASE],
            ));
        }
        let echo = ECHO[1].label();
        t.push(self.cells_target(
            sb,
            "1 MiB echo: MB/s ≥ 1.0× axum's".into(),
            std::slice::from_ref(&echo),
            Want::AtLeast(1.0),
            rps(BASE, sb),
            &[s, BASE],
        ));
        t.push(self.cells_target(
            sb,
            "1 MiB echo: CPU per request ≤ axum's".into(),
            std::slice::from_ref(&echo),
            Want::AtMost(1.0),
            cpu(sb),
            &[s, BASE],
        ));

        let ws: Vec<String> = WS.iter().map(|c| c.label()).collect();
        t.push(self.cells_target(
            sb,
            "WebSocket echo: round trips/s ≥ 1.0× axum's at 16 and 256 sockets".into(),
            &ws,
            Want::AtLeast(1.0),
            rps(BASE, sb),
            &[s, BASE],
        ));
        t.push(self.cells_target(
            sb,
            "WebSocket echo: CPU per round trip ≤ axum's".into(),
            &ws,
            Want::AtMost(1.0),
            cpu(sb),
            &[s, BASE],
        ));

        // Absolute targets: the figure of each round, median and worst.
        let abs = |layout: &'static str,
                   what: String,
                   agg: Option<Agg>,
                   want: Want,
                   show: &dyn Fn(f64) -> String,
                   expected: bool| {
            let measured = agg.map_or("not measured".into(), |a| {
                if a.min == a.max {
                    show(a.median)
                } else {
                    format!("{} ({}–{})", show(a.median), show(a.min), show(a.max))
                }
            });
            Target {
                layout,
                what,
                measured,
                verdict: agg.map(|a| want.verdict(&a)),
                expected,
                rebases: None,
            }
        };
        let ms = |us: f64| format!("{:.2} ms", us / 1e3);
        let mib = |k: f64| format!("{:.1} MiB", k / 1024.0);
        let count = |n: f64| format!("{n:.0}");
        let set = &self.info.settings;
        let ran = self.has(s);
        let slow_n = set.slow_requests as f64;
        t.push(abs(
            "",
            format!(
                "slow handlers: with {} requests sleeping {} ms, fresh /plaintext p99 < 50 ms",
                set.slow_requests, set.slow_ms
            ),
            self.load_agg(s, "slow", "/probe/latency/p99_us"),
            Want::Below(50_000.0),
            &ms,
            ran,
        ));
        t.push(abs(
            "",
            format!(
                "slow handlers: all {} slow requests answered 200",
                set.slow_requests
            ),
            self.load_agg(s, "slow", "/slow_ok"),
            Want::AtLeast(slow_n),
            &count,
            ran,
        ));
        t.push(abs(
            sb.name(),
            "peak RSS under the c256 load ≤ 8 MiB".into(),
            self.hwm_c256_agg(s),
            Want::AtMost(8.0 * 1024.0),
            &mib,
            ran && set.layouts.contains(&sb),
        ));
        let capacity = ran && set.capacity_rounds > 0;
        t.push(abs(
            "",
            format!(
                "{} idle keep-alive connections: all kept and answering",
                set.idle_conns
            ),
            self.load_agg(s, "idle", "/answered_after_hold"),
            Want::AtLeast(set.idle_conns as f64),
            &count,
            capacity,
        ));
        t.push(abs(
            "",
            "idle: fresh p99 < 2 ms".into(),
            self.load_agg(s, "idle", "/fresh/p99_us"),
            Want::Below(2000.0),
            &ms,
            capacity,
        ));
        t.push(abs(
            "",
            "idle: server RSS < 48 MiB".into(),
            self.load_agg(s, "idle", "/server/rss_kib"),
            Want::Below(48.0 * 1024.0),
            &mib,
            capacity,
        ));
        t.push(abs(
            "",
            format!(
                "{} held WebSockets: all opened and answering afterwards",
                set.ws_hold_conns
            ),
            self.load_agg(s, "ws-hold", "/answered_after_hold"),
            Want::AtLeast(set.ws_hold_conns as f64),
            &count,
            capacity,
        ));
        t.push(abs(
            "",
            format!("{} held WebSockets: server RSS < 64 MiB", set.ws_hold_conns),
            self.load_agg(s, "ws-hold", "/server/peak_rss_kib"),
            Want::Below(64.0 * 1024.0),
            &mib,
            capacity,
        ));
        t.push(abs(
            "",
            "held WebSockets: fresh p99 < 5 ms meanwhile".into(),
            self.load_agg(s, "ws-hold", "/fresh/p99_us"),
            Want::Below(5000.0),
            &ms,
            capacity,
        ));
        let expected_events = set.sse_clients as f64 * set.sse_events as f64;
        t.push(abs(
            "",
            format!("{} SSE clients: every event delivered", set.sse_clients),
            self.load_agg(s, "sse", "/delivered"),
            Want::AtLeast(expected_events),
            &count,
            capacity,
        ));
        t.push(abs(
            "",
            "SSE: fresh p99 < 5 ms during the streams".into(),
            self.load_agg(s, "sse", "/fresh/p99_us"),
            Want::Below(5000.0),
            &ms,
            capacity,
        ));
        t.push(abs(
            "",
            "SSE: server RSS < 48 MiB".into(),
            self.load_agg(s, "sse", "/server/peak_rss_kib"),
            Want::Below(48.0 * 1024.0),
            &mib,
            capacity,
        ));

        // Single figures: sizes and build time.
        let single = |what: &str, v: Option<(String, bool)>, expected, rebases| Target {
            layout: "",
            what: what.into(),
            measured: v.as_ref().map_or("not measured".into(), |(m, _)| m.clone()),
            verdict: v.map(|(_, ok)| if ok { Verdict::Met } else { Verdict::Missed }),
            expected,
            rebases,
        };
        let size = |n: &str| self.info(n).and_then(|i| i.binary_bytes);
        t.push(single(
            "release binary of examples/api ≤ 0.7× the axum peer's (cargo's default release profile)",
            size(s).zip(size(BASE)).map(|(a, b)| {
                (
                    format!("{} vs {} = {:.2}×", bytes(a), bytes(b), a as f64 / b as f64),
                    a as f64 <= 0.7 * b as f64,
                )
            }),
            ran && self.has(BASE),
            Some("issue 5's ≤ 0.6×, out of reach with the symbol table the default release profile keeps"),
        ));
        let sizes = &self.info.min_sizes;
        t.push(single(
            "hello (min-size profile) ≤ 1.4× a std-only hello",
            sizes.ratio().map(|r| (sizes.describe(), r <= HELLO_TARGET)),
            true,
            Some("issue 5's ≤ 400 KB, a figure of the toolchain more than of sutegi"),
        ));
        let build = |n: &str| self.info(n).and_then(|i| i.build.as_ref().ok().copied());
        // Build times were asked for: measured, or failed (not "(skipped)").
        let built = self.info(s).is_some_and(|i| match &i.build {
            Ok(_) => true,
            Err(e) => !e.starts_with('('),
        });
        t.push(single(
            "clean release build ≤ 0.75× the axum peer's",
            build(s).zip(build(BASE)).map(|(a, b)| {
                (
                    format!("{a:.1} s vs {b:.1} s = {:.2}×", a / b),
                    a <= 0.75 * b,
                )
            }),
            built && self.has(BASE),
            Some("issue 5's ≤ 0.5×: serde and the proc-macro crates alone take most of that"),
        ));

        // Micro-benchmarks: ratios pass by pass.
        let micro_ran = matches!(self.info.micro, Some(Ok(_)));
        let micro_ratio = |a: &str, b: &str| -> Option<Agg> {
            let (a, b) = (self.micro_passes(a)?, self.micro_passes(b)?);
            Agg::of(a.iter().zip(b).map(|(x, y)| x / y).collect())
        };
        let mut router = abs(
            "",
            "router dispatch at 10,000 routes within 2× of 10 routes".into(),
            micro_ratio("router_dispatch/10000", "router_dispatch/10"),
            Want::AtMost(2.0),
            &|r| format!("{r:.2}×"),
            micro_ran,
        );
        router.measured = format!("{} (criterion, ratio pass by pass)", router.measured);
        t.push(router);
        let mut parse = abs(
            "",
            "parse_request ≤ 1.5× httparse alone on a browser request".into(),
            micro_ratio("parse/sutegi", "parse/httparse"),
            Want::AtMost(1.5),
            &|r| format!("{r:.2}×"),
            micro_ran,
        );
        parse.measured = format!("{} (criterion, ratio pass by pass)", parse.measured);
        parse.rebases = Some("issue 5's ≤ 300 ns absolute, a figure of the machine");
        t.push(parse);
        t
    }

    fn micro_passes(&self, id: &str) -> Option<&[f64]> {
        match &self.info.micro {
            Some(Ok(v)) => v.iter().find(|(i, _)| i == id).map(|(_, p)| p.as_slice()),
            _ => None,
        }
    }

    fn micro(&self, id: &str) -> Option<Agg> {
        Agg::of(self.micro_passes(id)?.to_vec())
    }

    pub fn markdown(&self) -> String {
        let info = self.info;
        let set = &info.settings;
        let names = self.names();
        let mut md = String::new();
        let w = &mut md;
        let _ = writeln!(
            w,
            "# Benchmarks: sutegi beside axum, actix-web, tiny_http, rouille and nginx\n"
        );
        let _ = writeln!(
            w,
            "Written by `bench/run`{} on {} ({:.0} min), {} round{}. In each round, for each cell, \
             every server takes a {} s wrk run in turn (the order rotated), so a ratio to a peer is \
             taken between runs seconds apart, round by round; the report gives its median over \
             rounds and its min–max. A target is *met* only when the unfavourable end of that \
             spread clears it, *within noise* when only the median does. Every figure names its \
             layout. `bench/README.md` explains each figure.\n",
            if info.quick {
                " --quick (a smoke run: short and noisy)"
            } else {
                ""
            },
            info.started_utc,
            info.elapsed_s / 60.0,
            info.rounds,
            if info.rounds == 1 { "" } else { "s" },
            set.wrk_secs,
        );
        let _ = writeln!(
            w,
            "Layouts: *server-bound*: the server pinned alone to CPU 1 (`taskset -c 1`), wrk with \
             one thread pinned to CPU 0, so the server is the bottleneck: headline claims come \
             from this layout. *shared*: nothing pinned, wrk with one thread, the two sharing the \
             cores.\n"
        );
        let _ = writeln!(w, "Command: `{}`\n", info.command);
        let _ = writeln!(w, "## Machine and versions\n\n| | |\n| --- | --- |");
        for (k, v) in info.machine.iter().chain(info.versions.iter()) {
            let _ = writeln!(w, "| {k} | {v} |");
        }
        let _ = writeln!(
            w,
            "| settings | wrk {} s per run, {} thread, 2 s timeout; layouts {}; idle {} conns held {} s and SSE {} clients × {} events every {} ms in the first {} round(s); slow handlers {} × `POST /slow?ms={}` |\n",
            set.wrk_secs,
            set.wrk_threads,
            set.layouts.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "),
            set.idle_conns,
            set.idle_hold_s,
            set.sse_clients,
            set.sse_events,
            set.sse_interval_ms,
            set.capacity_rounds,
            set.slow_requests,
            set.slow_ms
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
            let _ = writeln!(w, "\n## sutegi's targets\n");
            let _ = writeln!(
                w,
                "Ratios are sutegi's figure over the peer's, round by round; *measured* is the \
                 median over rounds with the min–max in brackets.\n"
            );
            let _ = writeln!(
                w,
                "| layout | target | measured | verdict | re-bases |\n| --- | --- | --- | --- | --- |"
            );
            for t in self.targets() {
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} |",
                    if t.layout.is_empty() { "—" } else { t.layout },
                    t.what,
                    t.measured,
                    t.verdict.map_or(
                        if t.expected {
                            "**MISSING**"
                        } else {
                            "not measured"
                        },
                        Verdict::text
                    ),
                    t.rebases.unwrap_or("")
                );
            }
        }

        for &layout in &set.layouts {
            let _ = writeln!(
                w,
                "\n## Throughput and latency, {} layout (wrk)\n",
                layout.name()
            );
            let _ = writeln!(
                w,
                "{} Keep-alive GETs. `× axum`: req/s over axum's, round by round, median (min–max). \
                 CPU: the server's utime+stime over the run ÷ requests. `p99 × axum`: paired the same way.\n",
                match layout {
                    Layout::ServerBound => "The server alone on CPU 1, wrk (one thread) on CPU 0.",
                    Layout::Shared => "Nothing pinned; wrk (one thread) and the server share both cores.",
                }
            );
            self.cell_table(
                w,
                layout,
                &PLAIN.iter().map(|c| c.label()).collect::<Vec<_>>(),
                false,
            );
            if layout == Layout::ServerBound {
                let _ = writeln!(
                    w,
                    "\n### POST /echo, server-bound (16 connections; MB/s = body bytes echoed per second, 10^6 B; every echo checked byte for byte first)\n"
                );
                self.cell_table(
                    w,
                    layout,
                    &ECHO.iter().map(|c| c.label()).collect::<Vec<_>>(),
                    true,
                );
            }
        }

        if set.layouts.contains(&Layout::ServerBound) {
            let _ = writeln!(
                w,
                "\n## WebSocket echo, server-bound (`sutegi-load ws`)\n\n\
                 Servers with `GET /ws/echo`. Each socket sends a {}-byte binary message and waits \
                 for its echo (checked byte for byte), in a closed loop for {} s; one client thread \
                 drives every socket through a poller, pinned to CPU 0 as wrk is. req/s: round \
                 trips per second; p50/p99: send to echo; CPU: the server's per round trip.\n",
                WS_MESSAGE_BYTES, set.wrk_secs
            );
            self.cell_table(
                w,
                Layout::ServerBound,
                &WS.iter().map(|c| c.label()).collect::<Vec<_>>(),
                false,
            );
            let _ = writeln!(
                w,
                "\n### {} held WebSockets (`sutegi-load ws-hold`, first {} round(s))\n\n\
                 Each socket opened and echoed once, then all held silent for {} s while a new \
                 connection every 20 ms times one `GET /plaintext`; afterwards each must echo \
                 again. RSS: the largest VmRSS sampled.\n",
                set.ws_hold_conns, set.capacity_rounds, set.ws_hold_s
            );
            let _ = writeln!(
                w,
                "| server | round | opened | answering after | fresh p50 ms | fresh p99 ms | fresh failures | RSS MiB | threads |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for n in &names {
                for r in self.server_rounds(n) {
                    let Some(j) = &r.ws_hold else { continue };
                    let _ = writeln!(
                        w,
                        "| {n} | {} | {} | {} | {} | {} | {} | {} | {} |",
                        r.round,
                        j["opened"],
                        j["answered_after_hold"],
                        ms(j["fresh"]["p50_us"].as_f64()),
                        ms(j["fresh"]["p99_us"].as_f64()),
                        j["fresh"]["failures"],
                        mib(j["server"]["peak_rss_kib"].as_f64()),
                        j["server"]["threads"],
                    );
                }
            }
        }

        let _ = writeln!(
            w,
            "\n## Slow handlers (`sutegi-load slow-handlers`)\n\n\
             {} requests to `POST /slow?ms={}` (a handler that sleeps) held in flight at once, while a \
             new connection every 20 ms times one `GET /plaintext` (connect to last byte; a failed \
             probe counts at its time). Probes run until the last slow answer.\n",
            set.slow_requests, set.slow_ms
        );
        let _ = writeln!(
            w,
            "| server | round | slow answered 200 | slow answers | probes | probe p50 ms | probe p99 ms | probe max ms | probe failures |\n| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
        );
        for n in &names {
            for r in self.server_rounds(n) {
                let Some(j) = &r.slow else { continue };
                let mut answers = std::collections::BTreeMap::<String, u32>::new();
                for a in j["slow_answers"].as_array().into_iter().flatten() {
                    let key = match a["status"].as_u64() {
                        Some(s) => s.to_string(),
                        None => a["error"].as_str().unwrap_or("?").to_owned(),
                    };
                    *answers.entry(key).or_default() += 1;
                }
                let _ = writeln!(
                    w,
                    "| {n} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
                    r.round,
                    j["slow_ok"],
                    j["slow"],
                    answers
                        .iter()
                        .map(|(k, v)| format!("{v} × {k}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    j["probe"]["latency"]["count"],
                    ms(j["probe"]["latency"]["p50_us"].as_f64()),
                    ms(j["probe"]["latency"]["p99_us"].as_f64()),
                    ms(j["probe"]["latency"]["max_us"].as_f64()),
                    j["probe"]["failures"],
                );
            }
        }

        let sb = Layout::ServerBound;
        let _ = writeln!(w, "\n## Per server\n");
        let _ = writeln!(
            w,
            "Peak RSS is VmHWM from `/proc/PID/status` after the server-bound plain cells (16, then 256 connections), \
             and again after the echo cells (a 1 MiB body is buffered whole by every server). \
             Threads: the most seen in `/proc/PID/status` during the wrk cells. \
             Build: `cargo build --release` of the server alone in a fresh target directory. \
             CPU: server-bound layout.\n"
        );
        let _ = writeln!(
            w,
            "| server | binary | clean build | peak RSS c256, MiB | peak RSS with echo, MiB | threads | CPU µs/req plaintext c16 / c256 | json c16 / c256 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for n in &names {
            let i = self.info(n).expect("known server");
            let cpu = |l: &str| {
                self.cell_median(n, sb, l, |c| c.cpu_us_per_req)
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
                    "Not run (`--quick` or `--no-micro`): `cargo bench` in `bench/micro/`. \
                     The regression guard is `bench/callgrind/check` (instruction counts)."
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(w, "Failed: {}", e.replace('\n', " "));
            }
            Some(Ok(_)) => {
                let _ = writeln!(
                    w,
                    "Median time per operation over the passes (criterion, 1 s warm-up, 3 s measurement; one pass per round, \
                     each written to a fresh directory and read only from there), with the min–max over passes. *dispatch*: \
                     `RouterHandler::handle` on `GET /r{{n/2}}/items/42` in a router of n `GET /r{{i}}/items/{{id}}` \
                     routes (match, capture, a handler returning \"ok\" and its response, the request's drop; requests are \
                     parsed outside the timing, 7 ahead of each timed batch, so their memory is reused as a \
                     server thread's is; the response's drop is not timed); *matchit*: `at()` on the same table in matchit alone. *parse*: a \
                     430-byte Chromium `fetch` request with 13 headers. Differences within the min–max are noise; \
                     `bench/callgrind/check` counts instructions instead.\n"
                );
                let ns = |id: &str| {
                    self.micro(id).map_or("-".into(), |a| {
                        format!("{:.0} ns ({:.0}–{:.0})", a.median, a.min, a.max)
                    })
                };
                let _ = writeln!(
                    w,
                    "| routes | sutegi dispatch | matchit alone |\n| ---: | ---: | ---: |"
                );
                for n in ["10", "1000", "10000"] {
                    let _ = writeln!(
                        w,
                        "| {n} | {} | {} |",
                        ns(&format!("router_dispatch/{n}")),
                        ns(&format!("router_matchit/{n}"))
                    );
                }
                let _ = writeln!(
                    w,
                    "\n| parser | per request |\n| --- | ---: |\n| `sutegi::parse_request` (into a `Request`) | {} |\n| `httparse` alone (into 32 header slots) | {} |",
                    ns("parse/sutegi"),
                    ns("parse/httparse"),
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
        let missing = self.missing();
        if !missing.is_empty() {
            let _ = writeln!(w, "\nMissing figures (errors):\n");
            for m in missing {
                let _ = writeln!(w, "- {m}");
            }
        }
        md
    }

    fn cell_table(&self, w: &mut String, layout: Layout, labels: &[String], echo: bool) {
        let _ = writeln!(
            w,
            "| cell | server | req/s | min–max | {}p50 ms | p99 ms | errors | × axum | CPU µs/req | p99 × axum |\n| --- | --- | ---: | ---: | {}---: | ---: | ---: | ---: | ---: | ---: |",
            if echo { "MB/s | " } else { "" },
            if echo { "---: | " } else { "" }
        );
        for label in labels {
            for n in self.names() {
                if echo && n == "nginx" {
                    continue;
                }
                let ws_cell = labels.iter().any(|l| l.starts_with("ws "));
                if ws_cell && !self.info(n).is_some_and(|i| i.websocket) {
                    continue;
                }
                let Some(a) = self.rps(n, layout, label) else {
                    let _ = writeln!(
                        w,
                        "| {label} | {n} | not run | | {}| | | | | |",
                        if echo { "| " } else { "" }
                    );
                    continue;
                };
                let _ = writeln!(
                    w,
                    "| {label} | {n} | {} | {}–{} | {}{} | {} | {} | {} | {} | {} |",
                    rps(a.median),
                    rps(a.min),
                    rps(a.max),
                    if echo {
                        format!(
                            "{} | ",
                            self.cell_median(n, layout, label, |c| c.mb_s)
                                .map_or("-".into(), mbs)
                        )
                    } else {
                        String::new()
                    },
                    ms(self.cell_median(n, layout, label, |c| Some(c.p50_us as f64))),
                    ms(self.cell_median(n, layout, label, |c| Some(c.p99_us as f64))),
                    self.cell_errors(n, layout, label),
                    ratio(self.ratio(n, BASE, layout, label)),
                    self.cell_median(n, layout, label, |c| c.cpu_us_per_req)
                        .map_or("-".into(), |v| format!("{v:.1}")),
                    ratio(self.paired(n, BASE, layout, label, |c| Some(c.p99_us as f64))),
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
            "\n=== summary: median of {} round(s); (×) = req/s ratio to axum, paired per round, then median ===",
            self.info.rounds
        );
        let row = |s: &mut String, label: &str, f: &dyn Fn(&str) -> String| {
            let _ = write!(s, "{label:<26}");
            for n in &names {
                let _ = write!(s, "{:>15}", f(n));
            }
            let _ = writeln!(s);
        };
        let _ = write!(s, "{:<26}", "");
        for n in &names {
            let _ = write!(s, "{n:>15}");
        }
        let _ = writeln!(s);
        for &layout in &self.info.settings.layouts {
            let short_layout = match layout {
                Layout::ServerBound => "bound",
                Layout::Shared => "shared",
            };
            for c in PLAIN {
                let l = c.label();
                row(&mut s, &format!("{short_layout} {l}"), &|n| match (
                    self.rps(n, layout, &l),
                    self.ratio(n, BASE, layout, &l),
                ) {
                    (Some(a), Some(r)) => format!("{} ({:.2})", short(a.median), r.median),
                    (Some(a), None) => short(a.median),
                    _ => "-".into(),
                });
            }
            row(&mut s, &format!("{short_layout} p99 pt c16/c256"), &|n| {
                format!(
                    "{}/{}",
                    ms(self.cell_median(n, layout, "plaintext c16", |c| Some(c.p99_us as f64))),
                    ms(self.cell_median(n, layout, "plaintext c256", |c| Some(c.p99_us as f64)))
                )
            });
            row(
                &mut s,
                &format!("{short_layout} CPU µs/req pt c16"),
                &|n| {
                    self.cell_median(n, layout, "plaintext c16", |c| c.cpu_us_per_req)
                        .map_or("-".into(), |v| format!("{v:.1}"))
                },
            );
        }
        for c in ECHO {
            let l = c.label();
            row(&mut s, &format!("bound {l} MB/s"), &|n| {
                self.cell_median(n, Layout::ServerBound, &l, |c| c.mb_s)
                    .map_or("-".into(), mbs)
            });
        }
        for c in WS {
            let l = c.label();
            row(&mut s, &format!("bound {l} rt/s"), &|n| {
                self.rps(n, Layout::ServerBound, &l)
                    .map_or("-".into(), |a| rps(a.median))
            });
        }
        row(&mut s, "ws held RSS/p99", &|n| match self.load_median(
            n,
            "ws-hold",
            "/server/peak_rss_kib",
        ) {
            Some(k) => format!(
                "{}/{}",
                mib(Some(k)),
                ms(self.load_median(n, "ws-hold", "/fresh/p99_us"))
            ),
            None => "-".into(),
        });
        row(&mut s, "peak RSS c256", &|n| mib(self.hwm_c256(n)) + " MiB");
        row(&mut s, "binary", &|n| {
            self.info(n)
                .and_then(|i| i.binary_bytes)
                .map_or("-".into(), bytes)
        });
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
        row(&mut s, "sse fresh p99", &|n| {
            ms(self.load_median(n, "sse", "/fresh/p99_us")) + " ms"
        });
        row(&mut s, "slow: probe p99", &|n| {
            ms(self.load_median(n, "slow", "/probe/latency/p99_us")) + " ms"
        });
        let _ = writeln!(
            s,
            "hello (min-size profile) vs std-only hello: {}",
            self.info.min_sizes.describe()
        );
        if names.contains(&"sutegi") {
            let targets = self.targets();
            let count = |v: Verdict| targets.iter().filter(|t| t.verdict == Some(v)).count();
            let _ = writeln!(
                s,
                "sutegi targets: {} met, {} within noise, {} missed, {} not measured",
                count(Verdict::Met),
                count(Verdict::WithinNoise),
                count(Verdict::Missed),
                targets.iter().filter(|t| t.verdict.is_none()).count()
            );
            for t in &targets {
                if let Some(v @ (Verdict::Missed | Verdict::WithinNoise)) = t.verdict {
                    let _ = writeln!(
                        s,
                        "  {}: [{}] {}: {}",
                        if v == Verdict::Missed {
                            "missed"
                        } else {
                            "within noise"
                        },
                        if t.layout.is_empty() { "-" } else { t.layout },
                        t.what,
                        t.measured
                    );
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

fn ratio(r: Option<Agg>) -> String {
    r.map_or("-".into(), |r| r.ratio_text())
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
        assert_eq!((a.min, a.max), (90.0, 110.0));
    }

    fn agg(median: f64, min: f64, max: f64) -> Agg {
        Agg { median, min, max }
    }

    #[test]
    fn met_only_when_the_spread_clears_the_bar() {
        let want = Want::AtLeast(1.1);
        assert_eq!(want.verdict(&agg(1.2, 1.12, 1.3)), Verdict::Met);
        assert_eq!(want.verdict(&agg(1.2, 1.01, 1.3)), Verdict::WithinNoise);
        assert_eq!(want.verdict(&agg(1.05, 0.9, 1.3)), Verdict::Missed);
        let want = Want::AtMost(0.9);
        assert_eq!(want.verdict(&agg(0.8, 0.7, 0.88)), Verdict::Met);
        assert_eq!(want.verdict(&agg(0.85, 0.7, 0.95)), Verdict::WithinNoise);
        assert_eq!(want.verdict(&agg(0.95, 0.8, 1.0)), Verdict::Missed);
        // Strictly below: the bar itself does not clear.
        assert_eq!(
            Want::Below(50.0).verdict(&agg(50.0, 50.0, 50.0)),
            Verdict::Missed
        );
        // The worst cell decides a multi-cell target.
        assert_eq!(
            [Verdict::Met, Verdict::WithinNoise, Verdict::Met]
                .into_iter()
                .min(),
            Some(Verdict::WithinNoise)
        );
    }
}
