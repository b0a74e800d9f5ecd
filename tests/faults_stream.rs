//! RELIABILITY 36, stream transports: each fault the server injects, over TCP and Unix
//! stream sockets, is observed exactly by the crate's own client and counted in `Stats`.
//! Times are checked only from below (at least the injected delay), never from above.

mod faults_support;
mod transports;
mod util;

use std::thread;
use std::time::{Duration, Instant};

use faults_support::{PATIENCE, client, faults, spawn};
use socket_echo::{EchoClient, EchoServer, Error, Fault, Faults, Options, Stats, Transport};
use transports::{Kind, Site};

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn stop<T: Transport>(handle: socket_echo::ServerHandle<T>) -> Stats {
    handle.shutdown();
    handle.join().expect("join")
}

fn close_after_gives_a_short_echo_of_exactly_n_bytes<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "close-after=1000", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    match client.echo(&message(3000)) {
        Err(Error::ShortEcho { sent, received, .. }) => assert_eq!((sent, received), (3000, 1000)),
        other => panic!("expected a short echo of 1000 bytes, got {other:?}"),
    }
    drop(client);
    let stats = stop(handle);
    assert_eq!(stats.faults.closed, 1);
    assert_eq!(stats.bytes_out, 1000);
}

fn reset_after_gives_a_reset_after_exactly_n_bytes<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "reset-after=1000", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    match client.echo(&message(3000)) {
        Err(Error::Reset { sent, received, .. }) => assert_eq!((sent, received), (3000, 1000)),
        other => panic!("expected a reset after 1000 bytes, got {other:?}"),
    }
    let stats = stop(handle);
    assert_eq!(stats.faults.reset, 1);
}

fn reset_after_a_time_resets_a_connection_no_sooner<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "reset-in=200ms", Options::new());
    let start = Instant::now();
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    let mut echoes = 0;
    let error = loop {
        match client.echo(b"still there?") {
            Ok(_) => echoes += 1,
            Err(error) => break error,
        }
        assert!(start.elapsed() < PATIENCE, "never reset");
        thread::sleep(Duration::from_millis(10));
    };
    // A Unix stream socket has no reset of its own: closed with nothing unread, it gives its
    // peer an end-of-stream.
    assert!(
        matches!(
            error,
            Error::Reset { received: 0, .. }
                | Error::Send { .. }
                | Error::ShortEcho { received: 0, .. }
        ),
        "expected a reset, got {error:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(echoes > 0, "the connection was served before its reset");
    assert_eq!(stop(handle).faults.reset, 1);
}

fn stall_after_leaves_the_client_waiting_after_n_bytes<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "stall-after=1000", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(300),
        None,
    );
    let error = client.echo(&message(3000)).unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let stats = stop(handle);
    assert_eq!(stats.faults.stalled, 1);
    assert_eq!(stats.bytes_out, 1000, "exactly the bytes before the stall");
}

fn delay_holds_every_echo_at_least_the_delay<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "delay=50ms,jitter=10ms", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    for _ in 0..3 {
        let start = Instant::now();
        client.echo(b"slowly").unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(40),
            "{:?}",
            start.elapsed()
        );
    }
    drop(client);
    assert!(stop(handle).faults.delayed >= 3);
}

fn slicing_makes_100_bytes_take_nine_pauses<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "slice=10,pause=20ms", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    let start = Instant::now();
    let echo = client.echo(&message(100)).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(180),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(echo, message(100));
    drop(client);
    assert!(stop(handle).faults.sliced >= 9);
}

fn a_rate_limit_makes_the_echo_take_its_time<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    // 1000 bytes a second, 10 of them saved up: 500 bytes take at least 490 ms.
    let handle = spawn(site, "rate=1000", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    let start = Instant::now();
    assert_eq!(client.echo(&message(500)).unwrap(), message(500));
    assert!(
        start.elapsed() >= Duration::from_millis(490),
        "{:?}",
        start.elapsed()
    );
    drop(client);
    assert!(stop(handle).faults.rate_limited > 0);
}

