//! [`FaultStats`]: the faults a server injected, by kind.

use super::field::{Field, add_all, field};

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

/// One count of [`FaultStats`].
pub type FaultField = Field<FaultStats>;

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
        add_all(self, &other, Self::FIELDS);
    }
}
