//! The workloads, run against every server in interleaved rounds.
//!
//! Each run starts a fresh server process, so no run inherits another's connections, memory
//! or TIME_WAIT sockets, and each server's CPU and memory are its own; a Unix socket run
//! also gets a fresh directory for its socket file (see [`Workload::UNIX`]). The TLS
//! workloads (see [`Workload::TLS`]) share one certificate over the whole series.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::thread;
use std::time::Duration;

use serde::Serialize;

use crate::child::{ServerChild, cpu_time, rss_bytes};
use crate::load::{self, Limits, Outcome};
use crate::peers::{Kind, Proto};

mod clients;
mod table;
mod tls;
mod unix;

pub use clients::{Client, ClientRecord, ClientRow, render_clients_markdown, summarize_clients};
pub use table::{Row, Spread, render_markdown, summarize};

/// A workload of PERFORMANCE.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Workload {
    /// 1 TCP connection, 64 B: p50, p99.
    #[serde(rename = "tcp-lat")]
    TcpLat,
    /// 1 UDP socket, 64 B: p50, p99.
    #[serde(rename = "udp-lat")]
    UdpLat,
    /// 50 TCP connections, 512 B: messages/s, p99.
    #[serde(rename = "tcp-50")]
    Tcp50,
    /// 1000 TCP connections, 64 B: messages/s, p99.
    #[serde(rename = "tcp-1k")]
    Tcp1k,
    /// 50 UDP sockets, 512 B: messages/s, p99, lost.
    #[serde(rename = "udp-50")]
    Udp50,
    /// 1 TCP connection streaming both ways in 64 KiB writes: MB/s.
    #[serde(rename = "bulk")]
    Bulk,
    /// 10,000 idle TCP connections, each proven with one echo: server RSS per connection.
    #[serde(rename = "idle-10k")]
    Idle10k,
    /// Server CPU time per echoed message, measured during tcp-50.
    #[serde(rename = "cpu")]
    Cpu,
    /// Client side, 1 TCP connection, 64 B: `EchoClient::ping` against the raw `tcp_lat`
    /// client: p50, p99, messages/s.
    #[serde(rename = "client-lat")]
    ClientLat,
    /// Client side, 50 TCP connections, 512 B: `Load` against the raw `tcp_many` client:
    /// messages/s, p99.
    #[serde(rename = "client-50")]
    Client50,
    /// Client side, 50 UDP sockets, 512 B: `Load` against the raw `udp_many` client:
    /// messages/s, p99, lost.
    #[serde(rename = "client-udp-50")]
    ClientUdp50,
    /// Client side, 1 TCP connection streaming both ways in 64 KiB writes: `Bulk` against
    /// the raw `bulk` client: MB/s.
    #[serde(rename = "client-bulk")]
    ClientBulk,
    /// 1 Unix stream connection, 64 B: p50, p99.
    #[serde(rename = "unix-lat")]
    UnixLat,
    /// 50 Unix stream connections, 512 B: messages/s, p99.
    #[serde(rename = "unix-50")]
    Unix50,
    /// 1 Unix stream connection streaming both ways in 64 KiB writes: MB/s.
    #[serde(rename = "unix-bulk")]
    UnixBulk,
    /// 1 Unix datagram socket, 64 B: p50, p99, lost.
    #[serde(rename = "unixgram-lat")]
    UnixgramLat,
    /// 50 Unix datagram sockets, 512 B: messages/s, p99, lost.
    #[serde(rename = "unixgram-50")]
    Unixgram50,
    /// 1 TLS connection, 64 B: p50, p99.
    #[serde(rename = "tls-lat")]
    TlsLat,
    /// 50 TLS connections, 512 B: messages/s, p99, server CPU per message.
    #[serde(rename = "tls-50")]
    Tls50,
    /// 1 TLS connection streaming both ways in 64 KiB writes: MB/s.
    #[serde(rename = "tls-bulk")]
    TlsBulk,
    /// 50 clients, each making a new connection and a full handshake (no resumption) per
    /// 64 B message: handshakes/s, server CPU per handshake.
    #[serde(rename = "tls-hs")]
    TlsHs,
    /// 5,000 idle TLS connections, each proven with one echo: server RSS per connection.
    #[serde(rename = "tls-idle")]
    TlsIdle,
}

impl Workload {
    /// The server workloads, in the table's order: the default run.
    pub const ALL: [Workload; 8] = [
        Workload::TcpLat,
        Workload::UdpLat,
        Workload::Tcp50,
        Workload::Tcp1k,
        Workload::Udp50,
        Workload::Bulk,
        Workload::Idle10k,
        Workload::Cpu,
    ];

