//! `serve_once` and `EchoClient::echo` over every transport, each test written once: TCP over
//! IPv4 and IPv6, UDP over IPv4 and IPv6, Unix streams and Unix datagrams on a socket file and
//! on an abstract name. Round trips of every size, raw clients that chunk, half-close and
//! reset, datagrams answered to their exact source, and the errors a client reports against
//! servers that are gone, wrong, short or silent.

mod transports;
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use socket_echo::{
    Address, EchoClient, EchoServer, Endpoint, EndpointVisitor, Error, Options, ToAddrs, Transport,
};
use socket2::{SockRef, Socket, Type};
use transports::{DatagramKind, Kind, Site, StreamKind};
use util::{
    GENEROUS, Rng, SHORT, assert_io_source, assert_names, impatient, payload,
    serve_once_in_background,
};

/// One `echo` call of `len` random bytes; the server's exchange names the client, counts the
/// bytes and holds the first message (the whole datagram, or the first read of a stream).
fn round_trip<T: Kind>(site: &Site<T>, len: usize) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let message = payload(len, 1);
    let mut client = EchoClient::connect_on(site.transport, server_addr).unwrap();
    let echo = client.echo(&message).unwrap();
    assert_eq!(echo.len(), message.len());
    assert!(echo == message, "echo of {len} bytes differs");
    let client_addr = client.local_addr().unwrap();
    drop(client); // ends a stream exchange

    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.peer(), client_addr);
    assert_eq!(exchange.bytes_echoed(), len as u64);
    assert!(message.starts_with(exchange.first_message()));
    assert_eq!(exchange.first_message().is_empty(), len == 0);
    if T::TYPE == Type::DGRAM {
        assert!(exchange.first_message() == &message[..]);
    }
}

fn round_trip_0_bytes<T: Kind>(site: &Site<T>) {
    round_trip(site, 0);
}

fn round_trip_1_byte<T: Kind>(site: &Site<T>) {
    round_trip(site, 1);
}

fn round_trip_1_kib<T: Kind>(site: &Site<T>) {
    round_trip(site, 1024);
}

/// The largest UDP payload that fits an Ethernet frame.
fn round_trip_1472_bytes<T: DatagramKind>(site: &Site<T>) {
    round_trip(site, 1472);
}

fn round_trip_64_kib<T: StreamKind>(site: &Site<T>) {
    round_trip(site, 64 * 1024);
}

fn round_trip_1_mib<T: StreamKind>(site: &Site<T>) {
    round_trip(site, 1024 * 1024);
}

/// RELIABILITY 5: 16 MiB in one call, which deadlocks unless the client reads while writing.
fn round_trip_16_mib<T: StreamKind>(site: &Site<T>) {
    round_trip(site, 16 * 1024 * 1024);
}

/// RELIABILITY 17: a second server on an address in use (a port, a live server's socket
/// file, an abstract name) is refused, naming the transport and the address.
fn address_in_use<T: Kind>(site: &Site<T>) {
    let first = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let taken: Address = first.local_addr().into();
    match EchoServer::bind_on(site.transport, first.local_addr()) {
        Err(error @ Error::Bind { .. }) => {
            let Error::Bind {
                transport, addr, ..
            } = &error
            else {
                unreachable!()
            };
            assert_eq!((*transport, addr), (T::TRANSPORT, &taken));
            assert_io_source(&error, ErrorKind::AddrInUse);
            assert_names(&error, &taken.to_string());
        }
        other => panic!("expected Bind, got {other:?}"),
    }
}

