//! UDP echo over real loopback sockets, IPv4 and IPv6: datagrams of every size up to the
//! largest, replies to the exact source, truncation, stale and foreign replies, and ICMP
//! errors left over from earlier replies.

mod util;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::thread;

use socket_echo::{EchoClient, EchoServer, Error, Options, Udp};
use util::{GENEROUS, SHORT, impatient_datagram, payload, serve_once_in_background};

/// The largest UDP payload for the address family of `addr`.
fn max_payload(addr: SocketAddr) -> usize {
    if addr.is_ipv4() { 65_507 } else { 65_527 }
}

/// A plain UDP socket on the same loopback as `addr`, waiting at most [`GENEROUS`].
fn raw_socket(addr: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind(SocketAddr::new(addr.ip(), 0)).unwrap();
    socket.set_read_timeout(Some(GENEROUS)).unwrap();
    socket
}

/// One datagram of `len` random bytes through `EchoClient`; the server saw exactly it.
fn round_trip(addr: SocketAddr, len: usize) {
    let server = EchoServer::bind_on(Udp, addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);

    let message = payload(len, 20);
    let mut client = EchoClient::connect_on(Udp, server_addr).unwrap();
    let echo = client.echo(&message).unwrap();
    assert!(echo == message, "echo of a {len}-byte datagram differs");

    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.peer(), client.local_addr().unwrap());
    assert_eq!(exchange.bytes_echoed(), len as u64);
    assert!(exchange.first_message() == &message[..]);
}

fn round_trip_0_bytes(addr: SocketAddr) {
    round_trip(addr, 0);
}

fn round_trip_1_byte(addr: SocketAddr) {
    round_trip(addr, 1);
}

fn round_trip_1472_bytes(addr: SocketAddr) {
    round_trip(addr, 1472);
}

/// RELIABILITY 13: the largest datagram (65,507 B over IPv4, 65,527 B over IPv6) is echoed
/// whole with the default buffer. If the system refuses to send that much over IPv6, the
/// client says so with a typed error.
fn round_trip_largest_datagram(addr: SocketAddr) {
    if addr.is_ipv4() {
        return round_trip(addr, max_payload(addr));
    }
    let server = EchoServer::bind_on(Udp, addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);
    let message = payload(max_payload(addr), 21);
    let mut client = EchoClient::connect_on(Udp, server_addr).unwrap();
    match client.echo(&message) {
        Ok(echo) => {
            assert!(echo == message);
            assert_eq!(
                served.join().unwrap().unwrap().bytes_echoed(),
                message.len() as u64
            );
        }
        Err(Error::Send { addr, .. }) => {
            assert_eq!(addr, server_addr);
            eprintln!(
                "this system does not send a {}-byte IPv6 datagram",
                message.len()
            );
        }
        Err(other) => panic!("unexpected error for the largest IPv6 datagram: {other:?}"),
    }
}

/// One byte over the largest payload is refused before anything is sent.
fn datagram_too_large(addr: SocketAddr) {
    let server = EchoServer::bind_on(Udp, addr).unwrap();
    let mut client = EchoClient::connect_on(Udp, server.local_addr()).unwrap();
    let len = max_payload(addr) + 1;
    match client.echo(&payload(len, 22)) {
        Err(error @ Error::DatagramTooLarge { .. }) => {
            let Error::DatagramTooLarge {
                addr: to,
                len: l,
                max,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!(
                (to.as_ip(), *l, *max),
                (Some(server.local_addr()), len, len - 1)
            );
            util::assert_names(&error, &server.local_addr().to_string());
        }
        other => panic!("expected DatagramTooLarge, got {other:?}"),
    }
}

/// RELIABILITY 12: a zero-length datagram gets a zero-length reply, from the server's address.
fn empty_datagram_gets_empty_reply(addr: SocketAddr) {
    let server = EchoServer::bind_on(Udp, addr).unwrap();
    let server_addr = server.local_addr();
    let served = serve_once_in_background(server);
    let socket = raw_socket(addr);
    socket.send_to(&[], server_addr).unwrap();
    let mut buffer = [0u8; 16];
    let (n, from) = socket.recv_from(&mut buffer).unwrap();
    assert_eq!((n, from), (0, server_addr));
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 0);
}

/// RELIABILITY 11: each reply goes to the exact address and port it came from, same length;
/// several peers on one server are all served.
fn reply_goes_to_the_exact_source(addr: SocketAddr) {
    let server = EchoServer::bind_on(Udp, addr).unwrap();
    let server_addr = server.local_addr();
    let peers: Vec<UdpSocket> = (0..3).map(|_| raw_socket(addr)).collect();
    for (i, peer) in peers.iter().enumerate() {
        let message = payload(100 + i, i as u64);
        peer.send_to(&message, server_addr).unwrap();
        let exchange = server.serve_once().unwrap();
        assert_eq!(exchange.peer(), peer.local_addr().unwrap());
        let mut buffer = [0u8; 512];
        let (n, from) = peer.recv_from(&mut buffer).unwrap();
        assert_eq!(from, server_addr);
        assert_eq!(&buffer[..n], &message[..]);
    }
}

