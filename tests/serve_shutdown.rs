//! A graceful shutdown of `serve()` while clients are mid-stream: every echo ends whole (every
//! byte sent comes back, then end-of-stream) or visibly broken (a reset); never with a clean
//! end-of-stream after a short echo. Loopback, port 0.
//!
//! The clients have small receive buffers, so the server cannot push their echo out faster
//! than they read it: at the moment of the shutdown each of them is owed bytes held in the
//! server's pending buffer, in its receive queue and in flight.

mod serve_support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serve_support::*;
use socket2::{Domain, Socket, Type};

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
fn small_client(server: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(CLIENT_RCVBUF).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Sends `message` on one thread, optionally half-closing after it, while this thread reads
/// the echo and checks every byte, until end-of-stream, a reset or a timeout. Counts itself
/// in `streaming` once the first echoed bytes are back.
fn run_client(
    stream: TcpStream,
    message: &[u8],
    half_close: bool,
    streaming: &AtomicUsize,
) -> Outcome {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = stream;
    thread::scope(|scope| {
        // (a write failed, half-closed)
        let sending = scope.spawn(move || {
            for chunk in message.chunks(CHUNK) {
                if writer.write_all(chunk).is_err() {
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
            match reader.read(&mut buf) {
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
fn shut_down_mid_stream(
    clients: usize,
    half_closed_only: bool,
    grace: Duration,
    echoed_first: u64,
) -> (Vec<Outcome>, socket_echo::Stats) {
    let options = socket_echo::Options::new().with_shutdown_grace(grace);
    let handle = spawn_tcp("127.0.0.1:0", options);
    let server = handle.local_addr();
    let mut rng = Rng::new(29);
    let messages: Vec<Vec<u8>> = (0..clients)
        .map(|_| {
            let len = rng.range(1 << 20, 4 << 20);
            rng.bytes(len)
        })
        .collect();
    let streams: Vec<TcpStream> = (0..clients).map(|_| small_client(server)).collect();
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
fn assert_whole_or_broken(outcomes: &[Outcome]) {
    let truncated: Vec<(usize, &Outcome)> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.whole() && !o.visibly_broken())
        .collect();
    assert!(
        truncated.is_empty(),
        "{} of {} clients ended neither whole nor reset: {truncated:?}",
        truncated.len(),
        outcomes.len()
    );
}

#[test]
fn a_shutdown_mid_stream_ends_every_echo_whole_or_with_a_reset() {
    let (outcomes, stats) = shut_down_mid_stream(40, false, Duration::from_millis(300), 8 << 20);
    let whole = outcomes.iter().filter(|o| o.whole()).count();
    let reset = outcomes
        .iter()
        .filter(|o| o.ending == Ending::Reset)
        .count();
    eprintln!(
        "{whole} whole, {reset} reset, of {}; {stats:?}",
        outcomes.len()
    );
    assert_whole_or_broken(&outcomes);
}

#[test]
fn with_a_long_grace_every_half_closed_client_gets_its_whole_echo() {
    let (outcomes, stats) = shut_down_mid_stream(40, true, Duration::from_secs(10), 8 << 20);
    let short: Vec<&Outcome> = outcomes.iter().filter(|o| !o.whole()).collect();
    assert!(short.is_empty(), "not whole: {short:?}; {stats:?}");
    let sent: usize = outcomes.iter().map(|o| o.len).sum();
    assert_eq!(stats.bytes_out, sent as u64, "{stats:?}");
}
