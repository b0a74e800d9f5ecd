//! What a fault does: [`FaultKind`], and what each kind applies to.

use std::time::Duration;

use super::Distribution;
use crate::transport::{BadCertificate, HandshakeStall};

/// What a [`Fault`](super::Fault) does. Built through the constructors of
/// [`Fault`](super::Fault); read back through [`Fault::kind`](super::Fault::kind).
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
    /// consecutive draws (see [`Fault::delay_with`](super::Fault::delay_with)). A stream keeps its order: a chunk is
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
        !self.is_datagram_only()
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
        self.is_datagram_only() || matches!(self, FaultKind::Delay { .. } | FaultKind::Blackhole)
    }

    /// True for the kinds that act on a datagram's reply, and so on nothing else.
    const fn is_datagram_only(&self) -> bool {
        matches!(
            self,
            FaultKind::Drop { .. }
                | FaultKind::Duplicate
                | FaultKind::Reorder { .. }
                | FaultKind::Truncate { .. }
                | FaultKind::Corrupt
        )
    }

    /// The longest of the durations the kind holds (zero for a kind that holds none).
    ///
    /// Every variant is named, so a new kind with a duration cannot be missed here.
    pub(super) fn longest(&self) -> Duration {
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
