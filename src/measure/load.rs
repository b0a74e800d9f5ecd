//! `Load`: many connections (TCP) or sockets (UDP), each in a closed loop of send, receive
//! and verify, for a bounded time and count.
//!
//! # Why a thread per connection
//!
//! Each connection runs on its own thread with blocking sockets: a send, a receive of the
//! whole echo, a compare, a clock reading. That is the same code as the raw client it is
//! measured against, so the generator adds no cost of its own per message, and the time
//! recorded is the round trip as an application sees it. Threads are started with a 128 KiB
//! stack and keep their buffers on the heap, so 1,000 connections cost about 1,000 mostly
//! idle threads; on a 2-core machine the client then competes with the server for the CPU
//! either way (with an event loop as with threads), and what the scheduler adds shows up in
//! the tail percentiles of both. A readiness loop over many sockets per thread would spare
//! those threads but not the CPU the server needs, which is what bounds a loopback test.
//! Round-trip times are gathered 256 at a time per thread and merged into one histogram
//! under a lock, so the lock is taken once per 256 messages.

use std::fmt::Debug;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::addr;
use crate::error::{Error, Result};
use crate::measure::summary::{Latency, Recorder};
use crate::measure::{self, HEADER, Socket};
use crate::options::Options;
use crate::stream::is_timeout;
use crate::transport::{Transport, is_icmp_echo};

/// How often [`Load::run_with_progress`] and [`Bulk::run_with_progress`](crate::Bulk::run_with_progress)
/// report.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// The stack of a load thread: its buffers live on the heap.
const STACK_SIZE: usize = 128 * 1024;

/// Round trips kept by a thread before they are merged into the shared histogram.
const BATCH: usize = 256;

/// A closed-loop load: `connections` clients, each sending a `size`-byte message, reading
/// the whole echo back and verifying it before sending the next, until the
/// [`duration`](Self::with_duration) is over or each has done [`messages`](Self::with_messages).
///
/// | setting | default |
/// |---|---|
/// | [`connections`](Self::with_connections) | 50 |
/// | [`size`](Self::with_size) | 512 bytes (at least 8) |
/// | [`duration`](Self::with_duration) | 5 s |
/// | [`messages`](Self::with_messages) | no limit per connection |
/// | [`timeout`](Self::with_timeout) | 1 s: a UDP message unanswered this long is lost; a TCP connection silent this long is stalled (an error, and it stops) |
/// | [`options`](Self::with_options) | [`Options::default`] (its read timeout is replaced by the timeout above) |
/// | [`stop`](Self::with_stop) | none |
///
/// All connections are made before the clock starts; a connection that fails makes the whole
/// run fail, since the load asked for would not be the load measured. See the module notes
/// in the source for why each connection has its own thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{EchoServer, Load};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.serve_once());
///
/// let report = Load::new()
///     .with_connections(1)
///     .with_size(64)
///     .with_duration(Duration::from_secs(5))
///     .with_messages(100)
///     .run(socket_echo::Tcp, addr)?;
/// assert_eq!(report.messages(), 100);
/// assert_eq!(report.bytes(), 100 * 64);
/// assert_eq!(report.errors(), 0);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Load {
    connections: usize,
    size: usize,
    duration: Duration,
    messages: Option<u64>,
    timeout: Duration,
    options: Options,
    stop: Option<Arc<AtomicBool>>,
}

impl Default for Load {
    fn default() -> Self {
        Load::new()
    }
}

impl Load {
    /// The defaults in the table above.
    pub const fn new() -> Self {
        Load {
            connections: 50,
            size: 512,
            duration: Duration::from_secs(5),
            messages: None,
            timeout: Duration::from_secs(1),
            options: Options::new(),
            stop: None,
        }
    }

