//! Faults on demand: a server that misbehaves exactly as a test asks, reproducibly from a
//! seed.
//!
//! [`Faults`] is the value a user builds (or parses from the `KIND[=VALUE][,KEY=VALUE...]`
//! text in `spec.rs`) and gives to a server; [`Switch`] is where a server keeps it, so a
//! [`ServerHandle`](crate::ServerHandle) can change it while the workers run. What a fault
//! does to a byte stream is in `stream.rs`, to datagrams in `datagram.rs`; both draw every
//! random choice from `rng.rs`.
//!
//! This module never touches a socket of a server that has no faults: the engines and the
//! blocking loops call it only once a fault was set, after one atomic load per loop turn.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::addr::Address;
use crate::error::{Error, Result};
use crate::transport::{BadCertificate, HandshakeStall};

pub(crate) mod datagram;
pub(crate) mod down;
mod jitter;
mod rng;
mod spec;
pub(crate) mod stream;

pub use down::Down;
pub use jitter::Distribution;
pub(crate) use rng::Rng;

/// What a [`Fault`] does. Built through the constructors of [`Fault`]; read back through
/// [`Fault::kind`].
///
/// Stream kinds apply to TCP and Unix stream servers (and to the plaintext of a TLS one),
/// datagram kinds to UDP and Unix datagram servers, [`Delay`](Self::Delay) to both, `Tls*`
/// kinds to TLS servers only; a server refuses a kind that cannot apply to its transport.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{Fault, FaultKind};
///
/// let fault: Fault = "slice=16,pause=5ms".parse()?;
/// assert_eq!(fault.kind(), FaultKind::Slice { size: 16, pause: Duration::from_millis(5) });
/// assert!(fault.kind().applies_to_stream() && !fault.kind().applies_to_datagram());
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Every echo (stream) or reply (datagram) held back `delay`, give or take `jitter`
    /// (never below zero), drawn from `distribution` with netem's `correlation` between
    /// consecutive draws (see [`Fault::delay_with`]). A stream keeps its order: a chunk is
    /// never released before the one read before it. SPEC:
    /// `delay=50ms[,jitter=10ms][,dist=normal][,correlation=25%]`.
    Delay {
        /// The mean delay.
        delay: Duration,
        /// How much the delay varies: the most either way for [`Distribution::Uniform`], the
        /// standard deviation's scale for the others.
        jitter: Duration,
        /// The shape of the variation.
        distribution: Distribution,
        /// The weight of the last draw in the next one, from 0 (independent) to 1.
        correlation: f64,
    },
    /// Stream: the echo written in pieces of at most `size` bytes, with `pause` between two
    /// pieces. SPEC: `slice=16[,pause=5ms]`.
    Slice {
        /// The largest piece, in bytes (at least 1).
        size: usize,
        /// The pause after each piece.
        pause: Duration,
    },
    /// Stream: each connection's echo limited to `bytes_per_second`. SPEC: `rate=64KiB`.
    Rate {
        /// The limit, in bytes per second (at least 1).
        bytes_per_second: u64,
    },
    /// Stream: the echo of every connection the fault applies to limited to
    /// `bytes_per_second` in total. SPEC: `shared-rate=1MiB`.
    SharedRate {
        /// The limit, in bytes per second (at least 1).
        bytes_per_second: u64,
    },
    /// Stream: after echoing `bytes`, the server stops reading and writing the connection,
    /// so the client's buffers fill; it is closed by the
    /// [`idle_timeout`](crate::Options::with_idle_timeout). SPEC: `stall-after=1000`.
    StallAfter {
        /// Bytes echoed before the stall.
        bytes: u64,
    },
    /// Stream: after echoing `bytes`, the server shuts its write side (a clean end-of-stream)
    /// and drops whatever the client still sends until it closes. SPEC: `close-after=1000`.
    CloseAfter {
        /// Bytes echoed before the end-of-stream.
        bytes: u64,
    },
    /// Stream: after echoing `bytes`, the server resets the connection (`SO_LINGER` 0, then
    /// close: the client reads the bytes already sent, then `ConnectionReset`).
    /// A Unix stream socket has no reset of its own: its peer sees `ConnectionReset` only if
    /// the server closed it with input unread (bytes sent past the limit), an end-of-stream
    /// otherwise. SPEC: `reset-after=1000`.
    ResetAfter {
        /// Bytes echoed before the reset.
        bytes: u64,
    },
    /// Stream: the connection reset `time` after the fault applied to it, whatever it
    /// carried (over a Unix socket, see [`ResetAfter`](Self::ResetAfter)). SPEC:
    /// `reset-in=2s` (or `reset-after=2s`).
    ResetAfterTime {
        /// Time from the accept (or the change of faults) to the reset.
        time: Duration,
    },
    /// Stream: the server shuts its write side (a clean end-of-stream) `time` after the
    /// fault applied to the connection, whatever it carried, and drops what the client still
    /// sends until it closes. SPEC: `close-in=2s`.
    CloseAfterTime {
        /// Time from the accept (or the change of faults) to the end-of-stream.
        time: Duration,
    },
    /// Stream: every end of the connection the server makes (the end-of-stream that answers
    /// the client's, one by `close-after` or `close-in`, a reset by `reset-after` or
    /// `reset-in`) held back `delay`: the echo is complete, but the end comes late. SPEC:
    /// `slow-close=500ms`.
    SlowClose {
        /// How long the end is held back.
        delay: Duration,
    },
    /// The server reads and discards, and never answers: a stream's writes all succeed and
    /// no byte and no end-of-stream comes back (even after the client's own end-of-stream),
    /// a datagram gets no reply. Only the client's read timeout saves it. With `after=N`, a
    /// stream is echoed N bytes first. SPEC: `blackhole`.
    Blackhole,
    /// Stream: the connection closed as soon as it is accepted. A client that had already
    /// sent bytes may see a reset rather than an end-of-stream (the system resets a socket
    /// closed with unread input). SPEC: `accept-close`.
    AcceptClose,
    /// Stream: the connection accepted, but neither read nor written until `delay` has
    /// passed. The system completes the handshake at once, as for any listening socket, so
    /// the client sees a slow first answer rather than a slow connect. SPEC:
    /// `accept-delay=200ms`.
    AcceptDelay {
        /// How long the connection waits before it is served.
        delay: Duration,
    },
    /// Datagram: the reply not sent. With `burst`, losses come in bursts (a two-state
    /// Gilbert–Elliott model: every reply is lost in the bad state, none in the good one)
    /// whose mean length is `burst` datagrams, with the same long-run loss rate (the
    /// fault's probability). SPEC: `drop=0.3`, `drop=0.05,burst=4`.
    Drop {
        /// The mean length of a burst of losses, at least 1; `None` for independent losses.
        burst: Option<f64>,
    },
    /// Datagram: the reply sent twice. SPEC: `duplicate=0.1`.
    Duplicate,
    /// Datagram: the reply held back and sent right after the next reply, or after `hold` if
    /// no other reply comes first. One reply is held at a time. SPEC:
    /// `reorder=0.1[,hold=1s]`.
    Reorder {
        /// The longest a reply is held.
        hold: Duration,
    },
    /// Datagram: a reply longer than `len` bytes cut to its first `len`. SPEC:
    /// `truncate=100`.
    Truncate {
        /// The most bytes a reply keeps.
        len: usize,
    },
    /// Datagram: one byte of the reply, at a random offset, changed (XOR with a random
    /// non-zero byte). An empty reply is left alone. SPEC: `corrupt=0.01`.
    Corrupt,
    /// TLS: the handshake stalls `at` a point, and the connection is closed at the server's
    /// handshake timeout (counted as `handshake_timeout` in [`TlsStats`](crate::TlsStats)).
    /// SPEC: `tls-stall=hello` or `tls-stall=finished`.
    TlsStall {
        /// Where the handshake stops.
        at: HandshakeStall,
    },
    /// TLS: the connection reset once the ClientHello has come, before any answer. SPEC:
    /// `tls-reset=handshake`.
    TlsReset,
    /// TLS: the server presents `certificate` instead of its own. SPEC:
    /// `tls-cert=expired`, `not-yet-valid`, `wrong-name` or `untrusted`.
    TlsCertificate {
        /// Which bad certificate.
        certificate: BadCertificate,
    },
    /// TLS: every end the server makes is without `close_notify` (a truncation, which a
    /// client must not take for a clean end): the end that answers the client's, and with
    /// `bytes`, an end of its own once `bytes` were echoed (as `close-after`). SPEC:
    /// `tls-truncate` or `tls-truncate=1000`.
    TlsTruncate {
        /// Bytes echoed before the end, if the server ends the connection itself.
        bytes: Option<u64>,
    },
}

