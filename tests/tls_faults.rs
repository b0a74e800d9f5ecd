//! TLS faults: a handshake that stalls, a reset during the handshake, a bad certificate on
//! demand, a close without `close_notify`, each seen by the crate's client as the typed error
//! it names, set and changed at run time on a spawned server and counted; the stream faults
//! apply to the plaintext of a TLS connection; a server that is not TLS refuses TLS faults.

mod util;

use std::io::ErrorKind;
use std::time::Duration;

use socket_echo::{
    BadCertificate, EchoClient, EchoServer, Error, Fault, Faults, HandshakeStall, Options,
    ServerHandle, Tcp, Tls, TlsFailure, TlsOptions, Unix,
};
use util::GENEROUS;

/// The handshake timeout of both ends in the stall tests: short, so a stall ends soon.
const HANDSHAKE: Duration = Duration::from_millis(300);
/// The server's handshake timeout there: longer, so the client's ends first.
const SERVER_HANDSHAKE: Duration = Duration::from_millis(900);

/// A spawned TLS server on loopback, and the client options that trust its certificate.
fn server() -> (ServerHandle<Tls<Tcp>>, Options) {
    let tls = TlsOptions::new().with_handshake_timeout(SERVER_HANDSHAKE);
    let server =
        EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", Options::new().with_tls(tls))
            .unwrap();
    let client = Options::new().with_read_timeout(Some(GENEROUS)).with_tls(
        TlsOptions::new()
            .with_trusted(server.certificate().clone())
            .with_handshake_timeout(HANDSHAKE),
    );
    (server.spawn().unwrap(), client)
}

fn connect(
    server: &ServerHandle<Tls<Tcp>>,
    client: &Options,
) -> socket_echo::Result<EchoClient<Tls<Tcp>>> {
    EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), client.clone())
}

fn set(server: &ServerHandle<Tls<Tcp>>, spec: &str) {
    server.set_faults(spec.parse().unwrap()).unwrap();
}

