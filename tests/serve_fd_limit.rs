//! `serve()` under a descriptor limit (`RLIMIT_NOFILE`) below its connection cap: it raises
//! its soft limit as far as the hard one allows, serves fewer connections if that is still
//! short and says so in `Stats::max_connections`, and answers every client beyond capacity
//! at once (closed), never leaving one in the accept queue until its own timeout.
//!
//! Each server runs in a child process (this test binary run again for one test), so the
//! limits it is given do not touch the other tests; its clients run in the parent, so they
//! do not use the child's descriptors. TCP on loopback and Unix streams on a socket file,
//! each test written once.

mod serve_support;
mod transports;
mod util;

use std::io::{ErrorKind, Read, Write};
use std::process::Command;
use std::thread;
use std::time::Duration;

use serve_support::{CHILD_ENV, PATIENCE, finish, is_child, run_child, wait_for_stats};
use socket_echo::{EchoServer, Options, ServerHandle};
use socket2::Socket;
use transports::{Site, StreamKind, connect, echo_once, is_reset};
use util::process::Running;

/// The child's soft and hard descriptor limit, far below the default cap of 16,384.
const LOW_LIMIT: u64 = 64;
/// More clients than the child has descriptors.
const CLIENTS: usize = 3 * LOW_LIMIT as usize;

/// A server of `site`'s transport run by `serve()` in the background.
fn spawn<T: StreamKind>(site: &Site<T>, options: Options) -> ServerHandle<T> {
    EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A command that runs the single test `test` of this binary as a child.
fn child_command(test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test);
    command
}

/// Sets the process's soft and hard descriptor limits.
fn set_nofile(soft: u64, hard: u64) {
    rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard).expect("set RLIMIT_NOFILE");
}

fn nofile() -> (u64, u64) {
    rlimit::getrlimit(rlimit::Resource::NOFILE).expect("get RLIMIT_NOFILE")
}

/// What became of one client.
#[derive(Debug)]
enum Outcome {
    /// Its message came back; the connection is kept open, so it keeps its slot.
    Served(Socket),
    /// The server closed it (end-of-stream or a reset) without an echo.
    Closed,
    /// Nothing came back within the client's own timeout.
    Hung(ErrorKind),
}

/// How long a client waits for an answer: half of what the child waits for all of them, so
/// a client left without one shows here as hung.
const CLIENT_PATIENCE: Duration = Duration::from_secs(PATIENCE.as_secs() / 2);

/// Sends a message and waits (at most [`CLIENT_PATIENCE`]) for its echo or the connection's
/// end.
fn try_echo(stream: Socket) -> Outcome {
    stream.set_read_timeout(Some(CLIENT_PATIENCE)).unwrap();
    // The write may already meet a closed connection; the read tells what happened.
    let _ = (&stream).write_all(b"hello");
    let mut back = [0; 5];
    match (&stream).read_exact(&mut back) {
        Ok(()) => {
            assert_eq!(&back, b"hello", "echo differs");
            Outcome::Served(stream)
        }
        Err(e) if e.kind() == ErrorKind::UnexpectedEof || is_reset(&e) => Outcome::Closed,
        Err(e) => Outcome::Hung(e.kind()),
    }
}

/// The child of `every_client_beyond_the_descriptor_limit_is_closed_at_once` at `site`.
fn low_limit_child<T: StreamKind>(site: &Site<T>) -> String {
    format!("child_serves_under_a_low_descriptor_limit::{}", site.name())
}

fn every_client_beyond_the_descriptor_limit_is_closed_at_once<T: StreamKind>(site: &Site<T>) {
    let mut child = Running::spawn(child_command(&low_limit_child(site)));
    assert!(child.wait_for_line("listening "), "the child did not start");
    let line = child.last_line().unwrap().to_owned();
    let mut words = line.split_whitespace().skip(1);
    let server = T::parse(words.next().unwrap());
    let cap: usize = words.next().unwrap().parse().unwrap();
    assert!(
        cap > 0 && cap < LOW_LIMIT as usize,
        "cap {cap} under a limit of {LOW_LIMIT}"
    );

    // Every handshake completes in the kernel whether or not the server has room.
    let clients: Vec<Socket> = (0..CLIENTS).map(|_| connect::<T>(&server)).collect();
    let outcomes: Vec<Outcome> = thread::scope(|scope| {
        let running: Vec<_> = clients
            .into_iter()
            .map(|stream| scope.spawn(move || try_echo(stream)))
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let served: Vec<&Socket> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Served(stream) => Some(stream),
            _ => None,
        })
        .collect();
    let hung: Vec<ErrorKind> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Hung(kind) => Some(*kind),
            _ => None,
        })
        .collect();
    assert!(
        hung.is_empty(),
        "{} clients got no answer: {hung:?}",
        hung.len()
    );
    let served = served.len();
    assert!(served >= 1, "nobody was served");
    assert!(served <= cap, "{served} served, over the cap of {cap}");
    // Every client's connection closes: the child then sees none open, and exits.
    drop(outcomes);
    let finished = child.finish();
    assert!(
        finished.status.success(),
        "child failed: {:?}\n{}",
        finished.stdout,
        finished.stderr
    );
    assert!(finished.printed("refused "), "{:?}", finished.stdout);
}

