//! `Bulk`: one connection of a stream transport streaming both ways at once, for throughput.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::EchoClient;
use crate::echo::stream::{Io, is_timeout};
use crate::echo::timeouts::SetTimeouts;
use crate::error::{Error, Result};
use crate::measure;
use crate::measure::load::{
    LoadCounters, LoadErrorKind, LoadReport, PROGRESS_EVERY, Progress, STOP_GRACE,
};
use crate::measure::settings::{RunSettings, run_settings};
use crate::measure::summary::Latency;
use crate::options::Options;
use crate::transport::ToAddrs;
use crate::transport::sealed::{ClientVisitor, Connection, Datagram};
use crate::transport::{Tcp, Transport};

/// The size of each read of the echo.
const READ_SIZE: usize = 64 * 1024;

/// The longest one read or write waits before the run's end and the stop flag are looked
/// at again.
const SLICE: Duration = Duration::from_millis(20);

/// A bulk transfer: one TCP connection, one thread writing `write_size`-byte chunks while
/// another reads the echo back and verifies every byte, until the
/// [`duration`](Self::with_duration) is over or [`bytes`](Self::with_bytes) are sent; then
/// the write side is shut and the rest of the echo read.
///
/// | setting | default |
/// |---|---|
/// | [`duration`](Self::with_duration) | 5 s |
/// | [`write_size`](Self::with_write_size) | 65,536 bytes |
/// | [`bytes`](Self::with_bytes) | no limit |
/// | [`timeout`](Self::with_timeout) | 1 s without any echo, or an echo still coming in this long after the duration, is a stall (an error, and the run stops) |
/// | [`options`](Self::with_options) | [`Options::default`] (its read timeout is replaced by the timeout above) |
/// | [`stop`](Self::with_stop) | none |
///
/// The stream carries byte `i` = `i mod 256`, so the reader checks each byte against its
/// position without keeping what was sent. The report's `messages` counts whole writes
/// echoed, its `bytes` every verified byte, and its latency is empty.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{Bulk, EchoServer};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.serve_once());
///
/// let report = Bulk::new()
///     .with_duration(Duration::from_secs(5))
///     .with_bytes(4 << 20)
///     .run(addr)?;
/// assert_eq!(report.bytes(), 4 << 20);
/// assert_eq!(report.messages(), 64);
/// assert_eq!(report.errors(), 0);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Bulk {
    write_size: usize,
    bytes: Option<u64>,
    run: RunSettings,
}

impl Default for Bulk {
    fn default() -> Self {
        Bulk::new()
    }
}

impl Bulk {
    /// The defaults in the table above.
    pub const fn new() -> Self {
        Bulk {
            write_size: 64 * 1024,
            bytes: None,
            run: RunSettings::new(),
        }
    }

    /// The size of each write in bytes; at least 1.
    pub const fn with_write_size(mut self, write_size: usize) -> Self {
        self.write_size = write_size;
        self
    }

    /// The most bytes to send; the run ends earlier once they are all echoed.
    pub const fn with_bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    run_settings! {
        /// How long the writer sends.
        with_duration;
        /// How long the reader waits for more echo before the run counts a stall, and how
        /// long after the [`duration`](Self::with_duration) the rest of the echo may take to
        /// come back (a server that trickles it a byte at a time is never silent): the run
        /// is over one timeout after its duration at the latest. Zero is refused.
        with_timeout;
        /// The socket options of the connection.
        with_options;
        /// A flag that ends the run early when set: the writer stops within 20 ms, and the
        /// writes whose echo has not all come back 50 ms after the flag are counted
        /// [`lost`](LoadReport::lost), so the run ends promptly whatever the server does.
        with_stop;
        /// How long the writer sends.
        duration;
        /// How long the reader waits for more echo.
        timeout;
    }

    /// The size of each write.
    pub const fn write_size(&self) -> usize {
        self.write_size
    }

    /// The most bytes to send, if bounded.
    pub const fn bytes(&self) -> Option<u64> {
        self.bytes
    }

