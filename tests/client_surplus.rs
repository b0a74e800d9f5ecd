//! RELIABILITY 34: the client never takes bytes of an earlier exchange for a later one's.
//! Servers that answer twice: over TCP the surplus is reported before the next message is
//! sent; over UDP late duplicates are dropped before it, never taken as its answer.

mod transports;
mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::mpsc;
use std::thread;

use socket_echo::{EchoClient, Error, Tcp, Udp};
use transports::Site;
use util::{GENEROUS, impatient, impatient_datagram};

/// A TCP server on `addr` for one connection: it reads a 4-byte message, answers
/// `pingping`, says so on the first receiver, then reads until the client goes away and
/// sends what it heard on the second.
fn answers_ping_twice(
    addr: SocketAddr,
) -> (
    SocketAddr,
    mpsc::Receiver<()>,
    mpsc::Receiver<Vec<u8>>,
    thread::JoinHandle<()>,
) {
    let listener = TcpListener::bind(addr).unwrap();
    let server = listener.local_addr().unwrap();
    let (answered, twice) = mpsc::channel();
    let (heard_tx, heard) = mpsc::channel();
    let fake = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut message = [0; 4];
        stream.read_exact(&mut message).unwrap();
        stream.write_all(b"pingping").unwrap();
        let _ = answered.send(());
        // Whatever else comes, until the client goes away.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let _ = heard_tx.send(rest);
    });
    (server, twice, heard, fake)
}

/// A TCP server answering the first message twice made the next `echo(b"ping")` return
/// `Ok` from the leftovers, for a request it never saw.
fn tcp_surplus_is_reported_before_sending(site: &Site<Tcp>) {
    let addr = site.addr();
    let (server, twice, heard, fake) = answers_ping_twice(addr);
    let mut client = EchoClient::connect(server).unwrap();
    assert_eq!(&client.echo(b"ping").unwrap()[..], b"ping");
    twice.recv_timeout(GENEROUS).unwrap();
    match client.echo(b"ping") {
        Err(ref error @ Error::Surplus { ref addr, bytes }) => {
            assert_eq!((addr.as_ip(), bytes), (Some(server), 4));
            util::assert_names(error, "4 unread bytes");
        }
        other => panic!("expected Surplus, got {other:?}"),
    }
    drop(client);
    fake.join().unwrap();
    // The second message was never sent.
    assert_eq!(heard.recv_timeout(GENEROUS).unwrap(), b"");
}

/// A UDP server answering the first datagram twice, then nothing: the duplicate must not be
/// taken as the answer to the second `echo`, which times out.
fn udp_late_duplicates_are_dropped(site: &Site<Udp>) {
    let addr = site.addr();
    let socket = UdpSocket::bind(addr).unwrap();
    let server = socket.local_addr().unwrap();
    let (answered, twice) = mpsc::channel();
    let fake = thread::spawn(move || {
        socket.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut buffer = [0; 64];
        let (n, peer) = socket.recv_from(&mut buffer).unwrap();
        socket.send_to(&buffer[..n], peer).unwrap();
        socket.send_to(&buffer[..n], peer).unwrap();
        answered.send(()).unwrap();
        // The second message is heard, and not answered.
        let (n, _) = socket.recv_from(&mut buffer).unwrap();
        buffer[..n].to_vec()
    });
    let mut client = EchoClient::connect_on_with(Udp, server, impatient_datagram()).unwrap();
    assert_eq!(&client.echo(b"ping").unwrap()[..], b"ping");
    twice.recv_timeout(GENEROUS).unwrap();
    match client.echo(b"ping") {
        Err(Error::Timeout { attempts: 1, .. }) => {}
        other => panic!("expected Timeout (the duplicate is no answer), got {other:?}"),
    }
    assert_eq!(fake.join().unwrap(), b"ping");
}

/// Against a server that answers every datagram twice, every exchange still gets its own
/// answer.
fn udp_exchanges_go_on_past_duplicates(site: &Site<Udp>) {
    let addr = site.addr();
    let socket = UdpSocket::bind(addr).unwrap();
    let server = socket.local_addr().unwrap();
    let fake = thread::spawn(move || {
        socket.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut buffer = [0; 64];
        for _ in 0..5 {
            let (n, peer) = socket.recv_from(&mut buffer).unwrap();
            socket.send_to(&buffer[..n], peer).unwrap();
            socket.send_to(&buffer[..n], peer).unwrap();
        }
    });
    let mut client = EchoClient::connect_on_with(Udp, server, impatient()).unwrap();
    for message in [&b"one"[..], b"two", b"two", b"three", b"one"] {
        assert_eq!(&client.echo(message).unwrap()[..], message);
    }
    fake.join().unwrap();
}

/// A streamed echo (`echo_from`) shuts its write side once the input ends and reads to the
/// server's end-of-stream: a second answer is more than the echo, never a success.
fn tcp_a_streamed_echo_answered_twice_is_excess(site: &Site<Tcp>) {
    let addr = site.addr();
    let (server, _, _, fake) = answers_ping_twice(addr);
    let client = EchoClient::connect(server).unwrap();
    let mut echo = Vec::new();
    match client.echo_from(&b"ping"[..], &mut echo) {
        Err(
            ref error @ Error::Excess {
                ref addr,
                sent,
                received,
            },
        ) => {
            assert_eq!((addr.as_ip(), sent, received), (Some(server), 4, 8));
            util::assert_names(error, "more than the echo");
        }
        other => panic!("expected Excess, got {other:?}"),
    }
    assert_eq!(echo, b"ping", "the echo up to the excess is written out");
    fake.join().unwrap();
}

/// A datagram carries one message: a streamed echo over UDP is refused, naming the
/// transport.
fn udp_a_streamed_echo_is_refused(site: &Site<Udp>) {
    let addr = site.addr();
    let socket = UdpSocket::bind(addr).unwrap();
    let client = EchoClient::connect_on(Udp, socket.local_addr().unwrap()).unwrap();
    match client.echo_from(&b"ping"[..], std::io::sink()) {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "transport"),
        other => panic!("expected InvalidOption, got {other:?}"),
    }
}

instances!(tcp_a_streamed_echo_answered_twice_is_excess: tcp_v4, tcp_v6);
instances!(udp_a_streamed_echo_is_refused: udp_v4, udp_v6);
instances!(tcp_surplus_is_reported_before_sending: tcp_v4, tcp_v6);
instances!(udp_late_duplicates_are_dropped: udp_v4, udp_v6);
instances!(udp_exchanges_go_on_past_duplicates: udp_v4, udp_v6);
