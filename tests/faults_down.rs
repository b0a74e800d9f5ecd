//! A server that goes down and comes back on the same address (`ServerHandle::down` and
//! `up`), seen by the crate's own client over every transport: a connect is refused while it
//! is down and succeeds again after `up`, on the same address; open connections are kept or
//! reset as asked; a datagram server answers nothing while down.

mod faults_support;
mod transports;
mod util;

use std::time::Duration;

use faults_support::{PATIENCE, client, spawn};
use socket_echo::{Down, EchoClient, EchoServer, Error, Options, Stats, Transport};
use transports::{Kind, Site};

fn stop<T: Transport>(handle: socket_echo::ServerHandle<T>) -> Stats {
    handle.shutdown();
    handle.join().expect("join")
}

/// Whether a connect to `addr` is refused (or finds no socket there).
fn refused<T: Transport>(transport: T, addr: T::Addr) -> bool {
    match EchoClient::connect_on(transport, addr) {
        Err(Error::Connect { source, .. }) => matches!(
            source.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
        ),
        other => panic!("expected the connect to be refused, got {other:?}"),
    }
}

fn down_refuses_connects_keeps_the_open_ones_and_up_serves_again<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "", Options::new());
    let addr = handle.local_addr();
    let mut open = client(transport, addr.clone(), PATIENCE, None);
    assert_eq!(&open.echo(b"before").unwrap()[..], b"before");
    handle.down(Down::Keep).unwrap();
    assert!(handle.is_down());
    assert!(refused(transport, addr.clone()));
    assert_eq!(&open.echo(b"kept").unwrap()[..], b"kept");
    handle.up().unwrap();
    assert!(!handle.is_down());
    assert_eq!(handle.local_addr(), addr);
    let mut again = client(transport, addr.clone(), PATIENCE, None);
    assert_eq!(&again.echo(b"after").unwrap()[..], b"after");
    assert_eq!(&open.echo(b"still").unwrap()[..], b"still");
    // Down and up a second time, on the same address still.
    handle.down(Down::Keep).unwrap();
    assert!(refused(transport, addr.clone()));
    handle.up().unwrap();
    assert_eq!(
        &client(transport, addr, PATIENCE, None)
            .echo(b"third")
            .unwrap()[..],
        b"third"
    );
    drop((open, again));
    let stats = stop(handle);
    assert_eq!((stats.faults.went_down, stats.faults.reset_by_down), (2, 0));
}

fn down_with_reset_resets_the_open_connections<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "", Options::new());
    let mut open = client(transport, handle.local_addr(), PATIENCE, None);
    assert_eq!(&open.echo(b"before").unwrap()[..], b"before");
    handle.down(Down::Reset).unwrap();
    // Over a Unix socket, a reset with nothing unread is an end-of-stream.
    match open.echo(b"after") {
        Err(Error::Reset { .. } | Error::ShortEcho { received: 0, .. } | Error::Send { .. }) => {}
        other => panic!("expected the connection reset, got {other:?}"),
    }
    assert!(refused(transport, handle.local_addr()));
    handle.up().unwrap();
    let stats = stop(handle);
    assert_eq!((stats.faults.went_down, stats.faults.reset_by_down), (1, 1));
}

over_stream_transports!(
    down_refuses_connects_keeps_the_open_ones_and_up_serves_again,
    down_with_reset_resets_the_open_connections,
);

fn a_datagram_server_down_answers_nothing_until_up<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "", Options::new());
    // One client waits long enough to be answered; the other gives up soon.
    let mut patient = client(transport, handle.local_addr(), PATIENCE, Some(0));
    let mut impatient = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(50),
        Some(1),
    );
    assert_eq!(&patient.echo(b"before").unwrap()[..], b"before");
    handle.down(Down::Keep).unwrap();
    match impatient.echo(b"anyone?") {
        Err(Error::Timeout { attempts: 2, .. }) => {}
        other => panic!("expected no answer to 2 attempts, got {other:?}"),
    }
    handle.up().unwrap();
    assert_eq!(&patient.echo(b"after").unwrap()[..], b"after");
    let stats = stop(handle);
    assert_eq!(stats.faults.went_down, 1);
    // Each of the 4 datagrams was answered or ignored; at least the first attempt while
    // down was ignored (the second may still have been waiting in the socket at `up`).
    let ignored = stats.faults.ignored_while_down;
    assert!((1..=2).contains(&ignored), "{ignored} ignored");
    assert_eq!(stats.datagrams_echoed + ignored, 4);
}

over_datagram_transports!(a_datagram_server_down_answers_nothing_until_up);

/// A port taken while the server was down: `up` says so, the server stays down, and comes
/// up once the port is free again.
#[test]
fn up_on_a_port_taken_meanwhile_is_a_bind_error() {
    let site = Site::new(socket_echo::Tcp, transports::Place::V4, "tcp_v4");
    let handle = spawn(&site, "", Options::new());
    let addr = handle.local_addr();
    handle.down(Down::Keep).unwrap();
    let intruder = EchoServer::bind(addr).expect("the freed port");
    match handle.up() {
        Err(Error::Bind {
            addr: taken,
            source,
            ..
        }) => {
            assert_eq!(taken, socket_echo::Address::from(addr));
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
    assert!(handle.is_down());
    drop(intruder);
    handle.up().unwrap();
    assert_eq!(
        &EchoClient::connect(addr).unwrap().echo(b"mine").unwrap()[..],
        b"mine"
    );
    stop(handle);
}

/// A Unix socket file: down takes it away with the listener, up makes it again.
#[test]
fn a_unix_socket_file_comes_back_with_up() {
    let dir = std::env::temp_dir().join(format!("socket-echo-down-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let handle = EchoServer::bind_on(socket_echo::Unix, &path)
        .unwrap()
        .spawn()
        .unwrap();
    handle.down(Down::Keep).unwrap();
    assert!(refused(socket_echo::Unix, handle.local_addr()));
    handle.up().unwrap();
    let mut client = EchoClient::connect_on(socket_echo::Unix, handle.local_addr()).unwrap();
    assert_eq!(&client.echo(b"file").unwrap()[..], b"file");
    drop(client);
    stop(handle);
    assert!(
        !path.exists(),
        "the server removes its socket file when it stops"
    );
    std::fs::remove_dir(&dir).unwrap();
}