/// The default of [`FaultKind::Reorder`]'s `hold`.
pub const DEFAULT_REORDER_HOLD: Duration = Duration::from_secs(1);

impl FaultKind {
    /// True if the kind applies to stream transports (TCP, Unix).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Fault;
    ///
    /// assert!(Fault::close_after(10).kind().applies_to_stream());
    /// assert!(!Fault::drop(0.5).kind().applies_to_stream());
    /// ```
    pub const fn applies_to_stream(&self) -> bool {
        !matches!(
            self,
            FaultKind::Drop { .. }
                | FaultKind::Duplicate
                | FaultKind::Reorder { .. }
                | FaultKind::Truncate { .. }
                | FaultKind::Corrupt
        )
    }

    /// True if the kind acts on a TLS session (a handshake, a certificate, `close_notify`):
    /// it applies to TLS servers only, over TCP or a Unix stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Fault;
    ///
    /// assert!(Fault::tls_truncate().kind().is_tls());
    /// assert!(!Fault::close_after(10).kind().is_tls());
    /// ```
    pub const fn is_tls(&self) -> bool {
        matches!(
            self,
            FaultKind::TlsStall { .. }
                | FaultKind::TlsReset
                | FaultKind::TlsCertificate { .. }
                | FaultKind::TlsTruncate { .. }
        )
    }