/// RELIABILITY 25: nothing serving at the address (a freed port, a stale socket file, a
/// released name) is refused at once, naming the address. A UDP client learns of it only
/// from an ICMP error, which a system may not report: then its resends run out.
fn nothing_listening<T: Kind>(site: &Site<T>) {
    let free = transports::nothing_at(site);
    let free_addr: Address = free.clone().into();
    let result = EchoClient::connect_on_with(site.transport, free.clone(), impatient())
        .and_then(|mut client| client.echo(b"nobody"));
    match result {
        Err(error @ Error::Connect { .. }) => {
            assert!(matches!(&error, Error::Connect { addr, .. } if *addr == free_addr));
            assert_io_source(&error, ErrorKind::ConnectionRefused);
            assert_names(&error, &free_addr.to_string());
        }
        Err(Error::Timeout { addr, .. }) if site.place().is_ip() && T::TYPE == Type::DGRAM => {
            assert_eq!(addr, free_addr);
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

over_all!(
    round_trip_0_bytes,
    round_trip_1_byte,
    round_trip_1_kib,
    address_in_use,
    nothing_listening,
);

/// RELIABILITY 1: a raw client writes random-sized chunks on one thread while another reads;
/// what comes back equals what was sent, byte for byte.
fn random_chunks_from_a_raw_client<T: StreamKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let message = payload(3 * 1024 * 1024 + 17, 2);
    let reader = transports::connect::<T>(&server_addr);
    let writer = reader.try_clone().unwrap();
    let to_send = message.clone();
    let writing = thread::spawn(move || {
        let mut rng = Rng::new(3);
        let mut sent = 0;
        while sent < to_send.len() {
            let end = (sent + rng.range(1, 70_000)).min(to_send.len());
            (&writer).write_all(&to_send[sent..end]).unwrap();
            sent = end;
        }
        writer.shutdown(Shutdown::Write).unwrap();
    });

    let mut echo = Vec::with_capacity(message.len());
    (&reader).read_to_end(&mut echo).unwrap();
    writing.join().unwrap();
    assert_eq!(echo.len(), message.len());
    assert!(echo == message, "echo differs from the chunked message");
    assert_eq!(
        served.join().unwrap().unwrap().bytes_echoed(),
        message.len() as u64
    );
}

/// RELIABILITY 2: the client writes, shuts its write side, then reads: it gets every byte
/// and end-of-stream, and the server counts exactly what was sent.
fn half_close_echoes_everything_then_eof<T: StreamKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    // Small enough to sit in the socket buffers while nobody reads the echo yet.
    let message = payload(20_000, 4);
    let stream = transports::connect::<T>(&server_addr);
    (&stream).write_all(&message).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();

    let mut echo = Vec::new();
    (&stream).read_to_end(&mut echo).unwrap();
    assert!(echo == message, "echo differs after half-close");
    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.bytes_echoed(), message.len() as u64);
}

/// Several messages on one connection are each echoed; the exchange counts them all.
fn several_echoes_on_one_connection<T: StreamKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let mut client = EchoClient::connect_on(site.transport, server_addr).unwrap();
    let mut total = 0;
    for (seed, len) in [(5, 10), (6, 0), (7, 5000), (8, 1)] {
        let message = payload(len, seed);
        assert!(client.echo(&message).unwrap() == message);
        total += len as u64;
    }
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), total);
}

/// RELIABILITY 3: a client that resets the connection ends only its own exchange; the same
/// server then serves the next client. (A TCP client resets with `SO_LINGER` 0; a Unix
/// stream client that closes is gone, and the server's echo to it fails with a broken pipe.)
fn peer_reset_ends_only_that_connection<T: StreamKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();

    let resetting = transports::connect::<T>(&server_addr);
    resetting
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    (&resetting).write_all(&payload(1000, 9)).unwrap();
    drop(resetting); // TCP: SO_LINGER 0, so close sends RST

    match server.serve_once() {
        Err(Error::Receive { source, .. } | Error::Send { source, .. }) => assert!(
            matches!(
                source.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "unexpected error kind {source:?}"
        ),
        other => panic!("expected the reset to end the exchange, got {other:?}"),
    }

    let served = serve_once_in_background(server);
    let mut client = EchoClient::connect_on(site.transport, server_addr).unwrap();
    assert_eq!(&client.echo(b"still here").unwrap()[..], b"still here");
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 10);
}

/// A server serves clients one after another, each at the same address.
fn serves_clients_in_turn<T: StreamKind>(site: &Site<T>) {
    let options = Options::new().with_buffer_size(7);
    let server = EchoServer::bind_on_with(site.transport, site.addr(), options).unwrap();
    let server_addr = server.local_addr();
    let serving = thread::spawn(move || {
        (0..3)
            .map(|_| server.serve_once().unwrap().bytes_echoed())
            .collect::<Vec<_>>()
    });
    for len in [100, 200, 300] {
        let message = payload(len, 10);
        let mut client = EchoClient::connect_on(site.transport, server_addr.clone()).unwrap();
        assert!(client.echo(&message).unwrap() == message);
    }
    assert_eq!(serving.join().unwrap(), [100, 200, 300]);
}

