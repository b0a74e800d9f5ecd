//! What only UDP has, over real loopback sockets, IPv4 and IPv6: the largest datagram of each
//! family, a message too large for one, and ICMP errors left over from earlier replies. The
//! rules every datagram transport shares are in `any_transport.rs`.

mod transports;
mod util;

use std::net::{SocketAddr, UdpSocket};

use socket_echo::{EchoClient, EchoServer, Error, Udp};
use transports::Site;
use util::{GENEROUS, payload, serve_once_in_background};

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

/// RELIABILITY 13: the largest datagram (65,507 B over IPv4, 65,527 B over IPv6) is echoed
/// whole with the default buffer. If the system refuses to send that much over IPv6, the
/// client says so with a typed error.
fn round_trip_largest_datagram(site: &Site<Udp>) {
    let addr = site.addr();
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
fn datagram_too_large(site: &Site<Udp>) {
    let addr = site.addr();
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

/// RELIABILITY 15: an ICMP error drawn by an earlier reply (to a socket closed since) does
/// not stop the server: it serves the next client.
fn icmp_error_from_an_earlier_reply_is_skipped(site: &Site<Udp>) {
    let addr = site.addr();
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

instances!(round_trip_largest_datagram: udp_v4, udp_v6);
instances!(datagram_too_large: udp_v4, udp_v6);
instances!(icmp_error_from_an_earlier_reply_is_skipped: udp_v4, udp_v6);
