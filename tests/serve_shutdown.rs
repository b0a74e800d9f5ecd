//! A graceful shutdown of `serve()` while clients are mid-stream: every echo ends whole (every
//! byte sent comes back, then end-of-stream) or visibly broken (a reset); never with a clean
//! end-of-stream after a short echo. TCP on loopback, port 0, and Unix streams on a socket
//! file, each test written once; and a shutdown while stream faults are in force, over every
//! stream transport. A Unix socket cannot be reset: a Unix client cut short may
//! read end-of-stream, and the server counts every such cut (see `docs/protocol.md`).
//!
//! The clients have small receive buffers, so the server cannot push their echo out faster
//! than they read it: at the moment of the shutdown each of them is owed bytes held in the
//! server's pending buffer, in its receive queue and in flight.

mod serve_support;
mod transports;
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serve_support::{PATIENCE, Rng, wait_for_stats};
use socket_echo::EchoServer;
use socket2::Socket;
use transports::{Ending, Site, StreamKind, is_reset};

/// The clients' `SO_RCVBUF` (Linux doubles it).
const CLIENT_RCVBUF: usize = 8 * 1024;
/// The size of each client's writes.
const CHUNK: usize = 16 * 1024;

/// What one client saw.
#[derive(Debug)]
struct Outcome {
    /// The length of its message.
    len: usize,
    /// Whether it sent its whole message and shut its write side.
    half_closed: bool,
    /// How many echoed bytes it read, all equal to what it sent.
    read: usize,
    /// How its reading ended.
    ending: Ending,
    /// Whether one of its own writes failed.
    write_failed: bool,
}

impl Outcome {
    /// Whole: everything came back, then end-of-stream.
    fn whole(&self) -> bool {
        self.ending == Ending::Eof && self.read == self.len
    }

    /// Visibly broken: a reset, or (for a client still holding its write side open) an
    /// end-of-stream that its own writes then ran into. A client that has half-closed
    /// writes no more, so for it only a reset will do.
    fn visibly_broken(&self) -> bool {
        self.ending == Ending::Reset
            || (self.ending == Ending::Eof && !self.half_closed && self.write_failed)
    }
}

