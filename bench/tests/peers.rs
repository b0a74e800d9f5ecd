//! Every compared server, started as a child process with the `peer-server` binary, echoes
//! TCP and UDP correctly under each load client.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use socket_echo_bench::child::ServerChild;
use socket_echo_bench::harness::{self, Config, Workload};
use socket_echo_bench::load::{self, Limits};
use socket_echo_bench::peers::{Kind, Proto, uring};

fn program() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_peer-server"))
}

fn any_local_address() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn start(kind: Kind, proto: Proto) -> ServerChild {
    ServerChild::spawn(program(), &[], kind, proto, any_local_address())
        .unwrap_or_else(|e| panic!("{kind} {} server: {e}", proto.name()))
}

fn check_tcp(kind: Kind) {
    let server = start(kind, Proto::Tcp);
    let out = load::tcp_lat(server.addr(), 64, Limits::count(200)).unwrap();
    assert_eq!((out.messages, out.bytes), (200, 200 * 64));
    if kind == Kind::Raw {
        return; // one client at a time: the latency workload only
    }
    let out = load::tcp_many(server.addr(), 8, 512, 2, Limits::count(400)).unwrap();
    assert!(out.messages >= 400, "{} messages", out.messages);
    assert_eq!(out.bytes, out.messages * 512);
    let bulk = Limits {
        max_count: 4 << 20,
        ..Limits::count(0)
    };
    let out = load::bulk(server.addr(), 64 * 1024, bulk).unwrap();
    assert_eq!(out.bytes, 4 << 20);
    let idle = load::idle(server.addr(), 50, 64).unwrap();
    assert_eq!(idle.len(), 50);
}

fn check_udp(kind: Kind) {
    let server = start(kind, Proto::Udp);
    let out = load::udp_lat(server.addr(), 64, Limits::count(200)).unwrap();
    // Echoes are counted up to the bound; a datagram late on a busy machine is lost besides.
    assert_eq!(out.messages, 200);
    if kind == Kind::Raw {
        return;
    }
    let out = load::udp_many(server.addr(), 8, 512, 2, Limits::count(400)).unwrap();
    assert!(out.messages >= 400, "{} messages", out.messages);
}

#[test]
fn raw_echoes_tcp() {
    check_tcp(Kind::Raw);
}

#[test]
fn raw_echoes_udp() {
    check_udp(Kind::Raw);
}

#[test]
fn naive_echoes_tcp() {
    check_tcp(Kind::Naive);
}

#[test]
fn naive_echoes_udp() {
    check_udp(Kind::Naive);
}

#[test]
fn tokio_echoes_tcp() {
    check_tcp(Kind::Tokio);
}

#[test]
fn tokio_echoes_udp() {
    check_udp(Kind::Tokio);
}

#[test]
fn epoll_echoes_tcp() {
    check_tcp(Kind::Epoll);
}

#[test]
fn epoll_echoes_udp() {
    check_udp(Kind::Epoll);
}

/// Whether the io_uring loop can run here; says so when it cannot.
fn uring_available() -> bool {
    match uring::probe() {
        Ok(()) => true,
        Err(e) => {
            println!("skipped: this kernel sets up no io_uring ({e})");
            false
        }
    }
}

#[test]
fn uring_echoes_tcp() {
    if uring_available() {
        check_tcp(Kind::Uring);
    }
}

#[test]
fn uring_echoes_udp() {
    if uring_available() {
        check_udp(Kind::Uring);
    }
}

#[test]
fn ours_echoes_tcp() {
    check_tcp(Kind::Ours);
}

#[test]
fn ours_echoes_udp() {
    check_udp(Kind::Ours);
}

