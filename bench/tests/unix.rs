//! The epoll loop over Unix sockets, started as a child process with the `peer-server` binary,
//! echoes streams and datagrams byte for byte; the Unix load clients count what it echoes,
//! count what a server drops, and refuse what it corrupts.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use socket_echo_bench::child::ServerChild;
use socket_echo_bench::harness::{self, Config, Workload};
use socket_echo_bench::load::{self, Limits, LoadError};
use socket_echo_bench::peers::{Kind, Proto};
use socket_echo_bench::socket_dir::SocketDir;

const TIMEOUT: Duration = Duration::from_secs(5);

fn program() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_peer-server"))
}

/// A server of `kind` for `proto` at a fresh path. The directory is dropped after the server
/// (fields drop in order), so the socket file goes with it.
struct Started {
    server: ServerChild<PathBuf>,
    _dir: SocketDir,
}

fn start(kind: Kind, proto: Proto) -> Started {
    let dir = SocketDir::new().unwrap();
    let path = dir.join("echo.sock");
    let server = ServerChild::spawn(program(), &[], kind, proto, path.clone())
        .unwrap_or_else(|e| panic!("{kind} {} server: {e}", proto.name()));
    assert_eq!(server.path(), path);
    Started { server, _dir: dir }
}

/// Every byte value, in an order that repeats only every 251 bytes.
fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 7 % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// A datagram socket with an abstract name of its own, connected to `server`.
fn named_datagram(server: &Path) -> UnixDatagram {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "socket-echo-bench-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    socket.connect(server).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
}

#[test]
fn epoll_echoes_a_unix_stream_byte_for_byte() {
    let started = start(Kind::Epoll, Proto::Unix);
    let sent = payload(3 << 20);
    let mut stream = UnixStream::connect(started.server.path()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let echoed = std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut echoed = Vec::new();
            reader.read_to_end(&mut echoed).map(|_| echoed)
        });
        for chunk in sent.chunks(10_007) {
            stream.write_all(chunk).unwrap();
        }
        stream.shutdown(Shutdown::Write).unwrap();
        reading.join().unwrap().unwrap()
    });
    assert_eq!(echoed.len(), sent.len());
    assert!(echoed == sent, "the echo differs from what was sent");
}

#[test]
fn epoll_serves_many_unix_streams_at_once() {
    let started = start(Kind::Epoll, Proto::Unix);
    let mut streams: Vec<UnixStream> = (0..20)
        .map(|_| {
            let stream = UnixStream::connect(started.server.path()).unwrap();
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            stream
        })
        .collect();
    for round in 0..3u8 {
        for (i, stream) in streams.iter_mut().enumerate() {
            stream.write_all(&[round, i as u8, 0xff, 0]).unwrap();
        }
        for (i, stream) in streams.iter_mut().enumerate() {
            let mut back = [0u8; 4];
            stream.read_exact(&mut back).unwrap();
            assert_eq!(back, [round, i as u8, 0xff, 0]);
        }
    }
}

#[test]
fn epoll_echoes_unix_datagrams_whole_to_their_sender() {
    let started = start(Kind::Epoll, Proto::Unixgram);
    let a = named_datagram(started.server.path());
    let b = named_datagram(started.server.path());
    let mut back = vec![0u8; 70_000];
    for len in [0, 1, 512, 4096, 60_000] {
        let sent = payload(len);
        a.send(&sent).unwrap();
        b.send(&sent[..len / 2]).unwrap();
        let n = a.recv(&mut back).unwrap();
        assert!(back[..n] == sent[..], "{len}-byte datagram came back wrong");
        let n = b.recv(&mut back).unwrap();
        assert!(
            back[..n] == sent[..len / 2],
            "{len}-byte datagram came back wrong"
        );
    }
}

