//! `socket-echo serve`: the library's `EchoServer::serve()` on one or more addresses, with
//! every limit and the main socket options as flags, one set of statistics, and a graceful
//! stop on SIGINT or SIGTERM.

use std::net::ToSocketAddrs;
use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use socket_echo::{
    EchoServer, Endpoint, EndpointVisitor, Options, ServerHandle, Stats, ToAddrs, Transport,
};

use crate::Exit;
use crate::flags::{self, MIN_DURATION, at_least, duration};
use crate::out::Out;

/// A long-running echo server, on one or more addresses at once.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo serve                                     # TCP on 127.0.0.1:9999
  socket-echo serve localhost:9999 udp://localhost:9999 unix:/tmp/echo.sock
  socket-echo serve 127.0.0.1:7007 --max-connections 10000 --idle-timeout 60s
  socket-echo serve udp://127.0.0.1:9999 --deny-ports 7,9,13,19,37
  socket-echo serve --stats-every 10s --json

A flag applies to the addresses whose transport it concerns (--backlog to the stream ones,
--deny-ports to UDP); one that concerns none of them is refused. The default address is on
loopback. Binding 0.0.0.0 or [::] exposes the server to every machine that can reach this
one: do that only on a network you trust.

Ctrl-C or SIGTERM stops the server gracefully and prints its statistics.", exit_status!()))]
pub struct Args {
    /// Addresses to listen on: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME,
    /// unixgram:PATH or unixgram:@NAME.
    #[arg(value_name = "ADDRESS", default_value = "127.0.0.1:9999")]
    addresses: Vec<String>,
    /// Serve datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(long)]
    udp: bool,
    /// Worker threads per address, each with its own event loop [default: one per core].
    #[arg(long, value_name = "N", value_parser = at_least(1usize), allow_hyphen_values = true)]
    workers: Option<usize>,
    /// Most connections served at once; more are closed at once [default: 16384].
    #[arg(long, value_name = "N", value_parser = at_least(1usize), allow_hyphen_values = true)]
    max_connections: Option<usize>,
    /// Close connections idle this long ("300s", "500ms", or "none") [default: 300s].
    #[arg(long, value_name = "DURATION", value_parser = parse_idle_timeout, allow_hyphen_values = true)]
    idle_timeout: Option<MaybeDuration>,
    /// Unsent bytes a connection may hold before the server stops reading it
    /// [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = at_least(1usize), allow_hyphen_values = true)]
    max_pending: Option<usize>,
    /// Receive buffer size in bytes; larger datagrams are dropped, not echoed short
    /// [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = at_least(1usize), allow_hyphen_values = true)]
    buffer_size: Option<usize>,
    /// UDP source ports never answered, comma-separated ("" for none).
    #[arg(long, value_parser = parse_ports)]
    deny_ports: Option<Ports>,
    /// How long a shutdown waits for connections to take their pending bytes; 0s closes
    /// them at once [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration(Duration::ZERO), allow_hyphen_values = true)]
    shutdown_grace: Option<Duration>,
    /// Length of the accept queue [default: 1024].
    #[arg(long, value_name = "N", value_parser = at_least(1u32), allow_hyphen_values = true)]
    backlog: Option<u32>,
    /// Disable TCP_NODELAY on connections.
    #[arg(long)]
    no_nodelay: bool,
    /// Set SO_REUSEPORT, so several servers can share the port.
    #[arg(long)]
    reuse_port: bool,
    /// SO_RCVBUF in bytes [default: the system's].
    #[arg(long, value_name = "BYTES", value_parser = at_least(1usize), allow_hyphen_values = true)]
    recv_buffer: Option<usize>,
    /// SO_SNDBUF in bytes [default: the system's].
    #[arg(long, value_name = "BYTES", value_parser = at_least(1usize), allow_hyphen_values = true)]
    send_buffer: Option<usize>,
    /// On an IPv6 address, also serve IPv4 clients (clears IPV6_V6ONLY).
    #[arg(long)]
    dual_stack: bool,
    /// Permissions of a Unix socket file, in octal ("600").
    #[arg(long, value_parser = parse_mode)]
    unix_mode: Option<u32>,
    /// Print the statistics every this often while running, at least every 100ms ("10s";
    /// "none" to stay quiet).
    #[arg(long, value_name = "DURATION", default_value = "none", value_parser = parse_stats_every, allow_hyphen_values = true)]
    stats_every: MaybeDuration,
    /// Print JSON, one object per line: the addresses, the statistics, the final ones.
    #[arg(long)]
    json: bool,
}

