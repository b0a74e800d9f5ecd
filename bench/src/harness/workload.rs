//! The workloads of PERFORMANCE.md: their names, the sets a run selects, the transport each
//! runs over and the servers that take part in each.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::peers::{Kind, Proto};

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

    pub(super) fn proto(self) -> Proto {
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
