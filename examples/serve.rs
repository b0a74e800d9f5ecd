//! A long-running echo server: `EchoServer::serve()` with every limit and the main socket
//! options on the command line. Ctrl-C or SIGTERM shuts it down gracefully and prints its
//! final statistics.
//!
//! Run it:
//!
//! ```text
//! cargo run --release --example serve                  # TCP on 127.0.0.1:9999
//! cargo run --release --example serve -- --udp         # UDP
//! cargo run --release --example serve -- --help        # every option
//! ```
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
use socket_echo::{EchoServer, Options, Stats, Tcp, Transport, Udp};

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
    /// Address to listen on.
    #[arg(default_value = "127.0.0.1:9999")]
    address: String,
    /// Serve UDP instead of TCP.
    #[arg(long)]
    udp: bool,
    /// Worker threads, each with its own event loop [default: one per core].
    #[arg(long)]
    workers: Option<NonZeroUsize>,
    /// Most TCP connections served at once; more are closed at once.
    #[arg(long, default_value_t = socket_echo::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most TCP connections served at once from one IP address [default: no limit].
    #[arg(long)]
    max_connections_per_source: Option<usize>,
    /// Close TCP connections idle this long ("300s", "500ms", or "none").
    #[arg(long, default_value = "300s", value_parser = parse_optional_duration)]
    idle_timeout: MaybeDuration,
    /// Unsent bytes a TCP connection may hold before the server stops reading it.
    #[arg(long, default_value_t = socket_echo::DEFAULT_MAX_PENDING)]
    max_pending: usize,
    /// Receive buffer size in bytes; larger UDP datagrams are dropped, not echoed short.
    #[arg(long, default_value_t = socket_echo::DEFAULT_BUFFER_SIZE)]
    buffer_size: usize,
    /// UDP source ports never answered, comma-separated ("" for none).
    #[arg(long, default_value = "7,9,13,19,37", value_parser = parse_ports)]
    deny_ports: Ports,
    /// How long a shutdown waits for connections to take their pending bytes.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    shutdown_grace: Duration,
    /// Length of the TCP accept queue.
    #[arg(long, default_value_t = 1024)]
    backlog: u32,
    /// Disable TCP_NODELAY on connections.
    #[arg(long)]
    no_nodelay: bool,
    /// Set SO_REUSEPORT, so several servers can share the port.
    #[arg(long)]
    reuse_port: bool,
    /// SO_SNDBUF and SO_RCVBUF of each accepted TCP connection, in bytes ("none": the
    /// system's autotuning); bounds the kernel memory a client that never reads can hold.
    #[arg(long, value_parser = parse_optional_size)]
    connection_buffers: Option<MaybeSize>,
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
    /// Print the statistics every this often while running ("10s"; "none" to stay quiet).
    #[arg(long, default_value = "none", value_parser = parse_optional_duration)]
    stats_every: MaybeDuration,
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
    let options = Options::new()
        .with_workers(args.workers)
        .with_max_connections(args.max_connections)
        .with_max_connections_per_source(args.max_connections_per_source)
        .with_idle_timeout(args.idle_timeout.0)
        .with_max_pending(args.max_pending)
        .with_buffer_size(args.buffer_size)
        .with_shutdown_grace(args.shutdown_grace)
        .with_backlog(args.backlog)
        .with_nodelay(!args.no_nodelay)
        .with_reuse_port(args.reuse_port)
        .with_recv_buffer_size(args.recv_buffer)
        .with_send_buffer_size(args.send_buffer)
        .with_connection_socket_buffers(
            args.connection_buffers
                .map_or(socket_echo::DEFAULT_CONNECTION_SOCKET_BUFFERS, |size| {
                    size.0
                }),
        )
        .with_only_v6(!args.dual_stack)
        .with_denied_ports(args.deny_ports.0.iter().copied());
    let result = if args.udp {
        run(Udp, &args, options)
    } else {
        run(Tcp, &args, options)
    };
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

fn run<T: Transport>(transport: T, args: &Args, options: Options) -> socket_echo::Result<Stats> {
    let server = EchoServer::bind_on_with(transport, args.address.as_str(), options)?;
    let handle = server.spawn()?;
    println!(
        "echo server listening on {} ({}); Ctrl-C to stop",
        handle.local_addr(),
        if args.udp { "udp" } else { "tcp" }
    );
    // The signal handler only wakes the main thread, which does the shutdown.
    let (stop, stopped) = mpsc::channel();
    if let Err(error) = ctrlc::set_handler(move || {
        let _ = stop.send(());
    }) {
        eprintln!("warning: no Ctrl-C handler ({error}); stop the server with SIGKILL");
    }
    loop {
        match args.stats_every.0 {
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
        "  datagrams: {} echoed; dropped: {} denied port, {} bad source, {} truncated, {} send failed",
        stats.datagrams_echoed,
        stats.dropped_denied_port,
        stats.dropped_bad_source,
        stats.dropped_truncated,
        stats.dropped_send_failed
    );
}
