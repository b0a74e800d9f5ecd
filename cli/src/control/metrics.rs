//! `GET /metrics`: every figure of the statistics in the Prometheus text format, one series
//! per address (`address` label). The figures are the fields of the `/stats` object, by the
//! same names (`faults.dropped` is `socket_echo_faults_dropped_total`, `tls.handshakes`
//! `socket_echo_tls_handshakes_total`), so the two always agree.

use std::fmt::Write;
use std::time::Duration;

use serde_json::Value;
use socket_echo::{FaultStats, TlsStats};

use crate::running::Running;
use crate::stats_line::StatsLine;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every field of a statistics object but the faults': its metric's name, type and help.
#[rustfmt::skip]
const METRICS: &[(&str, &str, &str, &str)] = &[
    ("accepted", "socket_echo_accepted_total", "counter", "Stream connections accepted, including those refused by the limit."),
    ("active", "socket_echo_active_connections", "gauge", "Stream connections open now."),
    ("refused", "socket_echo_refused_total", "counter", "Stream connections closed at once because --max-connections were open."),
    ("timed_out", "socket_echo_timed_out_total", "counter", "Stream connections closed by --idle-timeout."),
    ("errors", "socket_echo_errors_total", "counter", "Stream connections that ended with an error (a reset, a broken pipe)."),
    ("accept_errors", "socket_echo_accept_errors_total", "counter", "Accept calls that failed."),
    ("accept_backoffs", "socket_echo_accept_backoffs_total", "counter", "Times accepting paused for lack of descriptors or memory."),
    ("bytes_in", "socket_echo_bytes_in_total", "counter", "Bytes received."),
    ("bytes_out", "socket_echo_bytes_out_total", "counter", "Bytes echoed."),
    ("datagrams_echoed", "socket_echo_datagrams_echoed_total", "counter", "Datagrams answered."),
    ("dropped_denied_port", "socket_echo_dropped_denied_port_total", "counter", "Datagrams from a --deny-ports port, not answered."),
    ("dropped_bad_source", "socket_echo_dropped_bad_source_total", "counter", "Datagrams from a multicast, broadcast, unspecified or unnamed source, not answered."),
    ("dropped_own_address", "socket_echo_dropped_own_address_total", "counter", "Datagrams whose source is the server's own address, not answered."),
    ("dropped_rate_limited", "socket_echo_dropped_rate_limited_total", "counter", "Datagrams answering the recent replies to their source past --source-rate-limit, not answered."),
    ("dropped_truncated", "socket_echo_dropped_truncated_total", "counter", "Datagrams larger than --buffer-size, not answered."),
    ("dropped_send_failed", "socket_echo_dropped_send_failed_total", "counter", "Replies the system would not send."),
    ("refused_per_source", "socket_echo_refused_per_source_total", "counter", "Stream connections closed at once because --max-connections-per-source were open from their address."),
    ("max_connections", "socket_echo_max_connections", "gauge", "The connection cap in force (0 on a datagram address)."),
    ("shutdown_resets", "socket_echo_shutdown_resets_total", "counter", "Connections reset at the end of the shutdown grace, still owed bytes."),
];

/// One metric: the field of the statistics object it reads, its name, type and help.
struct Metric {
    field: String,
    name: String,
    kind: &'static str,
    help: String,
}

/// Every metric: those of [`METRICS`], then one counter per fault count
/// ([`FaultStats::FIELDS`]), `faults.NAME` as `socket_echo_faults_NAME_total`, and one per
/// TLS count ([`TlsStats::FIELDS`], zero on a plain address), `tls.NAME` as
/// `socket_echo_tls_NAME_total`.
fn metrics() -> Vec<Metric> {
    let plain = METRICS.iter().map(|&(field, name, kind, help)| Metric {
        field: field.to_owned(),
        name: name.to_owned(),
        kind,
        help: help.to_owned(),
    });
    let faults = FaultStats::FIELDS.iter().map(|field| Metric {
        field: format!("faults.{}", field.name()),
        name: format!("socket_echo_faults_{}_total", field.name()),
        kind: "counter",
        help: format!("Fault: {}.", field.meaning()),
    });
    let tls = TlsStats::FIELDS.iter().map(|field| Metric {
        field: format!("tls.{}", field.name()),
        name: format!("socket_echo_tls_{}_total", field.name()),
        kind: "counter",
        help: format!("TLS: {}.", field.meaning()),
    });
    plain.chain(faults).chain(tls).collect()
}

/// The figures of a statistics object by field name (`faults.dropped` for the nested ones),
/// without `type` and `elapsed_ms`, which are not counters.
pub fn figures(line: &StatsLine) -> Vec<(String, u64)> {
    let mut figures = Vec::new();
    let Ok(Value::Object(object)) = serde_json::to_value(line) else {
        return figures;
    };
    for (key, value) in object {
        match value {
            Value::Number(number) if key != "elapsed_ms" => {
                figures.push((key, number.as_u64().unwrap_or_default()));
            }
            Value::Object(inner) => figures.extend(inner.into_iter().map(|(name, value)| {
                (format!("{key}.{name}"), value.as_u64().unwrap_or_default())
            })),
            _ => {}
        }
    }
    figures
}

/// The text format of every server's statistics.
pub fn render(servers: &[Box<dyn Running>], elapsed: Duration) -> String {
    let series: Vec<(&str, Vec<(String, u64)>)> = servers
        .iter()
        .map(|server| {
            let line = StatsLine::new("stats", elapsed, &server.stats());
            (server.address(), figures(&line))
        })
        .collect();
    let mut text = String::new();
    for Metric {
        field,
        name,
        kind,
        help,
    } in metrics()
    {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (address, figures) in &series {
            let value = figures
                .iter()
                .find(|(key, _)| *key == field)
                .map_or(0, |&(_, value)| value);
            let _ = writeln!(text, "{name}{{address=\"{}\"}} {value}", label(address));
        }
    }
    text
}

/// A label value, escaped as the text format wants it.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket_echo::Stats;

    /// Every field of the statistics object has a metric, and every metric a field: a
    /// counter added to `Stats` and printed by `--json` cannot be missing from `/metrics`.
    #[test]
    fn every_figure_of_the_statistics_is_a_metric() {
        let line = StatsLine::new("stats", Duration::ZERO, &Stats::default());
        let mut fields: Vec<String> = figures(&line).into_iter().map(|(f, _)| f).collect();
        let mut metrics: Vec<String> = metrics().into_iter().map(|m| m.field).collect();
        fields.sort();
        metrics.sort();
        assert_eq!(fields, metrics);
    }

    #[test]
    fn counters_end_in_total_and_gauges_do_not() {
        for Metric { name, kind, .. } in metrics() {
            assert_eq!(name.ends_with("_total"), kind == "counter", "{name}");
        }
    }

    #[test]
    fn a_label_is_escaped() {
        assert_eq!(label("unix:/tmp/a\"b\\c\nd"), "unix:/tmp/a\\\"b\\\\c\\nd");
    }
}
