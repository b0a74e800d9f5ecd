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
        self.tls += other.tls;
    }
}
