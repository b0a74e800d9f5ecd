//! The server as a peer in someone else's tests: waiting for what it has done (woken by the
//! server, never by polling), over every transport, each test written once.

mod transports;
mod util;

use std::thread;
use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, ServerHandle};
use transports::{Kind, Site, StreamKind};

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
