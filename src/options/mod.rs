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
/// [`Error::InvalidOption`](crate::Error::InvalidOption), never taken to mean "forever", "nothing" or "as much as fits".
/// An option set explicitly that does not apply to the transport (nodelay, keepalive and
/// linger for UDP, `ttl` for Unix sockets) or to a client (the server's own) is refused with
/// [`Error::InvalidOption`](crate::Error::InvalidOption) naming it, never ignored;
/// [`Options::applies_to`] says which transports each applies to.
///
/// | option | default | accepted | applies to |
/// |---|---|---|---|
/// | [`reuse_address`](Self::with_reuse_address) | `true` | | TCP listeners (Unix) |
/// | [`reuse_port`](Self::with_reuse_port) | `false` | | TCP and UDP servers (Unix) |
/// | [`nodelay`](Self::with_nodelay) | `true` | | TCP connections |
/// | [`keepalive`](Self::with_keepalive) | off | time and interval 1 s to 32,767 s, retries 1 to 127 | TCP connections |
/// | [`linger`](Self::with_linger) | OS default | 0 to 2,147,483,647 s | TCP connections |
/// | [`recv_buffer_size`](Self::with_recv_buffer_size), [`send_buffer_size`](Self::with_send_buffer_size) | OS default | 1 B to 2,147,483,647 B | all sockets |
/// | [`ttl`](Self::with_ttl) | OS default | 1 to 255 | TCP and UDP sockets |
/// | [`only_v6`](Self::with_only_v6) | `true` | | IPv6 sockets |
/// | [`read_timeout`](Self::with_read_timeout), [`write_timeout`](Self::with_write_timeout) | 10 s | 1 µs to 100 years, or `None` | connections, client sockets |
/// | [`connect_timeout`](Self::with_connect_timeout) | 10 s | 1 µs to 100 years, or `None` | stream clients |
/// | [`echo_deadline`](Self::with_echo_deadline) | 60 s | 1 µs to 100 years, or `None` | each client `echo`, whole |
/// | [`backlog`](Self::with_backlog) | 1024 | 1 to 2,147,483,647 | stream listeners |
/// | [`buffer_size`](Self::with_buffer_size) | 65,536 B | 1 B to 16 MiB | server receive buffer |
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

