//! TLS: a transport that wraps a stream transport ([`Tls::over`]`(Tcp)`,
//! `Tls::over(Unix)`), with rustls and its ring crypto provider.
//!
//! The wrapped transport makes, tunes and binds the sockets; this file adds a TLS session to
//! each connection and implements the capabilities over it: a read returns plaintext (the
//! records that arrived are decrypted, the handshake's answers written on the way), a write
//! takes plaintext and writes records, `flush` writes what the session still holds, "bytes
//! waiting" means plaintext, and everything else (registration, timeouts, a reset, the peer's
//! address) is the wrapped connection's. The echo loops, the engine, the faults and `measure`
//! see a connection like any other.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

use super::certificate::{Certificate, Identity, Validity};
use super::sealed::{
    ClientVisitor, ClientsVisitor, Connection, Kind, Listener, Sealed, ServerVisitor,
    SessionFaults, Socket,
};
use super::{BadCertificate, HandshakeStall};
use super::{Tcp, Transport, Unix};
use crate::addr::{Address, UnixAddr};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::stats::{Stats, TlsStats};

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
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(option: &'static str, error: impl std::fmt::Display) -> Error {
    Error::InvalidOption {
        option,
        reason: error.to_string().into(),
    }
}

/// The verifier of [`TlsOptions::dangerous_accept_any_certificate`]: signatures are still
/// checked (the handshake stays sound), the certificate is not.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

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

/// One TLS session over a connection `C` of the wrapped transport: the capabilities' view of
/// a TLS connection.
///
/// The session sits behind a lock because the capabilities read and write through `&self`;
/// only the connection's one worker (or client) takes it, so it is never contended.
#[derive(Debug)]
pub struct Session<C: Connection> {
    inner: C,
    tls: Mutex<rustls::Connection>,
    /// Whether the socket is in non-blocking mode (the engine's), as last set.
    nonblocking: AtomicBool,
    /// Whether `close_notify` was queued: the write side is shut once it is written.
    closing: AtomicBool,
    /// [`HANDSHAKING`], [`ESTABLISHED`] or [`ENDED`]: what was counted of this session.
    phase: AtomicU8,
    /// The faults applied to this session ([`STALL_HELLO`], …), 0 for none.
    faults: AtomicU8,
    /// When the handshake must be over: the handshake timeout after the accept or connect.
    deadline: Instant,
    /// The server's counters (a client counts nothing).
    counters: Option<Arc<TlsCounters>>,
}

const HANDSHAKING: u8 = 0;
const ESTABLISHED: u8 = 1;
const ENDED: u8 = 2;

/// `tls-stall=hello`: nothing is written while the handshake lasts.
const STALL_HELLO: u8 = 1;
/// `tls-stall=finished`: the first flight is written, then nothing.
const STALL_FINISHED: u8 = 2;
/// `tls-reset=handshake`: a reset once the ClientHello has come.
const RESET_HANDSHAKE: u8 = 4;
/// `tls-truncate`: the session ends without `close_notify`.
const TRUNCATE: u8 = 8;
/// Set once a stalled handshake has written what it writes: from then on, nothing more is
/// read or written while the handshake lasts.
const STALLED: u8 = 16;

/// What a TLS server's sessions came to, counted by the sessions themselves (one count per
/// handshake, a handshake being far dearer than the shared atomic it adds to).
#[derive(Debug, Default)]
pub(crate) struct TlsCounters {
    handshakes: AtomicU64,
    /// Indexed as [`TlsStats::FIELDS`], whose first is the handshakes.
    by_reason: [AtomicU64; 11],
}

const _: () = assert!(
    TlsStats::FIELDS.len() == 11,
    "one counter per field of TlsStats"
);

