//! The server's counters ([`Stats`], with the faults' [`FaultStats`]): written by one worker
//! each, summed on demand. This module depends on no other of the crate.

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
    pub(crate) faults: FaultCounters,
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

/// What every kind of fault a server injected, counted (see
/// [`Stats::faults`](crate::Stats::faults)).
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Faults, Options, Udp};
///
/// let faults: Faults = "drop=1".parse()?;
/// let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")?.with_faults(faults)?.spawn()?;
/// let options = Options::new()
///     .with_read_timeout(Some(std::time::Duration::from_millis(50)))
///     .with_resends(2);
/// let mut client = EchoClient::connect_on_with(Udp, handle.local_addr(), options)?;
/// assert!(client.echo(b"lost").is_err());
/// handle.shutdown();
/// assert_eq!(handle.join()?.faults.dropped, 3);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStats {
    /// Stream chunks or datagram replies held back by a delay.
    pub delayed: u64,
    /// Pauses taken after a slice of an echo.
    pub sliced: u64,
    /// Times a connection's echo waited for its bandwidth limit (its own or the shared one).
    pub rate_limited: u64,
    /// Connections stalled.
    pub stalled: u64,
    /// Connections ended with a clean end-of-stream by `close-after` or `close-in`.
    pub closed: u64,
    /// Connections reset by `reset-after` or `reset-in`.
    pub reset: u64,
    /// Ends of connections (end-of-stream or reset) held back by `slow-close`.
    pub slow_closed: u64,
    /// Stream connections, and datagrams, swallowed by `blackhole`.
    pub blackholed: u64,
    /// Times the server went down ([`ServerHandle::down`](crate::ServerHandle::down)).
    pub went_down: u64,
    /// Connections reset because the server went down with [`Down::Reset`](crate::Down::Reset).
    pub reset_by_down: u64,
    /// Datagrams not answered because the server was down.
    pub ignored_while_down: u64,
    /// Connections closed as soon as they were accepted.
    pub accept_closed: u64,
    /// Connections whose service was delayed after the accept.
    pub accept_delayed: u64,
    /// Datagram replies dropped.
    pub dropped: u64,
    /// Datagram replies sent twice.
    pub duplicated: u64,
    /// Datagram replies held back behind a later one.
    pub reordered: u64,
    /// Datagram replies cut short.
    pub truncated: u64,
    /// Datagram replies with a byte changed.
    pub corrupted: u64,
    /// Datagram replies dropped because those held back by a delay or a reordering already
    /// filled [`max_held`](crate::Faults::with_max_held).
    pub overflowed: u64,
    /// TLS connections whose handshake was stalled by `tls-stall`.
    pub tls_stalled: u64,
    /// TLS connections reset during the handshake by `tls-reset`.
    pub tls_reset: u64,
    /// TLS connections presented a bad certificate by `tls-cert`.
    pub tls_bad_certificates: u64,
    /// TLS connections ended without `close_notify` by `tls-truncate`.
    pub tls_truncated: u64,
}

/// One count of a group of counters (`S`: [`FaultStats`] or [`TlsStats`]): the field's
/// name, its label in text, what it counts, and its value in an `S`. [`FaultStats::FIELDS`]
/// and [`TlsStats::FIELDS`] list them all, so a report (a text line, a JSON object, a
/// metrics table) can show every count without naming each one.
///
/// # Examples
///
/// ```
/// use socket_echo::FaultStats;
///
/// let stats = FaultStats::default();
/// for field in FaultStats::FIELDS {
///     println!("{} {} ({})", field.of(&stats), field.label(), field.meaning());
/// }
/// assert_eq!(FaultStats::FIELDS[0].name(), "delayed");
/// ```
#[derive(Debug)]
pub struct Field<S: 'static> {
    name: &'static str,
    label: &'static str,
    meaning: &'static str,
    get: fn(&S) -> u64,
    at: fn(&mut S) -> &mut u64,
}

impl<S> Clone for Field<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Field<S> {}

/// One count of [`FaultStats`].
pub type FaultField = Field<FaultStats>;

/// One count of [`TlsStats`].
pub type TlsField = Field<TlsStats>;