/// The transports a flag concerns.
#[derive(Debug, Clone, Copy)]
enum Applies {
    All,
    Stream,
    Tcp,
    Ip,
    Udp,
    UnixKinds,
}

impl Applies {
    fn to(self, endpoint: &Endpoint) -> bool {
        let transport = endpoint.transport();
        match self {
            Applies::All => true,
            Applies::Stream => !endpoint.is_datagram(),
            Applies::Tcp => transport == "tcp",
            Applies::Ip => matches!(transport, "tcp" | "udp"),
            Applies::Udp => transport == "udp",
            Applies::UnixKinds => matches!(transport, "unix" | "unixgram"),
        }
    }
}

impl Args {
    /// The flags given, each with the transports it concerns.
    fn given(&self) -> Vec<(&'static str, Applies)> {
        let mut given = Vec::new();
        let mut note = |set: bool, flag, applies| {
            if set {
                given.push((flag, applies));
            }
        };
        note(self.workers.is_some(), "--workers", Applies::All);
        note(
            self.max_connections.is_some(),
            "--max-connections",
            Applies::Stream,
        );
        note(
            self.idle_timeout.is_some(),
            "--idle-timeout",
            Applies::Stream,
        );
        note(self.max_pending.is_some(), "--max-pending", Applies::Stream);
        note(self.buffer_size.is_some(), "--buffer-size", Applies::All);
        note(self.deny_ports.is_some(), "--deny-ports", Applies::Udp);
        note(
            self.shutdown_grace.is_some(),
            "--shutdown-grace",
            Applies::Stream,
        );
        note(self.backlog.is_some(), "--backlog", Applies::Stream);
        note(self.no_nodelay, "--no-nodelay", Applies::Tcp);
        note(self.reuse_port, "--reuse-port", Applies::Ip);
        note(self.recv_buffer.is_some(), "--recv-buffer", Applies::All);
        note(self.send_buffer.is_some(), "--send-buffer", Applies::All);
        note(self.dual_stack, "--dual-stack", Applies::Ip);
        note(self.unix_mode.is_some(), "--unix-mode", Applies::UnixKinds);
        given
    }

    /// The options the command line set that concern `endpoint`; the others keep their
    /// defaults, since the library refuses an option set for a transport it cannot apply to.
    fn options(&self, endpoint: &Endpoint) -> Options {
        let applies = |flag: &str| {
            self.given()
                .iter()
                .any(|(given, to)| *given == flag && to.to(endpoint))
        };
        let mut options = Options::new();
        if let Some(workers) = self.workers {
            options = options.with_workers(NonZeroUsize::new(workers));
        }
        if let Some(max) = self
            .max_connections
            .filter(|_| applies("--max-connections"))
        {
            options = options.with_max_connections(max);
        }
        if let Some(MaybeDuration(idle)) = self.idle_timeout.filter(|_| applies("--idle-timeout")) {
            options = options.with_idle_timeout(idle);
        }
        if let Some(max) = self.max_pending.filter(|_| applies("--max-pending")) {
            options = options.with_max_pending(max);
        }
        if let Some(size) = self.buffer_size {
            options = options.with_buffer_size(size);
        }
        if let Some(Ports(ports)) = self.deny_ports.as_ref().filter(|_| applies("--deny-ports")) {
            options = options.with_denied_ports(ports.iter().copied());
        }
        if let Some(grace) = self.shutdown_grace.filter(|_| applies("--shutdown-grace")) {
            options = options.with_shutdown_grace(grace);
        }
        if let Some(backlog) = self.backlog.filter(|_| applies("--backlog")) {
            options = options.with_backlog(backlog);
        }
        if applies("--no-nodelay") {
            options = options.with_nodelay(false);
        }
        if applies("--reuse-port") {
            options = options.with_reuse_port(true);
        }
        if self.recv_buffer.is_some() {
            options = options.with_recv_buffer_size(self.recv_buffer);
        }
        if self.send_buffer.is_some() {
            options = options.with_send_buffer_size(self.send_buffer);
        }
        if applies("--dual-stack") {
            options = options.with_only_v6(false);
        }
        if applies("--unix-mode") {
            options = options.with_unix_mode(self.unix_mode);
        }
        options
    }
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

/// A duration, or "none".
#[derive(Debug, Clone, Copy)]
struct MaybeDuration(Option<Duration>);

/// A duration of at least `floor`, or "none".
fn optional_duration(text: &str, floor: Duration) -> Result<MaybeDuration, String> {
    if text.eq_ignore_ascii_case("none") {
        Ok(MaybeDuration(None))
    } else {
        duration(floor)(text).map(|d| MaybeDuration(Some(d)))
    }
}

fn parse_idle_timeout(text: &str) -> Result<MaybeDuration, String> {
    optional_duration(text, MIN_DURATION)
}

/// The shortest period of `--stats-every`: more often is a flood, not a report.
const STATS_FLOOR: Duration = Duration::from_millis(100);

fn parse_stats_every(text: &str) -> Result<MaybeDuration, String> {
    optional_duration(text, STATS_FLOOR)
        .map_err(|reason| format!("{reason} (or none): more often would flood the output"))
}

/// Whether an IP endpoint names IPv4 addresses only.
fn is_ipv4(endpoint: &Endpoint) -> bool {
    let (Endpoint::Tcp(address) | Endpoint::Udp(address)) = endpoint else {
        return false;
    };
    match address.to_socket_addrs() {
        Ok(mut addrs) => addrs.all(|addr| addr.is_ipv4()),
        // Left to the bind, which names what is wrong with it.
        Err(_) => false,
    }
}

/// A running server of any transport.
trait Running {
    fn address(&self) -> String;
    fn stats(&self) -> Stats;
    fn shutdown(&self);
    fn join(self: Box<Self>) -> socket_echo::Result<Stats>;
}

impl<T: Transport> Running for ServerHandle<T> {
    fn address(&self) -> String {
        // The address as the other subcommands take it, so it can be pasted.
        let addr = self.local_addr();
        match T::NAME {
            "tcp" => addr.to_string(),
            "udp" => format!("udp://{addr}"),
            other => format!("{other}:{addr}"),
        }
    }

