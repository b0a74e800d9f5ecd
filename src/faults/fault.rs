//! One fault: its kind, how likely it is, and where it applies ([`Fault`]), with the
//! checks of its values.

use std::net::IpAddr;
use std::time::Duration;

use super::jitter::{self, Distribution};
use super::{DEFAULT_REORDER_HOLD, FaultKind};
use crate::addr::Address;
use crate::error::{Error, Result};
use crate::transport::{BadCertificate, HandshakeStall};

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
    pub(super) kind: FaultKind,
    pub(super) probability: f64,
    pub(super) connections: Option<u64>,
    pub(super) after: u64,
    pub(super) peer: Option<Peer>,
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
    pub(super) fn jitter(&self) -> Option<jitter::Jitter> {
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
        Fault::reset_in(time)
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
    pub(super) fn validate(&self) -> Result<()> {
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
            FaultKind::Drop { burst: Some(burst) } if !is_mean_burst(burst) => {
                Err(wrong(BURST_TOO_SHORT))
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

/// Why a mean burst length is refused.
pub(super) const BURST_TOO_SHORT: &str = "the mean burst must be at least 1 datagram";

/// True if `burst` can be the mean length of a burst of losses: at least one datagram.
pub(super) fn is_mean_burst(burst: f64) -> bool {
    burst >= 1.0 && burst.is_finite()
}
