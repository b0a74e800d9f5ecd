//! The workloads, run against every server in interleaved rounds.
//!
//! Each run starts a fresh server process, so no run inherits another's connections, memory
//! or TIME_WAIT sockets, and each server's CPU and memory are its own; a Unix socket run
//! also gets a fresh directory for its socket file (see [`Workload::UNIX`]). The TLS
//! workloads (see [`Workload::TLS`]) share one certificate over the whole series.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use serde::Serialize;

use crate::child::{ServerChild, cpu_time, rss_bytes};
use crate::load::{self, Limits, Outcome};
use crate::peers::Kind;

mod clients;
mod table;
mod tls;
mod unix;
mod workload;

pub use clients::{Client, ClientRecord, ClientRow, render_clients_markdown, summarize_clients};
pub use table::{Row, Spread, render_markdown, summarize};
pub use workload::Workload;

/// Whether a bigger value of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Throughput.
    Higher,
    /// Latency, memory, CPU, losses.
    Lower,
}

/// One figure measured by one run.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// 1-based round.
    pub round: usize,
    /// The server measured.
    pub server: Kind,
    /// The workload the figure belongs to.
    pub workload: Workload,
    /// What was measured, with its unit.
    pub metric: &'static str,
    /// Which way is better.
    pub better: Better,
    /// The figure.
    pub value: f64,
}

/// A run that did not complete.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// 1-based round.
    pub round: usize,
    /// The server.
    pub server: Kind,
    /// The run (tcp-50 for cpu).
    pub workload: Workload,
    /// What went wrong.
    pub error: String,
}

/// How to run the servers and the workloads.
#[derive(Debug, Clone)]
pub struct Config {
    /// Interleaved rounds.
    pub rounds: usize,
    /// Measured time of each time-bounded run.
    pub secs: Duration,
    /// Workloads to report.
    pub workloads: Vec<Workload>,
    /// Servers to run.
    pub servers: Vec<Kind>,
    /// Client threads for the many-connection workloads.
    pub client_threads: usize,
    /// The loopback address servers bind (port 0).
    pub ip: IpAddr,
    /// The program that runs a peer server, and the arguments before `<kind> <proto> <addr>`.
    pub server_program: (PathBuf, Vec<String>),
}

/// Everything a series of rounds measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    /// Every figure of every server run.
    pub records: Vec<Record>,
    /// Every figure of every client run.
    pub clients: Vec<ClientRecord>,
    /// Every run that failed.
    pub failures: Vec<Failure>,
}

/// The server runs to make: each selected server workload's run, once.
fn runs(workloads: &[Workload]) -> Vec<Workload> {
    let set: BTreeSet<Workload> = workloads
        .iter()
        .filter(|w| !w.is_client())
        .map(|w| w.run())
        .collect();
    set.into_iter().collect()
}

/// Runs every selected workload against every server for `config.rounds` rounds, each round
/// starting one server further along (A B C, then B C A, …), then, in the same round, every
/// selected client workload (see [`Client`]). `progress` is called after each run with a
/// one-line summary.
pub fn run_rounds(config: &Config, mut progress: impl FnMut(&str)) -> Results {
    let mut results = Results::default();
    let tls = tls::TlsRuns::new(&config.workloads);
    for round in 1..=config.rounds {
        for run in runs(&config.workloads) {
            let mut order: Vec<Kind> = config
                .servers
                .iter()
                .copied()
                .filter(|&k| run.admits(k))
                .collect();
            if !order.is_empty() {
                let shift = (round - 1) % order.len();
                order.rotate_left(shift);
            }
            for server in order {
                let measured = if run.is_tls() {
                    tls.run_one(config, run, server)
                } else {
                    run_one(config, run, server)
                };
                match measured {
                    Ok(measures) => {
                        let line: Vec<String> = measures
                            .iter()
                            .map(|(w, metric, _, value)| {
                                format!("{w} {metric} {}", table::number(*value))
                            })
                            .collect();
                        progress(&format!("round {round} {server:>5}: {}", line.join(", ")));
                        results.records.extend(
                            measures
                                .into_iter()
                                .filter(|m| config.workloads.contains(&m.0))
                                .map(|(workload, metric, better, value)| Record {
                                    round,
                                    server,
                                    workload,
                                    metric,
                                    better,
                                    value,
                                }),
                        );
                    }
                    Err(error) => {
                        progress(&format!("round {round} {server:>5}: {run} FAILED: {error}"));
                        results.failures.push(Failure {
                            round,
                            server,
                            workload: run,
                            error,
                        });
                    }
                }
            }
        }
        clients::run_round(config, round, &mut results, &mut progress);
    }
    results
}

