//! RELIABILITY 36, datagram transports: each fault the server injects, over UDP and Unix
//! datagram sockets, is observed exactly (by the crate's client, or by a raw socket where
//! the client would hide it) and counted in `Stats`. Times are checked only from below.
//! Each test is written once and run over both transports.

mod faults_support;
mod transports;
mod util;

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use faults_support::{PATIENCE, client, faults, spawn};
use socket_echo::{EchoServer, Error, Fault, Faults, Options, ServerHandle, Stats, Transport};
use transports::{DatagramKind, Kind, Site};

fn stop<T: Transport>(handle: ServerHandle<T>) -> Stats {
    handle.shutdown();
    handle.join().expect("join")
}

fn drop_1_loses_every_reply<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "drop=1", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(100),
        Some(2),
    );
    match client.echo(b"anyone?") {
        Err(Error::Timeout { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let stats = stop(handle);
    assert_eq!(stats.faults.dropped, 3);
    assert_eq!(stats.datagrams_echoed, 0);
}

fn truncate_cuts_the_reply_to_n_bytes<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "truncate=100", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(200),
        Some(0),
    );
    match client.echo(&[5u8; 200]) {
        Err(Error::Mismatch { offset, sent, .. }) => assert_eq!((offset, sent), (100, 200)),
        other => panic!("expected a mismatch at byte 100, got {other:?}"),
    }
    assert_eq!(&client.echo(&[6u8; 100]).unwrap()[..], &[6u8; 100][..]);
    assert_eq!(stop(handle).faults.truncated, 1);
}

fn corrupt_changes_one_byte_the_client_names<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "corrupt=1", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(200),
        Some(0),
    );
    match client.echo(&[9u8; 64]) {
        Err(Error::Mismatch { offset, sent, .. }) => assert!(offset < 64 && sent == 64),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_eq!(stop(handle).faults.corrupted, 1);
}

fn delay_holds_every_reply_at_least_the_delay<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "delay=50ms", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, Some(0));
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(&client.echo(b"slowly").unwrap()[..], b"slowly");
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "{:?}",
            start.elapsed()
        );
    }
    assert_eq!(stop(handle).faults.delayed, 3);
}

fn conditions_pick_the_datagrams<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    // The first two datagrams are dropped: the third attempt is answered (more resends, in
    // case its reply is slower than the timeout on a busy machine).
    let handle = spawn(site, "drop=1,connections=2", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(300),
        Some(5),
    );
    assert_eq!(&client.echo(b"third time").unwrap()[..], b"third time");
    assert_eq!(&client.echo(b"and then").unwrap()[..], b"and then");
    assert_eq!(stop(handle).faults.dropped, 2);

    // Only after two datagrams.
    let handle = spawn(site, "drop=1,after=2", Options::new());
    let mut client = faults_support::client(
        transport,
        handle.local_addr(),
        Duration::from_millis(300),
        Some(0),
    );
    client.echo(b"one").unwrap();
    client.echo(b"two").unwrap();
    assert!(matches!(client.echo(b"three"), Err(Error::Timeout { .. })));
    assert_eq!(stop(handle).faults.dropped, 1);
}

fn a_fault_for_one_peer_spares_the_others<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "", Options::new());
    let timeout = Duration::from_millis(300);
    let mut target = client(transport, handle.local_addr(), timeout, Some(0));
    let mut other = client(transport, handle.local_addr(), timeout, Some(0));
    let fault = Fault::drop(1.0).with_peer(target.local_addr().unwrap());
    handle.set_faults(Faults::new().with(fault)).unwrap();
    assert!(matches!(target.echo(b"me?"), Err(Error::Timeout { .. })));
    assert_eq!(&other.echo(b"me!").unwrap()[..], b"me!");
    assert_eq!(stop(handle).faults.dropped, 1);
}

