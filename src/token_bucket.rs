//! The crate's one token bucket: `rate` tokens a second, at most `burst` of them saved up.
//! The per-source limit of a datagram server takes one token a datagram from a bucket per
//! source (`engine/limiter.rs` keeps them), the `rate` and `shared-rate` faults one token a
//! byte echoed.
//!
//! Pure: the caller says what time it is, as the time since an origin of its own (the same
//! for every call on one bucket), so tests need no clock and no sleep. A leaf: it depends on
//! no other module, so the engine and the faults both take it from here.

use std::time::Duration;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// A token bucket of `burst` tokens, refilled at `rate` tokens a second.
///
/// It is kept as one time: when it is full again. Taking `n` tokens moves that time `n`
/// refill intervals (`1 / rate`) later; the bucket holds `k` tokens as long as that time is
/// at most `burst - k` intervals ahead, a token being there only once it is wholly earned.
/// A bucket that is full again holds no information ([`is_full`](Self::is_full)): a table of
/// buckets may forget it.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: u64,
    burst: u64,
    /// When the bucket is full again, in nanoseconds from the caller's origin.
    full_at: u64,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens (at least 1), refilled at `rate` tokens a second (at
    /// least 1).
    pub(crate) fn new(rate: u64, burst: u64) -> Self {
        TokenBucket {
            rate: rate.max(1),
            burst: burst.max(1),
            full_at: 0,
        }
    }

    /// The tokens in the bucket at `now`.
    pub(crate) fn available(&self, now: Duration) -> u64 {
        let ahead = self.full_at.saturating_sub(nanos(now));
        // The tokens still to be earned back, a token partly earned among them.
        let missing = (u128::from(ahead) * u128::from(self.rate)).div_ceil(NANOS_PER_SECOND);
        self.burst
            .saturating_sub(u64::try_from(missing).unwrap_or(u64::MAX))
    }

    /// Takes `n` tokens at `now`, or as many as there are: a bucket never owes more than it
    /// holds when full.
    pub(crate) fn take(&mut self, n: u64, now: Duration) {
        let now = nanos(now);
        let from = self.full_at.max(now);
        let empty_at = now.saturating_add(self.time_for(self.burst));
        self.full_at = from.saturating_add(self.time_for(n)).min(empty_at);
    }

    /// Takes one token at `now`; false, taking nothing, if there is none.
    pub(crate) fn try_take(&mut self, now: Duration) -> bool {
        if self.available(now) == 0 {
            return false;
        }
        self.take(1, now);
        true
    }

    /// When `want` tokens (at least 1, at most a full bucket) will be there.
    pub(crate) fn ready_at(&self, want: u64) -> Duration {
        let spare = self.burst - want.clamp(1, self.burst);
        Duration::from_nanos(self.full_at.saturating_sub(self.time_for(spare)))
    }

    /// True if the bucket is full at `now`: it holds no information.
    pub(crate) fn is_full(&self, now: Duration) -> bool {
        self.full_at <= nanos(now)
    }

    /// When the bucket is full again.
    pub(crate) fn full_at(&self) -> Duration {
        Duration::from_nanos(self.full_at)
    }

    /// The nanoseconds in which `tokens` are earned, rounded down (as the interval a token
    /// takes, so `available` counts a token taken back whole once that time has passed).
    fn time_for(&self, tokens: u64) -> u64 {
        let nanos = u128::from(tokens) * NANOS_PER_SECOND / u128::from(self.rate);
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }
}

/// `time` in nanoseconds, the largest for a time beyond `u64`'s.
fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_new_bucket_is_full_and_takes_down_to_empty() {
        let mut bucket = TokenBucket::new(1000, 10);
        let t = Duration::from_secs(5);
        assert!(bucket.is_full(t));
        assert_eq!(bucket.available(t), 10);
        bucket.take(4, t);
        assert_eq!(bucket.available(t), 6);
        assert!(!bucket.is_full(t));
        // More than it holds empties it, and owes nothing beyond.
        bucket.take(100, t);
        assert_eq!(bucket.available(t), 0);
        assert_eq!(bucket.available(t + 10 * MS), 10);
        assert_eq!(bucket.full_at(), t + 10 * MS);
    }

    #[test]
    fn a_token_is_there_only_once_wholly_earned() {
        // 1000 a second: one token a millisecond.
        let mut bucket = TokenBucket::new(1000, 10);
        let t = Duration::from_secs(1);
        bucket.take(10, t);
        assert_eq!(bucket.available(t + MS / 2), 0);
        assert_eq!(bucket.available(t + MS), 1);
        assert_eq!(bucket.available(t + 3 * MS + MS / 2), 3);
    }

    #[test]
    fn ready_at_is_when_the_tokens_wanted_are_there() {
        let mut bucket = TokenBucket::new(1000, 10);
        let t = Duration::from_secs(1);
        bucket.take(10, t);
        assert_eq!(bucket.ready_at(3), t + 3 * MS);
        assert_eq!(bucket.available(bucket.ready_at(3)), 3);
        assert_eq!(
            bucket.available(bucket.ready_at(3) - Duration::from_nanos(1)),
            2
        );
        // Never more than a full bucket, never less than one token.
        assert_eq!(bucket.ready_at(500), t + 10 * MS);
        assert_eq!(bucket.ready_at(0), t + MS);
    }

    #[test]
    fn a_rate_that_does_not_divide_a_second_keeps_its_pace() {
        // Three a second, one at a time: each is there a third of a second after the last.
        let mut bucket = TokenBucket::new(3, 1);
        let t = Duration::from_secs(1);
        let third = Duration::from_nanos(333_333_334);
        for i in 0..300u32 {
            let now = t + i * third;
            assert!(bucket.try_take(now), "refused at {i}");
            assert!(!bucket.try_take(now + third / 2), "a second one at {i}");
        }
    }

    #[test]
    fn extreme_settings_do_not_overflow() {
        let mut fast = TokenBucket::new(u64::MAX, u64::MAX);
        let t = Duration::from_secs(1);
        fast.take(u64::MAX, t);
        assert_eq!(fast.available(t), 0);
        assert_eq!(fast.available(t + Duration::from_secs(1)), u64::MAX);
        assert_eq!(fast.available(Duration::MAX), u64::MAX);
        fast.take(u64::MAX, Duration::MAX);
        assert!(fast.is_full(Duration::MAX));
        let mut slow = TokenBucket::new(0, 0);
        assert!(slow.try_take(Duration::ZERO));
        assert!(!slow.try_take(Duration::ZERO));
        assert_eq!(slow.ready_at(1), Duration::from_secs(1));
        assert!(slow.try_take(Duration::from_secs(1)));
    }
}