    /// How many connections (TCP) or sockets (UDP) run at once; at least 1.
    pub const fn with_connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }

    /// The message size in bytes; at least 8 (UDP messages carry a sequence number).
    pub const fn with_size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// How long the load runs.
    pub const fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// The most messages each connection sends; the run ends earlier if all are done.
    pub const fn with_messages(mut self, messages: u64) -> Self {
        self.messages = Some(messages);
        self
    }

    /// How long one message waits for its echo. Zero is refused.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The socket options of every connection.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// A flag that ends the run early when set; each connection reads it between messages.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The number of connections.
    pub const fn connections(&self) -> usize {
        self.connections
    }

    /// The message size.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// How long the load runs.
    pub const fn duration(&self) -> Duration {
        self.duration
    }

    /// The most messages per connection, if bounded.
    pub const fn messages(&self) -> Option<u64> {
        self.messages
    }

    /// How long one message waits.
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the load against the echo server at `addr` and returns its report.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for zero connections, a size under 8 bytes, a zero timeout or
    /// a refused option; [`Error::DatagramTooLarge`] for a UDP message over the datagram
    /// limit; the errors of [`EchoClient::connect_on_with`](crate::EchoClient::connect_on_with)
    /// if any connection fails; [`Error::Thread`] if a thread cannot be started. Failures
    /// during the run (a mismatch, a closed connection, a timeout) are counted in the report,
    /// not returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Load, Udp};
    ///
    /// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || {
    ///     for _ in 0..50 {
    ///         server.serve_once()?;
    ///     }
    ///     Ok::<_, socket_echo::Error>(())
    /// });
    ///
    /// let report = Load::new().with_connections(1).with_size(32).with_messages(50).run(Udp, addr)?;
    /// assert_eq!(report.messages() + report.lost(), 50);
    /// assert_eq!(report.bytes(), report.messages() * 32);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn run<T: Transport, A: ToSocketAddrs + Debug>(
        &self,
        transport: T,
        addr: A,
    ) -> Result<LoadReport> {
        self.run_with_progress(transport, addr, |_| {})
    }

    /// As [`run`](Self::run), calling `on_progress` about every 200 ms with the totals so far.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoServer, Load, Tcp};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let load = Load::new().with_connections(1).with_duration(Duration::from_millis(300));
    /// let report = load.run_with_progress(Tcp, addr, |progress| {
    ///     println!("{:?}: {} messages", progress.elapsed(), progress.messages());
    /// })?;
    /// assert_eq!(report.errors(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn run_with_progress<T: Transport, A: ToSocketAddrs + Debug>(
        &self,
        transport: T,
        addr: A,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<LoadReport> {
        let _ = transport;
        if self.connections == 0 {
            return Err(Error::InvalidOption {
                option: "connections",
                reason: "must be at least 1",
            });
        }
        measure::check_size("size", self.size)?;
        measure::check_timeout("timeout", self.timeout)?;
        let options = self.options.clone().with_read_timeout(Some(self.timeout));
        options.validate()?;
        let (peer, first) = addr::first_ok(&addr, |candidate| {
            Ok((candidate, T::connect(candidate, &options)?))
        })?;
        let mut connections = Vec::with_capacity(self.connections);
        connections.push(first);
        for _ in 1..self.connections {
            connections.push(T::connect(peer, &options)?);
        }
        if let Some(Socket::Datagram(_)) = connections.first_mut().map(T::socket) {
            measure::check_datagram(peer, self.size)?;
        }

        let counters: Vec<Counters> = (0..self.connections).map(|_| Counters::default()).collect();
        let start = Instant::now();
        let shared = Shared {
            size: self.size,
            deadline: start + self.duration,
            messages: self.messages.unwrap_or(u64::MAX),
            timeout: self.timeout,
            stop: self.stop.as_deref(),
            abort: AtomicBool::new(false),
            recorder: Mutex::new(Recorder::new()),
        };
        let (done, finished) = mpsc::channel::<()>();
        let spawned = std::thread::scope(|scope| -> Result<()> {
            for (i, (mut connection, counters)) in
                connections.into_iter().zip(&counters).enumerate()
            {
                let shared = &shared;
                let done = done.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("echo-load-{i}"))
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(scope, move || {
                        match T::socket(&mut connection) {
                            Socket::Stream(stream) => stream_loop(stream, shared, counters),
                            Socket::Datagram(socket) => datagram_loop(socket, shared, counters),
                        }
                        drop(done);
                    });
                if let Err(source) = spawned {
                    shared.abort.store(true, Ordering::Relaxed);
                    return Err(Error::Thread { source });
                }
            }
            drop(done);
            // Every thread holds a sender: the channel disconnects when the last one ends.
            let mut next = start + PROGRESS_EVERY;
            loop {
                let wait = next.saturating_duration_since(Instant::now());
                match finished.recv_timeout(wait) {
                    Err(RecvTimeoutError::Disconnected) => break,
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => {
                        on_progress(&Progress::sum(start.elapsed(), self.size, &counters));
                        next += PROGRESS_EVERY;
                    }
                }
            }
            Ok(())
        });
        let elapsed = start.elapsed();
        spawned?;
        let progress = Progress::sum(elapsed, self.size, &counters);
        let latency = shared
            .recorder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .latency();
        Ok(LoadReport {
            transport: T::NAME,
            connections: self.connections,
            size: self.size,
            elapsed,
            messages: progress.messages,
            bytes: progress.bytes,
            errors: progress.errors,
            lost: progress.lost,
            latency,
        })
    }
}

