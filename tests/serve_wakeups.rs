//! How many of `serve()`'s workers a datagram wakes. Every worker polls the one shared
//! datagram socket; a datagram should wake one of them, not all (`EPOLLEXCLUSIVE`).
//!
//! The count is the workers' voluntary context switches (`/proc/self/task/*/status`): each
//! time a worker sleeps in its poll and is woken, it adds one. One `#[test]` runs every
//! transport in turn, so no other server's workers are counted with this one's.

mod transports;
mod util;

use std::fs;
use std::num::NonZeroUsize;
use std::time::Instant;

use socket_echo::{EchoClient, EchoServer, Options, Udp, UnixDatagram};
use transports::{DatagramKind, Place, Site};
use util::GENEROUS;

/// Workers of the server under test: with all of them woken by every datagram, the count
/// would be this many times the datagrams.
const WORKERS: usize = 4;
/// Round trips, one at a time.
const DATAGRAMS: u64 = 300;

/// The `/proc` status of each of this process's echo threads: the thread that runs `serve`
/// for `spawn` (`echo-server`) and the other workers (`echo-worker-N`).
fn echo_threads() -> Vec<String> {
    let mut statuses = Vec::new();
    for task in fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let dir = task.expect("a task entry").path();
        let Ok(name) = fs::read_to_string(dir.join("comm")) else {
            continue; // the thread has ended
        };
        if !name.starts_with("echo-server") && !name.starts_with("echo-worker") {
            continue;
        }
        if let Ok(status) = fs::read_to_string(dir.join("status")) {
            statuses.push(status);
        }
    }
    assert_eq!(
        statuses.len(),
        WORKERS,
        "echo threads found in /proc/self/task"
    );
    statuses
}

/// The voluntary context switches of the echo threads, summed.
fn worker_sleeps() -> u64 {
    echo_threads()
        .iter()
        .map(|status| {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .expect("voluntary_ctxt_switches in /proc status");
            line.trim().parse::<u64>().expect("a count")
        })
        .sum()
}

/// Waits until every echo thread is asleep (in its poll, once the echoes are back), for at
/// most [`GENEROUS`].
fn wait_until_every_worker_sleeps() {
    let start = Instant::now();
    while !echo_threads()
        .iter()
        .all(|status| status.contains("State:\tS"))
    {
        assert!(
            start.elapsed() < GENEROUS,
            "the workers were not all asleep within {GENEROUS:?}"
        );
        std::thread::yield_now();
    }
}

fn one_worker_wakes_per_datagram<T: DatagramKind>(site: &Site<T>) {
    let options = Options::new().with_workers(NonZeroUsize::new(WORKERS));
    let handle = EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .spawn()
        .expect("spawn");
    let server = handle.local_addr();
    let mut client = EchoClient::connect_on(site.transport, server.clone()).expect("connect");
    // Every worker has started and is asleep in its poll once the first echoes are back.
    for i in 0..20u32 {
        client.echo(&i.to_be_bytes()).expect("warm-up echo");
    }
    wait_until_every_worker_sleeps();
    let before = worker_sleeps();
    for i in 0..DATAGRAMS {
        let message = i.to_be_bytes();
        assert_eq!(client.echo(&message).expect("echo")[..], message[..]);
    }
    let woken = worker_sleeps() - before;
    eprintln!("{}: {woken} wake-ups", site.name());
    // One wake-up per datagram is the aim; all workers woken would be WORKERS times as many.
    // Twice the datagrams leaves room for the odd timer or scheduler wake-up.
    assert!(
        woken <= 2 * DATAGRAMS,
        "{}: {woken} worker wake-ups for {DATAGRAMS} datagrams, one at a time, on {WORKERS} \
         workers",
        site.name()
    );
    // A worker that finds the next datagram already queued goes on without sleeping, so
    // fewer than one per datagram is normal (on a loaded machine, far fewer: a worker
    // descheduled before its poll finds the next one waiting); none at all would mean nothing
    // was counted.
    assert!(woken > 0, "{}: only {woken} wake-ups", site.name());
    handle.shutdown();
    // Its threads are gone before the next transport's server starts.
    handle.join().expect("serve");
}

#[test]
fn a_datagram_wakes_one_worker() {
    transports::run(Udp, Place::V4, "udp_v4", one_worker_wakes_per_datagram);
    transports::run(Udp, Place::V6, "udp_v6", one_worker_wakes_per_datagram);
    transports::run(
        UnixDatagram,
        Place::Abstract,
        "unixgram_abstract",
        one_worker_wakes_per_datagram,
    );
}
