//! What `serve` prints: where it listens, and its statistics, as text or JSON lines.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use socket_echo::{Certificate, FaultStats, Field, Stats, TlsStats};

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

/// The counts of `Stats` outside its groups as text, one `{NAME}` for each count of
/// [`Stats::FIELDS`] (a test checks that each is here, once).
const TEXT: &str = "  \
    connections: {accepted} accepted, {active} active, {refused} refused by limit, \
    {timed_out} closed idle, {errors} failed
  refused: {refused_per_source} per source; cap in force {max_connections}; \
    {shutdown_resets} reset at shutdown
  accept errors: {accept_errors} ({accept_backoffs} pauses)
  bytes: {bytes_in} in, {bytes_out} out
  datagrams: {datagrams_echoed} echoed; dropped: {dropped_denied_port} denied port, \
    {dropped_bad_source} bad source, {dropped_own_address} own address, \
    {dropped_rate_limited} rate-limited, {dropped_truncated} truncated, \
    {dropped_send_failed} send failed";

/// Every count of a group, `N label` each, joined by commas.
fn counts<S>(stats: &S, fields: &[Field<S>]) -> String {
    let counts: Vec<String> = fields
        .iter()
        .map(|field| format!("{} {}", field.of(stats), field.label()))
        .collect();
    counts.join(", ")
}

/// [`TEXT`] with the counts of `stats`.
fn text(stats: &Stats) -> String {
    Stats::FIELDS.iter().fold(TEXT.to_owned(), |text, field| {
        text.replace(
            &format!("{{{}}}", field.name()),
            &field.of(stats).to_string(),
        )
    })
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
    out.line(format_args!("{title}\n{}", text(stats)));
    if stats.faults.total() > 0 {
        out.line(format_args!(
            "  faults: {}",
            counts(&stats.faults, FaultStats::FIELDS)
        ));
    }
    if stats.tls != TlsStats::default() {
        out.line(format_args!(
            "  tls: {}",
            counts(&stats.tls, TlsStats::FIELDS)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every count of `Stats::FIELDS` is in the text once, and the text names nothing else:
    /// a count added to `Stats` cannot be left out of the statistics line.
    #[test]
    fn the_text_shows_every_count_once() {
        for field in Stats::FIELDS {
            let slot = format!("{{{}}}", field.name());
            assert_eq!(TEXT.matches(&slot).count(), 1, "{slot}");
        }
        let filled = text(&Stats::default());
        assert!(!filled.contains('{'), "{filled}");
    }

    /// The text as it has always been printed (the README shows it).
    #[test]
    fn the_text_is_unchanged() {
        let mut stats = Stats::default();
        stats.accepted = 63;
        stats.bytes_in = 1567167834;
        stats.bytes_out = 1567167834;
        stats.datagrams_echoed = 201779;
        stats.max_connections = 16384;
        assert_eq!(
            text(&stats),
            "  connections: 63 accepted, 0 active, 0 refused by limit, 0 closed idle, 0 failed\n\
             \x20 refused: 0 per source; cap in force 16384; 0 reset at shutdown\n\
             \x20 accept errors: 0 (0 pauses)\n\
             \x20 bytes: 1567167834 in, 1567167834 out\n\
             \x20 datagrams: 201779 echoed; dropped: 0 denied port, 0 bad source, 0 own address, \
             0 rate-limited, 0 truncated, 0 send failed"
        );
    }

    /// The `tls` line ends with the handshakes by ALPN protocol.
    #[test]
    fn the_tls_line_shows_the_alpn_counts() {
        let mut tls = TlsStats::default();
        tls.handshakes = 3;
        tls.alpn_h2 = 2;
        tls.alpn_other = 1;
        let line = counts(&tls, TlsStats::FIELDS);
        assert!(
            line.starts_with("3 handshakes, 0 unknown issuer, "),
            "{line}"
        );
        assert!(
            line.ends_with(", 0 truncated, 2 alpn h2, 0 alpn http/1.1, 1 alpn other, 0 alpn none"),
            "{line}"
        );
    }
}
