//! `sutegi-load`: the project's own load tool, for what wrk cannot do —
//! thousands of idle keep-alive connections, SSE fan-out with every event
//! counted, slow senders and slow readers, handlers that block, WebSocket echo — each
//! while fresh requests are timed. Plain Rust: std threads and one `polling` poller, no async
//! runtime, so what is measured is the server, not a second scheduler.
//!
//! Two users: `bench/run` (the benchmark harness) and `tests/system` (the
//! load-and-faults script). For both, stdout is exactly one JSON line (the
//! results; `"ok": false` and exit status 1 when the scenario saw errors)
//! and stderr is the human-readable account. Exit status 2: bad usage or a
//! setup failure. Every phase is bounded in count and time.

mod args;
mod blocking;
mod fresh;
mod http;
mod idle;
mod pool;
mod probe;
mod slow;
mod sse;
mod stats;
mod sys;
mod ws;

use std::{process::ExitCode, time::Instant};

const USAGE: &str = "\
usage: sutegi-load COMMAND --addr HOST:PORT [options]

commands (defaults in brackets):
  idle         --conns [10000] --hold SECS [10] --path [/plaintext]
               --connect-secs [60] --answer-secs [30] --window [256]
               N keep-alive conns each send one request then stay silent;
               reports how many the server kept and fresh-request latency.
  sse          --clients [1000] --events [50] --interval-ms [100]
               --path [/events] --timeout SECS [ideal + 60]
               --reconnect N [0] --reconnect-delay-ms [100]
               N SSE clients count every event and check ids are 0,1,2...;
               with --reconnect, a stream that ends early is resumed
               with Last-Event-ID (up to N times per client).
  slowloris    --conns [200] --secs [15] --byte-interval-ms [100]
               --pad [200] --path [/plaintext]
               trickle request heads a byte at a time.
  slow-reader  --conns [10] --secs [35] --path [/events?n=1000000]
               --rcvbuf [4096] --drain-secs [3]
               ask for a long response and read nothing of it.
  fresh        --requests [10000] --conns [16] --path [/plaintext]
               --method [GET] --body-size [0] --secs [60]
               --check-echo [false]
               closed-loop keep-alive load with exact percentiles; with
               --check-echo every body must come back as sent (POST /echo).
  slow-handlers --slow [32] --slow-path [/slow?ms=3000] --method [POST]
               --probe-path [/plaintext] --probe-interval-ms [20]
               --margin-secs [15]
               N requests to a blocking handler in flight at once while
               fresh probes are timed; reports every slow answer's status.
  ws           --conns [16] --secs [4] --size [32] --path [/ws/echo]
               closed-loop WebSocket echo round trips on N sockets, every
               echo checked byte for byte.
  ws-hold      --conns [1000] --hold SECS [10] --connect-secs [60]
               --path [/ws/echo]
               N WebSockets opened (one echo each) and held silent while
               fresh requests are timed; each must echo again afterwards.

common: --pid PID          sample the server's RSS and threads from /proc
        --fresh-interval-ms [10]  pace of the fresh probe (0: off)
        --fresh-path [/plaintext]
stdout: one JSON line; stderr: human text. exit 0 ok, 1 errors seen, 2 usage.";

/// What a scenario hands back to be printed.
pub struct Outcome {
    pub json: serde_json::Value,
    pub human: Vec<String>,
    pub errors: u64,
    pub started: Instant,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        return if argv.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let nofile = sys::raise_nofile();
    let outcome =
        args::Args::parse(argv.into_iter()).and_then(|args| match args.command.as_str() {
            "idle" => idle::run(&args),
            "sse" => sse::run(&args),
            "slowloris" => slow::slowloris(&args),
            "slow-reader" => slow::slow_reader(&args),
            "fresh" => fresh::run(&args),
            "slow-handlers" => blocking::run(&args),
            "ws" => ws::run(&args),
            "ws-hold" => ws::hold(&args),
            other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
        });
    match outcome {
        Ok(mut o) => {
            for line in &o.human {
                eprintln!("{line}");
            }
            let ok = o.errors == 0;
            o.json["ok"] = ok.into();
            o.json["elapsed_s"] = o.started.elapsed().as_secs_f64().into();
            o.json["nofile_limit"] = nofile.into();
            println!("{}", o.json);
            if ok {
                ExitCode::SUCCESS
            } else {
                eprintln!("sutegi-load: {} error(s)", o.errors);
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("sutegi-load: {e}");
            ExitCode::from(2)
        }
    }
}
