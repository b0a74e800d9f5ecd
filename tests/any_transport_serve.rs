//! `EchoServer::serve()` and `spawn()` over every transport, each test written once: byte-exact
//! echo, half-close, resets, peers that vanish, graceful shutdown, dropping the handle, the
//! address freed afterwards, a second server on an address in use, stats with one and four
//! workers, and datagrams from many peers, empty or too large. TCP and UDP over IPv4 and IPv6,
//! Unix streams and datagrams on a socket file and an abstract name.

mod serve_support;
mod transports;
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::num::NonZeroUsize;
use std::thread;
use std::time::Duration;

use serve_support::{PATIENCE, finish, is_child, run_child, wait_for_stats};
use socket_echo::{EchoClient, EchoServer, Error, Options, ServerHandle};
use socket2::{SockRef, Socket, Type};
use transports::{
    DatagramKind, Ending, Kind, Place, Site, StreamKind, echo_once, is_reset, is_timeout,
    round_trip_in_chunks,
};
use util::payload;

/// A server of `site`'s transport run by `serve()` in the background.
fn spawn<T: Kind>(site: &Site<T>, options: Options) -> ServerHandle<T> {
    EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A client of `site`'s transport, checked by the library itself.
fn client<T: Kind>(site: &Site<T>, server: &T::Addr) -> EchoClient<T> {
    EchoClient::connect_on(site.transport, server.clone()).expect("connect")
}

/// RELIABILITY 1: payloads from 0 B to 16 MiB, each on its own connection, all at once, in
/// random chunks: every byte comes back in order, and the counters add up.
fn random_payloads_in_random_chunks_come_back_byte_for_byte<T: StreamKind>(site: &Site<T>) {
    let sizes = [0, 1, 1000, 70_001, 1 << 20, 16 << 20];
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let payloads: Vec<Vec<u8>> = sizes.iter().map(|&n| payload(n, n as u64)).collect();
    thread::scope(|scope| {
        for (i, payload) in payloads.iter().enumerate() {
            let stream = transports::connect::<T>(&server);
            scope.spawn(move || round_trip_in_chunks(stream, payload, i as u64));
        }
    });
    let stats = finish(handle);
    let total: u64 = sizes.iter().map(|&n| n as u64).sum();
    assert_eq!(stats.accepted, sizes.len() as u64);
    assert_eq!((stats.bytes_in, stats.bytes_out), (total, total));
    assert_eq!((stats.errors, stats.active), (0, 0));
}

/// RELIABILITY 2: a half-closed client gets every byte, then end-of-stream; the counts are
/// exact.
fn half_close_gets_every_byte_then_end_of_stream_and_exact_counts<T: StreamKind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let payload = payload(300_000, 7);
    round_trip_in_chunks(transports::connect::<T>(&handle.local_addr()), &payload, 3);
    let stats = finish(handle);
    let sent = payload.len() as u64;
    assert_eq!((stats.bytes_in, stats.bytes_out), (sent, sent));
    assert_eq!((stats.accepted, stats.active, stats.errors), (1, 0, 0));
}

/// RELIABILITY 3: a peer that resets mid-stream (TCP: `SO_LINGER` 0; Unix: closed with its
/// echo unread) ends only its own connection; the others are served, and so are newcomers.
fn a_peer_reset_mid_stream_ends_only_that_connection<T: StreamKind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let steady = transports::connect::<T>(&server);
    echo_once(&steady, b"before");

    let doomed = transports::connect::<T>(&server);
    echo_once(&doomed, &[1; 1000]);
    (&doomed).write_all(&[2; 100_000]).unwrap();
    doomed.set_linger(Some(Duration::ZERO)).unwrap();
    drop(doomed);

    let stats = wait_for_stats(&handle, "the reset connection to close", |s| {
        s.active == 1 && s.errors == 1
    });
    assert_eq!(stats.accepted, 2);
    echo_once(&steady, b"after");
    let newcomer = transports::connect::<T>(&server);
    echo_once(&newcomer, b"new");
    drop((steady, newcomer));
    let stats = finish(handle);
    assert_eq!((stats.accepted, stats.errors), (3, 1));
}

