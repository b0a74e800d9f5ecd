//! The state of one connection under faults, without I/O: what it holds, and what may be
//! written when.

use std::cmp::min;
use std::collections::VecDeque;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::plan::{End, Plan};
use crate::faults::{Active, Rng};
use crate::stats::Counters;
use crate::token_bucket::TokenBucket;

/// The most release times kept per connection; past it, new bytes join the last one (and
/// the bytes already there wait as long as the new ones: later, never earlier).
const MAX_MARKS: usize = 1024;

/// A run of held bytes that may be echoed from `at` on: those up to offset `end`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    pub(super) end: u64,
    pub(super) at: Instant,
}

/// Where a shaped connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
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
pub(super) enum Next {
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
    pub(super) plan: Plan,
    pub(super) rng: Rng,
    pub(super) active: Arc<Active>,
    /// Bytes read, and bytes echoed, since the connection was first shaped.
    pub(super) received: u64,
    pub(super) echoed: u64,
    /// `received` when the plan was drawn: the plan's offsets count from here.
    pub(super) base: u64,
    pub(super) held: VecDeque<u8>,
    pub(super) marks: VecDeque<Mark>,
    /// Bytes left in the current slice.
    pub(super) slice_left: usize,
    /// The end of the pause after a slice.
    pub(super) next_write: Option<Instant>,
    /// The bucket of the `rate` fault.
    pub(super) bucket: Option<TokenBucket>,
    pub(super) phase: Phase,
    /// The peer has shut its write side.
    pub(super) eof: bool,
    /// The earliest time the connection must be driven again, found during a drive.
    pub(super) wake: Option<Instant>,
    /// When the end held back by `slow-close` may come, once an end was reached.
    pub(super) end_at: Option<Instant>,
}

impl Shaped {
    pub(super) fn new(plan: Plan, rng: Rng, active: Arc<Active>) -> Self {
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
    pub(super) fn replan(&mut self, other: Shaped) {
        self.slice_left = other.slice_left;
        self.plan = other.plan;
        self.rng = other.rng;
        self.active = other.active;
        self.base = self.received;
        self.bucket = None;
        self.next_write = None;
    }

    /// True once the connection needs no state any more: no fault, nothing held.
    pub(super) fn is_plain(&self) -> bool {
        self.plan.is_empty() && self.held.is_empty() && self.phase == Phase::Open && !self.eof
    }

    pub(super) fn wake_at(&mut self, at: Instant) {
        self.wake = Some(self.wake.map_or(at, |first| first.min(at)));
    }

    /// With `slow-close`, holds back an end the connection has reached: true while it must
    /// wait (the connection is then driven again when it may end).
    pub(super) fn holds_end(&mut self, now: Instant, counters: &Counters) -> bool {
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
    pub(super) fn past_base(&self, offset: u64) -> u64 {
        self.base.saturating_add(offset)
    }

    /// How many bytes may be read now.
    pub(super) fn room(&self, max_pending: usize, now: Instant) -> usize {
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
    pub(super) fn take(&mut self, data: &[u8], now: Instant, counters: &Counters) {
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

    pub(super) fn mark(&mut self, end: u64, at: Instant) {
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
    pub(super) fn front(&self) -> &[u8] {
        self.held.as_slices().0
    }

    /// What may be written now.
    pub(super) fn next(&mut self, now: Instant, counters: &Counters) -> Next {
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
            n = n.min(self.left_before(after).unwrap_or(self.slice_left as u64));
        }
        let clock = self.clock(now);
        for (shared, rate) in [(false, self.plan.rate), (true, self.plan.shared_rate)] {
            let Some((rate, after)) = rate else { continue };
            if let Some(left) = self.left_before(after) {
                n = n.min(left);
                continue;
            }
            let metered = self.with_bucket(shared, rate, |bucket| match bucket.available(clock) {
                0 => Err(bucket.ready_at(n)),
                available => Ok(n.min(available)),
            });
            match metered {
                Ok(allowed) => n = allowed,
                Err(ready) => {
                    counters.faults.rate_limited.add(1);
                    return Next::Wait(self.active.origin + ready);
                }
            }
        }
        Next::Write(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Records that `m` bytes of the front were written.
    pub(super) fn wrote(&mut self, m: usize, now: Instant, counters: &Counters) {
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
        let clock = self.clock(now);
        for (shared, rate) in [(false, self.plan.rate), (true, self.plan.shared_rate)] {
            if let Some((rate, after)) = rate
                && start >= self.past_base(after)
            {
                self.with_bucket(shared, rate, |bucket| bucket.take(m as u64, clock));
            }
        }
    }

    /// The bytes still to echo before the offset `after` (past `base`), where a fault
    /// starts; `None` once they were echoed.
    fn left_before(&self, after: u64) -> Option<u64> {
        self.past_base(after)
            .checked_sub(self.echoed)
            .filter(|&left| left > 0)
    }

    /// `now` on the clock of the rate faults' buckets: the time since the faults were set.
    fn clock(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.active.origin)
    }

    /// Runs `f` on the bucket of the `rate` fault, or with `shared`, the one bucket of the
    /// `shared-rate` fault every connection it applies to takes from; made at `rate`, full,
    /// if there is none yet.
    fn with_bucket<R>(
        &mut self,
        shared: bool,
        rate: u64,
        f: impl FnOnce(&mut TokenBucket) -> R,
    ) -> R {
        // At most 10 ms of the rate saved up.
        let full = || TokenBucket::new(rate, (rate / 100).max(1));
        if shared {
            let mut bucket = self
                .active
                .shared_rate
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f(bucket.get_or_insert_with(full))
        } else {
            f(self.bucket.get_or_insert_with(full))
        }
    }

    /// The end the connection has reached, if any: every byte before its limit was echoed.
    pub(super) fn reached_end(&self) -> Option<End> {
        self.plan
            .end
            .filter(|(limit, _)| self.echoed >= self.past_base(*limit))
            .map(|(_, how)| how)
    }
}
