//! The options the system applies to a socket: address reuse, TCP's, buffer sizes, IP's,
//! the timeouts of a blocking socket, the listen queue and a socket file's mode.

use super::*;

impl Options {
    option!(
        /// `SO_REUSEADDR` on listening sockets, so a restarted server can bind a port whose old
        /// connections are still in `TIME_WAIT`. Unix only: on Windows the same flag would let
        /// another process steal the port, so it is not set there. A UDP server takes it and
        /// does not set it: on a datagram socket it would let two servers bind the same port
        /// without knowing it. Refused by clients and by the Unix transports.
        reuse_address, with_reuse_address: bool, ReuseAddress
    );

    option!(
        /// `SO_REUSEPORT` on listening sockets: several sockets may bind the same address and
        /// port, and the kernel spreads connections or datagrams between them. Unix only.
        /// Refused by clients and by the Unix transports.
        reuse_port, with_reuse_port: bool, ReusePort
    );

    option!(
        /// `TCP_NODELAY`: send small writes at once instead of waiting to coalesce them (Nagle).
        /// On by default, since an echo is a request and its answer. TCP only: refused by the
        /// other transports.
        nodelay, with_nodelay: bool, Nodelay
    );

    option!(
        /// `SO_KEEPALIVE` with its timings; `None` leaves keepalive off. TCP only: refused by
        /// the other transports.
        keepalive, with_keepalive: Option<Keepalive>, Keepalive
    );

    option!(
        /// `SO_LINGER`: how long `close` waits for unsent data. `Some(Duration::ZERO)` makes
        /// `close` reset the connection at once; `None` leaves the system default. TCP only:
        /// refused by the other transports.
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
        /// 1 to 255. TCP and UDP only: a Unix socket has no IP header, and the Unix transports
        /// refuse it.
        ttl, with_ttl: Option<u32>, Ttl
    );

    option!(
        /// `IPV6_V6ONLY`, always set explicitly on IPv6 sockets since its default differs
        /// between systems. With `false`, a server bound to `[::]` also serves IPv4 clients.
        /// An IPv4 socket takes it and does nothing with it (an address may resolve to both
        /// families); the Unix transports refuse it.
        only_v6, with_only_v6: bool, OnlyV6
    );

    option!(
        /// How long one receive may wait (`SO_RCVTIMEO`) on a client socket or a connection
        /// served by [`serve_once`](crate::EchoServer::serve_once); `None` waits forever. The
        /// event loop of [`serve`](crate::EchoServer::serve) blocks on no socket: its
        /// connections are bounded by the [`idle_timeout`](Self::with_idle_timeout). For a UDP client it is the wait per attempt.
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
        /// The length of the queue of connections a stream listener holds before they are
        /// accepted (`listen(2)`); the kernel caps it at `net.core.somaxconn`. Zero is refused,
        /// and so is anything over 2,147,483,647 (`listen(2)` takes a C `int`).
        backlog, with_backlog: u32, Backlog
    );

    option!(
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
        unix_mode, with_unix_mode: Option<u32>, UnixMode
    );
}
