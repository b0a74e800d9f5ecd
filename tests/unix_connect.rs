//! A Unix stream client against a server whose listen queue is full (it accepts too slowly,
//! or not at all): the connect waits for room, as a blocking connect does, for at most the
//! connect timeout, and then fails as timed out, naming the path. It never fails at once.
//!
//! Linux answers a non-blocking connect to a full Unix listen queue with "would block", not
//! "in progress": the socket is not connecting, so there is nothing to poll for.

mod transports;
mod util;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket_echo::{EchoClient, Error, Options, Unix, UnixAddr};
use socket2::{Domain, SockAddr, Socket, Type};
use transports::{Place, Site};
use util::{assert_io_source, assert_names};

/// A Unix listener at `path` that never accepts by itself, its queue (one connection) full,
/// and the connections that fill it.
fn full_listener(path: &Path) -> (Socket, Vec<Socket>) {
    let addr = SockAddr::unix(path).unwrap();
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener.bind(&addr).unwrap();
    listener.listen(0).unwrap();
    let mut queued = Vec::new();
    // A queue of one takes one or two connections; a bound in case it takes more.
    for _ in 0..64 {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        socket.set_nonblocking(true).unwrap();
        match socket.connect(&addr) {
            Ok(()) => queued.push(socket),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return (listener, queued),
            Err(e) => panic!("filling the listen queue: {e}"),
        }
    }
    panic!("the listen queue took 64 connections and was still not full");
}

#[test]
fn a_connect_to_a_full_listen_queue_times_out_naming_the_path() {
    let site = Site::new(Unix, Place::Path, "full_queue_timeout");
    let path = PathBuf::from(site.text());
    let (_listener, _queued) = full_listener(&path);
    let options = Options::new().with_connect_timeout(Some(Duration::from_millis(200)));
    let addr = UnixAddr::from_pathname(&path).unwrap();
    match EchoClient::connect_on_with(Unix, addr, options) {
        Err(error @ Error::Connect { .. }) => {
            assert_io_source(&error, ErrorKind::TimedOut);
            assert_names(&error, &path.display().to_string());
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[test]
fn a_connect_to_a_full_listen_queue_waits_for_room() {
    let site = Site::new(Unix, Place::Path, "full_queue_wait");
    let path = PathBuf::from(site.text());
    let (listener, _queued) = full_listener(&path);
    let addr = UnixAddr::from_pathname(&path).unwrap();
    // The default connect timeout (10 s): far longer than the wait below.
    let connecting = std::thread::spawn(move || EchoClient::connect_on(Unix, addr).map(drop));
    // The client is waiting for room by now (the wait is the behaviour under test: no sleep
    // stands in for synchronisation here); one accept makes room.
    std::thread::sleep(Duration::from_millis(100));
    let _accepted = listener.accept().unwrap();
    connecting
        .join()
        .unwrap()
        .expect("the connect completes once the queue has room");
}

#[cfg(feature = "measure")]
#[test]
fn a_load_of_many_connections_against_a_queue_of_one_connects_them_all() {
    use socket_echo::{EchoServer, Load};
    let site = Site::new(Unix, Place::Path, "full_queue_load");
    let path = PathBuf::from(site.text());
    let server = EchoServer::bind_on_with(Unix, &path, Options::new().with_backlog(1))
        .unwrap()
        .spawn()
        .unwrap();
    let report = Load::new()
        .with_connections(200)
        .with_threads(2)
        .with_size(64)
        .with_messages(2)
        .run(Unix, server.local_addr())
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (400, 0), "{report:?}");
}
