//! The token bucket of the `rate` and `shared-rate` faults.

use std::time::{Duration, Instant};

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

    pub(super) fn available(&mut self, now: Instant) -> u64 {
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

    pub(super) fn spend(&mut self, n: u64) {
        self.tokens = self.tokens.saturating_sub(n);
    }

    /// When `want` tokens (at most a full bucket) will be there.
    pub(super) fn ready_at(&self, want: u64) -> Instant {
        let need = want.clamp(1, self.capacity).saturating_sub(self.tokens);
        let nanos = u128::from(need) * 1_000_000_000 / u128::from(self.rate) + 1;
        self.last + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}