    /// Runs the transfer against the TCP echo server at `addr`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a zero write size, a timeout under one
    /// microsecond (zero included) or a refused option;
    /// the errors of [`EchoClient::connect_with`](crate::EchoClient::connect_with);
    /// [`Error::SetOption`] if the connection's timeouts cannot be set. Failures during the
    /// run (a mismatch, a stall, a closed connection, a writer thread that cannot be started)
    /// are counted in the report and end it.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Bulk, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let report = Bulk::new().with_write_size(1000).with_bytes(10_500).run(addr)?;
    /// assert_eq!((report.bytes(), report.messages()), (10_500, 10));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn run<A: ToAddrs<Tcp>>(&self, addr: A) -> Result<LoadReport> {
        self.run_on_with_progress(Tcp, addr, |_| {})
    }

    /// As [`run`](Self::run), over any stream transport ([`Tcp`], [`Unix`](crate::Unix)).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), and [`Error::InvalidOption`] naming `transport` for a datagram
    /// transport: a bulk transfer is a stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Bulk, EchoServer, Unix};
    ///
    /// let path = std::env::temp_dir().join(format!("echo-bulk-{}.sock", std::process::id()));
    /// let server = EchoServer::bind_on(Unix, &path)?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let report = Bulk::new().with_bytes(1 << 20).run_on(Unix, addr)?;
    /// assert_eq!(report.bytes(), 1 << 20);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn run_on<T: Transport, A: ToAddrs<T>>(&self, transport: T, addr: A) -> Result<LoadReport> {
        self.run_on_with_progress(transport, addr, |_| {})
    }

    /// As [`run`](Self::run), calling `on_progress` about every 200 ms while echo arrives.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{Bulk, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let bulk = Bulk::new().with_duration(Duration::from_millis(300));
    /// let report = bulk.run_with_progress(addr, |progress| {
    ///     println!("{} bytes", progress.bytes());
    /// })?;
    /// assert_eq!(report.errors(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn run_with_progress<A: ToAddrs<Tcp>>(
        &self,
        addr: A,
        on_progress: impl FnMut(&Progress),
    ) -> Result<LoadReport> {
        self.run_on_with_progress(Tcp, addr, on_progress)
    }

    /// As [`run_with_progress`](Self::run_with_progress), over any stream transport.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Bulk, EchoServer, Tcp};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let mut updates = 0;
    /// let report = Bulk::new()
    ///     .with_bytes(1 << 20)
    ///     .run_on_with_progress(Tcp, addr, |_| updates += 1)?;
    /// assert_eq!(report.bytes(), 1 << 20);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn run_on_with_progress<T: Transport, A: ToAddrs<T>>(
        &self,
        transport: T,
        addr: A,
        on_progress: impl FnMut(&Progress),
    ) -> Result<LoadReport> {
        if self.write_size == 0 {
            return Err(Error::InvalidOption {
                option: "write_size",
                reason: "must be at least 1 byte".into(),
            });
        }
        self.run.check()?;
        let options = self
            .run
            .options
            .clone()
            .with_read_timeout(Some(self.run.timeout));
        let client = EchoClient::connect_on_with(transport, addr, options)?;
        let mut report = T::visit_client(
            client.socket(),
            Stream {
                bulk: self,
                on_progress,
            },
        )?;
        report.transport = T::NAME;
        Ok(report)
    }
}

/// Runs a bulk transfer on a stream connection.
struct Stream<'b, F> {
    bulk: &'b Bulk,
    on_progress: F,
}

impl<T: Transport, F: FnMut(&Progress)> ClientVisitor<T> for Stream<'_, F> {
    type Output = Result<LoadReport>;

    fn stream<C: Connection>(self, connection: &C) -> Result<LoadReport> {
        self.bulk.transfer(connection, self.on_progress)
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, _: &D) -> Result<LoadReport> {
        Err(Error::InvalidOption {
            option: "transport",
            reason: "a bulk transfer needs a stream transport (tcp or unix)".into(),
        })
    }
}

