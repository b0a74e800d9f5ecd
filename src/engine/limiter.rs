//! A token bucket per key (for the UDP server, per source address), in a table of bounded
//! size.
//!
//! Pure: the caller says what time it is, so tests need no clock and no sleep. It never
//! allocates once the table has grown to the number of keys it holds at once, and never
//! grows past its capacity.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use crate::token_bucket::TokenBucket;

/// The shortest time between two sweeps of a full table, so a flood of new keys costs at
/// most a thousand sweeps a second however the buckets are set.
const MIN_SWEEP_GAP: Duration = Duration::from_millis(1);

/// Token buckets ([`TokenBucket`]) of `burst` tokens, refilled at `rate` tokens a second, one
/// per key; each [`allow`](Self::allow) takes one token, or refuses when none is left.
///
/// A bucket that is full holds no information, so a key whose bucket has refilled can be
/// forgotten: that is how the table stays bounded.
///
/// When the table holds `capacity` keys and a new key comes, the keys whose buckets are full
/// again are forgotten. If none is, every key in the table was seen within its last burst,
/// and the new key is refused rather than tracked in place of one of them (which would hand
/// that one a fresh burst, and could let an exchange between two servers run on). A flood
/// of new keys therefore fills the table and is refused, while the keys already in it keep
/// their buckets; it empties as soon as the flood stops.
#[derive(Debug)]
pub(crate) struct Limiter<K> {
    /// The bucket of a key not in the table: full.
    full: TokenBucket,
    capacity: usize,
    buckets: HashMap<K, TokenBucket>,
    /// No key can be forgotten before this time: the earliest "full again" left by the
    /// last sweep, and at least [`MIN_SWEEP_GAP`] after it.
    next_sweep: Duration,
}

impl<K: Hash + Eq> Limiter<K> {
    /// Buckets of `burst` tokens (at least 1) refilled at `rate` tokens a second (at least
    /// 1), for at most `capacity` keys at once (at least 1).
    pub(crate) fn new(rate: u32, burst: u32, capacity: usize) -> Self {
        Limiter {
            full: TokenBucket::new(rate.into(), burst.into()),
            capacity: capacity.max(1),
            buckets: HashMap::new(),
            next_sweep: Duration::ZERO,
        }
    }

    /// Takes a token from `key`'s bucket at the time `now` (from any fixed origin, the same
    /// for every call); false if it has none left.
    ///
    /// Times may come slightly out of order (workers read the clock, then take turns): an
    /// earlier `now` than the last one only sees a little less refilled.
    pub(crate) fn allow(&mut self, key: K, now: Duration) -> bool {
        if let Some(bucket) = self.buckets.get_mut(&key) {
            return bucket.try_take(now);
        }
        if self.buckets.len() >= self.capacity && !self.sweep(now) {
            return false;
        }
        // A key not in the table has a full bucket: it gives one token now.
        let mut bucket = self.full.clone();
        let allowed = bucket.try_take(now);
        self.buckets.insert(key, bucket);
        allowed
    }

    /// Forgets every key whose bucket is full at `now`; true if that made room.
    fn sweep(&mut self, now: Duration) -> bool {
        if now < self.next_sweep {
            return false;
        }
        let mut earliest = Duration::MAX;
        self.buckets.retain(|_, bucket| {
            let keep = !bucket.is_full(now);
            if keep {
                earliest = earliest.min(bucket.full_at());
            }
            keep
        });
        self.next_sweep = earliest.max(now.saturating_add(MIN_SWEEP_GAP));
        self.buckets.len() < self.capacity
    }

    /// How many keys the table holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// How many of `count` calls at the same instant are allowed.
    fn allowed(limiter: &mut Limiter<u32>, key: u32, now: Duration, count: u32) -> u32 {
        (0..count).filter(|_| limiter.allow(key, now)).count() as u32
    }

    #[test]
    fn a_full_bucket_gives_its_burst_then_refuses() {
        let mut limiter = Limiter::new(1000, 5, 16);
        let t = Duration::from_secs(7);
        assert_eq!(allowed(&mut limiter, 1, t, 10), 5);
        assert!(!limiter.allow(1, t));
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        // 1000 a second: one token a millisecond.
        let mut limiter = Limiter::new(1000, 5, 16);
        let t = Duration::from_secs(1);
        assert_eq!(allowed(&mut limiter, 1, t, 5), 5);
        assert!(!limiter.allow(1, t + MS / 2));
        assert!(limiter.allow(1, t + MS));
        assert!(!limiter.allow(1, t + MS));
        // Three milliseconds: three tokens.
        assert_eq!(allowed(&mut limiter, 1, t + 4 * MS, 10), 3);
        // Never more than the burst, however long the wait.
        assert_eq!(allowed(&mut limiter, 1, t + Duration::from_secs(60), 10), 5);
    }