/// RELIABILITY 9: run in a child process with the default SIGPIPE action (terminate)
/// restored: if the server ever wrote to a gone peer without suppressing the signal, the
/// child would die.
fn writing_to_a_peer_that_has_gone_fails_only_that_connection<T: StreamKind>(site: &Site<T>) {
    let child = format!("child_writes_to_gone_peers::{}", site.name());
    let status = run_child(&child, Duration::from_secs(30));
    assert!(status.success(), "child failed: {status:?}");
}

/// The child of [`writing_to_a_peer_that_has_gone_fails_only_that_connection`].
fn child_writes_to_gone_peers<T: StreamKind>(site: &Site<T>) {
    if !is_child(&format!("child_writes_to_gone_peers::{}", site.name())) {
        return;
    }
    // SAFETY: restoring a default signal action, before the server starts any thread.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let steady = transports::connect::<T>(&server);
    let payload = vec![9; 64 * 1024];
    for _ in 0..20 {
        // Push until the window is full, then leave without reading a byte: the echo the
        // server is still writing goes to a closed socket.
        let gone = transports::connect::<T>(&server);
        gone.set_nonblocking(true).unwrap();
        for _ in 0..64 {
            match (&gone).write(&payload) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("unexpected write error: {e}"),
            }
        }
        drop(gone);
        echo_once(&steady, b"still here");
    }
    let stats = wait_for_stats(&handle, "the gone peers to be closed", |s| s.active == 1);
    assert!(stats.errors >= 1, "no connection failed: {stats:?}");
    echo_once(&transports::connect::<T>(&server), b"new client");
    drop(steady);
    let stats = finish(handle);
    assert_eq!(stats.accepted, 22);
}

/// RELIABILITY 10 and 29: a graceful shutdown lets a slow reader take every byte echoed to
/// it, then end-of-stream; an idle connection gets end-of-stream; nothing serves at the
/// address afterwards (a TCP port refuses, a socket file is gone), and it can be bound again
/// at once.
fn graceful_shutdown_delivers_pending_bytes_then_end_of_stream_and_frees_the_address<
    T: StreamKind,
>(
    site: &Site<T>,
) {
    let options = Options::new().with_shutdown_grace(PATIENCE);
    let handle = spawn(site, options);
    let server = handle.local_addr();
    let idle = transports::connect::<T>(&server);
    echo_once(&idle, b"idle but open");
    // A tiny receive buffer, so the server soon holds echoed bytes for this client.
    let client = transports::connect_tuned::<T>(&server, |s| s.set_recv_buffer_size(4096).unwrap());
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    let payload = payload(4 << 20, 11);
    client.set_nonblocking(true).unwrap();
    let mut sent = 0;
    while sent < payload.len() {
        match (&client).write(&payload[sent..(sent + 64 * 1024).min(payload.len())]) {
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
        match (&client).read(&mut buf) {
            Ok(0) => break Ending::Eof,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) if is_reset(&e) => break Ending::Reset,
            Err(e) => panic!("read: {e}"),
        }
        assert!(back.len() <= sent, "more came back than was sent");
    };
    drop(client);
    let stats = handle.join().unwrap();
    assert_eq!(ending, Ending::Eof, "after {} bytes", back.len());
    assert!(back == payload[..back.len()], "echo differs");
    let idle_bytes = b"idle but open".len() as u64;
    assert_eq!(
        back.len() as u64 + idle_bytes,
        stats.bytes_out,
        "bytes lost"
    );
    let mut rest = Vec::new();
    assert_eq!((&idle).read_to_end(&mut rest).unwrap(), 0);

    let refused = transports::try_connect::<T>(&server, |_| {}).unwrap_err();
    let expected = if site.place() == Place::Path {
        ErrorKind::NotFound
    } else {
        ErrorKind::ConnectionRefused
    };
    assert_eq!(refused.kind(), expected);
    let again = EchoServer::bind_on(site.transport, server.clone()).expect("rebind at once");
    assert_eq!(again.local_addr(), server);
}