    fn stats(&self) -> Stats {
        ServerHandle::stats(self)
    }

    fn shutdown(&self) {
        ServerHandle::shutdown(self);
    }

    fn join(self: Box<Self>) -> socket_echo::Result<Stats> {
        ServerHandle::join(*self)
    }
}

/// Binds and starts a server over any transport.
struct Spawn {
    options: Options,
}

impl EndpointVisitor for Spawn {
    type Output = socket_echo::Result<Box<dyn Running>>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let server = EchoServer::bind_on_with(transport, address, self.options)?;
        Ok(Box::new(server.spawn()?))
    }
}

pub fn run(args: &Args) -> Exit {
    let mut endpoints = Vec::new();
    for address in &args.addresses {
        match flags::endpoint(address, args.udp) {
            Ok(endpoint) => endpoints.push(endpoint),
            Err(exit) => return exit,
        }
    }
    for (flag, applies) in args.given() {
        if !endpoints.iter().any(|endpoint| applies.to(endpoint)) {
            let transports: Vec<&str> = endpoints.iter().map(Endpoint::transport).collect();
            log::error!(
                "{flag} does not apply to {}: nothing would use it",
                transports.join(", ")
            );
            return Exit::Usage;
        }
    }
    if args.dual_stack
        && let Some(ipv4) = endpoints.iter().find(|endpoint| is_ipv4(endpoint))
    {
        log::error!(
            "--dual-stack lets an IPv6 socket take IPv4 clients too: {ipv4} is IPv4 \
             (bind [::]:PORT instead)"
        );
        return Exit::Usage;
    }
    let mut servers: Vec<Box<dyn Running>> = Vec::new();
    for endpoint in &endpoints {
        match endpoint.visit(Spawn {
            options: args.options(endpoint),
        }) {
            Ok(server) => servers.push(server),
            Err(error) => {
                // The servers already started stop when dropped.
                return flags::failed(&error);
            }
        }
    }
    // From here on standard output may close (`| head`): the servers go on regardless.
    let mut out = Out::new();
    for server in &servers {
        if args.json {
            let line = Listening {
                r#type: "listening",
                address: server.address(),
            };
            out.line(serde_json::to_string(&line).unwrap_or_default());
        } else {
            out.line(format_args!("listening on {}", server.address()));
        }
    }
    log::info!("Ctrl-C or SIGTERM stops the server");

    // The signal handler only wakes the main thread, which does the shutdown.
    let (stop, stopped) = mpsc::channel();
    if let Err(error) = ctrlc::set_handler(move || {
        let _ = stop.send(());
    }) {
        log::warn!("no Ctrl-C handler ({error}); stop the server with SIGKILL");
    }
    let start = Instant::now();
    loop {
        match args.stats_every.0 {
            Some(every) => match stopped.recv_timeout(every) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let stats = sum(&servers);
                    print_stats(&mut out, args.json, "stats", start.elapsed(), &stats);
                }
                _ => break,
            },
            None => {
                let _ = stopped.recv();
                break;
            }
        }
    }
    log::info!("shutting down");
    for server in &servers {
        server.shutdown();
    }
    let mut total = Stats::default();
    let mut exit = Exit::Success;
    for server in servers {
        let address = server.address();
        match server.join() {
            Ok(stats) => add(&mut total, &stats),
            Err(error) => {
                log::error!("the server on {address} failed: {}", flags::report(&error));
                exit = Exit::Failed;
            }
        }
    }
    print_stats(&mut out, args.json, "stopped", start.elapsed(), &total);
    exit
}

