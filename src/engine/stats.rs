//! The server's counters: written by one worker each, summed on demand.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a running or finished [`EchoServer::serve`](crate::EchoServer::serve) has done, summed
/// over its workers.
///
/// Counts are cumulative from the start of `serve`, except [`active`](Self::active). Each
/// worker keeps its own counters, written by it alone, so counting costs the hot path no
/// contention; a snapshot read while the server runs may be a few events behind.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer};
///
/// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
/// let mut client = EchoClient::connect(handle.local_addr())?;
/// client.echo(b"12345")?;
/// drop(client);
/// handle.shutdown();
/// let stats = handle.join()?;
/// assert_eq!(stats.accepted, 1);
/// assert_eq!(stats.bytes_out, 5);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Stream connections accepted, including those refused by the limit.
    pub accepted: u64,
    /// Stream connections open right now.
    pub active: u64,
    /// Stream connections closed at once because [`max_connections`](Self::max_connections) were
    /// open, or because the process was out of descriptors.
    pub refused: u64,
    /// Stream connections closed at once because their source address already had
    /// [`max_connections_per_source`](crate::Options::with_max_connections_per_source) open.
    pub refused_per_source: u64,
    /// The cap on stream connections in force: the
    /// [`max_connections`](crate::Options::with_max_connections) option, or fewer if the
    /// process's descriptor limit (`RLIMIT_NOFILE`) is short of it even after `serve`
    /// raised its soft limit as far as the hard limit allows. Zero until a stream `serve`
    /// starts.
    pub max_connections: u64,
    /// Stream connections closed by the [`idle_timeout`](crate::Options::with_idle_timeout).
    pub timed_out: u64,
    /// Stream connections that ended with an error (a reset, a broken pipe).
    pub errors: u64,
    /// Stream connections reset because a graceful shutdown's
    /// [`shutdown_grace`](crate::Options::with_shutdown_grace) ended while they were still
    /// owed bytes (an echo not yet taken, or input not yet read).
    pub shutdown_resets: u64,
    /// Accept calls that failed (out of descriptors, an aborted connection).
    pub accept_errors: u64,
    /// Times accepting paused because the process or system ran out of descriptors or memory.
    pub accept_backoffs: u64,
    /// Bytes received (for datagrams, in those that fitted the buffer).
    pub bytes_in: u64,
    /// Bytes echoed back.
    pub bytes_out: u64,
    /// Datagrams echoed.
    pub datagrams_echoed: u64,
    /// Datagrams not answered because they came from a denied port.
    pub dropped_denied_port: u64,
    /// Datagrams not answered because they came from a multicast, broadcast or
    /// unspecified address.
    pub dropped_bad_source: u64,
    /// Datagrams not answered because they came from the server's own address (forged:
    /// the answer would come back to the server, which would answer it again, forever).
    pub dropped_own_address: u64,
    /// Datagrams not answered because their source had had its share of replies (the
    /// [`source_rate_limit`](crate::Options::with_source_rate_limit)).
    pub dropped_rate_limited: u64,
    /// Datagrams not answered because they were larger than the
    /// [`buffer_size`](crate::Options::with_buffer_size).
    pub dropped_truncated: u64,
    /// Datagram replies the system would not send (a full send buffer, an unreachable peer).
    pub dropped_send_failed: u64,
    /// The faults injected, by kind (all zero unless faults were set: see
    /// [`Faults`](crate::Faults)).
    pub faults: crate::faults::FaultStats,
}

/// Sums the statistics of several servers (a process serving several addresses, say): every
/// count is added, and so are [`active`](Stats::active) and the caps in force
/// ([`max_connections`](Stats::max_connections)).
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Stats, Udp};
///
/// let tcp = EchoServer::bind("127.0.0.1:0")?.spawn()?;
/// let udp = EchoServer::bind_on(Udp, "127.0.0.1:0")?.spawn()?;
/// EchoClient::connect(tcp.local_addr())?.echo(b"one")?;
/// EchoClient::connect_on(Udp, udp.local_addr())?.echo(b"two")?;
/// tcp.shutdown();
/// udp.shutdown();
/// let mut total = Stats::default();
/// total += tcp.join()?;
/// total += udp.join()?;
/// assert_eq!(total.bytes_out, 6);
/// # Ok::<(), socket_echo::Error>(())
/// ```
impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, other: Stats) {
        self.accepted += other.accepted;
        self.active += other.active;
        self.refused += other.refused;
        self.refused_per_source += other.refused_per_source;
        self.max_connections += other.max_connections;
        self.timed_out += other.timed_out;
        self.errors += other.errors;
        self.shutdown_resets += other.shutdown_resets;
        self.accept_errors += other.accept_errors;
        self.accept_backoffs += other.accept_backoffs;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.datagrams_echoed += other.datagrams_echoed;
        self.dropped_denied_port += other.dropped_denied_port;
        self.dropped_bad_source += other.dropped_bad_source;
        self.dropped_own_address += other.dropped_own_address;
        self.dropped_rate_limited += other.dropped_rate_limited;
        self.dropped_truncated += other.dropped_truncated;
        self.dropped_send_failed += other.dropped_send_failed;
        self.faults += other.faults;
    }
}

/// One worker's counters. Only the owning worker writes them, so an increment is a plain
/// load and store rather than a locked read-modify-write.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: Counter,
    pub(crate) refused: Counter,
    pub(crate) refused_per_source: Counter,
    pub(crate) timed_out: Counter,
    pub(crate) errors: Counter,
    pub(crate) shutdown_resets: Counter,
    pub(crate) accept_errors: Counter,
    pub(crate) accept_backoffs: Counter,
    pub(crate) bytes_in: Counter,
    pub(crate) bytes_out: Counter,
    pub(crate) datagrams_echoed: Counter,
    pub(crate) dropped_denied_port: Counter,
    pub(crate) dropped_bad_source: Counter,
    pub(crate) dropped_own_address: Counter,
    pub(crate) dropped_rate_limited: Counter,
    pub(crate) dropped_truncated: Counter,
    pub(crate) dropped_send_failed: Counter,
    pub(crate) faults: crate::faults::FaultCounters,
}

impl Counters {
    pub(crate) fn add_to(&self, stats: &mut Stats) {
        stats.accepted += self.accepted.get();
        stats.refused += self.refused.get();
        stats.refused_per_source += self.refused_per_source.get();
        stats.timed_out += self.timed_out.get();
        stats.errors += self.errors.get();
        stats.shutdown_resets += self.shutdown_resets.get();
        stats.accept_errors += self.accept_errors.get();
        stats.accept_backoffs += self.accept_backoffs.get();
        stats.bytes_in += self.bytes_in.get();
        stats.bytes_out += self.bytes_out.get();
        stats.datagrams_echoed += self.datagrams_echoed.get();
        stats.dropped_denied_port += self.dropped_denied_port.get();
        stats.dropped_bad_source += self.dropped_bad_source.get();
        stats.dropped_own_address += self.dropped_own_address.get();
        stats.dropped_rate_limited += self.dropped_rate_limited.get();
        stats.dropped_truncated += self.dropped_truncated.get();
        stats.dropped_send_failed += self.dropped_send_failed.get();
        self.faults.add_to(&mut stats.faults);
    }
}

/// A counter with a single writer and any number of readers.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Must only be called by the worker that owns the counter.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