impl TlsCounters {
    fn count(&self, reason: &TlsFailure) {
        if let Some(index) = TlsStats::FIELDS
            .iter()
            .position(|field| field.name() == reason.name())
        {
            self.by_reason[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> TlsStats {
        let mut counts = [0; 11];
        for (count, atomic) in counts.iter_mut().zip(&self.by_reason) {
            *count = atomic.load(Ordering::Relaxed);
        }
        counts[0] = self.handshakes.load(Ordering::Relaxed);
        TlsStats::from_counts(counts)
    }
}

/// The wrapped connection as `io::Read`/`io::Write`, for rustls.
struct Wire<'a, C>(&'a C);

impl<C: super::sealed::Connection> Read for Wire<'_, C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<C: super::sealed::Connection> Write for Wire<'_, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<C: super::sealed::Connection> Session<C> {
    pub(crate) fn new(
        inner: C,
        tls: rustls::Connection,
        handshake_timeout: Duration,
        counters: Option<Arc<TlsCounters>>,
    ) -> Session<C> {
        Session {
            inner,
            tls: Mutex::new(tls),
            nonblocking: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            phase: AtomicU8::new(HANDSHAKING),
            faults: AtomicU8::new(0),
            deadline: Instant::now() + handshake_timeout,
            counters,
        }
    }

    /// Counts, once, the handshake's end (completed) or the session's failure (by reason),
    /// after a call that returned `result`.
    fn observe<T>(&self, result: &io::Result<T>) {
        let Some(counters) = &self.counters else {
            return;
        };
        let phase = self.phase.load(Ordering::Relaxed);
        if phase == ENDED {
            return;
        }
        if let Err(error) = result
            && let Some(reason) = TlsFailure::in_io(error)
        {
            // A truncation counts only after a handshake; before, it is the peer leaving.
            if *reason != TlsFailure::Truncated || phase == ESTABLISHED {
                counters.count(reason);
            }
            self.phase.store(ENDED, Ordering::Relaxed);
            return;
        }
        if phase == HANDSHAKING && !self.lock().is_handshaking() {
            counters.handshakes.fetch_add(1, Ordering::Relaxed);
            self.phase.store(ESTABLISHED, Ordering::Relaxed);
        }
    }

    /// Whether the handshake is still under way at `now`, past its deadline: counted once
    /// as [`TlsFailure::HandshakeTimeout`].
    pub(crate) fn handshake_expired(&self, now: Instant) -> bool {
        if self.phase.load(Ordering::Relaxed) != HANDSHAKING || now < self.deadline {
            return false;
        }
        self.observe::<()>(&Err(TlsFailure::HandshakeTimeout.into_io()));
        true
    }

    /// Plaintext into `buf` (see [`read_inner`](Self::read_inner)).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.read_inner(buf);
        self.observe(&result);
        result
    }

    /// Plaintext from `buf` into records (see [`write_inner`](Self::write_inner)).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let result = self.write_inner(buf);
        self.observe(&result);
        result
    }

    /// Writes what the session holds (see [`flush_inner`](Self::flush_inner)).
    pub(crate) fn flush(&self) -> io::Result<()> {
        let result = self.flush_inner();
        self.observe(&result);
        result
    }

    /// Plaintext waiting (see [`unread_inner`](Self::unread_inner)).
    pub(crate) fn unread(&self) -> io::Result<usize> {
        let result = self.unread_inner();
        self.observe(&result);
        result
    }

    /// Drives the handshake (see [`handshake_inner`](Self::handshake_inner)).
    pub(crate) fn handshake(&self) -> io::Result<()> {
        let result = self.handshake_inner();
        self.observe(&result);
        result
    }

