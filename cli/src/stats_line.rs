//! The statistics as one JSON object, as `serve --json` prints them and the control
//! endpoint's `/stats` answers, and the source of the names `/metrics` gives them.

use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use socket_echo::{FaultStats, Field, Stats, TlsStats};

use crate::json::ms;

/// The statistics as one JSON object: `type` ("stats" or "stopped"), `elapsed_ms`, one
/// field per count of [`Stats::FIELDS`], and the groups `faults` and `tls` (docs/cli.md).
#[derive(Serialize)]
pub struct StatsLine {
    r#type: &'static str,
    elapsed_ms: f64,
    #[serde(flatten)]
    counts: Counts<Stats>,
    faults: Counts<FaultStats>,
    tls: Counts<TlsStats>,
}

/// Counts in a statistics line, those of `Stats` itself ([`Stats::FIELDS`]), the faults
/// injected by kind ([`FaultStats::FIELDS`]) or the TLS handshakes by outcome
/// ([`TlsStats::FIELDS`]): one field per count, by the same name.
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
            counts: Counts(*s, Stats::FIELDS),
            faults: Counts(s.faults, FaultStats::FIELDS),
            tls: Counts(s.tls, TlsStats::FIELDS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The object's fields, in the order it has always had.
    #[test]
    fn the_fields_keep_their_order() {
        let line = StatsLine::new("stats", Duration::ZERO, &Stats::default());
        let json = serde_json::to_string(&line).unwrap_or_default();
        let keys: Vec<&str> = json
            .split(['{', ','])
            .filter_map(|pair| pair.split_once("\":"))
            .filter_map(|(key, _)| key.strip_prefix('"'))
            .take_while(|key| *key != "faults")
            .collect();
        assert_eq!(
            keys,
            [
                "type",
                "elapsed_ms",
                "accepted",
                "active",
                "refused",
                "timed_out",
                "errors",
                "accept_errors",
                "accept_backoffs",
                "bytes_in",
                "bytes_out",
                "datagrams_echoed",
                "dropped_denied_port",
                "dropped_bad_source",
                "dropped_own_address",
                "dropped_rate_limited",
                "dropped_truncated",
                "dropped_send_failed",
                "refused_per_source",
                "max_connections",
                "shutdown_resets",
            ]
        );
        assert!(json.contains(",\"faults\":{\"delayed\":0,"), "{json}");
        assert!(json.contains(",\"truncated\":0,"), "{json}");
        assert!(json.ends_with("\"alpn_none\":0}}"), "{json}");
    }
}
