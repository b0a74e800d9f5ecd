//! The TLS transport: echoes over TLS on TCP and Unix sockets, the certificate a server makes
//! for itself, and the typed errors of a client that must not trust what it is shown.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;

use socket_echo::{
    EchoClient, EchoServer, Error, Identity, Options, Tcp, Tls, TlsFailure, TlsOptions, Unix,
};

fn trusting(server_cert: &socket_echo::Certificate) -> Options {
    Options::new().with_tls(TlsOptions::new().with_trusted(server_cert.clone()))
}

fn socket_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tls-{name}-{}.sock", std::process::id()))
}

#[test]
fn serve_once_echoes_over_tls_on_tcp() {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let options = trusting(server.certificate());
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let mut client = EchoClient::connect_on_with(Tls::over(Tcp), addr, options).unwrap();
    assert_eq!(
        &client.echo(b"Hola, soy el cliente").unwrap()[..],
        b"Hola, soy el cliente"
    );
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(client.echo(&big).unwrap(), big);
    drop(client);
    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.bytes_echoed(), 20 + big.len() as u64);
}

#[test]
fn serve_once_echoes_over_tls_on_unix() {
    let path = socket_path("once");
    let server = EchoServer::bind_on(Tls::over(Unix), &path).unwrap();
    let options = trusting(server.certificate());
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let mut client = EchoClient::connect_on_with(Tls::over(Unix), addr, options).unwrap();
    assert_eq!(
        &client.echo(b"over a socket file").unwrap()[..],
        b"over a socket file"
    );
    drop(client);
    served.join().unwrap().unwrap();
}

#[test]
fn the_self_signed_certificate_names_localhost_and_the_address() {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let cert = server.certificate().clone();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    // Verified by the name `localhost` rather than the IP the address gives.
    let options = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(cert)
            .with_server_name("localhost"),
    );
    let mut client = EchoClient::connect_on_with(Tls::over(Tcp), addr, options).unwrap();
    assert_eq!(&client.echo(b"by name").unwrap()[..], b"by name");
    drop(client);
    served.join().unwrap().unwrap();
}

#[test]
fn a_client_given_nothing_to_trust_is_refused_before_connecting() {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let error = EchoClient::connect_on(Tls::over(Tcp), server.local_addr()).unwrap_err();
    match error {
        Error::InvalidOption {
            option: "tls",
            reason,
        } => {
            assert!(reason.contains("with_trusted"), "{reason}")
        }
        other => panic!("expected the tls option refused, got {other:?}"),
    }
}

/// Connects a client that trusts `options`' certificate to a server spawned on another
/// thread, and returns the client's error and the server's.
fn handshake_failure(options: Options) -> (Error, Error) {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let client = EchoClient::connect_on_with(Tls::over(Tcp), addr, options).unwrap_err();
    (client, served.join().unwrap().unwrap_err())
}

fn reason(error: &Error) -> &TlsFailure {
    match error {
        Error::Tls { reason, .. } => reason,
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}

#[test]
fn a_certificate_from_another_issuer_is_unknown_issuer() {
    let stranger = Identity::self_signed(&["127.0.0.1"]).unwrap();
    let (client, server) = handshake_failure(trusting(stranger.certificate()));
    assert_eq!(reason(&client), &TlsFailure::UnknownIssuer);
    // The server hears the client's alert.
    assert!(
        matches!(reason(&server), TlsFailure::AlertReceived(_)),
        "{server:?}"
    );
}

#[test]
fn a_certificate_for_another_name_is_a_name_mismatch() {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let options = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(server.certificate().clone())
            .with_server_name("echo.example"),
    );
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let error = EchoClient::connect_on_with(Tls::over(Tcp), addr, options).unwrap_err();
    assert_eq!(reason(&error), &TlsFailure::NameMismatch);
    assert!(served.join().unwrap().is_err());
}

#[test]
fn plaintext_on_a_tls_port_is_refused_and_never_echoed() {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let mut plain = TcpStream::connect(addr).unwrap();
    plain.set_read_timeout(Some(util::GENEROUS)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.windows(3).any(|w| w == b"GET"),
        "the plaintext came back: {answer:?}"
    );
    let error = served.join().unwrap().unwrap_err();
    assert_eq!(reason(&error), &TlsFailure::NotTls);
}

#[test]
fn tls_options_are_refused_by_plain_transports() {
    let options = Options::new().with_tls(TlsOptions::new());
    let error = EchoServer::bind_with("127.0.0.1:0", options).unwrap_err();
    assert!(
        matches!(error, Error::InvalidOption { option: "tls", .. }),
        "{error:?}"
    );
}

