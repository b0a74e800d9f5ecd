//! What a transport asks of [`Options`] when it makes a socket: which knobs were set
//! explicitly (so one that cannot apply is refused), and the setters that apply each group of
//! knobs to a socket through socket2.

use socket2::{Socket, TcpKeepalive};

use super::Options;
use crate::error::{Error, Result};

impl Options {
    /// Whether `knob` was set explicitly.
    const fn is_set(&self, knob: Knob) -> bool {
        self.set & knob as u32 != 0
    }

    /// Refuses the first of `knobs` that was set explicitly: it cannot apply to `what`.
    pub(crate) fn refuse(&self, knobs: &[Knob], what: &'static str) -> Result<()> {
        match knobs.iter().find(|knob| self.is_set(**knob)) {
            Some(knob) => Err(Error::InvalidOption {
                option: knob.name(),
                reason: format!("does not apply to {what}").into(),
            }),
            None => Ok(()),
        }
    }

    /// The options of a listening or bound server socket, set before `bind`: `SO_REUSEADDR`
    /// (stream listeners only: on a datagram socket it would let two servers bind the same
    /// port silently) and `SO_REUSEPORT`.
    pub(crate) fn apply_reuse(&self, socket: &Socket, stream: bool) -> Result<()> {
        if stream {
            set(
                "reuse_address",
                socket.set_reuse_address(self.reuse_address),
            )?;
        }
        set("reuse_port", socket.set_reuse_port(self.reuse_port))
    }

    /// The options of any IP socket, set before `bind` or `connect`.
    pub(crate) fn apply_ip(&self, socket: &Socket, ipv6: bool) -> Result<()> {
        if ipv6 {
            set("only_v6", socket.set_only_v6(self.only_v6))?;
        }
        if let Some(ttl) = self.ttl {
            let result = if ipv6 {
                socket.set_unicast_hops_v6(ttl)
            } else {
                socket.set_ttl_v4(ttl)
            };
            set("ttl", result)?;
        }
        Ok(())
    }

    /// The buffer sizes of any socket.
    pub(crate) fn apply_buffers(&self, socket: &Socket) -> Result<()> {
        if let Some(size) = self.recv_buffer_size {
            set("recv_buffer_size", socket.set_recv_buffer_size(size))?;
        }
        if let Some(size) = self.send_buffer_size {
            set("send_buffer_size", socket.set_send_buffer_size(size))?;
        }
        Ok(())
    }

    /// The timeouts of a socket that exchanges data in blocking mode (a client, or a
    /// connection served by `serve_once`).
    pub(crate) fn apply_timeouts(&self, socket: &Socket) -> Result<()> {
        set("read_timeout", socket.set_read_timeout(self.read_timeout))?;
        set(
            "write_timeout",
            socket.set_write_timeout(self.write_timeout),
        )
    }

    /// The TCP options of a connection: `TCP_NODELAY`, keepalive, linger.
    pub(crate) fn apply_tcp(&self, socket: &Socket) -> Result<()> {
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
            #[cfg(not(any(target_os = "openbsd", target_os = "haiku")))]
            if let Some(probes) = keepalive.probes {
                params = params.with_retries(probes);
            }
            set("keepalive", socket.set_tcp_keepalive(&params))?;
        }
        if self.linger.is_some() {
            set("linger", socket.set_linger(self.linger))?;
        }
        Ok(())
    }
}

impl Options {
    /// The socket buffers of a connection accepted by the event loop, where no explicit
    /// buffer size (already inherited from the listener) says otherwise.
    pub(crate) fn apply_served_connection_buffers(&self, socket: &Socket) -> Result<()> {
        let Some(size) = self.connection_socket_buffers else {
            return Ok(());
        };
        if self.recv_buffer_size.is_none() {
            set(
                "connection_socket_buffers",
                socket.set_recv_buffer_size(size),
            )?;
        }
        if self.send_buffer_size.is_none() {
            set(
                "connection_socket_buffers",
                socket.set_send_buffer_size(size),
            )?;
        }
        Ok(())
    }
}

