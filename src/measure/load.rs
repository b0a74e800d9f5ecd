//! `Load`: many connections (TCP) or sockets (UDP), each in a closed loop of send, receive
//! and verify, for a bounded time and count.
//!
//! # A few threads, each polling its share of the connections
//!
//! The connections are dealt out to a few threads (by default one per available CPU), and
//! each thread drives its share with nonblocking sockets and one `mio` poll: when a socket
//! is ready it writes what is left of the message, reads what has come of the echo and,
//! once the whole echo is in, compares it, records the round trip and sends the next. That
//! is what the harness's raw clients do (`bench/src/load/tcp_many.rs`, `udp_many.rs`), so
//! the generator costs about what they cost. A thread per connection would cost a wake-up
//! of a sleeping thread per message, and on a loopback test the client shares the CPUs with
//! the server: the cycles spent switching threads are taken from the server being measured.
//!
//! Timeouts are looked at every few milliseconds ([`TICK`]) rather than per message: a
//! message whose echo does not come within the timeout is counted (a TCP connection is then
//! out of step and stops; a UDP message is lost and the next one goes) at most a tick late.
//! Round-trip times are gathered 256 at a time per thread and merged into one histogram
//! under a lock, so the lock is taken once per 256 messages.

use std::fmt::Debug;
use std::io::{ErrorKind, Read, Write};
use std::net::ToSocketAddrs;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::addr;
use crate::error::{Error, Result};
use crate::measure::summary::{Latency, Recorder};
use crate::measure::{self, HEADER, Socket};
use crate::options::Options;
use crate::transport::{Transport, is_icmp_echo};

use mio::{Events, Poll, Token};

/// How often [`Load::run_with_progress`] and [`Bulk::run_with_progress`](crate::Bulk::run_with_progress)
/// report.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// The stack of a load thread: its buffers live on the heap.
const STACK_SIZE: usize = 128 * 1024;

/// Round trips kept by a thread before they are merged into the shared histogram.
const BATCH: usize = 256;

/// How often a load thread looks for messages past their timeout (and retries a refused
/// UDP send) when no event wakes it sooner.
const TICK: Duration = Duration::from_millis(5);

/// Readiness events taken from the poll at once.
const EVENTS: usize = 1024;

