//! The side-by-side table: medians per server, and `ours` against each peer.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{Better, Results, Workload};
use crate::peers::Kind;

/// A ratio over rounds: its median, min and max.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Median over rounds.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Rounds it was computed over.
    pub rounds: usize,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The workload.
    pub workload: Workload,
    /// The metric, with its unit.
    pub metric: &'static str,
    /// Which way is better.
    pub better: Better,
    /// Median over rounds, per server.
    pub medians: BTreeMap<Kind, f64>,
    /// `ours` ÷ peer, round by round, per peer.
    pub ours_vs: BTreeMap<Kind, Spread>,
}

pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Folds the rounds into rows: per workload and metric, in the order of [`Workload::ALL`]
/// then [`Workload::UNIX`] and [`Workload::TLS`].
pub fn summarize(results: &Results, servers: &[Kind]) -> Vec<Row> {
    let mut keys: Vec<(Workload, &'static str, Better)> = Vec::new();
    for r in &results.records {
        if !keys.iter().any(|k| k.0 == r.workload && k.1 == r.metric) {
            keys.push((r.workload, r.metric, r.better));
        }
    }
    keys.sort_by_key(|k| {
        Workload::ALL
            .iter()
            .chain(&Workload::UNIX)
            .chain(&Workload::TLS)
            .position(|w| *w == k.0)
    });
    keys.into_iter()
        .map(|(workload, metric, better)| {
            let value = |server: Kind, round: usize| {
                results
                    .records
                    .iter()
                    .find(|r| {
                        r.workload == workload
                            && r.metric == metric
                            && r.server == server
                            && r.round == round
                    })
                    .map(|r| r.value)
            };
            let rounds: Vec<usize> = {
                let mut rounds: Vec<usize> = results.records.iter().map(|r| r.round).collect();
                rounds.sort_unstable();
                rounds.dedup();
                rounds
            };
            let mut medians = BTreeMap::new();
            let mut ours_vs = BTreeMap::new();
            for &server in servers {
                let mut values: Vec<f64> = rounds
                    .iter()
                    .filter_map(|&round| value(server, round))
                    .collect();
                if let Some(m) = median(&mut values) {
                    medians.insert(server, m);
                }
                if server == Kind::Ours || !servers.contains(&Kind::Ours) {
                    continue;
                }
                let mut ratios: Vec<f64> = rounds
                    .iter()
                    .filter_map(
                        |&round| match (value(Kind::Ours, round), value(server, round)) {
                            (Some(ours), Some(peer)) if peer != 0.0 => Some(ours / peer),
                            _ => None,
                        },
                    )
                    .collect();
                if let Some(m) = median(&mut ratios) {
                    ours_vs.insert(
                        server,
                        Spread {
                            median: m,
                            min: ratios[0],
                            max: ratios[ratios.len() - 1],
                            rounds: ratios.len(),
                        },
                    );
                }
            }
            Row {
                workload,
                metric,
                better,
                medians,
                ours_vs,
            }
        })
        .collect()
}

/// A figure with as many digits as it deserves: thousands separated, three significant
/// digits below 100.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let digits = format!("{:.0}", a);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 { format!("-{out}") } else { out }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The table in markdown: one row per workload and metric, the median of each server, then
/// `ours ÷ peer` as "median (min..max)" over rounds. A cell is "fail" when that server's runs
/// of that workload all failed, "–" when it was not run.
pub fn render_markdown(rows: &[Row], servers: &[Kind], results: &Results) -> String {
    let peers: Vec<Kind> = if servers.contains(&Kind::Ours) {
        servers
            .iter()
            .copied()
            .filter(|&k| k != Kind::Ours)
            .collect()
    } else {
        Vec::new()
    };
    let mut out = String::new();
    let _ = write!(out, "| workload | metric |");
    for s in servers {
        let _ = write!(out, " {s} |");
    }
    for p in &peers {
        let _ = write!(out, " ours ÷ {p} |");
    }
    out.push('\n');
    out.push_str("|---|---|");
    for _ in 0..servers.len() + peers.len() {
        out.push_str("---:|");
    }
    out.push('\n');
    for row in rows {
        let arrow = match row.better {
            Better::Higher => "↑",
            Better::Lower => "↓",
        };
        let _ = write!(out, "| {} | {} {arrow} |", row.workload, row.metric);
        for s in servers {
            let cell = match row.medians.get(s) {
                Some(v) => number(*v),
                None if failed(results, *s, row.workload) => "fail".to_string(),
                None => "–".to_string(),
            };
            let _ = write!(out, " {cell} |");
        }
        for p in &peers {
            let cell = match row.ours_vs.get(p) {
                Some(r) => format!("{} ({}..{})", ratio(r.median), ratio(r.min), ratio(r.max)),
                None => "–".to_string(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// A ratio to two decimals, or three significant digits when it is small.
pub(crate) fn ratio(r: f64) -> String {
    if r == 0.0 {
        "0".to_string()
    } else if r.abs() >= 0.1 {
        format!("{r:.2}")
    } else {
        format!("{r:.2e}")
    }
}

fn failed(results: &Results, server: Kind, workload: Workload) -> bool {
    results
        .failures
        .iter()
        .any(|f| f.server == server && f.workload == workload.run())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Record;

    fn record(round: usize, server: Kind, value: f64) -> Record {
        Record {
            round,
            server,
            workload: Workload::Tcp50,
            metric: "msgs/s",
            better: Better::Higher,
            value,
        }
    }

    #[test]
    fn ratios_are_taken_round_by_round() {
        let results = Results {
            records: vec![
                record(1, Kind::Ours, 120.0),
                record(1, Kind::Tokio, 100.0),
                record(2, Kind::Ours, 90.0),
                record(2, Kind::Tokio, 100.0),
                record(3, Kind::Ours, 200.0),
                record(3, Kind::Tokio, 100.0),
            ],
            clients: Vec::new(),
            failures: Vec::new(),
        };
        let rows = summarize(&results, &[Kind::Tokio, Kind::Ours]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].medians[&Kind::Ours], 120.0);
        let r = rows[0].ours_vs[&Kind::Tokio];
        assert_eq!((r.median, r.min, r.max, r.rounds), (1.2, 0.9, 2.0, 3));
        let table = render_markdown(&rows, &[Kind::Tokio, Kind::Ours], &results);
        assert!(
            table.contains("| tcp-50 | msgs/s ↑ | 100 | 120 | 1.20 (0.90..2.00) |"),
            "{table}"
        );
    }

    #[test]
    fn numbers_get_separators() {
        assert_eq!(number(143_210.4), "143,210");
        assert_eq!(number(57.25), "57.2");
        assert_eq!(number(0.061), "0.06");
    }
}
