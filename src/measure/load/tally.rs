//! What the load threads share and count into: the run's limits, each thread's counters,
//! and the round trips gathered in batches before they are merged into one histogram.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::kind::{KINDS, LoadErrorKind};
use super::pace::{Pacer, Schedule};
use crate::measure::summary::RttRecorder;

/// Round trips kept by a thread before they are merged into the shared histogram.
const BATCH: usize = 256;

/// How long the messages in flight when a run is stopped may still take to come back
/// before they are counted lost: long enough for a healthy server's echoes, short enough
/// that a stop ends a run within 100 ms whatever the server does.
pub(crate) const STOP_GRACE: Duration = Duration::from_millis(50);

/// What every load thread reads.
pub(super) struct Shared<'a> {
    pub(super) size: usize,
    pub(super) deadline: Instant,
    /// The run's end plus one timeout: a message still in flight then has taken too long,
    /// however its echo trickles in. `None` past what an `Instant` can hold.
    pub(super) last_echo: Option<Instant>,
    pub(super) messages: u64,
    pub(super) timeout: Duration,
    pub(super) stop: Option<&'a AtomicBool>,
    /// The open loop's schedule; `None` for a closed loop.
    pub(super) schedule: Option<Schedule>,
    pub(super) abort: AtomicBool,
    pub(super) recorder: Mutex<RttRecorder>,
}

impl Shared<'_> {
    /// Whether a connection that has sent `sent` messages may send no more.
    pub(super) fn done(&self, now: Instant, sent: u64) -> bool {
        now >= self.deadline
            || sent >= self.messages
            || self.abort.load(Ordering::Relaxed)
            || self.stop.is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    /// Whether the run is to end now, messages in flight or not: the stop flag is set, or
    /// another thread failed.
    pub(super) fn halted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
            || self.stop.is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    /// Whether the messages still in flight at `now` are to be given up: [`STOP_GRACE`]
    /// after this thread first saw the run halted (`since` remembers when), so that a
    /// healthy server's echoes in flight still come in; or past the run's end plus one
    /// timeout.
    pub(super) fn give_up(&self, now: Instant, since: &mut Option<Instant>) -> Ending {
        if since.is_none() && self.halted() {
            *since = Some(now);
        }
        if since.is_some_and(|since| now.saturating_duration_since(since) >= STOP_GRACE) {
            return Ending::Halted;
        }
        if self.last_echo.is_some_and(|last| now >= last) {
            return Ending::Overdue;
        }
        Ending::Running
    }

    /// When message `k` of connection `connection` may go: `now` in a closed loop, its due
    /// time in an open one; `None` if it never may.
    pub(super) fn due(&self, now: Instant, connection: u64, k: u64) -> Option<Instant> {
        match self.schedule {
            None => Some(now),
            Some(schedule) => schedule.due(connection, k),
        }
    }

    pub(super) fn merge(&self, samples: &[u64]) {
        let mut recorder = self.recorder.lock().unwrap_or_else(PoisonError::into_inner);
        for &ns in samples {
            recorder.record_ns(ns);
        }
    }
}

/// Where one connection (or datagram socket) of a load thread is in its run: its place in
/// the schedule, the messages it has sent, when the one in flight was due, and whether it
/// waits for the next to be due or is done. The stream and the datagram loops keep one each.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    /// The connection's run-wide number, its place in the open loop's schedule.
    pub(super) index: u64,
    /// Messages sent so far, echoed or not (the count bound applies to them); the one in
    /// flight, if any, is number `sent_count - 1`.
    pub(super) sent_count: u64,
    /// When the message in flight was due (closed loop: sent), what its round trip counts
    /// from; while idle, when the next one is due.
    pub(super) sent: Instant,
    /// Open loop: the next message is not yet due (it is due at `sent`); the connection
    /// waits in the pacer.
    pub(super) idle: bool,
    pub(super) finished: bool,
}

impl Place {
    /// Connection `index`, nothing sent yet at `now`.
    pub(super) fn new(index: u64, now: Instant) -> Self {
        Place {
            index,
            sent_count: 0,
            sent: now,
            idle: false,
            finished: false,
        }
    }