/// What every load thread reads.
struct Shared<'a> {
    size: usize,
    deadline: Instant,
    messages: u64,
    timeout: Duration,
    stop: Option<&'a AtomicBool>,
    abort: AtomicBool,
    recorder: Mutex<Recorder>,
}

impl Shared<'_> {
    fn done(&self, now: Instant, sent: u64) -> bool {
        now >= self.deadline
            || sent >= self.messages
            || self.abort.load(Ordering::Relaxed)
            || self.stop.is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    fn merge(&self, samples: &[u64]) {
        let mut recorder = self.recorder.lock().unwrap_or_else(PoisonError::into_inner);
        for &ns in samples {
            recorder.record_ns(ns);
        }
    }
}

/// The totals of one thread, written by it alone and read by the progress reports. Each
/// sits on its own cache lines so threads do not slow each other down.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counters {
    pub(crate) messages: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) lost: AtomicU64,
}

/// One writer per counter, so a plain store of the thread's own count is enough.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Round trips gathered by one thread, merged into the shared histogram when full.
struct Batch<'s, 'a> {
    shared: &'s Shared<'a>,
    samples: [u64; BATCH],
    len: usize,
}

impl<'s, 'a> Batch<'s, 'a> {
    fn new(shared: &'s Shared<'a>) -> Self {
        Batch {
            shared,
            samples: [0; BATCH],
            len: 0,
        }
    }

    #[inline]
    fn record(&mut self, rtt: Duration) {
        self.samples[self.len] = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
        self.len += 1;
        if self.len == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.shared.merge(&self.samples[..self.len]);
        self.len = 0;
    }
}

impl Drop for Batch<'_, '_> {
    fn drop(&mut self) {
        self.flush();
    }
}

fn stream_loop(stream: &mut TcpStream, shared: &Shared<'_>, counters: &Counters) {
    let size = shared.size;
    let message = measure::pattern(size);
    let mut reply = vec![0; size];
    let mut batch = Batch::new(shared);
    // Messages sent, echoed or not: the count bound applies to them.
    let mut sent_count = 0u64;
    let mut sent = Instant::now();
    while !shared.done(sent, sent_count) {
        sent_count += 1;
        if stream.write_all(&message).is_err() {
            bump(&counters.errors);
            return;
        }
        let mut filled = 0;
        while filled < size {
            match stream.read(&mut reply[filled..]) {
                Ok(0) => {
                    bump(&counters.errors);
                    return;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A stalled or broken connection is out of step: it stops here.
                Err(_) => {
                    bump(&counters.errors);
                    return;
                }
            }
        }
        let now = Instant::now();
        if reply == message {
            batch.record(now - sent);
            bump(&counters.messages);
        } else {
            bump(&counters.errors);
        }
        sent = now;
    }
}

fn datagram_loop(socket: &mut UdpSocket, shared: &Shared<'_>, counters: &Counters) {
    let size = shared.size;
    let mut message = measure::pattern(size);
    // One byte more than a message, so a longer datagram shows as a difference.
    let mut reply = vec![0; size + 1];
    let mut batch = Batch::new(shared);
    let mut shortened = false;
    // Also the number of messages sent, to which the count bound applies.
    let mut seq = 0u64;
    let mut sent = Instant::now();
    while !shared.done(sent, seq) {
        if shortened {
            if socket.set_read_timeout(Some(shared.timeout)).is_err() {
                bump(&counters.errors);
                return;
            }
            shortened = false;
        }
        measure::set_seq(&mut message, seq);
        seq += 1;
        match socket.send(&message) {
            Ok(_) => {}
            Err(e) if is_icmp_echo(&e) => {
                bump(&counters.errors);
                sent = Instant::now();
                continue;
            }
            Err(_) => {
                bump(&counters.errors);
                return;
            }
        }
        let deadline = sent + shared.timeout;
        loop {
            match socket.recv(&mut reply) {
                Ok(n) if n == size && reply[..n] == message[..] => {
                    let now = Instant::now();
                    batch.record(now - sent);
                    bump(&counters.messages);
                    sent = now;
                    break;
                }
                Ok(n) => {
                    // A late echo of an earlier message was already counted lost; anything
                    // else is wrong.
                    let late = n == size
                        && measure::seq_of(&reply[..n]).is_some_and(|s| s < seq - 1)
                        && reply[HEADER..n] == message[HEADER..];
                    if !late {
                        bump(&counters.errors);
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
                        bump(&counters.lost);
                        sent = Instant::now();
                        break;
                    }
                    shortened = true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    bump(&counters.lost);
                    sent = Instant::now();
                    break;
                }
                Err(_) => {
                    bump(&counters.errors);
                    sent = Instant::now();
                    break;
                }
            }
        }
    }
}

/// The totals of a run so far, as [`Load::run_with_progress`] and
/// [`Bulk::run_with_progress`](crate::Bulk::run_with_progress) report them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{EchoServer, Load, Tcp};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.serve_once());
///
/// let mut last = None;
/// Load::new()
///     .with_connections(1)
///     .with_duration(Duration::from_millis(500))
///     .run_with_progress(Tcp, addr, |progress| last = Some(*progress))?;
/// let last = last.expect("a 500 ms run reports at least once");
/// assert_eq!(last.bytes(), last.messages() * 512);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub(crate) elapsed: Duration,
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) lost: u64,
}