fn tls_reason(result: socket_echo::Result<impl std::fmt::Debug>) -> TlsFailure {
    match result {
        Err(Error::Tls { reason, .. }) => reason,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

fn echoes(server: &ServerHandle<Tls<Tcp>>, client: &Options) {
    let mut echo = connect(server, client).unwrap();
    assert_eq!(&echo.echo(b"well served").unwrap()[..], b"well served");
}

/// Waits until the server has closed `count` handshakes at its handshake timeout.
fn timed_out(server: &ServerHandle<Tls<Tcp>>, count: u64) {
    assert!(
        server
            .wait_until(|stats| stats.tls.handshake_timeout == count, GENEROUS)
            .is_some(),
        "the server never timed {count} stalled handshakes out: {:?}",
        server.stats().tls
    );
}

#[test]
fn each_bad_certificate_on_demand_is_the_client_error_it_names() {
    let (server, client) = server();
    echoes(&server, &client);
    for (which, reason) in [
        (BadCertificate::Expired, TlsFailure::Expired),
        (BadCertificate::NotYetValid, TlsFailure::NotYetValid),
        (BadCertificate::WrongName, TlsFailure::NameMismatch),
        (BadCertificate::Untrusted, TlsFailure::UnknownIssuer),
    ] {
        server
            .set_faults(Faults::new().with(Fault::tls_certificate(which)))
            .unwrap();
        assert_eq!(tls_reason(connect(&server, &client)), reason, "{which:?}");
        // Presented again from the configuration made the first time.
        assert_eq!(tls_reason(connect(&server, &client)), reason, "{which:?}");
    }
    server.set_faults(Faults::new()).unwrap();
    echoes(&server, &client);
    let stats = server.stats();
    assert_eq!(stats.faults.tls_bad_certificates, 8);
    assert_eq!(stats.tls.handshakes, 2);
}

#[test]
fn a_bad_certificate_with_a_probability_follows_the_seed() {
    let outcomes = || {
        let (server, client) = server();
        let faults: Faults = "tls-cert=expired,probability=0.5".parse().unwrap();
        server.set_faults(faults.with_seed(11)).unwrap();
        let seen: Vec<bool> = (0..12).map(|_| connect(&server, &client).is_ok()).collect();
        let failed = seen.iter().filter(|ok| !**ok).count() as u64;
        assert_eq!(server.stats().faults.tls_bad_certificates, failed);
        seen
    };
    let first = outcomes();
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    assert_eq!(outcomes(), first);
}

#[test]
fn a_truncation_after_the_echo_is_reported_never_a_clean_end() {
    let (server, client) = server();
    set(&server, "tls-truncate");
    let echo = connect(&server, &client).unwrap();
    let mut output = Vec::new();
    let result = echo.echo_from(&b"cut at the end"[..], &mut output);
    assert_eq!(tls_reason(result), TlsFailure::Truncated);
    assert_eq!(output, b"cut at the end");
    assert_eq!(server.stats().faults.tls_truncated, 1);
    // Changed at run time: the next connection ends cleanly again.
    server.set_faults(Faults::new()).unwrap();
    let echo = connect(&server, &client).unwrap();
    let mut output = Vec::new();
    assert_eq!(echo.echo_from(&b"whole"[..], &mut output).unwrap(), 5);
}

#[test]
fn a_truncation_after_n_bytes_cuts_the_echo_there() {
    let (server, client) = server();
    set(&server, "tls-truncate=100");
    let mut echo = connect(&server, &client).unwrap();
    assert_eq!(tls_reason(echo.echo(&[7u8; 300])), TlsFailure::Truncated);
    let stats = server.stats();
    assert_eq!(stats.faults.tls_truncated, 1);
    assert_eq!(stats.bytes_out, 100);
}

#[test]
fn a_handshake_stalled_after_the_client_hello_ends_at_the_handshake_timeout() {
    let (server, client) = server();
    server
        .set_faults(Faults::new().with(Fault::tls_stall(HandshakeStall::Hello)))
        .unwrap();
    // A client whose handshake timeout is the shorter ends it there.
    assert_eq!(
        tls_reason(connect(&server, &client)),
        TlsFailure::HandshakeTimeout
    );
    // One that waits longer is closed by the server at its own timeout: told, never served.
    let patient = client.clone().with_tls(
        client
            .tls()
            .unwrap()
            .clone()
            .with_handshake_timeout(GENEROUS),
    );
    assert!(connect(&server, &patient).is_err());
    timed_out(&server, 2);
    assert_eq!(server.stats().faults.tls_stalled, 2);
    server.set_faults(Faults::new()).unwrap();
    echoes(&server, &client);
}

#[test]
fn a_handshake_stalled_before_the_finished_never_serves_the_client() {
    let (server, client) = server();
    server
        .set_faults(Faults::new().with(Fault::tls_stall(HandshakeStall::Finished)))
        .unwrap();
    // TLS 1.3: the client's handshake is over once it has the server's whole flight and
    // has sent its Finished; the server never reads it, and never echoes.
    let short = client
        .clone()
        .with_read_timeout(Some(Duration::from_millis(200)));
    let mut echo = connect(&server, &short).unwrap();
    match echo.echo(b"never echoed") {
        Err(Error::Timeout { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    timed_out(&server, 1);
    let stats = server.stats();
    assert_eq!((stats.faults.tls_stalled, stats.tls.handshakes), (1, 0));
    server.set_faults(Faults::new()).unwrap();
    echoes(&server, &client);
}

#[test]
fn a_reset_during_the_handshake_is_a_reset() {
    let (server, client) = server();
    server
        .set_faults(Faults::new().with(Fault::tls_reset()))
        .unwrap();
    match connect(&server, &client) {
        Err(Error::Receive { source, .. }) => {
            assert_eq!(source.kind(), ErrorKind::ConnectionReset, "{source}")
        }
        other => panic!("expected a reset, got {other:?}"),
    }
    assert_eq!(server.stats().faults.tls_reset, 1);
    assert_eq!(server.stats().tls.handshakes, 0);
    server.set_faults(Faults::new()).unwrap();
    echoes(&server, &client);
}

#[test]
fn stream_faults_shape_the_plaintext_of_a_tls_connection() {
    let (server, client) = server();
    set(&server, "slice=7,pause=1ms");
    let mut echo = connect(&server, &client).unwrap();
    let message: Vec<u8> = (0..200u8).collect();
    assert_eq!(&echo.echo(&message).unwrap()[..], &message[..]);
    assert!(server.stats().faults.sliced > 0);

    // close-after counts plaintext bytes, and ends the session cleanly (close_notify).
    set(&server, "close-after=100");
    let mut echo = connect(&server, &client).unwrap();
    match echo.echo(&[3u8; 300]) {
        Err(Error::ShortEcho {
            sent: 300,
            received: 100,
            ..
        }) => {}
        other => panic!("expected a short echo of 100 bytes, got {other:?}"),
    }
    assert_eq!(server.stats().faults.closed, 1);
}

#[test]
fn tls_faults_apply_over_a_unix_stream_too() {
    let path = std::env::temp_dir().join(format!("tls-faults-{}.sock", std::process::id()));
    let server = EchoServer::bind_on(Tls::over(Unix), &path).unwrap();
    let client = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(server.certificate().clone())
            .with_server_name("localhost"),
    );
    let server = server
        .with_faults("tls-cert=wrong-name".parse().unwrap())
        .unwrap()
        .spawn()
        .unwrap();
    let error = EchoClient::connect_on_with(Tls::over(Unix), server.local_addr(), client);
    assert_eq!(tls_reason(error), TlsFailure::NameMismatch);
    assert_eq!(server.stats().faults.tls_bad_certificates, 1);
}

#[test]
fn a_server_that_is_not_tls_refuses_tls_faults() {
    let server = EchoServer::bind("127.0.0.1:0").unwrap();
    for spec in [
        "tls-stall=hello",
        "tls-reset=handshake",
        "tls-cert=expired",
        "tls-truncate",
    ] {
        match server.set_faults(spec.parse().unwrap()) {
            Err(Error::InvalidFault { fault, reason }) => {
                assert_eq!(fault, spec);
                assert!(reason.contains("only to a TLS server"), "{reason}");
            }
            other => panic!("{spec} accepted by a TCP server: {other:?}"),
        }
    }
    let handle = server.spawn().unwrap();
    assert!(matches!(
        handle.set_faults("tls-truncate=10".parse().unwrap()),
        Err(Error::InvalidFault { .. })
    ));
    assert!(handle.faults().is_empty());
    // The check a caller makes before it gives a server faults.
    let faults: Faults = "tls-cert=untrusted".parse().unwrap();
    assert!(faults.check::<Tls<Tcp>>().is_ok());
    assert!(faults.check::<Tls<Unix>>().is_ok());
    assert!(faults.check::<Tcp>().is_err());
}

/// What a rustls client reads of a handshake stalled `at` a point, until the server closes
/// it at its handshake timeout: the bytes, and whether they took the client through its own
/// handshake, the server's certificate verified.
fn first_flight(at: HandshakeStall) -> (Vec<u8>, bool) {
    use std::io::{Read, Write};
    let (server, client) = server();
    server
        .set_faults(Faults::new().with(Fault::tls_stall(at)))
        .unwrap();
    let (mut session, mut socket) = util::tls::raw_client(&client, server.local_addr());
    let mut hello = Vec::new();
    session.write_tls(&mut hello).unwrap();
    socket.write_all(&hello).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    timed_out(&server, 1);
    let mut rest = &answer[..];
    while !rest.is_empty() {
        session.read_tls(&mut rest).unwrap();
        session.process_new_packets().unwrap();
    }
    (answer, !session.is_handshaking())
}

#[test]
fn a_stall_at_hello_answers_nothing_and_one_at_finished_sends_the_whole_flight() {
    assert_eq!(first_flight(HandshakeStall::Hello), (Vec::new(), false));
    let (flight, verified) = first_flight(HandshakeStall::Finished);
    assert_eq!(flight[0], 0x16, "a handshake record first");
    assert!(verified, "the client did not get the server's whole flight");
}

/// A TLS server under `spec` serving one connection on a thread, and the result of a
/// patient client's connect to it: what `serve_once` returned, and what the client saw.
fn serve_once_under(
    spec: &str,
) -> (
    socket_echo::Result<socket_echo::Exchange<std::net::SocketAddr>>,
    socket_echo::Result<EchoClient<Tls<Tcp>>>,
) {
    let tls = TlsOptions::new().with_handshake_timeout(SERVER_HANDSHAKE);
    let server =
        EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", Options::new().with_tls(tls))
            .unwrap()
            .with_faults(spec.parse().unwrap())
            .unwrap();
    let client = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(server.certificate().clone())
            .with_handshake_timeout(GENEROUS),
    );
    let addr = server.local_addr();
    let served = std::thread::spawn(move || server.serve_once());
    let connected = EchoClient::connect_on_with(Tls::over(Tcp), addr, client);
    (served.join().unwrap(), connected)
}

#[test]
fn serve_once_applies_tls_faults_too() {
    let (served, connected) = serve_once_under("tls-cert=not-yet-valid");
    assert_eq!(tls_reason(connected), TlsFailure::NotYetValid);
    assert!(served.is_err());

    // A stalled handshake ends serve_once at the server's handshake timeout.
    let (served, connected) = serve_once_under("tls-stall=hello");
    assert!(connected.is_err());
    assert_eq!(tls_reason(served), TlsFailure::HandshakeTimeout);
}
