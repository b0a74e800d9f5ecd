//! RELIABILITY 18-21: every `Options` knob read back from the real socket, IPv4 and IPv6;
//! listener options on servers, connection options on clients.

mod transports;
mod util;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket_echo::{DEFAULT_TIMEOUT, EchoClient, EchoServer, Keepalive, Options, Tcp, Udp};
use socket2::SockRef;
use transports::Site;
use util::{GENEROUS, serve_once_in_background};

/// A TCP server to connect to and a client connected to it with `options`. The server is
/// returned so that it outlives the client; the connection waits in its backlog.
fn tcp_client(addr: SocketAddr, options: Options) -> (EchoServer, EchoClient) {
    let server = EchoServer::bind(addr).unwrap();
    let client = EchoClient::connect_with(server.local_addr(), options).unwrap();
    (server, client)
}

fn reuse_address(site: &Site<Tcp>) {
    let addr = site.addr();
    for value in [true, false] {
        let server = EchoServer::bind_with(addr, Options::new().with_reuse_address(value)).unwrap();
        assert_eq!(SockRef::from(&server).reuse_address().unwrap(), value);
    }
    // Never on UDP: two servers could then share a port without knowing it.
    let options = Options::new().with_reuse_address(true);
    let server = EchoServer::bind_on_with(Udp, addr, options).unwrap();
    assert!(!SockRef::from(&server).reuse_address().unwrap());
}

fn reuse_port(site: &Site<Tcp>) {
    let addr = site.addr();
    for value in [true, false] {
        let options = Options::new().with_reuse_port(value);
        let tcp = EchoServer::bind_with(addr, options.clone()).unwrap();
        assert_eq!(SockRef::from(&tcp).reuse_port().unwrap(), value);
        let udp = EchoServer::bind_on_with(Udp, addr, options).unwrap();
        assert_eq!(SockRef::from(&udp).reuse_port().unwrap(), value);
    }
}

/// Two servers share a port only when both ask for `reuse_port`.
fn reuse_port_lets_two_servers_share_a_port(site: &Site<Tcp>) {
    let addr = site.addr();
    let options = Options::new().with_reuse_port(true);
    let first = EchoServer::bind_with(addr, options.clone()).unwrap();
    let second = EchoServer::bind_with(first.local_addr(), options).unwrap();
    assert_eq!(first.local_addr(), second.local_addr());
}

fn nodelay(site: &Site<Tcp>) {
    let addr = site.addr();
    let (_server, client) = tcp_client(addr, Options::new());
    assert!(
        SockRef::from(&client).tcp_nodelay().unwrap(),
        "on by default"
    );
    for value in [true, false] {
        let (_server, client) = tcp_client(addr, Options::new().with_nodelay(value));
        assert_eq!(SockRef::from(&client).tcp_nodelay().unwrap(), value);
    }
}

fn keepalive(site: &Site<Tcp>) {
    let addr = site.addr();
    let (_server, client) = tcp_client(addr, Options::new());
    assert!(
        !SockRef::from(&client).keepalive().unwrap(),
        "off by default"
    );

    let keepalive = Keepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10))
        .with_probes(5);
    let (_server, client) = tcp_client(addr, Options::new().with_keepalive(Some(keepalive)));
    let socket = SockRef::from(&client);
    assert!(socket.keepalive().unwrap());
    assert_eq!(
        socket.tcp_keepalive_time().unwrap(),
        Duration::from_secs(60)
    );
    assert_eq!(
        socket.tcp_keepalive_interval().unwrap(),
        Duration::from_secs(10)
    );
    assert_eq!(socket.tcp_keepalive_retries().unwrap(), 5);
}

fn linger(site: &Site<Tcp>) {
    let addr = site.addr();
    let (_server, client) = tcp_client(addr, Options::new());
    assert_eq!(
        SockRef::from(&client).linger().unwrap(),
        None,
        "system default"
    );
    for value in [Duration::ZERO, Duration::from_secs(5)] {
        let (_server, client) = tcp_client(addr, Options::new().with_linger(Some(value)));
        assert_eq!(SockRef::from(&client).linger().unwrap(), Some(value));
    }
}

