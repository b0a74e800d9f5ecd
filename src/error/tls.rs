//! Why a TLS session failed ([`TlsFailure`]), the reason [`Error::Tls`](crate::Error::Tls)
//! carries: a plain value, so that errors, statistics and the transport all name it.

use std::io;

/// What failed in a TLS session, as [`Error::Tls`](crate::Error::Tls) reports it and the server's statistics
/// count it.
///
/// The enum is `#[non_exhaustive]`: match the reasons you test and keep a `_` arm.
///
/// # Examples
///
/// ```
/// use socket_echo::TlsFailure;
///
/// assert_eq!(TlsFailure::UnknownIssuer.to_string(), "certificate signed by an unknown issuer");
/// assert_eq!(TlsFailure::Truncated.name(), "truncated");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate is not signed by anything the verifier trusts (a self-signed
    /// certificate not given to the client, another server's).
    UnknownIssuer,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate does not name the server the client asked for.
    NameMismatch,
    /// Any other problem with a certificate (a bad signature, a bad encoding, a client that
    /// presented none where one is required).
    BadCertificate(String),
    /// The handshake did not finish within the handshake timeout.
    HandshakeTimeout,
    /// The peer closed the connection without `close_notify`: what came before may have
    /// been cut short.
    Truncated,
    /// What arrived is not TLS at all (plaintext, an HTTP request, random bytes).
    NotTls,
    /// The peer refused the session with an alert (the peer's reason is named).
    AlertReceived(String),
    /// Any other protocol error (a message out of order, a protocol version or cipher suite
    /// in common with none).
    Protocol(String),
}

impl TlsFailure {
    /// A short name for the reason, as statistics and metrics label it: `unknown_issuer`,
    /// `expired`, `not_yet_valid`, `name_mismatch`, `bad_certificate`, `handshake_timeout`,
    /// `truncated`, `not_tls`, `alert_received`, `protocol`.
    pub fn name(&self) -> &'static str {
        match self {
            TlsFailure::UnknownIssuer => "unknown_issuer",
            TlsFailure::Expired => "expired",
            TlsFailure::NotYetValid => "not_yet_valid",
            TlsFailure::NameMismatch => "name_mismatch",
            TlsFailure::BadCertificate(_) => "bad_certificate",
            TlsFailure::HandshakeTimeout => "handshake_timeout",
            TlsFailure::Truncated => "truncated",
            TlsFailure::NotTls => "not_tls",
            TlsFailure::AlertReceived(_) => "alert_received",
            TlsFailure::Protocol(_) => "protocol",
        }
    }

    /// This reason carried by an `io::Error`, so it crosses the capability traits (whose
    /// reads and writes return `io::Result`) and is found again by [`TlsFailure::in_io`].
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match self {
            TlsFailure::Truncated => io::ErrorKind::UnexpectedEof,
            TlsFailure::HandshakeTimeout => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }

    /// The reason an `io::Error` made by [`into_io`](Self::into_io) carries.
    pub(crate) fn in_io(error: &io::Error) -> Option<&TlsFailure> {
        error.get_ref()?.downcast_ref::<TlsFailure>()
    }
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsFailure::UnknownIssuer => f.write_str("certificate signed by an unknown issuer"),
            TlsFailure::Expired => f.write_str("certificate expired"),
            TlsFailure::NotYetValid => f.write_str("certificate not valid yet"),
            TlsFailure::NameMismatch => f.write_str("certificate is for another name"),
            TlsFailure::BadCertificate(why) => write!(f, "bad certificate: {why}"),
            TlsFailure::HandshakeTimeout => f.write_str("handshake timed out"),
            TlsFailure::Truncated => f.write_str("closed without close_notify (truncated)"),
            TlsFailure::NotTls => f.write_str("the peer does not speak TLS"),
            TlsFailure::AlertReceived(alert) => write!(f, "the peer sent alert {alert}"),
            TlsFailure::Protocol(why) => write!(f, "protocol error: {why}"),
        }
    }
}

impl std::error::Error for TlsFailure {}
