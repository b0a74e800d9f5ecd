//! TLS under `serve()`: handshakes driven inside the event loop, counted by outcome; a
//! handshake that stalls times out without holding a worker, as do a ClientHello sent a byte
//! at a time and a thousand handshakes left half done; bad input is refused and counted
//! while other clients' echoes go on; `max_connections` holds; a shutdown ends sessions with
//! `close_notify`, except one still owed its echo, which never gets a clean TLS end.

mod transports;
mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use socket_echo::{
    EchoClient, EchoServer, Error, Options, ServerHandle, Tcp, Tls, TlsFailure, TlsOptions, Unix,
};
use transports::{Place, Site};
use util::GENEROUS;

/// A spawned TLS server on loopback with one worker (so a stalled handshake would hold the
/// only one), and the client options that trust it.
fn server_with(tls: TlsOptions) -> (ServerHandle<Tls<Tcp>>, Options) {
    let options = Options::new()
        .with_workers(Some(1.try_into().unwrap()))
        .with_tls(tls);
    let server = EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", options).unwrap();
    let client =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    (server.spawn().unwrap(), client)
}

fn echo_once(server: &ServerHandle<Tls<Tcp>>, client: &Options, message: &[u8]) {
    let mut client =
        EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), client.clone()).unwrap();
    assert_eq!(&client.echo(message).unwrap()[..], message);
}

#[test]
fn handshakes_are_counted() {
    let (server, client) = server_with(TlsOptions::new());
    for i in 0..3u8 {
        echo_once(&server, &client, &[i; 100]);
    }
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.tls.handshakes, 3);
    assert_eq!(stats.tls.failed(), 0);
    assert_eq!((stats.bytes_in, stats.bytes_out), (300, 300));
}

#[test]
fn a_stalled_handshake_times_out_without_holding_the_worker() {
    let (server, client) =
        server_with(TlsOptions::new().with_handshake_timeout(Duration::from_millis(300)));
    // Half a ClientHello: a record header announcing 512 bytes, and 5 of them.
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03])
        .unwrap();
    // Meanwhile, on the only worker, another client is served.
    echo_once(&server, &client, b"not held up");
    assert!(
        server
            .wait_until(|stats| stats.tls.handshake_timeout == 1, GENEROUS)
            .is_some(),
        "the stalled handshake never timed out: {:?}",
        server.stats().tls
    );
    // The server closed it: the stalled client reads the end (or a reset), never an echo.
    stalled.set_read_timeout(Some(GENEROUS)).unwrap();
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest);
    assert!(rest.is_empty() || rest[0] == 0x15, "not an alert: {rest:?}");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.tls.handshakes, 1);
}

#[test]
fn plaintext_and_noise_are_refused_and_counted_while_echoes_go_on() {
    let (server, client) = server_with(TlsOptions::new());
    let mut http = TcpStream::connect(server.local_addr()).unwrap();
    http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut noise = TcpStream::connect(server.local_addr()).unwrap();
    noise
        .write_all(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0x04])
        .unwrap();
    echo_once(&server, &client, b"still served");
    assert!(
        server
            .wait_until(|stats| stats.tls.not_tls == 2, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats().tls
    );
    for mut peer in [http, noise] {
        peer.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut answer = Vec::new();
        let _ = peer.read_to_end(&mut answer);
        assert!(!answer.windows(3).any(|w| w == b"GET"), "{answer:?}");
        assert!(
            !answer.windows(4).any(|w| w == [0xde, 0xad, 0xbe, 0xef]),
            "{answer:?}"
        );
    }
    server.shutdown();
    assert_eq!(server.join().unwrap().tls.handshakes, 1);
}

#[test]
fn a_client_that_does_not_trust_the_server_is_counted_by_the_server() {
    let (server, _) = server_with(TlsOptions::new());
    let stranger = socket_echo::Identity::self_signed(&["127.0.0.1"]).unwrap();
    let options =
        Options::new().with_tls(TlsOptions::new().with_trusted(stranger.certificate().clone()));
    let error =
        EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), options).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Tls {
                reason: TlsFailure::UnknownIssuer,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        server
            .wait_until(|stats| stats.tls.alert_received == 1, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats().tls
    );
}

#[test]
fn a_server_that_goes_down_comes_back_with_the_same_certificate() {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let client =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    let server = server.spawn().unwrap();
    echo_once(&server, &client, b"before");
    server.down(socket_echo::Down::Reset).unwrap();
    server.up().unwrap();
    echo_once(&server, &client, b"after");
    server.shutdown();
    assert_eq!(server.join().unwrap().tls.handshakes, 2);
}

#[test]
fn serve_over_tls_on_unix_echoes_a_large_message() {
    let path = std::env::temp_dir().join(format!("tls-serve-{}.sock", std::process::id()));
    let server = EchoServer::bind_on(Tls::over(Unix), &path).unwrap();
    let options =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    let server = server.spawn().unwrap();
    let mut client =
        EchoClient::connect_on_with(Tls::over(Unix), server.local_addr(), options).unwrap();
    let big: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(client.echo(&big).unwrap(), big);
    drop(client);
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.bytes_out, big.len() as u64);
}