fn child_serves_under_a_low_descriptor_limit<T: StreamKind>(site: &Site<T>) {
    if !is_child(&low_limit_child(site)) {
        return;
    }
    set_nofile(LOW_LIMIT, LOW_LIMIT);
    let handle = spawn(site, Options::new());
    let stats = wait_for_stats(&handle, "serve to start", |s| s.max_connections > 0);
    // On a line of its own: the test harness has begun one with the test's name.
    println!(
        "\nlistening {} {}",
        handle.local_addr(),
        stats.max_connections
    );
    // Every client is either served or refused, then all of them leave.
    let stats = wait_for_stats(&handle, "every client to be answered", |s| {
        s.accepted >= CLIENTS as u64
    });
    assert_eq!(stats.accepted, CLIENTS as u64, "{stats:?}");
    wait_for_stats(&handle, "every client to leave", |s| s.active == 0);
    let stats = finish(handle);
    println!("refused {}: {stats:?}", stats.refused);
    assert!(
        stats.accepted - stats.refused <= stats.max_connections,
        "{stats:?}"
    );
    assert_eq!(stats.errors, 0, "{stats:?}");
}

/// How long a child test may run.
const GENEROUS_CHILD: Duration = Duration::from_secs(60);

/// The child of `the_soft_descriptor_limit_is_raised_as_far_as_the_cap_needs` at `site`.
fn raise_child<T: StreamKind>(site: &Site<T>) -> String {
    format!("child_raises_its_soft_limit::{}", site.name())
}

fn the_soft_descriptor_limit_is_raised_as_far_as_the_cap_needs<T: StreamKind>(site: &Site<T>) {
    let status = run_child(&raise_child(site), GENEROUS_CHILD);
    assert!(status.success(), "child failed: {status:?}");
}

fn child_raises_its_soft_limit<T: StreamKind>(site: &Site<T>) {
    if !is_child(&raise_child(site)) {
        return;
    }
    let hard = nofile().1.min(4096);
    assert!(
        hard > 2100,
        "the hard descriptor limit {hard} is too low for this test"
    );
    set_nofile(256, hard);

    // Room under the hard limit: the soft limit goes up as far as needed, and no further.
    let handle = spawn(site, Options::new().with_max_connections(2000));
    let stats = wait_for_stats(&handle, "serve to start", |s| s.max_connections > 0);
    assert_eq!(stats.max_connections, 2000);
    let (soft, _) = nofile();
    assert!(soft > 2000 && soft < hard, "soft limit {soft}");
    echo_once(&connect::<T>(&handle.local_addr()), b"served");
    finish(handle);

    // Not enough room: the soft limit goes up to the hard one, and the cap comes down.
    let handle = spawn(site, Options::new());
    let stats = wait_for_stats(&handle, "serve to start", |s| s.max_connections > 0);
    assert_eq!(nofile(), (hard, hard));
    assert!(
        stats.max_connections < hard && stats.max_connections > hard - 200,
        "cap {} under a limit of {hard}",
        stats.max_connections
    );
    echo_once(&connect::<T>(&handle.local_addr()), b"served");
    finish(handle);
}

instances!(every_client_beyond_the_descriptor_limit_is_closed_at_once: tcp_v4, unix_path);
instances!(child_serves_under_a_low_descriptor_limit: tcp_v4, unix_path);
instances!(the_soft_descriptor_limit_is_raised_as_far_as_the_cap_needs: tcp_v4, unix_path);
instances!(child_raises_its_soft_limit: tcp_v4, unix_path);
