//! A server that echoes one byte at a time, a few hundred milliseconds apart, never falls
//! silent long enough for a timeout: `Load`, `Bulk` and `ping` still end at their own
//! duration or deadline (plus at most one timeout), and a stop flag ends them at once,
//! counting what was in flight. Each bound asserted here is far above what the run should
//! take and far below what a run that waits for the trickle takes (13 s for one 64-byte
//! message).

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use socket_echo::{Bulk, EchoClient, Load, LoadErrorKind, LoadReport, Ping, Tcp, Udp};
use util::GENEROUS;

/// The pause between two bytes of the trickled echo.
const GAP: Duration = Duration::from_millis(200);

/// The most bytes a trickling connection echoes: it ends within a minute whatever happens.
const TRICKLED: usize = 300;

/// A TCP server whose connections each read one byte and echo it, then pause [`GAP`], at
/// most [`TRICKLED`] times. The receiver gets a message once the first byte has been echoed:
/// the client is then waiting in the middle of an echo.
fn trickler() -> (SocketAddr, Receiver<()>) {
    let listener = TcpListener::bind(util::any_local_address()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (started, first) = mpsc::channel();
    thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { return };
            let started = started.clone();
            thread::spawn(move || {
                conn.set_read_timeout(Some(GENEROUS)).unwrap();
                let mut byte = [0u8; 1];
                for _ in 0..TRICKLED {
                    if conn.read_exact(&mut byte).is_err() || conn.write_all(&byte).is_err() {
                        return;
                    }
                    let _ = started.send(());
                    thread::sleep(GAP);
                }
            });
        }
    });
    (addr, first)
}

/// Runs `run` on a thread; returns its result and how long it took, or fails the test if it
/// takes longer than `bound`. `started` is called once the run is under way (the trickler's
/// first byte), and returns when it was called.
fn timed<R: Send + 'static>(
    bound: Duration,
    run: impl FnOnce() -> R + Send + 'static,
    first: &Receiver<()>,
    started: impl FnOnce(),
) -> (R, Instant) {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(run());
    });
    first
        .recv_timeout(GENEROUS)
        .expect("the trickler echoed nothing");
    let at = Instant::now();
    started();
    let result = result
        .recv_timeout(bound)
        .unwrap_or_else(|_| panic!("the run was not over {bound:?} after it began"));
    (result, at)
}

/// Duration 1 s and timeout 1 s: the run is over 2 s after it began, give or take a tick.
/// A bound of 6 s leaves room for a loaded machine; waiting for the trickle takes 13 s.
const ENDED_BY: Duration = Duration::from_secs(6);

/// A stop flag is looked at every few milliseconds: 3 s is only ever reached by a run that
/// ignores it (the timeout is a minute).
const STOPPED_BY: Duration = Duration::from_secs(3);

#[test]
fn load_ends_at_its_duration_against_a_trickling_server() {
    let (addr, first) = trickler();
    let load = Load::new()
        .with_connections(1)
        .with_size(64)
        .with_duration(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(1));
    let (report, _) = timed(ENDED_BY, move || load.run(Tcp, addr), &first, || {});
    let report = report.unwrap();
    assert_eq!(report.messages(), 0, "{report:?}");
    assert_eq!(
        report.errors_of(LoadErrorKind::Timeout),
        1,
        "the message still trickling in at the end is timed out: {report:?}"
    );
    assert!(report.elapsed() < ENDED_BY, "{report:?}");
}

/// Runs `run` against a trickler with a stop flag, set once the first byte has been
/// echoed; the report, once it is in within [`STOPPED_BY`] of the stop.
fn stopped<F>(run: F) -> LoadReport
where
    F: FnOnce(SocketAddr, Arc<AtomicBool>) -> socket_echo::Result<LoadReport> + Send + 'static,
{
    let (addr, first) = trickler();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let (report, stopped) = timed(
        STOPPED_BY,
        move || run(addr, stop),
        &first,
        move || flag.store(true, Ordering::Relaxed),
    );
    assert!(stopped.elapsed() < STOPPED_BY);
    report.unwrap()
}

#[test]
fn a_stop_flag_ends_load_at_once_counting_the_message_in_flight() {
    let report = stopped(|addr, stop| {
        Load::new()
            .with_connections(1)
            .with_size(64)
            .with_duration(Duration::from_secs(60))
            .with_timeout(Duration::from_secs(60))
            .with_stop(stop)
            .run(Tcp, addr)
    });
    assert_eq!(
        (report.messages(), report.errors(), report.lost()),
        (0, 0, 1),
        "{report:?}"
    );
}

/// A UDP message waiting for its echo waited its whole timeout before the flag was seen.
#[test]
fn a_stop_flag_ends_udp_load_waiting_on_a_silent_server() {
    let silent = UdpSocket::bind(util::any_local_address()).unwrap();
    let addr = silent.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let load = Load::new()
        .with_connections(2)
        .with_size(64)
        .with_duration(Duration::from_secs(60))
        .with_timeout(Duration::from_secs(60))
        .with_stop(Arc::clone(&stop));
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(load.run(Udp, addr));
    });
    // Both messages have arrived: both are in flight.
    let mut buffer = [0u8; 64];
    for _ in 0..2 {
        silent.set_read_timeout(Some(GENEROUS)).unwrap();
        silent.recv_from(&mut buffer).unwrap();
    }
    let stopped = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let report = result
        .recv_timeout(STOPPED_BY)
        .expect("the stop flag did not end the run")
        .unwrap();
    assert!(stopped.elapsed() < STOPPED_BY);
    assert_eq!(
        (report.messages(), report.errors(), report.lost()),
        (0, 0, 2),
        "{report:?}"
    );
}

#[test]
fn bulk_ends_at_its_duration_against_a_trickling_server() {
    let (addr, first) = trickler();
    let bulk = Bulk::new()
        .with_duration(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(1));
    let (report, _) = timed(ENDED_BY, move || bulk.run(addr), &first, || {});
    let report = report.unwrap();
    assert_eq!(
        report.errors_of(LoadErrorKind::Timeout),
        1,
        "the echo still trickling in at the end is timed out: {report:?}"
    );
    assert!(report.bytes() < TRICKLED as u64, "{report:?}");
    assert!(report.elapsed() < ENDED_BY, "{report:?}");
}

#[test]
fn a_stop_flag_ends_bulk_at_once_counting_what_was_in_flight() {
    let report = stopped(|addr, stop| {
        Bulk::new()
            .with_duration(Duration::from_secs(60))
            .with_timeout(Duration::from_secs(60))
            .with_stop(stop)
            .run(addr)
    });
    assert_eq!(report.errors(), 0, "{report:?}");
    assert!(
        report.lost() >= 1,
        "the writes not echoed are counted lost: {report:?}"
    );
}

/// `ping` over TCP: each probe ends at its own timeout however the echo trickles in.
#[test]
fn ping_probes_end_at_their_timeout_against_a_trickling_server() {
    let (addr, first) = trickler();
    let mut client = EchoClient::connect(addr).unwrap();
    let ping = Ping::new()
        .with_count(2)
        .with_interval(Duration::ZERO)
        .with_timeout(Duration::from_millis(500));
    let (summary, _) = timed(ENDED_BY, move || client.ping(&ping, |_| {}), &first, || {});
    let summary = summary.unwrap();
    assert_eq!((summary.sent(), summary.received()), (2, 0), "{summary:?}");
    assert_eq!(summary.lost(), 2, "{summary:?}");
}