/// `serve --json`: where a server listens.
#[derive(Serialize)]
struct Listening {
    r#type: &'static str,
    address: String,
}

/// The statistics as one JSON object: `type` ("stats" or "stopped"), `elapsed_s`, and one
/// field per counter of `Stats` (docs/cli.md).
#[derive(Serialize)]
struct StatsLine {
    r#type: &'static str,
    elapsed_s: f64,
    accepted: u64,
    active: u64,
    refused: u64,
    timed_out: u64,
    errors: u64,
    accept_errors: u64,
    accept_backoffs: u64,
    bytes_in: u64,
    bytes_out: u64,
    datagrams_echoed: u64,
    dropped_denied_port: u64,
    dropped_bad_source: u64,
    dropped_own_address: u64,
    dropped_truncated: u64,
    dropped_send_failed: u64,
}

impl StatsLine {
    fn new(event: &'static str, elapsed: Duration, s: &Stats) -> Self {
        StatsLine {
            r#type: event,
            elapsed_s: elapsed.as_secs_f64(),
            accepted: s.accepted,
            active: s.active,
            refused: s.refused,
            timed_out: s.timed_out,
            errors: s.errors,
            accept_errors: s.accept_errors,
            accept_backoffs: s.accept_backoffs,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            datagrams_echoed: s.datagrams_echoed,
            dropped_denied_port: s.dropped_denied_port,
            dropped_bad_source: s.dropped_bad_source,
            dropped_own_address: s.dropped_own_address,
            dropped_truncated: s.dropped_truncated,
            dropped_send_failed: s.dropped_send_failed,
        }
    }
}

/// The statistics of every server, summed.
fn sum(servers: &[Box<dyn Running>]) -> Stats {
    let mut total = Stats::default();
    for server in servers {
        add(&mut total, &server.stats());
    }
    total
}

fn add(total: &mut Stats, s: &Stats) {
    total.accepted += s.accepted;
    total.active += s.active;
    total.refused += s.refused;
    total.timed_out += s.timed_out;
    total.errors += s.errors;
    total.accept_errors += s.accept_errors;
    total.accept_backoffs += s.accept_backoffs;
    total.bytes_in += s.bytes_in;
    total.bytes_out += s.bytes_out;
    total.datagrams_echoed += s.datagrams_echoed;
    total.dropped_denied_port += s.dropped_denied_port;
    total.dropped_bad_source += s.dropped_bad_source;
    total.dropped_own_address += s.dropped_own_address;
    total.dropped_truncated += s.dropped_truncated;
    total.dropped_send_failed += s.dropped_send_failed;
}

fn print_stats(out: &mut Out, json: bool, event: &'static str, elapsed: Duration, stats: &Stats) {
    if json {
        let line = StatsLine::new(event, elapsed, stats);
        out.line(serde_json::to_string(&line).unwrap_or_default());
        return;
    }
    let title = if event == "stopped" {
        "stopped; final statistics:".to_owned()
    } else {
        format!("statistics after {:.1} s:", elapsed.as_secs_f64())
    };
    out.line(format_args!(
        "{title}\n\
         \x20 connections: {} accepted, {} active, {} refused by limit, {} closed idle, {} failed\n\
         \x20 accept errors: {} ({} pauses)\n\
         \x20 bytes: {} in, {} out\n\
         \x20 datagrams: {} echoed; dropped: {} denied port, {} bad source, {} own address, \
         {} truncated, {} send failed",
        stats.accepted,
        stats.active,
        stats.refused,
        stats.timed_out,
        stats.errors,
        stats.accept_errors,
        stats.accept_backoffs,
        stats.bytes_in,
        stats.bytes_out,
        stats.datagrams_echoed,
        stats.dropped_denied_port,
        stats.dropped_bad_source,
        stats.dropped_own_address,
        stats.dropped_truncated,
        stats.dropped_send_failed
    ));
}