#[test]
fn peer_servers_bind_ipv6_loopback() {
    let mut kinds = vec![Kind::Epoll, Kind::Ours];
    if uring_available() {
        kinds.push(Kind::Uring);
    }
    for kind in kinds {
        let server =
            ServerChild::spawn(program(), &[], kind, Proto::Tcp, "[::1]:0".parse().unwrap())
                .unwrap();
        assert!(server.addr().is_ipv6());
        let out = load::tcp_lat(server.addr(), 64, Limits::count(10)).unwrap();
        assert_eq!(out.messages, 10);
    }
}

#[test]
fn peer_server_exits_when_stdin_closes() {
    let mut child = Command::new(program())
        .args(["epoll", "tcp", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.trim().parse::<SocketAddr>().is_ok(),
        "printed {line:?}"
    );
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn peer_server_refuses_bad_arguments() {
    let status = Command::new(program())
        .args(["nginx", "tcp", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn harness_measures_every_server_in_every_round() {
    let config = Config {
        rounds: 2,
        secs: std::time::Duration::from_millis(200),
        workloads: vec![
            Workload::Tcp50,
            Workload::Cpu,
            Workload::UdpLat,
            Workload::Udp50,
        ],
        servers: vec![Kind::Raw, Kind::Epoll, Kind::Ours],
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
            ("udp-lat", "p50 µs"),
            ("udp-lat", "p99 µs"),
            ("udp-lat", "lost"),
            ("tcp-50", "msgs/s"),
            ("tcp-50", "p99 ms"),
            ("udp-50", "msgs/s"),
            ("udp-50", "p99 ms"),
            ("udp-50", "lost"),
            ("udp-50", "server CPU µs/msg"),
            ("cpu", "server CPU µs/msg"),
        ]
    );
    // Every server that ran udp-50 has its CPU per message, a real figure.
    let udp_cpu = &rows[rows.len() - 2];
    assert_eq!(udp_cpu.medians.len(), 2, "{udp_cpu:?}");
    assert!(udp_cpu.medians.values().all(|m| *m > 0.0), "{udp_cpu:?}");
    // raw runs only the single-client workload; everyone else runs both, twice.
    assert_eq!(rows[0].medians.len(), 3);
    assert_eq!(rows[3].medians.len(), 2);
    assert_eq!(rows[3].ours_vs[&Kind::Epoll].rounds, 2);
    let table = harness::render_markdown(&rows, &config.servers, &results);
    assert!(table.contains("| tcp-50 | msgs/s ↑ | – |"), "{table}");
}

#[test]
fn harness_measures_both_clients_of_every_client_workload() {
    let config = Config {
        rounds: 2,
        secs: std::time::Duration::from_millis(200),
        workloads: Workload::CLIENTS.to_vec(),
        servers: Vec::new(),
        client_threads: 2,
        ip: "127.0.0.1".parse().unwrap(),
        server_program: (program().to_path_buf(), Vec::new()),
    };
    let results = harness::run_rounds(&config, |_| {});
    assert!(results.failures.is_empty(), "{:?}", results.failures);
    assert!(results.records.is_empty());
    let rows = harness::summarize_clients(&results);
    let names: Vec<_> = rows.iter().map(|r| (r.workload.name(), r.metric)).collect();
    assert_eq!(
        names,
        [
            ("client-lat", "p50 µs"),
            ("client-lat", "p99 µs"),
            ("client-lat", "msgs/s"),
            ("client-50", "msgs/s"),
            ("client-50", "p99 ms"),
            ("client-udp-50", "msgs/s"),
            ("client-udp-50", "p99 ms"),
            ("client-udp-50", "lost"),
            ("client-bulk", "MB/s"),
        ]
    );
    for row in &rows {
        assert!(row.raw.is_some() && row.library.is_some(), "{row:?}");
        if row.metric != "lost" {
            assert_eq!(row.library_vs_raw.map(|r| r.rounds), Some(2), "{row:?}");
        }
    }
    let table = harness::render_clients_markdown(&rows, &results);
    assert!(table.starts_with("| workload | metric | raw | library | library ÷ raw |"));
}
