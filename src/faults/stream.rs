//! Stream faults: what a connection's echo goes through when a fault applies to it.
//!
//! A connection under a fault gets a [`Shaped`] state: its plan (which faults it drew), the
//! bytes it read and has not echoed yet, and when each of them may go. The state machine is
//! the same for the event loop of `serve()` ([`Worker`], driven by readiness and timers) and
//! for the blocking `serve_once` (`blocking.rs`, which sleeps instead). It never holds more than
//! [`max_pending`](crate::Options::with_max_pending) bytes: while they are held, the
//! connection is not read, as for bytes a slow peer has not taken.

use std::cmp::{Reverse, min};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::ErrorKind;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::jitter::Jitter;
use super::{Active, FaultKind, Rng, Switch};
use crate::addr::Address;
use crate::stats::Counters;
use crate::transport::sealed::{Connection, SessionFaults};

mod blocking;

pub(crate) use blocking::{once, serve};

/// Reads one connection may make per turn, as in the engine.
const READS_PER_TURN: u32 = 16;

/// The most release times kept per connection; past it, new bytes join the last one (and
/// the bytes already there wait as long as the new ones: later, never earlier).
const MAX_MARKS: usize = 1024;

/// The first stream of the generator for connections that were already open when the faults
/// were set (those accepted afterwards use their index).
const LIVE_STREAMS: u64 = 1 << 63;