/// RELIABILITY 13: with a 100-byte buffer, a 200-byte datagram is reported as truncated,
/// naming the sender and the capacity, and nothing is sent back.
fn oversized_datagram_is_truncated_not_echoed(addr: SocketAddr) {
    let options = Options::new().with_buffer_size(100);
    let server = EchoServer::bind_on_with(Udp, addr, options).unwrap();
    let socket = raw_socket(addr);
    socket
        .send_to(&payload(200, 23), server.local_addr())
        .unwrap();
    match server.serve_once() {
        Err(error @ Error::Truncated { .. }) => {
            let Error::Truncated {
                addr: from,
                capacity,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!((from.as_ip(), *capacity), (socket.local_addr().ok(), 100));
            util::assert_names(&error, &socket.local_addr().unwrap().to_string());
            util::assert_names(&error, "100-byte");
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    socket.set_read_timeout(Some(SHORT)).unwrap();
    let mut buffer = [0u8; 512];
    match socket.recv_from(&mut buffer) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a truncated datagram must not be echoed, got {other:?}"),
    }
}

/// RELIABILITY 15: an ICMP error drawn by an earlier reply (to a socket closed since) does
/// not stop the server: it serves the next client.
fn icmp_error_from_an_earlier_reply_is_skipped(addr: SocketAddr) {
    let server = EchoServer::bind_on(Udp, addr).unwrap();
    let server_addr = server.local_addr();
    let gone = raw_socket(addr);
    gone.send_to(b"then close", server_addr).unwrap();
    let gone_addr = gone.local_addr().unwrap();
    drop(gone);
    // The reply goes to a closed port: the kernel answers with ICMP port unreachable.
    assert_eq!(server.serve_once().unwrap().peer(), gone_addr);

    let served = serve_once_in_background(server);
    let mut client = EchoClient::connect_on(Udp, server_addr).unwrap();
    assert_eq!(&client.echo(b"next").unwrap()[..], b"next");
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 4);
}

/// RELIABILITY 16: a stale reply (different bytes) before the right one is skipped.
fn stale_reply_is_ignored(addr: SocketAddr) {
    let fake = raw_socket(addr);
    let fake_addr = fake.local_addr().unwrap();
    let answering = thread::spawn(move || {
        let mut buffer = [0u8; 512];
        let (n, peer) = fake.recv_from(&mut buffer).unwrap();
        fake.send_to(b"an answer to something else", peer).unwrap();
        fake.send_to(&buffer[..n], peer).unwrap();
    });
    let options = Options::new().with_read_timeout(Some(GENEROUS));
    let mut client = EchoClient::connect_on_with(Udp, fake_addr, options).unwrap();
    assert_eq!(&client.echo(b"the question").unwrap()[..], b"the question");
    answering.join().unwrap();
}

/// RELIABILITY 16: the right bytes from any other address never count as the echo: the
/// connected client times out.
fn reply_from_another_address_is_ignored(addr: SocketAddr) {
    let silent = raw_socket(addr);
    let silent_addr = silent.local_addr().unwrap();
    let mut client = EchoClient::connect_on_with(Udp, silent_addr, impatient_datagram()).unwrap();
    let client_addr = client.local_addr().unwrap();
    let intruding = thread::spawn(move || {
        let intruder = raw_socket(addr);
        let mut buffer = [0u8; 512];
        let (n, _) = silent.recv_from(&mut buffer).unwrap();
        // The server stays silent; a third socket sends the exact echo instead.
        intruder.send_to(&buffer[..n], client_addr).unwrap();
    });
    match client.echo(b"who answers") {
        Err(Error::Timeout {
            addr: to, attempts, ..
        }) => {
            assert_eq!((to.as_ip(), attempts), (Some(silent_addr), 1));
        }
        other => panic!("a reply from another address must be ignored, got {other:?}"),
    }
    intruding.join().unwrap();
}

both_families!(
    round_trip_0_bytes,
    round_trip_1_byte,
    round_trip_1472_bytes,
    round_trip_largest_datagram,
    datagram_too_large,
    empty_datagram_gets_empty_reply,
    reply_goes_to_the_exact_source,
    oversized_datagram_is_truncated_not_echoed,
    icmp_error_from_an_earlier_reply_is_skipped,
    stale_reply_is_ignored,
    reply_from_another_address_is_ignored,
);
