//! A long-running echo server: `EchoServer::serve()` with every limit and the main socket
//! options on the command line. Ctrl-C or SIGTERM shuts it down gracefully and prints its
//! final statistics.
//!
//! Run it:
//!
//! ```text
//! cargo run --release --example serve                  # TCP on 127.0.0.1:9999
//! cargo run --release --example serve -- --udp         # UDP
//! cargo run --release --example serve -- unix:/tmp/echo.sock
//! cargo run --release --example serve -- --fault delay=50ms,jitter=10ms --seed 7
//! cargo run --release --example serve -- --help        # every option
//! ```
//!
//! `--fault SPEC` (repeatable) makes the server misbehave on purpose, reproducibly from
//! `--seed N`: see docs/faults.md for every SPEC.
//!
//! The address is `HOST:PORT` (TCP), `udp://HOST:PORT`, `unix:/path`, `unix:@name`,
//! `unixgram:/path` or `unixgram:@name`. An option that does not apply to the transport
//! (`--backlog` on UDP, `--dual-stack` on a Unix socket) is refused with its name.
//!
//! and talk to it from a second terminal with `cargo run --example client`, with
//! `nc 127.0.0.1 9999`, or with `nc -u 127.0.0.1 9999`.
//!
//! It binds loopback unless told otherwise. Binding `0.0.0.0` or `[::]` lets any machine that
//! can reach this one use it (and, for UDP, aim its replies at a third party by forging the
//! source address): do that only on a network you trust.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use socket_echo::{
    EchoServer, Endpoint, EndpointVisitor, Fault, Faults, Options, SourceRateLimit, Stats, ToAddrs,
    Transport,
};

mod support;
use support::{parse_duration, report};

