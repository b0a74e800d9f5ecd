//! `EchoClient::ping` within its limits: over TCP a probe larger than the socket buffers is
//! sent while its echo is read (a 16 MB probe used to deadlock both sides until the write
//! timed out), the limit that runs out is named, and a stop flag ends a stuck probe
//! promptly, over TCP and UDP.

mod util;

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Error, Options, Outcome, Ping, PingSummary, Udp};
use util::GENEROUS;

const BIG: usize = 16_000_000;

/// A TCP server whose one connection is accepted and held, never read: a client's writes
/// block once the socket buffers are full. The connection is sent on the channel once its
/// first bytes have arrived (peeked, not read), and closed when the receiver drops.
fn holder() -> (std::net::SocketAddr, mpsc::Receiver<TcpStream>) {
    let listener = TcpListener::bind(util::any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, held) = mpsc::channel();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            stream.set_read_timeout(Some(GENEROUS)).unwrap();
            let _ = stream.peek(&mut [0; 1]);
            let _ = tx.send(stream);
        }
    });
    (addr, held)
}

/// Runs `ping` on a thread and waits for its summary at most [`GENEROUS`].
fn ping_within(mut client: EchoClient, ping: Ping) -> (PingSummary, Vec<Outcome>) {
    let (done, summary) = mpsc::channel();
    thread::spawn(move || {
        let mut outcomes = Vec::new();
        let result = client.ping(&ping, |probe| outcomes.push(probe.outcome()));
        let _ = done.send((result, outcomes));
    });
    let (result, outcomes) = summary
        .recv_timeout(GENEROUS)
        .expect("ping did not return in time");
    (result.unwrap(), outcomes)
}

#[test]
fn a_16_mb_probe_over_tcp_is_echoed() {
    let handle = EchoServer::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let client = EchoClient::connect(handle.local_addr()).unwrap();
    let ping = Ping::new()
        .with_count(2)
        .with_size(BIG)
        .with_interval(Duration::ZERO)
        .with_timeout(GENEROUS);
    let (summary, outcomes) = ping_within(client, ping);
    assert!(summary.error().is_none(), "{:?}", summary.error());
    assert_eq!((summary.sent(), summary.received()), (2, 2), "{outcomes:?}");
    handle.shutdown();
    let stats = handle.join().unwrap();
    assert_eq!(stats.bytes_out, 2 * BIG as u64);
}

/// The probe's timeout ran out while it was still being written: the error names that
/// timeout as the deadline of the probe, with how far it got (it was the 10 s write timeout
/// that fired, reported as "1 attempt of 1s").
#[test]
fn a_probe_that_cannot_be_sent_in_time_names_its_deadline() {
    let (addr, _holder) = holder();
    let client = EchoClient::connect(addr).unwrap();
    let timeout = Duration::from_millis(300);
    let ping = Ping::new()
        .with_count(1)
        .with_size(BIG)
        .with_timeout(timeout);
    let (summary, _) = ping_within(client, ping);
    match summary.error() {
        Some(Error::Deadline {
            deadline,
            sent,
            received,
            ..
        }) => {
            assert_eq!((*deadline, *received), (timeout, 0));
            assert!(*sent < BIG, "sent {sent}");
        }
        other => panic!("expected Deadline, got {other:?}"),
    }
    assert_eq!(summary.sent(), 0, "a probe not sent whole is not counted");
}

/// A stop flag set while a probe is stuck (the server reads nothing, the client's writes
/// wait without a timeout) ends the run: the wait is cut into short slices.
#[test]
fn a_stop_flag_ends_a_stuck_probe() {
    let (addr, held) = holder();
    let options = Options::new().with_write_timeout(None);
    let client = EchoClient::connect_with(addr, options).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ping = Ping::new()
        .with_count(3)
        .with_size(BIG)
        .with_timeout(Duration::from_secs(600))
        .with_stop(Arc::clone(&stop));
    let (done, summary) = mpsc::channel();
    thread::spawn(move || {
        let mut client = client;
        let _ = done.send(client.ping(&ping, |_| {}));
    });
    // The probe is on its way: its first bytes have reached the server.
    let _connection = held.recv_timeout(GENEROUS).unwrap();
    stop.store(true, Ordering::Relaxed);
    let summary = summary
        .recv_timeout(GENEROUS)
        .expect("ping did not return in time")
        .unwrap();
    assert!(summary.stopped());
    assert!(summary.error().is_none(), "{:?}", summary.error());
    assert_eq!(summary.received(), 0);
}

/// A UDP probe waiting for a silent server waited its whole timeout before the stop flag was
/// looked at.
#[test]
fn a_stop_flag_ends_a_udp_probe_waiting_for_its_echo() {
    let silent = UdpSocket::bind(util::any_local_address()).unwrap();
    let mut client = EchoClient::connect_on(Udp, silent.local_addr().unwrap()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ping = Ping::new()
        .with_count(3)
        .with_timeout(Duration::from_secs(600))
        .with_stop(Arc::clone(&stop));
    let (done, summary) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(client.ping(&ping, |_| {}));
    });
    // The probe has been sent: the server has it.
    silent.set_read_timeout(Some(GENEROUS)).unwrap();
    silent.recv(&mut [0; 128]).unwrap();
    stop.store(true, Ordering::Relaxed);
    let summary = summary
        .recv_timeout(GENEROUS)
        .expect("ping did not return in time")
        .unwrap();
    assert!(summary.stopped());
    assert_eq!((summary.sent(), summary.lost()), (1, 1));
}
