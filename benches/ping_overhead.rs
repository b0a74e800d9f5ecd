//! How much `EchoClient::ping` adds over a raw blocking client doing the same loop.
//!
//! ```text
//! cargo bench --features measure --bench ping_overhead -- [PROBES [ROUNDS]]
//! ```
//!
//! One std echo server per transport runs in this process (a thread per TCP connection, one
//! thread for UDP). Each round times, for TCP and for UDP, 64-byte round trips made by a raw
//! client (`write_all` then `read_exact`, or `send` then `recv`, compare) and by `ping` with
//! interval 0 and an empty callback, each on a fresh connection, in an order that rotates
//! from round to round. It prints the mean round trip of each and the ratio ping / raw, then
//! the median ratio and its min..max over the rounds. The target is a ratio of at most 1.05.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use socket_echo::{EchoClient, Ping, Tcp, Udp};

const SIZE: usize = 64;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let probes = args.first().copied().unwrap_or(20_000);
    let rounds = args.get(1).copied().unwrap_or(7);
    let tcp = tcp_server();
    let udp = udp_server();
    println!("{probes} probes of {SIZE} bytes per client per round, {rounds} rounds");
    let mut ratios = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let mut row = Vec::new();
        for (i, name) in ["tcp", "udp"].into_iter().enumerate() {
            let (raw, ping) = if round % 2 == 0 {
                let raw = raw(i, tcp, udp, probes);
                (raw, ping(i, tcp, udp, probes))
            } else {
                let ping = ping(i, tcp, udp, probes);
                (raw(i, tcp, udp, probes), ping)
            };
            let ratio = ping.as_secs_f64() / raw.as_secs_f64();
            ratios[i].push(ratio);
            row.push(format!(
                "{name}: raw {:.2} us, ping {:.2} us, ratio {ratio:.3}",
                per_probe(raw, probes),
                per_probe(ping, probes)
            ));
        }
        println!("round {round}: {}", row.join("; "));
    }
    for (i, name) in ["tcp", "udp"].into_iter().enumerate() {
        let r = &mut ratios[i];
        r.sort_by(f64::total_cmp);
        println!(
            "{name}: ping / raw median {:.3} (min {:.3} .. max {:.3})",
            r[r.len() / 2],
            r[0],
            r[r.len() - 1]
        );
    }
}

fn per_probe(elapsed: Duration, probes: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / probes as f64
}

fn raw(transport: usize, tcp: SocketAddr, udp: SocketAddr, probes: u64) -> Duration {
    let message = [7u8; SIZE];
    let mut reply = [0u8; SIZE];
    if transport == 0 {
        let mut stream = TcpStream::connect(tcp).unwrap();
        stream.set_nodelay(true).unwrap();
        let start = Instant::now();
        for _ in 0..probes {
            stream.write_all(&message).unwrap();
            stream.read_exact(&mut reply).unwrap();
            assert_eq!(reply, message);
        }
        start.elapsed()
    } else {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(udp).unwrap();
        let start = Instant::now();
        for _ in 0..probes {
            socket.send(&message).unwrap();
            let n = socket.recv(&mut reply).unwrap();
            assert_eq!(&reply[..n], &message[..]);
        }
        start.elapsed()
    }
}

fn ping(transport: usize, tcp: SocketAddr, udp: SocketAddr, probes: u64) -> Duration {
    let ping = Ping::new()
        .with_count(probes)
        .with_size(SIZE)
        .with_interval(Duration::ZERO);
    let summary = if transport == 0 {
        EchoClient::connect_on(Tcp, tcp)
            .unwrap()
            .ping(&ping, |_| {})
    } else {
        EchoClient::connect_on(Udp, udp)
            .unwrap()
            .ping(&ping, |_| {})
    }
    .unwrap();
    assert_eq!(summary.received(), probes);
    summary.elapsed()
}

fn tcp_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            conn.set_nodelay(true).unwrap();
            thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                loop {
                    match conn.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => conn.write_all(&buffer[..n]).unwrap(),
                    }
                }
            });
        }
    });
    addr
}

fn udp_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buffer = [0u8; 65536];
        loop {
            let (n, peer) = socket.recv_from(&mut buffer).unwrap();
            socket.send_to(&buffer[..n], peer).unwrap();
        }
    });
    addr
}
