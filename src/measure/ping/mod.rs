//! `EchoClient::ping`: probes sent one after another, each timed and verified.
//!
//! The per-probe path does no allocation and no system call beyond the send and the receive:
//! the probe and reply buffers are made once per run, the sequence number is written into the
//! probe in place, and the receive timeout is set once and touched again only after a wait
//! that was cut short.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::client::EchoClient;
use crate::error::{Error, Result};
use crate::measure;
use crate::measure::summary::Latency;
use crate::transport::Transport;
use crate::transport::sealed::{ClientVisitor, Connection, Datagram};

mod run;

use run::Run;

/// How many recent probes are remembered, so that a late reply can be matched to its probe.
const WINDOW: usize = 1024;

/// The longest a pause between probes sleeps before looking at the stop flag again.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// The longest one read or write of a TCP probe waits while a stop flag is set, so that the
/// flag is seen promptly even when the server has stopped answering.
const STOP_SLICE: Duration = Duration::from_millis(100);

/// What [`EchoClient::ping`] does: how many probes, how large, how often, how long each
/// waits, and an optional flag that stops it early.
///
/// | setting | default |
/// |---|---|
/// | [`count`](Self::with_count) | 5 probes |
/// | [`size`](Self::with_size) | 64 bytes (at least 8: the probe's sequence number) |
/// | [`interval`](Self::with_interval) | 1 s from one send to the next |
/// | [`timeout`](Self::with_timeout) | 1 s per probe |
/// | [`stop`](Self::with_stop) | none |
///
/// Every probe starts with its sequence number (8 bytes, big-endian, from 0) followed by a
/// fixed pattern, so a UDP reply that comes after its probe's timeout is recognised as late
/// rather than taken as the answer to the probe being waited for.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::Ping;
///
/// let ping = Ping::new()
///     .with_count(10)
///     .with_size(128)
///     .with_interval(Duration::from_millis(200))
///     .with_timeout(Duration::from_millis(500));
/// assert_eq!(ping.count(), 10);
/// assert_eq!(ping.size(), 128);
/// ```
#[derive(Debug, Clone)]
pub struct Ping {
    count: u64,
    size: usize,
    interval: Duration,
    timeout: Duration,
    stop: Option<Arc<AtomicBool>>,
}

impl Default for Ping {
    fn default() -> Self {
        Ping::new()
    }
}

impl Ping {
    /// The defaults in the table above.
    pub const fn new() -> Self {
        Ping {
            count: 5,
            size: 64,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            stop: None,
        }
    }

    /// How many probes to send.
    pub const fn with_count(mut self, count: u64) -> Self {
        self.count = count;
        self
    }

    /// The size of each probe in bytes, at least 8 (its sequence number).
    pub const fn with_size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// The time from one send to the next. When a reply takes longer, the next probe goes
    /// as soon as the reply (or the timeout) is in. Zero sends back to back.
    pub const fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long each probe waits for its reply before it is reported [`Outcome::Lost`].
    /// Zero is refused, and so is anything under one microsecond (the resolution of socket
    /// timeouts).
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A flag that ends the run early when set (from a Ctrl-C handler, another thread…).
    ///
    /// While a flag is set, no read or write of a probe and no pause between probes waits
    /// more than 100 ms before looking at it again, so the run ends promptly even when the
    /// server has stopped answering or taking bytes. A probe sent whole and still waiting
    /// for its echo is counted [`Outcome::Lost`]; a TCP probe cut off while being written is
    /// not counted as sent.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The number of probes.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The probe size in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// The time from one send to the next.
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// How long each probe waits.
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::Relaxed))
    }
}

/// One event of a ping run, handed to the callback of [`EchoClient::ping`] as it happens.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Outcome, Ping};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let mut client = EchoClient::connect(server.local_addr())?;
/// std::thread::spawn(move || server.serve_once());
///
/// let mut seen = Vec::new();
/// client.ping(&Ping::new().with_count(2).with_interval(std::time::Duration::ZERO), |probe| {
///     seen.push((probe.seq(), probe.size(), matches!(probe.outcome(), Outcome::Reply { .. })));
/// })?;
/// assert_eq!(seen, [(0, 64, true), (1, 64, true)]);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    seq: u64,
    size: usize,
    outcome: Outcome,
}

impl Probe {
    /// The sequence number of the probe the event concerns, counted from 0. For
    /// [`Outcome::Late`] and [`Outcome::Duplicate`] it is the earlier probe's; for
    /// [`Outcome::Unexpected`], the probe being waited for.
    pub const fn seq(&self) -> u64 {
        self.seq
    }

    /// The probe size in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// What happened.
    pub const fn outcome(&self) -> Outcome {
        self.outcome
    }
}

