//! `EchoServer::serve()` under its limits, over every stream transport, each test written
//! once: backpressure, idle timeout, max connections, running out of descriptors, and load.
//! TCP on loopback, port 0; Unix streams on a socket file and an abstract name.
//!
//! The tests here measure the process's own memory and descriptors, so they run one at a
//! time (see [`serial`]). Those that measure or load the process run once per transport (TCP
//! over IPv4, Unix on a socket file): the address family does not change what they measure.

mod serve_support;
mod transports;
mod util;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::num::NonZeroUsize;
use std::sync::{Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serve_support::{
    PATIENCE, Rng, finish, is_child, is_timeout, open_fds, raise_nofile, rss_kib, run_child,
    wait_for_stats, wait_until_it_stops_reading,
};
use socket_echo::{EchoServer, Options, ServerHandle};
use socket2::Socket;
use transports::{
    Site, StreamKind, connect, connect_tuned, echo_once, read_to_end_or_reset, round_trip_in_chunks,
};

const MAX_PENDING: usize = 64 * 1024;
const SOCKET_BUFFER: usize = 64 * 1024;

/// Holds the tests of this file to one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Server options with small fixed socket buffers, so the bytes in flight are bounded.
fn small_buffers() -> Options {
    Options::new()
        .with_max_pending(MAX_PENDING)
        .with_recv_buffer_size(Some(SOCKET_BUFFER))
        .with_send_buffer_size(Some(SOCKET_BUFFER))
}

/// A server of `site`'s transport run by `serve()` in the background.
fn spawn<T: StreamKind>(site: &Site<T>, options: Options) -> ServerHandle<T> {
    EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// Writes to a non-blocking client until the write would block; returns how much it wrote.
fn push(stream: &Socket) -> usize {
    let chunk = [7u8; 64 * 1024];
    let mut total = 0;
    // At most 64 MiB: far more than can be in flight if the server holds back.
    for _ in 0..1024 {
        match (&*stream).write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    total
}

/// A client that sends until its writes would block and never reads; returns it and how
/// much it managed to write.
fn stalled_client<T: StreamKind>(server: &T::Addr) -> (Socket, usize) {
    let stream = connect_tuned::<T>(server, |socket| {
        socket.set_recv_buffer_size(SOCKET_BUFFER).unwrap();
        socket.set_send_buffer_size(SOCKET_BUFFER).unwrap();
    });
    stream.set_nonblocking(true).unwrap();
    let written = push(&stream);
    (stream, written)
}

/// RELIABILITY 4 and 31.
fn a_client_that_never_reads_is_held_back_and_costs_bounded_memory<T: StreamKind>(site: &Site<T>) {
    let _serial = serial();
    let handle = spawn(site, small_buffers());
    let server = handle.local_addr();
    let other = connect::<T>(&server);
    echo_once(&other, &[1; 100_000]);
    let rss_before = rss_kib();

    let mut stalled: Vec<(Socket, usize)> = (0..50).map(|_| stalled_client::<T>(&server)).collect();
    wait_for_stats(&handle, "every client to be accepted", |s| s.active == 51);
    // Push again once the server has taken what it will: it must not take more.
    for _ in 0..2 {
        wait_until_it_stops_reading(&handle);
        for (stream, written) in &mut stalled {
            *written += push(stream);
        }
    }
    wait_until_it_stops_reading(&handle);
    // Both ends' buffers (Linux doubles the size asked for; a Unix connection the server
    // accepts has the system's default send buffer) and the server's pending bytes, three
    // times over.
    let in_flight = 3 * (4 * 2 * SOCKET_BUFFER + MAX_PENDING);
    for (i, (_, written)) in stalled.iter().enumerate() {
        assert!(*written < in_flight, "client {i} wrote {written} bytes");
    }
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(
        grown < 50 * (MAX_PENDING as u64 + 256 * 1024) / 1024,
        "RSS grew by {grown} KiB"
    );
    let stats = handle.stats();
    let workers = thread::available_parallelism().map_or(1, NonZeroUsize::get) as u64;
    // What the server holds is what it read and did not write; a snapshot taken mid-echo
    // may count one more buffer per worker.
    let held = stats.bytes_in - stats.bytes_out;
    assert!(
        held <= (50 + workers) * MAX_PENDING as u64,
        "held {held}: {stats:?}"
    );

    // Everyone else is still served.
    let payload = Rng::new(4).bytes(1 << 20);
    round_trip_in_chunks(other, &payload, 4);
    let newcomer = connect::<T>(&server);
    echo_once(&newcomer, b"new");
    drop((stalled, newcomer));
    finish(handle);
}

/// RELIABILITY 4: a client that sends and never reads is closed once it has moved no byte
/// for the idle timeout.
fn a_stalled_client_is_closed_by_the_idle_timeout<T: StreamKind>(site: &Site<T>) {
    let _serial = serial();
    let options = small_buffers().with_idle_timeout(Some(Duration::from_millis(300)));
    let handle = spawn(site, options);
    let server = handle.local_addr();
    let (stalled, written) = stalled_client::<T>(&server);
    assert!(written > 0);
    wait_for_stats(&handle, "the stalled connection to time out", |s| {
        s.timed_out == 1 && s.active == 0
    });
    stalled.set_nonblocking(false).unwrap();
    stalled.set_read_timeout(Some(PATIENCE)).unwrap();
    let (read, ending) = read_to_end_or_reset(&stalled, written);
    assert!(ending.closed(), "{ending:?} after {read} bytes");
    assert!(read <= written);
    echo_once(&connect::<T>(&server), b"others are served");
}

/// RELIABILITY 6: an idle connection is closed after the idle timeout, and kept without one.
fn an_idle_connection_is_closed_after_the_idle_timeout_and_kept_without_one<T: StreamKind>(
    site: &Site<T>,
) {
    let _serial = serial();
    let options = Options::new().with_idle_timeout(Some(Duration::from_millis(300)));
    let handle = spawn(site, options);
    let client = connect::<T>(&handle.local_addr());
    echo_once(&client, b"then nothing");
    assert_eq!((&client).read(&mut [0; 16]).unwrap(), 0, "expected EOF");
    wait_for_stats(&handle, "the timeout count", |s| {
        s.timed_out == 1 && s.active == 0
    });

    let handle = spawn(site, Options::new().with_idle_timeout(None));
    let client = connect::<T>(&handle.local_addr());
    echo_once(&client, b"then nothing");
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let err = (&client).read(&mut [0; 16]).unwrap_err();
    assert!(is_timeout(&err), "expected a read timeout, got {err}");
    echo_once(&client, b"still open");
    assert_eq!(handle.stats().timed_out, 0);
}

/// RELIABILITY 7: the connection beyond `max_connections` is closed without an echo, the
/// others are untouched, and a freed slot serves the next client.
fn the_connection_beyond_max_connections_is_closed_and_a_freed_slot_is_reused<T: StreamKind>(
    site: &Site<T>,
) {
    let _serial = serial();
    let handle = spawn(site, Options::new().with_max_connections(4));
    let server = handle.local_addr();
    let mut clients: Vec<Socket> = (0..4).map(|_| connect::<T>(&server)).collect();
    for client in &clients {
        echo_once(client, b"served");
    }
    let extra = connect::<T>(&server);
    // The write may already meet the closed connection; either way no echo comes.
    let _ = (&extra).write_all(b"no room");
    let (read, ending) = read_to_end_or_reset(&extra, 1 << 20);
    assert_eq!(read, 0, "the extra client got an echo");
    assert!(ending.closed(), "{ending:?}");
    let stats = wait_for_stats(&handle, "the refusal", |s| s.refused >= 1);
    assert_eq!(stats.active, 4);
    for client in &clients {
        echo_once(client, b"still served");
    }

    drop(clients.pop());
    wait_for_stats(&handle, "a slot to free up", |s| s.active == 3);
    let next = connect::<T>(&server);
    echo_once(&next, b"served again");
    assert_eq!(handle.stats().active, 4);
}

/// RELIABILITY 8 and 30: run in a child process, whose descriptor limit it lowers.
fn out_of_descriptors_the_waiting_client_is_closed_at_once_and_serving_recovers<T: StreamKind>(
    site: &Site<T>,
) {
    let _serial = serial();
    let child = format!("child_runs_out_of_descriptors::{}", site.name());
    let status = run_child(&child, Duration::from_secs(30));
    assert!(status.success(), "child failed: {status:?}");
}

/// The child of [`out_of_descriptors_the_waiting_client_is_closed_at_once_and_serving_recovers`].
fn child_runs_out_of_descriptors<T: StreamKind>(site: &Site<T>) {
    if !is_child(&format!("child_runs_out_of_descriptors::{}", site.name())) {
        return;
    }
    let options = Options::new().with_workers(NonZeroUsize::new(1));
    let handle = spawn(site, options);
    let server = handle.local_addr();
    let first = connect::<T>(&server);
    echo_once(&first, b"before");

    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    let soft = open_fds() as u64 + 16;
    rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard).unwrap();
    // Take every free descriptor, then give back one: the client's socket takes it, and
    // the server has none left to accept with.
    let mut filler = Vec::new();
    let exhausted = (0..64).any(|_| match File::open("/dev/null") {
        Ok(file) => {
            filler.push(file);
            false
        }
        Err(e) => {
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
            true
        }
    });
    assert!(exhausted, "the descriptor limit was not reached");
    drop(filler.pop());
    let starved = connect::<T>(&server);
    starved.set_read_timeout(Some(PATIENCE)).unwrap();
    // The server has no descriptor to serve it with, and answers at once with its spare: it
    // may have closed the connection before this write (a Unix socket then refuses it).
    match (&starved).write_all(b"queued") {
        Ok(()) => {
            let (read, ending) = read_to_end_or_reset(&starved, 1 << 20);
            assert!(
                ending.closed() && read == 0,
                "{ending:?} after {read} bytes"
            );
        }
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
    }
    wait_for_stats(&handle, "the refusal", |s| s.refused >= 1);

    filler.truncate(filler.len().saturating_sub(4));
    echo_once(&connect::<T>(&server), b"after");
    echo_once(&first, b"still");
    let stats = finish(handle);
    assert!(stats.accept_errors >= 1, "{stats:?}");
    assert_eq!((stats.accepted, stats.refused, stats.errors), (3, 1, 0));
}

/// Echoes one random message of up to `max` bytes on `stream` and checks it.
fn echo_random(stream: &Socket, rng: &mut Rng, max: usize) -> u64 {
    let len = rng.range(1, max);
    let message = rng.bytes(len);
    echo_once(stream, &message);
    message.len() as u64
}

/// RELIABILITY 26: two thousand connections open at once, each echoed.
fn two_thousand_concurrent_connections_all_echo<T: StreamKind>(site: &Site<T>) {
    let _serial = serial();
    const THREADS: usize = 4;
    const PER_THREAD: usize = 500;
    let limit = raise_nofile(4 * THREADS as u64 * PER_THREAD as u64 + 500);
    assert!(limit >= 4500, "descriptor limit {limit} too low");
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let all_open = Barrier::new(THREADS + 1);
    let checked = Barrier::new(THREADS + 1);
    let sent: u64 = thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (all_open, checked, server) = (&all_open, &checked, &server);
                scope.spawn(move || {
                    let mut rng = Rng::new(t as u64);
                    let conns: Vec<Socket> =
                        (0..PER_THREAD).map(|_| connect::<T>(server)).collect();
                    all_open.wait();
                    checked.wait();
                    let mut sent = 0;
                    for conn in &conns {
                        sent += echo_random(conn, &mut rng, 2048);
                    }
                    for conn in &conns {
                        conn.shutdown(Shutdown::Write).unwrap();
                    }
                    for conn in conns {
                        assert_eq!((&conn).read(&mut [0; 1]).unwrap(), 0);
                    }
                    sent
                })
            })
            .collect();
        all_open.wait();
        let total = (THREADS * PER_THREAD) as u64;
        wait_for_stats(&handle, "every connection to be accepted", |s| {
            s.active == total
        });
        checked.wait();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    wait_for_stats(&handle, "every connection to close", |s| s.active == 0);
    let stats = finish(handle);
    assert_eq!((stats.accepted, stats.errors, stats.refused), (2000, 0, 0));
    assert_eq!((stats.bytes_in, stats.bytes_out), (sent, sent));
}