/// RELIABILITY 20: Linux doubles the size it is given, so the check is "at least".
fn buffer_sizes(site: &Site<Tcp>) {
    let addr = site.addr();
    let recv = 96 * 1024;
    let send = 48 * 1024;
    let options = Options::new()
        .with_recv_buffer_size(Some(recv))
        .with_send_buffer_size(Some(send));
    let check = |socket: SockRef<'_>, what: &str| {
        let got_recv = socket.recv_buffer_size().unwrap();
        let got_send = socket.send_buffer_size().unwrap();
        assert!(got_recv >= recv, "{what}: SO_RCVBUF {got_recv} < {recv}");
        assert!(got_send >= send, "{what}: SO_SNDBUF {got_send} < {send}");
    };
    let tcp = EchoServer::bind_with(addr, options.clone()).unwrap();
    check(SockRef::from(&tcp), "tcp server");
    let udp = EchoServer::bind_on_with(Udp, addr, options.clone()).unwrap();
    check(SockRef::from(&udp), "udp server");
    let client = EchoClient::connect_with(tcp.local_addr(), options.clone()).unwrap();
    check(SockRef::from(&client), "tcp client");
    let client = EchoClient::connect_on_with(Udp, udp.local_addr(), options).unwrap();
    check(SockRef::from(&client), "udp client");
}

/// `IP_TTL` over IPv4, `IPV6_UNICAST_HOPS` over IPv6.
fn ttl(site: &Site<Tcp>) {
    let addr = site.addr();
    let options = Options::new().with_ttl(Some(42));
    let hops = |socket: SockRef<'_>| {
        if addr.is_ipv4() {
            socket.ttl_v4().unwrap()
        } else {
            socket.unicast_hops_v6().unwrap()
        }
    };
    let tcp = EchoServer::bind_with(addr, options.clone()).unwrap();
    assert_eq!(hops(SockRef::from(&tcp)), 42, "tcp server");
    let udp = EchoServer::bind_on_with(Udp, addr, options.clone()).unwrap();
    assert_eq!(hops(SockRef::from(&udp)), 42, "udp server");
    let client = EchoClient::connect_with(tcp.local_addr(), options.clone()).unwrap();
    assert_eq!(hops(SockRef::from(&client)), 42, "tcp client");
    let client = EchoClient::connect_on_with(Udp, udp.local_addr(), options).unwrap();
    assert_eq!(hops(SockRef::from(&client)), 42, "udp client");
}

/// Read and write timeouts on client sockets: the default, a value, and `None`.
fn timeouts(site: &Site<Tcp>) {
    let addr = site.addr();
    let udp = EchoServer::bind_on(Udp, addr).unwrap();
    let read = Duration::from_millis(1500);
    let write = Duration::from_millis(2500);
    let cases = [
        (Options::new(), Some(DEFAULT_TIMEOUT), Some(DEFAULT_TIMEOUT)),
        (
            Options::new()
                .with_read_timeout(Some(read))
                .with_write_timeout(Some(write)),
            Some(read),
            Some(write),
        ),
        (
            Options::new()
                .with_read_timeout(None)
                .with_write_timeout(None),
            None,
            None,
        ),
    ];
    for (options, want_read, want_write) in cases {
        let (_server, tcp) = tcp_client(addr, options.clone());
        let udp = EchoClient::connect_on_with(Udp, udp.local_addr(), options).unwrap();
        for (socket, what) in [(SockRef::from(&tcp), "tcp"), (SockRef::from(&udp), "udp")] {
            assert_eq!(socket.read_timeout().unwrap(), want_read, "{what} read");
            assert_eq!(socket.write_timeout().unwrap(), want_write, "{what} write");
        }
    }
}

/// The options a server or client was made with are the ones it reports.
fn options_are_reported(site: &Site<Tcp>) {
    let addr = site.addr();
    let options = Options::new().with_backlog(8).with_buffer_size(1500);
    let server = EchoServer::bind_with(addr, options.clone()).unwrap();
    assert_eq!(server.options(), &options);
    let options = Options::new()
        .with_buffer_size(1500)
        .with_read_timeout(Some(Duration::from_secs(3)));
    let client = EchoClient::connect_with(server.local_addr(), options.clone()).unwrap();
    assert_eq!(client.options(), &options);
    assert_eq!(client.peer_addr(), server.local_addr());
}

