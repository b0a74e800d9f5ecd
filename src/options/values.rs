//! The values of the options that are more than a number: their defaults and bounds,
//! [`Keepalive`] and [`SourceRateLimit`].

use std::time::Duration;

/// The default size of the server's receive buffer and of the client's read chunks.
///
/// 65,536 bytes holds any UDP datagram (at most 65,507 bytes of payload over IPv4 and 65,527
/// over IPv6), so by default no datagram is ever truncated.
pub const DEFAULT_BUFFER_SIZE: usize = 64 * 1024;

/// The largest [`buffer_size`](crate::Options::with_buffer_size) and
/// [`max_pending`](crate::Options::with_max_pending) accepted: 16 MiB.
///
/// Far more than the largest UDP datagram (65,527 bytes) and than a socket moves in one
/// call, and small enough that a buffer per worker never strains a machine.
pub const MAX_BUFFER_SIZE: usize = 16 * 1024 * 1024;

/// The smallest [`max_pending`](crate::Options::with_max_pending) accepted: 1 KiB.
///
/// The server reads and writes a connection at most `max_pending` bytes at a time, so a
/// limit of a few bytes would cost a pair of system calls per few bytes echoed. 1 KiB is
/// also the smallest window the client keeps in flight.
pub const MIN_MAX_PENDING: usize = 1024;

/// The most [`workers`](crate::Options::with_workers) accepted: 1,024 threads, each with its own
/// event loop and buffers.
pub const MAX_WORKERS: usize = 1024;

/// The largest value of a C `int`, the type `SO_RCVBUF`, `SO_SNDBUF` and `listen(2)` take:
/// anything larger would wrap or be cut short silently.
pub(crate) const C_INT_MAX: usize = i32::MAX as usize;

/// The longest duration the crate accepts anywhere: 100 years (of 365 days).
///
/// Every duration a caller passes (an option, a fault's delay or hold, a measurement's
/// interval, timeout or length, a flag of the tool) is checked against it where it is parsed
/// or set ([`check_duration`](crate::check_duration)), and refused with the option's name
/// beyond it: a server adds these durations to the clock while it serves, and a sum past
/// the clock's range would panic a worker. Checking that the sum fits when the value is set
/// is not enough, since the clock moves on; 100 years from any moment a machine runs is far
/// inside it, and longer than anything a caller means.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::MAX_DURATION;
///
/// assert_eq!(MAX_DURATION, Duration::from_secs(100 * 365 * 24 * 3600));
/// assert!(std::time::Instant::now().checked_add(MAX_DURATION).is_some());
/// ```
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The default read, write and connect timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`echo_deadline`](crate::Options::with_echo_deadline): the longest one
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

/// The default `SO_SNDBUF` and `SO_RCVBUF` of connections accepted by
/// [`EchoServer::serve`](crate::EchoServer::serve): 256 KiB, see
/// [`Options::with_connection_socket_buffers`](crate::Options::with_connection_socket_buffers).
///
/// Chosen by measurement (`docs/performance.md`, "What a client that never reads holds"):
/// with it, a client that never reads holds about 1 MiB of the server's kernel memory, where
/// Linux's autotuning let it hold 4.6 to 6.4 MiB, and one connection's bulk echo over
/// loopback was no slower within the noise. Over a long round trip it bounds one
/// connection's echo to roughly 256 KiB per round trip.
pub const DEFAULT_CONNECTION_SOCKET_BUFFERS: Option<usize> = Some(256 * 1024);

/// The UDP source ports [`EchoServer::serve`](crate::EchoServer::serve) never answers by
/// default: every privileged port, 1 to 1023, as OpenBSD's inetd.
///
/// Services live on these ports (echo on 7, chargen on 19, time on 37, DNS on 53, NTP on
/// 123...), and clients almost never do: a datagram from one is most likely forged, and
/// answering it could start an endless exchange between this server and that service.
/// (Port 0 is refused anyway, as no one can send from it.)
///
/// # Examples
///
/// ```
/// use socket_echo::DEFAULT_DENIED_PORTS;
///
/// assert_eq!(DEFAULT_DENIED_PORTS.first(), Some(&1));
/// assert_eq!(DEFAULT_DENIED_PORTS.last(), Some(&1023));
/// assert!(DEFAULT_DENIED_PORTS.binary_search(&7).is_ok());
/// assert!(DEFAULT_DENIED_PORTS.binary_search(&1024).is_err());
/// ```
pub const DEFAULT_DENIED_PORTS: [u16; 1023] = privileged_ports();

/// The ports 1 to 1023, in order.
const fn privileged_ports() -> [u16; 1023] {
    let mut ports = [0; 1023];
    let mut i = 0;
    while i < ports.len() {
        ports[i] = i as u16 + 1;
        i += 1;
    }
    ports
}

