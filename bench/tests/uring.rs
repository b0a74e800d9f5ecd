//! The io_uring loop, started as a child process with the `peer-server` binary, echoes TCP
//! streams byte for byte (half-closed, concurrent, multi-MiB, many at once, beside peers that
//! never read) and UDP datagrams whole to their sender, over IPv4 and IPv6.
//!
//! Every test is skipped (with a line saying so) where this kernel sets up no io_uring.

use std::io::ErrorKind;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use socket_echo_bench::child::ServerChild;
use socket_echo_bench::load::{self, Limits};
use socket_echo_bench::peers::{Kind, Proto, uring};

const TIMEOUT: Duration = Duration::from_secs(10);

fn program() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_peer-server"))
}

/// The uring server for `proto` on `bind`, or `None` (having said why) where io_uring is
/// unavailable.
fn start(proto: Proto, bind: &str) -> Option<ServerChild> {
    if let Err(e) = uring::probe() {
        println!("skipped: this kernel sets up no io_uring ({e})");
        return None;
    }
    let server = ServerChild::spawn(program(), &[], Kind::Uring, proto, bind.parse().unwrap())
        .unwrap_or_else(|e| panic!("uring {} server: {e}", proto.name()));
    Some(server)
}

/// xorshift64*: reproducible sizes and contents, different for every seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Writes `sent` in chunks of random sizes, half-closes, and returns everything read until
/// the server's end of stream.
fn echo_half_closed(addr: SocketAddr, sent: &[u8], rng: &mut Rng) -> io::Result<Vec<u8>> {
    let mut stream = connect(addr);
    let mut reader = stream.try_clone()?;
    thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut echoed = Vec::new();
            reader.read_to_end(&mut echoed).map(|_| echoed)
        });
        let mut rest = sent;
        while !rest.is_empty() {
            let n = (1 + rng.below(200_000)).min(rest.len());
            stream.write_all(&rest[..n])?;
            rest = &rest[n..];
        }
        stream.shutdown(Shutdown::Write)?;
        reading.join().expect("the reading thread panicked")
    })
}

#[test]
fn uring_echoes_concurrent_half_closed_streams_byte_for_byte() {
    let Some(server) = start(Proto::Tcp, "127.0.0.1:0") else {
        return;
    };
    let addr = server.addr();
    thread::scope(|scope| {
        let streams: Vec<_> = (0..6u64)
            .map(|seed| {
                scope.spawn(move || {
                    let mut rng = Rng(0x5EED_0000 + seed);
                    // One empty stream, one of a byte, the others up to 4 MiB.
                    let len = match seed {
                        0 => 0,
                        1 => 1,
                        _ => rng.below(4 << 20),
                    };
                    let sent = rng.bytes(len);
                    let echoed = echo_half_closed(addr, &sent, &mut rng)
                        .unwrap_or_else(|e| panic!("stream {seed} ({len} bytes): {e}"));
                    assert_eq!(echoed.len(), sent.len(), "stream {seed}");
                    assert!(echoed == sent, "stream {seed}: the echo differs");
                })
            })
            .collect();
        for stream in streams {
            stream.join().unwrap();
        }
    });
}

#[test]
fn uring_serves_many_connections_at_once() {
    let Some(server) = start(Proto::Tcp, "127.0.0.1:0") else {
        return;
    };
    let mut streams: Vec<TcpStream> = (0..300).map(|_| connect(server.addr())).collect();
    for round in 0..3u8 {
        for (i, stream) in streams.iter_mut().enumerate() {
            stream
                .write_all(&[round, (i >> 8) as u8, i as u8, 0xff])
                .unwrap();
        }
        for (i, stream) in streams.iter_mut().enumerate() {
            let mut back = [0u8; 4];
            stream.read_exact(&mut back).unwrap();
            assert_eq!(back, [round, (i >> 8) as u8, i as u8, 0xff]);
        }
    }
    drop(streams);
    let out = load::tcp_many(server.addr(), 200, 64, 2, Limits::count(2_000)).unwrap();
    assert!(out.messages >= 2_000, "{} messages", out.messages);
    assert_eq!(out.bytes, out.messages * 64);
}

#[test]
fn uring_echoes_others_while_peers_never_read() {
    let Some(server) = start(Proto::Tcp, "127.0.0.1:0") else {
        return;
    };
    // Peers that send until the server stops taking their bytes, and never read: each ends
    // up holding what its connection's buffers hold, no more.
    let stalled: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut stream = connect(server.addr());
            stream
                .set_write_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let chunk = vec![0x5a; 256 * 1024];
            // At most 256 MiB: far more than the kernel and the server keep for one peer.
            for _ in 0..1024 {
                if stream.write(&chunk).is_err() {
                    break;
                }
            }
            stream
        })
        .collect();
    let mut rng = Rng(0xD0_0D);
    for i in 0..20 {
        let sent = rng.bytes(256 * 1024);
        let echoed = echo_half_closed(server.addr(), &sent, &mut rng)
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        assert!(echoed == sent, "connection {i}: the echo differs");
    }
    drop(stalled);
}

