//! The server as a peer in someone else's tests: waiting for what it has done (woken by the
//! server, never by polling) and the record of what it received, over every transport, each
//! test written once.

mod transports;
mod util;

use std::thread;
use std::time::Duration;

use socket_echo::{
    Address, ConnectionEnd, EchoClient, EchoServer, Record, Recording, ServerHandle,
};
use transports::{DatagramKind, Kind, Site, StreamKind};

/// Long enough never to be reached on a working machine: a wait that hits it has failed.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long a client of these tests waits before connecting, so the wait has begun first.
const LATER: Duration = Duration::from_millis(50);
/// A wait that must run out: nothing that could satisfy it is coming.
const SHORT: Duration = Duration::from_millis(30);

fn spawn<T: Kind>(site: &Site<T>) -> ServerHandle<T> {
    EchoServer::bind_on(site.transport, site.addr())
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A client that, from another thread and [`LATER`], connects to `handle`'s server and has
/// `message` echoed.
fn echo_later<T: Kind>(
    site: &Site<T>,
    handle: &ServerHandle<T>,
    message: &'static [u8],
) -> thread::JoinHandle<EchoClient<T>> {
    let (transport, addr) = (site.transport, handle.local_addr());
    thread::spawn(move || {
        thread::sleep(LATER);
        let mut client = EchoClient::connect_on(transport, addr).expect("connect");
        client.echo(message).expect("echo");
        client
    })
}

/// `wait_for_connections(n)` returns true once the n-th connection is accepted, here by a
/// client that connects from another thread after the wait has begun, and false when no
/// further connection comes before its timeout.
fn wait_for_connections_returns_once_the_nth_is_accepted<T: StreamKind>(site: &Site<T>) {
    let handle = spawn(site);
    let addr = handle.local_addr();
    let first = transports::connect::<T>(&addr);
    let later = thread::spawn(move || {
        thread::sleep(LATER);
        transports::connect::<T>(&addr)
    });
    assert!(
        handle.wait_for_connections(2, PATIENCE),
        "{:?}",
        handle.stats()
    );
    assert_eq!(handle.stats().accepted, 2);
    let second = later.join().unwrap();
    assert!(!handle.wait_for_connections(3, SHORT));
    assert_eq!(handle.stats().accepted, 2);
    drop((first, second));
}

/// `wait_until` sees the bytes of an echo, or of a datagram, a client sends later from another
/// thread, and gives back the stats that satisfied it; it gives `None` at its timeout.
fn wait_until_sees_what_a_later_client_sent<T: Kind>(site: &Site<T>) {
    let handle = spawn(site);
    let client = echo_later(site, &handle, b"twelve bytes");
    let stats = handle
        .wait_until(|s| s.bytes_in >= 12, PATIENCE)
        .expect("the bytes were received");
    assert_eq!(stats.bytes_in, 12);
    let _client = client.join().unwrap();
    assert_eq!(handle.wait_until(|s| s.bytes_in > 12, SHORT), None);
}

/// A wait on a server that stops ends then, with `None`, well before its timeout; so does
/// the future form, and the handle's `join` then returns at once.
fn a_wait_ends_when_the_server_stops<T: Kind>(site: &Site<T>) {
    let handle = spawn(site);
    let stopper = handle.shutdown_handle();
    thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(LATER);
            stopper.shutdown();
        });
        assert_eq!(handle.wait_until(|_| false, Duration::MAX), None);
    });
    assert_eq!(util::block_on(handle.until(|_| false)), None);
    handle.join().expect("join");
}

/// The future form is woken by the server: a client sends later, from another thread.
fn until_is_woken_by_the_server<T: Kind>(site: &Site<T>) {
    let handle = spawn(site);
    let client = echo_later(site, &handle, b"woken");
    let stats = util::block_on(handle.until(|s| s.bytes_out >= 5)).expect("running");
    assert_eq!(stats.bytes_out, 5);
    client.join().unwrap();
}

over_streams!(wait_for_connections_returns_once_the_nth_is_accepted);
over_all!(
    wait_until_sees_what_a_later_client_sent,
    a_wait_ends_when_the_server_stops,
    until_is_woken_by_the_server,
);

/// A server of `site`'s transport that records, keeping `bytes` of each entry.
fn spawn_recording<T: Kind>(site: &Site<T>, recording: Recording) -> ServerHandle<T> {
    EchoServer::bind_on(site.transport, site.addr())
        .expect("bind")
        .with_recording(recording)
        .spawn()
        .expect("spawn")
}

