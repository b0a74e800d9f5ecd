//! What `serve` prints: where it listens, and its statistics, as text or JSON lines.

use std::time::Duration;

use serde::Serialize;
use socket_echo::{FaultStats, Stats};

use crate::out::Out;
use crate::running::Running;
use crate::stats_line::StatsLine;

/// `serve --json`: where a server listens (`listening`), or the control endpoint
/// (`control`).
#[derive(Serialize)]
struct Listening<'a> {
    r#type: &'static str,
    address: &'a str,
}

/// Prints where a server (`listening`) or the control endpoint (`control`) listens:
/// `listening on ADDRESS`, `control on ADDRESS`, or the JSON line.
pub(super) fn announce(out: &mut Out, json: bool, what: &'static str, address: &str) {
    if json {
        let line = Listening {
            r#type: what,
            address,
        };
        out.line(serde_json::to_string(&line).unwrap_or_default());
    } else {
        out.line(format_args!("{what} on {address}"));
    }
}

/// The statistics of every server, summed.
pub(super) fn sum(servers: &[Box<dyn Running>]) -> Stats {
    let mut total = Stats::default();
    for server in servers.iter() {
        total += server.stats();
    }
    total
}

pub(super) fn print_stats(
    out: &mut Out,
    json: bool,
    event: &'static str,
    elapsed: Duration,
    stats: &Stats,
) {
    if json {
        let line = StatsLine::new(event, elapsed, stats);
        out.line(serde_json::to_string(&line).unwrap_or_default());
        return;
    }
    let title = if event == "stopped" {
        "stopped; final statistics:".to_owned()
    } else {
        format!("statistics after {:.1} s:", elapsed.as_secs_f64())
    };
    out.line(format_args!(
        "{title}\n\
         \x20 connections: {} accepted, {} active, {} refused by limit, {} closed idle, {} failed\n\
         \x20 refused: {} per source; cap in force {}; {} reset at shutdown\n\
         \x20 accept errors: {} ({} pauses)\n\
         \x20 bytes: {} in, {} out\n\
         \x20 datagrams: {} echoed; dropped: {} denied port, {} bad source, {} own address, \
         {} rate-limited, {} truncated, {} send failed",
        stats.accepted,
        stats.active,
        stats.refused,
        stats.timed_out,
        stats.errors,
        stats.refused_per_source,
        stats.max_connections,
        stats.shutdown_resets,
        stats.accept_errors,
        stats.accept_backoffs,
        stats.bytes_in,
        stats.bytes_out,
        stats.datagrams_echoed,
        stats.dropped_denied_port,
        stats.dropped_bad_source,
        stats.dropped_own_address,
        stats.dropped_rate_limited,
        stats.dropped_truncated,
        stats.dropped_send_failed
    ));
    if stats.faults.total() > 0 {
        let counts: Vec<String> = FaultStats::FIELDS
            .iter()
            .map(|field| format!("{} {}", field.of(&stats.faults), field.label()))
            .collect();
        out.line(format_args!("  faults: {}", counts.join(", ")));
    }
}