#[test]
fn epoll_ignores_an_unnamed_unix_datagram_sender() {
    let started = start(Kind::Epoll, Proto::Unixgram);
    let unnamed = UnixDatagram::unbound().unwrap();
    unnamed.connect(started.server.path()).unwrap();
    unnamed.send(b"who am I").unwrap();
    // Then a named sender is answered: the loop went on.
    let named = named_datagram(started.server.path());
    named.send(b"hello").unwrap();
    let mut back = [0u8; 16];
    let n = named.recv(&mut back).unwrap();
    assert_eq!(&back[..n], b"hello");
    unnamed
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(
        unnamed.recv(&mut back).is_err(),
        "an unnamed sender got an answer"
    );
}

#[test]
fn only_epoll_and_ours_have_unix_servers() {
    let dir = SocketDir::new().unwrap();
    for kind in ["raw", "naive", "tokio", "uring"] {
        let mut child = Command::new(program())
            .args([kind, "unix"])
            .arg(dir.join("echo.sock"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // stdin stays open until the child has exited: closing it would end the child too.
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(1), "{kind}: {stderr}");
        assert!(
            stderr.contains("no Unix socket version"),
            "{kind}: {stderr}"
        );
    }
    assert!(!dir.join("echo.sock").exists());
}

#[test]
fn unix_stream_clients_count_every_echo() {
    let started = start(Kind::Epoll, Proto::Unix);
    let path = started.server.path();
    let out = load::unix_lat(path, 64, Limits::count(200)).unwrap();
    assert_eq!((out.messages, out.bytes, out.lost), (200, 200 * 64, 0));
    assert_eq!(out.rtt.len(), 200);
    let out = load::unix_many(path, 8, 512, 2, Limits::count(400)).unwrap();
    assert!(out.messages >= 400, "{} messages", out.messages);
    assert_eq!(out.bytes, out.messages * 512);
    assert_eq!(out.rtt.len(), out.messages);
    let bulk = Limits {
        max_count: 4 << 20,
        ..Limits::count(0)
    };
    let out = load::unix_bulk(path, 64 * 1024, bulk).unwrap();
    assert_eq!((out.messages, out.bytes), (64, 4 << 20));
}

#[test]
fn unix_datagram_clients_count_every_echo() {
    let started = start(Kind::Epoll, Proto::Unixgram);
    let path = started.server.path();
    let out = load::unixgram_lat(path, 64, Limits::count(200)).unwrap();
    assert_eq!((out.messages, out.bytes), (200, 200 * 64));
    let out = load::unixgram_many(path, 8, 512, 2, Limits::count(400)).unwrap();
    assert!(out.messages >= 400, "{} messages", out.messages);
    assert_eq!(out.bytes, out.messages * 512);
    assert_eq!(out.rtt.len(), out.messages);
}

/// A Unix datagram server at `path` that drops its 3rd, 6th and 9th datagrams and echoes
/// every other, until nothing comes for half a second; it returns how many it dropped.
fn dropping_datagram_server(path: &Path) -> thread::JoinHandle<usize> {
    let socket = UnixDatagram::bind(path).unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut dropped = 0;
        socket.set_read_timeout(Some(TIMEOUT)).unwrap();
        for i in 0..1000 {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                break;
            };
            socket
                .set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            if i % 3 == 2 && i < 9 {
                dropped += 1;
            } else {
                socket.send_to_addr(&buf[..n], &peer).unwrap();
            }
        }
        dropped
    })
}

#[test]
fn unix_datagram_clients_count_what_is_dropped() {
    // 8 echoes take 11 datagrams when 3 are dropped. Each dropped one is counted lost, and
    // so would be an echo later than the loss timeout on a very busy machine.
    let dir = SocketDir::new().unwrap();
    let path = dir.join("lat.sock");
    let server = dropping_datagram_server(&path);
    let out = load::unixgram_lat(&path, 64, Limits::count(8)).unwrap();
    assert_eq!(out.messages, 8);
    assert!(out.lost >= 3, "{} lost", out.lost);
    assert_eq!(server.join().unwrap(), 3);

    let path = dir.join("many.sock");
    let server = dropping_datagram_server(&path);
    let out = load::unixgram_many(&path, 1, 512, 1, Limits::count(8)).unwrap();
    assert_eq!(out.messages, 8);
    assert!(out.lost >= 3, "{} lost", out.lost);
    assert_eq!(server.join().unwrap(), 3);
}

