//! The Echo service of [RFC 862] over real sockets: a server you can drop into a test or leave
//! running, and a client that checks every byte it gets back.
//!
//! Everything is blocking and runtime-free. A server is bound (and, for TCP, listening) as
//! soon as its constructor returns, so a test can connect to it at once on the port the
//! system chose.
//!
//! # Serving one client
//!
//! ```
//! use socket_echo::{EchoClient, EchoServer};
//!
//! let server = EchoServer::bind("127.0.0.1:0")?;
//! let addr = server.local_addr();
//! let served = std::thread::spawn(move || server.serve_once());
//!
//! let mut client = EchoClient::connect(addr)?;
//! assert_eq!(&client.echo(b"Hola, soy el cliente")?[..], b"Hola, soy el cliente");
//! drop(client); // closing ends the TCP exchange
//!
//! let exchange = served.join().expect("server thread")?;
//! assert_eq!(exchange.bytes_echoed(), 20);
//! # Ok::<(), socket_echo::Error>(())
//! ```
//!
//! # Choosing a transport and options
//!
//! `bind` and `connect` mean TCP with the default [`Options`]. The other constructors take
//! the transport as a value, so the type is inferred from it, and `_with` adds options:
//!
//! | | default options | with [`Options`] |
//! |---|---|---|
//! | TCP | [`EchoServer::bind(addr)`](EchoServer::bind) | [`EchoServer::bind_with(addr, options)`](EchoServer::bind_with) |
//! | any transport | [`EchoServer::bind_on(Udp, addr)`](EchoServer::bind_on) | [`EchoServer::bind_on_with(Udp, addr, options)`](EchoServer::bind_on_with) |
//!
//! and the same four for [`EchoClient`]: `connect`, `connect_with`, `connect_on`,
//! `connect_on_with`. The transports are [`Tcp`], [`Udp`], [`Unix`] (stream) and
//! [`UnixDatagram`]; each has its address type ([`Transport::Addr`]: a
//! [`SocketAddr`](std::net::SocketAddr), or a [`UnixAddr`] for the Unix ones), and
//! [`Endpoint`] reads all four from one text syntax (`HOST:PORT`, `udp://HOST:PORT`,
//! `unix:/path`, `unixgram:@name`, …).
//!
//! ```
//! use std::time::Duration;
//! use socket_echo::{EchoClient, EchoServer, Options, Udp};
//!
//! let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
//! let addr = server.local_addr();
//! std::thread::spawn(move || server.serve_once());
//!
//! let options = Options::new()
//!     .with_read_timeout(Some(Duration::from_millis(500)))
//!     .with_resends(3);
//! let mut client = EchoClient::connect_on_with(Udp, addr, options)?;
//! assert_eq!(&client.echo(b"datagram")?[..], b"datagram");
//! # Ok::<(), socket_echo::Error>(())
//! ```
//!
//! # A peer for your tests, misbehaving on demand
//!
//! [`EchoServer::spawn`] runs the server on a background thread for as long as its
//! [`ServerHandle`] is kept; [`Faults`] make it misbehave exactly as asked (slow, sliced,
//! closed or reset mid-stream, down, silent; datagrams dropped, duplicated, reordered,
//! corrupted), reproducibly from a seed, and [`ServerHandle::set_faults`] changes them while
//! the test runs. The [`faults_guide`] lists every fault, what a client under test should do
//! about it, and how they compare with toxiproxy, netem and turmoil.
//!
//! ```
//! use socket_echo::{EchoClient, EchoServer, Error, Faults};
//!
//! // Every connection is reset once 4 bytes were echoed.
//! let server = EchoServer::bind("127.0.0.1:0")?
//!     .with_faults("reset-after=4".parse()?)?
//!     .spawn()?;
//! let mut client = EchoClient::connect(server.local_addr())?;
//! assert!(matches!(client.echo(b"too long"), Err(Error::Reset { received: 4, .. })));
//!
//! server.set_faults(Faults::new())?; // behave again
//! let mut client = EchoClient::connect(server.local_addr())?;
//! assert_eq!(&client.echo(b"fine")?[..], b"fine");
//! assert_eq!(server.stats().faults.reset, 1);
//! # Ok::<(), socket_echo::Error>(())
//! ```
//!
//! # TLS
//!
//! With the `tls` feature, `Tls::over(Tcp)` and `Tls::over(Unix)` are transports like the
//! others (rustls, with the ring crypto provider). A server makes a self-signed certificate
//! at bind unless given one; the client trusts only what it is given:
//!
//! ```
//! # #[cfg(feature = "tls")] {
//! use socket_echo::{EchoClient, EchoServer, Options, Tcp, Tls, TlsOptions};
//!
//! let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0")?;
//! let trust = Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
//! let server = server.spawn()?;
//! let mut client = EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), trust)?;
//! assert_eq!(&client.echo(b"private")?[..], b"private");
//! # }
//! # Ok::<(), socket_echo::Error>(())
//! ```
//!
//! # Errors
//!
//! Every fallible call returns [`Result`], whose [`Error`] names the address or option
//! concerned and carries the system's `io::Error` as its source. The client never returns an
//! echo that differs from what it sent: see [`EchoClient::echo`].
//!
//! [RFC 862]: https://www.rfc-editor.org/rfc/rfc862

