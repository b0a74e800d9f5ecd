//! `peers`: runs every workload against every server in interleaved rounds and prints the
//! side-by-side table of docs/performance.md.
//!
//! ```sh
//! cargo run --release -p socket-echo-bench --bin peers                 # 3 rounds, ~5 min
//! cargo run --release -p socket-echo-bench --bin peers -- --only tcp-50,cpu --rounds 5
//! cargo run --release -p socket-echo-bench --bin peers -- --clients --rounds 5   # client side
//! cargo run --release -p socket-echo-bench --bin peers -- --only unix --rounds 5  # Unix sockets
//! cargo run --release -p socket-echo-bench --features tls --bin peers -- --only tls --rounds 5
//! ```
//!
//! Each server runs in a child process: this same program, started again with
//! `--serve-peer <kind> <tcp|udp> <addr>` or `--serve-peer <kind> <unix|unixgram> <path>` (the
//! `peer-server` binary's arguments), so the servers are always the build the harness was
//! compiled with.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use socket_echo_bench::child::{machine_cpu_time, own_cpu_time, raise_file_limit};
use socket_echo_bench::harness::{
    self, Config, Workload, render_clients_markdown, render_markdown, summarize, summarize_clients,
};
use socket_echo_bench::peers::{Kind, uring};
use socket_echo_bench::server_main;

const SERVE_PEER: &str = "--serve-peer";

