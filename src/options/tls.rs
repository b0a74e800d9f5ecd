//! The settings of the TLS transport: [`TlsOptions`], kept in [`Options`](crate::Options)
//! (the rustls configurations are made from them by the transport).

use std::time::Duration;

use crate::certificate::{Certificate, Identity};

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

    /// The ALPN protocols offered (client) or accepted (server), in order of preference. A
    /// server refuses a client that offers only others (its handshake fails with the alert
    /// `no_application_protocol`) and serves one that offers none; it counts its handshakes
    /// by the protocol agreed in [`TlsStats`](crate::TlsStats) (`alpn_h2`, `alpn_http_1_1`,
    /// `alpn_other`, `alpn_none`).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Options, Tcp, Tls, TlsOptions};
    ///
    /// let accepts = Options::new().with_tls(TlsOptions::new().with_alpn(&[b"h2", b"echo"]));
    /// let server = EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", accepts)?;
    /// let offers = TlsOptions::new()
    ///     .with_trusted(server.certificate().clone())
    ///     .with_alpn(&[b"echo"]);
    /// let handle = server.spawn()?;
    /// let options = Options::new().with_tls(offers);
    /// let mut client = EchoClient::connect_on_with(Tls::over(Tcp), handle.local_addr(), options)?;
    /// client.echo(b"hello")?;
    /// drop(client);
    /// handle.shutdown();
    /// assert_eq!(handle.join()?.tls.alpn_other, 1);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn with_alpn(mut self, protocols: &[&[u8]]) -> TlsOptions {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// How long a handshake may take, from the connection's accept (server) or connect
    /// (client) to its end, before it fails with [`TlsFailure::HandshakeTimeout`](crate::TlsFailure::HandshakeTimeout).
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
}