fn faults_changed_through_the_handle_apply_to_what_comes_next<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(300),
        Some(0),
    );
    client.echo(b"fine").unwrap();
    handle.set_faults(faults("drop=1", 0)).unwrap();
    assert!(matches!(client.echo(b"gone"), Err(Error::Timeout { .. })));
    handle.set_faults(Faults::new()).unwrap();
    client.echo(b"fine again").unwrap();
    assert_eq!(stop(handle).faults.dropped, 1);
}

fn held_replies_stay_within_max_pending<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    // A 60-byte reply fits in 100 bytes of held replies; the next two do not.
    let handle = EchoServer::bind_on(transport, site.addr())
        .unwrap()
        .with_faults(faults("delay=10s", 0).with_max_held(100))
        .unwrap()
        .spawn()
        .unwrap();
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(50),
        Some(2),
    );
    assert!(client.echo(&[1u8; 60]).is_err());
    let stats = stop(handle);
    assert_eq!((stats.faults.delayed, stats.faults.overflowed), (1, 2));
}

fn serve_once_injects_the_faults_too<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let server = EchoServer::bind_on(transport, site.addr())
        .unwrap()
        .with_faults(faults("drop=1,connections=1; delay=30ms", 0))
        .unwrap();
    let mut client = client(
        transport,
        server.local_addr(),
        Duration::from_millis(300),
        Some(1),
    );
    let served = thread::spawn(move || (server.serve_once(), server.serve_once()));
    let start = Instant::now();
    assert_eq!(&client.echo(b"twice").unwrap()[..], b"twice");
    assert!(
        start.elapsed() >= Duration::from_millis(330),
        "{:?}",
        start.elapsed()
    );
    let (dropped, echoed) = served.join().unwrap();
    assert_eq!(dropped.unwrap().bytes_echoed(), 0);
    assert_eq!(echoed.unwrap().bytes_echoed(), 5);
}

fn stream_faults_are_refused<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let server = EchoServer::bind_on(transport, site.addr()).unwrap();
    for spec in [
        "slice=4",
        "rate=1KiB",
        "shared-rate=1KiB",
        "stall-after=1",
        "close-after=1",
        "reset-after=1",
        "accept-close",
        "accept-delay=1s",
    ] {
        assert!(
            matches!(
                server.set_faults(faults(spec, 0)),
                Err(Error::InvalidFault { .. })
            ),
            "{spec} should be refused"
        );
    }
    assert!(server.faults().is_empty());
}

over_datagram_transports!(
    drop_1_loses_every_reply,
    truncate_cuts_the_reply_to_n_bytes,
    corrupt_changes_one_byte_the_client_names,
    delay_holds_every_reply_at_least_the_delay,
    conditions_pick_the_datagrams,
    a_fault_for_one_peer_spares_the_others,
    faults_changed_through_the_handle_apply_to_what_comes_next,
    held_replies_stay_within_max_pending,
    serve_once_injects_the_faults_too,
    stream_faults_are_refused,
);

/// How long a raw socket waits for a reply that must not come.
const SHORT: Duration = Duration::from_millis(200);

/// One worker: the datagrams a raw client sends back to back are then drawn for in the order
/// they arrived (two workers may take two of them in either order).
fn one_worker() -> Options {
    Options::new().with_workers(std::num::NonZeroUsize::new(1))
}

/// A raw datagram socket of a test's own, to see every reply as it comes (the client skips
/// the ones it does not wait for).
struct Raw<T: DatagramKind> {
    socket: T::Socket,
    server: T::Addr,
}

impl<T: DatagramKind> Raw<T> {
    fn send(&self, data: &[u8]) {
        T::send_to(&self.socket, data, &self.server).unwrap();
    }

