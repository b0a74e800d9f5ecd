//! Helpers shared by the `serve()` tests: servers on port 0, raw std clients, the seeded
//! random source of `util` (re-exported), bounded waits on counters, and the process's own descriptor and memory
//! figures.
//!
//! Every wait here is bounded; none waits for readiness by sleeping. Needs `mod util;` beside
//! it, whose stream helpers it re-exports.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use socket_echo::{EchoServer, Options, ServerHandle, Stats, Transport, Udp};

#[allow(unused_imports)] // each test file uses only some of them
pub use crate::util::Rng;
#[allow(unused_imports)] // each test file uses only some of them
pub use crate::util::stream::{
    Ending, echo_once, is_reset, is_timeout, read_to_end_or_reset, round_trip_in_chunks,
};

/// The loopback addresses every test runs on, IPv4 then IPv6.
pub const LOOPBACKS: [&str; 2] = ["127.0.0.1:0", "[::1]:0"];

/// The longest any test waits for one event.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A TCP server run by `serve()` in the background.
pub fn spawn_tcp(addr: &str, options: Options) -> ServerHandle {
    EchoServer::bind_with(addr, options)
        .expect("bind tcp")
        .spawn()
        .expect("spawn tcp")
}

/// A UDP server run by `serve()` in the background.
pub fn spawn_udp(addr: &str, options: Options) -> ServerHandle<Udp> {
    EchoServer::bind_on_with(Udp, addr, options)
        .expect("bind udp")
        .spawn()
        .expect("spawn udp")
}

/// A raw blocking client with read and write timeouts, so no test can hang on it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// A raw UDP client on the loopback of `server`'s family, with a read timeout.
pub fn udp_client(server: SocketAddr, read_timeout: Duration) -> UdpSocket {
    let local = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let socket = UdpSocket::bind(local).expect("bind udp client");
    socket.set_read_timeout(Some(read_timeout)).unwrap();
    socket
}

/// Polls `handle.stats()` until `done` holds, for at most [`PATIENCE`]; panics naming `what`.
pub fn wait_for_stats<T: Transport>(
    handle: &ServerHandle<T>,
    what: &str,
    done: impl Fn(&Stats) -> bool,
) -> Stats {
    let start = Instant::now();
    loop {
        let stats = handle.stats();
        if done(&stats) {
            return stats;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "timed out waiting for {what}; stats: {stats:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// How long a server must read nothing for a test to take it that it has stopped reading.
pub const QUIET: Duration = Duration::from_millis(100);

/// Whether the server read nothing more within [`QUIET`]; returns as soon as it reads.
pub fn reads_no_more<T: Transport>(handle: &ServerHandle<T>) -> bool {
    let last = handle.stats().bytes_in;
    handle.wait_until(|s| s.bytes_in != last, QUIET).is_none()
}

/// Waits until the server has stopped reading (nothing read for [`QUIET`]), for at most
/// [`PATIENCE`]: each read restarts the wait at once.
pub fn wait_until_it_stops_reading<T: Transport>(handle: &ServerHandle<T>) {
    let start = Instant::now();
    while !reads_no_more(handle) {
        assert!(
            start.elapsed() < PATIENCE,
            "the server kept reading from clients that never read"
        );
    }
}

/// Shuts the server down and returns its final stats.
pub fn finish<T: Transport>(handle: ServerHandle<T>) -> Stats {
    handle.shutdown();
    handle.join().expect("server stopped with an error")
}

/// The process's resident memory in KiB, from `/proc/self/status`.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// How many descriptors the process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Raises the soft descriptor limit to at least `want` if the hard limit allows.
pub fn raise_nofile(want: u64) -> u64 {
    rlimit::increase_nofile_limit(want).expect("raise RLIMIT_NOFILE")
}

/// The environment variable that tells a test it runs as the child of [`run_child`].
pub const CHILD_ENV: &str = "SOCKET_ECHO_SERVE_CHILD";

/// True in the child process started by [`run_child`] for `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == test)
}

/// Runs the single test `test` of this test binary in a child process and returns its exit
/// status, killing it if it runs longer than `limit`.
pub fn run_child(test: &str, limit: Duration) -> ExitStatus {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .spawn()
        .expect("start child test process");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child test {test} did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}