impl<S> Field<S> {
    /// The field's name, as in its struct (`"delayed"`).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// How a line of text names it after its count ("closed slowly": `3 closed slowly`).
    pub const fn label(&self) -> &'static str {
        self.label
    }

    /// What it counts, in a few lowercase words without a final stop ("datagram replies
    /// dropped").
    pub const fn meaning(&self) -> &'static str {
        self.meaning
    }

    /// Its value in `stats`.
    pub fn of(&self, stats: &S) -> u64 {
        (self.get)(stats)
    }
}

/// Adds every count of `fields` in `other` to `into`.
fn add_fields<S>(into: &mut S, other: &S, fields: &[Field<S>]) {
    for field in fields {
        *(field.at)(into) += field.of(other);
    }
}

/// A [`Field`] whose name is the field's own, so the two cannot differ.
macro_rules! field {
    ($name:ident, $label:literal, $meaning:literal) => {
        Field {
            name: stringify!($name),
            label: $label,
            meaning: $meaning,
            get: |stats| stats.$name,
            at: |stats| &mut stats.$name,
        }
    };
}

impl FaultStats {
    /// Every count, in the order of the fields: what the tool's statistics line, its JSON
    /// object and its metrics are made of.
    pub const FIELDS: &'static [FaultField] = &[
        field!(
            delayed,
            "delayed",
            "stream chunks or datagram replies held back by a delay"
        ),
        field!(sliced, "sliced", "pauses taken after a slice of an echo"),
        field!(
            rate_limited,
            "rate-limited",
            "times an echo waited for its bandwidth limit"
        ),
        field!(stalled, "stalled", "connections stalled"),
        field!(
            closed,
            "closed",
            "connections ended cleanly by close-after or close-in"
        ),
        field!(
            reset,
            "reset",
            "connections reset by reset-after or reset-in"
        ),
        field!(
            slow_closed,
            "closed slowly",
            "ends of connections held back by slow-close"
        ),
        field!(
            blackholed,
            "black-holed",
            "connections and datagrams swallowed by blackhole"
        ),
        field!(went_down, "times down", "times the server went down"),
        field!(
            reset_by_down,
            "reset by down",
            "connections reset because the server went down"
        ),
        field!(
            ignored_while_down,
            "unanswered while down",
            "datagrams not answered because the server was down"
        ),
        field!(
            accept_closed,
            "closed at accept",
            "connections closed as soon as they were accepted"
        ),
        field!(
            accept_delayed,
            "delayed at accept",
            "connections whose service was delayed after the accept"
        ),
        field!(dropped, "dropped", "datagram replies dropped"),
        field!(duplicated, "duplicated", "datagram replies sent twice"),
        field!(
            reordered,
            "reordered",
            "datagram replies held back behind a later one"
        ),
        field!(truncated, "truncated", "datagram replies cut short"),
        field!(
            corrupted,
            "corrupted",
            "datagram replies with a byte changed"
        ),
        field!(
            overflowed,
            "over the held limit",
            "datagram replies dropped because held ones filled the limit"
        ),
        field!(
            tls_stalled,
            "tls stalled",
            "tls handshakes stalled by tls-stall"
        ),
        field!(
            tls_reset,
            "tls reset",
            "tls connections reset during the handshake by tls-reset"
        ),
        field!(
            tls_bad_certificates,
            "tls bad certificates",
            "tls connections presented a bad certificate by tls-cert"
        ),
        field!(
            tls_truncated,
            "tls truncated",
            "tls connections ended without close_notify by tls-truncate"
        ),
    ];

    /// Every count added up: zero when no fault was injected.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::FaultStats;
    ///
    /// assert_eq!(FaultStats::default().total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        Self::FIELDS.iter().map(|field| field.of(self)).sum()
    }
}

/// Sums the fault counts of several servers, as [`Stats`](crate::Stats) does.
impl std::ops::AddAssign for FaultStats {
    fn add_assign(&mut self, other: FaultStats) {
        add_fields(self, &other, Self::FIELDS);
    }
}

