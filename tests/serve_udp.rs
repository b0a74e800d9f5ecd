//! What only UDP has under `EchoServer::serve()`: the largest datagram of each family, the
//! deny list of source ports, and ICMP errors. Loopback, port 0, IPv4 and IPv6. The rules
//! every datagram transport shares are in `any_transport_serve.rs`.

mod serve_support;
mod util;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use serve_support::*;
use socket_echo::{EchoServer, Options, Udp};

/// How long a test waits for a reply it expects not to come.
const NO_REPLY: Duration = Duration::from_millis(300);

/// Receives one datagram, asserting it comes from `server`.
fn recv_from_server(socket: &UdpSocket, server: SocketAddr) -> Vec<u8> {
    let mut buf = vec![0; 70_000];
    let (n, from) = socket.recv_from(&mut buf).expect("reply");
    assert_eq!(from, server, "reply from an unexpected address");
    buf.truncate(n);
    buf
}

fn assert_no_reply(socket: &UdpSocket) {
    socket.set_read_timeout(Some(NO_REPLY)).unwrap();
    let mut buf = [0; 4096];
    match socket.recv_from(&mut buf) {
        Err(e) if is_timeout(&e) => {}
        other => panic!("expected no reply, got {other:?}"),
    }
}

#[test]
fn the_largest_datagram_is_echoed_whole() {
    for (addr, largest) in LOOPBACKS.into_iter().zip([65_507, 65_527]) {
        let handle = spawn_udp(addr, Options::new());
        let server = handle.local_addr();
        let client = udp_client(server, PATIENCE);
        let payload = Rng::new(largest as u64).bytes(largest);
        assert_eq!(client.send_to(&payload, server).unwrap(), largest);
        assert!(recv_from_server(&client, server) == payload, "{addr}");
        let stats = wait_for_stats(&handle, "the echo", |s| s.datagrams_echoed == 1);
        assert_eq!(stats.dropped_truncated, 0);
    }
}

#[test]
fn a_denied_source_port_gets_no_reply_and_is_counted() {
    for addr in LOOPBACKS {
        let denied = UdpSocket::bind(addr).unwrap();
        denied.set_read_timeout(Some(PATIENCE)).unwrap();
        let port = denied.local_addr().unwrap().port();
        let handle = spawn_udp(addr, Options::new().with_denied_ports([port]));
        let server = handle.local_addr();
        denied.send_to(b"from a denied port", server).unwrap();
        assert_no_reply(&denied);
        let stats = wait_for_stats(&handle, "the drop", |s| s.dropped_denied_port == 1);
        assert_eq!(stats.datagrams_echoed, 0, "{addr}");
        // Any other port is answered.
        let other = udp_client(server, PATIENCE);
        other.send_to(b"allowed", server).unwrap();
        assert_eq!(recv_from_server(&other, server), b"allowed");
        drop(handle);
        denied.set_read_timeout(Some(PATIENCE)).unwrap();

        let open = spawn_udp(addr, Options::new().with_denied_ports([]));
        denied.send_to(b"no deny list", open.local_addr()).unwrap();
        assert_eq!(
            recv_from_server(&denied, open.local_addr()),
            b"no deny list"
        );
        assert_eq!(open.stats().dropped_denied_port, 0);
    }
}

#[test]
fn the_default_deny_list_refuses_the_echo_port() {
    for addr in ["127.0.0.1:7", "[::1]:7"] {
        let echo_port = match UdpSocket::bind(addr) {
            Ok(socket) => socket,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::PermissionDenied | io::ErrorKind::AddrInUse
                ) =>
            {
                eprintln!("skipped: cannot bind {addr}: {e}");
                continue;
            }
            Err(e) => panic!("bind {addr}: {e}"),
        };
        let family = if addr.starts_with('[') {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        let handle = spawn_udp(family, Options::new());
        echo_port
            .send_to(b"from port 7", handle.local_addr())
            .unwrap();
        assert_no_reply(&echo_port);
        wait_for_stats(&handle, "the drop", |s| s.dropped_denied_port == 1);

        let open = spawn_udp(family, Options::new().with_denied_ports([]));
        echo_port.set_read_timeout(Some(PATIENCE)).unwrap();
        echo_port
            .send_to(b"from port 7", open.local_addr())
            .unwrap();
        assert_eq!(
            recv_from_server(&echo_port, open.local_addr()),
            b"from port 7"
        );
    }
}

/// Asks the system to report ICMP errors on the server socket, as other systems do by
/// default: the next receive then fails with `ConnectionRefused`.
fn report_icmp_errors<S: AsFd>(socket: &S, ipv6: bool) {
    let (level, name) = if ipv6 {
        (libc::SOL_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::SOL_IP, libc::IP_RECVERR)
    };
    let on: libc::c_int = 1;
    // SAFETY: a valid descriptor, and a pointer to an int with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", io::Error::last_os_error());
}

