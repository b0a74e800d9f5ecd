//! UDP echo loops: datagrams with forged sources must not tie `serve()` into an endless
//! exchange, with itself or with another server.
//!
//! Forging a source needs a raw IPv4 socket (`IPPROTO_RAW`, so the test writes the IPv4 and
//! UDP headers itself). Tests that need one print "skipped: no raw socket" and return when
//! the process may not open one; as root they run. IPv4 is forged with `IPPROTO_RAW`; IPv6
//! (for a link-local source, which exists only in a network namespace the test makes) with a
//! raw UDP socket bound to the forged address, the test writing the UDP header and its
//! checksum over the IPv6 pseudo-header.

mod serve_support;
mod util;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use serve_support::*;
use socket_echo::{
    DEFAULT_SOURCE_RATE_LIMIT, EchoClient, EchoServer, Error, Fault, Faults, Options, ServerHandle,
    SourceRateLimit, Udp,
};
use socket2::{Domain, Protocol, Socket, Type};

/// A raw IPv4 socket that sends packets with hand-written headers, or `None` (after saying
/// so) when this process may not open one.
fn raw_socket() -> Option<Socket> {
    match Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    ) {
        Ok(socket) => Some(socket),
        Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied) => {
            eprintln!("skipped: no raw socket ({e})");
            None
        }
        Err(e) => panic!("raw socket: {e}"),
    }
}

/// The Internet checksum (RFC 1071) of `bytes`.
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet carrying one UDP datagram from `source` to `destination`. The UDP checksum
/// is 0, which IPv4 allows to mean "none".
fn udp_packet(source: SocketAddrV4, destination: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let mut packet = Vec::with_capacity(total);
    packet.extend_from_slice(&[0x45, 0]); // version 4, 20-byte header; no TOS
    packet.extend_from_slice(&(total as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0x40, 0]); // id 0; don't fragment
    packet.extend_from_slice(&[64, 17, 0, 0]); // TTL 64, UDP, checksum filled in below
    packet.extend_from_slice(&source.ip().octets());
    packet.extend_from_slice(&destination.ip().octets());
    let header_sum = checksum(&packet);
    packet[10..12].copy_from_slice(&header_sum.to_be_bytes());
    packet.extend_from_slice(&source.port().to_be_bytes());
    packet.extend_from_slice(&destination.port().to_be_bytes());
    packet.extend_from_slice(&(udp_len as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(payload);
    packet
}

/// Sends one UDP datagram to `destination` that claims to come from `source`.
fn forge(raw: &Socket, source: SocketAddr, destination: SocketAddr, payload: &[u8]) {
    let (SocketAddr::V4(source), SocketAddr::V4(destination)) = (source, destination) else {
        panic!("only IPv4 is forged: {source} -> {destination}");
    };
    let packet = udp_packet(source, destination, payload);
    // The port of a raw socket's destination is ignored; the UDP header carries it.
    let to = SocketAddr::new(IpAddr::V4(*destination.ip()), 0);
    let sent = raw
        .send_to(&packet, &to.into())
        .expect("send forged packet");
    assert_eq!(sent, packet.len());
}

/// A raw IPv6 UDP socket bound to `source`'s address (the system writes it as the packets'
/// source; the test writes the UDP header), or `None` (after saying so) when this process may
/// not open one.
#[cfg(target_os = "linux")]
fn raw_socket_v6(source: SocketAddrV6) -> Option<Socket> {
    let socket = match Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::UDP)) {
        Ok(socket) => socket,
        Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied) => {
            eprintln!("skipped: no raw IPv6 socket ({e})");
            return None;
        }
        Err(e) => panic!("raw IPv6 socket: {e}"),
    };
    let at = SocketAddrV6::new(*source.ip(), 0, 0, source.scope_id());
    socket
        .bind(&SocketAddr::V6(at).into())
        .expect("bind the raw socket to the forged address");
    Some(socket)
}