/// Dropping the handle closes the connections it served: the client reads end-of-stream.
fn dropping_the_handle_closes_live_connections<T: StreamKind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let client = transports::connect::<T>(&handle.local_addr());
    echo_once(&client, b"x");
    drop(handle);
    let mut rest = Vec::new();
    assert_eq!((&client).read_to_end(&mut rest).unwrap(), 0);
}

/// `shutdown()` returns without waiting, `join()` waits: once `join()` returns, the address
/// is free and every idle client (each served an echo just before) reads end-of-stream.
fn shutdown_asks_join_waits_then_the_address_is_free_and_idle_clients_read_eof<T: StreamKind>(
    site: &Site<T>,
) {
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let clients: Vec<Socket> = (0..4).map(|_| transports::connect::<T>(&server)).collect();
    for (i, client) in clients.iter().enumerate() {
        echo_once(client, &payload(100 + i, i as u64));
    }
    wait_for_stats(&handle, "every client served", |s| s.bytes_out == 406);
    handle.shutdown();
    let stats = handle.join().expect("join");
    assert_eq!(
        (stats.accepted, stats.active, stats.shutdown_resets),
        (4, 0, 0)
    );
    EchoServer::bind_on(site.transport, server).expect("address free once join returns");
    for client in clients {
        let mut rest = Vec::new();
        assert_eq!(
            (&client).read_to_end(&mut rest).unwrap(),
            0,
            "end-of-stream"
        );
    }
}

/// The counters of connections and bytes add up, with one worker and with four.
fn stats_add_up_with_one_and_with_four_workers<T: StreamKind>(site: &Site<T>) {
    for workers in [1, 4] {
        let options = Options::new().with_workers(NonZeroUsize::new(workers));
        let handle = spawn(site, options);
        let server = handle.local_addr();
        let clients: Vec<Socket> = (0..8).map(|_| transports::connect::<T>(&server)).collect();
        let mut total = 0;
        for (i, client) in clients.iter().enumerate() {
            let message = payload(1 + i * 1000, i as u64);
            echo_once(client, &message);
            total += message.len() as u64;
        }
        // Counters may trail the bytes on the wire by a moment.
        let stats = wait_for_stats(&handle, "the counters", |s| s.bytes_out == total);
        assert_eq!((stats.accepted, stats.active), (8, 8), "x{workers}");
        assert_eq!(stats.bytes_in, total);
        for client in &clients {
            client.shutdown(Shutdown::Write).unwrap();
        }
        for client in clients {
            assert_eq!((&client).read(&mut [0; 8]).unwrap(), 0);
        }
        wait_for_stats(&handle, "every client to be closed", |s| s.active == 0);
        let stats = finish(handle);
        assert_eq!((stats.accepted, stats.active, stats.errors), (8, 0, 0));
        assert_eq!((stats.refused, stats.timed_out), (0, 0));
        assert_eq!((stats.bytes_in, stats.bytes_out), (total, total));
    }
}

over_streams!(
    random_payloads_in_random_chunks_come_back_byte_for_byte,
    half_close_gets_every_byte_then_end_of_stream_and_exact_counts,
    a_peer_reset_mid_stream_ends_only_that_connection,
    writing_to_a_peer_that_has_gone_fails_only_that_connection,
    child_writes_to_gone_peers,
    graceful_shutdown_delivers_pending_bytes_then_end_of_stream_and_frees_the_address,
    dropping_the_handle_closes_live_connections,
    shutdown_asks_join_waits_then_the_address_is_free_and_idle_clients_read_eof,
    stats_add_up_with_one_and_with_four_workers,
);

/// Dropping the handle stops the server and frees its address: it can be bound again.
fn dropping_the_handle_stops_the_server_and_frees_the_address<T: Kind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    assert_eq!(&client(site, &server).echo(b"x").unwrap()[..], b"x");
    drop(handle);
    EchoServer::bind_on(site.transport, server).expect("address free again");
}