/// A long-running RFC 862 echo server.
#[derive(Debug, Parser)]
#[command(
    name = "serve",
    after_help = "The default address is on loopback. Binding 0.0.0.0 or [::] exposes the \
                  server to every machine that can reach this one: do that only on a network \
                  you trust.\n\nCtrl-C or SIGTERM stops the server gracefully and prints its \
                  statistics."
)]
struct Args {
    /// Address to listen on: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME,
    /// unixgram:PATH or unixgram:@NAME.
    #[arg(default_value = "127.0.0.1:9999")]
    address: String,
    /// Serve datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(long)]
    udp: bool,
    /// Worker threads, each with its own event loop [default: one per core].
    #[arg(long)]
    workers: Option<NonZeroUsize>,
    /// Most connections served at once; more are closed at once [default: 16384].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Most connections served at once from one IP address [default: no limit].
    #[arg(long)]
    max_connections_per_source: Option<usize>,
    /// SO_SNDBUF and SO_RCVBUF of each accepted connection, in bytes ("none": the system's
    /// autotuning) [default: 262144]; bounds the kernel memory a client that never reads can
    /// hold.
    #[arg(long, value_parser = parse_optional_size)]
    connection_buffers: Option<MaybeSize>,
    /// Close connections idle this long ("300s", "500ms", or "none") [default: 300s].
    #[arg(long, value_parser = parse_optional_duration)]
    idle_timeout: Option<MaybeDuration>,
    /// Unsent bytes a connection may hold before the server stops reading it
    /// [default: 65536].
    #[arg(long)]
    max_pending: Option<usize>,
    /// Receive buffer size in bytes; larger datagrams are dropped, not echoed short
    /// [default: 65536].
    #[arg(long)]
    buffer_size: Option<usize>,
    /// UDP source ports never answered, comma-separated ("" for none) [default: every port
    /// below 1024].
    #[arg(long, value_parser = parse_ports)]
    deny_ports: Option<Ports>,
    /// Most datagram replies to one source: "RATE/BURST" in datagrams ("5000/5000"), or
    /// "none" [default: see `DEFAULT_SOURCE_RATE_LIMIT`].
    #[arg(long, value_parser = parse_rate_limit)]
    source_rate_limit: Option<RateLimit>,
    /// How long a shutdown waits for connections to take their pending bytes [default: 1s].
    #[arg(long, value_parser = parse_duration)]
    shutdown_grace: Option<Duration>,
    /// Length of the accept queue [default: 1024].
    #[arg(long)]
    backlog: Option<u32>,
    /// Disable TCP_NODELAY on connections.
    #[arg(long)]
    no_nodelay: bool,
    /// Set SO_REUSEPORT, so several servers can share the port.
    #[arg(long)]
    reuse_port: bool,
    /// SO_RCVBUF in bytes, of the listening socket and every connection [default: the
    /// system's].
    #[arg(long)]
    recv_buffer: Option<usize>,
    /// SO_SNDBUF in bytes [default: the system's].
    #[arg(long)]
    send_buffer: Option<usize>,
    /// On an IPv6 address, also serve IPv4 clients (clears IPV6_V6ONLY).
    #[arg(long)]
    dual_stack: bool,
    /// Permissions of a Unix socket file, in octal ("600").
    #[arg(long, value_parser = parse_mode)]
    unix_mode: Option<u32>,
    /// Print the statistics every this often while running ("10s"; "none" to stay quiet).
    #[arg(long, default_value = "none", value_parser = parse_optional_duration)]
    stats_every: MaybeDuration,
    /// Inject a fault: KIND[=VALUE][,KEY=VALUE...], for example delay=50ms,jitter=10ms,
    /// slice=16,pause=5ms, close-after=1000 or drop=0.05,burst=4 (repeatable; see
    /// docs/faults.md).
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    faults: Vec<Fault>,
    /// The seed of every random choice the faults make: the same seed and the same traffic
    /// give the same faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl Args {
    /// The options the command line set; the others keep their defaults, so an option that
    /// does not apply to the transport is refused only when it was asked for.
    fn options(&self) -> Options {
        let mut options = Options::new();
        if let Some(workers) = self.workers {
            options = options.with_workers(Some(workers));
        }
        if let Some(max) = self.max_connections {
            options = options.with_max_connections(max);
        }
        if let Some(max) = self.max_connections_per_source {
            options = options.with_max_connections_per_source(Some(max));
        }
        if let Some(MaybeSize(size)) = self.connection_buffers {
            options = options.with_connection_socket_buffers(size);
        }
        if let Some(MaybeDuration(idle)) = self.idle_timeout {
            options = options.with_idle_timeout(idle);
        }
        if let Some(max) = self.max_pending {
            options = options.with_max_pending(max);
        }
        if let Some(size) = self.buffer_size {
            options = options.with_buffer_size(size);
        }
        if let Some(Ports(ports)) = &self.deny_ports {
            options = options.with_denied_ports(ports.iter().copied());
        }
        if let Some(RateLimit(limit)) = self.source_rate_limit {
            options = options.with_source_rate_limit(limit);
        }
        if let Some(grace) = self.shutdown_grace {
            options = options.with_shutdown_grace(grace);
        }
        if let Some(backlog) = self.backlog {
            options = options.with_backlog(backlog);
        }
        if self.no_nodelay {
            options = options.with_nodelay(false);
        }
        if self.reuse_port {
            options = options.with_reuse_port(true);
        }
        if self.recv_buffer.is_some() {
            options = options.with_recv_buffer_size(self.recv_buffer);
        }
        if self.send_buffer.is_some() {
            options = options.with_send_buffer_size(self.send_buffer);
        }
        if self.dual_stack {
            options = options.with_only_v6(false);
        }
        if self.unix_mode.is_some() {
            options = options.with_unix_mode(self.unix_mode);
        }
        options
    }
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    text.parse().map_err(|e: socket_echo::Error| e.to_string())
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|mode| *mode <= 0o777)
        .ok_or_else(|| format!("`{text}` is not a mode like 600 or 0o660"))
}

/// A list of ports, parsed from the command line.
#[derive(Debug, Clone)]
struct Ports(Vec<u16>);

fn parse_ports(text: &str) -> Result<Ports, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().map_err(|e| format!("bad port {part:?}: {e}")))
        .collect::<Result<_, _>>()
        .map(Ports)
}

/// A per-source rate limit, or "none".
#[derive(Debug, Clone, Copy)]
struct RateLimit(Option<SourceRateLimit>);

fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(RateLimit(None));
    }
    let (rate, burst) = text
        .split_once('/')
        .ok_or_else(|| format!("expected RATE/BURST or none, got {text:?}"))?;
    let number = |part: &str| {
        part.trim()
            .parse::<u32>()
            .map_err(|e| format!("bad number {part:?}: {e}"))
    };
    Ok(RateLimit(Some(SourceRateLimit::new(
        number(rate)?,
        number(burst)?,
    ))))
}

