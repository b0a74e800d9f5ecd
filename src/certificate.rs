//! Certificates and keys for the TLS transport: [`Certificate`], its [`Fingerprint`], and the
//! [`Identity`] a server (or a client, for mutual TLS) presents.
//!
//! A server given no identity makes a self-signed one at bind, for the names and addresses it
//! serves, and hands its certificate to the test that bound it, so the client under test
//! trusts exactly that certificate and nothing else. The same generator makes the certificates
//! of the TLS faults (expired, not yet valid, for another name, untrusted).

use std::fmt;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// One X.509 certificate, held as its DER bytes.
///
/// Read it from PEM ([`from_pem`](Self::from_pem), [`from_pem_file`](Self::from_pem_file)),
/// take it from a server that made its own
/// ([`EchoServer::certificate`](crate::EchoServer::certificate)), and give it to a client to
/// trust ([`TlsOptions::with_trusted`](crate::TlsOptions::with_trusted)).
///
/// # Examples
///
/// ```
/// use socket_echo::Identity;
///
/// let identity = Identity::self_signed(&["localhost", "127.0.0.1"])?;
/// let certificate = identity.certificate();
/// assert!(certificate.pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_eq!(certificate.fingerprint().to_string().len(), 32 * 3 - 1);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Certificate {
    der: Vec<u8>,
}

impl Certificate {
    /// A certificate from its DER bytes. They are checked when a TLS configuration is built
    /// from them, not here.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Certificate {
        Certificate { der: der.into() }
    }

    /// Every certificate of a PEM text (its `CERTIFICATE` blocks, in order; other blocks are
    /// skipped). A text with none is [`Error::Certificate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Certificate, Identity};
    ///
    /// let pem = Identity::self_signed(&["localhost"])?.certificate().pem();
    /// assert_eq!(Certificate::from_pem(&pem)?.len(), 1);
    /// assert!(Certificate::from_pem("not a certificate").is_err());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn from_pem(pem: &str) -> Result<Vec<Certificate>> {
        certificates(pem.as_bytes(), "PEM text")
    }

    /// Every certificate of a PEM file, as [`from_pem`](Self::from_pem). The error names the
    /// file.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Certificate, Identity};
    ///
    /// let path = std::env::temp_dir().join(format!("doc-cert-{}.pem", std::process::id()));
    /// std::fs::write(&path, Identity::self_signed(&["localhost"])?.certificate().pem()).unwrap();
    /// assert_eq!(Certificate::from_pem_file(&path)?.len(), 1);
    /// std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Vec<Certificate>> {
        let path = path.as_ref();
        let text = read(path)?;
        certificates(&text, &path.display().to_string())
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as one PEM `CERTIFICATE` block, lines of 64 characters, ending with a
    /// newline.
    pub fn pem(&self) -> String {
        pem_block("CERTIFICATE", &self.der)
    }

    /// The SHA-256 digest of the DER bytes, as `openssl x509 -fingerprint -sha256` prints it.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }

    pub(crate) fn to_rustls(&self) -> CertificateDer<'static> {
        CertificateDer::from(self.der.clone())
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("sha256", &self.fingerprint())
            .field("len", &self.der.len())
            .finish()
    }
}

/// The SHA-256 fingerprint of a [`Certificate`]: 32 bytes, shown as upper-case hexadecimal
/// pairs joined by colons (`AB:CD:…`), as openssl prints it.
///
/// # Examples
///
/// ```
/// use socket_echo::Identity;
///
/// let fingerprint = Identity::self_signed(&["localhost"])?.certificate().fingerprint();
/// let text = fingerprint.to_string();
/// assert_eq!(text.split(':').count(), 32);
/// assert_eq!(fingerprint.as_bytes().len(), 32);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A certificate chain (the leaf first) and its private key: what a TLS server presents, or a
/// client that must prove who it is (mutual TLS).
///
/// The key's bytes are never shown by `Debug`.
///
/// # Examples
///
/// ```
/// use socket_echo::Identity;
///
/// // A self-signed identity for tests, valid for these names and addresses.
/// let identity = Identity::self_signed(&["localhost", "127.0.0.1", "::1"])?;
/// assert_eq!(identity.chain().len(), 1);
///
/// // Written out and read back, as a user's own certificate and key would be.
/// let dir = std::env::temp_dir();
/// let cert = dir.join(format!("doc-id-{}.crt", std::process::id()));
/// let key = dir.join(format!("doc-id-{}.key", std::process::id()));
/// std::fs::write(&cert, identity.certificate().pem()).unwrap();
/// std::fs::write(&key, identity.key_pem()).unwrap();
/// let read = Identity::from_pem_files(&cert, &key)?;
/// assert_eq!(read.certificate(), identity.certificate());
/// # std::fs::remove_file(&cert).unwrap();
/// # std::fs::remove_file(&key).unwrap();
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    chain: Vec<Certificate>,
    /// The private key, PKCS#8, SEC1 or PKCS#1 DER, as read.
    key: Vec<u8>,
    /// Which of those the key is.
    key_kind: KeyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Pkcs8,
    Sec1,
    Pkcs1,
}

