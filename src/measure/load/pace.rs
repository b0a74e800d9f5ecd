//! The open loop: when each message is due, and which idle connection is due next.
//!
//! A closed loop sends each message when the previous echo is in, so a server that stalls
//! also stalls the load, and the messages that would have waited behind the stall are never
//! sent: the stall shows as one slow round trip (the "coordinated omission" Gil Tene
//! described, corrected by wrk2). An open loop sends on a schedule fixed in advance and
//! measures each round trip from the time its message was due, so every message held up by
//! the stall counts its wait.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// When each message of an open-loop run is due: message `k` of connection `c` (of `n`) is
/// due `(c + k·n) / rate` seconds after the start, so the connections take turns and the
/// whole run sends `rate` messages a second.
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    pub(super) start: Instant,
    pub(super) rate: u64,
    pub(super) connections: u64,
}

impl Schedule {
    /// When message `k` of connection `connection` is due; `None` past what an `Instant`
    /// can hold (never, for any run that ends).
    pub(super) fn due(&self, connection: u64, k: u64) -> Option<Instant> {
        let turn = u128::from(connection) + u128::from(k) * u128::from(self.connections);
        // Whole nanoseconds from the start, so the schedule never drifts by rounding.
        let ns = turn * 1_000_000_000 / u128::from(self.rate.max(1));
        self.start
            .checked_add(Duration::from_nanos(u64::try_from(ns).ok()?))
    }
}

/// The connections of one thread that wait for their next message to be due, earliest
/// first.
#[derive(Debug, Default)]
pub(super) struct Pacer {
    waiting: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Pacer {
    /// Connection `index` waits until `due`.
    pub(super) fn push(&mut self, due: Instant, index: usize) {
        self.waiting.push(Reverse((due, index)));
    }

    /// The earliest time a waiting connection is due.
    pub(super) fn next(&self) -> Option<Instant> {
        self.waiting.peek().map(|Reverse((due, _))| *due)
    }

    /// A connection due by `now`, taken off the list.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<usize> {
        match self.waiting.peek() {
            Some(Reverse((due, _))) if *due <= now => {
                self.waiting.pop().map(|Reverse((_, index))| index)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_take_turns_at_the_rate() {
        let start = Instant::now();
        let schedule = Schedule {
            start,
            rate: 1000,
            connections: 4,
        };
        let ms = |c, k| (schedule.due(c, k).unwrap() - start).as_secs_f64() * 1e3;
        assert_eq!(ms(0, 0), 0.0);
        assert_eq!(ms(1, 0), 1.0);
        assert_eq!(ms(3, 0), 3.0);
        assert_eq!(ms(0, 1), 4.0);
        assert_eq!(ms(2, 250), 1002.0);
    }

    #[test]
    fn a_schedule_too_far_ahead_is_never_due() {
        let schedule = Schedule {
            start: Instant::now(),
            rate: 1,
            connections: 1,
        };
        assert!(schedule.due(0, u64::MAX).is_none());
    }

    #[test]
    fn the_earliest_is_taken_first_and_only_when_due() {
        let now = Instant::now();
        let mut pacer = Pacer::default();
        pacer.push(now + Duration::from_millis(5), 1);
        pacer.push(now + Duration::from_millis(2), 0);
        pacer.push(now + Duration::from_millis(9), 2);
        assert_eq!(pacer.next(), Some(now + Duration::from_millis(2)));
        assert_eq!(pacer.pop_due(now), None);
        let later = now + Duration::from_millis(6);
        assert_eq!(pacer.pop_due(later), Some(0));
        assert_eq!(pacer.pop_due(later), Some(1));
        assert_eq!(pacer.pop_due(later), None);
        assert_eq!(pacer.next(), Some(now + Duration::from_millis(9)));
    }
}