    /// True if the kind applies to datagram transports (UDP, Unix datagrams).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::Fault;
    ///
    /// assert!(Fault::drop(0.5).kind().applies_to_datagram());
    /// assert!(Fault::delay(Duration::from_millis(5), Duration::ZERO).kind().applies_to_datagram());
    /// assert!(!Fault::slice(4, Duration::ZERO).kind().applies_to_datagram());
    /// ```
    pub const fn applies_to_datagram(&self) -> bool {
        matches!(
            self,
            FaultKind::Delay { .. }
                | FaultKind::Blackhole
                | FaultKind::Drop { .. }
                | FaultKind::Duplicate
                | FaultKind::Reorder { .. }
                | FaultKind::Truncate { .. }
                | FaultKind::Corrupt
        )
    }

    /// The longest of the durations the kind holds (zero for a kind that holds none).
    ///
    /// Every variant is named, so a new kind with a duration cannot be missed here.
    fn longest(&self) -> Duration {
        match *self {
            FaultKind::Delay { delay, jitter, .. } => delay.max(jitter),
            FaultKind::Slice { pause: time, .. }
            | FaultKind::ResetAfterTime { time }
            | FaultKind::CloseAfterTime { time }
            | FaultKind::SlowClose { delay: time }
            | FaultKind::AcceptDelay { delay: time }
            | FaultKind::Reorder { hold: time } => time,
            FaultKind::Rate { .. }
            | FaultKind::SharedRate { .. }
            | FaultKind::StallAfter { .. }
            | FaultKind::CloseAfter { .. }
            | FaultKind::ResetAfter { .. }
            | FaultKind::AcceptClose
            | FaultKind::Blackhole
            | FaultKind::Drop { .. }
            | FaultKind::Duplicate
            | FaultKind::Truncate { .. }
            | FaultKind::Corrupt
            | FaultKind::TlsStall { .. }
            | FaultKind::TlsReset
            | FaultKind::TlsCertificate { .. }
            | FaultKind::TlsTruncate { .. } => Duration::ZERO,
        }
    }

    /// The kind's name in the SPEC syntax: `delay`, `slice`, `drop`, …
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(socket_echo::Fault::duplicate(0.1).kind().name(), "duplicate");
    /// ```
    pub const fn name(&self) -> &'static str {
        match self {
            FaultKind::Delay { .. } => "delay",
            FaultKind::Slice { .. } => "slice",
            FaultKind::Rate { .. } => "rate",
            FaultKind::SharedRate { .. } => "shared-rate",
            FaultKind::StallAfter { .. } => "stall-after",
            FaultKind::CloseAfter { .. } => "close-after",
            FaultKind::ResetAfter { .. } => "reset-after",
            FaultKind::ResetAfterTime { .. } => "reset-in",
            FaultKind::CloseAfterTime { .. } => "close-in",
            FaultKind::SlowClose { .. } => "slow-close",
            FaultKind::Blackhole => "blackhole",
            FaultKind::AcceptClose => "accept-close",
            FaultKind::AcceptDelay { .. } => "accept-delay",
            FaultKind::Drop { .. } => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Reorder { .. } => "reorder",
            FaultKind::Truncate { .. } => "truncate",
            FaultKind::Corrupt => "corrupt",
            FaultKind::TlsStall { .. } => "tls-stall",
            FaultKind::TlsReset => "tls-reset",
            FaultKind::TlsCertificate { .. } => "tls-cert",
            FaultKind::TlsTruncate { .. } => "tls-truncate",
        }
    }
}

/// Whose traffic a fault applies to: one peer address, or every port of one IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Peer {
    /// Exactly this address (an IP address and port, a Unix socket path or abstract name).
    Exact(Address),
    /// Every port of this IP address.
    Ip(IpAddr),
}

impl Peer {
    fn matches(&self, peer: &Address) -> bool {
        match (self, peer) {
            (Peer::Exact(Address::Ip(a)), Address::Ip(b)) => {
                a.ip().to_canonical() == b.ip().to_canonical() && a.port() == b.port()
            }
            (Peer::Exact(a), b) => a == b,
            (Peer::Ip(ip), Address::Ip(b)) => ip.to_canonical() == b.ip().to_canonical(),
            (Peer::Ip(_), _) => false,
        }
    }
}