/// A `ShutdownHandle` used on another thread stops `serve()` on this one, with its stats; a
/// stopped server stays stopped.
fn a_shutdown_handle_from_another_thread_stops_serve_on_this_one<T: Kind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let addr = server.local_addr();
    let switch = server.shutdown_handle().clone();
    let transport = site.transport;
    let clients = thread::spawn(move || {
        for i in 0..5u8 {
            let mut client = EchoClient::connect_on(transport, addr.clone()).unwrap();
            assert!(client.echo(&[i; 100]).unwrap() == [i; 100][..]);
        }
        switch.shutdown();
    });
    let stats = server.serve().unwrap();
    clients.join().unwrap();
    assert_eq!((stats.bytes_in, stats.bytes_out), (500, 500));
    if T::TYPE == Type::STREAM {
        assert_eq!(stats.accepted, 5);
    } else {
        assert_eq!(stats.datagrams_echoed, 5);
    }
    assert!(server.shutdown_handle().is_shutdown());
    assert_eq!(
        server.serve().unwrap(),
        stats,
        "a stopped server stays stopped"
    );
}

/// RELIABILITY 17: a second server on the address of a running one is refused, naming the
/// address; the running server is untouched.
fn a_second_server_on_an_address_in_use_names_the_address<T: Kind>(site: &Site<T>) {
    let running = spawn(site, Options::new());
    let taken = running.local_addr();
    let err = EchoServer::bind_on(site.transport, taken.clone()).unwrap_err();
    assert!(err.to_string().contains(&taken.to_string()), "{err}");
    match err {
        Error::Bind { addr, source, .. } => {
            assert_eq!(addr, taken.clone().into());
            assert_eq!(source.kind(), ErrorKind::AddrInUse);
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
    assert_eq!(
        &client(site, &taken).echo(b"still serving").unwrap()[..],
        b"still serving"
    );
}

over_all!(
    dropping_the_handle_stops_the_server_and_frees_the_address,
    a_shutdown_handle_from_another_thread_stops_serve_on_this_one,
    a_second_server_on_an_address_in_use_names_the_address,
);

/// Receives one datagram, asserting it comes from `server`.
fn recv_from_server<T: DatagramKind>(socket: &T::Socket, server: &T::Addr) -> Vec<u8> {
    let mut buf = vec![0; 70_000];
    let (n, from) = T::recv_from(socket, &mut buf).expect("reply");
    assert_eq!(&from, server, "reply from an unexpected address");
    buf.truncate(n);
    buf
}

/// How long a test waits for a reply it expects not to come.
const NO_REPLY: Duration = Duration::from_millis(300);

fn assert_no_reply<T: DatagramKind>(socket: &T::Socket) {
    SockRef::from(socket)
        .set_read_timeout(Some(NO_REPLY))
        .unwrap();
    let mut buf = [0; 4096];
    match T::recv_from(socket, &mut buf) {
        Err(e) if is_timeout(&e) => {}
        other => panic!("expected no reply, got {other:?}"),
    }
}

/// RELIABILITY 11: fifty peers send three datagrams each; each gets its own three back.
fn many_peers_each_get_their_own_datagrams_back<T: DatagramKind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let peers: Vec<T::Socket> = (0..50)
        .map(|_| transports::datagram_waiting(site, PATIENCE))
        .collect();
    let message =
        |peer: usize, n: usize| format!("peer {peer} datagram {n} {}", "x".repeat(peer * 7 + n));
    for (i, peer) in peers.iter().enumerate() {
        for n in 0..3 {
            T::send_to(peer, message(i, n).as_bytes(), &server).unwrap();
        }
    }
    for (i, peer) in peers.iter().enumerate() {
        let mut got: Vec<Vec<u8>> = (0..3)
            .map(|_| recv_from_server::<T>(peer, &server))
            .collect();
        got.sort();
        let mut want: Vec<Vec<u8>> = (0..3).map(|n| message(i, n).into_bytes()).collect();
        want.sort();
        assert_eq!(got, want, "peer {i}");
    }
    let stats = wait_for_stats(&handle, "150 echoes", |s| s.datagrams_echoed == 150);
    assert_eq!(stats.bytes_in, stats.bytes_out);
    assert_eq!(stats.dropped_send_failed, 0);
}

/// RELIABILITY 12: a zero-length datagram gets a zero-length reply.
fn a_zero_length_datagram_gets_a_zero_length_reply<T: DatagramKind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    let client = transports::datagram_waiting(site, PATIENCE);
    T::send_to(&client, &[], &server).unwrap();
    assert!(recv_from_server::<T>(&client, &server).is_empty());
    let stats = wait_for_stats(&handle, "the echo", |s| s.datagrams_echoed == 1);
    assert_eq!((stats.bytes_in, stats.bytes_out), (0, 0));
}