/// A token bucket: `rate` bytes a second, at most 10 ms of them saved up.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: u64,
    capacity: u64,
    tokens: u64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: u64, now: Instant) -> Self {
        let capacity = (rate / 100).max(1);
        Bucket {
            rate,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    fn available(&mut self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        let earned = elapsed * u128::from(self.rate) / 1_000_000_000;
        if earned > 0 {
            let earned = u64::try_from(earned).unwrap_or(u64::MAX);
            self.tokens = self.tokens.saturating_add(earned).min(self.capacity);
            if self.tokens == self.capacity {
                self.last = now;
            } else {
                // Only the time the tokens were earned in is used up; the rest still counts.
                let used = u128::from(earned) * 1_000_000_000 / u128::from(self.rate);
                self.last += Duration::from_nanos(u64::try_from(used).unwrap_or(u64::MAX));
            }
        }
        self.tokens
    }

    fn spend(&mut self, n: u64) {
        self.tokens = self.tokens.saturating_sub(n);
    }

    /// When `want` tokens (at most a full bucket) will be there.
    fn ready_at(&self, want: u64) -> Instant {
        let need = want.clamp(1, self.capacity).saturating_sub(self.tokens);
        let nanos = u128::from(need) * 1_000_000_000 / u128::from(self.rate) + 1;
        self.last + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// How a connection's echo ends by a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Stall,
    Close,
    Reset,
    Blackhole,
}

/// The faults one connection drew. Byte offsets are counted from `base` (the bytes read
/// before the faults applied to the connection are not counted).
#[derive(Debug, Default)]
struct Plan {
    /// The delay's draws, and the offset from which bytes are delayed.
    delay: Option<(Jitter, u64)>,
    /// Slice size, pause, and the offset from which the echo is sliced.
    slice: Option<(usize, Duration, u64)>,
    /// Rate, and the offset from which it applies.
    rate: Option<(u64, u64)>,
    /// The shared rate, and the offset from which it applies.
    shared_rate: Option<(u64, u64)>,
    /// The offset at which the echo ends, and how.
    end: Option<(u64, End)>,
    reset_at: Option<Instant>,
    /// When `close-in` shuts the write side.
    close_at: Option<Instant>,
    /// How long `slow-close` holds back every end.
    slow_close: Option<Duration>,
    start_at: Option<Instant>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.delay.is_none()
            && self.slice.is_none()
            && self.rate.is_none()
            && self.shared_rate.is_none()
            && self.end.is_none()
            && self.reset_at.is_none()
            && self.close_at.is_none()
            && self.slow_close.is_none()
            && self.start_at.is_none()
    }
}

/// What the faults do with a connection.
pub(crate) enum Verdict {
    /// Nothing: it is echoed as usual.
    Plain,
    /// It is closed at once.
    Close,
    /// Its echo goes through this state.
    Shaped(Box<Shaped>),
}

/// Draws the faults of one connection: `index` is its place among the connections accepted
/// since the faults were set (`None` for one that was open already), `stream` the generator
/// stream its choices come from. With the verdict come the faults its transport applies
/// itself (TLS's), drawn only for a connection just accepted: a session already under way
/// is past its handshake and its certificate.
fn decide(
    active: &Arc<Active>,
    index: Option<u64>,
    stream: u64,
    peer: Option<&Address>,
    now: Instant,
    counters: &Counters,
) -> (Verdict, SessionFaults) {
    let mut rng = Rng::new(active.faults.seed(), stream);
    let mut plan = Plan::default();
    let mut session = SessionFaults::default();
    for fault in active.faults.faults() {
        if !fault.kind().applies_to_stream() || !fault.selects(index, peer) {
            continue;
        }
        if !rng.chance(fault.probability()) {
            continue;
        }
        let after = fault.after();
        let mut end = |limit: u64, how: End| {
            let limit = after.saturating_add(limit);
            if plan.end.is_none_or(|(first, _)| limit < first) {
                plan.end = Some((limit, how));
            }
        };
        match fault.kind() {
            FaultKind::Delay { .. } if plan.delay.is_none() => {
                plan.delay = fault.jitter().map(|jitter| (jitter, after));
            }
            FaultKind::Slice { size, pause } => {
                plan.slice.get_or_insert((size, pause, after));
            }
            FaultKind::Rate { bytes_per_second } => {
                plan.rate.get_or_insert((bytes_per_second, after));
            }
            FaultKind::SharedRate { bytes_per_second } => {
                plan.shared_rate.get_or_insert((bytes_per_second, after));
            }
            FaultKind::StallAfter { bytes } => end(bytes, End::Stall),
            FaultKind::CloseAfter { bytes } => end(bytes, End::Close),
            FaultKind::ResetAfter { bytes } => end(bytes, End::Reset),
            FaultKind::ResetAfterTime { time } => {
                let at = now + time;
                plan.reset_at = Some(plan.reset_at.map_or(at, |first| first.min(at)));
            }
            FaultKind::CloseAfterTime { time } => {
                let at = now + time;
                plan.close_at = Some(plan.close_at.map_or(at, |first| first.min(at)));
            }
            FaultKind::SlowClose { delay } => {
                plan.slow_close.get_or_insert(delay);
            }
            FaultKind::Blackhole => end(0, End::Blackhole),
            // What happens at the accept does not apply to a connection already open.
            FaultKind::AcceptClose if index.is_some() => {
                counters.faults.accept_closed.add(1);
                return (Verdict::Close, SessionFaults::default());
            }
            FaultKind::AcceptDelay { delay } if index.is_some() && plan.start_at.is_none() => {
                counters.faults.accept_delayed.add(1);
                plan.start_at = Some(now + delay);
            }
            FaultKind::TlsStall { at } if index.is_some() && session.stall.is_none() => {
                counters.faults.tls_stalled.add(1);
                session.stall = Some(at);
            }
            FaultKind::TlsReset if index.is_some() && !session.reset => {
                counters.faults.tls_reset.add(1);
                session.reset = true;
            }
            FaultKind::TlsCertificate { certificate }
                if index.is_some() && session.certificate.is_none() =>
            {
                counters.faults.tls_bad_certificates.add(1);
                session.certificate = Some(certificate);
            }
            FaultKind::TlsTruncate { bytes } if index.is_some() => {
                if !session.truncate {
                    counters.faults.tls_truncated.add(1);
                    session.truncate = true;
                }
                if let Some(bytes) = bytes {
                    end(bytes, End::Close);
                }
            }
            _ => {}
        }
    }
    if plan.is_empty() {
        return (Verdict::Plain, session);
    }
    let shaped = Shaped::new(plan, rng, Arc::clone(active));
    (Verdict::Shaped(Box::new(shaped)), session)
}

/// A run of held bytes that may be echoed from `at` on: those up to offset `end`.
#[derive(Debug, Clone, Copy)]
struct Mark {
    end: u64,
    at: Instant,
}

/// Where a shaped connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Echoing.
    Open,
    /// The write side was shut by `close-after`; what the peer still sends is dropped.
    Closing,
    /// Neither read nor written again.
    Stalled,
    /// Read and discarded by `blackhole`, never answered.
    Blackhole,
}

