//! The rustls configurations made from the TLS settings ([`TlsOptions`]), the crypto
//! provider, and the reason ([`TlsFailure`]) of a rustls error.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

use crate::certificate::Identity;
use crate::error::{Error, Result, TlsFailure};
use crate::options::TlsOptions;

impl TlsFailure {
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
}

impl TlsOptions {
    /// The rustls configuration of a server presenting `identity`.
    pub(crate) fn server_config(&self, identity: &Identity) -> Result<Arc<ServerConfig>> {
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?;
        let builder = if self.client_ca().is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            for ca in self.client_ca() {
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
        config.alpn_protocols = self.alpn().to_vec();
        Ok(Arc::new(config))
    }

    /// The rustls configuration of a client.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?;
        let builder = if self.accepts_any_certificate() {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        } else {
            if self.trusted().is_empty() {
                return Err(Error::InvalidOption {
                    option: "tls",
                    reason: "a TLS client trusts only what it is given, and was given nothing: \
                             add the server's certificate or its CA with TlsOptions::with_trusted"
                        .into(),
                });
            }
            let mut roots = rustls::RootCertStore::empty();
            for cert in self.trusted() {
                roots
                    .add(cert.to_rustls())
                    .map_err(|e| invalid("tls trusted", e))?;
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match self.identity() {
            Some(identity) => {
                let (chain, key) = identity.to_rustls();
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| invalid("tls identity", e))?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn().to_vec();
        Ok(Arc::new(config))
    }

    /// The name a client verifies: the one given, else `default` (the address's IP, or
    /// `localhost`).
    pub(crate) fn name_to_verify(&self, default: &str) -> Result<ServerName<'static>> {
        let name = self.server_name().unwrap_or(default);
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
