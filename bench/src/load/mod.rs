//! Closed-loop load clients: send a message, read it back, verify every byte, repeat.
//!
//! Every client is bounded both in time and in count, and every wait has a timeout, so a
//! server that stops answering ends a run with an error instead of hanging it. A wrong byte
//! ends the run with [`LoadError::Mismatch`]: a fast server that corrupts is not fast.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;

mod bulk;
mod idle;
mod lat;
mod pattern;
mod tcp_many;
#[cfg(feature = "tls")]
mod tls;
mod udp_many;
mod unix;

pub use bulk::bulk;
pub use idle::{IdleConnections, idle};
pub use lat::{UDP_LOSS_TIMEOUT, tcp_lat, udp_lat};
pub use tcp_many::tcp_many;
#[cfg(feature = "tls")]
pub use tls::{IdleSessions, tls_bulk, tls_hs, tls_idle, tls_lat, tls_many};
pub use udp_many::udp_many;
pub use unix::{unix_bulk, unix_lat, unix_many, unixgram_lat, unixgram_many};

/// How long a single wait for the server may last before the run is declared failed.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// When to stop a run: whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time of the measured part (connection setup excluded).
    pub duration: Duration,
    /// Echoed messages (bulk: echoed bytes) after which the run stops.
    pub max_count: u64,
}

impl Limits {
    /// A run of `duration` with no practical count bound.
    pub fn secs(duration: Duration) -> Self {
        Limits {
            duration,
            max_count: u64::MAX,
        }
    }

    /// A run of at most `max_count` messages, bounded to a minute.
    pub fn count(max_count: u64) -> Self {
        Limits {
            duration: Duration::from_secs(60),
            max_count,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Messages echoed and verified.
    pub messages: u64,
    /// Bytes echoed and verified.
    pub bytes: u64,
    /// Wall time of the measured part.
    pub elapsed: Duration,
    /// Round-trip times of the verified messages, in nanoseconds.
    pub rtt: Histogram<u64>,
    /// UDP datagrams sent whose echo did not come back in time.
    pub lost: u64,
}

impl Outcome {
    pub(crate) fn new() -> Self {
        Outcome {
            messages: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
            rtt: histogram(),
            lost: 0,
        }
    }

    pub(crate) fn merge(&mut self, other: &Outcome) {
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.lost += other.lost;
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.rtt.add(&other.rtt);
    }

    pub(crate) fn record(&mut self, rtt: Duration, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes as u64;
        let ns = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.rtt.saturating_record(ns);
    }

    /// Messages per second.
    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Bytes per second, in MB/s (10^6).
    pub fn megabytes_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The round-trip time at `quantile` (0.5, 0.99), in microseconds.
    pub fn rtt_micros(&self, quantile: f64) -> f64 {
        self.rtt.value_at_quantile(quantile) as f64 / 1e3
    }
}

/// Round trips from 1 ns to an hour, to 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A socket call failed.
    #[error("{what} failed")]
    Io {
        /// The call, with the address or connection it concerns.
        what: String,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The server sent back bytes that differ from those sent.
    #[error("wrong echo on connection {conn}, message {seq}, at byte {offset}")]
    Mismatch {
        /// Which connection or socket of the run.
        conn: usize,
        /// Which message on that connection (bulk: 0).
        seq: u64,
        /// Offset of the first wrong byte in the message (bulk: in the stream).
        offset: u64,
    },
    /// The server closed a connection in the middle of a run.
    #[error("server closed connection {conn} after {echoed} bytes of message {seq}")]
    Closed {
        /// Which connection.
        conn: usize,
        /// Which message was in flight.
        seq: u64,
        /// Bytes of it echoed before the close.
        echoed: usize,
    },
    /// Nothing was echoed for [`STALL_TIMEOUT`].
    #[error("no echo for {0:?}")]
    Stalled(Duration),
}

impl LoadError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> LoadError {
        let what = what.into();
        move |source| LoadError::Io { what, source }
    }
}

/// The result of a run.
pub type Result<T> = std::result::Result<T, LoadError>;

/// A connected datagram socket, UDP or Unix, blocking or not: what the datagram clients send
/// on and receive from.
pub(crate) trait Datagram {
    /// Sends one datagram to the connected peer.
    fn send(&self, buf: &[u8]) -> io::Result<usize>;

    /// Receives one datagram from the connected peer.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
}

macro_rules! datagram {
    ($($socket:ty),*) => {$(
        impl Datagram for $socket {
            fn send(&self, buf: &[u8]) -> io::Result<usize> {
                <$socket>::send(self, buf)
            }

            fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$socket>::recv(self, buf)
            }
        }
    )*};
}

datagram!(
    std::net::UdpSocket,
    std::os::unix::net::UnixDatagram,
    mio::net::UdpSocket,
    mio::net::UnixDatagram
);

/// A local address of the same family as `server`, port 0, for client UDP sockets.
pub(crate) fn local_for(server: SocketAddr) -> SocketAddr {
    match server {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::LOCALHOST, 0).into(),
    }
}

/// Deals connection ids `0..count` out to `threads` client threads. Each opens its share with
/// `open`, waits until every thread has opened its own, then runs `drive` under its share of
/// `limits`. Returns the merged outcome, or the first error.
pub(crate) fn spread<C>(
    count: usize,
    threads: usize,
    limits: Limits,
    open: impl Fn(&[usize]) -> Result<C> + Sync,
    drive: impl Fn(C, Limits) -> Result<Outcome> + Sync,
) -> Result<Outcome> {
    let threads = threads.clamp(1, count.max(1));
    let barrier = std::sync::Barrier::new(threads);
    let limits = Limits {
        max_count: limits.max_count.div_ceil(threads as u64),
        ..limits
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let ids: Vec<usize> = (t..count).step_by(threads).collect();
                let (barrier, open, drive) = (&barrier, &open, &drive);
                scope.spawn(move || {
                    let opened = open(&ids);
                    // Everyone waits at the barrier, even after a failure, so no thread
                    // blocks forever.
                    barrier.wait();
                    drive(opened?, limits)
                })
            })
            .collect();
        join(workers)
    })
}

/// Waits for every worker and merges their outcomes, or gives the first error.
pub(crate) fn join(
    workers: Vec<std::thread::ScopedJoinHandle<'_, Result<Outcome>>>,
) -> Result<Outcome> {
    let mut total = Outcome::new();
    let mut first_error = None;
    for worker in workers {
        match worker.join() {
            Ok(Ok(out)) => total.merge(&out),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    first_error.map_or(Ok(total), Err)
}