/// A one-connection stream server on a thread that treats its client with `behaviour`.
fn fake_stream_server<T: StreamKind>(
    site: &Site<T>,
    behaviour: impl FnOnce(Socket) + Send + 'static,
) -> (T::Addr, JoinHandle<()>) {
    let (listener, addr) = transports::listen(site);
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(GENEROUS)).unwrap();
        behaviour(stream);
    });
    (addr, handle)
}

/// RELIABILITY 23: different bytes back give `Mismatch` at the first differing offset.
fn mismatch<T: StreamKind>(site: &Site<T>) {
    let message = payload(5000, 30);
    let len = message.len();
    let (server, handle) = fake_stream_server(site, move |stream| {
        let mut received = vec![0; len];
        (&stream).read_exact(&mut received).unwrap();
        received[4321] ^= 0xFF;
        (&stream).write_all(&received).unwrap();
        let _ = (&stream).read_to_end(&mut Vec::new()); // until the client closes
    });
    let server_addr: Address = server.clone().into();
    let mut client = EchoClient::connect_on(site.transport, server).unwrap();
    match client.echo(&message) {
        Err(error @ Error::Mismatch { .. }) => {
            let Error::Mismatch { addr, offset, sent } = &error else {
                unreachable!()
            };
            assert_eq!((addr, *offset, *sent), (&server_addr, 4321, 5000));
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
fn short_echo_like_server_py<T: StreamKind>(site: &Site<T>) {
    let (server, handle) = fake_stream_server(site, |stream| {
        let mut data = [0u8; 1024];
        (&stream).read_exact(&mut data).unwrap();
        (&stream).write_all(&data).unwrap();
    });
    let server_addr: Address = server.clone().into();
    let mut client = EchoClient::connect_on(site.transport, server).unwrap();
    match client.echo(&payload(3000, 31)) {
        Err(
            ref error @ Error::Reset {
                ref addr,
                sent,
                received,
                ..
            },
        ) => {
            assert_eq!((addr, sent, received), (&server_addr, 3000, 1024));
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
fn short_echo_after_a_clean_close<T: StreamKind>(site: &Site<T>) {
    let (server, handle) = fake_stream_server(site, |stream| {
        let mut data = [0u8; 3000];
        (&stream).read_exact(&mut data).unwrap();
        (&stream).write_all(&data[..1024]).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        // Until the client closes: closing with its input unread would reset it.
        let _ = std::io::copy(&mut &stream, &mut std::io::sink());
    });
    let server_addr: Address = server.clone().into();
    let mut client = EchoClient::connect_on(site.transport, server).unwrap();
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
            assert_eq!((addr, *sent, *received), (&server_addr, 3000, 1024));
            assert_names(&error, "sent 3000 bytes, received 1024");
        }
        other => panic!("expected ShortEcho, got {other:?}"),
    }
    drop(client);
    handle.join().unwrap();
}

/// A stream server that reads but never answers: `Timeout` after the read timeout.
fn silent_stream_server<T: StreamKind>(site: &Site<T>) {
    let (release, released) = mpsc::channel::<()>();
    let (server, handle) = fake_stream_server(site, move |stream| {
        let mut buffer = [0u8; 64];
        let _ = (&stream).read(&mut buffer);
        let _ = released.recv_timeout(GENEROUS);
    });
    let server_addr: Address = server.clone().into();
    let mut client = EchoClient::connect_on_with(site.transport, server, impatient()).unwrap();
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
            assert_eq!((addr, *timeout, *attempts), (&server_addr, SHORT, 1));
            assert_names(&error, &server_addr.to_string());
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    release.send(()).unwrap();
    handle.join().unwrap();
}

over_streams!(
    round_trip_64_kib,
    round_trip_1_mib,
    round_trip_16_mib,
    random_chunks_from_a_raw_client,
    half_close_echoes_everything_then_eof,
    several_echoes_on_one_connection,
    peer_reset_ends_only_that_connection,
    serves_clients_in_turn,
    mismatch,
    short_echo_like_server_py,
    short_echo_after_a_clean_close,
    silent_stream_server,
);

/// Asserts that no datagram reaches `socket` within [`SHORT`].
fn assert_no_datagram<T: DatagramKind>(socket: &T::Socket) {
    SockRef::from(socket).set_read_timeout(Some(SHORT)).unwrap();
    let mut buffer = [0u8; 512];
    match T::recv_from(socket, &mut buffer) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no datagram, got {other:?}"),
    }
}

/// RELIABILITY 12: a zero-length datagram gets a zero-length reply, from the server's address.
fn empty_datagram_gets_empty_reply<T: DatagramKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);
    let socket = transports::datagram(site);
    T::send_to(&socket, &[], &server_addr).unwrap();
    let mut buffer = [0u8; 16];
    let (n, from) = T::recv_from(&socket, &mut buffer).unwrap();
    assert_eq!((n, from), (0, server_addr));
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 0);
}