/// A client with a small receive buffer and read and write timeouts (so none can hang).
fn small_client<T: StreamKind>(server: &T::Addr) -> Socket {
    let stream = transports::connect_tuned::<T>(server, |socket| {
        socket.set_recv_buffer_size(CLIENT_RCVBUF).unwrap();
    });
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Sends `message` on one thread, optionally half-closing after it, while this thread reads
/// the echo and checks every byte, until end-of-stream, a reset or a timeout. Counts itself
/// in `streaming` once the first echoed bytes are back.
fn run_client(
    stream: Socket,
    message: &[u8],
    half_close: bool,
    streaming: &AtomicUsize,
) -> Outcome {
    let writer = stream.try_clone().unwrap();
    let reader = stream;
    thread::scope(|scope| {
        // (a write failed, half-closed)
        let sending = scope.spawn(move || {
            for chunk in message.chunks(CHUNK) {
                if (&writer).write_all(chunk).is_err() {
                    return (true, false);
                }
            }
            if !half_close {
                return (false, false);
            }
            match writer.shutdown(Shutdown::Write) {
                Ok(()) => (false, true),
                Err(_) => (true, false),
            }
        });
        let mut buf = vec![0; 64 * 1024];
        let mut read = 0;
        let ending = loop {
            match (&reader).read(&mut buf) {
                Ok(0) => break Ending::Eof,
                Ok(n) => {
                    assert!(read + n <= message.len(), "more came back than was sent");
                    assert!(buf[..n] == message[read..read + n], "echo differs");
                    if read == 0 {
                        streaming.fetch_add(1, Ordering::Relaxed);
                    }
                    read += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => break Ending::Reset,
                Err(e) => break Ending::Other(e.kind()),
            }
        };
        let (write_failed, half_closed) = sending.join().unwrap();
        Outcome {
            len: message.len(),
            half_closed,
            read,
            ending,
            write_failed,
        }
    })
}

/// Runs `clients` clients of 1 to 4 MiB each, every other one half-closing after its
/// message, and shuts the server (with `grace`) down once every client has had some of its
/// echo and the server has echoed `echoed_first` bytes in all. Returns what each client saw
/// and the server's final stats.
fn shut_down_mid_stream<T: StreamKind>(
    site: &Site<T>,
    clients: usize,
    half_closed_only: bool,
    grace: Duration,
    echoed_first: u64,
) -> (Vec<Outcome>, socket_echo::Stats) {
    let options = socket_echo::Options::new().with_shutdown_grace(grace);
    let handle = EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .spawn()
        .expect("spawn");
    let server = handle.local_addr();
    let mut rng = Rng::new(29);
    let messages: Vec<Vec<u8>> = (0..clients)
        .map(|_| {
            let len = rng.range(1 << 20, 4 << 20);
            rng.bytes(len)
        })
        .collect();
    let streams: Vec<Socket> = (0..clients).map(|_| small_client::<T>(&server)).collect();
    let streaming = AtomicUsize::new(0);
    let outcomes = thread::scope(|scope| {
        let running: Vec<_> = streams
            .into_iter()
            .zip(&messages)
            .enumerate()
            .map(|(i, (stream, message))| {
                let half_close = half_closed_only || i % 2 == 0;
                let streaming = &streaming;
                scope.spawn(move || run_client(stream, message, half_close, streaming))
            })
            .collect();
        let start = Instant::now();
        while streaming.load(Ordering::Relaxed) < clients {
            assert!(
                start.elapsed() < PATIENCE,
                "clients did not start streaming"
            );
            thread::sleep(Duration::from_millis(5));
        }
        wait_for_stats(&handle, "the clients to be mid-stream", |s| {
            s.bytes_out >= echoed_first
        });
        handle.shutdown();
        running
            .into_iter()
            .map(|client| client.join().unwrap())
            .collect::<Vec<_>>()
    });
    let stats = handle.join().expect("server stopped with an error");
    (outcomes, stats)
}

/// Panics, listing them, if some clients ended neither whole nor visibly broken.
/// Over a Unix stream, where a cut cannot be a reset, the server must have counted each
/// client that ended short in `shutdown_resets` instead.
fn assert_whole_or_broken(outcomes: &[Outcome], stats: &socket_echo::Stats, unix: bool) {
    let truncated: Vec<(usize, &Outcome)> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.whole() && !o.visibly_broken())
        .collect();
    if unix {
        assert!(
            truncated.len() as u64 <= stats.shutdown_resets,
            "{} of {} clients ended short, {} counted: {truncated:?}",
            truncated.len(),
            outcomes.len(),
            stats.shutdown_resets
        );
        return;
    }
    assert!(
        truncated.is_empty(),
        "{} of {} clients ended neither whole nor reset: {truncated:?}",
        truncated.len(),
        outcomes.len()
    );
}

fn a_shutdown_mid_stream_ends_every_echo_whole_or_with_a_reset<T: StreamKind>(site: &Site<T>) {
    let (outcomes, stats) =
        shut_down_mid_stream(site, 40, false, Duration::from_millis(300), 8 << 20);
    let whole = outcomes.iter().filter(|o| o.whole()).count();
    let reset = outcomes
        .iter()
        .filter(|o| o.ending == Ending::Reset)
        .count();
    eprintln!(
        "{whole} whole, {reset} reset, of {}; {stats:?}",
        outcomes.len()
    );
    assert_whole_or_broken(&outcomes, &stats, T::TRANSPORT == "unix");
}

fn with_a_long_grace_every_half_closed_client_gets_its_whole_echo<T: StreamKind>(site: &Site<T>) {
    let (outcomes, stats) = shut_down_mid_stream(site, 40, true, Duration::from_secs(10), 8 << 20);
    let short: Vec<&Outcome> = outcomes.iter().filter(|o| !o.whole()).collect();
    assert!(short.is_empty(), "not whole: {short:?}; {stats:?}");
    let sent: usize = outcomes.iter().map(|o| o.len).sum();
    assert_eq!(stats.bytes_out, sent as u64, "{stats:?}");
}

/// RELIABILITY 29, the other side: a client that sent everything, half-closed and left its
/// echo unread is still owed bytes when the grace period ends. The server counts it in
/// `shutdown_resets`. A TCP client then reads a reset. A Unix stream socket cannot be reset:
/// its peer reads an error only if the server left input unread, and here it read it all,
/// so the client reads end-of-stream after a short echo (see `docs/protocol.md`).
fn a_client_still_owed_its_echo_when_the_grace_ends_is_cut_and_counted<T: StreamKind>(
    site: &Site<T>,
) {
    // Small buffers on both ends, so most of the echo waits in the server's pending bytes.
    let options = socket_echo::Options::new()
        .with_shutdown_grace(Duration::from_millis(200))
        .with_connection_socket_buffers(Some(4096));
    let handle = EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .spawn()
        .expect("spawn");
    let client = small_client::<T>(&handle.local_addr());
    client.set_recv_buffer_size(4096).unwrap();
    let message = Rng::new(3).bytes(40_000);
    (&client).write_all(&message).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    if T::TRANSPORT == "unix" {
        // The client reads end-of-stream, not an error, only if the server read it all.
        wait_for_stats(&handle, "every byte read", |s| s.bytes_in == 40_000);
    } else {
        // How much a TCP server reads before its echo backs up depends on how the kernel
        // packs the segments into the small buffers (under load, 32,741 bytes read and
        // 16,384 echoed once). Its echo backing up is enough: 40,000 bytes are more than
        // the buffers of the echo's way hold, so it owes bytes when the grace ends however
        // much of the rest it reads meanwhile.
        wait_for_stats(&handle, "an echo the client does not take", |s| {
            s.bytes_in > s.bytes_out
        });
    }
    handle.shutdown();
    let stats = handle.join().expect("server stopped with an error");
    let (read, ending) = transports::read_to_end_or_reset(&client, 1 << 20);
    assert!(read < message.len(), "the whole echo came back: {stats:?}");
    // A reset discards what the server's TCP socket still held: the client reads at most
    // what was written to it.
    assert!(read as u64 <= stats.bytes_out, "read {read}: {stats:?}");
    assert_eq!(stats.shutdown_resets, 1, "{stats:?}");
    if T::TRANSPORT == "unix" {
        assert!(ending.closed(), "{ending:?} after {read} bytes");
    } else {
        assert_eq!(ending, Ending::Reset, "after {read} bytes");
    }
}

instances!(a_shutdown_mid_stream_ends_every_echo_whole_or_with_a_reset: tcp_v4, unix_path);
instances!(with_a_long_grace_every_half_closed_client_gets_its_whole_echo: tcp_v4, unix_path);
instances!(a_client_still_owed_its_echo_when_the_grace_ends_is_cut_and_counted: tcp_v4, unix_path);

/// A server on a fresh address of `site` with `spec` as its faults and `grace` to shut down.
fn spawn_with_fault<T: StreamKind>(
    site: &Site<T>,
    spec: &str,
    grace: Duration,
) -> socket_echo::ServerHandle<T> {
    let faults: socket_echo::Faults = spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"));
    EchoServer::bind_on_with(
        site.transport,
        site.addr(),
        socket_echo::Options::new().with_shutdown_grace(grace),
    )
    .expect("bind")
    .with_faults(faults)
    .expect("faults")
    .spawn()
    .expect("spawn")
}

/// The stream faults a connection can be under while it is fully echoed and idle: each
/// leaves the echo of 100 bytes whole.
const FAULTS_AN_ECHO_OF_100_BYTES_SURVIVES: [&str; 13] = [
    "delay=20ms,jitter=5ms",
    "slice=10,pause=1ms",
    "rate=100000",
    "shared-rate=100000",
    "stall-after=100",
    "close-after=1000000",
    "close-in=60s",
    "reset-after=1000000",
    "reset-in=60s",
    "slow-close=10ms",
    "blackhole,after=100",
    "accept-delay=10ms",
    "delay=1ms;slice=7,pause=1ms;rate=100000;slow-close=1ms",
];

/// RELIABILITY 43: under any stream fault, a connection whose every byte was echoed and
/// that sends nothing more ends at shutdown as it would without faults: with a clean
/// end-of-stream, and no reset is counted.
fn under_any_fault_a_fully_echoed_idle_connection_ends_cleanly_at_shutdown<T: StreamKind>(
    site: &Site<T>,
) {
    let message = Rng::new(43).bytes(100);
    let served: Vec<_> = FAULTS_AN_ECHO_OF_100_BYTES_SURVIVES
        .iter()
        .map(|spec| {
            let handle = spawn_with_fault(site, spec, PATIENCE);
            let client = transports::connect::<T>(&handle.local_addr());
            client.set_read_timeout(Some(PATIENCE)).unwrap();
            (&client).write_all(&message).unwrap();
            let mut echo = vec![0; message.len()];
            (&client).read_exact(&mut echo).unwrap();
            assert_eq!(echo, message, "{spec}");
            (spec, handle, client)
        })
        .collect();
    // Every server drains at once.
    for (_, handle, _) in &served {
        handle.shutdown();
    }
    for (spec, handle, client) in served {
        let stats = handle.join().expect("server stopped with an error");
        let (read, ending) = transports::read_to_end_or_reset(&client, 1 << 20);
        assert_eq!((read, ending), (0, Ending::Eof), "{spec}: {stats:?}");
        assert_eq!(stats.shutdown_resets, 0, "{spec}: {stats:?}");
        assert_eq!(stats.faults.reset, 0, "{spec}: {stats:?}");
        assert_eq!(stats.bytes_out, 100, "{spec}: {stats:?}");
    }
}

/// Sends `message` to a server under the fault `spec` and shuts the server down (with
/// `grace`) once the fault holds it: read and held back, or left unread by a stall or an
/// accept delay. Returns the server and the client.
fn shut_down_holding<T: StreamKind>(
    site: &Site<T>,
    spec: &str,
    grace: Duration,
    message: &[u8],
) -> (socket_echo::ServerHandle<T>, Socket) {
    let handle = spawn_with_fault(site, spec, grace);
    let client = transports::connect::<T>(&handle.local_addr());
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    (&client).write_all(message).unwrap();
    wait_for_stats(&handle, "the message held by the fault", |s| {
        s.bytes_in == message.len() as u64 || s.faults.stalled == 1 || s.faults.accept_delayed == 1
    });
    handle.shutdown();
    (handle, client)
}

/// RELIABILITY 43: bytes a fault still holds when the server is shut down (a delay longer
/// than a connection must be quiet before it is closed, a rate, a slice's pauses, a
/// connection not yet served after an accept delay) are echoed whole within the grace,
/// then the connection ends cleanly.
fn under_a_fault_bytes_held_at_shutdown_are_echoed_whole_within_the_grace<T: StreamKind>(
    site: &Site<T>,
) {
    let message = Rng::new(44).bytes(1000);
    for spec in [
        "delay=400ms",
        "rate=2000",
        "slice=100,pause=40ms",
        "accept-delay=400ms",
    ] {
        let (handle, client) = shut_down_holding(site, spec, PATIENCE, &message);
        let mut echo = vec![0; message.len()];
        (&client).read_exact(&mut echo).unwrap_or_else(|e| {
            panic!("{spec}: {e}");
        });
        assert!(echo == message, "{spec}: the echo differs");
        let (read, ending) = transports::read_to_end_or_reset(&client, 1 << 20);
        assert_eq!((read, ending), (0, Ending::Eof), "{spec}");
        let stats = handle.join().expect("server stopped with an error");
        assert_eq!(stats.shutdown_resets, 0, "{spec}: {stats:?}");
        assert_eq!(stats.bytes_out, 1000, "{spec}: {stats:?}");
    }
}

/// RELIABILITY 43: a connection still owed bytes when the grace ends because of a fault (a
/// long delay, a slow rate, a stall with input left unread, an accept delay not yet over)
/// is cut visibly, a reset over TCP (a Unix stream socket has none; see `docs/protocol.md`),
/// and counted in `shutdown_resets`, not among the faults' own resets.
fn under_a_fault_a_connection_still_owed_when_the_grace_ends_is_cut_and_counted<T: StreamKind>(
    site: &Site<T>,
) {
    let message = Rng::new(45).bytes(1000);
    for spec in [
        "delay=60s",
        "rate=10",
        "stall-after=100",
        "accept-delay=60s",
    ] {
        let (handle, client) = shut_down_holding(site, spec, Duration::from_millis(200), &message);
        let stats = handle.join().expect("server stopped with an error");
        let (read, ending) = transports::read_to_end_or_reset(&client, 1 << 20);
        assert!(read < message.len(), "{spec}: the whole echo came back");
        assert_eq!(stats.shutdown_resets, 1, "{spec}: {stats:?}");
        assert_eq!(stats.faults.reset, 0, "{spec}: {stats:?}");
        if T::TRANSPORT == "unix" {
            assert!(ending.closed(), "{spec}: {ending:?} after {read} bytes");
        } else {
            assert_eq!(ending, Ending::Reset, "{spec}: after {read} bytes");
        }
    }
}

over_streams!(
    under_any_fault_a_fully_echoed_idle_connection_ends_cleanly_at_shutdown,
    under_a_fault_bytes_held_at_shutdown_are_echoed_whole_within_the_grace,
    under_a_fault_a_connection_still_owed_when_the_grace_ends_is_cut_and_counted,
);
