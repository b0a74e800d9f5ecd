//! The settings of the TLS transport ([`TlsOptions`]) and the rustls configurations made
//! from them, and why a session failed ([`TlsFailure`]).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

use crate::error::{Error, Result};
use crate::transport::certificate::{Certificate, Identity};

/// What failed in a TLS session, as [`Error::Tls`] reports it and the server's statistics
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

    /// The reason of a rustls error.
    pub(crate) fn of(error: &rustls::Error) -> TlsFailure {
        use rustls::CertificateError as C;
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                C::UnknownIssuer => TlsFailure::UnknownIssuer,
                C::Expired | C::ExpiredContext { .. } => TlsFailure::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsFailure::NotYetValid,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsFailure::NameMismatch,
                other => TlsFailure::BadCertificate(format!("{other:?}")),
            },
            rustls::Error::NoCertificatesPresented => {
                TlsFailure::BadCertificate("no certificate presented".to_owned())
            }
            rustls::Error::AlertReceived(alert) => {
                TlsFailure::AlertReceived(format!("{alert:?}").to_lowercase())
            }
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                TlsFailure::NotTls
            }
            other => TlsFailure::Protocol(other.to_string()),
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

/// The TLS settings of a server or a client, set with
/// [`Options::with_tls`](crate::Options::with_tls).
///
/// A server with no [`identity`](Self::with_identity) makes a self-signed one at bind, for
/// `localhost` and the address it binds. A client trusts only what it is given
/// ([`with_trusted`](Self::with_trusted)): no system roots, so a test trusts exactly its
/// server.
///
/// | setting | default | role |
/// |---|---|---|
/// | [`identity`](Self::with_identity) | self-signed at bind (server), none (client) | both |
/// | [`trusted`](Self::with_trusted) | none | client (required) |
/// | [`client_ca`](Self::with_client_ca) | none: no client certificate asked | server (mutual TLS) |
/// | [`server_name`](Self::with_server_name) | the address's IP, or `localhost` for a Unix path | client |
/// | [`alpn`](Self::with_alpn) | none | both |
/// | [`handshake_timeout`](Self::with_handshake_timeout) | 10 s | both |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{Identity, TlsOptions};
///
/// let identity = Identity::self_signed(&["localhost"])?;
/// let client = TlsOptions::new()
///     .with_trusted(identity.certificate().clone())
///     .with_server_name("localhost")
///     .with_handshake_timeout(Duration::from_secs(2));
/// assert_eq!(client.server_name(), Some("localhost"));
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    identity: Option<Identity>,
    trusted: Vec<Certificate>,
    client_ca: Vec<Certificate>,
    server_name: Option<String>,
    alpn: Vec<Vec<u8>>,
    handshake_timeout: Duration,
    accept_any_certificate: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions::new()
    }
}

