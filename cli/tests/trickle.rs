//! `bench` and `ping` against a server that echoes one byte at a time, a few hundred
//! milliseconds apart (never silent long enough for a timeout): each run ends at its
//! duration plus at most one timeout, and Ctrl-C ends it at once, counting what was in
//! flight. The bounds asserted are far above what a run should take and far below what a
//! run that waits for the trickle takes (13 s for one 64-byte message, minutes for bulk).

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use support::{DEADLINE, run_for, signal, socket_echo, wait_or_kill};

/// The pause between two bytes of the trickled echo.
const GAP: Duration = Duration::from_millis(200);

/// The most bytes a trickling connection echoes: it ends within a minute whatever happens.
const TRICKLED: usize = 300;

/// `-d 1s` and the default 1 s timeout: over in about 2 s; 8 s only on a broken build.
const ENDED_BY: Duration = Duration::from_secs(8);

/// A TCP server whose connections each read one byte and echo it, then pause [`GAP`], at
/// most [`TRICKLED`] times. The receiver gets a message each time a byte has been echoed.
fn trickler() -> (SocketAddr, Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (echoed, bytes) = mpsc::channel();
    thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { return };
            let echoed = echoed.clone();
            thread::spawn(move || {
                conn.set_read_timeout(Some(DEADLINE)).unwrap();
                let mut byte = [0u8; 1];
                for _ in 0..TRICKLED {
                    if conn.read_exact(&mut byte).is_err() || conn.write_all(&byte).is_err() {
                        return;
                    }
                    let _ = echoed.send(());
                    thread::sleep(GAP);
                }
            });
        }
    });
    (addr, bytes)
}

/// Runs `socket-echo ARGS` against a trickler; the JSON object it printed, once it has
/// ended by itself within [`ENDED_BY`].
fn ends_by_itself(args: &[&str]) -> serde_json::Value {
    let (addr, _bytes) = trickler();
    let address = addr.to_string();
    let mut command = socket_echo([args[0], &address]);
    command.args(&args[1..]);
    let output = run_for(command, ENDED_BY)
        .unwrap_or_else(|| panic!("{args:?} was still running after {ENDED_BY:?}"));
    assert_eq!(output.code(), Some(1), "{output:?}");
    output.json_lines().pop().expect("a JSON summary")
}

#[test]
fn bench_ends_at_its_duration() {
    let json = ends_by_itself(&["bench", "-c", "1", "-s", "64", "-d", "1s", "--json"]);
    assert_eq!(json["messages"], 0, "{json}");
    assert_eq!(json["errors_by_kind"]["timeout"], 1, "{json}");
}

#[test]
fn bench_bulk_ends_at_its_duration() {
    let json = ends_by_itself(&["bench", "--bulk", "-d", "1s", "--json"]);
    assert_eq!(json["errors_by_kind"]["timeout"], 1, "{json}");
}

/// Ctrl-C while a message trickles in: the run ends at once and reports it lost. A stop
/// that waited for the echo would take 13 s, or the 60 s timeout.
#[test]
fn ctrl_c_ends_bench_at_once_counting_the_message_in_flight() {
    let (addr, bytes) = trickler();
    let mut child = socket_echo([
        "bench",
        &addr.to_string(),
        "-c",
        "1",
        "-s",
        "64",
        "-d",
        "60s",
        "--json",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn socket-echo bench");
    bytes.recv_timeout(DEADLINE).expect("nothing was echoed");
    signal(&child, "INT");
    // The timeout is a minute: only a stop that waits for the echo takes longer.
    let status = wait_or_kill(&mut child, Duration::from_secs(3));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    // Nothing was echoed whole: the run measured nothing, which is a failure to report.
    assert_eq!(status.code(), Some(1), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(
        (json["errors"].as_u64(), json["lost"].as_u64()),
        (Some(0), Some(1)),
        "{json}"
    );
}

/// `ping` keeps each probe's timeout, however the echo trickles in.
#[test]
fn ping_ends_at_its_probes_timeouts() {
    let json = ends_by_itself(&["ping", "-c", "2", "-i", "1ms", "-W", "500ms", "--json"]);
    assert_eq!(
        (json["sent"].as_u64(), json["received"].as_u64()),
        (Some(2), Some(0)),
        "{json}"
    );
}