    /// Sends `close_notify` (see [`shutdown_write_inner`](Self::shutdown_write_inner)).
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let result = self.shutdown_write_inner();
        self.observe(&result);
        result
    }

    /// The wrapped connection.
    pub(crate) fn inner(&self) -> &C {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, rustls::Connection> {
        self.tls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the records the session holds, until it holds none or the socket would
    /// block (`WouldBlock`).
    fn write_records(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        if self.stalls(tls) {
            return self.write_stalled(tls);
        }
        while tls.wants_write() {
            if tls.write_tls(&mut Wire(&self.inner))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Whether a stall fault holds the handshake (then nothing more is written).
    fn stalls(&self, tls: &rustls::Connection) -> bool {
        self.faults.load(Ordering::Relaxed) & (STALL_HELLO | STALL_FINISHED) != 0
            && tls.is_handshaking()
    }

    /// Whether a stalled handshake has reached its stall: neither read nor written more.
    fn stalled(&self, tls: &rustls::Connection) -> bool {
        self.faults.load(Ordering::Relaxed) & STALLED != 0 && tls.is_handshaking()
    }

    /// The writes of a stalled handshake, once the ClientHello was processed (the answer is
    /// waiting): none for `hello`; the whole first flight for `finished`. Then the stall.
    fn write_stalled(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        let faults = self.faults.load(Ordering::Relaxed);
        if faults & STALLED != 0 || !tls.wants_write() {
            return Ok(());
        }
        if faults & STALL_FINISHED != 0 {
            while tls.wants_write() {
                if tls.write_tls(&mut Wire(&self.inner))? == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
            }
        }
        self.faults.fetch_or(STALLED, Ordering::Relaxed);
        Ok(())
    }

    /// Reads records from the socket once and processes them. `Ok(false)` is the
    /// wrapped connection's end-of-stream.
    fn read_records(&self, tls: &mut rustls::Connection) -> io::Result<bool> {
        // A stalled handshake reads nothing more: the socket keeps what comes. A blocking
        // read (`serve_once`) waits out the handshake's deadline, as the engine's timer does.
        if self.stalled(tls) {
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            std::thread::sleep(self.deadline.saturating_duration_since(Instant::now()));
            return Err(TlsFailure::HandshakeTimeout.into_io());
        }
        if tls.read_tls(&mut Wire(&self.inner))? == 0 {
            return Ok(false);
        }
        if let Err(error) = tls.process_new_packets() {
            // The alert rustls queued says why, to the peer; then the session is over.
            let _ = self.write_records(tls);
            return Err(TlsFailure::of(&error).into_io());
        }
        Ok(true)
    }

    /// Plaintext into `buf`: what the session holds, then records read from the socket (the
    /// handshake's answers written on the way). `Ok(0)` is the peer's `close_notify`; an end
    /// of stream without it is [`TlsFailure::Truncated`].
    ///
    /// In blocking mode it returns as soon as it has any plaintext. In non-blocking mode it
    /// reads on until `buf` is full or the socket would block, so that a short read means
    /// there is nothing left to read, in the session or on the socket, as the engine
    /// takes it to mean (edge-triggered readiness raises no new edge for bytes that were
    /// already there).
    fn read_inner(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut tls = self.lock();
        if self.faults.load(Ordering::Relaxed) & RESET_HANDSHAKE != 0 && tls.is_handshaking() {
            return self.reset_handshake(&mut tls);
        }
        let mut filled = 0;
        // What to return: the plaintext gathered so far, else `error`. An error after some
        // plaintext is found again by the next read (rustls keeps a session's failure).
        let done =
            |filled: usize, error: io::Error| if filled > 0 { Ok(filled) } else { Err(error) };
        loop {
            match tls.reader().read(&mut buf[filled..]) {
                // The peer's close_notify: a clean end, after what came before it.
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return done(filled, TlsFailure::Truncated.into_io());
                }
                Err(e) => return done(filled, e),
            }
            if filled > 0 && !self.nonblocking.load(Ordering::Relaxed) {
                return Ok(filled);
            }
            match self.write_records(&mut tls) {
                // The answers wait for the socket's room; the reading goes on.
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return done(filled, e),
                _ => {}
            }
            match self.read_records(&mut tls) {
                Ok(true) => {}
                // The socket's end: the reader says whether close_notify came before it.
                Ok(false) => {
                    return match tls.reader().read(&mut buf[filled..]) {
                        Ok(n) => Ok(filled + n),
                        Err(_) => done(filled, TlsFailure::Truncated.into_io()),
                    };
                }
                Err(e) => return done(filled, e),
            }
        }
    }

    /// `tls-reset=handshake`: once the ClientHello has come (read and processed), the
    /// connection is reset, before any answer.
    fn reset_handshake(&self, tls: &mut rustls::Connection) -> io::Result<usize> {
        if self.read_records(tls)? {
            self.closing.store(true, Ordering::Relaxed);
            self.inner.reset()?;
        }
        Err(io::ErrorKind::ConnectionReset.into())
    }

    /// How many bytes of plaintext are waiting (at most 4096 counted), reading what records
    /// the socket already holds; for a connection in non-blocking mode.
    fn unread_inner(&self) -> io::Result<usize> {
        let mut tls = self.lock();
        loop {
            let state = tls
                .process_new_packets()
                .map_err(|e| TlsFailure::of(&e).into_io())?;
            if state.plaintext_bytes_to_read() > 0 {
                return Ok(state.plaintext_bytes_to_read().min(4096));
            }
            match self.read_records(&mut tls) {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes plaintext from `buf` into records and writes what the socket takes. While
    /// records of an earlier write are still unwritten because the socket is full, says
    /// `WouldBlock` and takes nothing: the caller keeps what it could not send, and the
    /// session holds at most one write's records (the backpressure of a plain socket).
    fn write_inner(&self, buf: &[u8]) -> io::Result<usize> {
        let mut tls = self.lock();
        self.write_records(&mut tls)?;
        let taken = tls.writer().write(buf)?;
        if taken == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.write_records(&mut tls) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(taken),
        }
    }

    /// Writes the records the session still holds (`WouldBlock` if the socket will not
    /// take them all now).
    fn flush_inner(&self) -> io::Result<()> {
        let mut tls = self.lock();
        self.finish_writes(&mut tls)
    }

    /// Whether the session holds records to write.
    pub(crate) fn wants_write(&self) -> bool {
        let tls = self.lock();
        tls.wants_write() && !self.stalled(&tls)
    }

    /// Drives the handshake to its end on a blocking socket (the client's connect, and
    /// `serve_once`), or as far as a non-blocking one allows (`WouldBlock`).
    ///
    /// On a blocking socket each read waits at most until the handshake's deadline, so a
    /// server that stalls the handshake ends it as [`TlsFailure::HandshakeTimeout`] (the
    /// caller sets the socket's own read timeout back afterwards).
    fn handshake_inner(&self) -> io::Result<()> {
        let mut tls = self.lock();
        while tls.is_handshaking() {
            self.write_records(&mut tls)?;
            if !tls.is_handshaking() {
                break;
            }
            if !self.nonblocking.load(Ordering::Relaxed) {
                let left = self.deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(TlsFailure::HandshakeTimeout.into_io());
                }
                self.inner.set_read_timeout(Some(left))?;
            }
            if tls.wants_read() && !self.read_records(&mut tls)? {
                return Err(TlsFailure::Truncated.into_io());
            }
        }
        self.write_records(&mut tls)
    }

    /// Queues `close_notify` and writes it with what else is held, then shuts down the
    /// write side of the socket. If the socket will not take it all now, what is left is
    /// held ([`wants_write`](Self::wants_write)), and the [`flush`](Self::flush) that
    /// writes it shuts the write side.
    fn shutdown_write_inner(&self) -> io::Result<()> {
        let mut tls = self.lock();
        if !self.closing.swap(true, Ordering::Relaxed)
            && self.faults.load(Ordering::Relaxed) & TRUNCATE == 0
        {
            tls.send_close_notify();
        }
        match self.finish_writes(&mut tls) {
            // The peer has closed already: there is no one left to tell, as a plain
            // socket's shutdown of a closed connection tells no one either.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::NotConnected
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Writes what is held and, once the session is closing and nothing is held, shuts
    /// the socket's write side.
    fn finish_writes(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        match self.write_records(tls) {
            Ok(()) if self.closing.load(Ordering::Relaxed) => self.inner.shutdown_write(),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    && self.closing.load(Ordering::Relaxed) =>
            {
                Ok(())
            }
            other => other,
        }
    }
}

/// The TLS transport: TLS 1.2 and 1.3 (rustls, with ring) over a stream transport, [`Tcp`]
/// or [`Unix`].
///
/// The wrapped transport binds, connects and tunes the sockets as it does alone; the TLS
/// settings are [`Options::with_tls`](crate::Options::with_tls). A server with no identity
/// makes a self-signed certificate at bind for `localhost` and the address it binds (every
/// loopback address for an unspecified one), and shows it with
/// [`EchoServer::certificate`](crate::EchoServer::certificate) so the client under test can
/// trust exactly it.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Options, Tcp, Tls, TlsOptions};
///
/// let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0")?;
/// let trust = TlsOptions::new().with_trusted(server.certificate().clone());
/// let addr = server.local_addr();
/// let served = std::thread::spawn(move || server.serve_once());
///
/// let mut client = EchoClient::connect_on_with(Tls::over(Tcp), addr, Options::new().with_tls(trust))?;
/// assert_eq!(&client.echo(b"hello over tls")?[..], b"hello over tls");
/// drop(client);
/// served.join().expect("server thread")?;
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tls<S = Tcp>(S);

impl<S> Tls<S> {
    /// TLS over the stream transport `inner`.
    pub const fn over(inner: S) -> Tls<S> {
        Tls(inner)
    }
}

impl Transport for Tls<Tcp> {
    type Addr = SocketAddr;
}

impl Transport for Tls<Unix> {
    type Addr = UnixAddr;
}

/// A stream transport TLS can wrap, and what TLS needs to know of its addresses.
pub(crate) trait Wrapped:
    Transport
    + Sealed<
        Server: Listener<Addr = <Self as Transport>::Addr, Stream = <Self as Sealed>::Client>,
        Client: Connection,
    >
{
    /// The name of TLS over this transport, in errors and logs.
    const TLS_NAME: &'static str;

    /// The names a self-signed certificate of a server bound to `addr` certifies.
    fn certified_names(addr: &<Self as Transport>::Addr) -> Vec<String>;

    /// The name a client connecting to `addr` verifies, unless told another.
    fn verified_name(addr: &<Self as Transport>::Addr) -> String;
}

impl Wrapped for Tcp {
    const TLS_NAME: &'static str = "tls";

    fn certified_names(addr: &SocketAddr) -> Vec<String> {
        let mut names = vec!["localhost".to_owned()];
        if addr.ip().is_unspecified() {
            names.extend(["127.0.0.1".to_owned(), "::1".to_owned()]);
        } else {
            names.push(addr.ip().to_string());
        }
        names
    }

    fn verified_name(addr: &SocketAddr) -> String {
        addr.ip().to_string()
    }
}

impl Wrapped for Unix {
    const TLS_NAME: &'static str = "tls+unix";

    fn certified_names(_: &UnixAddr) -> Vec<String> {
        vec!["localhost".to_owned()]
    }

    fn verified_name(_: &UnixAddr) -> String {
        "localhost".to_owned()
    }
}

/// A listening TLS server: the wrapped transport's listener, the rustls configuration and
/// the identity it presents.
#[derive(Debug)]
pub struct TlsServer<L> {
    inner: L,
    identity: Identity,
    config: Arc<ServerConfig>,
    counters: Arc<TlsCounters>,
    handshake_timeout: Duration,
    bad: Arc<BadConfigs>,
}

/// The rustls configurations of the bad certificates a server presents on demand
/// (`tls-cert`), one per [`BadCertificate`], each made the first time it is presented.
#[derive(Debug)]
struct BadConfigs {
    settings: TlsOptions,
    /// The names the server's certificates certify.
    names: Vec<String>,
    configs: [OnceLock<Arc<ServerConfig>>; 4],
}

/// The name a `wrong-name` certificate certifies: no server is called that (`.invalid` is
/// reserved, RFC 6761).
const WRONG_NAME: &str = "wrong-name.invalid";

impl BadConfigs {
    fn new(settings: TlsOptions, names: Vec<String>) -> BadConfigs {
        BadConfigs {
            settings,
            names,
            configs: Default::default(),
        }
    }

    /// The configuration presenting `which`, made now if it was never presented. `own` is
    /// the server's identity, whose siblings the expired, not-yet-valid and wrong-name
    /// certificates are.
    fn config(&self, which: BadCertificate, own: &Identity) -> Result<Arc<ServerConfig>> {
        let slot = &self.configs[which.index()];
        if let Some(config) = slot.get() {
            return Ok(config.clone());
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let identity = match which {
            BadCertificate::Expired => own.sibling(&names, Validity::Expired)?,
            BadCertificate::NotYetValid => own.sibling(&names, Validity::NotYetValid)?,
            BadCertificate::WrongName => own.sibling(&[WRONG_NAME], Validity::Current)?,
            BadCertificate::Untrusted => Identity::self_signed(&names)?,
        };
        let config = self.settings.server_config(&identity)?;
        Ok(slot.get_or_init(|| config).clone())
    }
}

/// A session dropped without [`shutdown_write`](Session::shutdown_write) or a reset still
/// ends cleanly: `close_notify` is queued and written if the socket takes it now (a few dozen
/// bytes, which a socket with room for nothing more is the only one to refuse).
impl<C: Connection> Drop for Session<C> {
    fn drop(&mut self) {
        if self.closing.load(Ordering::Relaxed)
            || self.faults.load(Ordering::Relaxed) & TRUNCATE != 0
        {
            return;
        }
        let tls = self.tls.get_mut().unwrap_or_else(PoisonError::into_inner);
        if tls.is_handshaking() {
            return;
        }
        tls.send_close_notify();
        let mut wire = Wire(&self.inner);
        while tls.wants_write() {
            match tls.write_tls(&mut wire) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

/// The socket of a TLS server is its listener's: registration, blocking mode, timeouts.
impl<L: Listener> Socket for TlsServer<L> {
    fn register(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.register(registry, token, interest)
    }

    fn reregister(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.reregister(registry, token, interest)
    }

    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        self.inner.deregister(registry)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }
}

/// The socket of a TLS connection is the wrapped connection's, registered for both
/// directions whatever the application waits for: a session may have to write while the
/// application reads (a handshake's answers) and read while it writes.
impl<C: Connection> Socket for Session<C> {
    fn register(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.register(registry, token, both(interest))
    }

    fn reregister(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.reregister(registry, token, both(interest))
    }

    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        self.inner.deregister(registry)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)?;
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }
}

fn both(_: Interest) -> Interest {
    Interest::READABLE | Interest::WRITABLE
}

/// What a closed TLS listener keeps, so that the server comes back up with the same
/// certificate.
#[derive(Debug)]
pub struct KeptTls<K> {
    inner: K,
    identity: Identity,
    config: Arc<ServerConfig>,
    counters: Arc<TlsCounters>,
    handshake_timeout: Duration,
    bad: Arc<BadConfigs>,
}

impl<L: Listener> Listener for TlsServer<L> {
    type Addr = L::Addr;
    type Stream = Session<L::Stream>;
    type Kept = KeptTls<L::Kept>;

    fn accept(&self) -> io::Result<(Session<L::Stream>, L::Addr)> {
        let (stream, addr) = self.inner.accept()?;
        let tls = rustls::ServerConnection::new(self.config.clone())
            .map_err(|e| TlsFailure::of(&e).into_io())?;
        Ok((
            Session::new(
                stream,
                tls.into(),
                self.handshake_timeout,
                Some(self.counters.clone()),
            ),
            addr,
        ))
    }

    fn prepare(
        &self,
        stream: &Session<L::Stream>,
        options: &Options,
        blocking: bool,
    ) -> Result<()> {
        self.inner.prepare(stream.inner(), options, blocking)
    }

    fn keep(&self) -> KeptTls<L::Kept> {
        KeptTls {
            inner: self.inner.keep(),
            identity: self.identity.clone(),
            config: self.config.clone(),
            counters: self.counters.clone(),
            handshake_timeout: self.handshake_timeout,
            bad: self.bad.clone(),
        }
    }

    fn session_faults(
        &self,
        stream: &Session<L::Stream>,
        faults: &SessionFaults,
    ) -> io::Result<()> {
        if let Some(which) = faults.certificate {
            let config = self
                .bad
                .config(which, &self.identity)
                .map_err(io::Error::other)?;
            let tls =
                rustls::ServerConnection::new(config).map_err(|e| TlsFailure::of(&e).into_io())?;
            *stream.lock() = tls.into();
        }
        let mut bits = 0;
        match faults.stall {
            Some(HandshakeStall::Hello) => bits |= STALL_HELLO,
            Some(HandshakeStall::Finished) => bits |= STALL_FINISHED,
            None => {}
        }
        if faults.reset {
            bits |= RESET_HANDSHAKE;
        }
        if faults.truncate {
            bits |= TRUNCATE;
        }
        stream.faults.fetch_or(bits, Ordering::Relaxed);
        Ok(())
    }

    fn bind_again(kept: &KeptTls<L::Kept>, addr: &L::Addr, options: &Options) -> Result<Self> {
        Ok(TlsServer {
            inner: L::bind_again(&kept.inner, addr, options)?,
            identity: kept.identity.clone(),
            config: kept.config.clone(),
            counters: kept.counters.clone(),
            handshake_timeout: kept.handshake_timeout,
            bad: kept.bad.clone(),
        })
    }
}

impl<C: Connection> Connection for Session<C> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        Session::read(self, buf)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        Session::write(self, buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        Session::shutdown_write(self)
    }

    fn flush(&self) -> io::Result<()> {
        Session::flush(self)
    }

    fn wants_write(&self) -> bool {
        Session::wants_write(self)
    }

    fn unread(&self) -> io::Result<usize> {
        Session::unread(self)
    }

    fn reset(&self) -> io::Result<()> {
        // A reset ends the session without close_notify: the peer must not take what it
        // read for a clean end.
        self.closing.store(true, Ordering::Relaxed);
        self.inner.reset()
    }

    fn peer_addr(&self) -> io::Result<Address> {
        self.inner.peer_addr()
    }

    fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.recv_buffer_size()
    }

    const EXPIRES: bool = true;

    fn expired(&self, now: Instant) -> bool {
        self.handshake_expired(now)
    }
}

/// The capabilities of TLS over one wrapped transport (a macro, since `Sealed`'s types
/// cannot be named through a generic impl that also requires `Tls<S>: Transport`).
macro_rules! tls_over {
    ($inner:ident) => {
        impl Sealed for Tls<$inner> {
            const NAME: &'static str = <$inner>::TLS_NAME;
            type Server = TlsServer<<$inner as Sealed>::Server>;
            type Client = Session<<$inner as Sealed>::Client>;

            const KIND: Kind = Kind::Stream;
            const SESSION_FAULTS: bool = true;

            fn server_fd(server: &Self::Server) -> BorrowedFd<'_> {
                <$inner>::server_fd(&server.inner)
            }

            fn client_fd(client: &Self::Client) -> BorrowedFd<'_> {
                <$inner>::client_fd(client.inner())
            }

            fn stats_source(server: &Self::Server) -> Option<super::sealed::StatsSource> {
                let counters = server.counters.clone();
                Some(super::sealed::StatsSource(Arc::new(
                    move |stats: &mut Stats| stats.tls = counters.snapshot(),
                )))
            }

            fn identity(server: &Self::Server) -> Option<&Identity> {
                Some(&server.identity)
            }

            fn check(options: &Options) -> Result<()> {
                options.refuse_inapplicable(Self::NAME)
            }

            fn bind(addr: &<Self as Transport>::Addr, options: &Options) -> Result<Self::Server> {
                let inner = <$inner>::bind(addr, options)?;
                let settings = options.tls().cloned().unwrap_or_default();
                let bound = <$inner>::local_addr(&inner).map_err(|source| Error::Bind {
                    transport: Self::NAME,
                    addr: addr.clone().into(),
                    source,
                })?;
                let names = <$inner>::certified_names(&bound);
                let identity = match settings.identity() {
                    Some(identity) => identity.clone(),
                    None => {
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        Identity::self_signed(&names)?
                    }
                };
                let config = settings.server_config(&identity)?;
                Ok(TlsServer {
                    inner,
                    identity,
                    config,
                    counters: Arc::default(),
                    handshake_timeout: settings.handshake_timeout(),
                    bad: Arc::new(BadConfigs::new(settings, names)),
                })
            }

            fn local_addr(server: &Self::Server) -> io::Result<<Self as Transport>::Addr> {
                <$inner>::local_addr(&server.inner)
            }

            fn connect(
                addr: &<Self as Transport>::Addr,
                options: &Options,
            ) -> Result<Self::Client> {
                let settings = options.tls().cloned().unwrap_or_default();
                let config = settings.client_config()?;
                let name = settings.name_to_verify(&<$inner>::verified_name(addr))?;
                let inner = <$inner>::connect(addr, options)?;
                let tls = rustls::ClientConnection::new(config, name).map_err(|e| Error::Tls {
                    addr: addr.clone().into(),
                    reason: TlsFailure::of(&e),
                })?;
                let session = Session::new(inner, tls.into(), settings.handshake_timeout(), None);
                session
                    .handshake()
                    .map_err(|source| handshake_error(addr.clone().into(), source))?;
                session
                    .inner()
                    .set_read_timeout(options.read_timeout())
                    .map_err(|source| Error::SetOption {
                        option: "read_timeout",
                        source,
                    })?;
                Ok(session)
            }

            fn client_addr(client: &Self::Client) -> io::Result<<Self as Transport>::Addr> {
                <$inner>::client_addr(client.inner())
            }

            fn visit_server<V: ServerVisitor<Self>>(
                server: &Self::Server,
                visitor: V,
            ) -> V::Output {
                visitor.stream(server)
            }

            fn visit_owned<V: ServerVisitor<Self>>(server: Self::Server, visitor: V) -> V::Output {
                visitor.stream_owned(server)
            }

            fn visit_client<V: ClientVisitor<Self>>(
                client: &Self::Client,
                visitor: V,
            ) -> V::Output {
                visitor.stream(client)
            }

            fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
                clients: Vec<&'a Self::Client>,
                visitor: V,
            ) -> V::Output {
                visitor.stream(clients)
            }
        }
    };
}

tls_over!(Tcp);
tls_over!(Unix);

/// The error of a client's handshake: the TLS reason if there is one, a timeout as
/// [`TlsFailure::HandshakeTimeout`], else the connection's error.
fn handshake_error(addr: crate::addr::Address, source: io::Error) -> Error {
    if let Some(reason) = TlsFailure::in_io(&source) {
        return Error::Tls {
            addr,
            reason: reason.clone(),
        };
    }
    match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Tls {
            addr,
            reason: TlsFailure::HandshakeTimeout,
        },
        _ => Error::Receive { addr, source },
    }
}
