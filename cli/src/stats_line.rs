//! The statistics as one JSON object, as `serve --json` prints them and the control
//! endpoint's `/stats` answers, and the source of the names `/metrics` gives them.

use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use socket_echo::{FaultStats, Field, Stats, TlsStats};

use crate::json::ms;

/// The statistics as one JSON object: `type` ("stats" or "stopped"), `elapsed_ms`, and one
/// field per counter of `Stats` (docs/cli.md).
#[derive(Serialize)]
pub struct StatsLine {
    r#type: &'static str,
    elapsed_ms: f64,
    accepted: u64,
    active: u64,
    refused: u64,
    timed_out: u64,
    errors: u64,
    accept_errors: u64,
    accept_backoffs: u64,
    bytes_in: u64,
    bytes_out: u64,
    datagrams_echoed: u64,
    dropped_denied_port: u64,
    dropped_bad_source: u64,
    dropped_own_address: u64,
    dropped_rate_limited: u64,
    dropped_truncated: u64,
    dropped_send_failed: u64,
    refused_per_source: u64,
    max_connections: u64,
    shutdown_resets: u64,
    faults: Counts<FaultStats>,
    tls: Counts<TlsStats>,
}

/// A group of counts in a statistics line, the faults injected by kind
/// ([`FaultStats::FIELDS`]) or the TLS handshakes by outcome ([`TlsStats::FIELDS`]): one
/// field per count, by the same name.
struct Counts<S: 'static>(S, &'static [Field<S>]);

impl<G> Serialize for Counts<G> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.1.len()))?;
        for field in self.1 {
            map.serialize_entry(field.name(), &field.of(&self.0))?;
        }
        map.end()
    }
}

impl StatsLine {
    pub fn new(event: &'static str, elapsed: Duration, s: &Stats) -> Self {
        StatsLine {
            r#type: event,
            elapsed_ms: ms(elapsed),
            accepted: s.accepted,
            active: s.active,
            refused: s.refused,
            timed_out: s.timed_out,
            errors: s.errors,
            accept_errors: s.accept_errors,
            accept_backoffs: s.accept_backoffs,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            datagrams_echoed: s.datagrams_echoed,
            dropped_denied_port: s.dropped_denied_port,
            dropped_bad_source: s.dropped_bad_source,
            dropped_own_address: s.dropped_own_address,
            dropped_rate_limited: s.dropped_rate_limited,
            dropped_truncated: s.dropped_truncated,
            dropped_send_failed: s.dropped_send_failed,
            refused_per_source: s.refused_per_source,
            max_connections: s.max_connections,
            shutdown_resets: s.shutdown_resets,
            faults: Counts(s.faults, FaultStats::FIELDS),
            tls: Counts(s.tls, TlsStats::FIELDS),
        }
    }
}