fn a_shared_rate_limits_all_connections_together<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    // Two connections of 300 bytes under one limit of 1000 bytes a second: at least 590 ms,
    // where each alone would take 290.
    let handle = spawn(site, "shared-rate=1000", Options::new());
    let start = Instant::now();
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let mut client = client(transport, handle.local_addr(), PATIENCE, None);
            thread::spawn(move || client.echo(&message(300)).map(|echo| echo.len()))
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap().unwrap(), 300);
    }
    assert!(
        start.elapsed() >= Duration::from_millis(590),
        "{:?}",
        start.elapsed()
    );
    stop(handle);
}

fn accept_close_ends_the_connection_before_any_byte<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "accept-close", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    match client.echo(b"hello?") {
        // End-of-stream, or a reset if the hello was already in when the server closed.
        Err(Error::ShortEcho { received: 0, .. } | Error::Reset { received: 0, .. }) => {}
        other => panic!("expected the connection to end before any byte, got {other:?}"),
    }
    let stats = stop(handle);
    assert_eq!(stats.faults.accept_closed, 1);
    assert_eq!(stats.bytes_out, 0);
}

fn accept_delay_serves_the_connection_late<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "accept-delay=200ms", Options::new());
    let start = Instant::now();
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    client.echo(b"late").unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    drop(client);
    assert_eq!(stop(handle).faults.accept_delayed, 1);
}

fn connections_and_after_choose_where_a_fault_applies<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(
        site,
        "close-after=10,after=20,connections=1",
        Options::new(),
    );
    let mut first = client(transport, handle.local_addr(), PATIENCE, None);
    match first.echo(&message(100)) {
        Err(Error::ShortEcho { received, .. }) => assert_eq!(received, 30),
        other => panic!("expected a short echo of 20 + 10 bytes, got {other:?}"),
    }
    let mut second = client(transport, handle.local_addr(), PATIENCE, None);
    assert_eq!(second.echo(&message(100)).unwrap(), message(100));
    drop((first, second));
    assert_eq!(stop(handle).faults.closed, 1);
}

fn faults_changed_through_the_handle_apply_to_what_comes_next<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "", Options::new());
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    assert_eq!(client.echo(&message(50)).unwrap(), message(50));
    // The connection already open gets the new fault, counted from the change.
    handle.set_faults(faults("close-after=5", 0)).unwrap();
    match client.echo(&message(50)) {
        Err(Error::ShortEcho { received, .. }) => assert_eq!(received, 5),
        other => panic!("expected a short echo of 5 bytes, got {other:?}"),
    }
    handle.set_faults(Faults::new()).unwrap();
    let mut again = faults_support::client(transport, handle.local_addr(), PATIENCE, None);
    assert_eq!(again.echo(&message(50)).unwrap(), message(50));
    assert!(handle.faults().is_empty());
    drop((client, again));
    assert_eq!(stop(handle).faults.closed, 1);
}

fn the_same_seed_picks_the_same_connections<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let run = |seed| {
        let handle = EchoServer::bind_on(transport, site.addr())
            .unwrap()
            .with_faults(faults("close-after=0,probability=0.5", seed))
            .unwrap()
            .spawn()
            .unwrap();
        let closed: Vec<bool> = (0..16)
            .map(|_| {
                let mut client = client(transport, handle.local_addr(), PATIENCE, None);
                client.echo(b"x").is_err()
            })
            .collect();
        stop(handle);
        closed
    };
    let first = run(11);
    assert_eq!(first, run(11));
    assert_ne!(first, run(12));
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
}

fn held_bytes_stay_within_max_pending<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    // A long delay holds everything: the server reads no more than max_pending, then stops
    // reading (the client's writes then fill the socket buffers and time out).
    let handle = spawn(site, "delay=30s", Options::new().with_max_pending(4096));
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(300),
        None,
    );
    assert!(matches!(
        client.echo(&message(1 << 20)),
        Err(Error::Timeout { .. })
    ));
    let stats = handle.stats();
    assert!(stats.bytes_in <= 4096, "read {} bytes", stats.bytes_in);
    assert_eq!(stats.bytes_out, 0);
    drop(client);
    stop(handle);
}