instances!(reuse_address: tcp_v4, tcp_v6);
instances!(reuse_port: tcp_v4, tcp_v6);
instances!(reuse_port_lets_two_servers_share_a_port: tcp_v4, tcp_v6);
instances!(nodelay: tcp_v4, tcp_v6);
instances!(keepalive: tcp_v4, tcp_v6);
instances!(linger: tcp_v4, tcp_v6);
instances!(buffer_sizes: tcp_v4, tcp_v6);
instances!(ttl: tcp_v4, tcp_v6);
instances!(timeouts: tcp_v4, tcp_v6);
instances!(options_are_reported: tcp_v4, tcp_v6);

/// Skips the calling test with a message when IPv6 loopback is unavailable.
fn ipv6_or_skip(test: &str) -> bool {
    if !util::ipv6_available() {
        eprintln!("skipped {test}: IPv6 loopback is unavailable");
    }
    util::ipv6_available()
}

/// `IPV6_V6ONLY` is set explicitly both ways, on servers and clients of both transports.
/// The servers bind `[::]`: binding a specific IPv6 address such as `[::1]` makes Linux set
/// the flag itself, whatever was asked.
#[test]
fn only_v6_read_back() {
    if !ipv6_or_skip("only_v6_read_back") {
        return;
    }
    let addr: SocketAddr = "[::]:0".parse().unwrap();
    for value in [true, false] {
        let options = Options::new().with_only_v6(value);
        let tcp = EchoServer::bind_with(addr, options.clone()).unwrap();
        assert_eq!(SockRef::from(&tcp).only_v6().unwrap(), value, "tcp server");
        let udp = EchoServer::bind_on_with(Udp, addr, options.clone()).unwrap();
        assert_eq!(SockRef::from(&udp).only_v6().unwrap(), value, "udp server");
        let loopback =
            SocketAddr::new(util::any_local_ipv6_address().ip(), tcp.local_addr().port());
        let client = EchoClient::connect_with(loopback, options).unwrap();
        assert_eq!(SockRef::from(&client).only_v6().unwrap(), value, "client");
    }
}

/// RELIABILITY 18: `[::]` with `only_v6(false)` serves an IPv4 client on 127.0.0.1.
#[test]
fn dual_stack_server_serves_ipv4_clients() {
    if !ipv6_or_skip("dual_stack_server_serves_ipv4_clients") {
        return;
    }
    let options = Options::new().with_only_v6(false);
    let server = EchoServer::bind_with("[::]:0", options).unwrap();
    let v4 = SocketAddr::from(([127, 0, 0, 1], server.local_addr().port()));
    let served = serve_once_in_background(server);
    let mut client = EchoClient::connect(v4).unwrap();
    assert_eq!(&client.echo(b"from IPv4").unwrap()[..], b"from IPv4");
    drop(client);
    let exchange = served.join().unwrap().unwrap();
    // The IPv4 client appears as a v4-mapped IPv6 address.
    let peer = match exchange.peer() {
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().map(std::net::IpAddr::V4),
        SocketAddr::V4(v4) => Some(std::net::IpAddr::V4(*v4.ip())),
    };
    assert_eq!(peer, Some([127, 0, 0, 1].into()));
}

/// RELIABILITY 18: `[::]` with `only_v6(true)` refuses IPv4 clients.
#[test]
fn ipv6_only_server_refuses_ipv4_clients() {
    if !ipv6_or_skip("ipv6_only_server_refuses_ipv4_clients") {
        return;
    }
    let server = EchoServer::bind_with("[::]:0", Options::new().with_only_v6(true)).unwrap();
    let v4 = SocketAddr::from(([127, 0, 0, 1], server.local_addr().port()));
    match TcpStream::connect_timeout(&v4, GENEROUS) {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        Ok(_) => panic!("an IPv6-only server accepted an IPv4 client"),
    }
}