/// Each option that can be set, one bit of [`Options`]'s record of what was set explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Knob {
    ReuseAddress = 1 << 0,
    ReusePort = 1 << 1,
    Nodelay = 1 << 2,
    Keepalive = 1 << 3,
    Linger = 1 << 4,
    RecvBufferSize = 1 << 5,
    SendBufferSize = 1 << 6,
    Ttl = 1 << 7,
    OnlyV6 = 1 << 8,
    ReadTimeout = 1 << 9,
    WriteTimeout = 1 << 10,
    ConnectTimeout = 1 << 11,
    Backlog = 1 << 12,
    BufferSize = 1 << 13,
    Resends = 1 << 14,
    Workers = 1 << 15,
    MaxConnections = 1 << 16,
    IdleTimeout = 1 << 17,
    MaxPending = 1 << 18,
    ShutdownGrace = 1 << 19,
    DeniedPorts = 1 << 20,
    UnixMode = 1 << 21,
    SourceRateLimit = 1 << 22,
    ConnectionSocketBuffers = 1 << 23,
    MaxConnectionsPerSource = 1 << 24,
    EchoDeadline = 1 << 25,
    Tls = 1 << 26,
}

impl Knob {
    /// The option's name, as in its `with_*` method.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Knob::ReuseAddress => "reuse_address",
            Knob::ReusePort => "reuse_port",
            Knob::Nodelay => "nodelay",
            Knob::Keepalive => "keepalive",
            Knob::Linger => "linger",
            Knob::RecvBufferSize => "recv_buffer_size",
            Knob::SendBufferSize => "send_buffer_size",
            Knob::Ttl => "ttl",
            Knob::OnlyV6 => "only_v6",
            Knob::ReadTimeout => "read_timeout",
            Knob::WriteTimeout => "write_timeout",
            Knob::ConnectTimeout => "connect_timeout",
            Knob::Backlog => "backlog",
            Knob::BufferSize => "buffer_size",
            Knob::Resends => "resends",
            Knob::Workers => "workers",
            Knob::MaxConnections => "max_connections",
            Knob::IdleTimeout => "idle_timeout",
            Knob::MaxPending => "max_pending",
            Knob::ShutdownGrace => "shutdown_grace",
            Knob::DeniedPorts => "denied_ports",
            Knob::UnixMode => "unix_mode",
            Knob::SourceRateLimit => "source_rate_limit",
            Knob::ConnectionSocketBuffers => "connection_socket_buffers",
            Knob::MaxConnectionsPerSource => "max_connections_per_source",
            Knob::EchoDeadline => "echo_deadline",
            Knob::Tls => "tls",
        }
    }

    /// The options of a server only, refused on a client.
    pub(crate) const SERVER: [Knob; 13] = [
        Knob::ConnectionSocketBuffers,
        Knob::MaxConnectionsPerSource,
        Knob::DeniedPorts,
        Knob::SourceRateLimit,
        Knob::ReuseAddress,
        Knob::ReusePort,
        Knob::Backlog,
        Knob::Workers,
        Knob::MaxConnections,
        Knob::IdleTimeout,
        Knob::MaxPending,
        Knob::ShutdownGrace,
        Knob::UnixMode,
    ];

    /// Every option, in the order a refusal looks at them.
    const ALL: [Knob; 27] = [
        Knob::ReuseAddress,
        Knob::ReusePort,
        Knob::Nodelay,
        Knob::Keepalive,
        Knob::Linger,
        Knob::RecvBufferSize,
        Knob::SendBufferSize,
        Knob::Ttl,
        Knob::OnlyV6,
        Knob::ReadTimeout,
        Knob::WriteTimeout,
        Knob::ConnectTimeout,
        Knob::Backlog,
        Knob::BufferSize,
        Knob::Resends,
        Knob::Workers,
        Knob::MaxConnections,
        Knob::IdleTimeout,
        Knob::MaxPending,
        Knob::ShutdownGrace,
        Knob::DeniedPorts,
        Knob::UnixMode,
        Knob::SourceRateLimit,
        Knob::ConnectionSocketBuffers,
        Knob::MaxConnectionsPerSource,
        Knob::EchoDeadline,
        Knob::Tls,
    ];

    /// The transports the option applies to, by name: the one table that every
    /// transport's refusal ([`Options::refuse_inapplicable`]) and the tool
    /// ([`Options::applies_to`]) read.
    const fn transports(self) -> &'static [&'static str] {
        // TLS over TCP ("tls") takes TCP's options, TLS over Unix ("tls+unix") a Unix
        // stream socket's, and both take the TLS settings.
        const ALL: &[&str] = &["tcp", "udp", "unix", "unixgram", "tls", "tls+unix"];
        const IP: &[&str] = &["tcp", "udp", "tls"];
        const TCP: &[&str] = &["tcp", "tls"];
        const STREAM: &[&str] = &["tcp", "unix", "tls", "tls+unix"];
        const DATAGRAM: &[&str] = &["udp", "unixgram"];
        const UNIX: &[&str] = &["unix", "unixgram", "tls+unix"];
        match self {
            // Socket-level, or the crate's own buffers and timeouts.
            Knob::RecvBufferSize
            | Knob::SendBufferSize
            | Knob::ReadTimeout
            | Knob::WriteTimeout
            | Knob::BufferSize
            | Knob::Workers
            | Knob::EchoDeadline => ALL,
            // Ports and IP headers; a Unix socket has neither.
            Knob::ReuseAddress | Knob::ReusePort | Knob::Ttl | Knob::OnlyV6 => IP,
            Knob::Nodelay | Knob::Keepalive | Knob::Linger => TCP,
            // Its sources are IP addresses; a Unix client has none to count it under.
            Knob::MaxConnectionsPerSource => TCP,
            Knob::ConnectionSocketBuffers
            | Knob::Backlog
            | Knob::ConnectTimeout
            | Knob::MaxConnections
            | Knob::IdleTimeout
            | Knob::MaxPending
            | Knob::ShutdownGrace => STREAM,
            Knob::Resends | Knob::SourceRateLimit => DATAGRAM,
            Knob::DeniedPorts => &["udp"],
            Knob::UnixMode => UNIX,
            Knob::Tls => &["tls", "tls+unix"],
        }
    }

    /// Whether the option applies to the transport named `transport`.
    fn applies_to(self, transport: &str) -> bool {
        self.transports().contains(&transport)
    }
}

