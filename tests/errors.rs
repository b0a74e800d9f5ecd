//! Every error the library reports, each from a real fault: ports in use, nothing
//! listening, bad addresses, refused options, and servers that answer wrong, short or not at
//! all. Each checks the variant's fields, its message and its `source()`.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Error, Keepalive, Options, Udp};
use util::{
    GENEROUS, SHORT, assert_io_source, assert_names, impatient, impatient_datagram, payload,
};

/// A one-connection TCP server on a thread that treats its client with `behaviour`.
fn fake_tcp_server(
    addr: SocketAddr,
    behaviour: impl FnOnce(TcpStream) + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind(addr).unwrap();
    let local = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(GENEROUS)).unwrap();
        behaviour(stream);
    });
    (local, handle)
}

/// RELIABILITY 17: a second server on a port in use names the address; TCP and UDP.
fn port_in_use(addr: SocketAddr) {
    let tcp = EchoServer::bind(addr).unwrap();
    match EchoServer::bind(tcp.local_addr()) {
        Err(error @ Error::Bind { .. }) => {
            let Error::Bind {
                transport, addr, ..
            } = &error
            else {
                unreachable!()
            };
            assert_eq!((*transport, addr.as_ip()), ("tcp", Some(tcp.local_addr())));
            assert_io_source(&error, ErrorKind::AddrInUse);
            assert_names(&error, &tcp.local_addr().to_string());
        }
        other => panic!("expected Bind, got {other:?}"),
    }
    let udp = EchoServer::bind_on(Udp, addr).unwrap();
    match EchoServer::bind_on(Udp, udp.local_addr()) {
        Err(
            error @ Error::Bind {
                transport: "udp", ..
            },
        ) => {
            assert_io_source(&error, ErrorKind::AddrInUse);
            assert_names(&error, &udp.local_addr().to_string());
        }
        other => panic!("expected Bind, got {other:?}"),
    }
}

