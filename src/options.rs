//! Socket options: one value type holding every knob, applied to real sockets in one place.
//!
//! This module is the only code that calls socket2's setters. It never opens a connection or
//! reads a byte; it only validates values and configures sockets handed to it.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use socket2::{Domain, Socket, TcpKeepalive};

use crate::engine::CLOCK_RANGE;
use crate::error::{Error, Result};

/// The default size of the server's receive buffer and of the client's read chunks.
///
/// 65,536 bytes holds any UDP datagram (at most 65,507 bytes of payload over IPv4 and 65,527
/// over IPv6), so by default no datagram is ever truncated.
pub const DEFAULT_BUFFER_SIZE: usize = 64 * 1024;

/// The largest [`buffer_size`](Options::with_buffer_size) and
/// [`max_pending`](Options::with_max_pending) accepted: 16 MiB.
///
/// Far more than the largest UDP datagram (65,527 bytes) and than a socket moves in one
/// call, and small enough that a buffer per worker never strains a machine.
pub const MAX_BUFFER_SIZE: usize = 16 * 1024 * 1024;

/// The smallest [`max_pending`](Options::with_max_pending) accepted: 1 KiB.
///
/// The server reads and writes a connection at most `max_pending` bytes at a time, so a
/// limit of a few bytes would cost a pair of system calls per few bytes echoed. 1 KiB is
/// also the smallest window the client keeps in flight.
pub const MIN_MAX_PENDING: usize = 1024;

/// The most [`workers`](Options::with_workers) accepted: 1,024 threads, each with its own
/// event loop and buffers.
pub const MAX_WORKERS: usize = 1024;

/// The largest value of a C `int`, the type `SO_RCVBUF`, `SO_SNDBUF` and `listen(2)` take:
/// anything larger would wrap or be cut short silently.
const C_INT_MAX: usize = i32::MAX as usize;

/// The default read, write and connect timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`echo_deadline`](Options::with_echo_deadline): the longest one
/// [`EchoClient::echo`](crate::EchoClient::echo) takes, all reads, writes and UDP attempts
/// together.
///
/// 60 seconds: longer than the default UDP attempts take together (3 × 10 s), so by
/// default it only ends calls that would otherwise go on much longer.
pub const DEFAULT_ECHO_DEADLINE: Duration = Duration::from_secs(60);

/// The default cap on connections served at once by [`EchoServer::serve`](crate::EchoServer::serve).
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// The default time after which [`EchoServer::serve`](crate::EchoServer::serve) closes a
/// connection that has neither sent nor taken a byte.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The default number of echoed bytes a connection may leave untaken before the server stops
/// reading from it.
pub const DEFAULT_MAX_PENDING: usize = 64 * 1024;

/// The UDP source ports [`EchoServer::serve`](crate::EchoServer::serve) never answers by
/// default: echo (7), discard (9), daytime (13), chargen (19) and time (37). A reply to one of
/// these services could start an endless exchange between the two servers.
pub const DEFAULT_DENIED_PORTS: [u16; 5] = [7, 9, 13, 19, 37];

/// TCP keepalive settings: when to start probing an idle connection, how often, how many times.
///
/// Each part left unset keeps the operating system's default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{Keepalive, Options};
///
/// let keepalive = Keepalive::new()
///     .with_time(Duration::from_secs(60))
///     .with_interval(Duration::from_secs(10))
///     .with_retries(5);
/// let options = Options::new().with_keepalive(Some(keepalive));
/// assert_eq!(options.keepalive(), Some(keepalive));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keepalive {
    time: Option<Duration>,
    interval: Option<Duration>,
    retries: Option<u32>,
}

impl Keepalive {
    /// Keepalive on, with the operating system's timings.
    pub const fn new() -> Self {
        Keepalive {
            time: None,
            interval: None,
            retries: None,
        }
    }

    /// Idle time before the first probe (`TCP_KEEPIDLE`). Whole seconds on Linux.
    pub const fn with_time(self, time: Duration) -> Self {
        Keepalive {
            time: Some(time),
            ..self
        }
    }

