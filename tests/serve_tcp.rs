//! `EchoServer::serve()` over TCP: byte-exact echo, half-close, resets, peers that vanish,
//! graceful shutdown, stats and workers. Real sockets on loopback, port 0, IPv4 and IPv6.

mod serve_support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::thread;
use std::time::Duration;

use serve_support::*;
use socket_echo::{EchoServer, Error, Options, Udp};
use socket2::{Domain, SockRef, Socket, Type};

#[test]
fn random_payloads_in_random_chunks_come_back_byte_for_byte() {
    let sizes = [0, 1, 1000, 70_001, 1 << 20, 16 << 20];
    for (family, addr) in LOOPBACKS.into_iter().enumerate() {
        let handle = spawn_tcp(addr, Options::new());
        let server = handle.local_addr();
        let mut rng = Rng::new(family as u64 + 1);
        let payloads: Vec<Vec<u8>> = sizes.iter().map(|&n| rng.bytes(n)).collect();
        // Every payload on its own connection, all at once.
        thread::scope(|scope| {
            for (i, payload) in payloads.iter().enumerate() {
                scope.spawn(move || round_trip_in_chunks(connect(server), payload, i as u64));
            }
        });
        let stats = finish(handle);
        let total: u64 = sizes.iter().map(|&n| n as u64).sum();
        assert_eq!(stats.accepted, sizes.len() as u64, "{addr}");
        assert_eq!((stats.bytes_in, stats.bytes_out), (total, total), "{addr}");
        assert_eq!((stats.errors, stats.active), (0, 0), "{addr}");
    }
}

#[test]
fn half_close_gets_every_byte_then_end_of_stream_and_exact_counts() {
    for addr in LOOPBACKS {
        let handle = spawn_tcp(addr, Options::new());
        let payload = Rng::new(7).bytes(300_000);
        round_trip_in_chunks(connect(handle.local_addr()), &payload, 3);
        let stats = finish(handle);
        let sent = payload.len() as u64;
        assert_eq!(stats.bytes_in, sent, "{addr}");
        assert_eq!(stats.bytes_out, sent, "{addr}");
        assert_eq!(
            (stats.accepted, stats.active, stats.errors),
            (1, 0, 0),
            "{addr}"
        );
    }
}

#[test]
fn a_peer_reset_mid_stream_ends_only_that_connection() {
    for addr in LOOPBACKS {
        let handle = spawn_tcp(addr, Options::new());
        let server = handle.local_addr();
        let mut steady = connect(server);
        echo_once(&mut steady, b"before");

        let mut doomed = connect(server);
        echo_once(&mut doomed, &[1; 1000]);
        doomed.write_all(&[2; 100_000]).unwrap();
        SockRef::from(&doomed)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(doomed); // SO_LINGER 0: close sends a reset

        let stats = wait_for_stats(&handle, "the reset connection to close", |s| {
            s.active == 1 && s.errors == 1
        });
        assert_eq!(stats.accepted, 2, "{addr}");
        echo_once(&mut steady, b"after");
        let mut newcomer = connect(server);
        echo_once(&mut newcomer, b"new");
        drop((steady, newcomer));
        let stats = finish(handle);
        assert_eq!((stats.accepted, stats.errors), (3, 1), "{addr}");
    }
}

/// Run in a child process with the default SIGPIPE action (terminate) restored: if the
/// server ever wrote to a gone peer without suppressing the signal, the child would die.
#[test]
fn writing_to_a_peer_that_has_gone_fails_only_that_connection() {
    let status = run_child("child_writes_to_gone_peers", Duration::from_secs(30));
    assert!(status.success(), "child failed: {status:?}");
}

#[test]
fn child_writes_to_gone_peers() {
    if !is_child("child_writes_to_gone_peers") {
        return;
    }
    // SAFETY: restoring a default signal action, before the server starts any thread.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    for addr in LOOPBACKS {
        let handle = spawn_tcp(addr, Options::new());
        let server = handle.local_addr();
        let mut steady = connect(server);
        let payload = vec![9; 64 * 1024];
        for _ in 0..20 {
            // Push until the window is full, then leave without reading a byte: the echo the
            // server is still writing goes to a closed socket.
            let mut gone = connect(server);
            gone.set_nonblocking(true).unwrap();
            for _ in 0..64 {
                match gone.write(&payload) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("unexpected write error: {e}"),
                }
            }
            drop(gone);
            echo_once(&mut steady, b"still here");
        }
        let stats = wait_for_stats(&handle, "the gone peers to be closed", |s| s.active == 1);
        assert!(stats.errors >= 1, "{addr}: no connection failed: {stats:?}");
        echo_once(&mut connect(server), b"new client");
        drop(steady);
        let stats = finish(handle);
        assert_eq!(stats.accepted, 22, "{addr}");
    }
}