/// How long a handshake may take by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsOptions {
    /// The defaults of the table above.
    pub fn new() -> TlsOptions {
        TlsOptions {
            identity: None,
            trusted: Vec::new(),
            client_ca: Vec::new(),
            server_name: None,
            alpn: Vec::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            accept_any_certificate: false,
        }
    }

    /// The certificate chain and key a server presents (or a client, when the server asks
    /// for one).
    pub fn with_identity(mut self, identity: Identity) -> TlsOptions {
        self.identity = Some(identity);
        self
    }

    /// Adds a certificate the client trusts as a root: the server's own self-signed
    /// certificate, or the CA that signed it. May be called more than once.
    pub fn with_trusted(mut self, certificate: Certificate) -> TlsOptions {
        self.trusted.push(certificate);
        self
    }

    /// Adds a CA a server verifies client certificates against: with at least one, every
    /// client must present a certificate it signed (mutual TLS).
    pub fn with_client_ca(mut self, certificate: Certificate) -> TlsOptions {
        self.client_ca.push(certificate);
        self
    }

    /// The name a client verifies the server's certificate against (a DNS name or an IP
    /// address), in place of the one taken from the address it connects to.
    pub fn with_server_name(mut self, name: impl Into<String>) -> TlsOptions {
        self.server_name = Some(name.into());
        self
    }

    /// The ALPN protocols offered (client) or accepted (server), in order of preference.
    pub fn with_alpn(mut self, protocols: &[&[u8]]) -> TlsOptions {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// How long a handshake may take, from the connection's accept (server) or connect
    /// (client) to its end, before it fails with [`TlsFailure::HandshakeTimeout`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> TlsOptions {
        self.handshake_timeout = timeout;
        self
    }

    /// DANGEROUS: a client that accepts ANY certificate, from anyone, for any name. It
    /// encrypts but proves nothing about the server. For the tool's loudly named
    /// `--insecure` only; a test should trust its server's certificate instead.
    pub fn dangerous_accept_any_certificate(mut self) -> TlsOptions {
        self.accept_any_certificate = true;
        self
    }

    /// The identity, if one was given.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The certificates a client trusts.
    pub fn trusted(&self) -> &[Certificate] {
        &self.trusted
    }

    /// The CAs a server verifies client certificates against.
    pub fn client_ca(&self) -> &[Certificate] {
        &self.client_ca
    }

    /// The name a client verifies, if one was given.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The ALPN protocols.
    pub fn alpn(&self) -> &[Vec<u8>] {
        &self.alpn
    }

    /// How long a handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Whether this client accepts any certificate.
    pub fn accepts_any_certificate(&self) -> bool {
        self.accept_any_certificate
    }

    /// The rustls configuration of a server presenting `identity`.
    pub(crate) fn server_config(&self, identity: &Identity) -> Result<Arc<ServerConfig>> {
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?;
        let builder = if self.client_ca.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            for ca in &self.client_ca {
                roots
                    .add(ca.to_rustls())
                    .map_err(|e| invalid("tls client_ca", e))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| invalid("tls client_ca", e))?;
            builder.with_client_cert_verifier(verifier)
        };
        let (chain, key) = identity.to_rustls();
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| invalid("tls identity", e))?;
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }

    /// The rustls configuration of a client.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?;
        let builder = if self.accept_any_certificate {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        } else {
            if self.trusted.is_empty() {
                return Err(Error::InvalidOption {
                    option: "tls",
                    reason: "a TLS client trusts only what it is given, and was given nothing: \
                             add the server's certificate or its CA with TlsOptions::with_trusted"
                        .into(),
                });
            }
            let mut roots = rustls::RootCertStore::empty();
            for cert in &self.trusted {
                roots
                    .add(cert.to_rustls())
                    .map_err(|e| invalid("tls trusted", e))?;
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match &self.identity {
            Some(identity) => {
                let (chain, key) = identity.to_rustls();
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| invalid("tls identity", e))?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }

    /// The name a client verifies: the one given, else `default` (the address's IP, or
    /// `localhost`).
    pub(crate) fn name_to_verify(&self, default: &str) -> Result<ServerName<'static>> {
        let name = self.server_name.as_deref().unwrap_or(default);
        ServerName::try_from(name.to_owned()).map_err(|e| Error::InvalidOption {
            option: "tls server_name",
            reason: format!("`{name}` is neither a DNS name nor an IP address: {e}").into(),
        })
    }
}

/// The crypto provider: rustls's ring provider, which builds with a C compiler alone (where
/// aws-lc-rs needs cmake and more on a fresh machine). rustls marks its constructor
/// deprecated because ring has no post-quantum key exchange, which an echo service for tests
/// does not need; X25519 and the NIST curves remain.
#[allow(deprecated)]
pub(super) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(super) fn invalid(option: &'static str, error: impl std::fmt::Display) -> Error {
    Error::InvalidOption {
        option,
        reason: error.to_string().into(),
    }
}

/// The verifier of [`TlsOptions::dangerous_accept_any_certificate`]: signatures are still
/// checked (the handshake stays sound), the certificate is not.
#[derive(Debug)]
pub(super) struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