/// What happened to a probe, or what arrived while one was waited for.
///
/// Each probe gets exactly one of `Reply`, `Lost`, `Mismatch` or `Refused`; a `Lost` one may
/// later get a `Late`. `Duplicate` and `Unexpected` are extra arrivals.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::Outcome;
///
/// let outcome = Outcome::Reply { rtt: Duration::from_micros(70) };
/// assert!(outcome.is_reply());
/// assert!(!Outcome::Lost.is_reply());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The probe's echo came back in time and equals what was sent.
    Reply {
        /// From the send to the last byte of the echo.
        rtt: Duration,
    },
    /// No verified reply within the timeout.
    Lost,
    /// The verified echo of a probe already reported [`Lost`](Self::Lost) arrived while a
    /// later probe was waited for.
    Late {
        /// From the probe's send to its echo.
        rtt: Duration,
    },
    /// The reply differs from the probe (a byte, or for UDP its length): an error, never a
    /// success. It ends the probe's wait.
    Mismatch {
        /// The first differing byte (or the shorter length).
        offset: usize,
    },
    /// UDP: a verified reply to a probe already answered, or older than the last 1,024.
    Duplicate,
    /// UDP: a datagram that names no probe sent (damaged in its sequence number, or too
    /// short to carry one); an error. The wait for the current probe goes on.
    Unexpected {
        /// The datagram's length.
        len: usize,
    },
    /// UDP: the system reported that nothing listens at the server's address (an ICMP port
    /// unreachable). Counted as lost.
    Refused,
}

impl Outcome {
    /// True for [`Outcome::Reply`]: the only outcome counted as received.
    pub const fn is_reply(&self) -> bool {
        matches!(self, Outcome::Reply { .. })
    }
}

/// What a ping run counts of its probes: kept by the run as it goes, and handed whole to its
/// [`PingSummary`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProbeCounts {
    pub(super) sent: u64,
    pub(super) received: u64,
    pub(super) lost: u64,
    pub(super) late: u64,
    pub(super) errors: u64,
    pub(super) duplicates: u64,
}

impl ProbeCounts {
    /// Counts what became of a probe (its sending is counted where it goes).
    pub(super) fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Reply { .. } => self.received += 1,
            Outcome::Lost | Outcome::Refused => self.lost += 1,
            Outcome::Late { .. } => self.late += 1,
            Outcome::Mismatch { .. } | Outcome::Unexpected { .. } => self.errors += 1,
            Outcome::Duplicate => self.duplicates += 1,
        }
    }
}

/// The totals of a ping run, and its round-trip statistics.
///
/// `sent = received + lost + mismatched`, where `lost` counts timed-out and refused probes
/// (including those whose reply came [`late`](Self::late)) and a mismatched probe is one of
/// the [`errors`](Self::errors); when an [`error`](Self::error) ends the run, the probe it
/// cut off is in none of them (`sent − received` counts every probe without its echo).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{EchoClient, EchoServer, Ping, Udp};
///
/// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
/// let mut client = EchoClient::connect_on(Udp, server.local_addr())?;
/// std::thread::spawn(move || {
///     for _ in 0..4 {
///         server.serve_once()?;
///     }
///     Ok::<_, socket_echo::Error>(())
/// });
///
/// let summary = client.ping(&Ping::new().with_count(4).with_interval(Duration::ZERO), |_| {})?;
/// assert_eq!((summary.sent(), summary.received(), summary.lost()), (4, 4, 0));
/// assert_eq!(summary.loss_percent(), 0.0);
/// assert!(summary.error().is_none() && !summary.stopped());
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug)]
pub struct PingSummary {
    counts: ProbeCounts,
    latency: Latency,
    elapsed: Duration,
    stopped: bool,
    error: Option<Error>,
}

impl PingSummary {
    /// Probes sent.
    pub const fn sent(&self) -> u64 {
        self.counts.sent
    }

    /// Probes whose verified echo came back in time.
    pub const fn received(&self) -> u64 {
        self.counts.received
    }

    /// Probes with no reply in time (timed out or refused).
    pub const fn lost(&self) -> u64 {
        self.counts.lost
    }

    /// Lost probes whose verified echo arrived later.
    pub const fn late(&self) -> u64 {
        self.counts.late
    }

    /// Replies that differed from what was sent, and datagrams that named no probe.
    pub const fn errors(&self) -> u64 {
        self.counts.errors
    }

    /// UDP replies to probes already answered.
    pub const fn duplicates(&self) -> u64 {
        self.counts.duplicates
    }

    /// The share of probes sent that got no verified reply in time, in percent (0 when none
    /// was sent).
    pub fn loss_percent(&self) -> f64 {
        let ProbeCounts { sent, received, .. } = self.counts;
        if sent == 0 {
            return 0.0;
        }
        (sent - received) as f64 * 100.0 / sent as f64
    }