/// What a shaped connection may write next.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The first `n` bytes of [`Shaped::front`].
    Write(usize),
    /// Nothing before this time.
    Wait(Instant),
    /// Nothing is held.
    Idle,
}

/// The state of one connection under faults.
#[derive(Debug)]
pub(crate) struct Shaped {
    plan: Plan,
    rng: Rng,
    active: Arc<Active>,
    /// Bytes read, and bytes echoed, since the connection was first shaped.
    received: u64,
    echoed: u64,
    /// `received` when the plan was drawn: the plan's offsets count from here.
    base: u64,
    held: VecDeque<u8>,
    marks: VecDeque<Mark>,
    /// Bytes left in the current slice.
    slice_left: usize,
    /// The end of the pause after a slice.
    next_write: Option<Instant>,
    bucket: Option<Bucket>,
    phase: Phase,
    /// The peer has shut its write side.
    eof: bool,
    /// The earliest time the connection must be driven again, found during a drive.
    wake: Option<Instant>,
    /// When the end held back by `slow-close` may come, once an end was reached.
    end_at: Option<Instant>,
}

impl Shaped {
    fn new(plan: Plan, rng: Rng, active: Arc<Active>) -> Self {
        let slice_left = plan.slice.map_or(0, |(size, _, _)| size);
        Shaped {
            plan,
            rng,
            active,
            received: 0,
            echoed: 0,
            base: 0,
            held: VecDeque::new(),
            marks: VecDeque::new(),
            slice_left,
            next_write: None,
            bucket: None,
            phase: Phase::Open,
            eof: false,
            wake: None,
            end_at: None,
        }
    }

    /// Takes the plan of `other` (drawn after a change of faults) for the bytes read from
    /// now on; the bytes held keep their release times.
    fn replan(&mut self, other: Shaped) {
        self.slice_left = other.slice_left;
        self.plan = other.plan;
        self.rng = other.rng;
        self.active = other.active;
        self.base = self.received;
        self.bucket = None;
        self.next_write = None;
    }

    /// True once the connection needs no state any more: no fault, nothing held.
    fn is_plain(&self) -> bool {
        self.plan.is_empty() && self.held.is_empty() && self.phase == Phase::Open && !self.eof
    }

    fn wake_at(&mut self, at: Instant) {
        self.wake = Some(self.wake.map_or(at, |first| first.min(at)));
    }

    /// With `slow-close`, holds back an end the connection has reached: true while it must
    /// wait (the connection is then driven again when it may end).
    fn holds_end(&mut self, now: Instant, counters: &Counters) -> bool {
        let Some(delay) = self.plan.slow_close else {
            return false;
        };
        let at = match self.end_at {
            Some(at) => at,
            None => {
                counters.faults.slow_closed.add(1);
                *self.end_at.insert(now + delay)
            }
        };
        if now < at {
            self.wake_at(at);
            return true;
        }
        false
    }

    /// The offset `offset` bytes past `base`, saturating: a count at the top of `u64`
    /// (`after=18446744073709551615`) is never reached, where a sum would overflow.
    fn past_base(&self, offset: u64) -> u64 {
        self.base.saturating_add(offset)
    }