/// RELIABILITY 26: a long run of short-lived connections leaves descriptors and memory
/// where they started.
fn a_long_run_keeps_descriptors_and_memory_flat<T: StreamKind>(site: &Site<T>) {
    let _serial = serial();
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let round = |seed: u64| -> u64 {
        thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|t| {
                    let server = &server;
                    scope.spawn(move || {
                        let mut rng = Rng::new(seed * 2 + t);
                        let conns: Vec<Socket> = (0..50).map(|_| connect::<T>(server)).collect();
                        let mut sent = 0;
                        for _ in 0..4 {
                            for conn in &conns {
                                sent += echo_random(conn, &mut rng, 32 * 1024);
                            }
                        }
                        sent
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).sum()
        })
    };
    let mut sent = round(0);
    wait_for_stats(&handle, "the warm-up to close", |s| s.active == 0);
    let (fds_before, rss_before) = (open_fds(), rss_kib());
    let start = Instant::now();
    let mut rounds = 1;
    while rounds < 200 && start.elapsed() < Duration::from_secs(3) {
        sent += round(rounds);
        rounds += 1;
    }
    wait_for_stats(&handle, "every connection to close", |s| s.active == 0);
    let (fds_after, rss_after) = (open_fds(), rss_kib());
    assert!(
        fds_after <= fds_before,
        "descriptors: {fds_before} -> {fds_after}"
    );
    let grown = rss_after.saturating_sub(rss_before);
    assert!(
        grown < 16 * 1024,
        "RSS grew by {grown} KiB over {rounds} rounds"
    );
    let stats = finish(handle);
    assert_eq!(stats.accepted, rounds * 100);
    assert_eq!((stats.errors, stats.refused, stats.timed_out), (0, 0, 0));
    assert_eq!((stats.bytes_in, stats.bytes_out), (sent, sent));
}

over_streams!(
    a_stalled_client_is_closed_by_the_idle_timeout,
    an_idle_connection_is_closed_after_the_idle_timeout_and_kept_without_one,
    the_connection_beyond_max_connections_is_closed_and_a_freed_slot_is_reused,
);

instances!(a_client_that_never_reads_is_held_back_and_costs_bounded_memory: tcp_v4, unix_path);
instances!(
    out_of_descriptors_the_waiting_client_is_closed_at_once_and_serving_recovers: tcp_v4,
    unix_path
);
instances!(child_runs_out_of_descriptors: tcp_v4, unix_path);
instances!(two_thousand_concurrent_connections_all_echo: tcp_v4, unix_path);
instances!(a_long_run_keeps_descriptors_and_memory_flat: tcp_v4, unix_path);