/// A client that sends its last bytes and its `close_notify` in one segment (as socat does
/// when its input ends) gets its echo and the server's own `close_notify`: the server, which
/// read both in one read of the socket, ends the session then, rather than wait for an edge
/// of readiness that no byte will raise.
#[test]
fn the_last_bytes_and_close_notify_in_one_segment_get_their_echo_and_the_end() {
    let (server, client) = server_with(TlsOptions::new());
    let (mut tls, mut socket) = util::tls::raw_client(&client, server.local_addr());
    while tls.is_handshaking() {
        tls.complete_io(&mut socket).unwrap();
    }
    tls.writer().write_all(b"the last words").unwrap();
    tls.send_close_notify();
    let mut records = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut records).unwrap();
    }
    // One write of the socket: one segment on loopback, read by the server in one read.
    socket.write_all(&records).unwrap();
    let mut echoed = Vec::new();
    let end = rustls::Stream::new(&mut tls, &mut socket).read_to_end(&mut echoed);
    assert!(
        end.is_ok(),
        "no clean end after the echo of {:?} (got {echoed:?}): {end:?}",
        "the last words"
    );
    assert_eq!(echoed, b"the last words");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!((stats.bytes_in, stats.bytes_out), (14, 14));
}

#[test]
fn handshakes_are_counted_by_the_alpn_protocol_agreed() {
    let (server, client) =
        server_with(TlsOptions::new().with_alpn(&[b"h2", b"http/1.1", b"x-other"]));
    let offering = |protocols: &[&[u8]]| {
        let tls = client.tls().unwrap().clone().with_alpn(protocols);
        client.clone().with_tls(tls)
    };
    echo_once(&server, &offering(&[b"h2"]), b"h2");
    echo_once(&server, &offering(&[b"h2c", b"http/1.1"]), b"http/1.1");
    echo_once(&server, &offering(&[b"x-other"]), b"x-other");
    echo_once(&server, &offering(&[b"x-other"]), b"x-other again");
    echo_once(&server, &client, b"no alpn offered");
    // Offering only protocols the server does not accept fails the handshake.
    let refused =
        EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), offering(&[b"h2c"]))
            .and_then(|mut client| client.echo(b"refused"));
    assert!(refused.is_err(), "{refused:?}");
    assert!(
        server
            .wait_until(|stats| stats.tls.failed() == 1, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats().tls
    );
    server.shutdown();
    let tls = server.join().unwrap().tls;
    assert_eq!(tls.handshakes, 5);
    assert_eq!(
        (
            tls.alpn_h2,
            tls.alpn_http_1_1,
            tls.alpn_other,
            tls.alpn_none
        ),
        (1, 1, 2, 1),
        "{tls:?}"
    );
}

#[test]
fn a_server_without_alpn_counts_every_handshake_as_none() {
    let (server, client) = server_with(TlsOptions::new());
    let tls = client.tls().unwrap().clone().with_alpn(&[b"h2"]);
    echo_once(
        &server,
        &client.clone().with_tls(tls),
        b"offered, not agreed",
    );
    echo_once(&server, &client, b"not offered");
    server.shutdown();
    let tls = server.join().unwrap().tls;
    assert_eq!(
        (tls.handshakes, tls.alpn_none, tls.alpn_h2),
        (2, 2, 0),
        "{tls:?}"
    );
}

/// RELIABILITY 45: a handshake sent one byte at a time is not kept alive by its bytes. The
/// handshake timeout counts from the accept, so the server ends it, counted as timed out,
/// before the ClientHello is whole, while another client is served on the only worker.
#[test]
fn a_client_hello_sent_a_byte_at_a_time_ends_at_the_handshake_timeout() {
    let (server, client) =
        server_with(TlsOptions::new().with_handshake_timeout(Duration::from_millis(300)));
    let (mut tls, mut socket) = util::tls::raw_client(&client, server.local_addr());
    let mut hello = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut hello).unwrap();
    }
    echo_once(&server, &client, b"served meanwhile");
    // A byte every 20 ms: the whole ClientHello (over 200 bytes) would take seconds, and
    // each byte arrives long before the last one's turn would time anything out.
    let mut sent = 0;
    for byte in &hello {
        if server.stats().tls.handshake_timeout == 1 || socket.write_all(&[*byte]).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        sent < hello.len(),
        "the whole ClientHello ({} bytes) went out a byte at a time and the handshake was not \
         timed out: {:?}",
        hello.len(),
        server.stats().tls
    );
    assert!(
        server
            .wait_until(|stats| stats.tls.handshake_timeout == 1, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats().tls
    );
    // The server closed it: the client reads the end, an alert or a reset, never an answer
    // to its handshake.
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest);
    assert!(rest.is_empty() || rest[0] == 0x15, "not an alert: {rest:?}");
    echo_once(&server, &client, b"still served");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(
        (stats.tls.handshakes, stats.tls.failed()),
        (2, 1),
        "{:?}",
        stats.tls
    );
}