/// One worker's fault counters (see [`Counter`]: only that worker writes them).
#[derive(Debug, Default)]
pub(crate) struct FaultCounters {
    pub(crate) delayed: Counter,
    pub(crate) sliced: Counter,
    pub(crate) rate_limited: Counter,
    pub(crate) stalled: Counter,
    pub(crate) closed: Counter,
    pub(crate) reset: Counter,
    pub(crate) slow_closed: Counter,
    pub(crate) blackholed: Counter,
    pub(crate) reset_by_down: Counter,
    pub(crate) ignored_while_down: Counter,
    pub(crate) accept_closed: Counter,
    pub(crate) accept_delayed: Counter,
    pub(crate) dropped: Counter,
    pub(crate) duplicated: Counter,
    pub(crate) reordered: Counter,
    pub(crate) truncated: Counter,
    pub(crate) corrupted: Counter,
    pub(crate) overflowed: Counter,
    pub(crate) tls_stalled: Counter,
    pub(crate) tls_reset: Counter,
    pub(crate) tls_bad_certificates: Counter,
    pub(crate) tls_truncated: Counter,
}

impl FaultCounters {
    pub(crate) fn add_to(&self, stats: &mut FaultStats) {
        stats.delayed += self.delayed.get();
        stats.sliced += self.sliced.get();
        stats.rate_limited += self.rate_limited.get();
        stats.stalled += self.stalled.get();
        stats.closed += self.closed.get();
        stats.reset += self.reset.get();
        stats.slow_closed += self.slow_closed.get();
        stats.blackholed += self.blackholed.get();
        stats.reset_by_down += self.reset_by_down.get();
        stats.ignored_while_down += self.ignored_while_down.get();
        stats.accept_closed += self.accept_closed.get();
        stats.accept_delayed += self.accept_delayed.get();
        stats.dropped += self.dropped.get();
        stats.duplicated += self.duplicated.get();
        stats.reordered += self.reordered.get();
        stats.truncated += self.truncated.get();
        stats.corrupted += self.corrupted.get();
        stats.overflowed += self.overflowed.get();
        stats.tls_stalled += self.tls_stalled.get();
        stats.tls_reset += self.tls_reset.get();
        stats.tls_bad_certificates += self.tls_bad_certificates.get();
        stats.tls_truncated += self.tls_truncated.get();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of `FaultStats` is in `FIELDS`, once, in order: the fields are read from
    /// the derived `Debug` (`FaultStats { delayed: 0, sliced: 0, .. }`), so a new one is
    /// seen without being named here. (`field!` reads each count by its name.)
    #[test]
    fn every_fault_count_is_a_field() {
        let debug = format!("{:?}", FaultStats::default());
        let inner = debug
            .strip_prefix("FaultStats { ")
            .and_then(|rest| rest.strip_suffix(" }"))
            .unwrap_or_else(|| panic!("unexpected Debug: {debug}"));
        let fields: Vec<&str> = inner
            .split(", ")
            .map(|pair| pair.trim_end_matches(": 0"))
            .collect();
        let listed: Vec<&str> = FaultStats::FIELDS.iter().map(|f| f.name()).collect();
        assert_eq!(listed, fields);
    }

    /// Summing adds every count: each field set to a distinct value in one operand is
    /// found in the sum.
    #[test]
    fn summing_adds_every_count() {
        let mut one = FaultStats::default();
        let mut other = FaultStats::default();
        let mut tls = TlsStats::default();
        let mut other_tls = TlsStats::default();
        for (n, field) in FaultStats::FIELDS.iter().enumerate() {
            *(field.at)(&mut other) = n as u64 + 1;
        }
        for (n, field) in TlsStats::FIELDS.iter().enumerate() {
            *(field.at)(&mut other_tls) = n as u64 + 1;
        }
        one += other;
        tls += other_tls;
        for (n, field) in FaultStats::FIELDS.iter().enumerate() {
            assert_eq!(field.of(&one), n as u64 + 1, "{}", field.name());
        }
        for (n, field) in TlsStats::FIELDS.iter().enumerate() {
            assert_eq!(field.of(&tls), n as u64 + 1, "{}", field.name());
        }
    }

    #[test]
    fn a_field_reads_its_own_count_and_total_adds_them_all() {
        let stats = FaultStats {
            sliced: 2,
            overflowed: 5,
            ..FaultStats::default()
        };
        let read = |name: &str| {
            FaultStats::FIELDS
                .iter()
                .find(|f| f.name() == name)
                .map(|f| f.of(&stats))
        };
        assert_eq!(read("sliced"), Some(2));
        assert_eq!(read("overflowed"), Some(5));
        assert_eq!(read("delayed"), Some(0));
        assert_eq!(stats.total(), 7);
    }
}

/// What a TLS server's sessions came to (see [`Stats::tls`]): handshakes completed, and
/// failed by reason (the names of `TlsFailure`, with the `tls` feature), and sessions whose peer
/// closed without `close_notify`. All zero for the plain transports.
///
/// # Examples
///
/// ```
/// use socket_echo::TlsStats;
///
/// let stats = TlsStats::default();
/// assert_eq!(stats.failed(), 0);
/// assert_eq!(TlsStats::FIELDS[0].name(), "handshakes");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsStats {
    /// Handshakes completed.
    pub handshakes: u64,
    /// Handshakes failed: the client's certificate is signed by no CA the server trusts.
    pub unknown_issuer: u64,
    /// Handshakes failed: a certificate expired.
    pub expired: u64,
    /// Handshakes failed: a certificate not valid yet.
    pub not_yet_valid: u64,
    /// Handshakes failed: a certificate for another name.
    pub name_mismatch: u64,
    /// Handshakes failed: any other certificate problem (a client with none, where mutual
    /// TLS wants one).
    pub bad_certificate: u64,
    /// Handshakes that did not finish within the handshake timeout.
    pub handshake_timeout: u64,
    /// Connections whose first bytes were not TLS (plaintext, an HTTP request, noise).
    pub not_tls: u64,
    /// Handshakes the peer refused with an alert (a client that does not trust the
    /// server's certificate says so this way).
    pub alert_received: u64,
    /// Handshakes failed on any other protocol error.
    pub protocol: u64,
    /// Sessions whose peer closed without `close_notify`, after the handshake.
    pub truncated: u64,
}

