//! The faults that end a connection on time, hold its end back, or swallow everything
//! (`close-in`, `slow-close`, `blackhole`; `reset-in` is in faults_stream.rs), observed by the crate's own client
//! over every transport they apply to, and counted in `Stats::faults`. Times are checked
//! only from below (never sooner than injected), never from above.

mod faults_support;
mod transports;
mod util;

use std::thread;
use std::time::{Duration, Instant};

use faults_support::{PATIENCE, client, spawn};
use socket_echo::{Error, Options, Stats, Transport};
use transports::{Kind, Site};

fn stop<T: Transport>(handle: socket_echo::ServerHandle<T>) -> Stats {
    handle.shutdown();
    handle.join().expect("join")
}

/// A stream client that waits at most 100 ms for an answer.
fn impatient<T: Transport>(transport: T, addr: T::Addr) -> socket_echo::EchoClient<T> {
    client(transport, addr, Duration::from_millis(100), None)
}

/// Echoes small messages, 10 ms apart, until one fails: the error, how long it took from
/// the connect, and how many echoes came back first.
fn echo_until_it_fails<T: Transport>(
    client: &mut socket_echo::EchoClient<T>,
    start: Instant,
) -> (Error, Duration, usize) {
    let mut echoes = 0;
    loop {
        match client.echo(b"still there?") {
            Ok(echo) => {
                assert_eq!(&echo[..], b"still there?");
                echoes += 1;
            }
            Err(error) => return (error, start.elapsed(), echoes),
        }
        assert!(start.elapsed() < PATIENCE, "never ended");
        thread::sleep(Duration::from_millis(10));
    }
}

fn close_in_ends_the_stream_after_the_time_not_after_bytes<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "close-in=200ms", Options::new());
    let start = Instant::now();
    let mut client = client(transport, handle.local_addr(), PATIENCE, None);
    let (error, elapsed, echoes) = echo_until_it_fails(&mut client, start);
    assert!(
        matches!(error, Error::ShortEcho { received: 0, .. }),
        "expected a clean end-of-stream, got {error:?}"
    );
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(echoes > 1, "served whole until the time: {echoes} echoes");
    drop(client);
    let stats = stop(handle);
    assert_eq!(stats.faults.closed, 1);
    assert_eq!(stats.faults.reset, 0);
}

/// One echo of 8 bytes to a server with `spec`: what it gave, how long it took, and the
/// server's statistics.
fn one_echo<T: Kind>(
    site: &Site<T>,
    spec: &str,
) -> (socket_echo::Result<Vec<u8>>, Duration, Stats) {
    let handle = spawn(site, spec, Options::new());
    let mut client = client(site.transport, handle.local_addr(), PATIENCE, None);
    let start = Instant::now();
    let echo = client.echo(b"12345678").map(|echo| echo.to_vec());
    let elapsed = start.elapsed();
    drop(client);
    (echo, elapsed, stop(handle))
}

fn slow_close_holds_every_end_back<T: Kind>(site: &Site<T>) {
    let (echo, elapsed, stats) = one_echo(site, "close-after=4; slow-close=300ms");
    assert!(
        matches!(echo, Err(Error::ShortEcho { received: 4, .. })),
        "expected a short echo of 4 bytes, got {echo:?}"
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert_eq!((stats.faults.closed, stats.faults.slow_closed), (1, 1));

    let (echo, elapsed, stats) = one_echo(site, "reset-after=4; slow-close=300ms");
    // Over a Unix socket, a reset with nothing unread is an end-of-stream.
    assert!(
        matches!(
            echo,
            Err(Error::Reset { received: 4, .. } | Error::ShortEcho { received: 4, .. })
        ),
        "expected a reset after 4 bytes, got {echo:?}"
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert_eq!((stats.faults.reset, stats.faults.slow_closed), (1, 1));
}

fn blackhole_takes_every_write_and_answers_nothing<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "blackhole", Options::new());
    let mut client = impatient(transport, handle.local_addr());
    for _ in 0..3 {
        // The write succeeds (a failed one would be `Send`); only the read times out.
        match client.echo(&[7u8; 1000]) {
            Err(Error::Timeout { .. }) => {}
            other => panic!("expected a read timeout, got {other:?}"),
        }
    }
    drop(client);
    let stats = stop(handle);
    assert_eq!(stats.faults.blackholed, 1);
    assert_eq!(stats.bytes_in, 3000, "every byte was read");
    assert_eq!(stats.bytes_out, 0, "none was answered");
}

fn blackhole_after_n_bytes_echoes_them_first<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "blackhole,after=10", Options::new());
    let mut client = impatient(transport, handle.local_addr());
    assert_eq!(&client.echo(b"0123456789").unwrap()[..], b"0123456789");
    assert!(matches!(client.echo(b"more"), Err(Error::Timeout { .. })));
    drop(client);
    let stats = stop(handle);
    assert_eq!((stats.bytes_out, stats.faults.blackholed), (10, 1));
}

over_stream_transports!(
    close_in_ends_the_stream_after_the_time_not_after_bytes,
    slow_close_holds_every_end_back,
    blackhole_takes_every_write_and_answers_nothing,
    blackhole_after_n_bytes_echoes_them_first,
);

fn blackhole_swallows_every_datagram<T: Kind>(site: &Site<T>) {
    let transport = site.transport;
    let handle = spawn(site, "blackhole", Options::new());
    let mut client = client(
        transport,
        handle.local_addr(),
        Duration::from_millis(50),
        Some(2),
    );
    match client.echo(b"anyone?") {
        Err(Error::Timeout { attempts: 3, .. }) => {}
        other => panic!("expected a timeout after 3 attempts, got {other:?}"),
    }
    handle.set_faults(socket_echo::Faults::new()).unwrap();
    assert_eq!(&client.echo(b"back").unwrap()[..], b"back");
    let stats = stop(handle);
    assert_eq!(stats.faults.blackholed, 3);
    assert_eq!(stats.datagrams_echoed, 1);
}

over_datagram_transports!(blackhole_swallows_every_datagram);