    /// How many bytes may be read now.
    fn room(&self, max_pending: usize, now: Instant) -> usize {
        if self.phase != Phase::Open || self.eof || self.plan.start_at.is_some_and(|at| now < at) {
            return 0;
        }
        let mut room = max_pending.saturating_sub(self.held.len());
        if let Some((limit, _)) = self.plan.end {
            let left = (self.past_base(limit)).saturating_sub(self.received);
            room = min(room, usize::try_from(left).unwrap_or(usize::MAX));
        }
        room
    }

    /// Holds bytes just read, each run with the time it may be echoed.
    fn take(&mut self, data: &[u8], now: Instant, counters: &Counters) {
        let start = self.received;
        let end = start + data.len() as u64;
        self.received = end;
        self.held.extend(data);
        match &mut self.plan.delay {
            // `past_base`, spelt out: the match holds `plan` borrowed.
            Some((jitter, after)) if end > self.base.saturating_add(*after) => {
                let from = self.base.saturating_add(*after);
                let delay = jitter.draw(&mut self.rng);
                if start < from {
                    self.mark(from, now);
                }
                counters.faults.delayed.add(1);
                self.mark(end, now + delay);
            }
            _ => self.mark(end, now),
        }
    }

    fn mark(&mut self, end: u64, at: Instant) {
        // A stream keeps its order: nothing is released before what was read before it.
        let at = self.marks.back().map_or(at, |last| at.max(last.at));
        let full = self.marks.len() >= MAX_MARKS;
        if let Some(last) = self.marks.back_mut()
            && (last.at == at || full)
        {
            last.end = end;
            last.at = at;
            return;
        }
        self.marks.push_back(Mark { end, at });
    }

    /// The held bytes that come first, in one piece.
    fn front(&self) -> &[u8] {
        self.held.as_slices().0
    }

