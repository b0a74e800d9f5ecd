//! Faults a transport applies to a session of its own (a TLS handshake, a certificate, a close
//! without `close_notify`): the values the faults module draws per accepted connection and
//! hands down through [`Listener::session_faults`](super::caps::Listener::session_faults).
//! A transport with no session of its own takes none (the server refuses them).

/// Where a TLS handshake stalls ([`Fault::tls_stall`](crate::Fault::tls_stall)).
///
/// # Examples
///
/// ```
/// use socket_echo::{Fault, HandshakeStall};
///
/// assert_eq!(Fault::tls_stall(HandshakeStall::Hello).to_string(), "tls-stall=hello");
/// assert_eq!(HandshakeStall::Finished.name(), "finished");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeStall {
    /// The server reads the ClientHello and never answers it.
    Hello,
    /// The server sends its whole first flight (its certificate; in TLS 1.3 its Finished
    /// too), then neither reads nor writes again: its handshake never ends. A TLS 1.3
    /// client, whose handshake is over once it has sent its own Finished, connects and then
    /// waits for an echo that never comes; a TLS 1.2 client waits for the server's Finished.
    Finished,
}

impl HandshakeStall {
    /// Its name in the SPEC syntax: `hello`, `finished`.
    pub const fn name(&self) -> &'static str {
        match self {
            HandshakeStall::Hello => "hello",
            HandshakeStall::Finished => "finished",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<HandshakeStall> {
        [HandshakeStall::Hello, HandshakeStall::Finished]
            .into_iter()
            .find(|stall| stall.name() == name)
    }
}

/// Which bad certificate a TLS server presents on demand
/// ([`Fault::tls_certificate`](crate::Fault::tls_certificate)), in place of its own.
///
/// `Expired`, `NotYetValid` and `WrongName` are siblings of the server's own certificate
/// (same key, same subject): a client that trusts [`EchoServer::certificate`] finds them
/// signed by what it trusts, and fails on exactly the one check each breaks. `Untrusted` is
/// a certificate of another key, valid for the server's names.
///
/// [`EchoServer::certificate`]: crate::EchoServer
///
/// # Examples
///
/// ```
/// use socket_echo::{BadCertificate, Fault};
///
/// let fault = Fault::tls_certificate(BadCertificate::Expired);
/// assert_eq!(fault.to_string(), "tls-cert=expired");
/// assert_eq!(fault, "tls-cert=expired".parse()?);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BadCertificate {
    /// Valid from 2000 to 2001 (the client's `TlsFailure::Expired`).
    Expired,
    /// Valid from 2200 (the client's `TlsFailure::NotYetValid`).
    NotYetValid,
    /// For `wrong-name.invalid` only (the client's `TlsFailure::NameMismatch`).
    WrongName,
    /// Self-signed by another key (the client's `TlsFailure::UnknownIssuer`).
    Untrusted,
}

impl BadCertificate {
    /// Every variant, in the order of their index.
    pub(crate) const ALL: [BadCertificate; 4] = [
        BadCertificate::Expired,
        BadCertificate::NotYetValid,
        BadCertificate::WrongName,
        BadCertificate::Untrusted,
    ];

    /// Its name in the SPEC syntax: `expired`, `not-yet-valid`, `wrong-name`, `untrusted`.
    pub const fn name(&self) -> &'static str {
        match self {
            BadCertificate::Expired => "expired",
            BadCertificate::NotYetValid => "not-yet-valid",
            BadCertificate::WrongName => "wrong-name",
            BadCertificate::Untrusted => "untrusted",
        }
    }

    /// Its place in [`ALL`](Self::ALL).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) const fn index(&self) -> usize {
        match self {
            BadCertificate::Expired => 0,
            BadCertificate::NotYetValid => 1,
            BadCertificate::WrongName => 2,
            BadCertificate::Untrusted => 3,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<BadCertificate> {
        BadCertificate::ALL
            .into_iter()
            .find(|certificate| certificate.name() == name)
    }
}

/// The faults one accepted connection drew that its transport applies itself, before
/// anything is read from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionFaults {
    /// The handshake stalls there.
    pub stall: Option<HandshakeStall>,
    /// The connection is reset once the ClientHello has come.
    pub reset: bool,
    /// The certificate presented instead of the server's own.
    pub certificate: Option<BadCertificate>,
    /// Every end the server makes is without `close_notify`.
    pub truncate: bool,
}

impl SessionFaults {
    /// True if there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        *self == SessionFaults::default()
    }
}
