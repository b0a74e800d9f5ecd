//! `GET /metrics`: every figure of the statistics in the Prometheus text format, one series
//! per address (`address` label). The figures are the fields of the `/stats` object, by the
//! same names (`faults.dropped` is `socket_echo_faults_dropped_total`, `tls.handshakes`
//! `socket_echo_tls_handshakes_total`), so the two always agree.

use std::fmt::Write;
use std::time::Duration;

use serde_json::Value;
use socket_echo::{FaultStats, Stats, TlsStats};

use crate::running::Running;
use crate::stats_line::StatsLine;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metric of a gauge whose name is not `socket_echo_FIELD`, as first published.
const ACTIVE: (&str, &str) = ("active", "socket_echo_active_connections");

/// One metric: the field of the statistics object it reads, its name, type and help.
struct Metric {
    field: String,
    name: String,
    kind: &'static str,
    help: String,
}

/// Every metric: one per count of [`Stats::FIELDS`], `NAME` as `socket_echo_NAME_total`
/// for a counter and `socket_echo_NAME` for a gauge (`active`:
/// `socket_echo_active_connections`), then one counter per fault count
/// ([`FaultStats::FIELDS`]), `faults.NAME` as `socket_echo_faults_NAME_total`, and one per
/// TLS count ([`TlsStats::FIELDS`], zero on a plain address), `tls.NAME` as
/// `socket_echo_tls_NAME_total`.
fn metrics() -> Vec<Metric> {
    let plain = Stats::FIELDS.iter().map(|field| {
        let field_name = field.name();
        let (name, kind) = if field.is_cumulative() {
            (format!("socket_echo_{field_name}_total"), "counter")
        } else if field_name == ACTIVE.0 {
            (ACTIVE.1.to_owned(), "gauge")
        } else {
            (format!("socket_echo_{field_name}"), "gauge")
        };
        Metric {
            field: field_name.to_owned(),
            name,
            kind,
            help: format!("{}.", sentence(field.meaning())),
        }
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

/// `meaning` with a capital first letter.
fn sentence(meaning: &str) -> String {
    let mut chars = meaning.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
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

    /// The metrics of the counts of `Stats` keep the names they were published with.
    #[test]
    fn the_plain_metrics_keep_their_names() {
        let names: Vec<(String, &str)> = metrics()
            .into_iter()
            .filter(|m| !m.field.contains('.'))
            .map(|m| (m.name, m.kind))
            .collect();
        let expected = [
            ("socket_echo_accepted_total", "counter"),
            ("socket_echo_active_connections", "gauge"),
            ("socket_echo_refused_total", "counter"),
            ("socket_echo_timed_out_total", "counter"),
            ("socket_echo_errors_total", "counter"),
            ("socket_echo_accept_errors_total", "counter"),
            ("socket_echo_accept_backoffs_total", "counter"),
            ("socket_echo_bytes_in_total", "counter"),
            ("socket_echo_bytes_out_total", "counter"),
            ("socket_echo_datagrams_echoed_total", "counter"),
            ("socket_echo_dropped_denied_port_total", "counter"),
            ("socket_echo_dropped_bad_source_total", "counter"),
            ("socket_echo_dropped_own_address_total", "counter"),
            ("socket_echo_dropped_rate_limited_total", "counter"),
            ("socket_echo_dropped_truncated_total", "counter"),
            ("socket_echo_dropped_send_failed_total", "counter"),
            ("socket_echo_refused_per_source_total", "counter"),
            ("socket_echo_max_connections", "gauge"),
            ("socket_echo_shutdown_resets_total", "counter"),
        ];
        let expected: Vec<(String, &str)> = expected
            .into_iter()
            .map(|(name, kind)| (name.to_owned(), kind))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn help_is_a_sentence() {
        assert_eq!(sentence("bytes echoed"), "Bytes echoed");
        assert_eq!(sentence(""), "");
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