/// RELIABILITY 11: each reply goes to the exact address it came from, same length; several
/// peers on one server are all served.
fn reply_goes_to_the_exact_source<T: DatagramKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let server_addr = server.local_addr();
    let peers: Vec<T::Socket> = (0..3).map(|_| transports::datagram(site)).collect();
    for (i, peer) in peers.iter().enumerate() {
        let message = payload(100 + i, i as u64);
        T::send_to(peer, &message, &server_addr).unwrap();
        let exchange = server.serve_once().unwrap();
        assert_eq!(exchange.peer(), T::addr_of(peer));
        let mut buffer = [0u8; 512];
        let (n, from) = T::recv_from(peer, &mut buffer).unwrap();
        assert_eq!(from, server_addr);
        assert_eq!(&buffer[..n], &message[..]);
    }
}

/// RELIABILITY 13: with a 100-byte buffer, a 200-byte datagram is reported as truncated,
/// naming the sender and the capacity, and nothing is sent back.
fn oversized_datagram_is_truncated_not_echoed<T: DatagramKind>(site: &Site<T>) {
    let options = Options::new().with_buffer_size(100);
    let server = EchoServer::bind_on_with(site.transport, site.addr(), options).unwrap();
    let socket = transports::datagram(site);
    let sender: Address = T::addr_of(&socket).into();
    T::send_to(&socket, &payload(200, 23), &server.local_addr()).unwrap();
    match server.serve_once() {
        Err(error @ Error::Truncated { .. }) => {
            let Error::Truncated {
                addr: from,
                capacity,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!((from, *capacity), (&sender, 100));
            assert_names(&error, &sender.to_string());
            assert_names(&error, "100-byte");
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_no_datagram::<T>(&socket);
}

/// RELIABILITY 16: a stale reply (different bytes) before the right one is skipped.
fn stale_reply_is_ignored<T: DatagramKind>(site: &Site<T>) {
    let fake = transports::datagram(site);
    let fake_addr = T::addr_of(&fake);
    let answering = thread::spawn(move || {
        let mut buffer = [0u8; 512];
        let (n, peer) = T::recv_from(&fake, &mut buffer).unwrap();
        T::send_to(&fake, b"an answer to something else", &peer).unwrap();
        T::send_to(&fake, &buffer[..n], &peer).unwrap();
    });
    let options = Options::new().with_read_timeout(Some(GENEROUS));
    let mut client = EchoClient::connect_on_with(site.transport, fake_addr, options).unwrap();
    assert_eq!(&client.echo(b"the question").unwrap()[..], b"the question");
    answering.join().unwrap();
}

/// RELIABILITY 16: the right bytes from any other address never count as the echo: the
/// connected client times out. (A UDP client's system drops the datagram on arrival; a Unix
/// datagram socket connected to another refuses it at the sender.)
fn reply_from_another_address_is_ignored<T: DatagramKind>(site: &Site<T>) {
    let silent = transports::datagram(site);
    let silent_addr = T::addr_of(&silent);
    let intruder = transports::datagram(site);
    let options = impatient().with_resends(0);
    let mut client =
        EchoClient::connect_on_with(site.transport, silent_addr.clone(), options).unwrap();
    let client_addr = client.local_addr().unwrap();
    let intruding = thread::spawn(move || {
        let mut buffer = [0u8; 512];
        let (n, _) = T::recv_from(&silent, &mut buffer).unwrap();
        // The server stays silent; a third socket sends the exact echo instead.
        T::send_to(&intruder, &buffer[..n], &client_addr)
    });
    match client.echo(b"who answers") {
        Err(Error::Timeout {
            addr: to, attempts, ..
        }) => {
            assert_eq!((to, attempts), (silent_addr.into(), 1));
        }
        other => panic!("a reply from another address must be ignored, got {other:?}"),
    }
    let sent = intruding.join().unwrap();
    if site.place().is_ip() {
        sent.unwrap();
    } else {
        let refused = sent.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "{refused}");
    }
}

/// RELIABILITY 16: a datagram server that never answers: `Timeout` after 1 + resends
/// attempts, each of which really sent the message.
fn silent_datagram_server<T: DatagramKind>(site: &Site<T>) {
    let silent = transports::datagram(site);
    let silent_addr: Address = T::addr_of(&silent).into();
    let options = impatient().with_resends(2);
    let mut client =
        EchoClient::connect_on_with(site.transport, T::addr_of(&silent), options).unwrap();
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
            assert_eq!((addr, *timeout, *attempts), (&silent_addr, SHORT, 3));
            assert_names(&error, "3 attempt(s)");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    SockRef::from(&silent).set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 64];
    let sent = (0..10)
        .take_while(|_| T::recv_from(&silent, &mut buffer).is_ok())
        .count();
    assert_eq!(sent, 3, "one datagram per attempt");
}

/// RELIABILITY 23: a datagram server that only ever answers wrong: `Mismatch`, not `Timeout`.
fn wrong_replies<T: DatagramKind>(site: &Site<T>) {
    let fake = transports::datagram(site);
    let fake_addr = T::addr_of(&fake);
    let options = impatient().with_resends(1);
    let handle = thread::spawn(move || {
        let mut buffer = [0u8; 64];
        for _ in 0..2 {
            let (n, peer) = T::recv_from(&fake, &mut buffer).unwrap();
            buffer[3] ^= 0xFF;
            T::send_to(&fake, &buffer[..n], &peer).unwrap();
        }
    });
    let mut client =
        EchoClient::connect_on_with(site.transport, fake_addr.clone(), options).unwrap();
    match client.echo(b"0123456789") {
        Err(Error::Mismatch { addr, offset, sent }) => {
            assert_eq!((addr, offset, sent), (fake_addr.into(), 3, 10));
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
    handle.join().unwrap();
}

over_datagrams!(
    round_trip_1472_bytes,
    empty_datagram_gets_empty_reply,
    reply_goes_to_the_exact_source,
    oversized_datagram_is_truncated_not_echoed,
    stale_reply_is_ignored,
    reply_from_another_address_is_ignored,
    silent_datagram_server,
    wrong_replies,
);

/// Every `Endpoint` syntax names a transport and an address that serve a round trip, through
/// `Endpoint::visit`: the text a tool takes reaches the same generic code.
#[test]
fn every_endpoint_syntax_serves_a_round_trip() {
    struct RoundTrip;
    impl EndpointVisitor for RoundTrip {
        type Output = String;
        fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, addr: A) -> String {
            let handle = EchoServer::bind_on(transport, addr)
                .unwrap()
                .spawn()
                .unwrap();
            let mut client = EchoClient::connect_on(transport, handle.local_addr()).unwrap();
            assert_eq!(&client.echo(b"endpoint").unwrap()[..], b"endpoint");
            handle.local_addr().to_string()
        }
    }
    let dir = Site::new(socket_echo::Unix, transports::Place::Path, "endpoints");
    let name = format!("socket-echo-endpoints-{}", std::process::id());
    let mut texts = vec![
        "127.0.0.1:0".to_owned(),
        "tcp://127.0.0.1:0".to_owned(),
        "udp://127.0.0.1:0".to_owned(),
        format!("unix:{}", dir.text()),
        format!("unixgram:{}", dir.text()),
    ];
    if util::ipv6_available() {
        texts.extend(["tcp://[::1]:0".to_owned(), "udp://[::1]:0".to_owned()]);
    }
    if cfg!(target_os = "linux") {
        texts.extend([format!("unix:@{name}"), format!("unixgram:@{name}-dgram")]);
    }
    for text in texts {
        let endpoint: Endpoint = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let served = endpoint.visit(RoundTrip);
        // A Unix server is where the text said; an IP one got a port of its own.
        if endpoint.transport().starts_with("unix") {
            let (_, written) = text.split_once(':').unwrap();
            assert_eq!(served, written, "{text}");
        }
    }
}
