//! The limits and policies of [`EchoServer::serve`](crate::EchoServer::serve): its workers,
//! the connections it keeps and for how long, the bytes it holds, how it ends, and which
//! datagrams it answers.

use super::*;

impl Options {
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
        /// How long a graceful shutdown of [`EchoServer::serve`](crate::EchoServer::serve)
        /// goes on echoing to live connections (default 1 s). A connection still owed bytes
        /// when it ends (an echo not taken, input not read) is reset, so its peer can tell
        /// the echo was cut short; see [`EchoServer::serve`](crate::EchoServer::serve). It is
        /// measured to the nanosecond, so no value is rounded; zero ends it at once.
        shutdown_grace, with_shutdown_grace: Duration, ShutdownGrace
    );

    option!(
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
        /// direction. A client refuses it (it is a server's), and
        /// [`serve_once`](crate::EchoServer::serve_once) does not use it. Zero is refused.
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
        connection_socket_buffers, with_connection_socket_buffers: Option<usize>, ConnectionSocketBuffers
    );

    option!(
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
        /// bounds one address, not one host. Every transport but TCP (and TLS over TCP) refuses
        /// it ([`Error::InvalidOption`](crate::Error::InvalidOption)): a Unix client has no
        /// address to count, and a datagram server no connections.
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
        max_connections_per_source, with_max_connections_per_source: Option<usize>, MaxConnectionsPerSource
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

    /// The ports set by [`with_denied_ports`](Self::with_denied_ports), sorted.
    pub fn denied_ports(&self) -> &[u16] {
        self.denied_ports
            .as_deref()
            .unwrap_or(&DEFAULT_DENIED_PORTS)
    }
}
