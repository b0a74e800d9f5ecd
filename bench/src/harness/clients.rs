//! The client workloads: the library's own measuring clients (`EchoClient::ping`, `Load`,
//! `Bulk`, what the `ping` and `bench` examples run) against this harness's raw load clients,
//! on the same workload and against the same server.
//!
//! Each round starts one `epoll` server per client workload (the fastest server, so that the
//! client is what limits), and runs both clients against it one after the other, in an
//! order that alternates from round to round. The table gives `library ÷ raw` round by round.

use std::fmt;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use socket_echo::{Bulk, EchoClient, Load, Ping, Tcp, Udp};

use super::table::{Spread, median, number, ratio};
use super::{Better, Config, Failure, Measure, Results, Workload, error_chain};
use crate::child::ServerChild;
use crate::load::{self, Limits, STALL_TIMEOUT, UDP_LOSS_TIMEOUT};
use crate::peers::Kind;

/// The server every client workload runs against.
pub const SERVER: Kind = Kind::Epoll;

/// Which client drives a client workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// This harness's own load client (`tcp_lat`, `tcp_many`, `udp_many`, `bulk`).
    Raw,
    /// The library's `EchoClient::ping`, `Load` or `Bulk`.
    Library,
}

impl Client {
    /// Both clients, in the order of the table's columns.
    pub const BOTH: [Client; 2] = [Client::Raw, Client::Library];

