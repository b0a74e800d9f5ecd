//! RELIABILITY 36, datagram transports: each fault the server injects, over UDP and Unix
//! datagram sockets, is observed exactly (by the crate's client, or by a raw socket where
//! the client would hide it) and counted in `Stats`. Times are checked only from below.

mod faults_support;

use std::io;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::thread;
use std::time::{Duration, Instant};

use faults_support::{PATIENCE, client, faults, spawn};
use socket_echo::{
    EchoServer, Error, Fault, Faults, Options, ServerHandle, Stats, Transport, Udp, UnixAddr,
    UnixDatagram,
};

fn stop<T: Transport>(handle: ServerHandle<T>) -> Stats {
    handle.shutdown();
    handle.join().expect("join")
}

fn drop_1_loses_every_reply<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let handle = spawn(transport, addr, "drop=1", Options::new());
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

fn truncate_cuts_the_reply_to_n_bytes<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let handle = spawn(transport, addr, "truncate=100", Options::new());
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

fn corrupt_changes_one_byte_the_client_names<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let handle = spawn(transport, addr, "corrupt=1", Options::new());
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

fn delay_holds_every_reply_at_least_the_delay<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let handle = spawn(transport, addr, "delay=50ms", Options::new());
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

fn conditions_pick_the_datagrams<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    // The first two datagrams are dropped: the third attempt is answered (more resends, in
    // case its reply is slower than the timeout on a busy machine).
    let handle = spawn(transport, addr, "drop=1,connections=2", Options::new());
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
    let fresh = match addr.starts_with('@') {
        true => faults_support::unix_name(),
        false => addr.to_owned(),
    };
    let handle = spawn(transport, &fresh, "drop=1,after=2", Options::new());
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

fn a_fault_for_one_peer_spares_the_others<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let handle = spawn(transport, addr, "", Options::new());
    let timeout = Duration::from_millis(300);
    let mut target = client(transport, handle.local_addr(), timeout, Some(0));
    let mut other = client(transport, handle.local_addr(), timeout, Some(0));
    let fault = Fault::drop(1.0).with_peer(target.local_addr().unwrap());
    handle.set_faults(Faults::new().with(fault)).unwrap();
    assert!(matches!(target.echo(b"me?"), Err(Error::Timeout { .. })));
    assert_eq!(&other.echo(b"me!").unwrap()[..], b"me!");
    assert_eq!(stop(handle).faults.dropped, 1);
}

fn faults_changed_through_the_handle_apply_to_what_comes_next<T: Transport>(
    transport: T,
    addr: &str,
) where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let handle = spawn(transport, addr, "", Options::new());
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

fn held_replies_stay_within_max_pending<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    // A 60-byte reply fits in 100 bytes of held replies; the next two do not.
    let handle = EchoServer::bind_on(transport, addr)
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

fn serve_once_injects_the_faults_too<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let server = EchoServer::bind_on(transport, addr)
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

fn stream_faults_are_refused<T: Transport>(transport: T, addr: &str)
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let server = EchoServer::bind_on(transport, addr).unwrap();
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