impl Bulk {
    /// Writes on one thread and reads and verifies on this one, over `connection`.
    ///
    /// Every read and write waits at most [`SLICE`], so that the run's end and the stop flag
    /// are seen promptly whatever the server does: a writer blocked by a server that does
    /// not read stops at the run's end, and an echo that trickles in (each byte restarting
    /// the silence timeout) is given up one timeout after it.
    fn transfer<C: Connection>(
        &self,
        connection: &C,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<LoadReport> {
        let mut reader = Io(connection);

        // Byte `i` of the stream is `i as u8`: any read or write starts `offset % 256` in.
        let pattern = measure::pattern(self.write_size.max(READ_SIZE).saturating_add(256))?;
        let limit = self.bytes.unwrap_or(u64::MAX);
        let counters = LoadCounters::default();
        let errors = || counters.errors().iter().sum::<u64>();
        // The totals after `received` bytes of echo, whole writes counted as messages.
        let totals = |elapsed, received: u64, lost| Progress {
            elapsed,
            messages: received / self.write_size as u64,
            bytes: received,
            errors: errors(),
            lost,
        };
        let abort = AtomicBool::new(false);
        let stop = self.run.stop.as_deref();
        let stopped = || stop.is_some_and(|stop| stop.load(Ordering::Relaxed));
        let write_size = self.write_size;
        let write_timeout = self.run.options.write_timeout();
        sliced(&reader)?;
        let start = Instant::now();
        // However the echo trickles in, it is all in one timeout after the run's end.
        let (deadline, last_echo) = self.run.ends(start);

        let mut buffer = crate::buffer::zeroed("the read buffer", READ_SIZE)?;
        let (received, lost, elapsed) = std::thread::scope(|scope| {
            let writing = std::thread::Builder::new()
                .name("echo-bulk-writer".into())
                .spawn_scoped(scope, || {
                    let mut writer = Io(connection);
                    let mut written = 0u64;
                    let mut moved = Instant::now();
                    let halted = || abort.load(Ordering::Relaxed) || stopped();
                    let ending = || Instant::now() >= deadline || halted();
                    // A write under way at the end is finished, unless the server takes
                    // nothing more until the echo is given up.
                    let cut_off =
                        || halted() || last_echo.is_some_and(|last| Instant::now() >= last);
                    // Whole writes, unless the run is stopped or cut off while one waits.
                    'writing: while written < limit && !ending() {
                        let len = (limit - written).min(write_size as u64) as usize;
                        let from = (written % 256) as usize;
                        let mut chunk = &pattern[from..from + len];
                        while !chunk.is_empty() {
                            let failed = match writer.write(chunk) {
                                Ok(0) => LoadErrorKind::Other,
                                Ok(n) => {
                                    // Taken: what the transport holds goes with the next
                                    // flush if this one cannot write it out yet.
                                    let _ = writer.flush();
                                    chunk = &chunk[n..];
                                    written += n as u64;
                                    moved = Instant::now();
                                    continue;
                                }
                                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                                Err(e) if is_timeout(&e) => {
                                    if cut_off() {
                                        break 'writing;
                                    }
                                    if write_timeout.is_none_or(|limit| moved.elapsed() < limit) {
                                        continue;
                                    }
                                    LoadErrorKind::Timeout
                                }
                                Err(e) => LoadErrorKind::of_io(&e),
                            };
                            if !abort.load(Ordering::Relaxed) {
                                counters.error(failed);
                            }
                            return None;
                        }
                    }
                    // End of stream: the server echoes what is left, then closes its side.
                    let _ = connection.shutdown_write();
                    Some(written)
                });
            let Ok(writing) = writing else {
                // No writer: nothing will be echoed; the report shows the error.
                counters.error(LoadErrorKind::Other);
                return (0, 0, start.elapsed());
            };

            let mut received = 0u64;
            let mut heard = start;
            // When the stop flag was first seen: the echo in flight then gets STOP_GRACE.
            let mut halted = None;
            let mut cut = false;
            let mut next = start + PROGRESS_EVERY;
            loop {
                match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        let from = (received % 256) as usize;
                        if buffer[..n] != pattern[from..from + n] {
                            counters.error(LoadErrorKind::Mismatch);
                            break;
                        }
                        received += n as u64;
                        heard = Instant::now();
                        if heard >= next {
                            on_progress(&totals(heard - start, received, 0));
                            next = heard + PROGRESS_EVERY;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => {
                        counters.error(LoadErrorKind::of_io(&e));
                        break;
                    }
                }
                let now = Instant::now();
                if halted.is_none() && stopped() {
                    halted = Some(now);
                }
                if halted.is_some_and(|since| now.saturating_duration_since(since) >= STOP_GRACE) {
                    cut = true;
                    break;
                }
                if now.saturating_duration_since(heard) >= self.run.timeout
                    || last_echo.is_some_and(|last| now >= last)
                {
                    counters.error(LoadErrorKind::Timeout);
                    break;
                }
            }
            let elapsed = start.elapsed();
            if errors() > 0 || cut {
                // The writer stops at its next slice.
                abort.store(true, Ordering::Relaxed);
            }
            let mut lost = 0;
            if let Ok(Some(written)) = writing.join()
                && received < written
                && errors() == 0
            {
                if cut {
                    // Stopped: the writes whose echo had not all come back are lost.
                    lost = (written - received).div_ceil(write_size as u64);
                } else {
                    // A clean end of stream before every byte written came back: the echo
                    // was cut.
                    counters.error(LoadErrorKind::Short);
                }
            }
            (received, lost, elapsed)
        });
        Ok(LoadReport {
            transport: "",
            connections: 1,
            size: write_size,
            totals: totals(elapsed, received, lost),
            errors_by_kind: counters.errors(),
            latency: Latency::default(),
        })
    }
}

/// Cuts every read and write of `connection` into waits of at most [`SLICE`].
fn sliced<S: SetTimeouts>(connection: &S) -> Result<()> {
    connection
        .set_read_timeout(Some(SLICE))
        .map_err(|source| Error::SetOption {
            option: "read_timeout",
            source,
        })?;
    connection
        .set_write_timeout(Some(SLICE))
        .map_err(|source| Error::SetOption {
            option: "write_timeout",
            source,
        })
}
