//! The load clients refuse a server that echoes a wrong byte: a fake server that flips one
//! byte after a while must end every workload with `LoadError::Mismatch`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread;

use socket_echo_bench::load::{self, Limits, LoadError};

/// Echoes TCP faithfully for `good` bytes per connection, then flips every byte after.
fn corrupting_tcp(good: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            thread::spawn(move || {
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
    });
    addr
}

/// Echoes UDP faithfully for `good` datagrams, then flips the last byte of each.
fn corrupting_udp(good: usize) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut count = 0usize;
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            if count >= good && n > 0 {
                buf[n - 1] ^= 0x80;
            }
            count += 1;
            let _ = socket.send_to(&buf[..n], peer);
        }
    });
    addr
}

fn assert_mismatch<T: std::fmt::Debug>(result: load::Result<T>) {
    match result {
        Err(LoadError::Mismatch { .. }) => {}
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn tcp_lat_detects_a_wrong_byte() {
    let addr = corrupting_tcp(64 * 10 + 5);
    assert_mismatch(load::tcp_lat(addr, 64, Limits::count(1000)));
}

#[test]
fn tcp_many_detects_a_wrong_byte() {
    let addr = corrupting_tcp(512 * 3);
    assert_mismatch(load::tcp_many(addr, 10, 512, 2, Limits::count(100_000)));
}

#[test]
fn bulk_detects_a_wrong_byte() {
    let addr = corrupting_tcp(1_000_003);
    let limits = Limits {
        max_count: 64 << 20,
        ..Limits::count(0)
    };
    match load::bulk(addr, 64 * 1024, limits) {
        Err(LoadError::Mismatch { offset, .. }) => assert_eq!(offset, 1_000_003),
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn idle_detects_a_wrong_byte() {
    let addr = corrupting_tcp(63);
    assert_mismatch(load::idle(addr, 5, 64));
}

#[test]
fn udp_lat_detects_a_wrong_byte() {
    let addr = corrupting_udp(10);
    assert_mismatch(load::udp_lat(addr, 64, Limits::count(1000)));
}

#[test]
fn udp_many_detects_a_wrong_byte() {
    let addr = corrupting_udp(20);
    assert_mismatch(load::udp_many(addr, 10, 512, 2, Limits::count(100_000)));
}

#[test]
fn a_faithful_server_passes() {
    let addr = corrupting_tcp(usize::MAX);
    let out = load::tcp_many(addr, 4, 512, 2, Limits::count(100)).unwrap();
    assert!(out.messages >= 100);
    let addr = corrupting_udp(usize::MAX);
    let out = load::udp_lat(addr, 64, Limits::count(100)).unwrap();
    // Echoes are counted up to the bound; a datagram late on a busy machine is lost besides.
    assert_eq!(out.messages, 100);
}
