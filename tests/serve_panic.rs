//! RELIABILITY 39: a worker of `serve()` that panics fails the server, loudly: `serve()` (and
//! `ServerHandle::join`) return `Error::WorkerPanicked` naming the worker and the panic, and
//! the other workers stop. Never a process that listens and answers no one.
//!
//! Nothing a peer or a caller passes panics a worker any more; what can still panic there is
//! code of the caller's own that a worker runs: its logger. This test installs one that
//! panics on one warning, as a fragile logger may.
#![cfg(feature = "log")]

use std::net::UdpSocket;
use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::time::Duration;

use socket_echo::{EchoServer, Error, Options, Udp};

/// Panics on the warning about a denied source port; ignores every other message.
struct Fragile;

impl log::Log for Fragile {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        let message = record.args().to_string();
        if message.contains("denied source port") {
            panic!("the logger broke on: {message}");
        }
    }

    fn flush(&self) {}
}

#[test]
fn a_worker_that_panics_fails_the_server_with_its_message_and_stops_the_others() {
    log::set_logger(&Fragile).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Warn);
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind the client");
    let options = Options::new()
        .with_denied_ports([client.local_addr().expect("client address").port()])
        .with_workers(NonZeroUsize::new(3));
    let handle = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options)
        .expect("bind")
        .spawn()
        .expect("spawn");
    let addr = handle.local_addr();
    client.send_to(b"x", addr).expect("send");

    // The server must stop by itself; bounded, so one that listens on fails the test rather
    // than hang it.
    let (done, stopped) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(handle.join());
    });
    let result = stopped
        .recv_timeout(Duration::from_secs(10))
        .expect("the server went on listening after its worker panicked");
    match result {
        Err(Error::WorkerPanicked {
            addr: failed,
            worker,
            message,
        }) => {
            assert_eq!(failed, addr);
            assert!(worker < 3, "worker {worker}");
            assert!(
                message.starts_with("the logger broke on: not answering"),
                "{message}"
            );
        }
        other => panic!("expected the worker's panic, got {other:?}"),
    }
}
