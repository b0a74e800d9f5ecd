//! The servers compared: this crate's own and the peers it is measured against.
//!
//! Each peer is the least code of its kind, kept honest: it echoes every byte, and does
//! nothing a benchmark would not see. One file per peer (the io_uring loop, `uring`, is a
//! small folder); each exposes `serve_tcp` and `serve_udp`, which bind, report the bound
//! address through `on_bound`, then serve until the process ends. The servers that also
//! serve Unix-domain sockets (`epoll`, in its own file `epoll_unix`, and `ours`) do the same
//! at a path. The TLS servers (`tokio-rustls`, and `ours` over `Tls::over(Tcp)`, with the
//! `tls` feature) serve [`Proto::Tls`] with the certificate and key of a [`crate::tls`]
//! directory, through [`serve_tls`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

pub mod epoll;
pub mod epoll_unix;
pub mod naive;
pub mod ours;
pub mod raw;
pub mod tokio;
#[cfg(feature = "tls")]
pub mod tokio_rustls;
#[allow(unsafe_code)]
pub mod uring;

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
    /// One edge-triggered mio loop per core over SO_REUSEPORT sockets (the limit); over Unix
    /// sockets, which have no SO_REUSEPORT, every loop polls the one socket.
    Epoll,
    /// One io_uring per core over SO_REUSEPORT sockets, multishot receives into a
    /// provided-buffer ring (the other limit).
    Uring,
    /// tokio + tokio-rustls, a task per connection (the TLS reference; TLS only).
    TokioRustls,
    /// This crate's `EchoServer::serve()`.
    Ours,
}

impl Kind {
    /// Every server, in the order of the table's columns.
    pub const ALL: [Kind; 7] = [
        Kind::Raw,
        Kind::Naive,
        Kind::Tokio,
        Kind::Epoll,
        Kind::Uring,
        Kind::TokioRustls,
        Kind::Ours,
    ];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Naive => "naive",
            Kind::Tokio => "tokio",
            Kind::Epoll => "epoll",
            Kind::Uring => "uring",
            Kind::TokioRustls => "tokio-rustls",
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
                format!(
                    "unknown server `{s}` (expected raw, naive, tokio, epoll, uring, \
                     tokio-rustls or ours)"
                )
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
    /// Unix-domain stream sockets, at a path.
    Unix,
    /// Unix-domain datagram sockets, at a path.
    Unixgram,
    /// TLS over TCP, served with a certificate (see [`serve_tls`]).
    Tls,
}

impl Proto {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Unix => "unix",
            Proto::Unixgram => "unixgram",
            Proto::Tls => "tls",
        }
    }

    /// Whether the server binds a path ([`serve_unix`]) rather than an IP address
    /// ([`serve`]).
    pub fn is_unix(self) -> bool {
        matches!(self, Proto::Unix | Proto::Unixgram)
    }
}

impl FromStr for Proto {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "unix" => Ok(Proto::Unix),
            "unixgram" => Ok(Proto::Unixgram),
            "tls" => Ok(Proto::Tls),
            _ => Err(format!(
                "unknown transport `{s}` (expected tcp, udp, unix, unixgram or tls)"
            )),
        }
    }
}

/// Binds server `kind` for `proto` (TCP or UDP) on `addr`, calls `on_bound` with the bound
/// address, then serves until the process ends.
///
/// # Errors
///
/// `proto` is a Unix one (see [`serve_unix`]) or TLS (see [`serve_tls`]), `kind` is
/// `tokio-rustls` (TLS only), or any error binding the socket or starting the server; serving
/// itself only returns on a fatal error.
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
        (Kind::Uring, Proto::Tcp) => uring::serve_tcp(addr, on_bound),
        (Kind::Uring, Proto::Udp) => uring::serve_udp(addr, on_bound),
        (Kind::Ours, Proto::Tcp) => ours::serve_tcp(addr, on_bound),
        (Kind::Ours, Proto::Udp) => ours::serve_udp(addr, on_bound),
        (_, Proto::Unix | Proto::Unixgram) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is served at a path, not at {addr}", proto.name()),
        )),
        (_, Proto::Tls) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "tls is served with a certificate: `--tls <dir>` before the server's name",
        )),
        (Kind::TokioRustls, Proto::Tcp | Proto::Udp) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the tokio-rustls server serves TLS only",
        )),
    }
}

/// Binds TLS server `kind` (`tokio-rustls` or `ours`) on `addr` with the certificate and key
/// of the [`crate::tls`] directory `identity`, calls `on_bound` with the bound address, then
/// serves until the process ends.
///
/// # Errors
///
/// `kind` has no TLS server, the bench was built without the `tls` feature, the identity's
/// files cannot be read, or any error binding the socket or starting the server.
pub fn serve_tls(
    kind: Kind,
    addr: SocketAddr,
    identity: &Path,
    on_bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    #[cfg(feature = "tls")]
    match kind {
        Kind::TokioRustls => return tokio_rustls::serve_tls(addr, identity, on_bound),
        Kind::Ours => return ours::serve_tls(addr, identity, on_bound),
        _ => {}
    }
    let _ = (addr, identity, on_bound);
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        if cfg!(feature = "tls") {
            format!("the {kind} server has no TLS version")
        } else {
            "TLS servers need the bench's `tls` feature".to_string()
        },
    ))
}

/// Binds server `kind` for `proto` (Unix stream or datagram) at `path`, calls `on_bound` with
/// the path, then serves until the process ends. The socket file is left for the caller to
/// remove.
///
/// # Errors
///
/// `proto` is TCP or UDP (see [`serve`]), `kind` has no Unix server (only `epoll` and
/// `ours` have), or any error binding the socket or starting the server.
pub fn serve_unix(
    kind: Kind,
    proto: Proto,
    path: &Path,
    on_bound: impl FnOnce(&Path),
) -> io::Result<()> {
    match (kind, proto) {
        (Kind::Epoll, Proto::Unix) => epoll_unix::serve_stream(path, on_bound),
        (Kind::Epoll, Proto::Unixgram) => epoll_unix::serve_datagram(path, on_bound),
        (Kind::Ours, Proto::Unix) => ours::serve_unix(path, on_bound),
        (Kind::Ours, Proto::Unixgram) => ours::serve_unixgram(path, on_bound),
        (_, Proto::Tcp | Proto::Udp | Proto::Tls) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is served at an IP address, not at a path", proto.name()),
        )),
        (Kind::Raw | Kind::Naive | Kind::Tokio | Kind::Uring | Kind::TokioRustls, _) => {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("the {kind} server has no Unix socket version"),
            ))
        }
    }
}