/// A Unix stream server at `path` that echoes its first connection faithfully for `good`
/// bytes, then flips every byte after.
fn corrupting_stream_server(path: &Path, good: usize) {
    let listener = UnixListener::bind(path).unwrap();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut buf = [0u8; 8192];
        let mut echoed = 0usize;
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            for (i, b) in buf[..n].iter_mut().enumerate() {
                if echoed + i >= good {
                    *b ^= 0x01;
                }
            }
            echoed += n;
            if stream.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
}

#[test]
fn unix_clients_refuse_a_wrong_byte() {
    let dir = SocketDir::new().unwrap();
    let path = dir.join("lat.sock");
    corrupting_stream_server(&path, 64 * 10 + 5);
    match load::unix_lat(&path, 64, Limits::count(100)) {
        Err(LoadError::Mismatch { seq, offset, .. }) => assert_eq!((seq, offset), (10, 5)),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    let path = dir.join("bulk.sock");
    corrupting_stream_server(&path, 100_000);
    match load::unix_bulk(&path, 64 * 1024, Limits::count(1 << 20)) {
        Err(LoadError::Mismatch { offset, .. }) => assert_eq!(offset, 100_000),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // A datagram server that flips the last byte of its fourth answer.
    let path = dir.join("gram.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for i in 0..4 {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                return;
            };
            if i == 3 {
                buf[n - 1] ^= 0x01;
            }
            let _ = socket.send_to_addr(&buf[..n], &peer);
        }
    });
    match load::unixgram_lat(&path, 64, Limits::count(100)) {
        Err(LoadError::Mismatch { seq, .. }) => assert_eq!(seq, 3),
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn harness_runs_the_unix_rows_on_the_servers_that_have_them() {
    let config = Config {
        rounds: 2,
        secs: Duration::from_millis(200),
        workloads: Workload::UNIX.to_vec(),
        servers: vec![Kind::Raw, Kind::Tokio, Kind::Epoll, Kind::Ours],
        client_threads: 2,
        ip: "127.0.0.1".parse().unwrap(),
        server_program: (program().to_path_buf(), Vec::new()),
    };
    let results = harness::run_rounds(&config, |_| {});
    assert!(results.failures.is_empty(), "{:?}", results.failures);
    let rows = harness::summarize(&results, &config.servers);
    let names: Vec<_> = rows.iter().map(|r| (r.workload.name(), r.metric)).collect();
    assert_eq!(
        names,
        [
            ("unix-lat", "p50 µs"),
            ("unix-lat", "p99 µs"),
            ("unix-50", "msgs/s"),
            ("unix-50", "p99 ms"),
            ("unix-bulk", "MB/s"),
            ("unixgram-lat", "p50 µs"),
            ("unixgram-lat", "p99 µs"),
            ("unixgram-lat", "lost"),
            ("unixgram-50", "msgs/s"),
            ("unixgram-50", "p99 ms"),
            ("unixgram-50", "lost"),
        ]
    );
    let ran = vec![Kind::Epoll, Kind::Ours];
    for row in &rows {
        assert_eq!(
            row.medians.keys().copied().collect::<Vec<_>>(),
            ran,
            "{row:?}"
        );
        assert!(row.medians.values().all(|v| v.is_finite()), "{row:?}");
    }
    // Both rounds ran: every epoll figure has a value in each.
    let epoll_50: Vec<f64> = results
        .records
        .iter()
        .filter(|r| r.server == Kind::Epoll && r.workload == Workload::Unix50)
        .filter(|r| r.metric == "msgs/s")
        .map(|r| r.value)
        .collect();
    assert_eq!(epoll_50.len(), 2);
    assert!(epoll_50.iter().all(|&v| v > 0.0), "{epoll_50:?}");
    let table = harness::render_markdown(&rows, &config.servers, &results);
    assert!(table.contains("| unix-bulk | MB/s ↑ | – | – |"), "{table}");
}

#[test]
fn unix_workloads_parse_by_name() {
    for w in Workload::UNIX {
        assert_eq!(w.name().parse::<Workload>(), Ok(w));
        assert!(w.is_unix() && !w.is_client());
    }
}

/// `net.unix.max_dgram_qlen` (10 if unreadable), the datagrams a Unix datagram server
/// queues; `None`, after saying "skipped", when it is too large to fill with one socket per
/// datagram.
fn fillable_dgram_qlen() -> Option<usize> {
    let qlen: usize = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(10);
    if qlen > 1000 {
        println!("skipped: net.unix.max_dgram_qlen is {qlen}, too many sockets to fill it");
        return None;
    }
    Some(qlen)
}

#[test]
fn unix_datagram_clients_wait_for_room_at_the_server_instead_of_counting_loss() {
    // A Unix datagram server queues at most net.unix.max_dgram_qlen datagrams; a sender
    // beyond that is told "would block": flow control, not a lost datagram.
    let Some(qlen) = fillable_dgram_qlen() else {
        return;
    };
    let _ = socket_echo_bench::child::raise_file_limit();
    let sockets = qlen + 30;
    let dir = SocketDir::new().unwrap();
    let path = dir.join("slow.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    // Echoes everything, but only starts 50 ms after the first datagram, by which time
    // every client socket has tried to send and the queue is full.
    let server = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        socket.set_read_timeout(Some(TIMEOUT)).unwrap();
        let Ok((n, peer)) = socket.recv_from(&mut buf) else {
            return 0;
        };
        thread::sleep(Duration::from_millis(50));
        let _ = socket.send_to_addr(&buf[..n], &peer);
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut echoed = 1;
        while echoed < 1_000_000 {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                break;
            };
            let _ = socket.send_to_addr(&buf[..n], &peer);
            echoed += 1;
        }
        echoed
    });
    // Longer than the loss timeout, so that a datagram taken for lost would be counted.
    let limits = Limits::secs(load::UDP_LOSS_TIMEOUT * 2);
    let out = load::unixgram_many(&path, sockets, 64, 2, limits).unwrap();
    // Taken for lost, the 30 or so senders refused at first would all count. Nothing is
    // lost otherwise, but for an echo later than the loss timeout on a very busy machine.
    assert!(out.lost < 10, "{} lost, {} echoed", out.lost, out.messages);
    assert!(out.messages >= sockets as u64, "{} messages", out.messages);
    assert!(server.join().unwrap() >= out.messages);
}