/// One fault a server injects: its [`FaultKind`], how likely it is, and where it applies.
///
/// The conditions (all optional, all must hold):
///
/// | condition | stream kinds | datagram kinds |
/// |---|---|---|
/// | [`probability`](Self::with_probability) (default 1) | drawn once per connection | drawn per datagram |
/// | [`connections`](Self::with_connections) | the first N connections accepted once the faults were set | the first N datagrams received once the faults were set |
/// | [`after`](Self::with_after) | only past the first N bytes the connection sends (for `*-after` kinds, N more bytes before the limit) | only once N datagrams were received |
/// | [`peer`](Self::with_peer) | connections from that address | datagrams from that address |
///
/// For `drop`, `duplicate`, `reorder` and `corrupt` the SPEC's value *is* the probability.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::Fault;
///
/// // Built in code...
/// let fault = Fault::delay(Duration::from_millis(50), Duration::from_millis(10))
///     .with_probability(0.5)
///     .with_connections(3);
/// // ...or parsed from the tool's SPEC syntax; both print as the SPEC.
/// let parsed: Fault = "delay=50ms,jitter=10ms,probability=0.5,connections=3".parse()?;
/// assert_eq!(fault, parsed);
/// assert_eq!(fault.to_string(), "delay=50ms,jitter=10ms,probability=0.5,connections=3");
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    kind: FaultKind,
    probability: f64,
    connections: Option<u64>,
    after: u64,
    peer: Option<Peer>,
}

impl Fault {
    const fn of(kind: FaultKind) -> Self {
        Fault {
            kind,
            probability: 1.0,
            connections: None,
            after: 0,
            peer: None,
        }
    }

    /// Echoes or replies held back `delay` ± `jitter`, uniformly, each draw independent.
    pub const fn delay(delay: Duration, jitter: Duration) -> Self {
        Fault::delay_with(delay, jitter, Distribution::Uniform, 0.0)
    }