for_datagrams!(
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

/// A raw datagram socket, to see every reply as it comes (the client skips the ones it does
/// not wait for).
trait Raw {
    fn send(&self, data: &[u8]);
    /// The next reply, or `None` after `SHORT`.
    fn recv(&self) -> Option<Vec<u8>>;
}

/// The reply a raw `recv` into `buffer` got, or `None` if it timed out; panics on any other
/// error.
fn reply(received: io::Result<usize>, buffer: &[u8]) -> Option<Vec<u8>> {
    match received {
        Ok(n) => Some(buffer[..n].to_vec()),
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

impl Raw for UdpSocket {
    fn send(&self, data: &[u8]) {
        UdpSocket::send(self, data).unwrap();
    }

    fn recv(&self) -> Option<Vec<u8>> {
        let mut buffer = vec![0; 65536];
        reply(UdpSocket::recv(self, &mut buffer), &buffer)
    }
}

impl Raw for StdUnixDatagram {
    fn send(&self, data: &[u8]) {
        StdUnixDatagram::send(self, data).unwrap();
    }

    fn recv(&self) -> Option<Vec<u8>> {
        let mut buffer = vec![0; 65536];
        reply(StdUnixDatagram::recv(self, &mut buffer), &buffer)
    }
}

/// How long a raw socket waits for a reply that must not come.
const SHORT: Duration = Duration::from_millis(200);

/// One worker: the datagrams a raw client sends back to back are then drawn for in the order
/// they arrived (two workers may take two of them in either order).
fn one_worker() -> Options {
    Options::new().with_workers(std::num::NonZeroUsize::new(1))
}

/// A UDP server with `specs` and a raw client connected to it.
fn raw_udp(specs: &str, seed: u64) -> (ServerHandle<Udp>, UdpSocket) {
    let handle = EchoServer::bind_on_with(Udp, "127.0.0.1:0", one_worker())
        .unwrap()
        .with_faults(faults(specs, seed))
        .unwrap()
        .spawn()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(handle.local_addr()).unwrap();
    socket.set_read_timeout(Some(SHORT)).unwrap();
    (handle, socket)
}

/// A Unix datagram server with `specs` and a raw client, bound to a name of its own so the
/// server can answer it, connected to it.
fn raw_unixgram(specs: &str, seed: u64) -> (ServerHandle<UnixDatagram>, StdUnixDatagram) {
    use std::os::linux::net::SocketAddrExt;
    let name = faults_support::unix_name();
    let handle = EchoServer::bind_on_with(UnixDatagram, name.as_str(), one_worker())
        .unwrap()
        .with_faults(faults(specs, seed))
        .unwrap()
        .spawn()
        .unwrap();
    let name = faults_support::unix_name();
    let own = std::os::unix::net::SocketAddr::from_abstract_name(&name.as_bytes()[1..]).unwrap();
    let socket = StdUnixDatagram::bind_addr(&own).unwrap();
    let server: UnixAddr = handle.local_addr();
    socket.connect_addr(server.as_std()).unwrap();
    socket.set_read_timeout(Some(SHORT)).unwrap();
    (handle, socket)
}

fn duplicate_sends_each_reply_twice(raw: &impl Raw) {
    raw.send(b"one");
    raw.send(b"two");
    let replies: Vec<Vec<u8>> = std::iter::from_fn(|| raw.recv()).take(10).collect();
    assert_eq!(replies, [&b"one"[..], b"one", b"two", b"two"]);
}

fn reorder_sends_a_held_reply_after_the_next(raw: &impl Raw) {
    raw.send(b"first");
    raw.send(b"second");
    raw.send(b"third");
    raw.send(b"fourth");
    let replies: Vec<Vec<u8>> = std::iter::from_fn(|| raw.recv()).take(10).collect();
    assert_eq!(replies, [&b"second"[..], b"first", b"fourth", b"third"]);
}

/// The offset of the one byte that differs between `a` and `b`, which have the same length.
fn one_flipped_byte(a: &[u8], b: &[u8]) -> usize {
    assert_eq!(a.len(), b.len());
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    assert_eq!(differ.len(), 1, "{differ:?}");
    differ[0]
}

/// A server's handle (kept alive while its raw client is used) and the raw client.
type Pair = (Box<dyn std::any::Any>, Box<dyn Raw>);

fn corrupt_flips_the_same_byte_for_the_same_seed(pair: impl Fn(u64) -> Pair) {
    let probe = [0x55u8; 256];
    let flipped = |seed| {
        let (_server, raw) = pair(seed);
        raw.send(&probe);
        one_flipped_byte(&raw.recv().expect("reply"), &probe)
    };
    let offsets: Vec<usize> = (1..=4).map(flipped).collect();
    assert_eq!(offsets, (1..=4).map(flipped).collect::<Vec<_>>());
    assert!(offsets.windows(2).any(|w| w[0] != w[1]), "{offsets:?}");
}

#[test]
fn duplicate_sends_each_reply_twice_udp() {
    let (handle, socket) = raw_udp("duplicate=1", 0);
    duplicate_sends_each_reply_twice(&socket);
    let stats = stop(handle);
    assert_eq!((stats.faults.duplicated, stats.datagrams_echoed), (2, 4));
}

#[test]
fn duplicate_sends_each_reply_twice_unixgram() {
    let (handle, socket) = raw_unixgram("duplicate=1", 0);
    duplicate_sends_each_reply_twice(&socket);
    assert_eq!(stop(handle).faults.duplicated, 2);
}

#[test]
fn reorder_sends_a_held_reply_after_the_next_udp() {
    let (handle, socket) = raw_udp("reorder=1,hold=10s", 0);
    reorder_sends_a_held_reply_after_the_next(&socket);
    assert_eq!(stop(handle).faults.reordered, 2);
}

#[test]
fn reorder_sends_a_held_reply_after_the_next_unixgram() {
    let (handle, socket) = raw_unixgram("reorder=1,hold=10s", 0);
    reorder_sends_a_held_reply_after_the_next(&socket);
    assert_eq!(stop(handle).faults.reordered, 2);
}

#[test]
fn a_reordered_reply_goes_after_its_hold_if_nothing_follows() {
    let (handle, socket) = raw_udp("reorder=1,hold=100ms", 0);
    let start = Instant::now();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    Raw::send(&socket, b"alone");
    assert_eq!(Raw::recv(&socket).unwrap(), b"alone");
    assert!(start.elapsed() >= Duration::from_millis(100));
    stop(handle);
}

#[test]
fn corrupt_flips_the_same_byte_for_the_same_seed_udp() {
    corrupt_flips_the_same_byte_for_the_same_seed(|seed| {
        let (handle, socket) = raw_udp("corrupt=1", seed);
        (Box::new(handle), Box::new(socket))
    });
}

#[test]
fn corrupt_flips_the_same_byte_for_the_same_seed_unixgram() {
    corrupt_flips_the_same_byte_for_the_same_seed(|seed| {
        let (handle, socket) = raw_unixgram("corrupt=1", seed);
        (Box::new(handle), Box::new(socket))
    });
}

#[test]
fn truncate_sends_exactly_n_bytes() {
    let (handle, socket) = raw_udp("truncate=10", 0);
    Raw::send(&socket, &[3u8; 50]);
    assert_eq!(Raw::recv(&socket).unwrap(), [3u8; 10]);
    Raw::send(&socket, &[4u8; 5]);
    assert_eq!(Raw::recv(&socket).unwrap(), [4u8; 5]);
    stop(handle);
}