/// A UDP datagram (header and payload) from `source` to `destination` over IPv6, whose
/// checksum (mandatory in IPv6) covers the pseudo-header of RFC 8200, section 8.1.
#[cfg(target_os = "linux")]
fn udp6_datagram(source: SocketAddrV6, destination: SocketAddrV6, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut datagram = Vec::with_capacity(len);
    datagram.extend_from_slice(&source.port().to_be_bytes());
    datagram.extend_from_slice(&destination.port().to_be_bytes());
    datagram.extend_from_slice(&(len as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    let mut summed = Vec::with_capacity(40 + len);
    summed.extend_from_slice(&source.ip().octets());
    summed.extend_from_slice(&destination.ip().octets());
    summed.extend_from_slice(&(len as u32).to_be_bytes());
    summed.extend_from_slice(&[0, 0, 0, 17]);
    summed.extend_from_slice(&datagram);
    // A computed checksum of 0 is sent as all ones (0 means "none", which IPv6 forbids).
    let sum = match checksum(&summed) {
        0 => 0xffff,
        sum => sum,
    };
    datagram[6..8].copy_from_slice(&sum.to_be_bytes());
    datagram
}

/// Sends one UDP datagram to `destination` from `raw` (bound to `source`'s address), claiming
/// `source`'s port.
#[cfg(target_os = "linux")]
fn forge_v6(raw: &Socket, source: SocketAddrV6, destination: SocketAddrV6, payload: &[u8]) {
    let datagram = udp6_datagram(source, destination, payload);
    // A raw IPv6 socket reads a non-zero port as the protocol; the UDP header carries it.
    let to = SocketAddrV6::new(*destination.ip(), 0, 0, destination.scope_id());
    let sent = raw
        .send_to(&datagram, &SocketAddr::V6(to).into())
        .expect("send forged datagram");
    assert_eq!(sent, datagram.len());
}

/// Runs `test` on a thread of its own, in a network namespace of its own (gone when the
/// thread ends) whose loopback is up and also holds the link-local address `fe80::1`, given
/// to `test` with its scope (the loopback's index). Prints "skipped: <why>" instead where the
/// process may not make a namespace, or where `ip` (iproute2) is missing outside CI.
#[cfg(target_os = "linux")]
fn in_namespace_with_link_local(test: impl FnOnce(Ipv6Addr, u32) + Send + 'static) {
    use nix::sched::{CloneFlags, unshare};
    let done = thread::spawn(move || {
        match unshare(CloneFlags::CLONE_NEWNET) {
            Ok(()) => {}
            Err(e @ (nix::errno::Errno::EPERM | nix::errno::Errno::EINVAL)) => {
                eprintln!("skipped: no network namespace of its own ({e})");
                return;
            }
            Err(e) => panic!("unshare(CLONE_NEWNET): {e}"),
        }
        if !util::tools::tool_available("ip", "a namespace with a link-local address") {
            return;
        }
        for args in [
            &["link", "set", "lo", "up"][..],
            &["-6", "addr", "add", "fe80::1/64", "dev", "lo", "nodad"],
        ] {
            let status = std::process::Command::new("ip").args(args).status();
            let status = status.unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
            assert!(status.success(), "ip {args:?}: {status}");
        }
        let scope = nix::net::if_::if_nametoindex("lo").expect("the loopback's index");
        let ip = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        wait_until_it_answers_itself(SocketAddrV6::new(ip, 0, 0, scope));
        test(ip, scope);
    });
    if let Err(panic) = done.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Waits until a datagram sent from `addr` to itself arrives. The system finishes setting up
/// a new address (its local route) after `ip` returns, even without duplicate address
/// detection, and a datagram sent before then is lost.
#[cfg(target_os = "linux")]
fn wait_until_it_answers_itself(addr: SocketAddrV6) {
    let start = Instant::now();
    loop {
        if let Ok(socket) = UdpSocket::bind(addr) {
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let me = socket.local_addr().unwrap();
            let mut buf = [0; 8];
            if socket.send_to(b"ready?", me).is_ok() && socket.recv_from(&mut buf).is_ok() {
                return;
            }
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{addr} never became usable in the namespace"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Sleeps in short steps for `span`; used only to watch counters that must stay still.
fn watch(span: Duration) {
    let end = Instant::now() + span;
    while Instant::now() < end {
        thread::sleep(Duration::from_millis(10));
    }
}

/// A normal client is still answered.
fn assert_serves_a_client(handle: &ServerHandle<Udp>) {
    let mut client = EchoClient::connect_on(Udp, handle.local_addr()).expect("connect");
    assert_eq!(
        &client.echo(b"still here").expect("echo")[..],
        b"still here"
    );
}

#[test]
fn a_datagram_from_the_servers_own_address_is_not_answered() {
    let Some(raw) = raw_socket() else { return };
    let handle = spawn_udp("127.0.0.1:0", Options::new());
    let server = handle.local_addr();
    forge(&raw, server, server, b"talk to yourself");
    // Received (counted in bytes_in whatever becomes of it), then nothing more may happen.
    wait_for_stats(&handle, "the forged datagram", |s| s.bytes_in > 0);
    watch(Duration::from_millis(300));
    let stats = handle.stats();
    assert_eq!(stats.datagrams_echoed, 0, "it answered itself: {stats:?}");
    assert_eq!(stats.dropped_own_address, 1, "{stats:?}");
    assert_serves_a_client(&handle);
}

/// The own-address check tests a link-local source with its scope: without it, the address
/// cannot be bound, and was taken for another machine's, so the server answered itself, until
/// the rate limit, and forever without it.
#[test]
#[cfg(target_os = "linux")]
fn a_datagram_from_the_servers_own_link_local_address_is_not_answered() {
    in_namespace_with_link_local(|ip, scope| {
        for options in [Options::new(), Options::new().with_source_rate_limit(None)] {
            let handle = spawn_udp("[::]:0", options.clone());
            let port = handle.local_addr().port();
            let own = SocketAddrV6::new(ip, port, 0, scope);
            let Some(raw) = raw_socket_v6(own) else {
                return;
            };
            forge_v6(&raw, own, own, b"talk to yourself");
            wait_for_stats(&handle, "the forged datagram", |s| s.bytes_in > 0);
            watch(Duration::from_millis(300));
            let stats = handle.stats();
            assert_eq!(
                (stats.datagrams_echoed, stats.dropped_own_address),
                (0, 1),
                "{options:?}: {stats:?}"
            );
            let mut client =
                EchoClient::connect_on(Udp, (Ipv6Addr::LOCALHOST, port)).expect("connect");
            assert_eq!(&client.echo(b"a client").expect("echo")[..], b"a client");
        }
    });
}

#[test]
fn serve_once_waits_past_a_datagram_from_its_own_address() {
    let Some(raw) = raw_socket() else { return };
    let server = EchoServer::bind_on(Udp, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    forge(&raw, addr, addr, b"talk to yourself");
    let served = thread::spawn(move || server.serve_once());
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
    assert_eq!(&client.echo(b"a client").unwrap()[..], b"a client");
    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.peer(), client.local_addr().unwrap());
    assert_eq!(&exchange.first_message()[..], b"a client");
}

/// Every echo the servers have sent.
fn echoes(servers: &[&ServerHandle<Udp>]) -> u64 {
    servers.iter().map(|s| s.stats().datagrams_echoed).sum()
}

/// Every datagram the servers have refused, for any reason.
fn refusals(servers: &[&ServerHandle<Udp>]) -> u64 {
    servers
        .iter()
        .map(|s| {
            let stats = s.stats();
            stats.dropped_denied_port
                + stats.dropped_bad_source
                + stats.dropped_own_address
                + stats.dropped_rate_limited
        })
        .sum()
}

#[test]
fn one_forged_datagram_between_two_default_servers_is_not_echoed_forever() {
    assert_a_forged_loop_ends(Options::new(), None, Duration::from_secs(2));
}

/// The limit is the server's, not each worker's: split among many workers, a loop is as
/// much a loop, and each worker sees only its share of it.
#[test]
fn a_forged_loop_ends_however_many_workers_share_it() {
    let options = Options::new().with_workers(std::num::NonZeroUsize::new(8));
    assert_a_forged_loop_ends(options, None, Duration::from_secs(2));
}

/// A loop between two servers far apart goes round slowly (here: one of them holds each
/// reply for a millisecond), and must end as surely as a fast one.
#[test]
fn a_slow_loop_ends_too() {
    let hold = Faults::new().with(Fault::delay(Duration::from_millis(1), Duration::ZERO));
    assert_a_forged_loop_ends(Options::new(), Some(hold), Duration::from_secs(10));
}

/// One of the two servers corrupts a byte of every reply (RELIABILITY 41): no datagram of
/// the exchange repeats an earlier one, yet it must end as surely.
#[test]
fn a_forged_loop_through_a_server_that_corrupts_every_reply_ends_too() {
    let corrupt = Faults::new().with(Fault::corrupt(1.0));
    assert_a_forged_loop_ends(Options::new(), Some(corrupt), Duration::from_secs(10));
}

/// Forges one datagram from one server to another, both with `options` and P with `faults`,
/// and checks the exchange comes to rest within `within` and both still serve clients.
fn assert_a_forged_loop_ends(options: Options, faults: Option<Faults>, within: Duration) {
    let Some(raw) = raw_socket() else { return };
    let mut p = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options.clone()).expect("bind P");
    if let Some(faults) = faults {
        p = p.with_faults(faults).expect("faults");
    }
    let p = p.spawn().expect("spawn P");
    let q = spawn_udp("127.0.0.1:0", options);
    forge(&raw, q.local_addr(), p.local_addr(), &[0x55; 64]);
    wait_for_stats(&p, "the forged datagram", |s| s.bytes_in > 0);
    // The exchange must come to rest: no echo for a whole 500 ms window, within `within`.
    let start = Instant::now();
    loop {
        let before = echoes(&[&p, &q]);
        watch(Duration::from_millis(500));
        let after = echoes(&[&p, &q]);
        if after == before {
            eprintln!(
                "the exchange was at rest {:?} after it started, {after} echoes in all",
                start.elapsed()
            );
            break;
        }
        assert!(
            start.elapsed() < within,
            "still echoing after {:?}: {before} then {after} echoes; P {:?}, Q {:?}",
            start.elapsed(),
            p.stats(),
            q.stats()
        );
    }
    // One datagram was in flight, so the first refusal, by either server, ended it.
    assert!(
        refusals(&[&p, &q]) >= 1,
        "P {:?}, Q {:?}",
        p.stats(),
        q.stats()
    );
    // P may alter what it echoes: it answers, with a datagram of the same length.
    let client = udp_client(p.local_addr(), PATIENCE);
    client.send_to(b"still here", p.local_addr()).unwrap();
    let mut buf = [0; 16];
    let (n, from) = client.recv_from(&mut buf).expect("P answers a client");
    assert_eq!((n, from), (10, p.local_addr()));
    assert_serves_a_client(&q);
}

#[test]
fn a_source_repeating_the_last_reply_past_its_burst_is_refused_and_counted() {
    for family in LOOPBACKS {
        let limit = SourceRateLimit::new(1, 5);
        // Four workers share one bucket per source.
        let options = Options::new()
            .with_source_rate_limit(Some(limit))
            .with_workers(std::num::NonZeroUsize::new(4));
        let handle = spawn_udp(family, options);
        let server = handle.local_addr();
        let eager = udp_client(server, PATIENCE);
        // The same datagram 20 times: the first is new, the next ones repeat the reply.
        for _ in 0..20 {
            eager.send_to(b"again", server).unwrap();
        }
        let stats = wait_for_stats(&handle, "20 datagrams", |s| {
            s.datagrams_echoed + s.dropped_rate_limited == 20
        });
        // The first, five repeats at once, and at most one more per second the sending took.
        assert!(
            (6..=8).contains(&stats.datagrams_echoed),
            "{family}: {stats:?}"
        );
        let mut buf = [0; 8];
        for _ in 0..6 {
            let (n, from) = eager.recv_from(&mut buf).expect("reply");
            assert_eq!((&buf[..n], from), (&b"again"[..], server), "{family}");
        }
        // Another source is served as before.
        assert_serves_a_client(&handle);
    }
}

#[test]
fn datagrams_that_differ_are_never_limited() {
    let limit = SourceRateLimit::new(1, 1);
    let handle = spawn_udp(
        "127.0.0.1:0",
        Options::new().with_source_rate_limit(Some(limit)),
    );
    let mut client = EchoClient::connect_on(Udp, handle.local_addr()).unwrap();
    for seq in 0..2000u32 {
        let message = seq.to_be_bytes();
        assert_eq!(&client.echo(&message).unwrap()[..], message);
    }
    handle.shutdown();
    let stats = handle.join().unwrap();
    assert_eq!(
        (stats.datagrams_echoed, stats.dropped_rate_limited),
        (2000, 0)
    );
}

#[test]
fn a_zero_rate_or_burst_is_refused_naming_it() {
    for (limit, name) in [
        (SourceRateLimit::new(0, 10), "source_rate_limit.rate"),
        (SourceRateLimit::new(10, 0), "source_rate_limit.burst"),
    ] {
        let options = Options::new().with_source_rate_limit(Some(limit));
        match EchoServer::bind_on_with(Udp, "127.0.0.1:0", options) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, name),
            other => panic!("{limit:?}: expected InvalidOption, got {other:?}"),
        }
    }
}

#[test]
fn the_default_limit_leaves_a_burst_of_echoes_untouched() {
    let handle = spawn_udp("127.0.0.1:0", Options::new());
    let mut client = EchoClient::connect_on(Udp, handle.local_addr()).unwrap();
    let burst = DEFAULT_SOURCE_RATE_LIMIT.burst();
    for i in 0..burst {
        let message = i.to_be_bytes();
        assert_eq!(&client.echo(&message).unwrap()[..], message);
    }
    let stats = wait_for_stats(&handle, "every echo", |s| {
        s.datagrams_echoed == u64::from(burst)
    });
    assert_eq!(stats.dropped_rate_limited, 0);
}

/// A UDP socket on `ip` at a privileged port (below 1024) no one else holds, or `None` (after
/// saying so) when this process may not bind one.
fn privileged_socket(ip: IpAddr) -> Option<UdpSocket> {
    for port in (960..1024).rev() {
        match UdpSocket::bind((ip, port)) {
            Ok(socket) => return Some(socket),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => {
                eprintln!("skipped: cannot bind a privileged port on {ip}: {e}");
                return None;
            }
        }
    }
    eprintln!("skipped: every port from 960 to 1023 on {ip} is in use");
    None
}

#[test]
fn every_privileged_source_port_is_refused_by_default() {
    for family in LOOPBACKS {
        let handle = spawn_udp(family, Options::new());
        let server = handle.local_addr();
        let Some(client) = privileged_socket(server.ip()) else {
            return;
        };
        client
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        client.send_to(b"from a privileged port", server).unwrap();
        let mut buf = [0; 64];
        match client.recv_from(&mut buf) {
            Err(e) if is_timeout(&e) => {}
            other => panic!("{family}: expected no reply, got {other:?}"),
        }
        let stats = wait_for_stats(&handle, "the drop", |s| s.dropped_denied_port == 1);
        assert_eq!(stats.datagrams_echoed, 0, "{family}");

        // With the deny list emptied, the same port is answered.
        let open = spawn_udp(family, Options::new().with_denied_ports([]));
        client.set_read_timeout(Some(PATIENCE)).unwrap();
        client
            .send_to(b"from a privileged port", open.local_addr())
            .unwrap();
        let (n, from) = client.recv_from(&mut buf).expect("reply");
        assert_eq!(
            (&buf[..n], from),
            (&b"from a privileged port"[..], open.local_addr())
        );
    }
}

/// Not a test of the server: the figures behind the default per-source rate limit
/// (docs/protocol.md). Run it on an idle machine with
/// `cargo test --release --test udp_loops -- --ignored --nocapture rates`.
#[test]
#[ignore = "a measurement, not a check"]
fn rates() {
    const SPAN: Duration = Duration::from_secs(1);
    let open = || {
        Options::new()
            .with_denied_ports([])
            .with_source_rate_limit(None)
    };

    // Two default servers in a loop started by one forged datagram.
    if let Some(raw) = raw_socket() {
        let p = spawn_udp("127.0.0.1:0", open());
        let q = spawn_udp("127.0.0.1:0", open());
        forge(&raw, q.local_addr(), p.local_addr(), &[0x55; 64]);
        wait_for_stats(&p, "the forged datagram", |s| s.bytes_in > 0);
        watch(Duration::from_millis(200));
        let (p0, q0) = (p.stats().datagrams_echoed, q.stats().datagrams_echoed);
        let start = Instant::now();
        watch(SPAN);
        let (p1, q1) = (p.stats().datagrams_echoed, q.stats().datagrams_echoed);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "two-server loop: {:.0} datagrams/s from Q to P, {:.0} from P to Q",
            (p1 - p0) as f64 / secs,
            (q1 - q0) as f64 / secs
        );
    }

    // The same loop between two default servers: how long until it ends.
    if let Some(raw) = raw_socket() {
        let p = spawn_udp("127.0.0.1:0", Options::new());
        let q = spawn_udp("127.0.0.1:0", Options::new());
        let start = Instant::now();
        forge(&raw, q.local_addr(), p.local_addr(), &[0x55; 64]);
        let (mut last, mut last_change) = (0, start);
        while last_change.elapsed() < Duration::from_millis(200)
            && start.elapsed() < Duration::from_secs(5)
        {
            let now = echoes(&[&p, &q]);
            if now != last {
                (last, last_change) = (now, Instant::now());
            }
            thread::sleep(Duration::from_micros(200));
        }
        println!(
            "two default servers: {last} echoes, ended after about {:?}; refused: {}",
            last_change - start,
            refusals(&[&p, &q])
        );
    }

    // One blocking closed-loop EchoClient.
    let server = spawn_udp("127.0.0.1:0", open());
    let mut client = EchoClient::connect_on(Udp, server.local_addr()).unwrap();
    let message = [0x55; 64];
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < SPAN {
        client.echo(&message).unwrap();
        count += 1;
    }
    println!(
        "EchoClient::echo loop: {:.0} datagrams/s",
        count as f64 / start.elapsed().as_secs_f64()
    );

    // A raw std socket ping-pong, 64-byte messages.
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.connect(server.local_addr()).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0; 128];
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < SPAN {
        socket.send(&message).unwrap();
        assert_eq!(socket.recv(&mut buf).unwrap(), message.len());
        count += 1;
    }
    println!(
        "std UdpSocket ping-pong: {:.0} datagrams/s",
        count as f64 / start.elapsed().as_secs_f64()
    );
}