impl TlsStats {
    /// Every count, in the order of the fields.
    pub const FIELDS: &'static [TlsField] = &[
        field!(handshakes, "handshakes", "tls handshakes completed"),
        field!(
            unknown_issuer,
            "unknown issuer",
            "tls handshakes failed: unknown issuer"
        ),
        field!(
            expired,
            "expired",
            "tls handshakes failed: certificate expired"
        ),
        field!(
            not_yet_valid,
            "not yet valid",
            "tls handshakes failed: certificate not yet valid"
        ),
        field!(
            name_mismatch,
            "name mismatch",
            "tls handshakes failed: certificate for another name"
        ),
        field!(
            bad_certificate,
            "bad certificate",
            "tls handshakes failed: other certificate problems"
        ),
        field!(
            handshake_timeout,
            "handshake timeouts",
            "tls handshakes that timed out"
        ),
        field!(not_tls, "not tls", "connections that did not speak tls"),
        field!(
            alert_received,
            "alerts received",
            "tls handshakes refused by the peer with an alert"
        ),
        field!(
            protocol,
            "protocol errors",
            "tls handshakes failed on other protocol errors"
        ),
        field!(
            truncated,
            "truncated",
            "tls sessions closed by the peer without close_notify"
        ),
    ];

    /// The counts in the order of [`FIELDS`](Self::FIELDS).
    #[cfg(feature = "tls")]
    pub(crate) fn from_counts(counts: [u64; 11]) -> TlsStats {
        let [
            handshakes,
            unknown_issuer,
            expired,
            not_yet_valid,
            name_mismatch,
            bad_certificate,
            handshake_timeout,
            not_tls,
            alert_received,
            protocol,
            truncated,
        ] = counts;
        TlsStats {
            handshakes,
            unknown_issuer,
            expired,
            not_yet_valid,
            name_mismatch,
            bad_certificate,
            handshake_timeout,
            not_tls,
            alert_received,
            protocol,
            truncated,
        }
    }

    /// Handshakes failed, for every reason.
    pub fn failed(&self) -> u64 {
        Self::FIELDS[1..Self::FIELDS.len() - 1]
            .iter()
            .map(|field| field.of(self))
            .sum()
    }
}

impl std::ops::AddAssign for TlsStats {
    fn add_assign(&mut self, other: TlsStats) {
        add_fields(self, &other, Self::FIELDS);
    }
}