fn serve_once_injects_the_faults_too<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let server = EchoServer::bind_on(transport, site.addr())
        .unwrap()
        .with_faults(faults("close-after=4", 0))
        .unwrap();
    let mut client = client(transport, server.local_addr(), PATIENCE, None);
    let served = thread::spawn(move || server.serve_once());
    match client.echo(&message(10)) {
        Err(Error::ShortEcho { received, .. }) => assert_eq!(received, 4),
        other => panic!("expected a short echo of 4 bytes, got {other:?}"),
    }
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 4);
}

fn serve_once_slices_and_delays<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let server = EchoServer::bind_on(transport, site.addr())
        .unwrap()
        .with_faults(faults("slice=10,pause=20ms; delay=30ms", 0))
        .unwrap();
    let mut client = client(transport, server.local_addr(), PATIENCE, None);
    let served = thread::spawn(move || server.serve_once());
    let start = Instant::now();
    assert_eq!(client.echo(&message(100)).unwrap(), message(100));
    assert!(
        start.elapsed() >= Duration::from_millis(210),
        "{:?}",
        start.elapsed()
    );
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 100);
}

fn datagram_faults_are_refused<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let server = EchoServer::bind_on(transport, site.addr()).unwrap();
    for spec in [
        "drop=0.5",
        "duplicate",
        "reorder",
        "truncate=10",
        "corrupt=0.1",
    ] {
        match server.set_faults(faults(spec, 0)) {
            Err(Error::InvalidFault { fault, .. }) => {
                assert!(spec.starts_with(fault.split('=').next().unwrap()))
            }
            other => panic!("{spec} should be refused, got {other:?}"),
        }
    }
    assert!(server.faults().is_empty());
}

over_stream_transports!(
    close_after_gives_a_short_echo_of_exactly_n_bytes,
    reset_after_gives_a_reset_after_exactly_n_bytes,
    reset_after_a_time_resets_a_connection_no_sooner,
    stall_after_leaves_the_client_waiting_after_n_bytes,
    delay_holds_every_echo_at_least_the_delay,
    slicing_makes_100_bytes_take_nine_pauses,
    a_rate_limit_makes_the_echo_take_its_time,
    a_shared_rate_limits_all_connections_together,
    accept_close_ends_the_connection_before_any_byte,
    accept_delay_serves_the_connection_late,
    connections_and_after_choose_where_a_fault_applies,
    faults_changed_through_the_handle_apply_to_what_comes_next,
    the_same_seed_picks_the_same_connections,
    held_bytes_stay_within_max_pending,
    serve_once_injects_the_faults_too,
    serve_once_slices_and_delays,
    datagram_faults_are_refused,
);

/// `peer=` picks one client: over TCP each client has an address of its own (a Unix stream
/// client is usually unnamed, so this is a TCP test).
#[test]
fn a_fault_for_one_peer_spares_the_others() {
    let site = Site::new(socket_echo::Tcp, transports::Place::V4, "tcp_v4");
    let handle = spawn(&site, "", Options::new());
    let mut target = client(socket_echo::Tcp, handle.local_addr(), PATIENCE, None);
    let mut other = client(socket_echo::Tcp, handle.local_addr(), PATIENCE, None);
    let fault = Fault::close_after(3).with_peer(target.local_addr().unwrap());
    handle.set_faults(Faults::new().with(fault)).unwrap();
    match target.echo(&message(10)) {
        Err(Error::ShortEcho { received, .. }) => assert_eq!(received, 3),
        other => panic!("expected a short echo of 3 bytes, got {other:?}"),
    }
    assert_eq!(other.echo(&message(10)).unwrap(), message(10));
    let mut newcomer = EchoClient::connect(handle.local_addr()).unwrap();
    assert_eq!(newcomer.echo(&message(10)).unwrap(), message(10));
    drop((target, other, newcomer));
    assert_eq!(stop(handle).faults.closed, 1);
}
