//! Round-trip statistics: exact count, min, mean and max, and percentiles from an
//! HdrHistogram of nanoseconds.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The longest round trip the histogram tells apart: 60 s. Longer ones count as 60 s in the
/// percentiles (min, mean and max stay exact).
const HIGHEST_NS: u64 = 60_000_000_000;

/// Records round-trip times without allocating: the histogram's range is fixed up front.
#[derive(Debug, Clone)]
pub(crate) struct RttRecorder {
    histogram: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl RttRecorder {
    pub(crate) fn new() -> Self {
        // Three significant figures over 1 ns ..= 60 s: constant bounds that hdrhistogram
        // accepts, so creation cannot fail.
        let histogram = Histogram::new_with_bounds(1, HIGHEST_NS, 3)
            .expect("constant histogram bounds are valid");
        RttRecorder {
            histogram,
            count: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    /// Records one round trip.
    #[inline]
    pub(crate) fn record(&mut self, rtt: Duration) {
        let ns = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
        self.record_ns(ns);
    }

    #[inline]
    pub(crate) fn record_ns(&mut self, ns: u64) {
        self.histogram.saturating_record(ns);
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// The figures read from everything recorded so far.
    pub(crate) fn latency(&self) -> Latency {
        if self.count == 0 {
            return Latency::default();
        }
        let mean = self.sum_ns / u128::from(self.count);
        let at = |q: f64| Duration::from_nanos(self.histogram.value_at_quantile(q));
        Latency {
            count: self.count,
            min: Duration::from_nanos(self.min_ns),
            mean: Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX)),
            // The histogram reports the top of a value's bucket; clamp to the exact extremes.
            p50: at(0.50).clamp(
                Duration::from_nanos(self.min_ns),
                Duration::from_nanos(self.max_ns),
            ),
            p90: at(0.90).clamp(
                Duration::from_nanos(self.min_ns),
                Duration::from_nanos(self.max_ns),
            ),
            p99: at(0.99).clamp(
                Duration::from_nanos(self.min_ns),
                Duration::from_nanos(self.max_ns),
            ),
            max: Duration::from_nanos(self.max_ns),
        }
    }
}

/// Round-trip times of the replies that came back in time and verified: how many, and their
/// minimum, mean, 50th, 90th and 99th percentiles and maximum.
///
/// Minimum, mean and maximum are exact; the percentiles come from an
/// [HdrHistogram](https://docs.rs/hdrhistogram) with three significant figures (a 0.1%
/// resolution) over 1 ns to 60 s. With no reply at all, every figure is zero.
///
/// It displays as `min/mean/p50/p90/p99/max = a/b/c/d/e/f ms`, like ping's last line.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Ping};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let mut client = EchoClient::connect(server.local_addr())?;
/// std::thread::spawn(move || server.serve_once());
///
/// let summary = client.ping(&Ping::new().with_count(3).with_interval(std::time::Duration::ZERO), |_| {})?;
/// let rtt = summary.latency();
/// assert_eq!(rtt.count(), 3);
/// assert!(rtt.min() <= rtt.p50() && rtt.p50() <= rtt.p99() && rtt.p99() <= rtt.max());
/// println!("rtt {rtt}");
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    count: u64,
    min: Duration,
    mean: Duration,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

impl Latency {
    /// How many round trips the figures are taken from.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The shortest round trip.
    pub const fn min(&self) -> Duration {
        self.min
    }

    /// The mean round trip.
    pub const fn mean(&self) -> Duration {
        self.mean
    }

    /// The median round trip.
    pub const fn p50(&self) -> Duration {
        self.p50
    }

    /// The 90th percentile.
    pub const fn p90(&self) -> Duration {
        self.p90
    }

    /// The 99th percentile.
    pub const fn p99(&self) -> Duration {
        self.p99
    }

    /// The longest round trip.
    pub const fn max(&self) -> Duration {
        self.max
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "min/mean/p50/p90/p99/max = {:.3}/{:.3}/{:.3}/{:.3}/{:.3}/{:.3} ms",
            ms(self.min),
            ms(self.mean),
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max)
        )
    }
}