#[test]
fn a_given_identity_is_presented() {
    let identity = Identity::self_signed(&["127.0.0.1"]).unwrap();
    let options = Options::new().with_tls(TlsOptions::new().with_identity(identity.clone()));
    let server = EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", options).unwrap();
    assert_eq!(server.certificate(), identity.certificate());
}

/// A TLS server whose handshake timeout (300 ms) is far shorter than its read timeout.
fn short_handshake_server() -> EchoServer<Tls<Tcp>> {
    let options = Options::new()
        .with_read_timeout(Some(util::GENEROUS))
        .with_tls(TlsOptions::new().with_handshake_timeout(std::time::Duration::from_millis(300)));
    EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", options).unwrap()
}

#[test]
fn serve_once_ends_a_stalled_handshake_at_the_handshake_timeout_as_serve_does() {
    // The read timeout is the longer: the handshake's own timeout must end the wait, and
    // be named as such, as `serve()` counts it.
    let server = short_handshake_server();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    // Half a ClientHello: a record header announcing 512 bytes, and 5 of them; then nothing.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03])
        .unwrap();
    let error = served.join().unwrap().unwrap_err();
    assert_eq!(reason(&error), &TlsFailure::HandshakeTimeout, "{error:?}");
}

#[test]
fn serve_once_keeps_its_read_timeout_once_the_handshake_is_over() {
    // A short handshake timeout must not become the echo's read timeout: a client that
    // waits longer than it between two messages is still served.
    let server = short_handshake_server();
    let client = trusting(server.certificate());
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let mut echo = EchoClient::connect_on_with(Tls::over(Tcp), addr, client).unwrap();
    assert_eq!(&echo.echo(b"first").unwrap()[..], b"first");
    // Past the handshake's deadline (no sleep stands in for synchronisation here: the
    // wait is the behaviour under test).
    thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(&echo.echo(b"second").unwrap()[..], b"second");
    drop(echo);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 11);
}

/// A fresh Linux abstract name for this test: `@socket-echo-tls-NAME-PID`.
#[cfg(target_os = "linux")]
fn abstract_name(name: &str) -> String {
    format!("@socket-echo-tls-{name}-{}", std::process::id())
}

#[cfg(target_os = "linux")]
#[test]
fn tls_on_an_abstract_unix_name_serves_once_and_spawns() {
    let name = abstract_name("abstract");
    let server = EchoServer::bind_on(Tls::over(Unix), name.as_str()).unwrap();
    assert_eq!(server.local_addr().to_string(), name);
    let options = trusting(server.certificate());
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let mut client =
        EchoClient::connect_on_with(Tls::over(Unix), addr.clone(), options.clone()).unwrap();
    assert_eq!(
        &client.echo(b"no file behind it").unwrap()[..],
        b"no file behind it"
    );
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 17);

    // The name is free again once its server is gone: serve() on it.
    let server = EchoServer::bind_on(Tls::over(Unix), name.as_str()).unwrap();
    let options = trusting(server.certificate());
    let handle = server.spawn().unwrap();
    // A live server's name is refused to another, which leaves it untouched.
    let second = EchoServer::bind_on(Tls::over(Unix), name.as_str()).unwrap_err();
    assert_eq!(
        second.io_kind(),
        Some(std::io::ErrorKind::AddrInUse),
        "{second:?}"
    );
    for round in 0..3u8 {
        let mut client =
            EchoClient::connect_on_with(Tls::over(Unix), handle.local_addr(), options.clone())
                .unwrap();
        assert_eq!(&client.echo(&[round; 100]).unwrap()[..], &[round; 100]);
    }
    handle.shutdown();
    let stats = handle.join().unwrap();
    assert_eq!((stats.tls.handshakes, stats.tls.failed()), (3, 0));
    EchoServer::bind_on(Tls::over(Unix), name.as_str()).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn tls_on_an_abstract_unix_name_refuses_a_client_that_trusts_another() {
    let name = abstract_name("untrusted");
    let server = EchoServer::bind_on(Tls::over(Unix), name.as_str()).unwrap();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let other = Identity::self_signed(&["localhost"]).unwrap();
    let error = EchoClient::connect_on_with(Tls::over(Unix), addr, trusting(other.certificate()))
        .unwrap_err();
    assert_eq!(reason(&error), &TlsFailure::UnknownIssuer);
    assert!(served.join().unwrap().is_err());
}