    /// The next reply, or `None` once the socket's wait is over.
    fn recv(&self) -> Option<Vec<u8>> {
        let mut buffer = vec![0; 65536];
        match T::recv_from(&self.socket, &mut buffer) {
            Ok((n, _)) => Some(buffer[..n].to_vec()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// A server of `site`'s transport with `specs` and one worker, and a raw socket bound to an
/// address of its own (so the server can answer it) that waits at most `wait` for a reply.
fn raw<T: DatagramKind>(
    site: &Site<T>,
    specs: &str,
    seed: u64,
    wait: Duration,
) -> (ServerHandle<T>, Raw<T>) {
    let handle = EchoServer::bind_on_with(site.transport, site.addr(), one_worker())
        .unwrap()
        .with_faults(faults(specs, seed))
        .unwrap()
        .spawn()
        .unwrap();
    let raw = Raw {
        socket: transports::datagram_waiting(site, wait),
        server: handle.local_addr(),
    };
    (handle, raw)
}

fn duplicate_sends_each_reply_twice<T: DatagramKind>(site: &Site<T>) {
    let (handle, raw) = raw(site, "duplicate=1", 0, SHORT);
    raw.send(b"one");
    raw.send(b"two");
    let replies: Vec<Vec<u8>> = std::iter::from_fn(|| raw.recv()).take(10).collect();
    assert_eq!(replies, [&b"one"[..], b"one", b"two", b"two"]);
    let stats = stop(handle);
    assert_eq!((stats.faults.duplicated, stats.datagrams_echoed), (2, 4));
}

fn reorder_sends_a_held_reply_after_the_next<T: DatagramKind>(site: &Site<T>) {
    let (handle, raw) = raw(site, "reorder=1,hold=10s", 0, SHORT);
    raw.send(b"first");
    raw.send(b"second");
    raw.send(b"third");
    raw.send(b"fourth");
    let replies: Vec<Vec<u8>> = std::iter::from_fn(|| raw.recv()).take(10).collect();
    assert_eq!(replies, [&b"second"[..], b"first", b"fourth", b"third"]);
    assert_eq!(stop(handle).faults.reordered, 2);
}

fn a_reordered_reply_goes_after_its_hold_if_nothing_follows<T: DatagramKind>(site: &Site<T>) {
    let (handle, raw) = raw(site, "reorder=1,hold=100ms", 0, PATIENCE);
    let start = Instant::now();
    raw.send(b"alone");
    assert_eq!(raw.recv().unwrap(), b"alone");
    assert!(start.elapsed() >= Duration::from_millis(100));
    stop(handle);
}

/// The offset of the one byte that differs between `a` and `b`, which have the same length.
fn one_flipped_byte(a: &[u8], b: &[u8]) -> usize {
    assert_eq!(a.len(), b.len());
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    assert_eq!(differ.len(), 1, "{differ:?}");
    differ[0]
}

fn corrupt_flips_the_same_byte_for_the_same_seed<T: DatagramKind>(site: &Site<T>) {
    let probe = [0x55u8; 256];
    let flipped = |seed| {
        let (_server, raw) = raw(site, "corrupt=1", seed, SHORT);
        raw.send(&probe);
        one_flipped_byte(&raw.recv().expect("reply"), &probe)
    };
    let offsets: Vec<usize> = (1..=4).map(flipped).collect();
    assert_eq!(offsets, (1..=4).map(flipped).collect::<Vec<_>>());
    assert!(offsets.windows(2).any(|w| w[0] != w[1]), "{offsets:?}");
}

fn truncate_sends_exactly_n_bytes<T: DatagramKind>(site: &Site<T>) {
    let (handle, raw) = raw(site, "truncate=10", 0, SHORT);
    raw.send(&[3u8; 50]);
    assert_eq!(raw.recv().unwrap(), [3u8; 10]);
    raw.send(&[4u8; 5]);
    assert_eq!(raw.recv().unwrap(), [4u8; 5]);
    stop(handle);
}

over_datagram_transports!(
    duplicate_sends_each_reply_twice,
    reorder_sends_a_held_reply_after_the_next,
    a_reordered_reply_goes_after_its_hold_if_nothing_follows,
    corrupt_flips_the_same_byte_for_the_same_seed,
    truncate_sends_exactly_n_bytes,
);