#[test]
fn icmp_port_unreachable_from_earlier_replies_does_not_stop_the_server() {
    for addr in LOOPBACKS {
        let server = EchoServer::bind_on(Udp, addr).unwrap();
        report_icmp_errors(&server, addr.starts_with('['));
        let handle = server.spawn().unwrap();
        let server = handle.local_addr();
        for _ in 0..20 {
            // Gone before the reply comes back: the reply draws port unreachable.
            udp_client(server, PATIENCE)
                .send_to(b"gone", server)
                .unwrap();
        }
        wait_for_stats(&handle, "the 20 datagrams", |s| {
            s.datagrams_echoed + s.dropped_send_failed == 20
        });
        // A pending error may be reported on the server's next send instead of its next
        // receive, which drops that reply: a live client resends, as EchoClient does.
        let client = udp_client(server, Duration::from_millis(500));
        let mut answered = false;
        for _ in 0..5 {
            client.send_to(b"alive", server).unwrap();
            let mut buf = [0; 16];
            match client.recv_from(&mut buf) {
                Ok((n, from)) => {
                    assert_eq!((&buf[..n], from), (&b"alive"[..], server));
                    answered = true;
                    break;
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => panic!("{addr}: {e}"),
            }
        }
        assert!(
            answered,
            "{addr}: the server stopped answering: {:?}",
            handle.stats()
        );
    }
}

/// Datagrams already queued when `serve()` starts are taken many at once: each, whatever its
/// place in a batch, goes back whole to its own source, and the one too large for the
/// buffer is dropped and counted without disturbing its neighbours.
#[test]
fn a_queue_of_mixed_datagrams_is_answered_each_to_its_own_source() {
    for family in LOOPBACKS {
        let options = Options::new()
            .with_buffer_size(1000)
            .with_workers(std::num::NonZeroUsize::new(1));
        let server = EchoServer::bind_on_with(Udp, family, options).expect("bind udp");
        let addr = server.local_addr();
        let peers: Vec<UdpSocket> = (0..5).map(|_| udp_client(addr, PATIENCE)).collect();
        // 40 datagrams from 5 sockets in turn, of 0 to 1000 bytes; the 23rd is 1001 bytes.
        let message = |i: usize| -> Vec<u8> {
            let len = if i == 23 { 1001 } else { (i * 37) % 1001 };
            (0..len).map(|k| (i * 7 + k) as u8).collect()
        };
        for i in 0..40 {
            peers[i % 5].send_to(&message(i), addr).expect("send");
        }
        let handle = server.spawn().expect("spawn udp");
        for (p, peer) in peers.iter().enumerate() {
            let want: Vec<Vec<u8>> = (0..40)
                .filter(|i| i % 5 == p && *i != 23)
                .map(message)
                .collect();
            let got: Vec<Vec<u8>> = want.iter().map(|_| recv_from_server(peer, addr)).collect();
            // One socket's datagrams come back in the order sent: one worker, in order.
            assert_eq!(got, want, "{family}: peer {p}");
        }
        let stats = wait_for_stats(&handle, "39 echoes", |s| s.datagrams_echoed == 39);
        assert_eq!(stats.dropped_truncated, 1, "{family}: {stats:?}");
        assert_eq!(stats.bytes_in, stats.bytes_out, "{family}: {stats:?}");
        // The peer whose datagram was dropped gets nothing more.
        assert_no_reply(&peers[23 % 5]);
    }
}

/// `serve()` run on one thread for one server after another, of either family: what a
/// worker keeps between batches belongs to its socket, so the second server's sources come
/// out whole (an IPv6 source read with the length an IPv4 one left would be cut short and
/// refused).
#[test]
fn servers_served_one_after_another_on_one_thread_answer_every_family() {
    for family in ["127.0.0.1:0", "[::1]:0", "127.0.0.1:0", "[::1]:0"] {
        if family.starts_with('[') && !util::ipv6_available() {
            eprintln!("skipped {family}: IPv6 loopback is unavailable");
            continue;
        }
        let options = Options::new().with_workers(std::num::NonZeroUsize::new(1));
        let server = EchoServer::bind_on_with(Udp, family, options).expect("bind udp");
        let addr = server.local_addr();
        let shutdown = server.shutdown_handle();
        let client = std::thread::spawn(move || {
            let socket = udp_client(addr, Duration::from_secs(2));
            socket.send_to(b"which family", addr).expect("send");
            let mut buf = [0; 64];
            let reply = socket.recv_from(&mut buf);
            // Stopped whatever came back, so `serve` below always returns.
            shutdown.shutdown();
            reply.map(|(n, from)| (buf[..n].to_vec(), from))
        });
        // This thread is the server's only worker.
        let stats = server.serve().expect("serve");
        let (reply, from) = client.join().unwrap().expect("a reply");
        assert_eq!((&reply[..], from), (&b"which family"[..], addr), "{family}");
        assert_eq!(stats.datagrams_echoed, 1, "{family}: {stats:?}");
    }
}
