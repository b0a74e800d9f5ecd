//! The flags of `serve`, their values' parsers, and what they make: the library's
//! [`Options`] and [`Faults`] for each address, with the transports each flag concerns.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use socket_echo::{Endpoint, Fault, Faults, Options, SourceRateLimit, TlsOptions};

use crate::control::Place;
use crate::flags::{self, DEFAULT_ADDRESS, MIN_DURATION, at_least, duration, size_at_least};
use crate::running::takes;

/// A long-running echo server, on one or more addresses at once.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo serve                                     # TCP on 127.0.0.1:9999
  socket-echo serve localhost:9999 udp://localhost:9999 unix:/tmp/echo.sock
  socket-echo serve 127.0.0.1:7007 --max-connections 10000 --idle-timeout 60s
  socket-echo serve udp://127.0.0.1:9999 --deny-ports 7,9,13,19,37
  socket-echo serve --stats-every 10s --json
  socket-echo serve localhost:9999 --fault delay=50ms,jitter=10ms --seed 7
  socket-echo serve 127.0.0.1:9999 --control 127.0.0.1:0   # then: socket-echo ctl ...
  socket-echo serve udp://localhost:9999 --fault drop=0.05,burst=4 --fault duplicate=0.1
  socket-echo serve tls://localhost:9443 --cert-out cert.pem   # then: ping --ca cert.pem
  socket-echo serve tls://0.0.0.0:9443 --cert chain.pem --key key.pem --client-ca ca.pem