    #[test]
    fn a_source_at_the_rate_is_never_refused_and_one_above_it_soon_is() {
        let mut limiter = Limiter::new(1000, 20, 16);
        let start = Duration::from_secs(3);
        // One every millisecond for ten seconds: exactly the rate.
        for i in 0..10_000u32 {
            assert!(limiter.allow(1, start + i * MS), "refused at {i} ms");
        }
        // One every 900 µs (about 1111 a second): the burst of 20 lasts about 180 ms.
        let step = Duration::from_micros(900);
        let mut first_refusal = None;
        for i in 0..10_000u32 {
            if !limiter.allow(2, start + i * step) {
                first_refusal = Some(i);
                break;
            }
        }
        let i = first_refusal.expect("never refused");
        assert!(
            (150..=250).contains(&i),
            "first refused after {i} datagrams"
        );
    }

    #[test]
    fn keys_have_buckets_of_their_own() {
        let mut limiter = Limiter::new(1, 2, 16);
        let t = Duration::from_secs(1);
        assert_eq!(allowed(&mut limiter, 1, t, 5), 2);
        assert_eq!(allowed(&mut limiter, 2, t, 5), 2);
        assert_eq!(allowed(&mut limiter, 1, t, 5), 0);
    }

    #[test]
    fn a_time_slightly_out_of_order_sees_less_refilled_and_nothing_breaks() {
        let mut limiter = Limiter::new(1000, 2, 16);
        let t = Duration::from_secs(1);
        assert_eq!(allowed(&mut limiter, 1, t, 2), 2);
        assert!(!limiter.allow(1, t - MS));
        assert!(limiter.allow(1, t + MS));
        // Time zero and the largest time are both fine.
        assert!(limiter.allow(9, Duration::ZERO));
        assert!(limiter.allow(8, Duration::MAX));
    }

    #[test]
    fn the_table_never_holds_more_than_its_capacity() {
        let mut limiter = Limiter::new(1000, 10, 64);
        let t = Duration::from_secs(1);
        // A flood of new keys within one millisecond: each one is mid-burst when the next
        // comes, so past the capacity the newcomers are refused.
        let admitted = (0..1000u32).filter(|&k| limiter.allow(k, t)).count();
        assert_eq!(admitted, 64);
        assert_eq!(limiter.len(), 64);
        // The keys already in the table keep their buckets.
        assert!(limiter.allow(0, t));
        // Once their buckets are full again (one token taken: one interval), they are
        // forgotten to make room, and new keys come in.
        let later = t + 2 * MS;
        assert!(limiter.allow(5000, later));
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn a_full_table_of_busy_keys_is_not_swept_again_and_again() {
        let mut limiter = Limiter::new(1, 10, 4);
        let t = Duration::from_secs(1);
        for k in 0..4 {
            assert!(limiter.allow(k, t));
        }
        // Every bucket is full again one second later: until then no sweep can free a slot,
        // and none is tried.
        assert!(!limiter.allow(100, t + MS));
        let next = limiter.next_sweep;
        assert!(!limiter.allow(101, t + 2 * MS));
        assert_eq!(
            limiter.next_sweep, next,
            "swept although nothing could be freed"
        );
        assert!(limiter.allow(102, t + Duration::from_secs(1)));
    }

    #[test]
    fn extreme_settings_do_not_overflow() {
        let mut unlimited = Limiter::new(u32::MAX, u32::MAX, 1);
        assert_eq!(
            allowed(&mut unlimited, 1, Duration::from_secs(1), 100_000),
            100_000
        );
        let mut slow = Limiter::new(1, u32::MAX, 1);
        assert_eq!(allowed(&mut slow, 1, Duration::from_secs(1), 1000), 1000);
        let mut zero = Limiter::new(0, 0, 0);
        assert!(zero.allow(1, Duration::from_secs(1)));
        assert!(!zero.allow(1, Duration::from_secs(1)));
        assert!(
            !zero.allow(2, Duration::from_secs(1)),
            "capacity of one key"
        );
    }
}