    /// Time between probes (`TCP_KEEPINTVL`). Whole seconds on Linux.
    pub const fn with_interval(self, interval: Duration) -> Self {
        Keepalive {
            interval: Some(interval),
            ..self
        }
    }

    /// Unanswered probes before the connection is dropped (`TCP_KEEPCNT`).
    pub const fn with_retries(self, retries: u32) -> Self {
        Keepalive {
            retries: Some(retries),
            ..self
        }
    }

    /// The idle time before the first probe, if set.
    pub const fn time(&self) -> Option<Duration> {
        self.time
    }

    /// The time between probes, if set.
    pub const fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// The number of probes, if set.
    pub const fn retries(&self) -> Option<u32> {
        self.retries
    }
}

/// Every socket option the crate tunes, for servers and clients alike.
///
/// Build it with the `const fn with_*` chain and pass it to
/// [`EchoServer::bind_with`](crate::EchoServer::bind_with),
/// [`EchoServer::bind_on_with`](crate::EchoServer::bind_on_with),
/// [`EchoClient::connect_with`](crate::EchoClient::connect_with) or
/// [`EchoClient::connect_on_with`](crate::EchoClient::connect_on_with). Values are checked
/// before a socket is made: a zero timeout or buffer, a duration the system would round to
/// zero, and a size beyond what the system or the crate can hold are refused with
/// [`Error::InvalidOption`], never taken to mean "forever", "nothing" or "as much as fits".
/// Options that do not apply to a transport (nodelay, keepalive and linger for UDP) are
/// ignored by it.
///
/// | option | default | accepted | applies to |
/// |---|---|---|---|
/// | [`reuse_address`](Self::with_reuse_address) | `true` | | TCP listeners (Unix) |
/// | [`reuse_port`](Self::with_reuse_port) | `false` | | listening sockets (Unix) |
/// | [`nodelay`](Self::with_nodelay) | `true` | | TCP connections |
/// | [`keepalive`](Self::with_keepalive) | off | time and interval ≥ 1 s, retries ≥ 1 | TCP connections |
/// | [`linger`](Self::with_linger) | OS default | | TCP connections |
/// | [`recv_buffer_size`](Self::with_recv_buffer_size), [`send_buffer_size`](Self::with_send_buffer_size) | OS default | 1 B to 2,147,483,647 B | all sockets |
/// | [`ttl`](Self::with_ttl) | OS default | 1 to 255 | all sockets |
/// | [`only_v6`](Self::with_only_v6) | `true` | | IPv6 sockets |
/// | [`read_timeout`](Self::with_read_timeout), [`write_timeout`](Self::with_write_timeout) | 10 s | ≥ 1 µs, or `None` | connections, client sockets |
/// | [`connect_timeout`](Self::with_connect_timeout) | 10 s | ≥ 1 µs, or `None` | TCP clients |
/// | [`echo_deadline`](Self::with_echo_deadline) | 60 s | ≥ 1 µs, or `None` | each client `echo`, whole |
/// | [`backlog`](Self::with_backlog) | 1024 | 1 to 2,147,483,647 | TCP listeners |
/// | [`buffer_size`](Self::with_buffer_size) | 65,536 B | 1 B to 16 MiB | server receive buffer |
/// | [`retries`](Self::with_retries) | 2 | any | UDP clients |
/// | [`workers`](Self::with_workers) | one per core | 1 to 1,024 | `serve` |
/// | [`max_connections`](Self::with_max_connections) | 16,384 | ≥ 1 | `serve`, TCP |
/// | [`idle_timeout`](Self::with_idle_timeout) | 300 s | 1 ms to 24 days, or `None` | `serve`, TCP |
/// | [`max_pending`](Self::with_max_pending) | 64 KiB | 1 KiB to 16 MiB | `serve`, TCP |
/// | [`shutdown_grace`](Self::with_shutdown_grace) | 1 s | any | `serve`, TCP |
/// | [`denied_ports`](Self::with_denied_ports) | 7, 9, 13, 19, 37 | any | `serve`, UDP |
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
    retries: u32,
    workers: Option<NonZeroUsize>,
    max_connections: usize,
    idle_timeout: Option<Duration>,
    max_pending: usize,
    shutdown_grace: Duration,
    /// `None` stands for [`DEFAULT_DENIED_PORTS`], so `new` stays `const`.
    denied_ports: Option<Vec<u16>>,
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