/// When a generated certificate is valid ([`Identity::self_signed_valid`]): a server can
/// present an expired or a not-yet-valid certificate on purpose, so that a client's
/// verification can be tested one path at a time.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Error, Identity, Options, Tcp, Tls, TlsFailure, TlsOptions, Validity};
///
/// let expired = Identity::self_signed_valid(&["127.0.0.1"], Validity::Expired)?;
/// let server = EchoServer::bind_on_with(
///     Tls::over(Tcp),
///     "127.0.0.1:0",
///     Options::new().with_tls(TlsOptions::new().with_identity(expired.clone())),
/// )?;
/// let addr = server.local_addr();
/// let served = std::thread::spawn(move || server.serve_once());
/// let trusting = Options::new().with_tls(TlsOptions::new().with_trusted(expired.certificate().clone()));
/// let error = EchoClient::connect_on_with(Tls::over(Tcp), addr, trusting).unwrap_err();
/// assert!(matches!(error, Error::Tls { reason: TlsFailure::Expired, .. }));
/// let _ = served.join();
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Validity {
    /// From 1975 to 4096: valid whenever a test runs.
    #[default]
    Current,
    /// From 2000 to 2001: expired.
    Expired,
    /// From 2200 to 2201: not valid yet.
    NotYetValid,
}

impl Identity {
    /// A new key pair (ECDSA P-256) and a self-signed certificate for `names`: each is a DNS
    /// name (`localhost`) or an IP address (`127.0.0.1`, `::1`), put in the certificate's
    /// subject alternative names. At least one name is needed.
    ///
    /// # Errors
    ///
    /// [`Error::Certificate`] for no names or a name no certificate can carry.
    pub fn self_signed(names: &[&str]) -> Result<Identity> {
        Identity::self_signed_valid(names, Validity::Current)
    }

    /// As [`self_signed`](Self::self_signed), valid only as `validity` says: an expired or a
    /// not-yet-valid certificate, for testing a client's verification.
    ///
    /// # Errors
    ///
    /// As [`self_signed`](Self::self_signed).
    pub fn self_signed_valid(names: &[&str], validity: Validity) -> Result<Identity> {
        let key = rcgen::KeyPair::generate().map_err(|e| Error::Certificate {
            what: format!("self-signed certificate for {names:?}"),
            reason: e.to_string().into(),
        })?;
        Identity::signed_with(key, names, validity)
    }

    /// A certificate for `names`, valid as `validity` says, with this identity's key and the
    /// subject a self-signed identity of this key has: a client that trusts this identity's
    /// self-signed certificate finds the sibling signed by it, and fails on the one check the
    /// sibling breaks (its dates, its names). For an identity read from files, whose subject
    /// is its own, or whose key is not PKCS#8, the sibling is of a new key.
    pub(crate) fn sibling(&self, names: &[&str], validity: Validity) -> Result<Identity> {
        match rcgen::KeyPair::try_from(self.key.as_slice()) {
            Ok(key) if self.key_kind == KeyKind::Pkcs8 => {
                Identity::signed_with(key, names, validity)
            }
            _ => Identity::self_signed_valid(names, validity),
        }
    }