    /// The client workloads, in their table's order: not in the default run.
    pub const CLIENTS: [Workload; 4] = [
        Workload::ClientLat,
        Workload::Client50,
        Workload::ClientUdp50,
        Workload::ClientBulk,
    ];

    /// The Unix socket workloads, in the table's order after [`Workload::ALL`]: not in the
    /// default run (`--only unix` selects them all). Each run's server binds a path in a
    /// fresh directory of its own, removed when the run ends.
    pub const UNIX: [Workload; 5] = [
        Workload::UnixLat,
        Workload::Unix50,
        Workload::UnixBulk,
        Workload::UnixgramLat,
        Workload::Unixgram50,
    ];

    /// The TLS workloads, in the table's order after [`Workload::UNIX`]: not in the default
    /// run (`--only tls` selects them all), and run by the `tokio-rustls` reference and
    /// `ours` only, with the bench's `tls` feature.
    pub const TLS: [Workload; 5] = [
        Workload::TlsLat,
        Workload::Tls50,
        Workload::TlsBulk,
        Workload::TlsHs,
        Workload::TlsIdle,
    ];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Workload::TcpLat => "tcp-lat",
            Workload::UdpLat => "udp-lat",
            Workload::Tcp50 => "tcp-50",
            Workload::Tcp1k => "tcp-1k",
            Workload::Udp50 => "udp-50",
            Workload::Bulk => "bulk",
            Workload::Idle10k => "idle-10k",
            Workload::Cpu => "cpu",
            Workload::ClientLat => "client-lat",
            Workload::Client50 => "client-50",
            Workload::ClientUdp50 => "client-udp-50",
            Workload::ClientBulk => "client-bulk",
            Workload::UnixLat => "unix-lat",
            Workload::Unix50 => "unix-50",
            Workload::UnixBulk => "unix-bulk",
            Workload::UnixgramLat => "unixgram-lat",
            Workload::Unixgram50 => "unixgram-50",
            Workload::TlsLat => "tls-lat",
            Workload::Tls50 => "tls-50",
            Workload::TlsBulk => "tls-bulk",
            Workload::TlsHs => "tls-hs",
            Workload::TlsIdle => "tls-idle",
        }
    }

    /// The run that measures this workload: cpu is measured during tcp-50.
    pub fn run(self) -> Workload {
        match self {
            Workload::Cpu => Workload::Tcp50,
            other => other,
        }
    }

    /// Whether this workload compares clients (the library's against the harness's own)
    /// rather than servers.
    pub fn is_client(self) -> bool {
        Workload::CLIENTS.contains(&self)
    }

    /// Whether this workload runs over Unix sockets (see [`Workload::UNIX`]).
    pub fn is_unix(self) -> bool {
        Workload::UNIX.contains(&self)
    }

    /// Whether this workload runs over TLS (see [`Workload::TLS`]).
    pub fn is_tls(self) -> bool {
        Workload::TLS.contains(&self)
    }

    fn proto(self) -> Proto {
        match self {
            Workload::TlsLat
            | Workload::Tls50
            | Workload::TlsBulk
            | Workload::TlsHs
            | Workload::TlsIdle => Proto::Tls,
            Workload::UdpLat | Workload::Udp50 | Workload::ClientUdp50 => Proto::Udp,
            Workload::UnixLat | Workload::Unix50 | Workload::UnixBulk => Proto::Unix,
            Workload::UnixgramLat | Workload::Unixgram50 => Proto::Unixgram,
            _ => Proto::Tcp,
        }
    }

    /// Whether server `kind` takes part: the raw floor serves one client at a time, so it
    /// only runs the single-connection latency workloads; over Unix sockets, only the epoll
    /// loop runs, and `ours`; over TLS, only the tokio-rustls reference, and `ours`, which
    /// are the only TLS servers.
    pub fn admits(self, kind: Kind) -> bool {
        if self.is_unix() {
            return kind == Kind::Epoll || kind == Kind::Ours;
        }
        if self.is_tls() {
            return kind == Kind::TokioRustls || kind == Kind::Ours;
        }
        if kind == Kind::TokioRustls {
            return false;
        }
        kind != Kind::Raw || matches!(self, Workload::TcpLat | Workload::UdpLat)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let every = || {
            Workload::ALL
                .into_iter()
                .chain(Workload::CLIENTS)
                .chain(Workload::UNIX)
                .chain(Workload::TLS)
        };
        every().find(|w| w.name() == s).ok_or_else(|| {
            let names: Vec<_> = every().map(|w| w.name()).collect();
            format!(
                "unknown workload `{s}` (expected one of {})",
                names.join(", ")
            )
        })
    }
}

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
