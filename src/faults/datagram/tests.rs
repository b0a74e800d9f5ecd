//! The datagram faults' draws, without sockets.

use std::net::SocketAddr;

use super::*;
use crate::faults::{Fault, Faults};

fn state(faults: Faults) -> (Switch, State<SocketAddr>) {
    let switch = Switch::default();
    switch.set(faults);
    let mut state = State::new();
    state.refresh(&switch);
    (switch, state)
}

fn source() -> SocketAddr {
    "127.0.0.1:4000".parse().unwrap()
}

fn drops(faults: Faults, count: usize) -> Vec<bool> {
    let (_, mut state) = state(faults);
    let counters = Counters::default();
    (0..count)
        .map(|_| state.decide(64, &source(), &counters).dropped)
        .collect()
}

#[test]
fn the_same_seed_drops_the_same_datagrams_and_another_seed_others() {
    let faults = |seed| Faults::new().with(Fault::drop(0.3)).with_seed(seed);
    let a = drops(faults(1), 200);
    assert_eq!(a, drops(faults(1), 200));
    assert_ne!(a, drops(faults(2), 200));
    let lost = a.iter().filter(|&&d| d).count();
    assert!((30..=90).contains(&lost), "{lost}");
}

#[test]
fn bursty_drops_come_in_runs_of_the_mean_length_at_the_long_run_rate() {
    let lost = drops(
        Faults::new().with(Fault::burst_drop(0.2, 4.0)).with_seed(5),
        40_000,
    );
    let total = lost.iter().filter(|&&d| d).count() as f64;
    let runs = lost.windows(2).filter(|w| !w[0] && w[1]).count() as f64;
    let rate = total / lost.len() as f64;
    let mean_run = total / runs;
    assert!((0.17..0.23).contains(&rate), "loss rate {rate}");
    assert!((3.4..4.6).contains(&mean_run), "mean burst {mean_run}");
}

#[test]
fn conditions_pick_the_datagrams() {
    let first_two = drops(Faults::new().with(Fault::drop(1.0).with_connections(2)), 5);
    assert_eq!(first_two, [true, true, false, false, false]);
    let after_two = drops(Faults::new().with(Fault::drop(1.0).with_after(2)), 5);
    assert_eq!(after_two, [false, false, true, true, true]);
    let other: SocketAddr = "127.0.0.1:4001".parse().unwrap();
    let someone_else = drops(Faults::new().with(Fault::drop(1.0).with_peer(other)), 3);
    assert_eq!(someone_else, [false, false, false]);
    let this_ip = drops(
        Faults::new().with(Fault::drop(1.0).with_peer_ip(source().ip())),
        3,
    );
    assert_eq!(this_ip, [true, true, true]);
}

#[test]
fn truncate_and_corrupt_say_what_they_change() {
    let (_, mut state) = state(
        Faults::new()
            .with(Fault::truncate(10))
            .with(Fault::corrupt(1.0)),
    );
    let counters = Counters::default();
    let verdict = state.decide(64, &source(), &counters);
    assert_eq!(verdict.len, Some(10));
    let (offset, mask) = verdict.flip.unwrap();
    assert!(offset < 10 && mask != 0);
    let short = state.decide(4, &source(), &counters);
    assert_eq!(short.len, None);
    let empty = state.decide(0, &source(), &counters);
    assert_eq!(empty.flip, None);
}