    fn signed_with(key: rcgen::KeyPair, names: &[&str], validity: Validity) -> Result<Identity> {
        let refuse = |reason: String| Error::Certificate {
            what: format!("self-signed certificate for {names:?}"),
            reason: reason.into(),
        };
        if names.is_empty() {
            return Err(refuse("no name or address to certify".to_owned()));
        }
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).map_err(|e| refuse(e.to_string()))?;
        // A subject of its own: a verifier looks a certificate's issuer up by name, so two
        // self-signed certificates with one name would be taken for one issuer (a bad
        // signature) rather than an unknown one.
        let tag: String = key.public_key_raw()[1..9]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("socket-echo test certificate {tag}"),
        );
        match validity {
            Validity::Current => {}
            Validity::Expired => {
                params.not_before = rcgen::date_time_ymd(2000, 1, 1);
                params.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            Validity::NotYetValid => {
                params.not_before = rcgen::date_time_ymd(2200, 1, 1);
                params.not_after = rcgen::date_time_ymd(2201, 1, 1);
            }
        }
        let cert = params
            .self_signed(&key)
            .map_err(|e| refuse(e.to_string()))?;
        Ok(Identity {
            chain: vec![Certificate::from_der(cert.der().to_vec())],
            key: key.serialize_der(),
            key_kind: KeyKind::Pkcs8,
        })
    }

    /// An identity from PEM texts: the chain (leaf first) and the private key (PKCS#8,
    /// SEC1 or PKCS#1). The key is checked against the leaf when a TLS configuration is built.
    ///
    /// # Errors
    ///
    /// [`Error::Certificate`] for a text with no certificate or no key.
    pub fn from_pem(chain: &str, key: &str) -> Result<Identity> {
        Identity::from_parts(
            certificates(chain.as_bytes(), "PEM text")?,
            key.as_bytes(),
            "PEM text",
        )
    }

    /// An identity from PEM files, as [`from_pem`](Self::from_pem); errors name the file.
    pub fn from_pem_files(chain: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Identity> {
        let (chain, key) = (chain.as_ref(), key.as_ref());
        let certs = certificates(&read(chain)?, &chain.display().to_string())?;
        Identity::from_parts(certs, &read(key)?, &key.display().to_string())
    }

    fn from_parts(chain: Vec<Certificate>, key: &[u8], what: &str) -> Result<Identity> {
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| Error::Certificate {
            what: what.to_owned(),
            reason: format!("no private key: {e}").into(),
        })?;
        let (key_kind, der) = match &key {
            PrivateKeyDer::Pkcs8(der) => (KeyKind::Pkcs8, der.secret_pkcs8_der()),
            PrivateKeyDer::Sec1(der) => (KeyKind::Sec1, der.secret_sec1_der()),
            PrivateKeyDer::Pkcs1(der) => (KeyKind::Pkcs1, der.secret_pkcs1_der()),
            _ => {
                return Err(Error::Certificate {
                    what: what.to_owned(),
                    reason: "a private key of an unknown kind".into(),
                });
            }
        };
        Ok(Identity {
            chain,
            key: der.to_vec(),
            key_kind,
        })
    }

    /// The leaf certificate, the one that names the server.
    pub fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }

    /// The whole chain, the leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The private key as a PEM block (`PRIVATE KEY`, `EC PRIVATE KEY` or `RSA PRIVATE
    /// KEY`, as it was read): for handing the identity to another program, such as
    /// `openssl s_server` in an interoperability test.
    pub fn key_pem(&self) -> String {
        let label = match self.key_kind {
            KeyKind::Pkcs8 => "PRIVATE KEY",
            KeyKind::Sec1 => "EC PRIVATE KEY",
            KeyKind::Pkcs1 => "RSA PRIVATE KEY",
        };
        pem_block(label, &self.key)
    }

    pub(crate) fn to_rustls(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let chain = self.chain.iter().map(Certificate::to_rustls).collect();
        let key = match self.key_kind {
            KeyKind::Pkcs8 => PrivateKeyDer::Pkcs8(self.key.clone().into()),
            KeyKind::Sec1 => PrivateKeyDer::Sec1(self.key.clone().into()),
            KeyKind::Pkcs1 => PrivateKeyDer::Pkcs1(self.key.clone().into()),
        };
        (chain, key)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &self.chain)
            .field("key", &"<hidden>")
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Certificate {
        what: path.display().to_string(),
        reason: format!("cannot be read: {e}").into(),
    })
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<Certificate>> {
    let mut found = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::Certificate {
            what: what.to_owned(),
            reason: format!("a certificate block does not parse: {e}").into(),
        })?;
        found.push(Certificate::from_der(cert.to_vec()));
    }
    if found.is_empty() {
        return Err(Error::Certificate {
            what: what.to_owned(),
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(found)
}

/// `der` as a PEM block with `label`: base64 in lines of 64 characters.
fn pem_block(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut base64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                base64.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                base64.push('=');
            }
        }
    }
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_through_the_reader() {
        for len in 0..8 {
            let der: Vec<u8> = (0..len).map(|i| i * 37 + 1).collect();
            let block = pem_block("CERTIFICATE", &der);
            let read: Vec<_> = CertificateDer::pem_slice_iter(block.as_bytes())
                .map(|c| c.map(|c| c.to_vec()))
                .collect::<std::result::Result<_, _>>()
                .expect("parses");
            assert_eq!(read, vec![der], "{block}");
        }
    }

    #[test]
    fn a_generated_identity_round_trips_through_pem() {
        let identity = Identity::self_signed(&["localhost", "127.0.0.1"]).expect("generated");
        let read = Identity::from_pem(&identity.certificate().pem(), &identity.key_pem())
            .expect("read back");
        assert_eq!(read, identity);
    }

    #[test]
    fn no_names_is_refused() {
        let error = Identity::self_signed(&[]).unwrap_err();
        assert!(error.to_string().contains("no name"), "{error}");
    }

    #[test]
    fn a_text_without_a_key_is_refused_naming_it() {
        let identity = Identity::self_signed(&["localhost"]).expect("generated");
        let pem = identity.certificate().pem();
        let error = Identity::from_pem(&pem, &pem).unwrap_err();
        assert!(error.to_string().contains("no private key"), "{error}");
    }

    #[test]
    fn the_fingerprint_is_sha256_of_the_der() {
        let cert = Certificate::from_der(b"abc".to_vec());
        // SHA-256 of "abc".
        assert!(
            cert.fingerprint()
                .to_string()
                .starts_with("BA:78:16:BF:8F:01:CF:EA")
        );
    }
}
