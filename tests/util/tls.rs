//! A raw rustls client, for tests that write TLS records themselves.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use socket_echo::Options;

use super::GENEROUS;

/// A rustls client session that trusts what `client` trusts (its first certificate) and
/// verifies `name`; nothing is sent yet.
pub fn raw_session(client: &Options, name: &str) -> rustls::ClientConnection {
    let trusted = client.tls().unwrap().trusted()[0].der().to_vec();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(trusted))
        .unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    rustls::ClientConnection::new(Arc::new(config), name).unwrap()
}

/// A [`raw_session`] that verifies `127.0.0.1`, and a TCP socket connected to `addr` with a
/// read timeout of [`GENEROUS`]; nothing is sent yet.
pub fn raw_client(client: &Options, addr: SocketAddr) -> (rustls::ClientConnection, TcpStream) {
    let session = raw_session(client, "127.0.0.1");
    let socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(GENEROUS)).unwrap();
    (session, socket)
}