#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

#[cfg(not(unix))]
compile_error!(
    "socket-echo runs on Unix platforms: its event loop polls any socket through its descriptor"
);

mod addr;
mod buffer;
#[cfg(feature = "tls")]
mod certificate;
mod client;
mod echo;
mod endpoint;
mod engine;
mod error;
mod exchange;
mod faults;
mod handle;
#[cfg(feature = "measure")]
mod measure;
mod options;
mod record;
mod server;
mod stats;
mod token_bucket;

mod transport;
mod units;
mod until;

pub use addr::{Address, UnixAddr};
#[cfg(feature = "tls")]
pub use certificate::{Certificate, Fingerprint, Identity, Validity};
pub use client::EchoClient;
pub use endpoint::{Endpoint, EndpointVisitor};
pub use engine::ShutdownHandle;
#[cfg(feature = "tls")]
pub use error::TlsFailure;
pub use error::{Error, Result};
pub use exchange::Exchange;
pub use faults::{DEFAULT_REORDER_HOLD, Distribution, Down, Fault, FaultKind, Faults};
pub use handle::ServerHandle;
#[cfg(feature = "measure")]
#[cfg_attr(docsrs, doc(cfg(feature = "measure")))]
pub use measure::{
    Bulk, Latency, Load, LoadErrorKind, LoadReport, Outcome, Ping, PingSummary, Probe, Progress,
};
pub use options::{
    DEFAULT_BUFFER_SIZE, DEFAULT_CONNECTION_SOCKET_BUFFERS, DEFAULT_DENIED_PORTS,
    DEFAULT_ECHO_DEADLINE, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING,
    DEFAULT_SOURCE_RATE_LIMIT, DEFAULT_TIMEOUT, Keepalive, MAX_BUFFER_SIZE, MAX_DURATION,
    MAX_WORKERS, MIN_MAX_PENDING, Options, SourceRateLimit, check_duration,
};
#[cfg(feature = "tls")]
pub use options::{DEFAULT_HANDSHAKE_TIMEOUT, TlsOptions};
pub use record::{ConnectionEnd, Record, RecordedConnection, RecordedDatagram, Recording};
pub use server::EchoServer;
pub use stats::{FaultField, FaultStats, Field, Stats, StatsField, TlsField, TlsStats};
#[cfg(feature = "tls")]
pub use transport::Tls;
pub use transport::{
    BadCertificate, HandshakeStall, MAX_DATAGRAM_V4, MAX_DATAGRAM_V6, Tcp, ToAddrs, Transport, Udp,
    Unix, UnixDatagram,
};
pub use units::{ParseValueError, parse_duration, parse_rate, parse_size};
pub use until::Until;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[doc = include_str!("../docs/faults.md")]
pub mod faults_guide {}