    /// What may be written now.
    fn next(&mut self, now: Instant, counters: &Counters) -> Next {
        if self.held.is_empty() {
            return Next::Idle;
        }
        while self.marks.front().is_some_and(|m| m.end <= self.echoed) {
            self.marks.pop_front();
        }
        let released = self
            .marks
            .iter()
            .take_while(|m| m.at <= now)
            .last()
            .map_or(self.echoed, |m| m.end);
        if released == self.echoed {
            return match self.marks.front() {
                Some(mark) => Next::Wait(mark.at),
                // Cannot happen: marks cover every held byte. Write rather than hold forever.
                None => Next::Write(self.front().len()),
            };
        }
        if let Some(at) = self.next_write
            && now < at
        {
            return Next::Wait(at);
        }
        let mut n = (released - self.echoed).min(self.front().len() as u64);
        if let Some((_, _, after)) = self.plan.slice {
            n = match (self.past_base(after)).checked_sub(self.echoed) {
                Some(left) if left > 0 => n.min(left),
                _ => n.min(self.slice_left as u64),
            };
        }
        if let Some((rate, after)) = self.plan.rate {
            match (self.past_base(after)).checked_sub(self.echoed) {
                Some(left) if left > 0 => n = n.min(left),
                _ => {
                    let bucket = self.bucket.get_or_insert_with(|| Bucket::new(rate, now));
                    let available = bucket.available(now);
                    if available == 0 {
                        counters.faults.rate_limited.add(1);
                        return Next::Wait(bucket.ready_at(n));
                    }
                    n = n.min(available);
                }
            }
        }
        if let Some((rate, after)) = self.plan.shared_rate {
            match (self.past_base(after)).checked_sub(self.echoed) {
                Some(left) if left > 0 => n = n.min(left),
                _ => {
                    let mut shared = self
                        .active
                        .shared_rate
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    let bucket = shared.get_or_insert_with(|| Bucket::new(rate, now));
                    let available = bucket.available(now);
                    if available == 0 {
                        counters.faults.rate_limited.add(1);
                        return Next::Wait(bucket.ready_at(n));
                    }
                    n = n.min(available);
                }
            }
        }
        Next::Write(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Records that `m` bytes of the front were written.
    fn wrote(&mut self, m: usize, now: Instant, counters: &Counters) {
        let start = self.echoed;
        self.held.drain(..m);
        self.echoed += m as u64;
        if let Some((size, pause, after)) = self.plan.slice
            && start >= self.past_base(after)
        {
            self.slice_left = self.slice_left.saturating_sub(m);
            if self.slice_left == 0 {
                self.slice_left = size;
                counters.faults.sliced.add(1);
                self.next_write = Some(now + pause);
            }
        }
        if self
            .plan
            .rate
            .is_some_and(|(_, after)| start >= self.past_base(after))
            && let Some(bucket) = self.bucket.as_mut()
        {
            bucket.spend(m as u64);
        }
        if self
            .plan
            .shared_rate
            .is_some_and(|(_, after)| start >= self.past_base(after))
        {
            let mut shared = self
                .active
                .shared_rate
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(bucket) = shared.as_mut() {
                bucket.spend(m as u64);
            }
        }
    }

    /// The end the connection has reached, if any: every byte before its limit was echoed.
    fn reached_end(&self) -> Option<End> {
        self.plan
            .end
            .filter(|(limit, _)| self.echoed >= self.past_base(*limit))
            .map(|(_, how)| how)
    }

    /// What a connection whose echo a fault ended (closed, stalled or black-holed) does
    /// instead; `None` while it is still echoed. What it still reads goes to `tap`.
    fn after_end<S: Connection>(
        &self,
        stream: &S,
        scratch: &mut [u8],
        counters: &Counters,
        activity: (&mut u32, u32),
        tap: &mut impl FnMut(&[u8]),
    ) -> Option<Step> {
        let at_eof = match self.phase {
            Phase::Open => return None,
            Phase::Stalled => return Some(Step::Wait),
            Phase::Closing => Step::Finished,
            // The client's end-of-stream is not answered either.
            Phase::Blackhole => Step::Wait,
        };
        Some(discard(stream, scratch, counters, activity, at_eof, tap))
    }

    /// Echoes what the faults let through until the socket would block, the turn is over,
    /// or the connection ends. `tap` is given every byte read, in order, whether echoed or
    /// dropped by the fault (as the engine's own drive gives its tap).
    fn drive<S: Connection>(
        &mut self,
        stream: &S,
        scratch: &mut [u8],
        counters: &Counters,
        max_pending: usize,
        activity: (&mut u32, u32),
        tap: &mut impl FnMut(&[u8]),
    ) -> Step {
        let (last_active, clock) = activity;
        let now = Instant::now();
        if let Some(at) = self.plan.reset_at {
            if now >= at {
                if self.holds_end(now, counters) {
                    return Step::Wait;
                }
                counters.faults.reset.add(1);
                reset(stream);
                return Step::Finished;
            }
            self.wake_at(at);
        }
        if let Some(at) = self.plan.close_at
            && self.phase == Phase::Open
        {
            if now < at {
                self.wake_at(at);
            } else if self.holds_end(now, counters) {
                return Step::Wait;
            } else {
                counters.faults.closed.add(1);
                let _ = stream.shutdown_write();
                // The echo ends here: what was read and not echoed is dropped with the rest.
                self.held.clear();
                self.marks.clear();
                self.phase = Phase::Closing;
            }
        }
        if let Some(step) = self.after_end(stream, scratch, counters, (last_active, clock), tap) {
            return step;
        }
        let mut reads = 0;
        loop {
            loop {
                let n = match self.next(now, counters) {
                    Next::Idle => break,
                    Next::Wait(at) => {
                        self.wake_at(at);
                        break;
                    }
                    Next::Write(n) => n,
                };
                match stream.write(&self.front()[..n]) {
                    Ok(m) => {
                        counters.bytes_out.add(m as u64);
                        *last_active = clock;
                        self.wrote(m, now, counters);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // The writable edge drives the connection again.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return Step::Failed,
                }
            }
            match self.reached_end() {
                Some(End::Reset) => {
                    if self.holds_end(now, counters) {
                        return Step::Wait;
                    }
                    counters.faults.reset.add(1);
                    reset(stream);
                    return Step::Finished;
                }
                Some(End::Stall) => {
                    counters.faults.stalled.add(1);
                    self.phase = Phase::Stalled;
                    return Step::Wait;
                }
                Some(End::Close) => {
                    if self.holds_end(now, counters) {
                        return Step::Wait;
                    }
                    counters.faults.closed.add(1);
                    let _ = stream.shutdown_write();
                    self.phase = Phase::Closing;
                }
                Some(End::Blackhole) => {
                    counters.faults.blackholed.add(1);
                    self.phase = Phase::Blackhole;
                }
                None => {}
            }
            if let Some(step) = self.after_end(stream, scratch, counters, (last_active, clock), tap)
            {
                return step;
            }
            if self.eof && self.held.is_empty() {
                if self.holds_end(now, counters) {
                    return Step::Wait;
                }
                let _ = stream.shutdown_write();
                return Step::Finished;
            }
            if reads == READS_PER_TURN {
                return Step::Again;
            }
            let room = self.room(max_pending, now);
            if room == 0 {
                if let Some(at) = self.plan.start_at.filter(|at| now < *at) {
                    self.wake_at(at);
                }
                return Step::Wait;
            }
            reads += 1;
            let len = min(room, scratch.len());
            match stream.read(&mut scratch[..len]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    counters.bytes_in.add(n as u64);
                    *last_active = clock;
                    tap(&scratch[..n]);
                    // The time of the read itself: a delay runs from when the bytes came.
                    self.take(&scratch[..n], Instant::now(), counters);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(_) => return Step::Failed,
            }
        }
    }
}

/// Resets a connection: once it is closed, the peer gets a reset rather than an
/// end-of-stream.
fn reset<S: Connection>(stream: &S) {
    // If the option cannot be set the close is a plain one; the peer still sees the end.
    let _ = stream.reset();
}

/// Reads and drops what the peer of a connection closed or black-holed by a fault still
/// sends (received all the same: `tap` is given it); `at_eof` is what becomes of the
/// connection once the peer's end-of-stream is read.
fn discard<S: Connection>(
    stream: &S,
    scratch: &mut [u8],
    counters: &Counters,
    (last_active, clock): (&mut u32, u32),
    at_eof: Step,
    tap: &mut impl FnMut(&[u8]),
) -> Step {
    for _ in 0..READS_PER_TURN {
        match stream.read(scratch) {
            Ok(0) => return at_eof,
            Ok(n) => {
                counters.bytes_in.add(n as u64);
                *last_active = clock;
                tap(&scratch[..n]);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
            // The peer is gone: the fault's end was seen, nothing to report.
            Err(_) => return Step::Finished,
        }
    }
    Step::Again
}

/// What became of a shaped connection after it was driven (as the engine's own `Drive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Wait,
    Again,
    Finished,
    Failed,
}

/// The stream faults of one worker of `serve()`: the state of its shaped connections, by
/// their key in the engine's slab, and the timers that wake them.
#[derive(Debug, Default)]
pub(crate) struct Worker {
    active: Option<Arc<Active>>,
    conns: HashMap<usize, Box<Shaped>>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Worker {
    /// Takes the faults now in force: a connection accepted from now on draws from them, and
    /// so does each one already open (`live`, with its key), for the bytes it reads next.
    pub(crate) fn refresh<'a, S: Connection>(
        &mut self,
        switch: &Switch,
        live: impl Iterator<Item = (usize, &'a S)>,
        counters: &Counters,
    ) {
        let (_, active) = switch.load();
        self.active = active;
        let now = Instant::now();
        for (key, stream) in live {
            let verdict = match &self.active {
                Some(active) => {
                    let peer = stream.peer_addr().ok();
                    decide(
                        active,
                        None,
                        LIVE_STREAMS | key as u64,
                        peer.as_ref(),
                        now,
                        counters,
                    )
                    .0
                }
                None => Verdict::Plain,
            };
            match (verdict, self.conns.get_mut(&key)) {
                (Verdict::Shaped(new), Some(old)) => old.replan(*new),
                (Verdict::Shaped(new), None) => {
                    self.conns.insert(key, new);
                    // Driven once, so bytes already waiting in the socket are seen.
                    self.timers.push(Reverse((now, key)));
                }
                (_, Some(old)) => {
                    let empty =
                        Shaped::new(Plan::default(), old.rng.clone(), Arc::clone(&old.active));
                    old.replan(empty);
                }
                (_, None) => {}
            }
        }
    }

    /// Draws the faults of a connection just accepted from `peer`, and those its transport
    /// applies itself.
    pub(crate) fn accept(
        &mut self,
        peer: Address,
        counters: &Counters,
    ) -> (Verdict, SessionFaults) {
        let Some(active) = &self.active else {
            return (Verdict::Plain, SessionFaults::default());
        };
        let index = active
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        decide(
            active,
            Some(index),
            index,
            Some(&peer),
            Instant::now(),
            counters,
        )
    }

    /// Keeps the state of a shaped connection registered under `key`, and drives it once
    /// it may start.
    pub(crate) fn attach(&mut self, key: usize, shaped: Box<Shaped>) {
        let at = shaped.plan.start_at.unwrap_or_else(Instant::now);
        self.conns.insert(key, shaped);
        self.timers.push(Reverse((at, key)));
    }

    /// True if the connection under `key` is shaped.
    pub(crate) fn holds(&self, key: usize) -> bool {
        self.conns.contains_key(&key)
    }

    /// Forgets a connection the engine closed.
    pub(crate) fn forget(&mut self, key: usize) {
        self.conns.remove(&key);
    }

    /// Whether the shaped connection under `key` still owes its peer an echo, for a
    /// shutdown's drain: bytes held back, or input the connection has not read (a stall, an
    /// accept delay not over yet, or bytes that came since it was last driven). One whose
    /// echo a fault ended (`close-after`, `close-in`, `blackhole`) owes nothing more, what
    /// its peer still sends being dropped by the fault. `None` if it is not shaped.
    pub(crate) fn owes<S: Connection>(&self, key: usize, stream: &S) -> Option<bool> {
        let shaped = self.conns.get(&key)?;
        if !shaped.held.is_empty() {
            return Some(true);
        }
        Some(match shaped.phase {
            Phase::Closing | Phase::Blackhole => false,
            Phase::Open | Phase::Stalled => has_unread(stream),
        })
    }

    /// Drives the shaped connection under `key`, reading into `scratch` and giving `tap`
    /// every byte read, in order (a no-op unless the server records).
    pub(crate) fn drive<S: Connection>(
        &mut self,
        key: usize,
        stream: &S,
        (scratch, mut tap): (&mut [u8], impl FnMut(&[u8])),
        counters: &Counters,
        max_pending: usize,
        activity: (&mut u32, u32),
    ) -> Step {
        let Some(shaped) = self.conns.get_mut(&key) else {
            return Step::Wait;
        };
        let step = shaped.drive(stream, scratch, counters, max_pending, activity, &mut tap);
        if let Some(at) = shaped.wake.take() {
            self.timers.push(Reverse((at, key)));
        }
        if matches!(step, Step::Finished | Step::Failed) || shaped.is_plain() {
            self.conns.remove(&key);
        }
        step
    }

    /// How long the engine may wait before a timer is due.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timers
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
    }

    /// Takes the keys whose timers are due.
    pub(crate) fn due(&mut self, keys: &mut Vec<usize>) {
        let now = Instant::now();
        while let Some(Reverse((at, key))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.conns.contains_key(&key) && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
}

/// Whether input is waiting on a non-blocking connection, left where it is. A pending
/// end-of-stream or error is not input.
fn has_unread<S: Connection>(stream: &S) -> bool {
    stream.unread().is_ok_and(|n| n > 0)
}

#[cfg(test)]
mod tests;
