//! Socket options: one value type holding every knob, validated, and applied to real sockets
//! by the transports through the setters of [`apply`].
//!
//! This module is the only code that calls socket2's setters. It never opens a connection or
//! reads a byte; it only validates values and configures sockets handed to it.

use std::num::NonZeroUsize;
use std::time::Duration;

mod apply;
#[cfg(feature = "tls")]
mod tls;
mod validate;
mod values;

/// Generates the `const fn` setter and getter of one option.
macro_rules! option {
    ($(#[$doc:meta])* $field:ident, $with:ident: $ty:ty, $knob:ident) => {
        $(#[$doc])*
        pub const fn $with(mut self, $field: $ty) -> Self {
            self.$field = $field;
            self.set |= $crate::options::Knob::$knob as u32;
            self
        }

        #[doc = concat!("The value set by [`", stringify!($with), "`](Self::", stringify!($with), ").")]
        pub const fn $field(&self) -> $ty {
            self.$field
        }
    };
}

mod exchange;
mod serve;
mod socket;

pub(crate) use apply::Knob;
#[cfg(feature = "tls")]
pub use tls::{DEFAULT_HANDSHAKE_TIMEOUT, TlsOptions};
#[cfg(feature = "measure")]
pub(crate) use validate::SOCKET_TIMEOUT_RESOLUTION;
pub(crate) use validate::TOO_LONG;
pub use validate::check_duration;
pub use values::*;

/// Every socket option the crate tunes, for servers and clients alike.
///
/// Build it with the `const fn with_*` chain and pass it to
/// [`EchoServer::bind_with`](crate::EchoServer::bind_with),
/// [`EchoServer::bind_on_with`](crate::EchoServer::bind_on_with),
/// [`EchoClient::connect_with`](crate::EchoClient::connect_with) or
/// [`EchoClient::connect_on_with`](crate::EchoClient::connect_on_with). Values are checked
/// before a socket is made: a zero timeout or buffer, a duration the system would round to
/// zero, and a size beyond what the system or the crate can hold are refused with
/// [`Error::InvalidOption`](crate::Error::InvalidOption), never taken to mean "forever",
/// "nothing" or "as much as fits".
/// An option set explicitly that does not apply to the transport (`nodelay`, `keepalive`
/// and `linger` on any transport but TCP; `ttl`, `only_v6`, `reuse_address` and
/// `reuse_port` on a Unix socket) or to a client (a server's own: `backlog`, `workers`, the limits of `serve`) is
/// refused with [`Error::InvalidOption`](crate::Error::InvalidOption) naming it, never
/// ignored; [`Options::applies_to`] says which transports each applies to. So that one value
/// can configure a server and its clients, and an address of either IP family, three are
/// taken where they do nothing: a client's own (`connect_timeout`, `echo_deadline`,
/// `resends`) by a server of a transport they apply to, `only_v6` by an IPv4 socket, and
/// `reuse_address` by a UDP server, which never sets it (on a datagram socket it would let
/// two servers share a port without knowing it).
///
/// TLS over TCP takes TCP's options, TLS over a Unix socket a Unix stream socket's; both take
/// the TLS settings (`with_tls`, with the `tls` feature), which every other transport
/// refuses.
///
/// | option | default | accepted | applies to |
/// |---|---|---|---|
/// | [`reuse_address`](Self::with_reuse_address) | `true` | | TCP servers (Unix); a UDP server takes it and does not set it |
/// | [`reuse_port`](Self::with_reuse_port) | `false` | | TCP and UDP servers (Unix) |
/// | [`nodelay`](Self::with_nodelay) | `true` | | TCP connections |
/// | [`keepalive`](Self::with_keepalive) | off | time and interval 1 s to 32,767 s, retries 1 to 127 | TCP connections |
/// | [`linger`](Self::with_linger) | OS default | 0 to 2,147,483,647 s | TCP connections |
/// | [`recv_buffer_size`](Self::with_recv_buffer_size), [`send_buffer_size`](Self::with_send_buffer_size) | OS default | 1 B to 2,147,483,647 B | all sockets |
/// | [`ttl`](Self::with_ttl) | OS default | 1 to 255 | TCP and UDP sockets (not Unix sockets) |
/// | [`only_v6`](Self::with_only_v6) | `true` | | TCP and UDP sockets, set on IPv6 ones |
/// | [`read_timeout`](Self::with_read_timeout), [`write_timeout`](Self::with_write_timeout) | 10 s | 1 µs to 100 years, or `None` | client sockets, connections of `serve_once` |
/// | [`connect_timeout`](Self::with_connect_timeout) | 10 s | 1 µs to 100 years, or `None` | stream clients (TCP, Unix) |
/// | [`echo_deadline`](Self::with_echo_deadline) | 60 s | 1 µs to 100 years, or `None` | each client `echo`, whole |
/// | [`backlog`](Self::with_backlog) | 1024 | 1 to 2,147,483,647 | stream listeners (TCP, Unix) |
/// | [`buffer_size`](Self::with_buffer_size) | 65,536 B | 1 B to 16 MiB | a server's receive buffer, a client's reads |
/// | [`resends`](Self::with_resends) | 2 | any | datagram clients |
/// | [`unix_mode`](Self::with_unix_mode) | OS default (umask) | 0 to 0o777 | Unix server socket files |
/// | [`workers`](Self::with_workers) | one per core | 1 to 1,024 | `serve` |
/// | [`max_connections`](Self::with_max_connections) | 16,384 | ≥ 1 | `serve`, streams |
/// | [`idle_timeout`](Self::with_idle_timeout) | 300 s | 1 ms to 24 days, or `None` | `serve`, streams |
/// | [`max_pending`](Self::with_max_pending) | 64 KiB | 1 KiB to 16 MiB | `serve`, streams |
/// | [`shutdown_grace`](Self::with_shutdown_grace) | 1 s | up to 100 years | `serve`, streams |
/// | [`denied_ports`](Self::with_denied_ports) | 1 to 1023 (every privileged port) | any | `serve` and `serve_once`, UDP |
/// | [`source_rate_limit`](Self::with_source_rate_limit) | 100 repeats/s, bursts of 1,000 | rate and burst ≥ 1, or `None` | `serve`, datagrams |
/// | [`connection_socket_buffers`](Self::with_connection_socket_buffers) | 256 KiB | 1 B to 2,147,483,647 B, or `None` | `serve`, stream connections |
/// | [`max_connections_per_source`](Self::with_max_connections_per_source) | off | ≥ 1, or `None` | `serve`, TCP |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{EchoServer, Options};
///
/// let options = Options::new()
///     .with_nodelay(true)
///     .with_read_timeout(Some(Duration::from_secs(5)))
///     .with_recv_buffer_size(Some(256 * 1024));
/// let server = EchoServer::bind_with("127.0.0.1:0", options)?;
/// assert_eq!(server.options().read_timeout(), Some(Duration::from_secs(5)));
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    reuse_address: bool,
    reuse_port: bool,
    nodelay: bool,
    keepalive: Option<Keepalive>,
    linger: Option<Duration>,
    recv_buffer_size: Option<usize>,
    send_buffer_size: Option<usize>,
    ttl: Option<u32>,
    only_v6: bool,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    echo_deadline: Option<Duration>,
    backlog: u32,
    buffer_size: usize,
    resends: u32,
    workers: Option<NonZeroUsize>,
    max_connections: usize,
    idle_timeout: Option<Duration>,
    max_pending: usize,
    shutdown_grace: Duration,
    connection_socket_buffers: Option<usize>,
    max_connections_per_source: Option<usize>,
    /// `None` stands for [`DEFAULT_DENIED_PORTS`], so `new` stays `const`.
    denied_ports: Option<Vec<u16>>,
    unix_mode: Option<u32>,
    /// The options set explicitly, one bit each (see [`Knob`]), so one that cannot apply to a
    /// transport or a role is refused rather than ignored.
    set: u32,
    source_rate_limit: Option<SourceRateLimit>,
    /// Shared: a TLS identity is copied into every clone of the options otherwise.
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<TlsOptions>>,
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

impl Options {
    /// The defaults listed in the table above.
    pub const fn new() -> Self {
        Options {
            reuse_address: true,
            reuse_port: false,
            nodelay: true,
            keepalive: None,
            linger: None,
            recv_buffer_size: None,
            send_buffer_size: None,
            ttl: None,
            only_v6: true,
            read_timeout: Some(DEFAULT_TIMEOUT),
            write_timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: Some(DEFAULT_TIMEOUT),
            echo_deadline: Some(DEFAULT_ECHO_DEADLINE),
            backlog: 1024,
            buffer_size: DEFAULT_BUFFER_SIZE,
            resends: 2,
            workers: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_pending: DEFAULT_MAX_PENDING,
            shutdown_grace: Duration::from_secs(1),
            connection_socket_buffers: DEFAULT_CONNECTION_SOCKET_BUFFERS,
            max_connections_per_source: None,
            denied_ports: None,
            unix_mode: None,
            set: 0,
            source_rate_limit: Some(DEFAULT_SOURCE_RATE_LIMIT),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The TLS settings of a [`Tls`](crate::Tls) server or client: its identity, what a
    /// client trusts, the handshake timeout (see [`TlsOptions`](crate::TlsOptions)). Refused
    /// by the plain transports.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Identity, Options, TlsOptions};
    ///
    /// let identity = Identity::self_signed(&["localhost"])?;
    /// let options = Options::new().with_tls(TlsOptions::new().with_identity(identity.clone()));
    /// assert_eq!(options.tls().and_then(|tls| tls.identity()), Some(&identity));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(std::sync::Arc::new(tls));
        self.set |= Knob::Tls as u32;
        self
    }

    /// The TLS settings given with [`with_tls`](Self::with_tls), if any.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&TlsOptions> {
        self.tls.as_deref()
    }
}