impl Progress {
    fn sum(elapsed: Duration, size: usize, counters: &[Counters]) -> Self {
        let mut progress = Progress {
            elapsed,
            ..Progress::default()
        };
        for counters in counters {
            progress.messages += counters.messages.load(Ordering::Relaxed);
            progress.errors += counters.errors.load(Ordering::Relaxed);
            progress.lost += counters.lost.load(Ordering::Relaxed);
        }
        progress.bytes = progress.messages * size as u64;
        progress
    }

    /// Time since the run started.
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Messages echoed and verified so far.
    pub const fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes echoed and verified so far.
    pub const fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Errors so far.
    pub const fn errors(&self) -> u64 {
        self.errors
    }

    /// UDP messages lost so far.
    pub const fn lost(&self) -> u64 {
        self.lost
    }
}

/// The result of a [`Load`] or [`Bulk`](crate::Bulk) run.
///
/// `bytes` counts each verified byte once (what was echoed, not what crossed the wire both
/// ways); for a closed-loop load it is `messages × size`. Rates are over the run's elapsed
/// time, from the start of sending to the last echo.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoServer, Load, Tcp};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.serve_once());
///
/// let report = Load::new().with_connections(1).with_size(64).with_messages(1000).run(Tcp, addr)?;
/// assert_eq!((report.transport(), report.connections(), report.size()), ("tcp", 1, 64));
/// assert_eq!(report.latency().count(), 1000);
/// assert!(report.messages_per_sec() > 0.0 && report.megabytes_per_sec() > 0.0);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub(crate) transport: &'static str,
    pub(crate) connections: usize,
    pub(crate) size: usize,
    pub(crate) elapsed: Duration,
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) lost: u64,
    pub(crate) latency: Latency,
}

impl LoadReport {
    /// `"tcp"` or `"udp"`.
    pub const fn transport(&self) -> &'static str {
        self.transport
    }

    /// How many connections ran.
    pub const fn connections(&self) -> usize {
        self.connections
    }

    /// The message (or, for [`Bulk`](crate::Bulk), write) size in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// From the start of sending to the last echo.
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Messages (or bulk writes) echoed and verified.
    pub const fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes echoed and verified.
    pub const fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Replies that differed, connections that closed or stalled, sends that failed.
    pub const fn errors(&self) -> u64 {
        self.errors
    }

    /// UDP messages with no echo in time.
    pub const fn lost(&self) -> u64 {
        self.lost
    }

    /// Round-trip statistics (empty for [`Bulk`](crate::Bulk), which has no round trips).
    pub const fn latency(&self) -> Latency {
        self.latency
    }

    /// Verified messages per second.
    pub fn messages_per_sec(&self) -> f64 {
        rate(self.messages, self.elapsed)
    }

    /// Verified megabytes (10⁶ bytes) per second.
    pub fn megabytes_per_sec(&self) -> f64 {
        rate(self.bytes, self.elapsed) / 1e6
    }
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}
