//! `Load` and `Bulk` count each failed message by its kind: refused, reset, timeout,
//! mismatch, short. Each kind is produced by a faulty std server written here.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

use socket_echo::{Bulk, Load, LoadErrorKind, LoadReport, Tcp, Udp};

const LOCAL: &str = "127.0.0.1:0";

/// A TCP server that hands each connection to `handle` on a thread of its own.
fn tcp_server(handle: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind(LOCAL).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming().take(16) {
            let Ok(conn) = conn else { return };
            thread::spawn(move || handle(conn));
        }
    });
    addr
}

/// Reads one whole 64-byte message, or nothing if the client went away.
fn read_message(conn: &mut TcpStream) -> Option<[u8; 64]> {
    let mut message = [0u8; 64];
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    conn.read_exact(&mut message).ok()?;
    Some(message)
}

/// One connection, one 64-byte message, a short timeout.
fn one_message() -> Load {
    Load::new()
        .with_connections(1)
        .with_size(64)
        .with_messages(1)
        .with_timeout(Duration::from_millis(300))
        .with_duration(Duration::from_secs(10))
}

/// The one kind the report counts, and that the total is its count.
fn only(report: &LoadReport, kind: LoadErrorKind) {
    for other in LoadErrorKind::ALL {
        let expected = u64::from(other == kind);
        assert_eq!(
            report.errors_of(other),
            expected,
            "{}: {report:?}",
            other.name()
        );
    }
    assert_eq!(report.errors(), 1, "{report:?}");
}

#[test]
fn a_changed_byte_is_a_mismatch() {
    let addr = tcp_server(|mut conn| {
        if let Some(mut message) = read_message(&mut conn) {
            message[10] ^= 0xff;
            let _ = conn.write_all(&message);
        }
    });
    only(
        &one_message().run(Tcp, addr).unwrap(),
        LoadErrorKind::Mismatch,
    );
}

#[test]
fn a_close_before_the_whole_echo_is_short() {
    let addr = tcp_server(|mut conn| {
        if let Some(message) = read_message(&mut conn) {
            let _ = conn.write_all(&message[..20]);
        }
    });
    only(&one_message().run(Tcp, addr).unwrap(), LoadErrorKind::Short);
}

#[test]
fn a_reset_is_a_reset() {
    let addr = tcp_server(|mut conn| {
        if read_message(&mut conn).is_some() {
            // Linger zero: closing sends a reset instead of a clean end.
            let _ = socket2::SockRef::from(&conn).set_linger(Some(Duration::ZERO));
        }
    });
    only(&one_message().run(Tcp, addr).unwrap(), LoadErrorKind::Reset);
}

#[test]
fn a_silent_server_is_a_timeout() {
    let addr = tcp_server(|mut conn| {
        let _ = read_message(&mut conn);
        thread::sleep(Duration::from_secs(2));
    });
    only(
        &one_message().run(Tcp, addr).unwrap(),
        LoadErrorKind::Timeout,
    );
}

#[test]
fn nothing_listening_on_udp_is_refused() {
    let addr = UdpSocket::bind(LOCAL).unwrap().local_addr().unwrap();
    let report = one_message().with_messages(3).run(Udp, addr).unwrap();
    assert!(report.errors_of(LoadErrorKind::Refused) >= 1, "{report:?}");
    assert_eq!(report.errors(), report.errors_of(LoadErrorKind::Refused));
}

#[test]
fn a_shorter_datagram_is_short() {
    let socket = UdpSocket::bind(LOCAL).unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        if let Ok((n, peer)) = socket.recv_from(&mut buffer) {
            let _ = socket.send_to(&buffer[..n / 2], peer);
        }
    });
    let report = one_message().run(Udp, addr).unwrap();
    assert_eq!(report.errors_of(LoadErrorKind::Short), 1, "{report:?}");
}

#[test]
fn a_bulk_echo_cut_short_is_short() {
    let addr = tcp_server(|mut conn| {
        let mut buffer = [0u8; 1000];
        if conn.read_exact(&mut buffer).is_ok() {
            let _ = conn.write_all(&buffer);
            let _ = conn.shutdown(std::net::Shutdown::Write);
        }
        // Keep reading (and dropping) what is sent, so the writer is not reset.
        let mut sink = [0u8; 65536];
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    });
    let report = Bulk::new()
        .with_write_size(4096)
        .with_bytes(64 * 1024)
        .with_timeout(Duration::from_millis(500))
        .run(addr)
        .unwrap();
    assert_eq!(report.bytes(), 1000, "{report:?}");
    assert_eq!(report.errors_of(LoadErrorKind::Short), 1, "{report:?}");
}

#[test]
fn every_kind_has_a_distinct_name() {
    let mut names: Vec<&str> = LoadErrorKind::ALL.iter().map(|kind| kind.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), LoadErrorKind::ALL.len());
}