/// The bytes a client sent over a connection are read back from the record in order, with
/// its address, and how it ended once it has closed.
fn the_record_holds_what_a_client_sent_in_order<T: StreamKind>(site: &Site<T>) {
    let handle = spawn_recording(site, Recording::new(4096));
    let mut client = EchoClient::connect_on(site.transport, handle.local_addr()).expect("connect");
    let messages = [&b"first "[..], b"second ", &util::payload(1000, 7)];
    for message in messages {
        assert_eq!(&client.echo(message).expect("echo")[..], message);
    }
    let sent = messages.concat();
    let record = handle.record();
    assert_eq!(record.connections.len(), 1);
    let connection = &record.connections[0];
    assert!(connection.received == sent, "not what was sent, in order");
    assert_eq!(connection.bytes_received, sent.len() as u64);
    assert!(!connection.is_cut() && !record.is_cut());
    assert_eq!(connection.end, None, "still open");
    if site.place().is_ip() {
        let local: Address = client.local_addr().expect("local address").into();
        assert_eq!(connection.peer, local);
    }
    drop(client);
    let ended = |r: &Record| r.connections[0].end.is_some();
    let record = handle
        .wait_for_record(ended, PATIENCE)
        .expect("the end recorded");
    assert_eq!(record.connections[0].end, Some(ConnectionEnd::Closed));
}

/// RELIABILITY 49: a client that sends far more than the cap has its whole echo; the record
/// keeps the first bytes up to the cap, counts the rest and says it was cut.
fn the_cap_holds_with_a_client_that_sends_far_more<T: StreamKind>(site: &Site<T>) {
    const CAP: usize = 1024;
    let handle = spawn_recording(site, Recording::new(CAP));
    let mut client = EchoClient::connect_on(site.transport, handle.local_addr()).expect("connect");
    let message = util::payload(4 << 20, 49);
    assert!(
        client.echo(&message).expect("echo") == message,
        "echo unaffected"
    );
    let record = handle.record();
    let connection = &record.connections[0];
    assert_eq!(connection.received.len(), CAP);
    assert!(connection.received[..] == message[..CAP]);
    assert_eq!(connection.bytes_received, message.len() as u64);
    assert!(connection.is_cut() && record.is_cut());
    drop(client);
    handle.stop();
    let stats = handle.join().expect("join");
    assert_eq!(stats.bytes_out, message.len() as u64);
}

/// Datagrams are recorded in order with their sources, each cut to the cap; past the most
/// entries they are counted, not kept; every one is echoed all the same.
fn datagrams_are_recorded_in_order_within_both_caps<T: DatagramKind>(site: &Site<T>) {
    let handle = spawn_recording(site, Recording::new(8).with_max_entries(3));
    let mut client = EchoClient::connect_on(site.transport, handle.local_addr()).expect("connect");
    let messages = [&b"one"[..], b"twelve bytes", b"three", b"four", b"five"];
    for message in messages {
        assert_eq!(&client.echo(message).expect("echo")[..], message);
    }
    let record = handle.record();
    let kept: Vec<(&[u8], usize)> = record
        .datagrams
        .iter()
        .map(|d| (&d.payload[..], d.len))
        .collect();
    assert_eq!(kept, [(&b"one"[..], 3), (b"twelve b", 12), (b"three", 5)]);
    assert_eq!(
        (record.unrecorded, record.connections.len()),
        (2, 0),
        "two past the most entries"
    );
    assert!(record.datagrams[1].is_cut() && !record.datagrams[0].is_cut());
    let source: Address = client.local_addr().expect("local address").into();
    assert!(record.datagrams.iter().all(|d| d.source == source));
    // Counted once sent, so the count may trail the client's last echo by a moment.
    let echoed = handle.wait_until(|s| s.datagrams_echoed == 5, PATIENCE);
    assert!(echoed.is_some(), "{:?}", handle.stats());
}

/// Without a recording, nothing is kept.
fn a_server_records_nothing_unless_asked<T: Kind>(site: &Site<T>) {
    let handle = spawn(site);
    let mut client = EchoClient::connect_on(site.transport, handle.local_addr()).expect("connect");
    client.echo(b"not kept").expect("echo");
    assert_eq!(handle.record(), Record::default());
}

over_streams!(
    the_record_holds_what_a_client_sent_in_order,
    the_cap_holds_with_a_client_that_sends_far_more,
);
over_datagrams!(datagrams_are_recorded_in_order_within_both_caps);
over_all!(a_server_records_nothing_unless_asked);
