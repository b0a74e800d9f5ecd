//! The `log` feature: what a peer can trigger over and over is logged at a limited rate.
#![cfg(feature = "log")]

use std::net::UdpSocket;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socket_echo::{EchoServer, Options, Udp};

/// Keeps every warning logged, for the test to read.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn denied_datagrams_are_counted_each_and_logged_at_a_limited_rate() {
    log::set_logger(&CAPTURE).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Warn);

    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = client.local_addr().unwrap().port();
    let options = Options::new().with_denied_ports([port]);
    let server = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options)
        .unwrap()
        .spawn()
        .unwrap();
    const SENT: u64 = 200;
    for _ in 0..SENT {
        client.send_to(b"loop?", server.local_addr()).unwrap();
    }
    // Wait (bounded) until the server has seen every datagram; the count is what is asserted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.stats().dropped_denied_port < SENT && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.dropped_denied_port, SENT);
    assert_eq!(stats.datagrams_echoed, 0);

    let logged = CAPTURE.0.lock().unwrap().clone();
    let about_it: Vec<&String> = logged
        .iter()
        .filter(|line| line.contains("denied source port"))
        .collect();
    assert!(!about_it.is_empty(), "nothing logged: {logged:?}");
    // At most one line a second per worker: 200 datagrams never give 200 lines.
    assert!(
        (about_it.len() as u64) < SENT / 2,
        "{} lines for {SENT} datagrams: {about_it:?}",
        about_it.len()
    );
    assert!(
        about_it[0].contains(&format!("127.0.0.1:{port}")),
        "{about_it:?}"
    );
}
