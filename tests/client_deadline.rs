//! RELIABILITY 34: every `echo` ends within an overall deadline, even against a server that
//! answers one byte at a time, and the error says which limit ran out: the deadline of the
//! whole call, or the timeout of one read.

mod transports;
mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket_echo::{DEFAULT_ECHO_DEADLINE, EchoClient, Error, Options, Tcp, Udp};
use transports::Site;
use util::{GENEROUS, SHORT};

/// A TCP server that reads `len` bytes, then echoes them one every `pace`, until its client
/// goes away.
fn dribbling_server(addr: SocketAddr, len: usize, pace: Duration) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind(addr).unwrap();
    let local = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut message = vec![0; len];
        stream.read_exact(&mut message).unwrap();
        for byte in message {
            thread::sleep(pace);
            if stream.write_all(&[byte]).is_err() {
                return;
            }
        }
    });
    (local, handle)
}

/// A server answering one byte every 100 ms held a 20-byte echo for 2 s: with a 350 ms
/// deadline the call ends after it, with `Deadline`, and says how far it got.
fn deadline_cuts_a_dribbling_echo(site: &Site<Tcp>) {
    let addr = site.addr();
    let (server, dribbler) = dribbling_server(addr, 20, Duration::from_millis(100));
    let deadline = Duration::from_millis(350);
    let options = Options::new()
        .with_read_timeout(Some(Duration::from_secs(5)))
        .with_echo_deadline(Some(deadline));
    let mut client = EchoClient::connect_with(server, options).unwrap();
    let start = Instant::now();
    match client.echo(b"Hola, soy el cliente") {
        Err(
            ref error @ Error::Deadline {
                ref addr,
                deadline: limit,
                sent,
                received,
            },
        ) => {
            assert_eq!((addr.as_ip(), limit, sent), (Some(server), deadline, 20));
            assert!(received < 20, "received {received}");
            util::assert_names(error, "deadline");
        }
        other => panic!("expected Deadline, got {other:?}"),
    }
    assert!(start.elapsed() >= deadline);
    drop(client);
    dribbler.join().unwrap();
}

/// A read timeout that runs out before the deadline is named as the read timeout.
fn read_timeout_is_named_as_such(site: &Site<Tcp>) {
    let addr = site.addr();
    let listener = TcpListener::bind(addr).unwrap();
    let options = Options::new()
        .with_read_timeout(Some(SHORT))
        .with_echo_deadline(Some(GENEROUS));
    let mut client = EchoClient::connect_with(listener.local_addr().unwrap(), options).unwrap();
    // Accepted by the system, never read: the echo never comes.
    match client.echo(b"silence") {
        Err(Error::Timeout {
            timeout, attempts, ..
        }) => assert_eq!((timeout, attempts), (SHORT, 1)),
        other => panic!("expected Timeout, got {other:?}"),
    }
}

/// A UDP client retrying many times against a silent server stops at the deadline.
fn deadline_bounds_the_udp_retries(site: &Site<Udp>) {
    let addr = site.addr();
    let silent = UdpSocket::bind(addr).unwrap();
    let deadline = Duration::from_millis(500);
    let options = Options::new()
        .with_read_timeout(Some(Duration::from_millis(200)))
        .with_resends(1000)
        .with_echo_deadline(Some(deadline));
    let mut client =
        EchoClient::connect_on_with(Udp, silent.local_addr().unwrap(), options).unwrap();
    let start = Instant::now();
    match client.echo(b"anyone?") {
        Err(Error::Deadline {
            deadline: limit,
            sent,
            received,
            ..
        }) => assert_eq!((limit, sent, received), (deadline, 7, 0)),
        other => panic!("expected Deadline, got {other:?}"),
    }
    assert!(start.elapsed() >= deadline);
    // Two or three attempts fit in the deadline, never the thousand asked for.
    let mut buffer = [0; 16];
    silent.set_nonblocking(true).unwrap();
    let mut attempts = 0;
    while silent.recv(&mut buffer).is_ok() {
        attempts += 1;
    }
    assert!((1..=4).contains(&attempts), "{attempts} attempts");
}

/// Without the deadline, the UDP retries end as before: a timeout naming each attempt's wait.
fn udp_timeout_after_its_attempts(site: &Site<Udp>) {
    let addr = site.addr();
    let silent = UdpSocket::bind(addr).unwrap();
    let options = Options::new()
        .with_read_timeout(Some(Duration::from_millis(100)))
        .with_resends(1)
        .with_echo_deadline(Some(GENEROUS));
    let mut client =
        EchoClient::connect_on_with(Udp, silent.local_addr().unwrap(), options).unwrap();
    match client.echo(b"anyone?") {
        Err(Error::Timeout {
            timeout, attempts, ..
        }) => assert_eq!((timeout, attempts), (Duration::from_millis(100), 2)),
        other => panic!("expected Timeout, got {other:?}"),
    }
}

instances!(deadline_cuts_a_dribbling_echo: tcp_v4, tcp_v6);
instances!(read_timeout_is_named_as_such: tcp_v4, tcp_v6);
instances!(deadline_bounds_the_udp_retries: udp_v4, udp_v6);
instances!(udp_timeout_after_its_attempts: udp_v4, udp_v6);

#[test]
fn echo_deadline_is_checked_like_a_timeout() {
    assert_eq!(
        Options::new().echo_deadline(),
        Some(DEFAULT_ECHO_DEADLINE),
        "finite by default"
    );
    assert!(Options::new().with_echo_deadline(None).validate().is_ok());
    for refused in [Duration::ZERO, Duration::from_nanos(500)] {
        match Options::new().with_echo_deadline(Some(refused)).validate() {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "echo_deadline"),
            other => panic!("{refused:?}: expected InvalidOption, got {other:?}"),
        }
    }
}
