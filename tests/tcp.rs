//! TCP echo over real loopback sockets, IPv4 and IPv6: round trips of every size, random
//! chunking by a raw client, half-close, several echoes on one connection, and a peer reset.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;

use socket_echo::{EchoClient, EchoServer, Error, Options};
use util::{GENEROUS, Rng, payload, serve_once_in_background};

/// One `echo` call of `len` random bytes; the server's count and first message agree.
fn round_trip(addr: SocketAddr, len: usize) {
    let server = EchoServer::bind(addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let message = payload(len, 1);
    let mut client = EchoClient::connect(server_addr).unwrap();
    let echo = client.echo(&message).unwrap();
    assert_eq!(echo.len(), message.len());
    assert!(echo == message, "echo of {len} bytes differs");
    let client_addr = client.local_addr().unwrap();
    drop(client);

    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.peer(), client_addr);
    assert_eq!(exchange.bytes_echoed(), len as u64);
    assert!(message.starts_with(exchange.first_message()));
    assert_eq!(exchange.first_message().is_empty(), len == 0);
}

fn round_trip_0_bytes(addr: SocketAddr) {
    round_trip(addr, 0);
}

fn round_trip_1_byte(addr: SocketAddr) {
    round_trip(addr, 1);
}

fn round_trip_1_kib(addr: SocketAddr) {
    round_trip(addr, 1024);
}

fn round_trip_64_kib(addr: SocketAddr) {
    round_trip(addr, 64 * 1024);
}

fn round_trip_1_mib(addr: SocketAddr) {
    round_trip(addr, 1024 * 1024);
}

/// RELIABILITY 5: 16 MiB in one call, which deadlocks unless the client reads while writing.
fn round_trip_16_mib(addr: SocketAddr) {
    round_trip(addr, 16 * 1024 * 1024);
}

/// RELIABILITY 1: a raw client writes random-sized chunks on one thread while another reads;
/// what comes back equals what was sent, byte for byte.
fn random_chunks_from_a_raw_client(addr: SocketAddr) {
    let server = EchoServer::bind(addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let message = payload(3 * 1024 * 1024 + 17, 2);
    let mut reader = TcpStream::connect(server_addr).unwrap();
    reader.set_read_timeout(Some(GENEROUS)).unwrap();
    let mut writer = reader.try_clone().unwrap();
    let to_send = message.clone();
    let writing = thread::spawn(move || {
        let mut rng = Rng::new(3);
        let mut sent = 0;
        while sent < to_send.len() {
            let end = (sent + rng.range(1, 70_000)).min(to_send.len());
            writer.write_all(&to_send[sent..end]).unwrap();
            sent = end;
        }
        writer.shutdown(Shutdown::Write).unwrap();
    });

    let mut echo = Vec::with_capacity(message.len());
    reader.read_to_end(&mut echo).unwrap();
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
fn half_close_echoes_everything_then_eof(addr: SocketAddr) {
    let server = EchoServer::bind(addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    // Small enough to sit in the loopback buffers while nobody reads the echo yet.
    let message = payload(20_000, 4);
    let mut stream = TcpStream::connect(server_addr).unwrap();
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    stream.write_all(&message).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();

    let mut echo = Vec::new();
    stream.read_to_end(&mut echo).unwrap();
    assert!(echo == message, "echo differs after half-close");
    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.bytes_echoed(), message.len() as u64);
}

/// Several messages on one connection are each echoed; the exchange counts them all.
fn several_echoes_on_one_connection(addr: SocketAddr) {
    let server = EchoServer::bind(addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let mut client = EchoClient::connect(server_addr).unwrap();
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
/// server then serves the next client.
fn peer_reset_ends_only_that_connection(addr: SocketAddr) {
    let server = EchoServer::bind(addr).unwrap();
    let server_addr = server.local_addr();

    let resetting = socket2::Socket::from(TcpStream::connect(server_addr).unwrap());
    resetting
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    let mut resetting = TcpStream::from(resetting);
    resetting.write_all(&payload(1000, 9)).unwrap();
    drop(resetting); // SO_LINGER 0: close sends RST

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
    let mut client = EchoClient::connect(server_addr).unwrap();
    assert_eq!(&client.echo(b"still here").unwrap()[..], b"still here");
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 10);
}

/// A server serves clients one after another, each on the same port.
fn serves_clients_in_turn(addr: SocketAddr) {
    let server = EchoServer::bind_with(addr, Options::new().with_buffer_size(7)).unwrap();
    let server_addr = server.local_addr();
    let serving = thread::spawn(move || {
        (0..3)
            .map(|_| server.serve_once().unwrap().bytes_echoed())
            .collect::<Vec<_>>()
    });
    for len in [100, 200, 300] {
        let message = payload(len, 10);
        let mut client = EchoClient::connect(server_addr).unwrap();
        assert!(client.echo(&message).unwrap() == message);
    }
    assert_eq!(serving.join().unwrap(), [100, 200, 300]);
}

both_families!(
    round_trip_0_bytes,
    round_trip_1_byte,
    round_trip_1_kib,
    round_trip_64_kib,
    round_trip_1_mib,
    round_trip_16_mib,
    random_chunks_from_a_raw_client,
    half_close_echoes_everything_then_eof,
    several_echoes_on_one_connection,
    peer_reset_ends_only_that_connection,
    serves_clients_in_turn,
);
