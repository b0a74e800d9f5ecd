//! The statistics as one JSON object, as `serve --json` prints them and the control
//! endpoint's `/stats` answers, and the source of the names `/metrics` gives them.

use std::time::Duration;

use serde::Serialize;
use socket_echo::{FaultStats, Stats};

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
    faults: FaultsLine,
}

/// The faults injected, by kind, in a statistics line.
#[derive(Serialize)]
pub struct FaultsLine {
    pub delayed: u64,
    pub sliced: u64,
    pub rate_limited: u64,
    pub stalled: u64,
    pub closed: u64,
    pub reset: u64,
    pub slow_closed: u64,
    pub blackholed: u64,
    pub went_down: u64,
    pub reset_by_down: u64,
    pub ignored_while_down: u64,
    pub accept_closed: u64,
    pub accept_delayed: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub truncated: u64,
    pub corrupted: u64,
    pub overflowed: u64,
}

impl FaultsLine {
    pub fn new(f: &FaultStats) -> Self {
        FaultsLine {
            delayed: f.delayed,
            sliced: f.sliced,
            rate_limited: f.rate_limited,
            stalled: f.stalled,
            closed: f.closed,
            reset: f.reset,
            slow_closed: f.slow_closed,
            blackholed: f.blackholed,
            went_down: f.went_down,
            reset_by_down: f.reset_by_down,
            ignored_while_down: f.ignored_while_down,
            accept_closed: f.accept_closed,
            accept_delayed: f.accept_delayed,
            dropped: f.dropped,
            duplicated: f.duplicated,
            reordered: f.reordered,
            truncated: f.truncated,
            corrupted: f.corrupted,
            overflowed: f.overflowed,
        }
    }

    pub fn total(&self) -> u64 {
        self.delayed
            + self.sliced
            + self.rate_limited
            + self.stalled
            + self.closed
            + self.reset
            + self.slow_closed
            + self.blackholed
            + self.went_down
            + self.reset_by_down
            + self.ignored_while_down
            + self.accept_closed
            + self.accept_delayed
            + self.dropped
            + self.duplicated
            + self.reordered
            + self.truncated
            + self.corrupted
            + self.overflowed
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
            faults: FaultsLine::new(&s.faults),
        }
    }
}
