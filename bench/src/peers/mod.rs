//! The servers compared: this crate's own and the peers it is measured against.
//!
//! Each peer is the least code of its kind, kept honest: it echoes every byte, and does
//! nothing a benchmark would not see. One file per peer; each exposes `serve_tcp` and
//! `serve_udp`, which bind, report the bound address through `on_bound`, then serve until the
//! process ends.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::str::FromStr;

pub mod epoll;
pub mod naive;
pub mod ours;
pub mod raw;
pub mod tokio;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A blocking ping-pong server on one thread: the floor for the latency workloads.
    Raw,
    /// std, one thread per connection (what a tutorial reader writes).
    Naive,
    /// The canonical tokio echo (what a Rust user picks instead).
    Tokio,
    /// One edge-triggered mio loop per core over SO_REUSEPORT sockets (the limit).
    Epoll,
    /// This crate's `EchoServer::serve()`.
    Ours,
}

impl Kind {
    /// Every server, in the order of the table's columns.
    pub const ALL: [Kind; 5] = [Kind::Raw, Kind::Naive, Kind::Tokio, Kind::Epoll, Kind::Ours];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Naive => "naive",
            Kind::Tokio => "tokio",
            Kind::Epoll => "epoll",
            Kind::Ours => "ours",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| {
                format!("unknown server `{s}` (expected raw, naive, tokio, epoll or ours)")
            })
    }
}

/// Which transport a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl FromStr for Proto {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            _ => Err(format!("unknown transport `{s}` (expected tcp or udp)")),
        }
    }
}

/// Binds server `kind` for `proto` on `addr`, calls `on_bound` with the bound address, then
/// serves until the process ends.
///
/// # Errors
///
/// Any error binding the socket or starting the server; serving itself only returns on a
/// fatal error.
pub fn serve(
    kind: Kind,
    proto: Proto,
    addr: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    match (kind, proto) {
        (Kind::Raw, Proto::Tcp) => raw::serve_tcp(addr, on_bound),
        (Kind::Raw, Proto::Udp) => raw::serve_udp(addr, on_bound),
        (Kind::Naive, Proto::Tcp) => naive::serve_tcp(addr, on_bound),
        (Kind::Naive, Proto::Udp) => naive::serve_udp(addr, on_bound),
        (Kind::Tokio, Proto::Tcp) => tokio::serve_tcp(addr, on_bound),
        (Kind::Tokio, Proto::Udp) => tokio::serve_udp(addr, on_bound),
        (Kind::Epoll, Proto::Tcp) => epoll::serve_tcp(addr, on_bound),
        (Kind::Epoll, Proto::Udp) => epoll::serve_udp(addr, on_bound),
        (Kind::Ours, Proto::Tcp) => ours::serve_tcp(addr, on_bound),
        (Kind::Ours, Proto::Udp) => ours::serve_udp(addr, on_bound),
    }
}