/// A size in bytes, or "none".
#[derive(Debug, Clone, Copy)]
struct MaybeSize(Option<usize>);

fn parse_optional_size(text: &str) -> Result<MaybeSize, String> {
    if text.eq_ignore_ascii_case("none") {
        Ok(MaybeSize(None))
    } else {
        text.parse()
            .map(|size| MaybeSize(Some(size)))
            .map_err(|e| format!("bad size {text:?}: {e}"))
    }
}

/// A duration, or "none".
#[derive(Debug, Clone, Copy)]
struct MaybeDuration(Option<Duration>);

fn parse_optional_duration(text: &str) -> Result<MaybeDuration, String> {
    if text.eq_ignore_ascii_case("none") {
        Ok(MaybeDuration(None))
    } else {
        parse_duration(text).map(|d| MaybeDuration(Some(d)))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = args.address.parse::<Endpoint>().and_then(|endpoint| {
        let endpoint = if args.udp {
            endpoint.datagram()
        } else {
            endpoint
        };
        endpoint.visit(Serve {
            args: &args,
            transport: endpoint.transport(),
        })
    });
    match result {
        Ok(stats) => {
            println!("stopped; final statistics:");
            print_stats(&stats);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("Error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

/// Serves until Ctrl-C, over any transport.
struct Serve<'a> {
    args: &'a Args,
    transport: &'static str,
}

impl EndpointVisitor for Serve<'_> {
    type Output = socket_echo::Result<Stats>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let faults = (self.args.faults.iter().cloned())
            .fold(Faults::new().with_seed(self.args.seed), Faults::with);
        let server = EchoServer::bind_on_with(transport, address, self.args.options())?
            .with_faults(faults.clone())?;
        let handle = server.spawn()?;
        println!(
            "echo server listening on {} ({}); Ctrl-C to stop",
            handle.local_addr(),
            self.transport
        );
        if !faults.is_empty() {
            println!("injecting faults: {faults} (seed {})", faults.seed());
        }
        // The signal handler only wakes the main thread, which does the shutdown.
        let (stop, stopped) = mpsc::channel();
        if let Err(error) = ctrlc::set_handler(move || {
            let _ = stop.send(());
        }) {
            eprintln!("warning: no Ctrl-C handler ({error}); stop the server with SIGKILL");
        }
        loop {
            match self.args.stats_every.0 {
                Some(every) => match stopped.recv_timeout(every) {
                    Err(mpsc::RecvTimeoutError::Timeout) => print_stats(&handle.stats()),
                    _ => break,
                },
                None => {
                    let _ = stopped.recv();
                    break;
                }
            }
        }
        println!("shutting down...");
        handle.shutdown();
        handle.join()
    }
}

fn print_stats(stats: &Stats) {
    println!(
        "  connections: {} accepted, {} active, {} refused by limit, {} closed idle, {} failed",
        stats.accepted, stats.active, stats.refused, stats.timed_out, stats.errors
    );
    println!(
        "  refused: {} per source; cap in force {}; {} reset at shutdown",
        stats.refused_per_source, stats.max_connections, stats.shutdown_resets
    );
    println!(
        "  accept errors: {} ({} pauses)",
        stats.accept_errors, stats.accept_backoffs
    );
    println!("  bytes: {} in, {} out", stats.bytes_in, stats.bytes_out);
    println!(
        "  datagrams: {} echoed; dropped: {} denied port, {} bad source, {} own address, {} rate-limited, {} truncated, {} send failed",
        stats.datagrams_echoed,
        stats.dropped_denied_port,
        stats.dropped_bad_source,
        stats.dropped_own_address,
        stats.dropped_rate_limited,
        stats.dropped_truncated,
        stats.dropped_send_failed
    );
    let f = &stats.faults;
    if *f != Default::default() {
        println!(
            "  faults: {} delayed, {} sliced, {} rate-limited, {} stalled, {} closed, {} reset, \
             {} closed at accept, {} accepted late, {} dropped, {} duplicated, {} reordered, \
             {} truncated, {} corrupted, {} over the hold limit",
            f.delayed,
            f.sliced,
            f.rate_limited,
            f.stalled,
            f.closed,
            f.reset,
            f.accept_closed,
            f.accept_delayed,
            f.dropped,
            f.duplicated,
            f.reordered,
            f.truncated,
            f.corrupted,
            f.overflowed
        );
    }
}