/// A closed-loop load: `connections` clients, each sending a `size`-byte message, reading
/// the whole echo back and verifying it before sending the next, until the
/// [`duration`](Self::with_duration) is over or each has done [`messages`](Self::with_messages).
///
/// | setting | default |
/// |---|---|
/// | [`connections`](Self::with_connections) | 50 |
/// | [`threads`](Self::with_threads) | one per available CPU, at most one per connection |
/// | [`size`](Self::with_size) | 512 bytes (at least 8) |
/// | [`duration`](Self::with_duration) | 5 s |
/// | [`messages`](Self::with_messages) | no limit per connection |
/// | [`timeout`](Self::with_timeout) | 1 s: a UDP message unanswered this long is lost; a TCP connection silent this long is stalled (an error, and it stops) |
/// | [`options`](Self::with_options) | [`Options::default`] (its read timeout is replaced by the timeout above) |
/// | [`stop`](Self::with_stop) | none |
///
/// All connections are made before the clock starts; a connection that fails makes the whole
/// run fail, since the load asked for would not be the load measured. The connections are
/// shared out among the threads, each of which drives its share with nonblocking sockets
/// and one poll (see the module notes in the source for why). A message whose echo does not
/// come within the timeout is counted a few milliseconds after it is due at the latest.
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
    threads: Option<usize>,
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
            threads: None,
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

    /// How many threads drive the connections; at least 1. By default one per available CPU
    /// ([`std::thread::available_parallelism`]); never more than there are connections.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Load, Tcp};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// let shutdown = server.shutdown_handle();
    /// let served = std::thread::spawn(move || server.serve());
    ///
    /// let load = Load::new().with_connections(8).with_threads(2).with_size(64).with_messages(100);
    /// assert_eq!(load.threads(), Some(2));
    /// let report = load.run(Tcp, addr)?;
    /// assert_eq!((report.messages(), report.errors()), (800, 0));
    /// shutdown.shutdown();
    /// served.join().unwrap()?;
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
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

    /// A flag that ends the run early when set; each connection reads it between messages,
    /// so a message in flight still gets its echo or its timeout.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The number of connections.
    pub const fn connections(&self) -> usize {
        self.connections
    }

    /// The number of threads set with [`with_threads`](Self::with_threads), or `None` for
    /// one per available CPU.
    pub const fn threads(&self) -> Option<usize> {
        self.threads
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
    /// [`Error::InvalidOption`] for zero connections, zero threads, a size under 8 bytes, a
    /// timeout under one microsecond (zero included) or a refused option; [`Error::DatagramTooLarge`] for a UDP message over the datagram
    /// limit; the errors of [`EchoClient::connect_on_with`](crate::EchoClient::connect_on_with)
    /// if any connection fails; [`Error::SetOption`] if a socket cannot be made nonblocking;
    /// [`Error::Thread`] if a thread, or its poll, cannot be started. Failures
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
        if self.threads == Some(0) {
            return Err(Error::InvalidOption {
                option: "threads",
                reason: "must be at least 1",
            });
        }
        measure::check_size("size", self.size)?;
        measure::check_timeout("timeout", self.timeout)?;
        // The sockets are polled without blocking, so the per-message timeout is enforced
        // by the poll loop, not by a socket read timeout.
        let options = &self.options;
        options.validate()?;
        let (peer, first) = addr::first_ok(&addr, |candidate| {
            Ok((candidate, T::connect(candidate, options)?))
        })?;
        let mut connections = Vec::with_capacity(self.connections);
        connections.push(first);
        for _ in 1..self.connections {
            connections.push(T::connect(peer, options)?);
        }
        if let Some(Socket::Datagram(_)) = connections.first_mut().map(T::socket) {
            measure::check_datagram(peer, self.size)?;
        }

        // Connection `i` goes to thread `i % threads`.
        let threads = self
            .threads
            .unwrap_or_else(default_threads)
            .min(self.connections);
        let mut groups: Vec<Vec<T::Connection>> = (0..threads)
            .map(|_| Vec::with_capacity(self.connections.div_ceil(threads)))
            .collect();
        for (i, connection) in connections.into_iter().enumerate() {
            groups[i % threads].push(connection);
        }

        let counters: Vec<Counters> = (0..threads).map(|_| Counters::default()).collect();
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
        let ran = std::thread::scope(|scope| -> Result<()> {
            let mut handles = Vec::with_capacity(threads);
            for (t, (group, counters)) in groups.into_iter().zip(&counters).enumerate() {
                let shared = &shared;
                let done = done.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("echo-load-{t}"))
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(scope, move || {
                        let ran = drive::<T>(group, shared, counters);
                        if ran.is_err() {
                            shared.abort.store(true, Ordering::Relaxed);
                        }
                        drop(done);
                        ran
                    });
                match spawned {
                    Ok(handle) => handles.push(handle),
                    Err(source) => {
                        shared.abort.store(true, Ordering::Relaxed);
                        return Err(Error::Thread { source });
                    }
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
            for handle in handles {
                match handle.join() {
                    Ok(ran) => ran?,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(())
        });
        let elapsed = start.elapsed();
        ran?;
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

/// One thread per available CPU (1 if the system cannot tell).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
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
    /// Whether a connection that has sent `sent` messages may send no more.
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

/// What one load thread counts into, and where its round trips go.
struct Tally<'s, 'a> {
    shared: &'s Shared<'a>,
    counters: &'s Counters,
    batch: Batch<'s, 'a>,
}

/// Runs one thread's share of the connections until each has finished.
fn drive<T: Transport>(
    mut connections: Vec<T::Connection>,
    shared: &Shared<'_>,
    counters: &Counters,
) -> Result<()> {
    let poll = Poll::new().map_err(|source| Error::Thread { source })?;
    let mut tally = Tally {
        shared,
        counters,
        batch: Batch::new(shared),
    };
    let mut streams = Vec::new();
    let mut datagrams = Vec::new();
    for (token, connection) in connections.iter_mut().enumerate() {
        match T::socket(connection) {
            Socket::Stream(stream) => {
                streams.push(io::register_stream(stream, poll.registry(), Token(token))?)
            }
            Socket::Datagram(socket) => datagrams.push(io::register_datagram(
                socket,
                poll.registry(),
                Token(token),
            )?),
        }
    }
    if !streams.is_empty() {
        run_streams(poll, streams, &mut tally)?;
    } else if !datagrams.is_empty() {
        run_datagrams(poll, datagrams, &mut tally)?;
    }
    Ok(())
}

/// How the event loop reaches a connection's socket.
#[cfg(unix)]
mod io {
    use std::net::{TcpStream, UdpSocket};
    use std::os::fd::AsRawFd;

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};

    use crate::error::{Error, Result};

    /// Makes `stream` nonblocking and registers it for reading and writing; the event loop
    /// then uses the socket itself.
    pub(super) fn register_stream<'a>(
        stream: &'a mut TcpStream,
        registry: &Registry,
        token: Token,
    ) -> Result<&'a mut TcpStream> {
        stream.set_nonblocking(true).map_err(nonblocking)?;
        registry
            .register(
                &mut SourceFd(&stream.as_raw_fd()),
                token,
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|source| Error::Thread { source })?;
        Ok(stream)
    }

    /// Makes `socket` nonblocking and registers it for reading.
    pub(super) fn register_datagram<'a>(
        socket: &'a mut UdpSocket,
        registry: &Registry,
        token: Token,
    ) -> Result<&'a mut UdpSocket> {
        socket.set_nonblocking(true).map_err(nonblocking)?;
        registry
            .register(
                &mut SourceFd(&socket.as_raw_fd()),
                token,
                Interest::READABLE,
            )
            .map_err(|source| Error::Thread { source })?;
        Ok(socket)
    }

    pub(super) fn nonblocking(source: std::io::Error) -> Error {
        Error::SetOption {
            option: "nonblocking",
            source,
        }
    }

    /// A connected datagram socket as the event loop uses it.
    pub(super) trait Datagram {
        fn send(&self, message: &[u8]) -> std::io::Result<usize>;
        fn recv(&self, buffer: &mut [u8]) -> std::io::Result<usize>;
    }

    impl Datagram for &mut UdpSocket {
        fn send(&self, message: &[u8]) -> std::io::Result<usize> {
            UdpSocket::send(self, message)
        }

        fn recv(&self, buffer: &mut [u8]) -> std::io::Result<usize> {
            UdpSocket::recv(self, buffer)
        }
    }
}