/// RELIABILITY 25: nothing listening is refused at once, naming the address.
fn nothing_listening(addr: SocketAddr) {
    let free = TcpListener::bind(addr).unwrap().local_addr().unwrap();
    match EchoClient::connect(free) {
        Err(error @ Error::Connect { .. }) => {
            assert!(matches!(&error, Error::Connect { addr, .. } if *addr == free));
            assert_io_source(&error, ErrorKind::ConnectionRefused);
            assert_names(&error, &free.to_string());
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

/// RELIABILITY 23: different bytes back give `Mismatch` at the first differing offset.
fn tcp_mismatch(addr: SocketAddr) {
    let message = payload(5000, 30);
    let len = message.len();
    let (server, handle) = fake_tcp_server(addr, move |mut stream| {
        let mut received = vec![0; len];
        stream.read_exact(&mut received).unwrap();
        received[4321] ^= 0xFF;
        stream.write_all(&received).unwrap();
        let _ = stream.read_to_end(&mut Vec::new()); // until the client closes
    });
    let mut client = EchoClient::connect(server).unwrap();
    match client.echo(&message) {
        Err(error @ Error::Mismatch { .. }) => {
            let Error::Mismatch { addr, offset, sent } = &error else {
                unreachable!()
            };
            assert_eq!((addr.as_ip(), *offset, *sent), (Some(server), 4321, 5000));
            assert_names(&error, "byte 4321");
            assert!(std::error::Error::source(&error).is_none());
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
    drop(client);
    handle.join().unwrap();
}

/// RELIABILITY 24: the tutorial's server.py reads 1024 bytes, sends them back and closes.
/// Closing with the rest of the message unread makes the system reset the connection, so a
/// 3000-byte message gets `Reset` with both counts, not a hang.
fn tcp_short_echo_like_server_py(addr: SocketAddr) {
    let (server, handle) = fake_tcp_server(addr, |mut stream| {
        let mut data = [0u8; 1024];
        stream.read_exact(&mut data).unwrap();
        stream.write_all(&data).unwrap();
    });
    let mut client = EchoClient::connect(server).unwrap();
    match client.echo(&payload(3000, 31)) {
        Err(
            ref error @ Error::Reset {
                ref addr,
                sent,
                received,
                ..
            },
        ) => {
            assert_eq!((addr.as_ip(), sent, received), (Some(server), 3000, 1024));
            assert_names(error, "sent 3000 bytes, received 1024");
            assert_io_source(error, ErrorKind::ConnectionReset);
        }
        other => panic!("expected Reset, got {other:?}"),
    }
    handle.join().unwrap();
}

/// RELIABILITY 24, with a server that ends its stream cleanly after echoing 1024 bytes (it
/// reads everything first, so the system sends an end-of-stream, not a reset): `ShortEcho`
/// with both counts.
fn tcp_short_echo_after_a_clean_close(addr: SocketAddr) {
    let (server, handle) = fake_tcp_server(addr, |mut stream| {
        let mut data = [0u8; 3000];
        stream.read_exact(&mut data).unwrap();
        stream.write_all(&data[..1024]).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        // Until the client closes: closing with its input unread would reset it.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    let mut client = EchoClient::connect(server).unwrap();
    match client.echo(&payload(3000, 31)) {
        Err(error @ Error::ShortEcho { .. }) => {
            let Error::ShortEcho {
                addr,
                sent,
                received,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!((addr.as_ip(), *sent, *received), (Some(server), 3000, 1024));
            assert_names(&error, "sent 3000 bytes, received 1024");
        }
        other => panic!("expected ShortEcho, got {other:?}"),
    }
    drop(client);
    handle.join().unwrap();
}

/// A TCP server that reads but never answers: `Timeout` after the read timeout.
fn tcp_silent_server(addr: SocketAddr) {
    let (release, released) = mpsc::channel::<()>();
    let (server, handle) = fake_tcp_server(addr, move |mut stream| {
        let mut buffer = [0u8; 64];
        let _ = stream.read(&mut buffer);
        let _ = released.recv_timeout(GENEROUS);
    });
    let mut client = EchoClient::connect_with(server, impatient()).unwrap();
    match client.echo(b"anyone there?") {
        Err(error @ Error::Timeout { .. }) => {
            let Error::Timeout {
                addr,
                timeout,
                attempts,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!(
                (addr.as_ip(), *timeout, *attempts),
                (Some(server), SHORT, 1)
            );
            assert_names(&error, &server.to_string());
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    release.send(()).unwrap();
    handle.join().unwrap();
}

/// RELIABILITY 16: a UDP server that never answers: `Timeout` after 1 + retries attempts,
/// each of which really sent the message.
fn udp_silent_server(addr: SocketAddr) {
    let silent = UdpSocket::bind(addr).unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let options = impatient().with_resends(2);
    let mut client = EchoClient::connect_on_with(Udp, silent_addr, options).unwrap();
    match client.echo(b"hello?") {
        Err(error @ Error::Timeout { .. }) => {
            let Error::Timeout {
                addr,
                timeout,
                attempts,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!(
                (addr.as_ip(), *timeout, *attempts),
                (Some(silent_addr), SHORT, 3)
            );
            assert_names(&error, "3 attempt(s)");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    silent.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 64];
    let sent = (0..10)
        .take_while(|_| silent.recv(&mut buffer).is_ok())
        .count();
    assert_eq!(sent, 3, "one datagram per attempt");
}

/// RELIABILITY 23: a UDP server that only ever answers wrong: `Mismatch`, not `Timeout`.
fn udp_wrong_replies(addr: SocketAddr) {
    let fake = UdpSocket::bind(addr).unwrap();
    fake.set_read_timeout(Some(GENEROUS)).unwrap();
    let fake_addr = fake.local_addr().unwrap();
    let options = impatient().with_resends(1);
    let handle = thread::spawn(move || {
        let mut buffer = [0u8; 64];
        for _ in 0..2 {
            let (n, peer) = fake.recv_from(&mut buffer).unwrap();
            buffer[3] ^= 0xFF;
            fake.send_to(&buffer[..n], peer).unwrap();
        }
    });
    let mut client = EchoClient::connect_on_with(Udp, fake_addr, options).unwrap();
    match client.echo(b"0123456789") {
        Err(Error::Mismatch { addr, offset, sent }) => {
            assert_eq!((addr.as_ip(), offset, sent), (Some(fake_addr), 3, 10));
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
    handle.join().unwrap();
}

/// UDP to a closed port: the ICMP refusal gives `Connect`, or, where it is not reported,
/// the retries run out with `Timeout`.
fn udp_closed_port(addr: SocketAddr) {
    let closed = UdpSocket::bind(addr).unwrap().local_addr().unwrap();
    let mut client = EchoClient::connect_on_with(Udp, closed, impatient_datagram()).unwrap();
    match client.echo(b"nobody") {
        Err(error @ Error::Connect { .. }) => {
            assert_io_source(&error, ErrorKind::ConnectionRefused);
            assert_names(&error, &closed.to_string());
        }
        Err(Error::Timeout { addr, .. }) => assert_eq!(addr, closed),
        other => panic!("expected Connect or Timeout, got {other:?}"),
    }
}

both_families!(
    port_in_use,
    nothing_listening,
    tcp_mismatch,
    tcp_short_echo_like_server_py,
    tcp_short_echo_after_a_clean_close,
    tcp_silent_server,
    udp_silent_server,
    udp_wrong_replies,
    udp_closed_port,
);

/// RELIABILITY 22: a name that cannot resolve gives `Resolve` naming it, with the
/// resolver's error as source.
#[test]
fn unresolvable_address() {
    let name = "echo.nonexistent.invalid:7";
    let errors = [
        EchoClient::connect(name).err(),
        EchoClient::connect_on(Udp, name).err(),
        EchoServer::bind(name).err(),
        EchoServer::bind_on(Udp, name).err(),
    ];
    for error in errors {
        match error {
            Some(error @ Error::Resolve { .. }) => {
                assert_names(&error, "echo.nonexistent.invalid");
                let source = std::error::Error::source(&error).expect("a source");
                assert!(source.is::<std::io::Error>());
            }
            other => panic!("expected Resolve, got {other:?}"),
        }
    }
}

/// RELIABILITY 22: an address list that holds nothing gives `NoAddress`.
#[test]
fn address_resolving_to_nothing() {
    let nothing: &[SocketAddr] = &[];
    for error in [
        EchoClient::connect(nothing).err(),
        EchoServer::bind(nothing).err(),
    ] {
        match error {
            Some(error @ Error::NoAddress { .. }) => assert_names(&error, "[]"),
            other => panic!("expected NoAddress, got {other:?}"),
        }
    }
}

/// RELIABILITY 19: zero timeouts, zero sizes and out-of-range values are refused by every
/// constructor, naming the option, before any socket is made.
#[test]
fn invalid_options_are_refused() {
    let zero = Some(Duration::ZERO);
    let keepalive = |k: Keepalive| Options::new().with_keepalive(Some(k));
    let cases = [
        (Options::new().with_read_timeout(zero), "read_timeout"),
        (Options::new().with_write_timeout(zero), "write_timeout"),
        (Options::new().with_connect_timeout(zero), "connect_timeout"),
        (
            Options::new().with_recv_buffer_size(Some(0)),
            "recv_buffer_size",
        ),
        (
            Options::new().with_send_buffer_size(Some(0)),
            "send_buffer_size",
        ),
        (Options::new().with_buffer_size(0), "buffer_size"),
        (Options::new().with_backlog(0), "backlog"),
        (Options::new().with_ttl(Some(0)), "ttl"),
        (Options::new().with_ttl(Some(256)), "ttl"),
        (
            keepalive(Keepalive::new().with_time(Duration::ZERO)),
            "keepalive.time",
        ),
        (
            keepalive(Keepalive::new().with_interval(Duration::ZERO)),
            "keepalive.interval",
        ),
        (
            keepalive(Keepalive::new().with_time(Duration::from_millis(999))),
            "keepalive.time",
        ),
        (
            keepalive(Keepalive::new().with_interval(Duration::from_millis(500))),
            "keepalive.interval",
        ),
        (
            keepalive(Keepalive::new().with_probes(0)),
            "keepalive.probes",
        ),
    ];
    let addr = util::any_local_address();
    for (options, name) in cases {
        let results = [
            options.validate().err(),
            EchoServer::bind_with(addr, options.clone()).err(),
            EchoServer::bind_on_with(Udp, addr, options.clone()).err(),
            EchoClient::connect_with(addr, options.clone()).err(),
            EchoClient::connect_on_with(Udp, addr, options).err(),
        ];
        for result in results {
            match result {
                Some(error @ Error::InvalidOption { option, .. }) => {
                    assert_eq!(option, name);
                    assert_names(&error, &format!("`{name}`"));
                }
                other => panic!("expected InvalidOption for {name}, got {other:?}"),
            }
        }
    }
}

/// A value the kernel refuses (Linux caps `TCP_KEEPIDLE` at 32,767 seconds) gives
/// `SetOption` naming the option, with the system's error as source.
#[cfg(target_os = "linux")]
#[test]
fn option_refused_by_the_system() {
    let server = EchoServer::bind(util::any_local_address()).unwrap();
    let keepalive = Keepalive::new().with_time(Duration::from_secs(40_000));
    let options = Options::new().with_keepalive(Some(keepalive));
    match EchoClient::connect_with(server.local_addr(), options) {
        Err(
            error @ Error::SetOption {
                option: "keepalive",
                ..
            },
        ) => {
            assert_io_source(&error, ErrorKind::InvalidInput);
            assert_names(&error, "`keepalive`");
        }
        other => panic!("expected SetOption, got {other:?}"),
    }
}
