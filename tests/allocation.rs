//! RELIABILITY 33: an allocation that fails is an error, never an abort. A child process
//! limits its own address space, then asks for the largest buffer the options allow.

use std::process::Command;
use std::time::{Duration, Instant};

use socket_echo::{EchoServer, Error, Options, Udp};

/// Tells the test binary it runs as the child of [`failed_allocation_is_an_error`].
const CHILD_ENV: &str = "SOCKET_ECHO_ALLOCATION_CHILD";
const CHILD: &str = "child_under_a_memory_limit";
const LARGEST: usize = socket_echo::MAX_BUFFER_SIZE;

#[cfg(target_os = "linux")]
#[test]
fn failed_allocation_is_an_error() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        // One malloc arena (glibc): a thread's own arena is reserved ahead, and could hand
        // out the buffer from address space already counted against the limit.
        .env("MALLOC_ARENA_MAX", "1")
        .spawn()
        .expect("start the child test process");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not finish within 30 s");
        }
        // Polling an exit status: std has no wait with a time limit.
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "the child failed: {status:?}");
}

/// The address space the process has mapped now, in bytes.
#[cfg(target_os = "linux")]
fn mapped() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmSize:"))
        .expect("VmSize in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmSize in kB");
    kib * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn child_under_a_memory_limit() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let options = Options::new().with_buffer_size(LARGEST);
    let server = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options).unwrap();
    // A few MiB of room: enough to report an error, far from enough for the buffer.
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::AS).unwrap();
    rlimit::setrlimit(rlimit::Resource::AS, mapped() + 4 * 1024 * 1024, hard).unwrap();
    let result = server.serve_once();
    rlimit::setrlimit(rlimit::Resource::AS, hard, hard).unwrap();
    match result {
        Err(Error::Allocation { what, bytes }) => {
            assert_eq!(bytes, socket_echo::MAX_BUFFER_SIZE + 1);
            assert_eq!(what, "the receive buffer");
        }
        other => panic!("expected Allocation, got {other:?}"),
    }
}
