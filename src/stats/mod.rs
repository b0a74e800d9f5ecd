//! The server's statistics ([`Stats`], with the faults' [`FaultStats`] and the TLS sessions'
//! [`TlsStats`]) and the per-worker counters they are summed from: written by one worker each,
//! summed on demand. This module depends on no other of the crate.
//!
//! `mod.rs` holds `Stats`; `field.rs` the [`Field`] that lists each count of a group;
//! `faults.rs` and `tls.rs` the nested groups; `counters.rs` the per-worker counters.

mod counters;
mod faults;
mod field;
mod tls;

#[cfg(test)]
mod tests;

pub(crate) use counters::Counters;
pub use faults::{FaultField, FaultStats};
pub use field::Field;
use field::{add_all, field};
pub use tls::{TlsField, TlsStats};

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
    pub faults: FaultStats,
    /// What the TLS transport's sessions came to; all zero for the plain transports.
    pub tls: TlsStats,
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
        add_all(self, &other, Self::FIELDS);
        self.faults += other.faults;
        self.tls += other.tls;
    }
}

/// One count of [`Stats`] outside its groups ([`faults`](Stats::faults),
/// [`tls`](Stats::tls)).
pub type StatsField = Field<Stats>;

impl Stats {
    /// Every count but those of the groups ([`FaultStats::FIELDS`], [`TlsStats::FIELDS`]),
    /// in the order the crate's tool has always reported them: what its statistics line, its
    /// JSON object and its metrics are made of, so a new count cannot be missing from one of
    /// them. [`active`](Self::active) and [`max_connections`](Self::max_connections) are
    /// figures of the moment ([`Field::is_cumulative`] is false); the others count from the
    /// start of `serve`.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Stats;
    ///
    /// let stats = Stats::default();
    /// for field in Stats::FIELDS {
    ///     println!("{} {} ({})", field.of(&stats), field.label(), field.meaning());
    /// }
    /// assert_eq!(Stats::FIELDS[0].name(), "accepted");
    /// assert!(!Stats::FIELDS[1].is_cumulative()); // active
    /// ```
    pub const FIELDS: &'static [StatsField] = &[
        field!(
            accepted,
            "accepted",
            "stream connections accepted, including those refused by the limit"
        ),
        field!(active, "active", "stream connections open now", now),
        field!(
            refused,
            "refused by limit",
            "stream connections closed at once because max_connections were open"
        ),
        field!(
            timed_out,
            "closed idle",
            "stream connections closed by the idle timeout"
        ),
        field!(
            errors,
            "failed",
            "stream connections that ended with an error (a reset, a broken pipe)"
        ),
        field!(accept_errors, "accept errors", "accept calls that failed"),
        field!(
            accept_backoffs,
            "accept pauses",
            "times accepting paused for lack of descriptors or memory"
        ),
        field!(bytes_in, "bytes in", "bytes received"),
        field!(bytes_out, "bytes out", "bytes echoed"),
        field!(datagrams_echoed, "datagrams echoed", "datagrams answered"),
        field!(
            dropped_denied_port,
            "dropped from a denied port",
            "datagrams from a denied port, not answered"
        ),
        field!(
            dropped_bad_source,
            "dropped from a bad source",
            "datagrams from a multicast, broadcast, unspecified or unnamed source, not answered"
        ),
        field!(
            dropped_own_address,
            "dropped from the own address",
            "datagrams whose source is the server's own address, not answered"
        ),
        field!(
            dropped_rate_limited,
            "dropped by the rate limit",
            "datagrams answering the recent replies to their source past its rate limit, not answered"
        ),
        field!(
            dropped_truncated,
            "dropped as too large",
            "datagrams larger than the buffer size, not answered"
        ),
        field!(
            dropped_send_failed,
            "replies not sent",
            "replies the system would not send"
        ),
        field!(
            refused_per_source,
            "refused per source",
            "stream connections closed at once because max_connections_per_source were open from their address"
        ),
        field!(
            max_connections,
            "cap in force",
            "the cap on stream connections in force (0 for a datagram server)",
            now
        ),
        field!(
            shutdown_resets,
            "reset at shutdown",
            "connections reset at the end of the shutdown grace, still owed bytes"
        ),
    ];
}