#[test]
fn a_unix_datagram_that_waited_for_room_is_not_lost_once_sent() {
    // The loss timeout runs from when a datagram leaves, not from when it first tried to.
    let Some(qlen) = fillable_dgram_qlen() else {
        return;
    };
    let _ = socket_echo_bench::child::raise_file_limit();
    let sockets = qlen + 30;
    let dir = SocketDir::new().unwrap();
    let path = dir.join("stalled.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let delay = load::UDP_LOSS_TIMEOUT + Duration::from_millis(100);
    // Reads nothing for longer than the loss timeout after the first datagram, so the
    // datagrams in its queue are lost, then echoes everything at once.
    let server = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        socket.set_read_timeout(Some(TIMEOUT)).unwrap();
        let Ok((n, peer)) = socket.recv_from(&mut buf) else {
            return;
        };
        thread::sleep(delay);
        let _ = socket.send_to_addr(&buf[..n], &peer);
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        for _ in 0..1_000_000 {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                break;
            };
            let _ = socket.send_to_addr(&buf[..n], &peer);
        }
    });
    let limits = Limits::secs(delay + load::UDP_LOSS_TIMEOUT);
    let out = load::unixgram_many(&path, sockets, 64, 2, limits).unwrap();
    // The queue's datagrams (qlen + 1 fit) and the one the server holds are lost. Had the
    // loss timeout run from the first attempt, the 30 or so senders that waited for room
    // would be too; allow a few late echoes on a very busy machine.
    assert!(out.lost < qlen as u64 + 12, "{} lost", out.lost);
    assert!(out.messages > 0);
    server.join().unwrap();
}