/// A client whose receive buffer is tiny, so the server soon holds echoed bytes for it.
fn slow_reader(server: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

#[test]
fn graceful_shutdown_delivers_pending_bytes_then_end_of_stream_and_frees_the_port() {
    for addr in LOOPBACKS {
        let options = Options::new().with_shutdown_grace(PATIENCE);
        let handle = spawn_tcp(addr, options);
        let server = handle.local_addr();
        let mut idle = connect(server);
        echo_once(&mut idle, b"idle but open");
        let mut client = slow_reader(server);
        let payload = Rng::new(11).bytes(4 << 20);
        client.set_nonblocking(true).unwrap();
        let mut sent = 0;
        while sent < payload.len() {
            match client.write(&payload[sent..(sent + 64 * 1024).min(payload.len())]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
        }
        wait_for_stats(&handle, "the server to echo", |s| s.bytes_out > 0);
        client.set_nonblocking(false).unwrap();

        handle.shutdown();
        // The server now waits for the client to take what was echoed to it.
        let mut back = Vec::new();
        let ending = loop {
            let mut buf = [0; 16 * 1024];
            match client.read(&mut buf) {
                Ok(0) => break Ending::Eof,
                Ok(n) => back.extend_from_slice(&buf[..n]),
                Err(e) if is_reset(&e) => break Ending::Reset,
                Err(e) => panic!("{addr}: read: {e}"),
            }
            assert!(back.len() <= sent, "more came back than was sent");
        };
        drop(client);
        let stats = handle.join().unwrap();
        assert_eq!(ending, Ending::Eof, "{addr}: after {} bytes", back.len());
        assert!(back == payload[..back.len()], "{addr}: echo differs");
        let idle_bytes = b"idle but open".len() as u64;
        assert_eq!(
            back.len() as u64 + idle_bytes,
            stats.bytes_out,
            "{addr}: bytes lost"
        );
        let mut rest = Vec::new();
        assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0, "{addr}");

        let refused = TcpStream::connect(server).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{addr}");
        let again = EchoServer::bind(server).expect("rebind at once");
        assert_eq!(again.local_addr(), server);
    }
}

#[test]
fn dropping_the_handle_stops_the_server_and_frees_the_port() {
    for addr in LOOPBACKS {
        let handle = spawn_tcp(addr, Options::new());
        let server = handle.local_addr();
        let mut client = connect(server);
        echo_once(&mut client, b"x");
        drop(handle);
        let mut rest = Vec::new();
        assert_eq!(client.read_to_end(&mut rest).unwrap(), 0, "{addr}");
        EchoServer::bind(server).expect("tcp port free again");

        let udp = spawn_udp(addr, Options::new());
        let udp_addr = udp.local_addr();
        drop(udp);
        EchoServer::bind_on(Udp, udp_addr).expect("udp port free again");
    }
}

#[test]
fn a_shutdown_handle_from_another_thread_stops_serve_on_this_one() {
    let server = EchoServer::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let switch = server.shutdown_handle().clone();
    let clients = thread::spawn(move || {
        for i in 0..5u8 {
            echo_once(&mut connect(addr), &[i; 100]);
        }
        switch.shutdown();
    });
    let stats = server.serve().unwrap();
    clients.join().unwrap();
    assert_eq!(
        (stats.accepted, stats.bytes_in, stats.bytes_out),
        (5, 500, 500)
    );
    assert!(server.shutdown_handle().is_shutdown());
    assert_eq!(
        server.serve().unwrap(),
        stats,
        "a stopped server stays stopped"
    );
}

#[test]
fn a_second_server_on_a_port_in_use_names_the_address() {
    for addr in LOOPBACKS {
        let tcp = spawn_tcp(addr, Options::new());
        let udp = spawn_udp(addr, Options::new());
        let tcp_err = EchoServer::bind(tcp.local_addr()).unwrap_err();
        let udp_err = EchoServer::bind_on(Udp, udp.local_addr()).unwrap_err();
        for (err, taken) in [(tcp_err, tcp.local_addr()), (udp_err, udp.local_addr())] {
            assert!(err.to_string().contains(&taken.to_string()), "{err}");
            match err {
                Error::Bind { addr, source, .. } => {
                    assert_eq!(addr, taken);
                    assert_eq!(source.kind(), ErrorKind::AddrInUse);
                }
                other => panic!("expected a bind error, got {other:?}"),
            }
        }
        // The running servers are untouched.
        echo_once(&mut connect(tcp.local_addr()), b"still serving");
    }
}

#[test]
fn stats_add_up_with_one_and_with_four_workers() {
    for workers in [1, 4] {
        for addr in LOOPBACKS {
            let options = Options::new().with_workers(NonZeroUsize::new(workers));
            let handle = spawn_tcp(addr, options);
            let server = handle.local_addr();
            let mut clients: Vec<TcpStream> = (0..8).map(|_| connect(server)).collect();
            let mut total = 0;
            for (i, client) in clients.iter_mut().enumerate() {
                let message = Rng::new(i as u64).bytes(1 + i * 1000);
                echo_once(client, &message);
                total += message.len() as u64;
            }
            // Counters may trail the bytes on the wire by a moment.
            let stats = wait_for_stats(&handle, "the counters", |s| s.bytes_out == total);
            assert_eq!((stats.accepted, stats.active), (8, 8), "{addr} x{workers}");
            assert_eq!(stats.bytes_in, total);
            for client in &clients {
                client.shutdown(Shutdown::Write).unwrap();
            }
            for mut client in clients {
                assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
            }
            wait_for_stats(&handle, "every client to be closed", |s| s.active == 0);
            let stats = finish(handle);
            assert_eq!((stats.accepted, stats.active, stats.errors), (8, 0, 0));
            assert_eq!((stats.refused, stats.timed_out), (0, 0));
            assert_eq!((stats.bytes_in, stats.bytes_out), (total, total));
        }
    }
}
