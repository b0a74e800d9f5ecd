//! TLS on the command line: the flags `ping`, `bench` and `send` share for a `tls://` or
//! `tls+unix:` address (what to trust, the name to verify, a client certificate), and the
//! reading of the PEM files `serve` and they name.
//!
//! The tool never trusts the system's roots: an echo server under test has a certificate of
//! its own (`serve --cert-out`), so a TLS address takes `--ca FILE`, or `--insecure`, which
//! verifies nothing and says so on every run.

use std::path::{Path, PathBuf};

use socket_echo::{Certificate, Endpoint, Identity, Options, TlsOptions};

use crate::flags::{Failure, report};

/// How a client of a TLS address trusts its server and proves who it is.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "TLS (tls:// and tls+unix: addresses)")]
pub struct ClientArgs {
    /// Trust the certificates in this PEM file (the server's own, as `serve --cert-out`
    /// writes it, or the CA that signed it); a TLS address needs this or --insecure.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    ca: Option<PathBuf>,
    /// The name the server's certificate must carry [default: the IP address the host
    /// resolves to; localhost for tls+unix:].
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// Present this certificate chain (PEM) to a server that asks for one (mutual TLS);
    /// with --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Accept any certificate, verifying nothing: anyone on the path can read and change
    /// the traffic (warned about on standard error on every run).
    #[arg(long)]
    insecure: bool,
    /// Offer this ALPN protocol (repeatable, or several separated by commas: "h2,http/1.1"),
    /// in order of preference; a server that accepts only others refuses the handshake
    /// [default: none offered].
    #[arg(long, value_name = "PROTO", value_parser = parse_alpn)]
    alpn: Vec<Alpn>,
}

/// ALPN protocols, as one `--alpn` takes them: names separated by commas, in order of
/// preference.
#[derive(Debug, Clone)]
pub struct Alpn(Vec<Vec<u8>>);

/// `tls` offering (a client) or accepting (a server) the protocols of every `--alpn`, in
/// the order given; unchanged with none.
pub fn with_alpn(tls: TlsOptions, alpn: &[Alpn]) -> TlsOptions {
    if alpn.is_empty() {
        return tls;
    }
    let protocols: Vec<&[u8]> = alpn
        .iter()
        .flat_map(|Alpn(protocols)| protocols.iter().map(Vec::as_slice))
        .collect();
    tls.with_alpn(&protocols)
}

/// `--alpn`'s value: protocols of 1 to 255 bytes each (RFC 7301), separated by commas.
pub fn parse_alpn(text: &str) -> Result<Alpn, String> {
    text.split(',')
        .map(|protocol| {
            if protocol.is_empty() || protocol.len() > 255 {
                Err(format!(
                    "an ALPN protocol is 1 to 255 bytes (\"h2\", \"http/1.1\"), \
                     not {protocol:?} ({} bytes)",
                    protocol.len()
                ))
            } else {
                Ok(protocol.as_bytes().to_vec())
            }
        })
        .collect::<Result<_, _>>()
        .map(Alpn)
}

impl ClientArgs {
    /// The flags given, by name.
    fn given(&self) -> Vec<&'static str> {
        [
            (self.ca.is_some(), "--ca"),
            (self.server_name.is_some(), "--server-name"),
            (self.cert.is_some(), "--cert"),
            (self.key.is_some(), "--key"),
            (self.insecure, "--insecure"),
            (!self.alpn.is_empty(), "--alpn"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }

    /// `options` with the TLS settings for `endpoint`: unchanged for a plain address (where
    /// any of these flags is a usage error), the trust and identity asked for a TLS one.
    pub fn apply(&self, endpoint: &Endpoint, options: Options) -> Result<Options, Failure> {
        if !endpoint.is_tls() {
            return match self.given().first() {
                Some(flag) => Err(Failure::usage(format!(
                    "{flag} applies to tls:// and tls+unix: addresses only, not to {}",
                    endpoint.transport()
                ))),
                None => Ok(options),
            };
        }
        let mut tls = TlsOptions::new();
        if self.insecure {
            warn_insecure();
            tls = tls.dangerous_accept_any_certificate();
        } else if let Some(path) = &self.ca {
            for certificate in certificates("--ca", path)? {
                tls = tls.with_trusted(certificate);
            }
        } else {
            return Err(Failure::usage(format!(
                "{endpoint} is a TLS address: give --ca FILE, the certificate to trust (`serve \
                 --cert-out FILE` writes it), or --insecure to verify nothing"
            )));
        }
        if let Some(name) = &self.server_name {
            tls = tls.with_server_name(name.clone());
        }
        if let Some(identity) = identity(self.cert.as_deref(), self.key.as_deref())? {
            tls = tls.with_identity(identity);
        }
        Ok(options.with_tls(with_alpn(tls, &self.alpn)))
    }
}

/// Says on standard error that nothing is verified: on every run, `-q` or not.
fn warn_insecure() {
    const WARNING: &str = "--insecure: the server's certificate is not verified; anyone on \
                           the path can read and change this traffic";
    if log::log_enabled!(log::Level::Warn) {
        log::warn!("{WARNING}");
    } else {
        eprintln!("warning: {WARNING}");
    }
}

/// The certificates of a PEM file named by `flag`; a file that cannot be read or holds
/// none is a usage error naming the flag.
pub fn certificates(flag: &str, path: &Path) -> Result<Vec<Certificate>, Failure> {
    Certificate::from_pem_file(path)
        .map_err(|error| Failure::usage(format!("{flag}: {}", report(&error))))
}

/// The chain and key of `--cert` and `--key` (clap requires both or neither).
pub fn identity(cert: Option<&Path>, key: Option<&Path>) -> Result<Option<Identity>, Failure> {
    match (cert, key) {
        (Some(cert), Some(key)) => Identity::from_pem_files(cert, key)
            .map(Some)
            .map_err(|error| Failure::usage(format!("--cert/--key: {}", report(&error)))),
        _ => Ok(None),
    }
}