/// An error and its sources, on one line.
pub(crate) fn error_chain(e: impl std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

pub(crate) type Measure = (Workload, &'static str, Better, f64);

/// Runs `load` against the server `pid`, and gives its outcome with the server's CPU time
/// (user and system, from `/proc/<pid>/stat`) per echoed message, in microseconds.
pub(crate) fn with_server_cpu(
    pid: u32,
    load: impl FnOnce() -> load::Result<Outcome>,
) -> Result<(Outcome, f64), String> {
    let proc_err = |e: std::io::Error| format!("reading /proc/{pid}: {e}");
    let before = cpu_time(pid).map_err(proc_err)?;
    let out = load().map_err(error_chain)?;
    let after = cpu_time(pid).map_err(proc_err)?;
    let per_msg = (after - before).as_secs_f64() * 1e6 / out.messages.max(1) as f64;
    Ok((out, per_msg))
}

/// One run: a fresh server, one workload, its figures.
fn run_one(config: &Config, run: Workload, kind: Kind) -> Result<Vec<Measure>, String> {
    if run.is_unix() {
        return unix::run_one(config, run, kind);
    }
    let (program, args) = &config.server_program;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let bind = SocketAddr::new(config.ip, 0);
    let mut server = ServerChild::spawn(program, &args, kind, run.proto(), bind)
        .map_err(|e| format!("starting the server: {e}"))?;
    let addr = server.addr();
    let pid = server.pid();
    let limits = Limits::secs(config.secs);
    let threads = config.client_threads;
    let err = error_chain;
    let proc_err = |e: std::io::Error| format!("reading /proc/{pid}: {e}");
    use Better::{Higher, Lower};
    let measures = match run {
        Workload::ClientLat | Workload::Client50 | Workload::ClientUdp50 | Workload::ClientBulk => {
            return Err(format!("{run} is a client workload, not a server one"));
        }
        Workload::UnixLat
        | Workload::Unix50
        | Workload::UnixBulk
        | Workload::UnixgramLat
        | Workload::Unixgram50 => {
            return Err(format!("{run} runs over a Unix socket, not at {addr}"));
        }
        Workload::TlsLat
        | Workload::Tls50
        | Workload::TlsBulk
        | Workload::TlsHs
        | Workload::TlsIdle => {
            return Err(format!("{run} runs over TLS, with a certificate"));
        }
        Workload::TcpLat => {
            let out = load::tcp_lat(addr, 64, limits).map_err(err)?;
            vec![
                (run, "p50 µs", Lower, out.rtt_micros(0.5)),
                (run, "p99 µs", Lower, out.rtt_micros(0.99)),
            ]
        }
        Workload::UdpLat => {
            let out = load::udp_lat(addr, 64, limits).map_err(err)?;
            vec![
                (run, "p50 µs", Lower, out.rtt_micros(0.5)),
                (run, "p99 µs", Lower, out.rtt_micros(0.99)),
                (run, "lost", Lower, out.lost as f64),
            ]
        }
        Workload::Tcp50 | Workload::Cpu => {
            let (out, per_msg) =
                with_server_cpu(pid, || load::tcp_many(addr, 50, 512, threads, limits))?;
            vec![
                (Workload::Tcp50, "msgs/s", Higher, out.rate()),
                (Workload::Tcp50, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
                (Workload::Cpu, "server CPU µs/msg", Lower, per_msg),
            ]
        }
        Workload::Tcp1k => {
            let out = load::tcp_many(addr, 1000, 64, threads, limits).map_err(err)?;
            vec![
                (run, "msgs/s", Higher, out.rate()),
                (run, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
            ]
        }
        Workload::Udp50 => {
            let (out, per_msg) =
                with_server_cpu(pid, || load::udp_many(addr, 50, 512, threads, limits))?;
            vec![
                (run, "msgs/s", Higher, out.rate()),
                (run, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
                (run, "lost", Lower, out.lost as f64),
                (run, "server CPU µs/msg", Lower, per_msg),
            ]
        }
        Workload::Bulk => {
            let out = load::bulk(addr, 64 * 1024, limits).map_err(err)?;
            vec![(run, "MB/s", Higher, out.megabytes_per_sec())]
        }
        Workload::Idle10k => {
            const CONNS: usize = 10_000;
            let before = rss_bytes(pid).map_err(proc_err)?;
            let conns = load::idle(addr, CONNS, 64).map_err(err)?;
            // Lets a server that frees or grows memory after the echo settle.
            thread::sleep(Duration::from_millis(200));
            let after = rss_bytes(pid).map_err(proc_err)?;
            drop(conns);
            let per_conn = (after as f64 - before as f64) / CONNS as f64;
            vec![(run, "RSS bytes/conn", Lower, per_conn)]
        }
    };
    if !server.is_running() {
        return Err("the server exited during the run".to_string());
    }
    Ok(measures)
}
