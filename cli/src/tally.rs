//! What `ping` counts beside the library's summary: RFC 3550 jitter, the mean deviation,
//! and the probes that came back out of order or damaged. Pure arithmetic over the events
//! `EchoClient::ping` reports, one at a time.

use std::time::Duration;

use socket_echo::{Outcome, Probe};

/// The running figures of one ping run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// RFC 3550 interarrival jitter, in nanoseconds.
    jitter_ns: f64,
    last_rtt_ns: Option<f64>,
    /// Welford's running mean and sum of squared differences, in nanoseconds.
    count: u64,
    mean_ns: f64,
    squares_ns: f64,
    /// The highest sequence number answered in time so far.
    highest_reply: Option<u64>,
    pub late: u64,
    pub reordered: u64,
    pub duplicated: u64,
    pub corrupted: u64,
}

impl Tally {
    /// Counts one event of the run.
    pub fn add(&mut self, probe: &Probe) {
        match probe.outcome() {
            Outcome::Reply { rtt } => {
                self.reply(rtt);
                self.highest_reply = self.highest_reply.max(Some(probe.seq()));
            }
            Outcome::Late { .. } => {
                self.late += 1;
                // Its answer comes after a later probe's: out of order.
                if self
                    .highest_reply
                    .is_some_and(|highest| highest > probe.seq())
                {
                    self.reordered += 1;
                }
            }
            Outcome::Duplicate => self.duplicated += 1,
            Outcome::Mismatch { .. } | Outcome::Unexpected { .. } => self.corrupted += 1,
            _ => {}
        }
    }

    fn reply(&mut self, rtt: Duration) {
        let ns = rtt.as_nanos() as f64;
        // RFC 3550, 6.4.1: J += (|D| - J) / 16, D the difference between consecutive
        // transit times; a round trip stands for the transit here.
        if let Some(last) = self.last_rtt_ns {
            self.jitter_ns += ((ns - last).abs() - self.jitter_ns) / 16.0;
        }
        self.last_rtt_ns = Some(ns);
        self.count += 1;
        let delta = ns - self.mean_ns;
        self.mean_ns += delta / self.count as f64;
        self.squares_ns += delta * (ns - self.mean_ns);
    }

    /// RFC 3550 interarrival jitter over the replies in time, in the order they came; `None`
    /// before the second.
    pub fn jitter(&self) -> Option<Duration> {
        (self.count >= 2).then(|| Duration::from_nanos(self.jitter_ns as u64))
    }

    /// The mean deviation as ping(8) reports it (`mdev`): the standard deviation of the round
    /// trips, `sqrt(mean(rtt²) − mean(rtt)²)`; `None` before the first reply.
    pub fn mdev(&self) -> Option<Duration> {
        (self.count >= 1)
            .then(|| Duration::from_nanos((self.squares_ns / self.count as f64).sqrt() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Probe` has no public constructor: the figures are checked through `reply`, and the
    /// outcomes through the counts they move.
    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn jitter_follows_rfc_3550() {
        let mut tally = Tally::default();
        tally.reply(ms(10));
        assert_eq!(tally.jitter(), None);
        tally.reply(ms(26));
        assert_eq!(tally.jitter(), Some(ms(1)));
        tally.reply(ms(26));
        // 1 + (0 - 1) / 16 = 0.9375 ms.
        assert_eq!(tally.jitter(), Some(Duration::from_nanos(937_500)));
    }

    #[test]
    fn mdev_is_the_standard_deviation() {
        let mut tally = Tally::default();
        assert_eq!(tally.mdev(), None);
        for rtt in [10, 30, 10, 30] {
            tally.reply(ms(rtt));
        }
        assert_eq!(tally.mdev(), Some(ms(10)));
        let mut steady = Tally::default();
        steady.reply(ms(5));
        steady.reply(ms(5));
        assert_eq!(steady.mdev(), Some(Duration::ZERO));
        assert_eq!(steady.jitter(), Some(Duration::ZERO));
    }
}
