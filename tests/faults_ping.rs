//! RELIABILITY 36 through `ping`: lost, duplicated, late and corrupted probes, the delay in
//! the percentiles, and the same losses for the same seed, over every transport.

#![cfg(feature = "measure")]

mod faults_support;
mod transports;
mod util;

use std::time::Duration;

use faults_support::{PATIENCE, client, faults};
use socket_echo::{EchoServer, Options, Outcome, Ping, PingSummary};
use transports::{Kind, Site};

/// A server of `site`'s transport with `specs` (and `seed`) and a ping against it, with
/// every event.
fn ping<T: Kind>(
    site: &Site<T>,
    specs: &str,
    seed: u64,
    ping: &Ping,
) -> (Vec<(u64, Outcome)>, PingSummary) {
    let handle = EchoServer::bind_on_with(site.transport, site.addr(), Options::new())
        .unwrap()
        .with_faults(faults(specs, seed))
        .unwrap()
        .spawn()
        .unwrap();
    let resends = transports::is_datagram::<T>().then_some(0);
    let mut client = client(site.transport, handle.local_addr(), PATIENCE, resends);
    let mut events = Vec::new();
    let summary = client
        .ping(ping, |probe| events.push((probe.seq(), probe.outcome())))
        .unwrap();
    (events, summary)
}

fn quick(count: u64, timeout_ms: u64) -> Ping {
    Ping::new()
        .with_count(count)
        .with_interval(Duration::ZERO)
        .with_timeout(Duration::from_millis(timeout_ms))
}

fn drop_1_loses_every_probe<T: Kind>(site: &Site<T>) {
    let (events, summary) = ping(site, "drop=1", 0, &quick(5, 100));
    assert_eq!(
        (summary.sent(), summary.lost(), summary.received()),
        (5, 5, 0)
    );
    assert!(events.iter().all(|(_, outcome)| *outcome == Outcome::Lost));
}

fn the_same_seed_loses_the_same_probes<T: Kind>(site: &Site<T>) {
    // The probes dropped: lost, and not answered late (a reply slower than the timeout on a
    // busy machine is reported late, not taken for a drop).
    let lost = |seed| {
        let (events, _) = ping(site, "drop=0.3", seed, &quick(30, 200));
        let late: Vec<u64> = events
            .iter()
            .filter(|(_, outcome)| matches!(outcome, Outcome::Late { .. }))
            .map(|(seq, _)| *seq)
            .collect();
        events
            .into_iter()
            .filter(|(seq, outcome)| *outcome == Outcome::Lost && !late.contains(seq))
            .map(|(seq, _)| seq)
            .collect::<Vec<_>>()
    };
    let first = lost(1);
    assert!(!first.is_empty() && first.len() < 30, "{first:?}");
    assert_eq!(first, lost(1));
    assert_ne!(first, lost(2));
}

fn duplicate_1_reports_every_duplicate_it_waits_long_enough_for<T: Kind>(site: &Site<T>) {
    // The duplicate of each probe is read while the next one waits; the last one's comes
    // after the run.
    let (_, summary) = ping(site, "duplicate=1", 0, &quick(5, 1000));
    assert_eq!((summary.received(), summary.duplicates()), (5, 4));
}

fn reordered_probes_are_lost_then_late<T: Kind>(site: &Site<T>) {
    // Every other reply is held behind the next: probes 0, 2 and 4 time out, and their
    // replies come right after those of 1 and 3 (the one of 4 after the run).
    let (events, summary) = ping(site, "reorder=1,hold=10s", 0, &quick(6, 300));
    assert_eq!(
        (summary.received(), summary.lost(), summary.late()),
        (3, 3, 2),
        "{events:?}"
    );
    let late: Vec<u64> = events
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Outcome::Late { .. }))
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(late, [0, 2]);
}

fn corrupted_probes_are_errors_never_replies<T: Kind>(site: &Site<T>) {
    let (events, summary) = ping(site, "corrupt=1", 3, &quick(5, 100));
    assert_eq!(summary.received(), 0, "{events:?}");
    assert!(summary.errors() >= 1, "{events:?}");
    assert_eq!(summary.received() + summary.lost() + mismatched(&events), 5);
}

fn mismatched(events: &[(u64, Outcome)]) -> u64 {
    events
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Outcome::Mismatch { .. }))
        .count() as u64
}

fn a_datagram_delay_is_in_the_percentiles<T: Kind>(site: &Site<T>) {
    let (_, summary) = ping(site, "delay=50ms", 0, &quick(5, 1000));
    assert_eq!(summary.received(), 5);
    assert!(summary.latency().p50() >= Duration::from_millis(50));
    assert!(summary.latency().min() >= Duration::from_millis(50));
}

fn a_stream_delay_is_in_the_percentiles<T: Kind>(site: &Site<T>) {
    let (_, summary) = ping(site, "delay=50ms", 0, &quick(5, 1000));
    assert_eq!(summary.received(), 5);
    assert!(summary.latency().p50() >= Duration::from_millis(50));
    assert!(summary.latency().min() >= Duration::from_millis(50));
}

fn a_stream_closed_after_n_probes_ends_the_run<T: Kind>(site: &Site<T>) {
    // Three 64-byte probes go through; the fourth meets the end of the stream.
    let (_, mut summary) = ping(site, "close-after=192", 0, &quick(10, 1000));
    assert_eq!(summary.received(), 3);
    assert!(matches!(
        summary.take_error(),
        Some(socket_echo::Error::ShortEcho { received: 0, .. })
    ));
}

over_datagram_transports!(
    drop_1_loses_every_probe,
    the_same_seed_loses_the_same_probes,
    duplicate_1_reports_every_duplicate_it_waits_long_enough_for,
    reordered_probes_are_lost_then_late,
    corrupted_probes_are_errors_never_replies,
    a_datagram_delay_is_in_the_percentiles,
);

over_stream_transports!(
    a_stream_delay_is_in_the_percentiles,
    a_stream_closed_after_n_probes_ends_the_run,
);