/// Generates the `const fn` setter and getter of one option.
macro_rules! option {
    ($(#[$doc:meta])* $field:ident, $with:ident: $ty:ty) => {
        $(#[$doc])*
        pub const fn $with(mut self, $field: $ty) -> Self {
            self.$field = $field;
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
            retries: 2,
            workers: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_pending: DEFAULT_MAX_PENDING,
            shutdown_grace: Duration::from_secs(1),
            denied_ports: None,
        }
    }

    option!(
        /// `SO_REUSEADDR` on listening sockets, so a restarted server can bind a port whose old
        /// connections are still in `TIME_WAIT`. Unix only: on Windows the same flag would let
        /// another process steal the port, so it is not set there.
        reuse_address, with_reuse_address: bool
    );
    option!(
        /// `SO_REUSEPORT` on listening sockets: several sockets may bind the same address and
        /// port, and the kernel spreads connections or datagrams between them. Unix only.
        reuse_port, with_reuse_port: bool
    );
    option!(
        /// `TCP_NODELAY`: send small writes at once instead of waiting to coalesce them (Nagle).
        /// On by default, since an echo is a request and its answer.
        nodelay, with_nodelay: bool
    );
    option!(
        /// `SO_KEEPALIVE` with its timings; `None` leaves keepalive off.
        keepalive, with_keepalive: Option<Keepalive>
    );
    option!(
        /// `SO_LINGER`: how long `close` waits for unsent data. `Some(Duration::ZERO)` makes
        /// `close` reset the connection at once; `None` leaves the system default.
        linger, with_linger: Option<Duration>
    );
    option!(
        /// `SO_RCVBUF` in bytes. Linux doubles the value it is given and caps it at
        /// `net.core.rmem_max`, so the size read back may differ. Zero is refused, and so is
        /// anything over 2,147,483,647 (the option is a C `int`).
        recv_buffer_size, with_recv_buffer_size: Option<usize>
    );
    option!(
        /// `SO_SNDBUF` in bytes, with the same caveats as
        /// [`with_recv_buffer_size`](Self::with_recv_buffer_size). Zero is refused, and so
        /// is anything over 2,147,483,647.
        send_buffer_size, with_send_buffer_size: Option<usize>
    );
    option!(
        /// `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6): the hop limit of outgoing packets,
        /// 1 to 255.
        ttl, with_ttl: Option<u32>
    );
    option!(
        /// `IPV6_V6ONLY`, always set explicitly on IPv6 sockets since its default differs
        /// between systems. With `false`, a server bound to `[::]` also serves IPv4 clients.
        only_v6, with_only_v6: bool
    );
    option!(
        /// How long one receive may wait (`SO_RCVTIMEO`) on a client socket or a served
        /// connection; `None` waits forever. For a UDP client it is the wait per attempt.
        /// Zero is refused, and so is anything under one microsecond, the resolution of
        /// socket timeouts (the system would round it to zero, which means "forever"). It
        /// never applies to waiting for the next connection or datagram.
        read_timeout, with_read_timeout: Option<Duration>
    );
    option!(
        /// How long one send may wait (`SO_SNDTIMEO`); `None` waits forever. Zero, or
        /// anything under one microsecond, is refused.
        write_timeout, with_write_timeout: Option<Duration>
    );
    option!(
        /// How long a TCP client waits for the connection to be established; `None` waits as
        /// long as the operating system does. Zero, or anything under one microsecond, is
        /// refused.
        connect_timeout, with_connect_timeout: Option<Duration>
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
        /// when it runs out the call fails with [`Error::Deadline`] (a single read or write
        /// that times out first is still [`Error::Timeout`]). It is kept to within a
        /// millisecond. Zero, or anything under one microsecond, is refused.
        echo_deadline, with_echo_deadline: Option<Duration>
    );
    option!(
        /// The length of the queue of connections a TCP listener holds before they are
        /// accepted (`listen(2)`); the kernel caps it at `net.core.somaxconn`. Zero is refused,
        /// and so is anything over 2,147,483,647 (`listen(2)` takes a C `int`).
        backlog, with_backlog: u32
    );
    option!(
        /// The size in bytes of the buffer a server receives into, and of a client's read
        /// chunks. A UDP datagram larger than this is reported as truncated, never echoed
        /// short. From 1 byte to [`MAX_BUFFER_SIZE`] (16 MiB); anything else is refused
        /// before a socket is made. The buffer is allocated when serving starts; memory that
        /// cannot be had is [`Error::Allocation`], never an abort.
        buffer_size, with_buffer_size: usize
    );
    option!(
        /// How many times a UDP client sends a message again after a read timeout before it
        /// gives up with [`Error::Timeout`].
        retries, with_retries: u32
    );

    option!(
        /// How many worker threads [`EchoServer::serve`](crate::EchoServer::serve) runs, each
        /// with its own event loop; `None` (the default) means one per available core. More
        /// than [`MAX_WORKERS`] is refused.
        workers, with_workers: Option<NonZeroUsize>
    );
    option!(
        /// The most connections [`EchoServer::serve`](crate::EchoServer::serve) serves at
        /// once (default 16,384). A connection beyond it is closed as soon as it is accepted,
        /// and counted in [`Stats::refused`](crate::Stats::refused). Zero is refused.
        max_connections, with_max_connections: usize
    );
    option!(
        /// How long [`EchoServer::serve`](crate::EchoServer::serve) keeps a connection that
        /// neither sends nor takes a byte (default 300 s); `None` keeps it forever. A client
        /// that sends but never reads its echo counts as idle once the server has stopped
        /// reading from it. The server's clock counts whole milliseconds on 32 bits, so
        /// anything under one millisecond (which it would read as zero) and anything over
        /// about 24 days (2^31 − 1 ms, beyond what it measures) is refused.
        idle_timeout, with_idle_timeout: Option<Duration>
    );
    option!(
        /// How many echoed bytes a connection of
        /// [`EchoServer::serve`](crate::EchoServer::serve) may leave untaken (default 64 KiB).
        /// While that many wait, the server stops reading from it, so a client that never
        /// reads costs at most this much memory. It is also the most the server moves per
        /// read and write of a connection, so it ranges from [`MIN_MAX_PENDING`] (1 KiB) to
        /// [`MAX_BUFFER_SIZE`] (16 MiB); anything else is refused.
        max_pending, with_max_pending: usize
    );
    option!(
        /// How long a graceful shutdown of [`EchoServer::serve`](crate::EchoServer::serve)
        /// waits for live connections to take their pending bytes before closing them
        /// (default 1 s). It is measured to the nanosecond, so no value is rounded; zero
        /// closes them at once (a connection with bytes still unsent or unread is then
        /// reset).
        shutdown_grace, with_shutdown_grace: Duration
    );

    /// The UDP source ports [`EchoServer::serve`](crate::EchoServer::serve) never answers
    /// (default [`DEFAULT_DENIED_PORTS`]).
    ///
    /// Datagrams from these ports, and from multicast, broadcast or unspecified addresses, are
    /// dropped and counted in [`Stats`](crate::Stats), so the server cannot be tied into an
    /// endless exchange with another small service. An empty list answers every port.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Options, DEFAULT_DENIED_PORTS};
    ///
    /// assert_eq!(Options::new().denied_ports(), DEFAULT_DENIED_PORTS);
    /// let open = Options::new().with_denied_ports([]);
    /// assert!(open.denied_ports().is_empty());
    /// ```
    pub fn with_denied_ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        let mut ports: Vec<u16> = ports.into_iter().collect();
        ports.sort_unstable();
        ports.dedup();
        self.denied_ports = Some(ports);
        self
    }

    /// The ports set by [`with_denied_ports`](Self::with_denied_ports), sorted.
    pub fn denied_ports(&self) -> &[u16] {
        self.denied_ports
            .as_deref()
            .unwrap_or(&DEFAULT_DENIED_PORTS)
    }

    /// Checks every value, naming the first one that is refused.
    ///
    /// Binding and connecting call this first; call it yourself to check options early.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a zero timeout or one the system would round to zero (a
    /// socket timeout under one microsecond, an idle timeout under one millisecond), an
    /// idle timeout beyond the server's clock, a zero buffer or backlog, a TTL outside
    /// 1 to 255, a keepalive time or interval under one second, or a size outside its range
    /// (see the table on [`Options`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{Error, Options};
    ///
    /// let options = Options::new().with_read_timeout(Some(Duration::ZERO));
    /// assert!(matches!(
    ///     options.validate(),
    ///     Err(Error::InvalidOption { option: "read_timeout", .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (option, value) in [
            ("read_timeout", self.read_timeout),
            ("write_timeout", self.write_timeout),
            ("connect_timeout", self.connect_timeout),
            ("echo_deadline", self.echo_deadline),
        ] {
            if let Some(value) = value {
                check_socket_timeout(option, value)?;
            }
        }
        if let Some(keepalive) = self.keepalive {
            // Linux takes whole seconds: anything shorter becomes 0, which it refuses.
            let second = Duration::from_secs(1);
            if keepalive.time.is_some_and(|time| time < second) {
                return Err(invalid("keepalive.time", "must be at least one second"));
            }
            if keepalive.interval.is_some_and(|interval| interval < second) {
                return Err(invalid("keepalive.interval", "must be at least one second"));
            }
            if keepalive.retries == Some(0) {
                return Err(invalid("keepalive.retries", "must be at least 1"));
            }
        }
        for (option, size) in [
            ("recv_buffer_size", self.recv_buffer_size),
            ("send_buffer_size", self.send_buffer_size),
        ] {
            if size == Some(0) {
                return Err(invalid(option, "must be at least 1 byte"));
            }
            if size.is_some_and(|size| size > C_INT_MAX) {
                return Err(invalid(
                    option,
                    "must be at most 2,147,483,647 bytes, the largest the socket option takes",
                ));
            }
        }
        if let Some(ttl) = self.ttl
            && !(1..=255).contains(&ttl)
        {
            return Err(invalid("ttl", "must be between 1 and 255"));
        }
        if self.backlog == 0 {
            return Err(invalid("backlog", "must be at least 1"));
        }
        if self.backlog as usize > C_INT_MAX {
            return Err(invalid(
                "backlog",
                "must be at most 2,147,483,647, the largest listen(2) takes",
            ));
        }
        if self.buffer_size == 0 {
            return Err(invalid("buffer_size", "must be at least 1 byte"));
        }
        if self.buffer_size > MAX_BUFFER_SIZE {
            return Err(invalid(
                "buffer_size",
                "must be at most 16 MiB (MAX_BUFFER_SIZE)",
            ));
        }
        if self
            .workers
            .is_some_and(|workers| workers.get() > MAX_WORKERS)
        {
            return Err(invalid("workers", "must be at most 1,024 (MAX_WORKERS)"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if let Some(idle) = self.idle_timeout {
            if idle.is_zero() {
                return Err(invalid(
                    "idle_timeout",
                    "a zero idle timeout would close every connection at once; use None to keep idle connections",
                ));
            }
            // The engine's clock counts whole milliseconds on 32 bits.
            if idle < Duration::from_millis(1) {
                return Err(invalid(
                    "idle_timeout",
                    "under one millisecond, which the server's millisecond clock reads as zero: every connection would be closed at the first sweep",
                ));
            }
            if idle > CLOCK_RANGE {
                return Err(invalid(
                    "idle_timeout",
                    "longer than the server's clock measures (about 24 days); use None to keep idle connections",
                ));
            }
        }
        if self.max_pending < MIN_MAX_PENDING {
            return Err(invalid(
                "max_pending",
                "must be at least 1 KiB (MIN_MAX_PENDING): the server moves at most this many bytes per system call",
            ));
        }
        if self.max_pending > MAX_BUFFER_SIZE {
            return Err(invalid(
                "max_pending",
                "must be at most 16 MiB (MAX_BUFFER_SIZE)",
            ));
        }
        Ok(())
    }

    /// Options that must be set before `bind`, for any socket of any transport.
    pub(crate) fn apply_before_bind(&self, socket: &Socket, addr: &SocketAddr) -> Result<()> {
        if addr.is_ipv6() {
            set("only_v6", socket.set_only_v6(self.only_v6))?;
        }
        if let Some(size) = self.recv_buffer_size {
            set("recv_buffer_size", socket.set_recv_buffer_size(size))?;
        }
        if let Some(size) = self.send_buffer_size {
            set("send_buffer_size", socket.set_send_buffer_size(size))?;
        }
        if let Some(ttl) = self.ttl {
            let result = match Domain::for_address(*addr) {
                Domain::IPV6 => socket.set_unicast_hops_v6(ttl),
                _ => socket.set_ttl_v4(ttl),
            };
            set("ttl", result)?;
        }
        Ok(())
    }

    /// Options of a server socket, set before `bind`. `SO_REUSEADDR` is only for stream
    /// listeners: on a UDP socket it would let two servers bind the same port silently.
    pub(crate) fn apply_listener(
        &self,
        socket: &Socket,
        addr: &SocketAddr,
        stream: bool,
    ) -> Result<()> {
        #[cfg(unix)]
        {
            if stream {
                set(
                    "reuse_address",
                    socket.set_reuse_address(self.reuse_address),
                )?;
            }
            set("reuse_port", socket.set_reuse_port(self.reuse_port))?;
        }
        #[cfg(not(unix))]
        let _ = stream;
        self.apply_before_bind(socket, addr)
    }

    /// The timeouts of a socket that exchanges data (a client, or a served connection).
    pub(crate) fn apply_timeouts(&self, socket: &Socket) -> Result<()> {
        set("read_timeout", socket.set_read_timeout(self.read_timeout))?;
        set(
            "write_timeout",
            socket.set_write_timeout(self.write_timeout),
        )
    }

    /// The options of a blocking TCP connection: on a client before `connect`, or on a
    /// connection accepted by `serve_once`.
    pub(crate) fn apply_tcp_connection(&self, socket: &Socket) -> Result<()> {
        self.apply_tcp_connection_nonblocking(socket)?;
        self.apply_timeouts(socket)
    }

    /// The options of a TCP connection served by the event loop, where socket timeouts have
    /// no effect.
    pub(crate) fn apply_tcp_connection_nonblocking(&self, socket: &Socket) -> Result<()> {
        set("nodelay", socket.set_tcp_nodelay(self.nodelay))?;
        if let Some(keepalive) = self.keepalive {
            let mut params = TcpKeepalive::new();
            if let Some(time) = keepalive.time {
                params = params.with_time(time);
            }
            #[cfg(not(any(target_os = "openbsd", target_os = "haiku")))]
            if let Some(interval) = keepalive.interval {
                params = params.with_interval(interval);
            }
            #[cfg(not(any(target_os = "openbsd", target_os = "haiku", target_os = "windows")))]
            if let Some(retries) = keepalive.retries {
                params = params.with_retries(retries);
            }
            set("keepalive", socket.set_tcp_keepalive(&params))?;
        }
        if self.linger.is_some() {
            set("linger", socket.set_linger(self.linger))?;
        }
        Ok(())
    }
}

/// The finest step of a socket timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO` take a `timeval`).
pub(crate) const SOCKET_TIMEOUT_RESOLUTION: Duration = Duration::from_micros(1);

/// Refuses a socket timeout the system would take as "forever" or "at once": zero, or under
/// its microsecond resolution (a `timeval` of zero means no timeout at all).
pub(crate) fn check_socket_timeout(option: &'static str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(invalid(
            option,
            "a zero timeout would wait forever on some systems and fail at once on others; use None to wait forever",
        ));
    }
    if value < SOCKET_TIMEOUT_RESOLUTION {
        return Err(invalid(
            option,
            "under one microsecond, the resolution of socket timeouts: the system would round it to zero and wait forever",
        ));
    }
    Ok(())
}

fn invalid(option: &'static str, reason: &'static str) -> Error {
    Error::InvalidOption { option, reason }
}

fn set(option: &'static str, result: std::io::Result<()>) -> Result<()> {
    result.map_err(|source| Error::SetOption { option, source })
}