/// How the event loop reaches a connection's socket: through a mio socket of its own on a
/// duplicate of the descriptor, since mio takes part in every read and write here.
#[cfg(not(unix))]
mod io {
    use std::net::{TcpStream, UdpSocket};

    use mio::{Interest, Registry, Token};

    use crate::error::{Error, Result};

    pub(super) fn register_stream(
        stream: &mut TcpStream,
        registry: &Registry,
        token: Token,
    ) -> Result<mio::net::TcpStream> {
        stream.set_nonblocking(true).map_err(nonblocking)?;
        let clone = stream
            .try_clone()
            .map_err(|source| Error::Thread { source })?;
        let mut stream = mio::net::TcpStream::from_std(clone);
        registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|source| Error::Thread { source })?;
        Ok(stream)
    }

    pub(super) fn register_datagram(
        socket: &mut UdpSocket,
        registry: &Registry,
        token: Token,
    ) -> Result<mio::net::UdpSocket> {
        socket.set_nonblocking(true).map_err(nonblocking)?;
        let clone = socket
            .try_clone()
            .map_err(|source| Error::Thread { source })?;
        let mut socket = mio::net::UdpSocket::from_std(clone);
        registry
            .register(&mut socket, token, Interest::READABLE)
            .map_err(|source| Error::Thread { source })?;
        Ok(socket)
    }

    pub(super) fn nonblocking(source: std::io::Error) -> Error {
        Error::SetOption {
            option: "nonblocking",
            source,
        }
    }

    pub(super) trait Datagram {
        fn send(&self, message: &[u8]) -> std::io::Result<usize>;
        fn recv(&self, buffer: &mut [u8]) -> std::io::Result<usize>;
    }

    impl Datagram for mio::net::UdpSocket {
        fn send(&self, message: &[u8]) -> std::io::Result<usize> {
            mio::net::UdpSocket::send(self, message)
        }

        fn recv(&self, buffer: &mut [u8]) -> std::io::Result<usize> {
            mio::net::UdpSocket::recv(self, buffer)
        }
    }
}