/// RELIABILITY 45: a thousand handshakes left half done (half a ClientHello each, then
/// nothing) hold no worker: another client is served while they wait, and each is ended at
/// the handshake timeout and counted.
#[test]
fn a_thousand_half_done_handshakes_time_out_while_echoes_go_on() {
    const STALLED: u64 = 1000;
    // Both ends of every connection are in this process.
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    let wanted = 4 * STALLED + 256;
    if soft < wanted {
        rlimit::setrlimit(rlimit::Resource::NOFILE, wanted.min(hard), hard).unwrap();
    }
    let (server, client) =
        server_with(TlsOptions::new().with_handshake_timeout(Duration::from_secs(2)));
    // Half a ClientHello: a record header announcing 512 bytes, and 5 of them.
    let half = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03];
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut socket = TcpStream::connect(server.local_addr()).unwrap();
        socket.write_all(&half).unwrap();
        stalled.push(socket);
    }
    echo_once(&server, &client, b"served while a thousand wait");
    assert!(
        server
            .wait_until(|stats| stats.tls.handshake_timeout == STALLED, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats()
    );
    echo_once(&server, &client, b"and after");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.tls.handshakes, 2, "{:?}", stats.tls);
    assert_eq!(stats.tls.failed(), STALLED, "{:?}", stats.tls);
    assert_eq!(stats.accepted, STALLED + 2, "{stats:?}");
}

/// `max_connections` over TLS: the connection beyond it is closed before any handshake (the
/// client's connect fails, and the server counts it refused), the others go on, and a freed
/// slot is taken again.
#[test]
fn the_tls_connection_beyond_max_connections_is_refused_and_a_freed_slot_is_reused() {
    let options = Options::new()
        .with_max_connections(2)
        .with_tls(TlsOptions::new());
    let server = EchoServer::bind_on_with(Tls::over(Tcp), "127.0.0.1:0", options).unwrap();
    let trust =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    let server = server.spawn().unwrap();
    let connect =
        || EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), trust.clone());
    let mut first = connect().unwrap();
    let mut second = connect().unwrap();
    assert_eq!(&first.echo(b"one").unwrap()[..], b"one");
    assert_eq!(&second.echo(b"two").unwrap()[..], b"two");
    match connect() {
        Err(Error::Tls { .. } | Error::Connect { .. } | Error::Receive { .. }) => {}
        other => panic!("the third connection got {other:?}"),
    }
    assert!(
        server
            .wait_until(|stats| stats.refused == 1, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats()
    );
    assert_eq!(&first.echo(b"still").unwrap()[..], b"still");
    drop(second);
    assert!(
        server
            .wait_until(|stats| stats.active == 1, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats()
    );
    let mut third = connect().unwrap();
    assert_eq!(&third.echo(b"again").unwrap()[..], b"again");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!((stats.tls.handshakes, stats.refused), (3, 1), "{stats:?}");
}

/// RELIABILITY 29 and 46 over TLS: a client that sent everything, ended its side with
/// `close_notify` and left its echo unread is still owed bytes when the grace period ends.
/// The server counts it in `shutdown_resets`, and the client never reads a clean TLS end
/// after its cut echo: over a Unix socket, which cannot be reset, the end comes without
/// `close_notify` (a truncation).
#[test]
fn a_client_still_owed_its_echo_at_the_grace_end_never_gets_a_clean_tls_end() {
    let site = Site::new(Unix, Place::Path, "tls_owed");
    let path = std::path::PathBuf::from(site.text());
    // Small buffers, so most of the echo waits in the server.
    let options = Options::new()
        .with_shutdown_grace(Duration::from_millis(200))
        .with_connection_socket_buffers(Some(4096))
        .with_tls(TlsOptions::new());
    let server = EchoServer::bind_on_with(Tls::over(Unix), &path, options).unwrap();
    let trust =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    let server = server.spawn().unwrap();
    let mut tls = util::tls::raw_session(&trust, "localhost");
    let mut socket = std::os::unix::net::UnixStream::connect(&path).unwrap();
    socket.set_read_timeout(Some(GENEROUS)).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut socket).unwrap();
    }
    let message = vec![7u8; 40_000];
    tls.writer().write_all(&message).unwrap();
    tls.send_close_notify();
    while tls.wants_write() {
        tls.write_tls(&mut socket).unwrap();
    }
    socket.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(
        server
            .wait_until(|stats| stats.bytes_in == 40_000, GENEROUS)
            .is_some(),
        "not every byte read: {:?}",
        server.stats()
    );
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.shutdown_resets, 1, "{stats:?}");
    let mut echoed = Vec::new();
    let end = rustls::Stream::new(&mut tls, &mut socket).read_to_end(&mut echoed);
    assert!(
        echoed.len() < message.len(),
        "the whole echo came back: {stats:?}"
    );
    let error = end.expect_err("a clean TLS end after a cut echo");
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::UnexpectedEof,
        "after {} bytes: {error}",
        echoed.len()
    );
}