    /// The name used in the table.
    pub fn name(self) -> &'static str {
        match self {
            Client::Raw => "raw",
            Client::Library => "library",
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One figure measured by one client run.
#[derive(Debug, Clone, Serialize)]
pub struct ClientRecord {
    /// 1-based round.
    pub round: usize,
    /// The client measured.
    pub client: Client,
    /// The workload.
    pub workload: Workload,
    /// What was measured, with its unit.
    pub metric: &'static str,
    /// Which way is better.
    pub better: Better,
    /// The figure.
    pub value: f64,
}

/// One line of the client table.
#[derive(Debug, Clone, Serialize)]
pub struct ClientRow {
    /// The workload.
    pub workload: Workload,
    /// The metric, with its unit.
    pub metric: &'static str,
    /// Which way is better.
    pub better: Better,
    /// Median over rounds of the raw client.
    pub raw: Option<f64>,
    /// Median over rounds of the library's client.
    pub library: Option<f64>,
    /// `library ÷ raw`, round by round.
    pub library_vs_raw: Option<Spread>,
}

/// Runs every selected client workload once for `round`, adding to `results`.
pub(crate) fn run_round(
    config: &Config,
    round: usize,
    results: &mut Results,
    progress: &mut impl FnMut(&str),
) {
    for &workload in Workload::CLIENTS
        .iter()
        .filter(|w| config.workloads.contains(w))
    {
        let mut order = Client::BOTH;
        order.rotate_left((round - 1) % Client::BOTH.len());
        let bind = SocketAddr::new(config.ip, 0);
        let (program, args) = &config.server_program;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut server = match ServerChild::spawn(program, &args, SERVER, workload.proto(), bind) {
            Ok(server) => server,
            Err(e) => {
                let error = format!("starting the {SERVER} server: {e}");
                progress(&format!("round {round} {workload}: FAILED: {error}"));
                results.failures.push(Failure {
                    round,
                    server: SERVER,
                    workload,
                    error,
                });
                continue;
            }
        };
        for client in order {
            let measured = run_client(config, workload, client, server.addr()).and_then(|m| {
                if server.is_running() {
                    Ok(m)
                } else {
                    Err("the server exited during the run".to_string())
                }
            });
            match measured {
                Ok(measures) => {
                    let line: Vec<String> = measures
                        .iter()
                        .map(|(w, metric, _, value)| format!("{w} {metric} {}", number(*value)))
                        .collect();
                    progress(&format!("round {round} {client:>7}: {}", line.join(", ")));
                    results.clients.extend(measures.into_iter().map(
                        |(workload, metric, better, value)| ClientRecord {
                            round,
                            client,
                            workload,
                            metric,
                            better,
                            value,
                        },
                    ));
                }
                Err(e) => {
                    let error = format!("{client} client: {e}");
                    progress(&format!("round {round} {workload}: FAILED: {error}"));
                    results.failures.push(Failure {
                        round,
                        server: SERVER,
                        workload,
                        error,
                    });
                }
            }
        }
    }
}

/// One client's run of `workload` against the server at `addr`.
fn run_client(
    config: &Config,
    workload: Workload,
    client: Client,
    addr: SocketAddr,
) -> Result<Vec<Measure>, String> {
    use Better::{Higher, Lower};
    let limits = Limits::secs(config.secs);
    let threads = config.client_threads;
    let lib = |e: socket_echo::Error| error_chain(e);
    let counted = |errors: u64| {
        if errors == 0 {
            Ok(())
        } else {
            Err(format!("{errors} error(s) counted"))
        }
    };
    let w = workload;
    Ok(match (workload, client) {
        (Workload::ClientLat, Client::Raw) => {
            let out = load::tcp_lat(addr, 64, limits).map_err(error_chain)?;
            vec![
                (w, "p50 µs", Lower, out.rtt_micros(0.5)),
                (w, "p99 µs", Lower, out.rtt_micros(0.99)),
                (w, "msgs/s", Higher, out.rate()),
            ]
        }
        (Workload::ClientLat, Client::Library) => {
            let mut echo = EchoClient::connect(addr).map_err(lib)?;
            let stop = Arc::new(AtomicBool::new(false));
            let ping = Ping::new()
                .with_count(u64::MAX)
                .with_size(64)
                .with_interval(Duration::ZERO)
                .with_timeout(STALL_TIMEOUT)
                .with_stop(Arc::clone(&stop));
            let summary = stop_after(config.secs, &stop, || echo.ping(&ping, |_| {}));
            let mut summary = summary.map_err(lib)?;
            if let Some(e) = summary.take_error() {
                return Err(error_chain(e));
            }
            counted(summary.errors() + summary.lost())?;
            let rtt = summary.latency();
            let micros = |d: Duration| d.as_secs_f64() * 1e6;
            vec![
                (w, "p50 µs", Lower, micros(rtt.p50())),
                (w, "p99 µs", Lower, micros(rtt.p99())),
                (
                    w,
                    "msgs/s",
                    Higher,
                    summary.received() as f64 / summary.elapsed().as_secs_f64().max(1e-9),
                ),
            ]
        }
        (Workload::Client50, Client::Raw) => {
            let out = load::tcp_many(addr, 50, 512, threads, limits).map_err(error_chain)?;
            vec![
                (w, "msgs/s", Higher, out.rate()),
                (w, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
            ]
        }
        (Workload::Client50, Client::Library) => {
            let report = library_load(config)
                .with_timeout(STALL_TIMEOUT)
                .run(Tcp, addr)
                .map_err(lib)?;
            counted(report.errors())?;
            vec![
                (w, "msgs/s", Higher, report.messages_per_sec()),
                (
                    w,
                    "p99 ms",
                    Lower,
                    report.latency().p99().as_secs_f64() * 1e3,
                ),
            ]
        }
        (Workload::ClientUdp50, Client::Raw) => {
            let out = load::udp_many(addr, 50, 512, threads, limits).map_err(error_chain)?;
            vec![
                (w, "msgs/s", Higher, out.rate()),
                (w, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
                (w, "lost", Lower, out.lost as f64),
            ]
        }
        (Workload::ClientUdp50, Client::Library) => {
            let report = library_load(config)
                .with_timeout(UDP_LOSS_TIMEOUT)
                .run(Udp, addr)
                .map_err(lib)?;
            counted(report.errors())?;
            vec![
                (w, "msgs/s", Higher, report.messages_per_sec()),
                (
                    w,
                    "p99 ms",
                    Lower,
                    report.latency().p99().as_secs_f64() * 1e3,
                ),
                (w, "lost", Lower, report.lost() as f64),
            ]
        }
        (Workload::ClientBulk, Client::Raw) => {
            let out = load::bulk(addr, 64 * 1024, limits).map_err(error_chain)?;
            vec![(w, "MB/s", Higher, out.megabytes_per_sec())]
        }
        (Workload::ClientBulk, Client::Library) => {
            let report = Bulk::new()
                .with_duration(config.secs)
                .with_write_size(64 * 1024)
                .with_timeout(STALL_TIMEOUT)
                .run(addr)
                .map_err(lib)?;
            counted(report.errors())?;
            vec![(w, "MB/s", Higher, report.megabytes_per_sec())]
        }
        (other, _) => return Err(format!("{other} is not a client workload")),
    })
}

/// The library's `Load` for client-50 and client-udp-50: 50 connections of 512 B, on as
/// many threads as the raw client.
fn library_load(config: &Config) -> Load {
    Load::new()
        .with_connections(50)
        .with_threads(config.client_threads)
        .with_size(512)
        .with_duration(config.secs)
}

/// Runs `f`, setting `stop` once `after` has passed (or as soon as `f` returns).
fn stop_after<R>(after: Duration, stop: &AtomicBool, f: impl FnOnce() -> R) -> R {
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        let timer = scope.spawn(|| {
            let deadline = Instant::now() + after;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || done.load(Ordering::Relaxed) {
                    break;
                }
                thread::park_timeout(left);
            }
            stop.store(true, Ordering::Relaxed);
        });
        let result = f();
        done.store(true, Ordering::Relaxed);
        timer.thread().unpark();
        result
    })
}

/// Folds the client rounds into rows, in the order of [`Workload::CLIENTS`].
pub fn summarize_clients(results: &Results) -> Vec<ClientRow> {
    let mut keys: Vec<(Workload, &'static str, Better)> = Vec::new();
    for r in &results.clients {
        if !keys.iter().any(|k| k.0 == r.workload && k.1 == r.metric) {
            keys.push((r.workload, r.metric, r.better));
        }
    }
    keys.sort_by_key(|k| Workload::CLIENTS.iter().position(|w| *w == k.0));
    let mut rounds: Vec<usize> = results.clients.iter().map(|r| r.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    keys.into_iter()
        .map(|(workload, metric, better)| {
            let value = |client: Client, round: usize| {
                results
                    .clients
                    .iter()
                    .find(|r| {
                        r.workload == workload
                            && r.metric == metric
                            && r.client == client
                            && r.round == round
                    })
                    .map(|r| r.value)
            };
            let med = |client: Client| {
                let mut values: Vec<f64> = rounds
                    .iter()
                    .filter_map(|&round| value(client, round))
                    .collect();
                median(&mut values)
            };
            let mut ratios: Vec<f64> = rounds
                .iter()
                .filter_map(|&round| {
                    match (value(Client::Library, round), value(Client::Raw, round)) {
                        (Some(library), Some(raw)) if raw != 0.0 => Some(library / raw),
                        _ => None,
                    }
                })
                .collect();
            let library_vs_raw = median(&mut ratios).map(|m| Spread {
                median: m,
                min: ratios[0],
                max: ratios[ratios.len() - 1],
                rounds: ratios.len(),
            });
            ClientRow {
                workload,
                metric,
                better,
                raw: med(Client::Raw),
                library: med(Client::Library),
                library_vs_raw,
            }
        })
        .collect()
}

/// The client table in markdown: the median of each client, then `library ÷ raw` as
/// "median (min..max)" over rounds. A cell is "fail" when every run of that client failed.
pub fn render_clients_markdown(rows: &[ClientRow], results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| workload | metric | raw | library | library ÷ raw |\n|---|---|---:|---:|---:|"
    );
    for row in rows {
        let arrow = match row.better {
            Better::Higher => "↑",
            Better::Lower => "↓",
        };
        let cell = |value: Option<f64>, client: Client| match value {
            Some(v) => number(v),
            None if failed(results, client, row.workload) => "fail".to_string(),
            None => "–".to_string(),
        };
        let spread = row.library_vs_raw.map_or_else(
            || "–".to_string(),
            |r| format!("{} ({}..{})", ratio(r.median), ratio(r.min), ratio(r.max)),
        );
        let _ = writeln!(
            out,
            "| {} | {} {arrow} | {} | {} | {spread} |",
            row.workload,
            row.metric,
            cell(row.raw, Client::Raw),
            cell(row.library, Client::Library),
        );
    }
    out
}

fn failed(results: &Results, client: Client, workload: Workload) -> bool {
    let prefix = format!("{client} client:");
    results
        .failures
        .iter()
        .any(|f| f.workload == workload && f.error.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(round: usize, client: Client, value: f64) -> ClientRecord {
        ClientRecord {
            round,
            client,
            workload: Workload::Client50,
            metric: "msgs/s",
            better: Better::Higher,
            value,
        }
    }

    #[test]
    fn library_is_divided_by_raw_round_by_round() {
        let results = Results {
            records: Vec::new(),
            clients: vec![
                record(1, Client::Raw, 100.0),
                record(1, Client::Library, 95.0),
                record(2, Client::Library, 110.0),
                record(2, Client::Raw, 100.0),
                record(3, Client::Raw, 200.0),
                record(3, Client::Library, 100.0),
            ],
            failures: Vec::new(),
        };
        let rows = summarize_clients(&results);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].raw, rows[0].library), (Some(100.0), Some(100.0)));
        let r = rows[0].library_vs_raw.unwrap();
        assert_eq!((r.median, r.min, r.max, r.rounds), (0.95, 0.5, 1.1, 3));
        let table = render_clients_markdown(&rows, &results);
        assert!(
            table.contains("| client-50 | msgs/s ↑ | 100 | 100 | 0.95 (0.50..1.10) |"),
            "{table}"
        );
    }
}