fn check_datagrams(bind: &str) {
    let Some(server) = start(Proto::Udp, bind) else {
        return;
    };
    let client_bind = if server.addr().is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    };
    let sockets: Vec<UdpSocket> = (0..2)
        .map(|_| {
            let socket = UdpSocket::bind(client_bind).unwrap();
            socket.connect(server.addr()).unwrap();
            socket.set_read_timeout(Some(TIMEOUT)).unwrap();
            socket
        })
        .collect();
    let mut rng = Rng(0xDA7A);
    let mut sizes = vec![0, 1, 512, 4096, 60_000];
    sizes.extend((0..20).map(|_| rng.below(60_001)));
    let mut back = vec![0u8; 70_000];
    for len in sizes {
        let sent = rng.bytes(len);
        let n = echo(&sockets[0], &sent, &mut back);
        assert!(back[..n] == sent[..], "{len}-byte datagram came back wrong");
        let n = echo(&sockets[1], &sent[..len / 2], &mut back);
        assert!(
            back[..n] == sent[..len / 2],
            "{}-byte datagram came back wrong",
            len / 2
        );
    }
    let out = load::udp_many(server.addr(), 50, 512, 2, Limits::count(2_000)).unwrap();
    assert!(out.messages >= 2_000, "{} messages", out.messages);
}

#[test]
fn uring_echoes_udp_datagrams_whole_to_their_sender() {
    check_datagrams("127.0.0.1:0");
}

#[test]
fn uring_echoes_udp_datagrams_over_ipv6() {
    check_datagrams("[::1]:0");
}

#[test]
fn uring_echoes_tcp_over_ipv6() {
    let Some(server) = start(Proto::Tcp, "[::1]:0") else {
        return;
    };
    let mut rng = Rng(0x1F6);
    let sent = rng.bytes(1 << 20);
    let echoed = echo_half_closed(server.addr(), &sent, &mut rng).unwrap();
    assert!(echoed == sent, "the echo differs");
}

#[test]
fn uring_recovers_when_its_buffers_run_out() {
    let Some(server) = start(Proto::Tcp, "127.0.0.1:0") else {
        return;
    };
    let addr = server.addr();
    let streaming = AtomicBool::new(true);
    // 48 streams of 2 MiB at once: more than a ring's buffers can hold when the server takes
    // bytes in faster than the peers read them back, so receives end for want of buffers and
    // must be armed again, those of the small ping-pongs beside them too (which have no
    // send of their own to wait for).
    thread::scope(|scope| {
        let pings: Vec<_> = (0..8u8)
            .map(|i| {
                let streaming = &streaming;
                scope.spawn(move || {
                    let mut stream = connect(addr);
                    let mut back = [0u8; 64];
                    for round in 0..100_000u32 {
                        if !streaming.load(Ordering::Relaxed) {
                            break;
                        }
                        let mut sent = [i; 64];
                        sent[..4].copy_from_slice(&round.to_le_bytes());
                        stream.write_all(&sent).unwrap();
                        stream
                            .read_exact(&mut back)
                            .unwrap_or_else(|e| panic!("ping {i}, round {round}: {e}"));
                        assert_eq!(back, sent, "ping {i}, round {round}");
                    }
                })
            })
            .collect();
        let streams: Vec<_> = (0..48u64)
            .map(|seed| {
                scope.spawn(move || {
                    let mut rng = Rng(0xB0F + seed);
                    let sent = rng.bytes(2 << 20);
                    let echoed = echo_half_closed(addr, &sent, &mut rng)
                        .unwrap_or_else(|e| panic!("stream {seed}: {e}"));
                    assert!(echoed == sent, "stream {seed}: the echo differs");
                })
            })
            .collect();
        let streamed: Vec<_> = streams.into_iter().map(|s| s.join()).collect();
        streaming.store(false, Ordering::Relaxed);
        for ping in pings {
            ping.join().unwrap();
        }
        for stream in streamed {
            stream.unwrap();
        }
    });
}

/// Sends `datagram` and waits for its echo, sending again after a timeout (UDP may drop a
/// datagram even on loopback when buffers are full), at most five times.
fn echo(socket: &UdpSocket, datagram: &[u8], back: &mut [u8]) -> usize {
    for _ in 0..5 {
        socket.send(datagram).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        // A receive interrupted by a signal (it has a timeout, so the system returns EINTR
        // rather than restarting it) is simply taken again, without sending again.
        let received = loop {
            match socket.recv(back) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match received {
            Ok(n) => return n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("receive failed: {e}"),
        }
    }
    panic!(
        "no echo of a {}-byte datagram after 5 sends",
        datagram.len()
    );
}