/// Compare socket-echo's server with its peers, side by side.
#[derive(Debug, Parser)]
#[command(name = "peers")]
struct Cli {
    /// Interleaved rounds (each round starts one server further along).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of load per server per workload per round.
    #[arg(long, default_value_t = 2.5)]
    secs: f64,
    /// Workloads to run, comma-separated: tcp-lat, udp-lat, tcp-50, tcp-1k, udp-50, bulk,
    /// idle-10k, cpu (default: all of these); and, not in the default run, the client
    /// workloads client-lat, client-50, client-udp-50, client-bulk, and the Unix socket
    /// workloads unix-lat, unix-50, unix-bulk, unixgram-lat, unixgram-50 (`unix`: all five),
    /// and, with the `tls` feature, the TLS workloads tls-lat, tls-50, tls-bulk, tls-hs,
    /// tls-idle (`tls`: all five).
    #[arg(long, value_delimiter = ',')]
    only: Vec<Selection>,
    /// Run the four client workloads (the library's ping, Load and Bulk against the raw
    /// clients, on the epoll server), besides any selected with --only.
    #[arg(long)]
    clients: bool,
    /// Servers to run, comma-separated: raw, naive, tokio, epoll, uring, tokio-rustls, ours
    /// (default: every one that runs a selected workload; uring only where this kernel lets it
    /// set up a ring).
    #[arg(long, value_delimiter = ',')]
    servers: Vec<Kind>,
    /// Client threads driving the many-connection workloads.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Loopback address the servers bind: 127.0.0.1 or ::1.
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Also write every figure of every round, and the table, as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// A workload named on the command line, `unix` for every Unix socket workload, or `tls` for
/// every TLS workload.
#[derive(Debug, Clone)]
struct Selection(Vec<Workload>);

impl FromStr for Selection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unix" => Ok(Selection(Workload::UNIX.to_vec())),
            "tls" => Ok(Selection(Workload::TLS.to_vec())),
            _ => Ok(Selection(vec![s.parse()?])),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(SERVE_PEER) {
        return server_main::run(&args[2..]);
    }
    let cli = Cli::parse();
    if !cli.ip.is_loopback() {
        eprintln!(
            "peers: {} is not a loopback address; load goes to this machine only",
            cli.ip
        );
        return ExitCode::from(2);
    }
    if !(cli.secs > 0.0 && cli.secs <= 60.0) || cli.rounds == 0 {
        eprintln!("peers: --secs must be in (0, 60] and --rounds at least 1");
        return ExitCode::from(2);
    }
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(e) => {
            eprintln!("peers: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let nofile = raise_file_limit();
    let mut workloads = if cli.only.is_empty() && !cli.clients {
        Workload::ALL.to_vec()
    } else {
        cli.only.iter().flat_map(|s| s.0.iter().copied()).collect()
    };
    if cli.clients {
        workloads.extend(Workload::CLIENTS);
    }
    workloads.sort();
    workloads.dedup();
    if !cfg!(feature = "tls") && workloads.iter().any(|w| w.is_tls()) {
        eprintln!(
            "peers: the TLS workloads need the `tls` feature: \
             cargo run --release -p socket-echo-bench --features tls --bin peers -- --only tls"
        );
        return ExitCode::from(2);
    }
    let mut servers = if cli.servers.is_empty() {
        Kind::ALL
            .into_iter()
            .filter(|&k| workloads.iter().any(|w| !w.is_client() && w.admits(k)))
            .filter(|&k| k != Kind::Uring || uring_available())
            .collect()
    } else {
        cli.servers.clone()
    };
    servers.sort();
    servers.dedup();
    let config = Config {
        rounds: cli.rounds,
        secs: Duration::from_secs_f64(cli.secs),
        workloads,
        servers: servers.clone(),
        client_threads: cli.client_threads.max(1),
        ip: cli.ip,
        server_program: (program, vec![SERVE_PEER.to_string()]),
    };
    let names: Vec<&str> = servers.iter().map(|s| s.name()).collect();
    eprintln!(
        "peers: {} round(s) x {} s, servers {}, open-file limit {}",
        config.rounds,
        cli.secs,
        names.join(" "),
        nofile.map_or_else(|e| format!("unchanged ({e})"), |n| n.to_string()),
    );
    let started = Instant::now();
    let cpu_before = (machine_cpu_time(), own_cpu_time());
    let results = harness::run_rounds(&config, |line| eprintln!("{line}"));
    let elapsed = started.elapsed();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // CPU the rest of the machine took meanwhile: the noise in this run's figures.
    let others = match (cpu_before, (machine_cpu_time(), own_cpu_time())) {
        ((Ok(m0), Ok(o0)), (Ok(m1), Ok(o1))) => {
            let others = (m1 - m0).saturating_sub(o1 - o0).as_secs_f64();
            format!(
                "{:.0}% of the machine",
                100.0 * others / (elapsed.as_secs_f64() * cpus as f64)
            )
        }
        _ => "unknown".to_string(),
    };
    let rows = summarize(&results, &servers);
    let client_rows = summarize_clients(&results);
    let mut table = String::new();
    if !rows.is_empty() {
        table.push_str(&render_markdown(&rows, &servers, &results));
    }
    if !client_rows.is_empty() {
        if !table.is_empty() {
            table.push('\n');
        }
        table.push_str(&render_clients_markdown(&client_rows, &results));
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "{} round(s), {} s per run, {cpus} cpus, kernel {}, {:.0} s in all; \
         other processes used {others} meanwhile\n",
        config.rounds,
        cli.secs,
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "?".to_string(), |s| s.trim().to_string()),
        elapsed.as_secs_f64(),
    );
    let _ = write!(stdout, "{table}");
    if !results.failures.is_empty() {
        let _ = writeln!(stdout, "\nFailed runs:");
        for f in &results.failures {
            let _ = writeln!(
                stdout,
                "- round {} {} {}: {}",
                f.round, f.server, f.workload, f.error
            );
        }
    }
    if let Some(path) = &cli.json {
        let json = serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>(),
            "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            "rounds": config.rounds,
            "other_processes_cpu": others,
            "secs": cli.secs,
            "servers": servers,
            "table": rows,
            "records": results.records,
            "client_table": client_rows,
            "client_records": results.clients,
            "failures": results.failures,
        });
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        if let Err(e) = fs::write(path, text) {
            eprintln!("peers: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if results.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Whether the io_uring loop can run here; says why not on stderr.
fn uring_available() -> bool {
    match uring::probe() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("peers: leaving out uring: this kernel sets up no io_uring ({e})");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_selects_every_unix_workload() {
        let Selection(all) = "unix".parse().unwrap();
        assert_eq!(all, Workload::UNIX);
        let Selection(one) = "unixgram-lat".parse().unwrap();
        assert_eq!(one, [Workload::UnixgramLat]);
        assert!("unix-1k".parse::<Selection>().is_err());
        let Selection(tls) = "tls".parse().unwrap();
        assert_eq!(tls, Workload::TLS);
    }
}