/// RELIABILITY 13: a datagram larger than the buffer is dropped and counted, never echoed
/// short; the next one, which fits, is echoed.
fn a_datagram_larger_than_the_buffer_is_dropped_and_counted_never_echoed_short<T: DatagramKind>(
    site: &Site<T>,
) {
    let options = Options::new().with_buffer_size(1000);
    let handle = spawn(site, options);
    let server = handle.local_addr();
    let client = transports::datagram_waiting(site, PATIENCE);
    T::send_to(&client, &[1; 2000], &server).unwrap();
    T::send_to(&client, &[2; 1000], &server).unwrap();
    assert_eq!(recv_from_server::<T>(&client, &server), vec![2; 1000]);
    assert_no_reply::<T>(&client);
    let stats = wait_for_stats(&handle, "the drop", |s| s.dropped_truncated == 1);
    assert_eq!(stats.datagrams_echoed, 1);
}

/// RELIABILITY 15: replies to peers that have gone (a UDP port closed, a Unix socket closed)
/// fail or vanish, and the server goes on answering the next peer.
fn replies_to_peers_that_have_gone_do_not_stop_the_server<T: DatagramKind>(site: &Site<T>) {
    let handle = spawn(site, Options::new());
    let server = handle.local_addr();
    for _ in 0..20 {
        // Gone before the reply comes back.
        T::send_to(&transports::datagram(site), b"gone", &server).unwrap();
    }
    wait_for_stats(&handle, "the 20 datagrams", |s| {
        s.datagrams_echoed + s.dropped_send_failed == 20
    });
    let mut live = EchoClient::connect_on(site.transport, server).unwrap();
    assert_eq!(&live.echo(b"alive").unwrap()[..], b"alive");
}

/// The counters of datagrams and bytes add up with one worker and with four, and the
/// address is free once the server has been joined.
fn datagram_stats_with_one_and_four_workers_and_the_address_is_free_after_join<T: DatagramKind>(
    site: &Site<T>,
) {
    for workers in [1, 4] {
        let options = Options::new().with_workers(NonZeroUsize::new(workers));
        let handle = spawn(site, options);
        let server = handle.local_addr();
        let client = transports::datagram_waiting(site, PATIENCE);
        let mut total = 0;
        for i in 0..20 {
            let message = payload(i * 100, i as u64);
            T::send_to(&client, &message, &server).unwrap();
            assert!(recv_from_server::<T>(&client, &server) == message);
            total += message.len() as u64;
        }
        wait_for_stats(&handle, "20 echoes", |s| s.datagrams_echoed == 20);
        let stats = finish(handle);
        assert_eq!((stats.bytes_in, stats.bytes_out), (total, total));
        assert_eq!((stats.accepted, stats.active), (0, 0));
        EchoServer::bind_on(site.transport, server).expect("address free after join");
    }
}

over_datagrams!(
    many_peers_each_get_their_own_datagrams_back,
    a_zero_length_datagram_gets_a_zero_length_reply,
    a_datagram_larger_than_the_buffer_is_dropped_and_counted_never_echoed_short,
    replies_to_peers_that_have_gone_do_not_stop_the_server,
    datagram_stats_with_one_and_four_workers_and_the_address_is_free_after_join,
);