/// Generates the `const fn` setter and getter of one option.
macro_rules! option {
    ($(#[$doc:meta])* $field:ident, $with:ident: $ty:ty, $knob:ident) => {
        $(#[$doc])*
        pub const fn $with(mut self, $field: $ty) -> Self {
            self.$field = $field;
            self.set |= Knob::$knob as u32;
            self
        }

        #[doc = concat!("The value set by [`", stringify!($with), "`](Self::", stringify!($with), ").")]
        pub const fn $field(&self) -> $ty {
            self.$field
        }
    };
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

    option!(
        /// `SO_REUSEADDR` on listening sockets, so a restarted server can bind a port whose old
        /// connections are still in `TIME_WAIT`. Unix only: on Windows the same flag would let
        /// another process steal the port, so it is not set there.
        reuse_address, with_reuse_address: bool, ReuseAddress
    );
    option!(
        /// `SO_REUSEPORT` on listening sockets: several sockets may bind the same address and
        /// port, and the kernel spreads connections or datagrams between them. Unix only.
        reuse_port, with_reuse_port: bool, ReusePort
    );
    option!(
        /// `TCP_NODELAY`: send small writes at once instead of waiting to coalesce them (Nagle).
        /// On by default, since an echo is a request and its answer.
        nodelay, with_nodelay: bool, Nodelay
    );
    option!(
        /// `SO_KEEPALIVE` with its timings; `None` leaves keepalive off.
        keepalive, with_keepalive: Option<Keepalive>, Keepalive
    );
    option!(
        /// `SO_LINGER`: how long `close` waits for unsent data. `Some(Duration::ZERO)` makes
        /// `close` reset the connection at once; `None` leaves the system default.
        linger, with_linger: Option<Duration>, Linger
    );
    option!(
        /// `SO_RCVBUF` in bytes. Linux doubles the value it is given and caps it at
        /// `net.core.rmem_max`, so the size read back may differ. Zero is refused, and so is
        /// anything over 2,147,483,647 (the option is a C `int`).
        recv_buffer_size, with_recv_buffer_size: Option<usize>, RecvBufferSize
    );
    option!(
        /// `SO_SNDBUF` in bytes, with the same caveats as
        /// [`with_recv_buffer_size`](Self::with_recv_buffer_size). Zero is refused, and so
        /// is anything over 2,147,483,647.
        send_buffer_size, with_send_buffer_size: Option<usize>, SendBufferSize
    );
    option!(
        /// `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6): the hop limit of outgoing packets,
        /// 1 to 255.
        ttl, with_ttl: Option<u32>, Ttl
    );
    option!(
        /// `IPV6_V6ONLY`, always set explicitly on IPv6 sockets since its default differs
        /// between systems. With `false`, a server bound to `[::]` also serves IPv4 clients.
        only_v6, with_only_v6: bool, OnlyV6
    );
    option!(
        /// How long one receive may wait (`SO_RCVTIMEO`) on a client socket or a served
        /// connection; `None` waits forever. For a UDP client it is the wait per attempt.
        /// Zero is refused, and so is anything under one microsecond, the resolution of
        /// socket timeouts (the system would round it to zero, which means "forever"). It
        /// never applies to waiting for the next connection or datagram.
        read_timeout, with_read_timeout: Option<Duration>, ReadTimeout
    );
    option!(
        /// How long one send may wait (`SO_SNDTIMEO`); `None` waits forever. Zero, or
        /// anything under one microsecond, is refused.
        write_timeout, with_write_timeout: Option<Duration>, WriteTimeout
    );
    option!(
        /// How long a TCP client waits for the connection to be established; `None` waits as
        /// long as the operating system does. Zero, or anything under one microsecond, is
        /// refused.
        connect_timeout, with_connect_timeout: Option<Duration>, ConnectTimeout
    );
    option!(
        /// The longest one [`EchoClient::echo`](crate::EchoClient::echo) may take, every
        /// read, write and UDP attempt together (default [`DEFAULT_ECHO_DEADLINE`], 60 s);
        /// `None` leaves each call bounded only by its read and write timeouts and, for UDP,
        /// its retries.
        ///
        /// The read and write timeouts bound one system call each: a server that answers a
        /// byte just before every read timeout would hold a call for as long as it liked.
        /// The deadline bounds the whole call: each wait is cut to what is left of it, and
        /// when it runs out the call fails with [`Error::Deadline`](crate::Error::Deadline) (a single read or write
        /// that times out first is still [`Error::Timeout`](crate::Error::Timeout)). It is kept to within a
        /// millisecond. Zero, or anything under one microsecond, is refused.
        echo_deadline, with_echo_deadline: Option<Duration>, EchoDeadline
    );
    option!(
        /// The length of the queue of connections a TCP listener holds before they are
        /// accepted (`listen(2)`); the kernel caps it at `net.core.somaxconn`. Zero is refused,
        /// and so is anything over 2,147,483,647 (`listen(2)` takes a C `int`).
        backlog, with_backlog: u32, Backlog
    );
    option!(
        /// The size in bytes of the buffer a server receives into, and of a client's read
        /// chunks. A UDP datagram larger than this is reported as truncated, never echoed
        /// short. From 1 byte to [`MAX_BUFFER_SIZE`] (16 MiB); anything else is refused
        /// before a socket is made. The buffer is allocated when serving starts; memory that
        /// cannot be had is [`Error::Allocation`](crate::Error::Allocation), never an abort.
        /// Each datagram worker of `serve()` holds a batch of up to 16 such buffers (at most
        /// 1 MiB in all, or one buffer when a single one is larger).
        buffer_size, with_buffer_size: usize, BufferSize
    );
    option!(
        /// How many times a datagram client sends a message again after a read timeout
        /// before it gives up with [`Error::Timeout`](crate::Error::Timeout).
        resends, with_resends: u32, Resends
    );

    option!(
        /// How many worker threads [`EchoServer::serve`](crate::EchoServer::serve) runs, each
        /// with its own event loop; `None` (the default) means one per available core. More
        /// than [`MAX_WORKERS`] is refused.
        workers, with_workers: Option<NonZeroUsize>, Workers
    );
    option!(
        /// The most connections [`EchoServer::serve`](crate::EchoServer::serve) serves at
        /// once (default 16,384). A connection beyond it is closed as soon as it is accepted,
        /// and counted in [`Stats::refused`](crate::Stats::refused). Zero is refused.
        ///
        /// Each connection holds a descriptor. On Unix, `serve` raises the process's soft
        /// `RLIMIT_NOFILE` toward the hard limit as far as this cap needs (plus a few for
        /// itself); if the hard limit is lower, it serves as many as fit and reports that
        /// figure in [`Stats::max_connections`](crate::Stats::max_connections).
        max_connections, with_max_connections: usize, MaxConnections
    );
    option!(
        /// How long [`EchoServer::serve`](crate::EchoServer::serve) keeps a connection that
        /// neither sends nor takes a byte (default 300 s); `None` keeps it forever. A client
        /// that sends but never reads its echo counts as idle once the server has stopped
        /// reading from it. The server's clock counts whole milliseconds on 32 bits, so
        /// anything under one millisecond (which it would read as zero) and anything over
        /// about 24 days (2^31 − 1 ms, beyond what it measures) is refused.
        ///
        /// What it stops: connections left open and silent, and clients that stopped
        /// reading. What it does not stop: a client that sends one byte now and then (a
        /// "trickler"), since every byte moved starts the timeout again; a thousand such
        /// connections sending a byte every few seconds hold a thousand slots for as long
        /// as they like. Bound those with
        /// [`max_connections_per_source`](Self::with_max_connections_per_source) and
        /// [`max_connections`](Self::with_max_connections).
        idle_timeout, with_idle_timeout: Option<Duration>, IdleTimeout
    );
    option!(
        /// How many echoed bytes a connection of
        /// [`EchoServer::serve`](crate::EchoServer::serve) may leave untaken (default 64 KiB).
        /// While that many wait, the server stops reading from it, so a client that never
        /// reads costs at most this much of the server's own memory; the kernel's socket
        /// buffers hold more (about 1 MiB by default, see
        /// [`with_connection_socket_buffers`](Self::with_connection_socket_buffers)). It is
        /// also the most the server moves per read and write of a connection, so it ranges
        /// from [`MIN_MAX_PENDING`] (1 KiB) to [`MAX_BUFFER_SIZE`] (16 MiB); anything else is
        /// refused.
        max_pending, with_max_pending: usize, MaxPending
    );
    option!(
        /// The most datagrams [`EchoServer::serve`](crate::EchoServer::serve) answers from one
        /// source (address and port) that answer its recent replies to it (the reply back,
        /// whole or altered), as a
        /// [`SourceRateLimit`] (default [`DEFAULT_SOURCE_RATE_LIMIT`]: 100 a second, bursts
        /// of 1,000); `None` answers every datagram. It ends an exchange with another server
        /// started by a forged datagram. A rate or burst of zero is refused.
        ///
        /// # Examples
        ///
        /// ```
        /// use socket_echo::{EchoClient, EchoServer, Options, SourceRateLimit, Udp};
        ///
        /// // No limit at all.
        /// let unlimited = Options::new().with_source_rate_limit(None);
        /// assert_eq!(unlimited.source_rate_limit(), None);
        ///
        /// // A tight limit: three repeats at once, then one a second.
        /// let tight = Options::new().with_source_rate_limit(Some(SourceRateLimit::new(1, 3)));
        /// let server = EchoServer::bind_on_with(Udp, "127.0.0.1:0", tight)?.spawn()?;
        /// let mut client = EchoClient::connect_on(Udp, server.local_addr())?;
        /// for _ in 0..3 {
        ///     client.echo(b"ping")?;
        /// }
        /// server.shutdown();
        /// assert_eq!(server.join()?.dropped_rate_limited, 0);
        /// # Ok::<(), socket_echo::Error>(())
        /// ```
        source_rate_limit, with_source_rate_limit: Option<SourceRateLimit>, SourceRateLimit
    );
    option!(
        /// How long a graceful shutdown of [`EchoServer::serve`](crate::EchoServer::serve)
        /// goes on echoing to live connections (default 1 s). A connection still owed bytes
        /// when it ends (an echo not taken, input not read) is reset, so its peer can tell
        /// the echo was cut short; see [`EchoServer::serve`](crate::EchoServer::serve). It is
        /// measured to the nanosecond, so no value is rounded; zero ends it at once.
        shutdown_grace, with_shutdown_grace: Duration, ShutdownGrace
    );

    /// The `SO_SNDBUF` and `SO_RCVBUF` set on each connection
    /// [`EchoServer::serve`](crate::EchoServer::serve) accepts (default
    /// [`DEFAULT_CONNECTION_SOCKET_BUFFERS`]); `None` leaves them to the system, which on
    /// Linux grows them with the traffic (autotuning, up to `net.ipv4.tcp_wmem` and
    /// `tcp_rmem`'s maximum: several MiB each).
    ///
    /// They bound what a client that sends but never reads can make the server's kernel
    /// hold: its unread input and its untaken echo, about twice this size each (Linux
    /// doubles the value for its bookkeeping), on top of
    /// [`max_pending`](Self::with_max_pending) in the server itself. An explicit
    /// [`recv_buffer_size`](Self::with_recv_buffer_size) or
    /// [`send_buffer_size`](Self::with_send_buffer_size) takes precedence for its
    /// direction. Clients and `serve_once` are not affected. Zero is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Options};
    ///
    /// let options = Options::new().with_connection_socket_buffers(Some(64 * 1024));
    /// let handle = EchoServer::bind_with("127.0.0.1:0", options)?.spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// assert_eq!(&client.echo(&[7; 100_000])?[..], &[7; 100_000][..]);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn with_connection_socket_buffers(mut self, size: Option<usize>) -> Self {
        self.connection_socket_buffers = size;
        self.set |= Knob::ConnectionSocketBuffers as u32;
        self
    }

    /// The size set by
    /// [`with_connection_socket_buffers`](Self::with_connection_socket_buffers).
    pub const fn connection_socket_buffers(&self) -> Option<usize> {
        self.connection_socket_buffers
    }

    /// The most connections [`EchoServer::serve`](crate::EchoServer::serve) serves at once
    /// from one source IP address (default `None`: no such limit). A connection beyond it
    /// is closed as soon as it is accepted, and counted in
    /// [`Stats::refused_per_source`](crate::Stats::refused_per_source). Zero is refused.
    ///
    /// Without it, one host can take every slot of
    /// [`max_connections`](Self::with_max_connections): the
    /// [`idle_timeout`](Self::with_idle_timeout) only closes connections that move no byte,
    /// so connections that each send one byte every few seconds are never closed. IPv4
    /// clients reaching an IPv6 socket count by their IPv4 address. Each IPv6 address
    /// counts apart, and a host may hold many (a whole /64), so against IPv6 clients this
    /// bounds one address, not one host. A [`Unix`](crate::Unix) server refuses it
    /// ([`Error::InvalidOption`](crate::Error::InvalidOption)): its clients have no address to
    /// count.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Options};
    ///
    /// let options = Options::new().with_max_connections_per_source(Some(2));
    /// let handle = EchoServer::bind_with("127.0.0.1:0", options)?.spawn()?;
    /// let mut first = EchoClient::connect(handle.local_addr())?;
    /// let mut second = EchoClient::connect(handle.local_addr())?;
    /// first.echo(b"one")?;
    /// second.echo(b"two")?;
    /// // A third connection from the same address is closed without an echo.
    /// let mut third = EchoClient::connect(handle.local_addr())?;
    /// assert!(third.echo(b"three").is_err());
    /// handle.shutdown();
    /// assert_eq!(handle.join()?.refused_per_source, 1);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn with_max_connections_per_source(mut self, limit: Option<usize>) -> Self {
        self.max_connections_per_source = limit;
        self.set |= Knob::MaxConnectionsPerSource as u32;
        self
    }

    /// The limit set by
    /// [`with_max_connections_per_source`](Self::with_max_connections_per_source).
    pub const fn max_connections_per_source(&self) -> Option<usize> {
        self.max_connections_per_source
    }

    /// The UDP source ports a server never answers (default [`DEFAULT_DENIED_PORTS`]: every
    /// port below 1024).
    ///
    /// Datagrams from these ports, and from multicast, broadcast or unspecified addresses, are
    /// dropped ([`EchoServer::serve`](crate::EchoServer::serve) counts them in
    /// [`Stats`](crate::Stats); [`EchoServer::serve_once`](crate::EchoServer::serve_once)
    /// waits for the next datagram), so the server cannot be tied into an endless exchange
    /// with another service. An empty list answers every port: a test that sends from a
    /// privileged port, or a server that must answer one, can use it.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Options, DEFAULT_DENIED_PORTS};
    ///
    /// assert_eq!(Options::new().denied_ports(), DEFAULT_DENIED_PORTS);
    /// // Answer every port.
    /// let open = Options::new().with_denied_ports([]);
    /// assert!(open.denied_ports().is_empty());
    /// // Only the small services whose answers loop with an echo (any order, duplicates fine).
    /// let small = Options::new().with_denied_ports([37, 19, 13, 9, 7, 7]);
    /// assert_eq!(small.denied_ports(), [7, 9, 13, 19, 37]);
    /// // A range: the privileged ports and NFS.
    /// let openbsd = Options::new().with_denied_ports((1..1024).chain([2049]));
    /// assert_eq!(openbsd.denied_ports().len(), 1024);
    /// ```
    pub fn with_denied_ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        let mut ports: Vec<u16> = ports.into_iter().collect();
        ports.sort_unstable();
        ports.dedup();
        self.denied_ports = Some(ports);
        self.set |= Knob::DeniedPorts as u32;
        self
    }

    /// The permissions of a Unix server's socket file (for example `0o600`: only its owner may
    /// connect), set between `bind` and `listen`, so no client can connect before they hold;
    /// `None` (the default) leaves what the process's umask gives.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// use socket_echo::{EchoServer, Options, Unix};
    ///
    /// let dir = std::env::temp_dir().join(format!("echo-mode-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("echo.sock");
    /// let server = EchoServer::bind_on_with(Unix, &path, Options::new().with_unix_mode(Some(0o600)))?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    /// drop(server); // removes the socket file
    /// assert!(!path.exists());
    /// # std::fs::remove_dir(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn with_unix_mode(mut self, mode: Option<u32>) -> Self {
        self.unix_mode = mode;
        self.set |= Knob::UnixMode as u32;
        self
    }

    /// The mode set by [`with_unix_mode`](Self::with_unix_mode).
    pub const fn unix_mode(&self) -> Option<u32> {
        self.unix_mode
    }

    /// The ports set by [`with_denied_ports`](Self::with_denied_ports), sorted.
    pub fn denied_ports(&self) -> &[u16] {
        self.denied_ports
            .as_deref()
            .unwrap_or(&DEFAULT_DENIED_PORTS)
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
