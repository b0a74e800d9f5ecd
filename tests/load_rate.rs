//! The open loop of `Load::with_rate`: messages go on a fixed schedule, and each round trip
//! is measured from the time its message was due, so a server that stalls cannot hide the
//! queue that built up behind the stall (the coordinated omission of a closed loop).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use socket_echo::{EchoServer, Error, Load, Tcp, Udp};

/// A TCP echo server for one connection that, after `before` messages of `size` bytes,
/// stops answering for `stall` once.
fn stalling_server(size: usize, before: usize, stall: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
        let mut message = vec![0; size];
        for n in 0.. {
            if conn.read_exact(&mut message).is_err() {
                return;
            }
            if n == before {
                thread::sleep(stall);
            }
            if conn.write_all(&message).is_err() {
                return;
            }
        }
    });
    addr
}

/// 1,000 messages a second for a second; the server stalls 400 ms after 100 of them. The
/// 200-odd messages due in the first half of the stall all wait at least 200 ms, more than
/// 1% of at most 1,000: p99 is at least 200 ms. A closed loop would count the stall once,
/// in one message.
#[test]
fn a_stall_shows_in_the_percentiles() {
    let addr = stalling_server(64, 100, Duration::from_millis(400));
    let report = Load::new()
        .with_connections(1)
        .with_size(64)
        .with_rate(1000)
        .with_duration(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(5))
        .run(Tcp, addr)
        .unwrap();
    assert_eq!(report.errors(), 0, "{report:?}");
    let latency = report.latency();
    assert!(
        latency.p99() >= Duration::from_millis(200),
        "p99 {:?} hides the stall: {report:?}",
        latency.p99()
    );
    assert!(latency.max() >= Duration::from_millis(400), "{report:?}");
}

/// The schedule bounds how many messages go: at most `rate × duration`, plus the first of
/// each connection.
#[test]
fn the_rate_bounds_the_messages_sent() {
    let server = EchoServer::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let report = Load::new()
        .with_connections(4)
        .with_size(32)
        .with_rate(200)
        .with_duration(Duration::from_millis(500))
        .run(Tcp, server.local_addr())
        .unwrap();
    assert_eq!(report.errors(), 0, "{report:?}");
    assert!(report.messages() > 0, "{report:?}");
    assert!(report.messages() <= 100 + 4, "{report:?}");
}

#[test]
fn an_open_loop_over_udp() {
    let server = EchoServer::bind_on(Udp, "127.0.0.1:0")
        .unwrap()
        .spawn()
        .unwrap();
    let report = Load::new()
        .with_connections(2)
        .with_size(32)
        .with_rate(500)
        .with_duration(Duration::from_millis(300))
        .run(Udp, server.local_addr())
        .unwrap();
    assert_eq!(report.errors(), 0, "{report:?}");
    assert!(report.messages() > 0, "{report:?}");
    assert!(report.messages() + report.lost() <= 150 + 2, "{report:?}");
}

#[test]
fn a_zero_rate_is_refused() {
    let load = Load::new().with_rate(0);
    assert_eq!(load.rate(), Some(0));
    assert_eq!(Load::new().rate(), None);
    let error = load.run(Tcp, "127.0.0.1:1").unwrap_err();
    assert!(
        matches!(error, Error::InvalidOption { option: "rate", .. }),
        "{error:?}"
    );
}
