//! What one peer can hold of a `serve()` server: the kernel memory of a client that never
//! reads (bounded by `connection_socket_buffers`), and the connection slots of one source
//! address (bounded by `max_connections_per_source`, which the idle timeout alone does not
//! do against clients that trickle a byte now and then). Loopback, port 0.

mod serve_support;
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use serve_support::*;
use socket_echo::Options;
use socket2::{Domain, Socket, Type};

/// The client's own socket buffers in the memory test (Linux doubles them).
const CLIENT_BUFFERS: usize = 64 * 1024;

/// A client bound to `source` (any loopback address) with read and write timeouts.
fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None).unwrap();
    let source: SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&source.into()).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Whether the server closed `stream` without an echo: it sends, and reads end-of-stream or
/// a reset.
fn refused(stream: &mut TcpStream) -> bool {
    // The write may already meet the closed connection; the read tells.
    let _ = stream.write_all(b"anyone?");
    let (read, ending) = read_to_end_or_reset(stream, 1 << 20);
    read == 0 && ending.closed()
}

#[test]
fn a_source_beyond_its_share_is_refused_and_others_are_served() {
    for addr in LOOPBACKS {
        let options = Options::new().with_max_connections_per_source(Some(3));
        let handle = spawn_tcp(addr, options);
        let server = handle.local_addr();
        let mut mine: Vec<TcpStream> = (0..3).map(|_| connect(server)).collect();
        for stream in &mut mine {
            echo_once(stream, b"served");
        }
        let mut extra = connect(server);
        assert!(refused(&mut extra), "{addr}: the fourth was served");
        let stats = wait_for_stats(&handle, "the refusal", |s| s.refused_per_source == 1);
        assert_eq!((stats.active, stats.refused), (3, 0), "{addr}");

        // Another address is counted apart (IPv6 loopback has only one).
        let other = server.is_ipv4().then(|| {
            let mut other = connect_from("127.0.0.2", server);
            echo_once(&mut other, b"another source");
            other
        });
        // A slot given back is taken again.
        drop(mine.pop());
        wait_for_stats(&handle, "a slot to free up", |s| {
            s.active == if server.is_ipv4() { 3 } else { 2 }
        });
        echo_once(&mut connect(server), b"served again");
        drop(other);
        let stats = finish(handle);
        assert_eq!(stats.refused_per_source, 1, "{addr}: {stats:?}");
    }
}

/// Opens `count` connections from `source` and keeps each alive by sending one byte every
/// `every` (reading its echo) for `how_long`. Returns the connections still served at the
/// end, still open, and how many the server closed.
fn trickle(
    server: SocketAddr,
    source: &str,
    count: usize,
    every: Duration,
    how_long: Duration,
) -> (Vec<TcpStream>, usize) {
    let mut streams: Vec<TcpStream> = (0..count).map(|_| connect_from(source, server)).collect();
    let mut alive = vec![true; count];
    let start = Instant::now();
    // Bounded in count as well as time.
    for _ in 0..1000 {
        for (stream, alive) in streams.iter_mut().zip(&mut alive) {
            if !*alive {
                continue;
            }
            let mut back = [0; 1];
            let echoed = stream.write_all(b".").is_ok() && stream.read_exact(&mut back).is_ok();
            *alive = echoed;
        }
        if start.elapsed() >= how_long {
            break;
        }
        // The trickler's pace, the behaviour under test: not a wait for the server.
        thread::sleep(every);
    }
    let served: Vec<TcpStream> = streams
        .into_iter()
        .zip(alive)
        .filter_map(|(stream, alive)| alive.then_some(stream))
        .collect();
    let closed = count - served.len();
    (served, closed)
}

#[test]
fn tricklers_outlast_the_idle_timeout_and_only_a_per_source_limit_keeps_slots_free() {
    let idle = Duration::from_millis(300);
    let every = Duration::from_millis(100);
    let how_long = 3 * idle;

    // Without a per-source limit, ten tricklers from one host hold all ten slots past the
    // idle timeout, and a client from another address is turned away.
    let options = Options::new()
        .with_max_connections(10)
        .with_idle_timeout(Some(idle));
    let handle = spawn_tcp("127.0.0.1:0", options.clone());
    let server = handle.local_addr();
    let (tricklers, closed) = trickle(server, "127.0.0.1", 10, every, how_long);
    assert_eq!(
        (tricklers.len(), closed),
        (10, 0),
        "the idle timeout closed a trickler"
    );
    let mut outsider = connect_from("127.0.0.2", server);
    assert!(refused(&mut outsider), "an eleventh connection was served");
    drop(tricklers);
    let stats = finish(handle);
    assert_eq!((stats.timed_out, stats.refused), (0, 1), "{stats:?}");

    // With one, the same host gets its share and the other address is served.
    let options = options.with_max_connections_per_source(Some(4));
    let handle = spawn_tcp("127.0.0.1:0", options);
    let server = handle.local_addr();
    let (tricklers, closed) = trickle(server, "127.0.0.1", 10, every, how_long);
    assert_eq!((tricklers.len(), closed), (4, 6));
    let mut outsider = connect_from("127.0.0.2", server);
    echo_once(&mut outsider, b"served");
    drop(tricklers);
    let stats = finish(handle);
    assert_eq!(
        (stats.refused_per_source, stats.timed_out),
        (6, 0),
        "{stats:?}"
    );
}

/// Sends from a client with small fixed buffers until its writes block, never reading,
/// until the server holds no more; returns how many bytes it got to send in all.
fn never_read(server: SocketAddr, handle: &socket_echo::ServerHandle) -> usize {
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(CLIENT_BUFFERS).unwrap();
    socket.set_send_buffer_size(CLIENT_BUFFERS).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_nonblocking(true).unwrap();
    let chunk = [9u8; 64 * 1024];
    let mut written = 0;
    let start = Instant::now();
    // Until the server has read nothing more since the last round.
    loop {
        for _ in 0..1024 {
            match (&stream).write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
        }
        if reads_no_more(handle) {
            return written;
        }
        assert!(start.elapsed() < PATIENCE, "the server kept reading");
    }
}

#[test]
fn a_client_that_never_reads_holds_what_the_connection_buffers_allow() {
    // Linux doubles every buffer size it is given; half of the double is bookkeeping, but
    // the bound does not count on it. Then the server's pending bytes, and a slack of half.
    let bound = |server_buffers: usize| {
        let kernel = 2 * 2 * CLIENT_BUFFERS + 2 * 2 * server_buffers;
        (kernel + MAX_PENDING) * 3 / 2
    };
    const MAX_PENDING: usize = socket_echo::DEFAULT_MAX_PENDING;
    for size in [
        64 * 1024,
        socket_echo::DEFAULT_CONNECTION_SOCKET_BUFFERS.unwrap(),
    ] {
        let options = Options::new().with_connection_socket_buffers(Some(size));
        let handle = spawn_tcp("127.0.0.1:0", options);
        let written = never_read(handle.local_addr(), &handle);
        eprintln!("connection buffers {size}: a never-reader sent {written} bytes");
        assert!(
            written <= bound(size),
            "with {size}-byte buffers a client that never reads sent {written} bytes"
        );
        assert!(written >= MAX_PENDING, "only {written} bytes sent");
        finish(handle);
    }
    // For the record: what the system's autotuning lets the same client hold.
    let handle = spawn_tcp(
        "127.0.0.1:0",
        Options::new().with_connection_socket_buffers(None),
    );
    let written = never_read(handle.local_addr(), &handle);
    eprintln!("autotuned buffers: a never-reader sent {written} bytes");
    finish(handle);
}