    /// Takes the next message if it may go at `now`: true, and it is counted sent, its round
    /// trip counting from when it was due (behind schedule, the wait behind a slow echo is
    /// the server's doing). False if the connection may send no more (it is finished) or,
    /// in an open loop, if the message is not yet due (it is idle until then).
    pub(super) fn take_next(&mut self, now: Instant, shared: &Shared<'_>) -> bool {
        let Some(due) = shared.due(now, self.index, self.sent_count) else {
            self.finished = true;
            return false;
        };
        if shared.done(now.max(due), self.sent_count) {
            self.finished = true;
            return false;
        }
        self.sent = due;
        if due > now {
            self.idle = true;
            return false;
        }
        self.sent_count += 1;
        true
    }

    /// After connection `i` has moved: one fewer `active` if it finished, into the pacer if
    /// it is idle, waiting for its next message to be due.
    pub(super) fn settle(&self, i: usize, pacer: &mut Pacer, active: &mut usize) {
        if self.finished {
            *active -= 1;
        } else if self.idle {
            pacer.push(self.sent, i);
        }
    }
}

/// What becomes of the messages in flight, from [`Shared::give_up`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// They go on.
    Running,
    /// The run was stopped: each is counted lost, and the thread ends.
    Halted,
    /// The run's end and one timeout have passed: each is a timeout.
    Overdue,
}

/// The totals of one thread, written by it alone and read by the progress reports. Each
/// sits on its own cache lines so threads do not slow each other down.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct LoadCounters {
    pub(crate) messages: AtomicU64,
    /// Errors by kind, at the index of [`LoadErrorKind::index`].
    pub(crate) errors: [AtomicU64; KINDS],
    pub(crate) lost: AtomicU64,
}

impl LoadCounters {
    /// Counts an error. Errors are rare, and a bulk run counts them from two threads, so
    /// this is a locked add rather than the owner's plain store.
    pub(crate) fn error(&self, kind: LoadErrorKind) {
        self.errors[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The errors so far, by kind.
    pub(crate) fn errors(&self) -> [u64; KINDS] {
        self.errors
            .each_ref()
            .map(|count| count.load(Ordering::Relaxed))
    }
}

/// One writer per counter, so a plain store of the thread's own count is enough.
pub(super) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Round trips gathered by one thread, merged into the shared histogram when full.
pub(super) struct RttBatch<'s, 'a> {
    pub(super) shared: &'s Shared<'a>,
    pub(super) samples: [u64; BATCH],
    pub(super) len: usize,
}

impl<'s, 'a> RttBatch<'s, 'a> {
    pub(super) fn new(shared: &'s Shared<'a>) -> Self {
        RttBatch {
            shared,
            samples: [0; BATCH],
            len: 0,
        }
    }

    #[inline]
    pub(super) fn record(&mut self, rtt: Duration) {
        self.samples[self.len] = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
        self.len += 1;
        if self.len == BATCH {
            self.flush();
        }
    }

    pub(super) fn flush(&mut self) {
        self.shared.merge(&self.samples[..self.len]);
        self.len = 0;
    }
}

impl Drop for RttBatch<'_, '_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// What one load thread counts into, and where its round trips go.
pub(super) struct Tally<'s, 'a> {
    pub(super) shared: &'s Shared<'a>,
    pub(super) counters: &'s LoadCounters,
    pub(super) batch: RttBatch<'s, 'a>,
    /// The run-wide number of this thread's first connection, and the step to its next
    /// (connection `i` of the run goes to thread `i % threads`).
    pub(super) first: u64,
    pub(super) stride: u64,
}

impl<'s, 'a> Tally<'s, 'a> {
    pub(super) fn new(
        shared: &'s Shared<'a>,
        counters: &'s LoadCounters,
        first: usize,
        stride: usize,
    ) -> Self {
        Tally {
            shared,
            counters,
            batch: RttBatch::new(shared),
            first: first as u64,
            stride: stride as u64,
        }
    }

    /// The run-wide number of this thread's connection `local`.
    pub(super) fn connection(&self, local: usize) -> u64 {
        self.first + local as u64 * self.stride
    }
}
