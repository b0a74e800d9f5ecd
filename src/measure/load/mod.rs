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
//! Timeouts are looked at every few milliseconds ([`TICK`](poll::TICK)) rather than per message: a
//! message whose echo does not come within the timeout is counted (a TCP connection is then
//! out of step and stops; a UDP message is lost and the next one goes) at most a tick late.
//! An open loop ([`Load::with_rate`]) keeps the same loops: a connection whose next message
//! is not yet due waits in its thread's pacer (`pace.rs`), and the poll wakes when the
//! first is due.
//!
//! Round-trip times are gathered 256 at a time per thread and merged into one histogram
//! under a lock, so the lock is taken once per 256 messages.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::client::EchoClient;
use crate::error::{Error, Result};
use crate::measure::settings::{RunSettings, run_settings};
use crate::measure::summary::RttRecorder;
use crate::measure::{self};
use crate::options::Options;
use crate::transport::Transport;
use crate::transport::{ToAddrs, first_ok};

mod datagram;
mod drive;
mod kind;
mod pace;
mod poll;
mod report;
mod stream;
mod tally;

use drive::LoadThread;
pub(crate) use kind::KINDS;
pub use kind::LoadErrorKind;
use pace::Schedule;
pub use report::{LoadReport, Progress};
pub(crate) use tally::LoadCounters;
pub(crate) use tally::STOP_GRACE;
use tally::Shared;

/// How often [`Load::run_with_progress`] and [`Bulk::run_with_progress`](crate::Bulk::run_with_progress)
/// report.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// The stack of a load thread: its buffers live on the heap.
const STACK_SIZE: usize = 128 * 1024;

