//! [`TlsStats`]: what a TLS server's sessions came to. All zero for the plain transports.

use super::field::{Field, add_all, field};

/// What a TLS server's sessions came to (see [`Stats::tls`](crate::Stats::tls)): handshakes completed, and
/// failed by reason (the names of `TlsFailure`, with the `tls` feature), sessions whose peer
/// closed without `close_notify`, and the handshakes completed by the ALPN protocol they
/// agreed on (a fixed set: `h2`, `http/1.1`, any other, none, so that the counts of several
/// servers add up whatever each accepts). All zero for the plain transports.
///
/// # Examples
///
/// ```
/// use socket_echo::TlsStats;
///
/// let stats = TlsStats::default();
/// assert_eq!(stats.failed(), 0);
/// assert_eq!(TlsStats::FIELDS[0].name(), "handshakes");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsStats {
    /// Handshakes completed.
    pub handshakes: u64,
    /// Handshakes failed: the client's certificate is signed by no CA the server trusts.
    pub unknown_issuer: u64,
    /// Handshakes failed: a certificate expired.
    pub expired: u64,
    /// Handshakes failed: a certificate not valid yet.
    pub not_yet_valid: u64,
    /// Handshakes failed: a certificate for another name.
    pub name_mismatch: u64,
    /// Handshakes failed: any other certificate problem (a client with none, where mutual
    /// TLS wants one).
    pub bad_certificate: u64,
    /// Handshakes that did not finish within the handshake timeout.
    pub handshake_timeout: u64,
    /// Connections whose first bytes were not TLS (plaintext, an HTTP request, noise).
    pub not_tls: u64,
    /// Handshakes the peer refused with an alert (a client that does not trust the
    /// server's certificate says so this way).
    pub alert_received: u64,
    /// Handshakes failed on any other protocol error.
    pub protocol: u64,
    /// Sessions whose peer closed without `close_notify`, after the handshake.
    pub truncated: u64,
    /// Handshakes completed that agreed on the ALPN protocol `h2`.
    pub alpn_h2: u64,
    /// Handshakes completed that agreed on the ALPN protocol `http/1.1`.
    pub alpn_http_1_1: u64,
    /// Handshakes completed that agreed on any other ALPN protocol.
    pub alpn_other: u64,
    /// Handshakes completed that agreed on no ALPN protocol (the client offered none, or the
    /// server accepts none).
    pub alpn_none: u64,
}

/// One count of [`TlsStats`].
pub type TlsField = Field<TlsStats>;

impl TlsStats {
    /// Every count, in the order of the fields.
    pub const FIELDS: &'static [TlsField] = &[
        field!(handshakes, "handshakes", "tls handshakes completed"),
        field!(
            unknown_issuer,
            "unknown issuer",
            "tls handshakes failed: unknown issuer"
        ),
        field!(
            expired,
            "expired",
            "tls handshakes failed: certificate expired"
        ),
        field!(
            not_yet_valid,
            "not yet valid",
            "tls handshakes failed: certificate not yet valid"
        ),
        field!(
            name_mismatch,
            "name mismatch",
            "tls handshakes failed: certificate for another name"
        ),
        field!(
            bad_certificate,
            "bad certificate",
            "tls handshakes failed: other certificate problems"
        ),
        field!(
            handshake_timeout,
            "handshake timeouts",
            "tls handshakes that timed out"
        ),
        field!(not_tls, "not tls", "connections that did not speak tls"),
        field!(
            alert_received,
            "alerts received",
            "tls handshakes refused by the peer with an alert"
        ),
        field!(
            protocol,
            "protocol errors",
            "tls handshakes failed on other protocol errors"
        ),
        field!(
            truncated,
            "truncated",
            "tls sessions closed by the peer without close_notify"
        ),
        field!(
            alpn_h2,
            "alpn h2",
            "tls handshakes completed with alpn protocol h2"
        ),
        field!(
            alpn_http_1_1,
            "alpn http/1.1",
            "tls handshakes completed with alpn protocol http/1.1"
        ),
        field!(
            alpn_other,
            "alpn other",
            "tls handshakes completed with another alpn protocol"
        ),
        field!(
            alpn_none,
            "alpn none",
            "tls handshakes completed with no alpn protocol"
        ),
    ];

    /// Where the failures are in [`FIELDS`](Self::FIELDS): after `handshakes`, up to
    /// `protocol`; neither `truncated` (a session ended badly after its handshake) nor the
    /// counts by ALPN protocol are failures.
    const FAILURES: std::ops::Range<usize> = 1..10;

    /// The counts in the order of [`FIELDS`](Self::FIELDS).
    #[cfg(feature = "tls")]
    pub(crate) fn from_counts(counts: [u64; TlsStats::FIELDS.len()]) -> TlsStats {
        let mut stats = TlsStats::default();
        for (field, count) in Self::FIELDS.iter().zip(counts) {
            *(field.at)(&mut stats) = count;
        }
        stats
    }

    /// Handshakes failed, for every reason.
    pub fn failed(&self) -> u64 {
        Self::FIELDS[Self::FAILURES]
            .iter()
            .map(|field| field.of(self))
            .sum()
    }
}

impl std::ops::AddAssign for TlsStats {
    fn add_assign(&mut self, other: TlsStats) {
        add_all(self, &other, Self::FIELDS);
    }
}
