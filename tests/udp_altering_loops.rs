//! RELIABILITY 41: an exchange between `serve()` and a peer that answers every reply with
//! what it received, altered (a corrupted byte anywhere, every letter's case flipped), is
//! bounded; a real client sending fast from one source loses nothing.
//!
//! The altering peer is a plain UDP socket of the test: it starts the exchange with one
//! datagram and answers every reply, so no forged source (and no root) is needed. Two
//! servers, one with a corrupting fault, started by a forged datagram, are in
//! tests/udp_loops.rs.

mod serve_support;
mod util;

use std::net::{SocketAddr, UdpSocket};
use std::num::NonZeroUsize;
use std::thread;
use std::time::Duration;

use serve_support::*;
use socket_echo::{EchoClient, Options, SourceRateLimit, Udp};

/// The most rounds a peer goes: far more than the default limit lets a loop run (a burst
/// of 1,000), so a peer that reaches it was never stopped.
const ROUNDS: u64 = 100_000;

/// How the peer ended: after how many rounds, and whether the server fell silent.
#[derive(Debug)]
struct Ended {
    rounds: u64,
    silenced: bool,
}

/// A peer on `socket` that sends `first` to `server`, then answers each reply from it with
/// `alter`ed bytes, until the server is silent for a second or [`ROUNDS`] rounds.
fn altering_peer(
    socket: UdpSocket,
    server: SocketAddr,
    first: &[u8],
    mut alter: impl FnMut(&mut [u8], u64) + Send + 'static,
) -> thread::JoinHandle<Ended> {
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    socket.send_to(first, server).expect("the first datagram");
    thread::spawn(move || {
        let mut buf = vec![0; 65_536];
        for round in 0..ROUNDS {
            let n = match socket.recv_from(&mut buf) {
                Ok((n, from)) if from == server => n,
                Ok((_, from)) => panic!("a datagram from {from}"),
                Err(_) => {
                    return Ended {
                        rounds: round,
                        silenced: true,
                    };
                }
            };
            alter(&mut buf[..n], round);
            socket.send_to(&buf[..n], server).expect("answer");
        }
        Ended {
            rounds: ROUNDS,
            silenced: false,
        }
    })
}

/// Runs the exchange between a default server and a peer that alters with `alter`, and
/// checks that the server ended it, counting the refusal, and still serves a client.
fn assert_the_exchange_ends(
    family: &str,
    options: Options,
    first: &[u8],
    alter: impl FnMut(&mut [u8], u64) + Send + 'static,
) {
    let handle = spawn_udp(family, options);
    let server = handle.local_addr();
    let peer = altering_peer(udp_client(server, PATIENCE), server, first, alter);
    let ended = peer.join().expect("the peer");
    let stats = handle
        .wait_until(|s| s.dropped_rate_limited >= 1, PATIENCE)
        .unwrap_or_else(|| panic!("{family}: never refused; {ended:?}, {:?}", handle.stats()));
    assert!(
        ended.silenced && ended.rounds < ROUNDS,
        "{family}: {ended:?}, {stats:?}"
    );
    eprintln!(
        "{family}: the server fell silent after {} rounds",
        ended.rounds
    );
    let mut client = EchoClient::connect_on(Udp, server).expect("connect");
    assert_eq!(
        &client.echo(b"still here").expect("echo")[..],
        b"still here"
    );
}

#[test]
fn a_peer_that_corrupts_a_byte_of_each_echo_is_not_answered_forever() {
    for family in LOOPBACKS {
        let mut rng = Rng::new(41);
        assert_the_exchange_ends(family, Options::new(), &[0x55; 64], move |datagram, _| {
            let at = rng.range(0, datagram.len() - 1);
            datagram[at] ^= rng.range(1, 255) as u8;
        });
    }
}

#[test]
fn a_peer_that_flips_the_case_of_each_echo_is_not_answered_forever() {
    // One worker and several: with several, each remembering its own last replies, a
    // worker could see the datagram equal to its own reply before last by chance.
    for workers in [1, 3] {
        let options = Options::new().with_workers(NonZeroUsize::new(workers));
        for family in LOOPBACKS {
            let flip = |datagram: &mut [u8], _| {
                for byte in datagram.iter_mut().filter(|b| b.is_ascii_alphabetic()) {
                    *byte ^= 0x20;
                }
            };
            assert_the_exchange_ends(family, options.clone(), b"Hello, echo server!", flip);
        }
    }
}

/// What `ping`, `Load` and the benchmark's clients send: a pattern of `size` bytes with a
/// sequence number in its first eight.
fn numbered(size: usize, seq: u64) -> Vec<u8> {
    let mut message: Vec<u8> = (0..size).map(|i| i as u8).collect();
    message[..8].copy_from_slice(&seq.to_be_bytes());
    message
}

#[test]
fn a_client_sending_numbered_messages_flat_out_from_one_source_loses_nothing() {
    // The tightest limit: a single answer to the server's replies taken for a loop's
    // would be refused, and the client would wait for an echo that never comes.
    let limit = SourceRateLimit::new(1, 1);
    for size in [8, 64, 512, 1400] {
        let handle = spawn_udp(
            "127.0.0.1:0",
            Options::new().with_source_rate_limit(Some(limit)),
        );
        let mut client = EchoClient::connect_on(Udp, handle.local_addr()).expect("connect");
        let count = 5_000;
        for seq in 0..count {
            let message = numbered(size, seq);
            assert_eq!(&client.echo(&message).expect("echo")[..], &message[..]);
        }
        let stats = finish(handle);
        assert_eq!(
            (stats.datagrams_echoed, stats.dropped_rate_limited),
            (count, 0),
            "{size}-byte messages"
        );
    }
}

#[test]
fn a_client_with_many_messages_in_flight_from_one_source_loses_nothing() {
    // Windows of 16 numbered messages sent back to back, then their 16 echoes read.
    let limit = SourceRateLimit::new(1, 1);
    let handle = spawn_udp(
        "127.0.0.1:0",
        Options::new().with_source_rate_limit(Some(limit)),
    );
    let server = handle.local_addr();
    let socket = udp_client(server, PATIENCE);
    let mut buf = [0; 1024];
    let (windows, window) = (500, 16);
    for w in 0..windows {
        for i in 0..window {
            socket
                .send_to(&numbered(256, w * window + i), server)
                .unwrap();
        }
        for _ in 0..window {
            let (n, from) = socket.recv_from(&mut buf).expect("every echo");
            assert_eq!((n, from), (256, server));
        }
    }
    let stats = finish(handle);
    assert_eq!(
        (stats.datagrams_echoed, stats.dropped_rate_limited),
        (windows * window, 0)
    );
}