    /// Echoes or replies held back `delay`, varied by `jitter` as netem varies it: each
    /// delay is `delay + jitter * t`, `t` drawn from `distribution` (from -1 to 1 for
    /// [`Distribution::Uniform`]; with a standard deviation of about 1 for the others), never
    /// below zero. With a `correlation` ρ above 0, the uniform number behind each draw is
    /// `(1 - ρ) * fresh + ρ * last`, as in netem: consecutive delays are alike (their lag-1
    /// autocorrelation is ρ), and, as in netem, the spread narrows (for the uniform
    /// distribution by `sqrt((1 - ρ) / (1 + ρ))`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{Distribution, Fault};
    ///
    /// let ms = Duration::from_millis;
    /// let fault = Fault::delay_with(ms(50), ms(10), Distribution::Normal, 0.25);
    /// assert_eq!(fault.to_string(), "delay=50ms,jitter=10ms,dist=normal,correlation=0.25");
    /// assert_eq!(fault, "delay=50ms,jitter=10ms,dist=normal,correlation=25%".parse()?);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn delay_with(
        delay: Duration,
        jitter: Duration,
        distribution: Distribution,
        correlation: f64,
    ) -> Self {
        Fault::of(FaultKind::Delay {
            delay,
            jitter,
            distribution,
            correlation,
        })
    }

    /// The draws of a delay fault (`None` for the other kinds).
    fn jitter(&self) -> Option<jitter::Jitter> {
        match self.kind {
            FaultKind::Delay {
                delay,
                jitter,
                distribution,
                correlation,
            } => Some(jitter::Jitter::new(
                delay,
                jitter,
                distribution,
                correlation,
            )),
            _ => None,
        }
    }

    /// Echoes written in pieces of at most `size` bytes, `pause` apart.
    pub const fn slice(size: usize, pause: Duration) -> Self {
        Fault::of(FaultKind::Slice { size, pause })
    }

    /// Each connection's echo limited to `bytes_per_second`.
    pub const fn rate(bytes_per_second: u64) -> Self {
        Fault::of(FaultKind::Rate { bytes_per_second })
    }

    /// The echo of all the connections it applies to limited to `bytes_per_second` together.
    pub const fn shared_rate(bytes_per_second: u64) -> Self {
        Fault::of(FaultKind::SharedRate { bytes_per_second })
    }

    /// No reading or writing once `bytes` were echoed.
    pub const fn stall_after(bytes: u64) -> Self {
        Fault::of(FaultKind::StallAfter { bytes })
    }

    /// A clean end-of-stream once `bytes` were echoed.
    pub const fn close_after(bytes: u64) -> Self {
        Fault::of(FaultKind::CloseAfter { bytes })
    }

    /// A reset once `bytes` were echoed.
    pub const fn reset_after(bytes: u64) -> Self {
        Fault::of(FaultKind::ResetAfter { bytes })
    }

    /// A reset `time` after the connection was accepted (as [`reset_in`](Self::reset_in)).
    pub const fn reset_after_time(time: Duration) -> Self {
        Fault::of(FaultKind::ResetAfterTime { time })
    }

    /// A reset `time` after the connection was accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::Fault;
    ///
    /// assert_eq!(Fault::reset_in(Duration::from_secs(2)).to_string(), "reset-in=2s");
    /// ```
    pub const fn reset_in(time: Duration) -> Self {
        Fault::of(FaultKind::ResetAfterTime { time })
    }

    /// A clean end-of-stream `time` after the connection was accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, EchoServer, Error, Fault, Faults};
    ///
    /// let faults = Faults::new().with(Fault::close_in(Duration::from_millis(50)));
    /// let server = EchoServer::bind("127.0.0.1:0")?.with_faults(faults)?.spawn()?;
    /// let mut client = EchoClient::connect(server.local_addr())?;
    /// assert_eq!(&client.echo(b"in time")?[..], b"in time");
    /// let ended = loop {
    ///     match client.echo(b"still there?") {
    ///         Ok(_) => std::thread::sleep(Duration::from_millis(5)),
    ///         Err(error) => break error,
    ///     }
    /// };
    /// assert!(matches!(ended, Error::ShortEcho { received: 0, .. }));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn close_in(time: Duration) -> Self {
        Fault::of(FaultKind::CloseAfterTime { time })
    }

    /// Every end of the connection held back `delay` (see [`FaultKind::SlowClose`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::Fault;
    ///
    /// assert_eq!(Fault::slow_close(Duration::from_millis(500)).to_string(), "slow-close=500ms");
    /// ```
    pub const fn slow_close(delay: Duration) -> Self {
        Fault::of(FaultKind::SlowClose { delay })
    }

    /// Everything read and discarded, nothing answered (see [`FaultKind::Blackhole`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, EchoServer, Error, Fault, Faults, Options};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?
    ///     .with_faults(Faults::new().with(Fault::blackhole()))?
    ///     .spawn()?;
    /// let patient = Options::new().with_read_timeout(Some(Duration::from_millis(100)));
    /// let mut client = EchoClient::connect_with(server.local_addr(), patient)?;
    /// assert!(matches!(client.echo(b"anyone?"), Err(Error::Timeout { .. })));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn blackhole() -> Self {
        Fault::of(FaultKind::Blackhole)
    }

    /// Connections closed as soon as they are accepted.
    pub const fn accept_close() -> Self {
        Fault::of(FaultKind::AcceptClose)
    }

    /// Connections served only `delay` after they were accepted.
    pub const fn accept_delay(delay: Duration) -> Self {
        Fault::of(FaultKind::AcceptDelay { delay })
    }

    /// Replies dropped with probability `probability`, independently.
    pub const fn drop(probability: f64) -> Self {
        Fault::of(FaultKind::Drop { burst: None }).with_probability(probability)
    }

    /// Replies dropped in bursts of `burst` datagrams on average, `probability` of them in
    /// the long run (see [`FaultKind::Drop`]).
    pub const fn burst_drop(probability: f64, burst: f64) -> Self {
        Fault::of(FaultKind::Drop { burst: Some(burst) }).with_probability(probability)
    }

    /// Replies sent twice with probability `probability`.
    pub const fn duplicate(probability: f64) -> Self {
        Fault::of(FaultKind::Duplicate).with_probability(probability)
    }

    /// Replies held back behind the next one with probability `probability`, for at most
    /// [`DEFAULT_REORDER_HOLD`] (see [`reorder_for`](Self::reorder_for)).
    pub const fn reorder(probability: f64) -> Self {
        Fault::reorder_for(probability, DEFAULT_REORDER_HOLD)
    }

    /// Replies held back behind the next one with probability `probability`, for at most
    /// `hold`.
    pub const fn reorder_for(probability: f64, hold: Duration) -> Self {
        Fault::of(FaultKind::Reorder { hold }).with_probability(probability)
    }

    /// Replies cut to at most `len` bytes.
    pub const fn truncate(len: usize) -> Self {
        Fault::of(FaultKind::Truncate { len })
    }

    /// One byte of the reply changed, with probability `probability`.
    pub const fn corrupt(probability: f64) -> Self {
        Fault::of(FaultKind::Corrupt).with_probability(probability)
    }

    /// A TLS handshake that stalls `at` a point (see [`FaultKind::TlsStall`]).
    pub const fn tls_stall(at: HandshakeStall) -> Self {
        Fault::of(FaultKind::TlsStall { at })
    }

    /// A TLS connection reset once the ClientHello has come (see [`FaultKind::TlsReset`]).
    pub const fn tls_reset() -> Self {
        Fault::of(FaultKind::TlsReset)
    }

    /// A bad certificate presented instead of the server's own (see
    /// [`FaultKind::TlsCertificate`]).
    pub const fn tls_certificate(certificate: BadCertificate) -> Self {
        Fault::of(FaultKind::TlsCertificate { certificate })
    }

    /// Every end of a TLS connection the server makes without `close_notify` (see
    /// [`FaultKind::TlsTruncate`]).
    pub const fn tls_truncate() -> Self {
        Fault::of(FaultKind::TlsTruncate { bytes: None })
    }

    /// An end without `close_notify` once `bytes` were echoed (see
    /// [`FaultKind::TlsTruncate`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Fault;
    ///
    /// assert_eq!(Fault::tls_truncate_after(100).to_string(), "tls-truncate=100");
    /// ```
    pub const fn tls_truncate_after(bytes: u64) -> Self {
        Fault::of(FaultKind::TlsTruncate { bytes: Some(bytes) })
    }

    /// How likely the fault is, from 0 to 1 (default 1): per connection for stream kinds,
    /// per datagram for datagram kinds.
    pub const fn with_probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }

    /// Only the first `count` connections (stream kinds) or datagrams (datagram kinds)
    /// received after the faults were set.
    pub const fn with_connections(mut self, count: u64) -> Self {
        self.connections = Some(count);
        self
    }

    /// Only past the first `count` bytes of each connection (stream kinds), or once `count`
    /// datagrams were received (datagram kinds), counted from when the faults were set.
    /// The faults that count time from the accept or act at it (`close-in`, `reset-in`,
    /// `slow-close`, `accept-close`, `accept-delay`) refuse it.
    pub const fn with_after(mut self, count: u64) -> Self {
        self.after = count;
        self
    }

    /// Only for traffic from exactly `peer` (for example a client's
    /// [`local_addr`](crate::EchoClient::local_addr)).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Fault;
    ///
    /// let client: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    /// let fault = Fault::drop(1.0).with_peer(client);
    /// assert_eq!(fault.to_string(), "drop=1,peer=127.0.0.1:40000");
    /// ```
    pub fn with_peer(mut self, peer: impl Into<Address>) -> Self {
        self.peer = Some(Peer::Exact(peer.into()));
        self
    }

    /// Only for traffic from `ip`, whatever the port.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use socket_echo::Fault;
    ///
    /// let fault = Fault::close_after(0).with_peer_ip(Ipv4Addr::LOCALHOST.into());
    /// assert_eq!(fault.to_string(), "close-after=0,peer=127.0.0.1");
    /// ```
    pub fn with_peer_ip(mut self, ip: IpAddr) -> Self {
        self.peer = Some(Peer::Ip(ip));
        self
    }

    /// What the fault does.
    pub const fn kind(&self) -> FaultKind {
        self.kind
    }

    /// How likely it is, from 0 to 1.
    pub const fn probability(&self) -> f64 {
        self.probability
    }

    /// The count of [`with_connections`](Self::with_connections), if set.
    pub const fn connections(&self) -> Option<u64> {
        self.connections
    }

    /// The count of [`with_after`](Self::with_after) (0 when unset).
    pub const fn after(&self) -> u64 {
        self.after
    }

    /// Refuses values no fault can have: a probability outside 0 to 1, a duration beyond
    /// [`MAX_DURATION`](crate::MAX_DURATION), an empty slice, a zero rate, a burst under one
    /// datagram, a loss its bursts cannot reach, an `after` on a fault that counts no bytes.
    fn validate(&self) -> Result<()> {
        let wrong = |reason: &'static str| Error::InvalidFault {
            fault: self.to_string(),
            reason: reason.into(),
        };
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(wrong("the probability must be between 0 and 1"));
        }
        if self.kind.longest() > crate::options::MAX_DURATION {
            return Err(wrong(crate::options::TOO_LONG));
        }
        match self.kind {
            // These count time from the accept, or act at the accept: a count of bytes
            // would be silently ignored.
            FaultKind::ResetAfterTime { .. }
            | FaultKind::CloseAfterTime { .. }
            | FaultKind::SlowClose { .. }
            | FaultKind::AcceptClose
            | FaultKind::AcceptDelay { .. }
                if self.after > 0 =>
            {
                Err(wrong(
                    "`after` counts bytes, and this fault counts none: it acts from the accept",
                ))
            }
            FaultKind::Slice { size: 0, .. } => Err(wrong("a slice must hold at least 1 byte")),
            FaultKind::Rate {
                bytes_per_second: 0,
            }
            | FaultKind::SharedRate {
                bytes_per_second: 0,
            } => Err(wrong("the rate must be at least 1 byte per second")),
            FaultKind::Drop { burst: Some(burst) } if !(burst >= 1.0 && burst.is_finite()) => {
                Err(wrong("the mean burst must be at least 1 datagram"))
            }
            FaultKind::Delay { correlation, .. } if !(0.0..=1.0).contains(&correlation) => {
                Err(wrong("the correlation must be between 0 and 1"))
            }
            // Bursts of `burst` datagrams on average, each followed by at least one datagram
            // delivered, lose at most burst / (burst + 1) in the long run: refused rather than
            // quietly lose less than asked.
            FaultKind::Drop { burst: Some(burst) } if self.probability > burst / (burst + 1.0) => {
                Err(Error::InvalidFault {
                    fault: self.to_string(),
                    reason: format!(
                        "bursts of {burst} datagrams on average lose at most {}% of the \
                         replies (burst / (burst + 1)): lengthen the burst or lower the \
                         probability",
                        (burst / (burst + 1.0) * 1000.0).floor() / 10.0
                    )
                    .into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether the conditions other than the probability hold for the unit numbered `index`
    /// (a connection or a datagram, counted from when the faults were set; `None` for a
    /// connection that was already open then) from `peer`.
    pub(crate) fn selects(&self, index: Option<u64>, peer: Option<&Address>) -> bool {
        if let Some(count) = self.connections
            && index.is_none_or(|index| index >= count)
        {
            return false;
        }
        match &self.peer {
            Some(wanted) => peer.is_some_and(|peer| wanted.matches(peer)),
            None => true,
        }
    }
}

/// The faults a server injects, and the seed of every random choice they make.
///
/// Give them to a server with [`EchoServer::with_faults`](crate::EchoServer::with_faults)
/// (for [`serve_once`](crate::EchoServer::serve_once), [`serve`](crate::EchoServer::serve)
/// and [`spawn`](crate::EchoServer::spawn) alike), and change them while it runs with
/// [`ServerHandle::set_faults`](crate::ServerHandle::set_faults). The same seed and the same
/// traffic give the same faults: every choice is drawn from a generator seeded with
/// [`seed`](Self::with_seed) (0 unless set), one stream per connection and one for all the
/// datagrams, restarted whenever the faults are set.
///
/// Faults of different kinds combine (a delay and a slicing, a drop and a duplicate). For
/// stream kinds, the first fault of each kind that applies to a connection is the one it
/// gets; the first of `stall-after`, `close-after` and `reset-after` to be reached ends
/// it. Datagram faults apply one after the other, each with its own draw.
///
/// [`FromStr`](std::str::FromStr) reads one or more SPECs separated by `;` (see
/// [`Fault`]), the syntax of the `serve` tool's `--fault`. See the
/// [faults guide](crate::faults_guide) (`docs/faults.md`) for what each fault means for a
/// client under test.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Error, Fault, Faults};
///
/// let faults = Faults::new().with(Fault::close_after(1000)).with_seed(7);
/// let handle = EchoServer::bind("127.0.0.1:0")?.with_faults(faults)?.spawn()?;
/// let mut client = EchoClient::connect(handle.local_addr())?;
/// match client.echo(&[7u8; 3000]) {
///     Err(Error::ShortEcho { sent: 3000, received: 1000, .. }) => {}
///     other => panic!("expected a short echo of 1000 bytes, got {other:?}"),
/// }
/// assert_eq!(handle.stats().faults.closed, 1);
///
/// // The same, written as the tool's SPECs.
/// let parsed: Faults = "close-after=1000".parse()?;
/// assert_eq!(parsed.faults(), [Fault::close_after(1000)]);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    seed: u64,
    faults: Vec<Fault>,
    max_held: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new()
    }
}

impl Faults {
    /// No fault, seed 0.
    pub const fn new() -> Self {
        Faults {
            seed: 0,
            faults: Vec::new(),
            max_held: crate::options::DEFAULT_MAX_PENDING,
        }
    }

    /// The most bytes of datagram replies held back at once by delays and reorderings
    /// (default 64 KiB); a reply that would go past it is dropped and counted in
    /// [`FaultStats::overflowed`](crate::FaultStats::overflowed). A stream connection's held bytes are bounded by its
    /// [`max_pending`](crate::Options::with_max_pending) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let faults = socket_echo::Faults::new().with_max_held(1 << 20);
    /// assert_eq!(faults.max_held(), 1 << 20);
    /// ```
    pub const fn with_max_held(mut self, bytes: usize) -> Self {
        self.max_held = bytes;
        self
    }

    /// The bound of [`with_max_held`](Self::with_max_held).
    pub const fn max_held(&self) -> usize {
        self.max_held
    }

    /// Adds a fault.
    pub fn with(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Sets the seed of every random choice.
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// The faults, in the order they were added.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// True if there is no fault: the server behaves.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Refuses a fault with a value no fault can have (a probability outside 0 to 1, a
    /// duration beyond [`MAX_DURATION`](crate::MAX_DURATION), an empty slice, a zero rate, a
    /// burst under one datagram, a `drop` probability above what its bursts can lose,
    /// `burst / (burst + 1)`), or one whose kind cannot apply
    /// to a `transport` of that kind (`stream` true for TCP and Unix stream sockets; `Tls*`
    /// kinds only for a TLS transport, named `tls` or `tls+unix`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFault`] naming the fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Error, Fault, Faults};
    ///
    /// let faults = Faults::new().with(Fault::drop(0.5));
    /// assert!(faults.check(false, "udp").is_ok());
    /// assert!(matches!(faults.check(true, "tcp"), Err(Error::InvalidFault { .. })));
    /// ```
    pub fn check(&self, stream: bool, transport: &'static str) -> Result<()> {
        self.check_on(
            stream,
            crate::transport::takes_session_faults(transport),
            transport,
        )
    }

    /// As [`check`](Self::check), `sessions` saying whether the transport takes TLS faults.
    pub(crate) fn check_on(
        &self,
        stream: bool,
        sessions: bool,
        transport: &'static str,
    ) -> Result<()> {
        for fault in &self.faults {
            fault.validate()?;
            if fault.kind.is_tls() && !sessions {
                return Err(Error::InvalidFault {
                    fault: fault.to_string(),
                    reason: format!(
                        "`{}` applies only to a TLS server (tls://, tls+unix:), not to {transport}",
                        fault.kind.name()
                    )
                    .into(),
                });
            }
            let applies = if stream {
                fault.kind.applies_to_stream()
            } else {
                fault.kind.applies_to_datagram()
            };
            if !applies {
                let kind = if stream { "stream" } else { "datagram" };
                return Err(Error::InvalidFault {
                    fault: fault.to_string(),
                    reason: format!(
                        "`{}` does not apply to a {kind} transport like {transport}",
                        fault.kind.name()
                    )
                    .into(),
                });
            }
        }
        Ok(())
    }
}

/// The faults in force, as one setting of the [`Switch`] made them: the value, and the
/// state every worker shares while it lasts.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) faults: Faults,
    /// Connections accepted under this setting: the index of the next one.
    pub(crate) connections: AtomicU64,
    /// The bucket of [`FaultKind::SharedRate`].
    pub(crate) shared_rate: Mutex<Option<stream::Bucket>>,
}

impl Active {
    fn new(faults: Faults) -> Self {
        Active {
            faults,
            connections: AtomicU64::new(0),
            shared_rate: Mutex::new(None),
        }
    }
}

/// Where a server keeps its faults, so they can change while it serves.
///
/// Workers read [`version`](Self::version) once per loop turn (one atomic load) and reload
/// the faults only when it moved: a server whose faults were never set does nothing more.
#[derive(Debug, Default)]
pub(crate) struct Switch {
    version: AtomicU64,
    current: Mutex<Option<Arc<Active>>>,
    /// The datagram state shared by `serve_once` and the workers of `serve()` (its type
    /// depends on the transport's address, which this non-generic switch does not know).
    datagram: Mutex<Option<Arc<dyn std::any::Any + Send + Sync>>>,
    /// Whether the server is a stream one, and its transport's name, once known (a handle
    /// checks the faults it is given against them).
    kind: std::sync::OnceLock<(bool, bool, &'static str)>,
}

impl Switch {
    /// Records the kind of the server's transport.
    /// `sessions` says whether its connections take TLS faults.
    pub(crate) fn know(&self, stream: bool, sessions: bool, transport: &'static str) {
        let _ = self.kind.set((stream, sessions, transport));
    }

    /// Whether the server is a stream one, once known.
    pub(crate) fn is_stream(&self) -> Option<bool> {
        self.kind.get().map(|(stream, _, _)| *stream)
    }

    /// Checks `faults` against the server's transport (see [`Faults::check`]) and puts them
    /// in force.
    pub(crate) fn set_checked(&self, faults: Faults) -> Result<()> {
        if let Some((stream, sessions, transport)) = self.kind.get() {
            faults.check_on(*stream, *sessions, transport)?;
        }
        self.set(faults);
        Ok(())
    }

    /// Puts `faults` in force for the data received from now on.
    pub(crate) fn set(&self, faults: Faults) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *current = (!faults.is_empty()).then(|| Arc::new(Active::new(faults)));
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Moves each time the faults are set; 0 if they never were.
    #[inline]
    pub(crate) fn version(&self) -> u64 {
        // Relaxed: a change is then read under the lock of `current`, which orders it.
        self.version.load(Ordering::Relaxed)
    }

    /// The faults in force and the version they belong to.
    pub(crate) fn load(&self) -> (u64, Option<Arc<Active>>) {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (self.version(), current.clone())
    }

    /// A copy of the faults in force (empty if none).
    pub(crate) fn faults(&self) -> Faults {
        self.load()
            .1
            .map(|active| active.faults.clone())
            .unwrap_or_default()
    }

    /// The datagram state of this server, made on first use.
    pub(crate) fn datagram_state<A>(&self) -> Arc<Mutex<datagram::State<A>>>
    where
        A: Clone + Into<Address> + Send + Sync + 'static,
    {
        let mut slot = self.datagram.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = slot.clone()
            && let Ok(state) = state.downcast::<Mutex<datagram::State<A>>>()
        {
            return state;
        }
        let state = Arc::new(Mutex::new(datagram::State::new()));
        *slot = Some(state.clone());
        state
    }
}

/// The earlier of two poll timeouts, `None` meaning "no timeout".
pub(crate) fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