A flag applies to the addresses whose transport it concerns (--backlog to the stream ones,
--deny-ports to UDP, the TLS flags to tls:// and tls+unix:); one that concerns none of them
is refused. The default address is on
loopback. Binding 0.0.0.0 or [::] exposes the server to every machine that can reach this
one: do that only on a network you trust.

--control ADDR serves HTTP: GET /stats, GET /metrics (Prometheus), GET, PUT and DELETE
/faults, so a test in any language can read the statistics and change the faults while the
server runs (docs/cli.md); `socket-echo ctl` is its client. It prints \"control on
http://HOST:PORT\" (or unix:PATH) after the addresses. It has no authentication: it takes
loopback or a Unix socket path (mode 600) only, unless --control-allow-remote.

Ctrl-C or SIGTERM stops the server gracefully and prints its statistics; a second one during
the shutdown grace exits at once with the statistics so far (exit status 1), the connections
still open closed as the process ends.

A TLS address serves the certificate of --cert and --key, or one made at start for
localhost and the address (self-signed, new on each start); its SHA-256 fingerprint is
printed after the address (\"certificate of ADDRESS: sha256 AB:CD:...\"), and --cert-out
writes the certificate clients must trust (`ping --ca FILE`, `openssl s_client -CAfile
FILE`).", exit_status!()))]
pub struct Args {
    /// Addresses to listen on: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME,
    /// unixgram:PATH or unixgram:@NAME.
    #[arg(value_name = "ADDRESS", default_value = DEFAULT_ADDRESS)]
    pub addresses: Vec<String>,
    /// Serve datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(long)]
    pub(super) udp: bool,
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
    #[arg(long, value_name = "BYTES", value_parser = size_at_least(1), allow_hyphen_values = true)]
    max_pending: Option<usize>,
    /// Receive buffer size in bytes; larger datagrams are dropped, not echoed short
    /// [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = size_at_least(1), allow_hyphen_values = true)]
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
    #[arg(long, value_name = "BYTES", value_parser = size_at_least(1), allow_hyphen_values = true)]
    recv_buffer: Option<usize>,
    /// SO_SNDBUF in bytes [default: the system's].
    #[arg(long, value_name = "BYTES", value_parser = size_at_least(1), allow_hyphen_values = true)]
    send_buffer: Option<usize>,
    /// On an IPv6 address, also serve IPv4 clients (clears IPV6_V6ONLY).
    #[arg(long)]
    pub(super) dual_stack: bool,
    /// Permissions of a Unix socket file, in octal ("600").
    #[arg(long, value_parser = parse_mode)]
    unix_mode: Option<u32>,
    /// Most connections served at once from one IP address [default: no limit].
    #[arg(long, value_name = "N", value_parser = at_least(1usize), allow_hyphen_values = true)]
    max_connections_per_source: Option<usize>,
    /// SO_SNDBUF and SO_RCVBUF of each accepted connection, in bytes, or "none" for the
    /// system's autotuning [default: 262144]; bounds the kernel memory a client that never
    /// reads can hold.
    #[arg(long, value_name = "BYTES", value_parser = parse_optional_size)]
    connection_buffers: Option<MaybeSize>,
    /// Most datagrams answered per second from one source that sends the server's own
    /// recent replies back, whole or altered (what a loop between two servers does):
    /// "RATE/BURST", or "none"
    /// [default: 100/1000].
    #[arg(long, value_name = "RATE/BURST", value_parser = parse_rate_limit)]
    source_rate_limit: Option<RateLimit>,
    /// Misbehave as asked: KIND[=VALUE][,KEY=VALUE...], for example delay=50ms,jitter=10ms,
    /// slice=16,pause=5ms, rate=64KiB, stall-after=1000, close-after=1000, reset-after=1000,
    /// close-in=2s, reset-in=2s, slow-close=500ms, blackhole, drop=0.3, drop=0.05,burst=4, duplicate=0.1, reorder=0.1, truncate=100, corrupt=0.01;
    /// tls-stall=hello|finished, tls-reset=handshake,
    /// tls-cert=expired|not-yet-valid|wrong-name|untrusted, tls-truncate[=N];
    /// every kind takes probability=, connections=, after= and peer= (repeatable; see
    /// docs/faults.md). A stream fault goes to the stream addresses, a datagram fault to the
    /// datagram ones, a TLS fault to the tls:// and tls+unix: ones.
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    pub(super) faults: Vec<Fault>,
    /// The seed of every random choice of the faults: the same seed and the same traffic
    /// give the same faults [default: 0].
    #[arg(long, value_name = "N")]
    pub(super) seed: Option<u64>,
    /// Print the statistics every this often while running, at least every 100ms ("10s";
    /// "none" to stay quiet).
    #[arg(long, value_name = "DURATION", default_value = "none", value_parser = parse_stats_every, allow_hyphen_values = true)]
    pub(super) stats_every: MaybeDuration,
    /// Print JSON, one object per line: the addresses, the statistics, the final ones (an
    /// error object for an address that cannot be served).
    #[arg(long)]
    pub json: bool,
    /// Serve the HTTP control endpoint here: 127.0.0.1:PORT (0 picks a free port),
    /// [::1]:PORT or unix:PATH [default: none].
    #[arg(long, value_name = "ADDRESS", value_parser = Place::parse)]
    pub(super) control: Option<Place>,
    /// Let --control listen on an address other machines can reach, with no authentication
    /// (warned about on standard error).
    #[arg(long, requires = "control")]
    pub(super) control_allow_remote: bool,
    /// Serve this certificate chain (PEM, the leaf first) on the TLS addresses, with --key
    /// [default: a self-signed one for localhost and the address].
    #[arg(long, value_name = "FILE", requires = "key", help_heading = TLS)]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert", help_heading = TLS)]
    key: Option<PathBuf>,
    /// Write the certificate clients must trust (PEM) to this file once the servers
    /// listen, before the addresses are printed.
    #[arg(long, value_name = "FILE", help_heading = TLS)]
    pub(super) cert_out: Option<PathBuf>,
    /// Require a client certificate signed by a certificate of this PEM file (mutual TLS).
    #[arg(long, value_name = "FILE", help_heading = TLS)]
    client_ca: Option<PathBuf>,
    /// How long a TLS handshake may take before the connection is closed [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration(MIN_DURATION), allow_hyphen_values = true, help_heading = TLS)]
    handshake_timeout: Option<Duration>,
    /// Accept this ALPN protocol (repeatable, or several separated by commas:
    /// "h2,http/1.1"), in order of preference: a client that offers only others is refused,
    /// one that offers none is served; the statistics count the handshakes by the protocol
    /// agreed [default: no ALPN].
    #[arg(long, value_name = "PROTO", value_parser = crate::tls::parse_alpn, help_heading = TLS)]
    alpn: Vec<crate::tls::Alpn>,
}

/// The heading of the TLS flags in `--help`.
const TLS: &str = "TLS (tls:// and tls+unix: addresses)";

impl Args {
    /// The flags given, each with the option of the library it sets (its name in
    /// [`Options::applies_to`], which says the transports it concerns).
    pub(super) fn given(&self) -> Vec<(&'static str, &'static str)> {
        self.flags()
            .into_iter()
            .filter(|(set, _, _)| *set)
            .map(|(_, flag, option)| (flag, option))
            .collect()
    }

    /// Every flag that sets an option: whether it was given, its name, and the option's.
    fn flags(&self) -> [(bool, &'static str, &'static str); 23] {
        [
            (self.workers.is_some(), "--workers", "workers"),
            (
                self.max_connections.is_some(),
                "--max-connections",
                "max_connections",
            ),
            (
                self.idle_timeout.is_some(),
                "--idle-timeout",
                "idle_timeout",
            ),
            (self.max_pending.is_some(), "--max-pending", "max_pending"),
            (self.buffer_size.is_some(), "--buffer-size", "buffer_size"),
            (self.deny_ports.is_some(), "--deny-ports", "denied_ports"),
            (
                self.shutdown_grace.is_some(),
                "--shutdown-grace",
                "shutdown_grace",
            ),
            (self.backlog.is_some(), "--backlog", "backlog"),
            (self.no_nodelay, "--no-nodelay", "nodelay"),
            (self.reuse_port, "--reuse-port", "reuse_port"),
            (
                self.recv_buffer.is_some(),
                "--recv-buffer",
                "recv_buffer_size",
            ),
            (
                self.send_buffer.is_some(),
                "--send-buffer",
                "send_buffer_size",
            ),
            (self.dual_stack, "--dual-stack", "only_v6"),
            (self.unix_mode.is_some(), "--unix-mode", "unix_mode"),
            (
                self.max_connections_per_source.is_some(),
                "--max-connections-per-source",
                "max_connections_per_source",
            ),
            (
                self.connection_buffers.is_some(),
                "--connection-buffers",
                "connection_socket_buffers",
            ),
            (
                self.source_rate_limit.is_some(),
                "--source-rate-limit",
                "source_rate_limit",
            ),
            (self.cert.is_some(), "--cert", "tls"),
            (self.key.is_some(), "--key", "tls"),
            (self.cert_out.is_some(), "--cert-out", "tls"),
            (self.client_ca.is_some(), "--client-ca", "tls"),
            (
                self.handshake_timeout.is_some(),
                "--handshake-timeout",
                "tls",
            ),
            (!self.alpn.is_empty(), "--alpn", "tls"),
        ]
    }

    /// The TLS settings of every TLS address, its PEM files read: `None` with no TLS flag.
    pub(super) fn tls(&self) -> Result<Option<TlsOptions>, flags::Failure> {
        if self.given().iter().all(|(_, option)| *option != "tls") {
            return Ok(None);
        }
        let mut tls = TlsOptions::new();
        if let Some(identity) = crate::tls::identity(self.cert.as_deref(), self.key.as_deref())? {
            tls = tls.with_identity(identity);
        }
        if let Some(path) = &self.client_ca {
            for certificate in crate::tls::certificates("--client-ca", path)? {
                tls = tls.with_client_ca(certificate);
            }
        }
        if let Some(timeout) = self.handshake_timeout {
            tls = tls.with_handshake_timeout(timeout);
        }
        Ok(Some(crate::tls::with_alpn(tls, &self.alpn)))
    }

    /// The options the command line set that concern `endpoint`, with `tls` (from
    /// [`tls`](Self::tls)) for a TLS one; the others keep their defaults, since the library
    /// refuses an option set for a transport it cannot apply to.
    pub(super) fn options(&self, endpoint: &Endpoint, tls: Option<&TlsOptions>) -> Options {
        let applies = |flag: &str| {
            self.given().iter().any(|(given, option)| {
                *given == flag && Options::applies_to(option, endpoint.transport())
            })
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
        if let Some(max) = self
            .max_connections_per_source
            .filter(|_| applies("--max-connections-per-source"))
        {
            options = options.with_max_connections_per_source(Some(max));
        }
        if let Some(MaybeSize(size)) = self
            .connection_buffers
            .filter(|_| applies("--connection-buffers"))
        {
            options = options.with_connection_socket_buffers(size);
        }
        if let Some(RateLimit(limit)) = self
            .source_rate_limit
            .filter(|_| applies("--source-rate-limit"))
        {
            options = options.with_source_rate_limit(limit);
        }
        if let Some(tls) = tls.filter(|_| endpoint.is_tls()) {
            options = options.with_tls(tls.clone());
        }
        options
    }

    /// The faults for `endpoint`: those it takes (of its kind, stream or datagram; TLS ones
    /// for a TLS address only), with the seed.
    pub(super) fn faults(&self, endpoint: &Endpoint) -> Faults {
        self.faults
            .iter()
            .filter(|fault| takes(endpoint.transport(), fault))
            .cloned()
            .fold(
                Faults::new().with_seed(self.seed.unwrap_or(0)),
                Faults::with,
            )
    }
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    text.parse::<Fault>().map_err(|error| flags::report(&error))
}

/// A size in bytes, or "none".
#[derive(Debug, Clone, Copy)]
struct MaybeSize(Option<usize>);

fn parse_optional_size(text: &str) -> Result<MaybeSize, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(MaybeSize(None));
    }
    size_at_least(1)(text).map(|size| MaybeSize(Some(size)))
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
        .ok_or_else(|| format!("expected RATE/BURST (\"100/1000\") or none, got {text:?}"))?;
    let rate = at_least(1u32)(rate.trim()).map_err(|e| format!("rate: {e}"))?;
    let burst = at_least(1u32)(burst.trim()).map_err(|e| format!("burst: {e}"))?;
    Ok(RateLimit(Some(SourceRateLimit::new(rate, burst))))
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
pub(super) struct MaybeDuration(pub(super) Option<Duration>);

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

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches};

    use super::*;

    /// Every flag names an option the library knows, so none is refused for a typo.
    #[test]
    fn every_flag_sets_an_option_of_the_library() {
        let command = Args::augment_args(clap::Command::new("serve"));
        let matches = command.get_matches_from(["serve"]);
        let args = Args::from_arg_matches(&matches).unwrap();
        for (_, flag, option) in args.flags() {
            let known = ["tcp", "udp", "unix", "unixgram", "tls", "tls+unix"]
                .iter()
                .any(|transport| Options::applies_to(option, transport));
            assert!(
                known,
                "{flag} sets {option:?}, which the library does not know"
            );
        }
    }
}