/// A closed-loop load: `connections` clients, each sending a `size`-byte message, reading
/// the whole echo back and verifying it before sending the next, until the
/// [`duration`](Self::with_duration) is over or each has done [`messages`](Self::with_messages).
/// With a [`rate`](Self::with_rate), an open loop instead: the messages go on a schedule of
/// `rate` a second, and each round trip counts from the time its message was due.
///
/// | setting | default |
/// |---|---|
/// | [`connections`](Self::with_connections) | 50 |
/// | [`threads`](Self::with_threads) | one per available CPU, at most one per connection |
/// | [`size`](Self::with_size) | 512 bytes (at least 8) |
/// | [`duration`](Self::with_duration) | 5 s |
/// | [`messages`](Self::with_messages) | no limit per connection |
/// | [`timeout`](Self::with_timeout) | 1 s: a UDP message unanswered this long is lost; a TCP connection silent this long, or still waiting for its echo this long after the run's end, is stalled (an error, and it stops) |
/// | [`options`](Self::with_options) | [`Options::default`] (its read timeout is replaced by the timeout above) |
/// | [`stop`](Self::with_stop) | none |
/// | [`rate`](Self::with_rate) | none: a closed loop |
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
    messages: Option<u64>,
    run: RunSettings,
    rate: Option<u64>,
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
            messages: None,
            run: RunSettings::new(),
            rate: None,
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

    /// The most messages each connection sends; the run ends earlier if all are done.
    pub const fn with_messages(mut self, messages: u64) -> Self {
        self.messages = Some(messages);
        self
    }

    run_settings! {
        /// How long the load runs.
        with_duration;
        /// How long one message waits for its echo: over TCP, how long a connection may stay
        /// silent, and how long after the run's [`duration`](Self::with_duration) a message
        /// still in flight may take to come back whole (a server that trickles its echo a
        /// byte at a time is never silent). The run is over one timeout after its duration
        /// at the latest. Zero is refused.
        with_timeout;
        /// The socket options of every connection.
        with_options;
        /// A flag that ends the run early when set: no message is sent after it, and a
        /// message whose echo has not come 50 ms after it is counted
        /// [`lost`](LoadReport::lost), so the run ends within about 50 ms whatever the
        /// server does.
        with_stop;
        /// How long the load runs.
        duration;
        /// How long one message waits.
        timeout;
    }

    /// Makes the load an open loop of `rate` messages a second across all connections, and
    /// measures each round trip from the time its message was due rather than the time it
    /// went. At least 1.
    ///
    /// The connections take turns on one schedule fixed in advance: message `k` of
    /// connection `c` (of `n`) is due `(c + k·n) / rate` seconds after the start. A
    /// connection still waiting for an echo when its next message is due sends that message
    /// as soon as the echo is in, and the message's round trip includes the time it was held
    /// back: a server that stalls for 400 ms shows 400 ms, 399 ms, 398 ms… in the messages
    /// due during the stall, where a closed loop, waiting politely, would record one slow
    /// message and hide the queue behind it (coordinated omission, as corrected by wrk2).
    /// Messages due after the [`duration`](Self::with_duration) are not sent.
    ///
    /// A connection that is on time waits for its due time in its thread's poll, whose timer
    /// has a resolution of about a millisecond; that wait is not counted in the round trip.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoServer, Load, Tcp};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let report = Load::new()
    ///     .with_connections(2)
    ///     .with_rate(100)
    ///     .with_duration(Duration::from_millis(300))
    ///     .run(Tcp, server.local_addr())?;
    /// assert!(report.messages() <= 30 + 2);
    /// assert_eq!(report.errors(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub const fn with_rate(mut self, rate: u64) -> Self {
        self.rate = Some(rate);
        self
    }

    /// The open loop's messages per second, or `None` for a closed loop.
    pub const fn rate(&self) -> Option<u64> {
        self.rate
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

    /// The most messages per connection, if bounded.
    pub const fn messages(&self) -> Option<u64> {
        self.messages
    }

    /// Runs the load against the echo server at `addr` and returns its report.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for zero connections, zero threads, a size under 8 bytes, a
    /// timeout under one microsecond (zero included), a zero rate or a refused option; [`Error::DatagramTooLarge`] for a UDP message over the datagram
    /// limit; the errors of [`EchoClient::connect_on_with`](crate::EchoClient::connect_on_with)
    /// if any connection fails; [`Error::SetOption`] if a socket cannot be made nonblocking;
    /// [`Error::Thread`] if a thread cannot be started, [`Error::Poll`] if its poll cannot be
    /// set up. Failures
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
    pub fn run<T: Transport, A: ToAddrs<T>>(&self, transport: T, addr: A) -> Result<LoadReport> {
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
    pub fn run_with_progress<T: Transport, A: ToAddrs<T>>(
        &self,
        transport: T,
        addr: A,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<LoadReport> {
        if self.connections == 0 {
            return Err(Error::InvalidOption {
                option: "connections",
                reason: "must be at least 1".into(),
            });
        }
        if self.threads == Some(0) {
            return Err(Error::InvalidOption {
                option: "threads",
                reason: "must be at least 1".into(),
            });
        }
        if self.rate == Some(0) {
            return Err(Error::InvalidOption {
                option: "rate",
                reason: "must be at least 1 message per second".into(),
            });
        }
        measure::check_size("size", self.size)?;
        self.run.check()?;
        // The sockets are polled without blocking, so the per-message timeout is enforced
        // by the poll loop, not by a socket read timeout.
        let options = &self.run.options;
        let first = first_ok::<T, _, _>(&addr, |candidate| {
            EchoClient::connect_on_with(transport, candidate, options.clone())
        })?;
        let peer = first.peer_addr();
        // Fallibly: `connections` is the caller's, up to `usize::MAX`.
        let mut clients = Vec::new();
        clients
            .try_reserve_exact(self.connections)
            .map_err(|_| Error::Allocation {
                what: "the connections",
                bytes: self.connections.saturating_mul(size_of::<T::Client>()),
            })?;
        clients.push(first);
        for _ in 1..self.connections {
            clients.push(EchoClient::connect_on_with(
                transport,
                peer.clone(),
                options.clone(),
            )?);
        }

        // Connection `i` goes to thread `i % threads`.
        let threads = self
            .threads
            .unwrap_or_else(default_threads)
            .min(self.connections);
        let mut groups: Vec<Vec<&T::Client>> = (0..threads)
            .map(|_| Vec::with_capacity(self.connections.div_ceil(threads)))
            .collect();
        for (i, client) in clients.iter().enumerate() {
            groups[i % threads].push(client.socket());
        }

        let counters: Vec<LoadCounters> = (0..threads).map(|_| LoadCounters::default()).collect();
        let start = Instant::now();
        let (deadline, last_echo) = self.run.ends(start);
        let shared = Shared {
            size: self.size,
            deadline,
            last_echo,
            messages: self.messages.unwrap_or(u64::MAX),
            timeout: self.run.timeout,
            stop: self.run.stop.as_deref(),
            schedule: self.rate.map(|rate| Schedule {
                start,
                rate,
                connections: self.connections as u64,
            }),
            abort: AtomicBool::new(false),
            recorder: Mutex::new(RttRecorder::new()),
        };
        let (done, finished) = mpsc::channel::<()>();
        let ran = std::thread::scope(|scope| -> Result<()> {
            let mut handles = Vec::with_capacity(threads);
            for (t, (group, counters)) in groups.into_iter().zip(&counters).enumerate() {
                let shared = &shared;
                let done = done.clone();
                let peer = &peer;
                let spawned = std::thread::Builder::new()
                    .name(format!("echo-load-{t}"))
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(scope, move || {
                        let ran = T::visit_clients(
                            group,
                            LoadThread::<T> {
                                peer,
                                shared,
                                counters,
                                thread: t,
                                threads,
                            },
                        );
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
        let latency = shared
            .recorder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .latency();
        Ok(LoadReport {
            transport: T::NAME,
            connections: self.connections,
            size: self.size,
            totals: Progress::sum(elapsed, self.size, &counters),
            errors_by_kind: sum_errors(&counters),
            latency,
        })
    }
}

/// The errors of every thread, by kind.
fn sum_errors(counters: &[LoadCounters]) -> [u64; KINDS] {
    let mut sum = [0; KINDS];
    for counters in counters {
        for (total, count) in sum.iter_mut().zip(counters.errors()) {
            *total += count;
        }
    }
    sum
}

/// One thread per available CPU (1 if the system cannot tell).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}