impl Options {
    /// Refuses the first option set explicitly that does not apply to the transport named
    /// `transport` (`"tcp"`, `"udp"`, `"unix"` or `"unixgram"`).
    pub(crate) fn refuse_inapplicable(&self, transport: &'static str) -> Result<()> {
        let knobs: Vec<Knob> = Knob::ALL
            .into_iter()
            .filter(|knob| !knob.applies_to(transport))
            .collect();
        self.refuse(&knobs, transport)
    }

    /// Whether the option named `option` (the name of its `with_*` method and of
    /// [`Error::InvalidOption`]: `"nodelay"`, `"denied_ports"`, ...) applies to the transport
    /// named `transport` (as [`Endpoint::transport`](crate::Endpoint::transport) names it:
    /// `"tcp"`, `"udp"`, `"unix"` or `"unixgram"`). A server or client refuses an option set
    /// for a transport it does not apply to; this is the table that refusal reads, for a
    /// caller that sets options for several transports at once. False for an unknown option
    /// or transport.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Options;
    ///
    /// assert!(Options::applies_to("nodelay", "tcp"));
    /// assert!(!Options::applies_to("nodelay", "udp"));
    /// assert!(Options::applies_to("unix_mode", "unixgram"));
    /// assert!(Options::applies_to("recv_buffer_size", "unix"));
    /// assert!(!Options::applies_to("no_such_option", "tcp"));
    /// ```
    pub fn applies_to(option: &str, transport: &str) -> bool {
        Knob::ALL
            .iter()
            .any(|knob| knob.name() == option && knob.applies_to(transport))
    }
}

pub(super) fn invalid(option: &'static str, reason: &'static str) -> Error {
    Error::InvalidOption {
        option,
        reason: reason.into(),
    }
}

fn set(option: &'static str, result: std::io::Result<()>) -> Result<()> {
    result.map_err(|source| Error::SetOption { option, source })
}
