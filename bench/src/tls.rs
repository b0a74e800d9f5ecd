//! The certificate of the TLS workloads, shared by the servers and the clients of a run.
//!
//! The harness makes one self-signed identity (`Identity::self_signed`, ECDSA P-256) for the
//! loopback names, writes its certificate and key as PEM files into a fresh directory, and
//! starts every TLS server with that directory (`--tls <dir>`), so the library's server and
//! the tokio-rustls reference present the same certificate and sign with the same key. Both
//! build their rustls configuration over the same provider, ring, with rustls's defaults;
//! the clients trust exactly that certificate and never resume a session.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use socket_echo::Identity;

use crate::socket_dir::SocketDir;

/// The certificate's file in an identity directory.
pub const CERT_FILE: &str = "cert.pem";
/// The private key's file in an identity directory.
pub const KEY_FILE: &str = "key.pem";

/// A fresh directory holding a new self-signed certificate and its key; removed when
/// dropped.
#[derive(Debug)]
pub struct IdentityDir {
    dir: SocketDir,
    certificate: CertificateDer<'static>,
}

impl IdentityDir {
    /// Makes an identity for `localhost`, 127.0.0.1 and ::1 and writes it out.
    ///
    /// # Errors
    ///
    /// Making the identity, the directory or the files failed.
    pub fn new() -> io::Result<Self> {
        let identity =
            Identity::self_signed(&["localhost", "127.0.0.1", "::1"]).map_err(io::Error::other)?;
        let dir = SocketDir::new()?;
        std::fs::write(dir.join(CERT_FILE), identity.certificate().pem())?;
        std::fs::write(dir.join(KEY_FILE), identity.key_pem())?;
        Ok(IdentityDir {
            certificate: CertificateDer::from(identity.certificate().der().to_vec()),
            dir,
        })
    }

    /// The directory, as given to a server with `--tls`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A client of a server at `ip` presenting this identity.
    ///
    /// # Errors
    ///
    /// rustls refused the certificate or the configuration.
    pub fn client(&self, ip: IpAddr) -> io::Result<TlsClient> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.certificate.clone())
            .map_err(io::Error::other)?;
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Every connection makes a full handshake: tls-hs measures exactly that.
        config.resumption = rustls::client::Resumption::disabled();
        Ok(TlsClient {
            config: Arc::new(config),
            name: ServerName::IpAddress(ip.into()),
        })
    }
}

/// What a TLS load client needs: its rustls configuration and the name it verifies.
#[derive(Debug, Clone)]
pub struct TlsClient {
    /// Trusts the run's certificate only; no session resumption.
    pub config: Arc<ClientConfig>,
    /// The server's address, which the certificate names.
    pub name: ServerName<'static>,
}

/// The paths of the certificate and the key in identity directory `dir`.
pub fn files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(CERT_FILE), dir.join(KEY_FILE))
}

/// The rustls server configuration of the tokio-rustls reference: the identity in `dir`, the
/// ring provider, rustls's defaults (as the library's server builds its own).
///
/// # Errors
///
/// The files cannot be read or parsed, or rustls refused them.
pub fn server_config(dir: &Path) -> io::Result<Arc<ServerConfig>> {
    let (cert, key) = files(dir);
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| io::Error::other(format!("reading {}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| io::Error::other(format!("reading {}: {e}", key.display())))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

/// rustls's ring provider, the library's (deprecated by rustls only for lacking a
/// post-quantum key exchange).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