    /// Round-trip statistics of the replies received in time.
    pub const fn latency(&self) -> Latency {
        self.latency
    }

    /// From the first send to the end of the run.
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// True if the stop flag ended the run before every probe was sent.
    pub const fn stopped(&self) -> bool {
        self.stopped
    }

    /// The error that ended the run early (the connection closed, a send failed), if any.
    /// Everything counted before it is kept.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Takes the error that ended the run early, if any.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }
}

impl<T: Transport> EchoClient<T> {
    /// Sends [`Ping::count`] probes one after another, reports each event to `on_probe` as it
    /// happens, and returns the totals.
    ///
    /// - TCP: each probe is written while its echo is read, never more than a window of bytes
    ///   in flight (as [`echo`](Self::echo) does, so a 16 MB probe goes through), and the echo
    ///   is compared as it comes; replies come in order on the connection, so an echo that
    ///   misses its timeout is read (and reported [`Outcome::Late`]) before the next probe's.
    ///   The probe's [timeout](Ping::with_timeout) bounds its writing too: a probe not
    ///   written whole in time ends the run with [`Error::Deadline`], and a write that waits
    ///   the client's whole [`write_timeout`](crate::Options::with_write_timeout) first, with
    ///   [`Error::Timeout`] naming it.
    /// - UDP: each probe is one datagram; replies are matched to probes by the sequence
    ///   number they carry, so a late reply is never taken for the current probe's.
    ///
    /// The run ends after the last probe, when the [`stop`](Ping::with_stop) flag is seen, or
    /// at an error that leaves nothing to measure (the server closed the connection, a send
    /// failed, more than 1,024 TCP replies outstanding): the summary then holds that error
    /// and everything counted before it. The client's read timeout is restored afterwards.
    ///
    /// After a TCP run with lost probes their echoes may still arrive; [`echo`](Self::echo)
    /// on the same client would then refuse to send ([`Error::Surplus`]), so connect anew.
    ///
    /// # Errors
    ///
    /// Returned only when the run cannot start or end cleanly: [`Error::InvalidOption`] for a
    /// size under 8 bytes or a zero timeout, [`Error::DatagramTooLarge`] for a UDP probe over
    /// the datagram limit, [`Error::SetOption`] if the receive timeout cannot be set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, EchoServer, Ping};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// let mut client = EchoClient::connect(addr)?;
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let ping = Ping::new().with_count(3).with_interval(Duration::from_millis(10));
    /// let summary = client.ping(&ping, |probe| {
    ///     if let socket_echo::Outcome::Reply { rtt } = probe.outcome() {
    ///         println!("{} bytes from {addr}: seq={} time={:.3} ms",
    ///                  probe.size(), probe.seq(), rtt.as_secs_f64() * 1e3);
    ///     }
    /// })?;
    /// assert_eq!(summary.received(), 3);
    /// println!("rtt {}", summary.latency());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn ping(&mut self, ping: &Ping, on_probe: impl FnMut(&Probe)) -> Result<PingSummary> {
        measure::check_size("size", ping.size)?;
        measure::check_timeout("timeout", ping.timeout)?;
        crate::options::check_duration("interval", ping.interval)?;
        let restore = self.options().read_timeout();
        let write_timeout = self.options().write_timeout();
        let peer = self.peer_addr();
        let socket = self.socket();
        T::visit_client(
            socket,
            measure::Fits::<T> {
                peer: &peer,
                len: ping.size,
            },
        )?;
        let mut run = Run::new(ping, peer.into(), on_probe)?;
        measure::set_read_timeout(socket, Some(run.sliced(ping.timeout)))?;
        let outcome = T::visit_client(
            socket,
            Probes::<T, _> {
                run: &mut run,
                write_timeout,
                _transport: std::marker::PhantomData,
            },
        );
        let mut summary = run.finish(outcome.err());
        if let Err(error) = measure::set_read_timeout(socket, restore) {
            summary.error.get_or_insert(error);
        }
        Ok(summary)
    }
}

/// Runs the probes of a ping over a client socket of either kind.
struct Probes<'r, 'p, T: Transport, F> {
    run: &'r mut Run<'p, F>,
    write_timeout: Option<Duration>,
    _transport: std::marker::PhantomData<T>,
}

impl<T: Transport, F: FnMut(&Probe)> ClientVisitor<T> for Probes<'_, '_, T, F> {
    type Output = Result<()>;

    fn stream<C: Connection>(self, connection: &C) -> Result<()> {
        self.run.stream(connection, self.write_timeout)
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Result<()> {
        self.run.datagram(socket)
    }
}