/// Waits for events, up to the next look at the timeouts. False if the poll failed.
fn wait(poll: &mut Poll, events: &mut Events, until: Instant) -> bool {
    let timeout = until.saturating_duration_since(Instant::now());
    loop {
        match poll.poll(events, Some(timeout)) {
            Ok(()) => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// A TCP connection in its closed loop.
struct StreamConn<S> {
    socket: S,
    reply: Vec<u8>,
    /// Bytes of the message in flight written, and of its echo read.
    written: usize,
    filled: usize,
    /// Messages sent, echoed or not: the count bound applies to them.
    sent_count: u64,
    /// When the message in flight was sent.
    sent: Instant,
    /// When the connection last moved: the send, or the last bytes of echo read.
    heard: Instant,
    finished: bool,
}

impl<S: Read + Write> StreamConn<S> {
    /// Starts the next message, or finishes the connection if it may send no more.
    fn begin(&mut self, now: Instant, shared: &Shared<'_>) {
        if shared.done(now, self.sent_count) {
            self.finished = true;
            return;
        }
        self.sent_count += 1;
        self.written = 0;
        self.filled = 0;
        self.sent = now;
        self.heard = now;
    }

    /// Writes and reads until the socket would block, verifying each whole echo and
    /// starting the next message. A closed or broken connection is counted and finishes.
    fn advance(&mut self, message: &[u8], tally: &mut Tally<'_, '_>) {
        let size = message.len();
        while !self.finished {
            while self.written < size {
                match self.socket.write(&message[self.written..]) {
                    Ok(0) => return self.fail(tally),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return self.fail(tally),
                }
            }
            // Read even while part of the message is unwritten: the server may be echoing
            // the first part and waiting for us to take it.
            match self.socket.read(&mut self.reply[self.filled..]) {
                Ok(0) => return self.fail(tally),
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.fail(tally),
            }
            let now = Instant::now();
            if self.filled < size {
                self.heard = now;
                continue;
            }
            if self.reply == message {
                tally.batch.record(now - self.sent);
                bump(&tally.counters.messages);
            } else {
                bump(&tally.counters.errors);
            }
            self.begin(now, tally.shared);
        }
    }

    /// A connection out of step: counted, and it stops.
    fn fail(&mut self, tally: &Tally<'_, '_>) {
        bump(&tally.counters.errors);
        self.finished = true;
    }
}

/// Drives TCP connections until each has finished: sent its last message and read its
/// echo, or failed, or stayed silent for the timeout.
fn run_streams<S: Read + Write>(
    mut poll: Poll,
    sockets: Vec<S>,
    tally: &mut Tally<'_, '_>,
) -> Result<()> {
    let shared = tally.shared;
    let message = measure::pattern(shared.size)?;
    let now = Instant::now();
    let mut conns: Vec<StreamConn<S>> = sockets
        .into_iter()
        .map(|socket| {
            Ok(StreamConn {
                socket,
                reply: crate::buffer::zeroed("the reply buffer", shared.size)?,
                written: 0,
                filled: 0,
                sent_count: 0,
                sent: now,
                heard: now,
                finished: false,
            })
        })
        .collect::<Result<_>>()?;
    let mut active = conns.len();
    for conn in &mut conns {
        conn.begin(Instant::now(), shared);
        conn.advance(&message, tally);
        active -= usize::from(conn.finished);
    }
    let mut events = Events::with_capacity(EVENTS);
    let mut tick = Instant::now() + TICK;
    while active > 0 {
        if !wait(&mut poll, &mut events, tick) {
            for conn in conns.iter_mut().filter(|conn| !conn.finished) {
                conn.fail(tally);
            }
            return Ok(());
        }
        for event in &events {
            if let Some(conn) = conns.get_mut(event.token().0)
                && !conn.finished
            {
                conn.advance(&message, tally);
                active -= usize::from(conn.finished);
            }
        }
        let now = Instant::now();
        if now >= tick {
            for conn in conns.iter_mut().filter(|conn| !conn.finished) {
                if now.saturating_duration_since(conn.heard) >= shared.timeout {
                    conn.fail(tally);
                    active -= 1;
                }
            }
            tick = now + TICK;
        }
    }
    Ok(())
}

/// A UDP socket in its closed loop.
struct DatagramConn<S> {
    socket: S,
    /// Messages sent so far; the one in flight, if any, is number `sent_count - 1`.
    sent_count: u64,
    /// When the message in flight was sent.
    sent: Instant,
    /// A message is in flight, waiting for its echo or its timeout.
    waiting: bool,
    finished: bool,
}

impl<S: io::Datagram> DatagramConn<S> {
    /// Sends the next message, or finishes the socket if it may send no more. A send refused
    /// by an ICMP error is an error, and the next is tried at the next look at the timeouts;
    /// any other failed send is an error that finishes the socket.
    fn send_next(&mut self, now: Instant, probe: &mut [u8], tally: &Tally<'_, '_>) {
        self.waiting = false;
        if tally.shared.done(now, self.sent_count) {
            self.finished = true;
            return;
        }
        measure::set_seq(probe, self.sent_count);
        self.sent_count += 1;
        self.sent = now;
        match self.socket.send(probe) {
            // A full send buffer drops the datagram, as the network may: the timeout then
            // counts it lost.
            Ok(_) => self.waiting = true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.waiting = true,
            Err(e) if is_icmp_echo(&e) => bump(&tally.counters.errors),
            Err(_) => {
                bump(&tally.counters.errors);
                self.finished = true;
            }
        }
    }

    /// Reads every datagram waiting: the echo of the message in flight ends its wait and
    /// sends the next; a late echo of an earlier message (already counted lost) is passed
    /// over; anything else is an error, and the wait goes on.
    fn receive(&mut self, probe: &mut [u8], reply: &mut [u8], tally: &mut Tally<'_, '_>) {
        let size = probe.len();
        while !self.finished {
            let n = match self.socket.recv(reply) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // An ICMP error of an earlier send, or a broken socket: the message in
                // flight will get no echo.
                Err(_) => {
                    bump(&tally.counters.errors);
                    self.waiting = false;
                    return;
                }
            };
            if self.waiting && n == size && reply[..n] == probe[..] {
                let now = Instant::now();
                tally.batch.record(now - self.sent);
                bump(&tally.counters.messages);
                self.send_next(now, probe, tally);
                continue;
            }
            let current = if self.waiting {
                self.sent_count - 1
            } else {
                self.sent_count
            };
            let late = n == size
                && measure::seq_of(&reply[..n]).is_some_and(|s| s < current)
                && reply[HEADER..n] == probe[HEADER..];
            if !late {
                bump(&tally.counters.errors);
            }
        }
    }
}

/// Drives UDP sockets until each has finished: sent its last message and had its echo or
/// its timeout, or failed.
fn run_datagrams<S: io::Datagram>(
    mut poll: Poll,
    sockets: Vec<S>,
    tally: &mut Tally<'_, '_>,
) -> Result<()> {
    let shared = tally.shared;
    // The message in flight of each socket differs only in its header, written before
    // each send: one buffer serves them all, and holds the current socket's message.
    let mut probe = measure::pattern(shared.size)?;
    // One byte more than a message, so a longer datagram shows as a difference.
    let mut reply = crate::buffer::with_sentinel("the reply buffer", shared.size)?;
    let now = Instant::now();
    let mut conns: Vec<DatagramConn<S>> = sockets
        .into_iter()
        .map(|socket| DatagramConn {
            socket,
            sent_count: 0,
            sent: now,
            waiting: false,
            finished: false,
        })
        .collect();
    let mut active = conns.len();
    for conn in &mut conns {
        conn.send_next(Instant::now(), &mut probe, tally);
        active -= usize::from(conn.finished);
    }
    let mut events = Events::with_capacity(EVENTS);
    let mut tick = Instant::now() + TICK;
    while active > 0 {
        if !wait(&mut poll, &mut events, tick) {
            for conn in conns.iter_mut().filter(|conn| !conn.finished) {
                bump(&tally.counters.errors);
                conn.finished = true;
            }
            return Ok(());
        }
        for event in &events {
            if let Some(conn) = conns.get_mut(event.token().0) {
                if conn.finished {
                    continue;
                }
                // The probe buffer holds this socket's message in flight.
                measure::set_seq(&mut probe, conn.sent_count.saturating_sub(1));
                conn.receive(&mut probe, &mut reply, tally);
                active -= usize::from(conn.finished);
            }
        }
        let now = Instant::now();
        if now >= tick {
            for conn in conns.iter_mut().filter(|conn| !conn.finished) {
                if conn.waiting {
                    if now.saturating_duration_since(conn.sent) < shared.timeout {
                        continue;
                    }
                    bump(&tally.counters.lost);
                }
                conn.send_next(now, &mut probe, tally);
                active -= usize::from(conn.finished);
            }
            tick = now + TICK;
        }
    }
    Ok(())
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
