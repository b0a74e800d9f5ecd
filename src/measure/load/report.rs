//! What a load run reports: [`Progress`] while it runs, [`LoadReport`] at the end.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::kind::{KINDS, LoadErrorKind};
use super::tally::LoadCounters;
use crate::measure::summary::Latency;

/// The totals of a run so far, as [`Load::run_with_progress`](crate::Load::run_with_progress) and
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
    pub(super) fn sum(elapsed: Duration, size: usize, counters: &[LoadCounters]) -> Self {
        let mut progress = Progress {
            elapsed,
            ..Progress::default()
        };
        for counters in counters {
            progress.messages += counters.messages.load(Ordering::Relaxed);
            progress.errors += counters.errors().iter().sum::<u64>();
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

    /// Messages lost so far: see [`LoadReport::lost`].
    pub const fn lost(&self) -> u64 {
        self.lost
    }
}

/// The result of a [`Load`](crate::Load) or [`Bulk`](crate::Bulk) run.
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
    /// The totals, as the last progress report would give them.
    pub(crate) totals: Progress,
    pub(crate) errors_by_kind: [u64; KINDS],
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
        self.totals.elapsed
    }

    /// Messages (or bulk writes) echoed and verified.
    pub const fn messages(&self) -> u64 {
        self.totals.messages
    }

    /// Bytes echoed and verified.
    pub const fn bytes(&self) -> u64 {
        self.totals.bytes
    }

    /// Replies that differed, connections that closed or stalled, sends that failed: the sum
    /// of [`errors_of`](Self::errors_of) over every kind.
    pub const fn errors(&self) -> u64 {
        self.totals.errors
    }

    /// The errors of one kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoServer, Load, LoadErrorKind, Udp};
    ///
    /// // A port with nothing bound any more: each send is answered by an ICMP port unreachable.
    /// let addr = EchoServer::bind_on(Udp, "127.0.0.1:0")?.local_addr();
    /// let report = Load::new()
    ///     .with_connections(1)
    ///     .with_messages(3)
    ///     .with_timeout(Duration::from_millis(200))
    ///     .run(Udp, addr)?;
    /// assert!(report.errors_of(LoadErrorKind::Refused) > 0);
    /// assert_eq!(report.errors_of(LoadErrorKind::Mismatch), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn errors_of(&self, kind: LoadErrorKind) -> u64 {
        self.errors_by_kind[kind.index()]
    }

    /// UDP messages with no echo in time, and messages (for [`Bulk`](crate::Bulk), writes)
    /// whose echo was still on its way when a stop flag ended the run. Not errors.
    pub const fn lost(&self) -> u64 {
        self.totals.lost
    }

    /// Round-trip statistics (empty for [`Bulk`](crate::Bulk), which has no round trips).
    pub const fn latency(&self) -> Latency {
        self.latency
    }

    /// Verified messages per second.
    pub fn messages_per_sec(&self) -> f64 {
        rate(self.totals.messages, self.totals.elapsed)
    }

    /// Verified megabytes (10⁶ bytes) per second.
    pub fn megabytes_per_sec(&self) -> f64 {
        rate(self.totals.bytes, self.totals.elapsed) / 1e6
    }
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}