/// The default per-source limit of [`EchoServer::serve`](crate::EchoServer::serve) on
/// datagrams that answer the server's own recent replies (send them back, whole or altered):
/// 100 a second, in bursts of up to 1,000.
///
/// One forged datagram between two echo servers bounces between them as fast as they can
/// answer, every datagram the last reply sent to its source, or that reply altered by a
/// peer that changes what it echoes. Those answers take tokens, and the first one refused
/// ends the exchange: a loop faster than 100 round trips a second (any two servers less
/// than 10 ms apart) ends after about 1,000 of them. A client's messages are new ones, or
/// numbered ones whose number changes the same few bytes each time, so it is never limited
/// however fast it goes; one that sends the very same message again and again is limited
/// after its first 1,000 repeats, to 100 a second. See `docs/protocol.md` for the figures.
///
/// # Examples
///
/// ```
/// use socket_echo::{Options, DEFAULT_SOURCE_RATE_LIMIT};
///
/// assert_eq!(DEFAULT_SOURCE_RATE_LIMIT.rate(), 100);
/// assert_eq!(DEFAULT_SOURCE_RATE_LIMIT.burst(), 1_000);
/// assert_eq!(Options::new().source_rate_limit(), Some(DEFAULT_SOURCE_RATE_LIMIT));
/// ```
pub const DEFAULT_SOURCE_RATE_LIMIT: SourceRateLimit = SourceRateLimit::new(100, 1_000);

/// A limit on the datagrams [`EchoServer::serve`](crate::EchoServer::serve) answers that
/// answer its own recent replies to their source: a token bucket of `burst` datagrams per
/// source (address and port), refilled at `rate` datagrams a second.
///
/// A datagram that brings one of the last four replies sent to its source back, whole or
/// altered in a few places that move from one datagram to the next (a corrupted byte at a
/// random offset), takes a token from that source's bucket; one that finds the bucket empty
/// is dropped and counted in [`Stats::dropped_rate_limited`](crate::Stats::dropped_rate_limited).
/// This is what ends an exchange between two servers started by one forged datagram: each
/// sends back what the other just sent, byte for byte or altered (a `corrupt` fault, a peer
/// that flips the case of letters), as fast as it can, so the source soon runs out of
/// tokens, and one dropped datagram ends it. Other datagrams take no token, and a client's
/// messages are other datagrams: new ones, or numbered ones whose number changes the same
/// few bytes every time. On loopback a flat-out closed-loop client goes as fast as a loop,
/// and a limit on every datagram could not end the one without slowing the other.
/// docs/protocol.md ("The per-source rate limit") says exactly how the two are told apart,
/// and what cannot be.
///
/// The memory of recent replies and the buckets are the server's, shared by its workers (the
/// replies in 64 tables with a lock each, the buckets behind a lock taken only for an
/// answer), so a loop spread over many workers is seen whole and drains its source's one
/// bucket at its whole rate. A server remembers the replies to at most 4,096 sources (about
/// 1.4 MiB at most, allocated only as sources come), and the buckets of at most 4,096
/// answering sources. A source whose bucket has refilled holds no information and is
/// forgotten when room is needed; if all 4,096 were seen within their last burst (a flood
/// of forged sources), a new answering source is refused until one refills, while the ones
/// already known keep their buckets.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoServer, Options, SourceRateLimit, Udp};
///
/// // At most 100 repeats a second from each source, 10 at once.
/// let limit = SourceRateLimit::new(100, 10);
/// let options = Options::new().with_source_rate_limit(Some(limit));
/// let server = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options)?;
/// assert_eq!(server.options().source_rate_limit(), Some(limit));
/// assert_eq!((limit.rate(), limit.burst()), (100, 10));
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceRateLimit {
    pub(super) rate: u32,
    pub(super) burst: u32,
}

impl SourceRateLimit {
    /// `rate` replies a second to each source, and up to `burst` at once after a pause.
    /// Both must be at least 1 ([`Options::validate`](crate::Options::validate) refuses zero).
    pub const fn new(rate: u32, burst: u32) -> Self {
        SourceRateLimit { rate, burst }
    }

    /// Replies a second to each source, sustained.
    pub const fn rate(&self) -> u32 {
        self.rate
    }

    /// Replies a source may get at once after a pause: the size of its bucket.
    pub const fn burst(&self) -> u32 {
        self.burst
    }
}

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
///     .with_probes(5);
/// let options = Options::new().with_keepalive(Some(keepalive));
/// assert_eq!(options.keepalive(), Some(keepalive));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keepalive {
    pub(super) time: Option<Duration>,
    pub(super) interval: Option<Duration>,
    pub(super) probes: Option<u32>,
}

impl Keepalive {
    /// Keepalive on, with the operating system's timings.
    pub const fn new() -> Self {
        Keepalive {
            time: None,
            interval: None,
            probes: None,
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
    pub const fn with_probes(self, probes: u32) -> Self {
        Keepalive {
            probes: Some(probes),
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
    pub const fn probes(&self) -> Option<u32> {
        self.probes
    }
}

/// The longest span the engine's millisecond clock measures: its differences are read as
/// signed 32-bit numbers of milliseconds. [`Options::validate`](crate::Options::validate)
/// refuses an idle timeout beyond it, and one under a millisecond, which that clock would
/// read as zero.
pub(crate) const CLOCK_RANGE: Duration = Duration::from_millis((u32::MAX / 2) as u64);
