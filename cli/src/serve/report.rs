//! What `serve` prints: where it listens, and its statistics, as text or JSON lines.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use socket_echo::{Certificate, FaultStats, Stats, TlsStats};

use crate::flags::Failure;
use crate::out::Out;
use crate::running::Running;
use crate::stats_line::StatsLine;

/// `serve --json`: where a server listens (`listening`), or the control endpoint
/// (`control`), and for a TLS server its certificate's SHA-256 fingerprint.
#[derive(Serialize)]
struct Listening<'a> {
    r#type: &'static str,
    address: &'a str,
    /// `null` for the control endpoint and the plain transports.
    certificate_sha256: Option<String>,
}

/// Prints where a server (`listening`) or the control endpoint (`control`) listens:
/// `listening on ADDRESS`, `control on ADDRESS`, or the JSON line; for a TLS server, the
/// fingerprint of the certificate it presents (`certificate of ADDRESS: sha256 AB:...`, or
/// the JSON line's `certificate_sha256`).
pub(super) fn announce(
    out: &mut Out,
    json: bool,
    what: &'static str,
    address: &str,
    certificate: Option<&Certificate>,
) {
    let fingerprint = certificate.map(|certificate| certificate.fingerprint().to_string());
    if json {
        let line = Listening {
            r#type: what,
            address,
            certificate_sha256: fingerprint,
        };
        out.line(serde_json::to_string(&line).unwrap_or_default());
    } else {
        out.line(format_args!("{what} on {address}"));
        if let Some(fingerprint) = fingerprint {
            out.line(format_args!(
                "certificate of {address}: sha256 {fingerprint}"
            ));
        }
    }
}

/// `--cert-out`: the PEM of every certificate the TLS servers present, each once (they
/// differ when each made its own).
pub(super) fn write_certificates<'a>(
    path: &Path,
    certificates: impl Iterator<Item = &'a Certificate>,
) -> Result<(), Failure> {
    let mut pem = String::new();
    let mut written = Vec::new();
    for certificate in certificates {
        if !written.contains(&certificate.fingerprint()) {
            written.push(certificate.fingerprint());
            pem.push_str(&certificate.pem());
        }
    }
    std::fs::write(path, pem).map_err(|error| {
        Failure::failed(
            "io",
            format!("cannot write --cert-out {}: {error}", path.display()),
        )
    })
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
    if stats.tls != TlsStats::default() {
        let counts: Vec<String> = TlsStats::FIELDS
            .iter()
            .map(|field| format!("{} {}", field.of(&stats.tls), field.label()))
            .collect();
        out.line(format_args!("  tls: {}", counts.join(", ")));
    }
}
