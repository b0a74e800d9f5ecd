//! The SPEC text, parsed and printed: each part refused with its reason, every fault
//! printed back to what it parses from.

use super::*;
use crate::options::MAX_DURATION;

fn parse(spec: &str) -> Fault {
    spec.parse()
        .unwrap_or_else(|e| panic!("{spec:?} refused: {e}"))
}

/// The part named by the refusal of `spec`.
fn refused(spec: &str) -> String {
    match spec.parse::<Fault>() {
        Err(Error::InvalidFault { fault, .. }) => fault,
        other => panic!("{spec:?} should be refused, got {other:?}"),
    }
}

#[test]
fn every_example_of_the_tool_parses_to_its_fault() {
    let ms = Duration::from_millis;
    for (spec, fault) in [
        ("delay=50ms,jitter=10ms", Fault::delay(ms(50), ms(10))),
        (
            "delay=50ms,jitter=10ms,dist=paretonormal,correlation=30%",
            Fault::delay_with(ms(50), ms(10), Distribution::ParetoNormal, 0.3),
        ),
        ("slice=16,pause=5ms", Fault::slice(16, ms(5))),
        ("rate=64KiB", Fault::rate(65_536)),
        ("shared-rate=1MB/s", Fault::shared_rate(1_000_000)),
        ("stall-after=1000", Fault::stall_after(1000)),
        ("close-after=1000", Fault::close_after(1000)),
        ("reset-after=1000", Fault::reset_after(1000)),
        (
            "reset-after=2s",
            Fault::reset_after_time(Duration::from_secs(2)),
        ),
        ("reset-in=2s", Fault::reset_in(Duration::from_secs(2))),
        ("close-in=1.5s", Fault::close_in(ms(1500))),
        ("slow-close=500ms", Fault::slow_close(ms(500))),
        ("blackhole", Fault::blackhole()),
        ("accept-close", Fault::accept_close()),
        ("accept-delay=200ms", Fault::accept_delay(ms(200))),
        ("drop=0.3", Fault::drop(0.3)),
        ("drop=0.05,burst=4", Fault::burst_drop(0.05, 4.0)),
        ("duplicate=0.1", Fault::duplicate(0.1)),
        ("reorder=0.1", Fault::reorder(0.1)),
        (
            "reorder=10%,hold=5s",
            Fault::reorder_for(0.1, Duration::from_secs(5)),
        ),
        ("truncate=100", Fault::truncate(100)),
        ("corrupt=0.01", Fault::corrupt(0.01)),
        ("drop", Fault::drop(1.0)),
    ] {
        assert_eq!(parse(spec), fault, "{spec}");
    }
}

#[test]
fn the_common_keys_are_accepted_by_every_kind() {
    let fault = parse("close-after=10,probability=0.5,connections=2,after=7,peer=127.0.0.1");
    assert_eq!(
        fault,
        Fault::close_after(10)
            .with_probability(0.5)
            .with_connections(2)
            .with_after(7)
            .with_peer_ip("127.0.0.1".parse().unwrap())
    );
    let fault = parse("truncate=1,datagrams=3,peer=[::1]:4000");
    assert_eq!(
        fault,
        Fault::truncate(1)
            .with_connections(3)
            .with_peer("[::1]:4000".parse::<SocketAddr>().unwrap())
    );
    let fault = parse("duplicate,probability=0.25,peer=@client");
    assert_eq!(fault.probability(), 0.25);
    assert!(
        parse("drop=1,peer=/tmp/client.sock")
            .to_string()
            .ends_with("peer=/tmp/client.sock")
    );
}

#[test]
fn printing_a_fault_gives_a_spec_that_parses_back_to_it() {
    for spec in [
        "delay=50ms,jitter=10ms",
        "delay=50ms,jitter=10ms,dist=normal,correlation=0.25",
        "delay=5ms,jitter=1ms,dist=pareto",
        "delay=1500us",
        "slice=16,pause=5ms",
        "rate=65536",
        "shared-rate=1000",
        "stall-after=1000",
        "close-after=0,connections=1",
        "reset-in=2s",
        "close-in=250ms,connections=2",
        "slow-close=1s,peer=127.0.0.1",
        "blackhole,after=10",
        "blackhole,probability=0.5",
        "reset-after=7,probability=0.5,after=3",
        "accept-close,peer=127.0.0.1:9",
        "accept-delay=2m",
        "drop=0.3",
        "drop=0.05,burst=4",
        "duplicate=0.1,connections=5",
        "reorder=1,hold=100ms",
        "truncate=100,peer=::1",
        "corrupt=0.01,after=2",
        "tls-stall=hello",
        "tls-stall=finished,probability=0.5",
        "tls-reset=handshake,connections=1",
        "tls-cert=expired",
        "tls-cert=not-yet-valid",
        "tls-cert=wrong-name,peer=127.0.0.1",
        "tls-cert=untrusted",
        "tls-truncate",
        "tls-truncate=1000,after=10",
    ] {
        let fault = parse(spec);
        assert_eq!(fault.to_string(), spec);
        assert_eq!(parse(&fault.to_string()), fault);
    }
    let faults: Faults = "drop=0.5; delay=5ms;;".parse().unwrap();
    assert_eq!(faults.to_string(), "drop=0.5; delay=5ms");
    assert_eq!(faults.faults().len(), 2);
}

#[test]
fn after_is_refused_by_the_faults_that_count_no_bytes() {
    for spec in [
        "close-in=2s,after=10",
        "reset-in=2s,after=10",
        "reset-after=2s,after=10",
        "slow-close=1s,after=10",
        "accept-close,after=1",
        "accept-delay=5ms,after=1",
    ] {
        match spec.parse::<Fault>() {
            Err(Error::InvalidFault { fault, reason }) => {
                assert!(fault.contains(",after="), "{spec}: {fault}");
                assert!(reason.contains("`after`"), "{spec}: {reason}");
            }
            other => panic!("{spec:?} should be refused, got {other:?}"),
        }
    }
    // Built in code, refused when given to a server.
    let faults = Faults::new().with(Fault::close_in(Duration::from_secs(1)).with_after(5));
    assert!(matches!(
        faults.check::<crate::Tcp>(),
        Err(Error::InvalidFault { .. })
    ));
    // Where it counts bytes or datagrams, it is taken.
    for spec in [
        "close-in=2s,after=0",
        "blackhole,after=10",
        "delay=1ms,after=3",
    ] {
        assert!(spec.parse::<Fault>().is_ok(), "{spec}");
    }
}

#[test]
fn a_bad_spec_is_refused_with_the_part_that_was_wrong() {
    assert_eq!(refused("delay=50ms,jitter=abc"), "jitter=abc");
    assert_eq!(refused("delay=50"), "delay=50");
    assert_eq!(refused("delay=5ms,dist=cauchy"), "dist=cauchy");
    assert_eq!(refused("delay=5ms,correlation=2"), "correlation=2");
    assert_eq!(refused("drop=0.5,dist=normal"), "dist=normal");
    assert_eq!(refused("delay"), "delay");
    assert_eq!(refused("wobble=3"), "wobble=3");
    assert_eq!(refused("slice=16,jitter=5ms"), "jitter=5ms");
    assert_eq!(refused("drop=1.5"), "drop=1.5");
    assert_eq!(refused("drop=0.5,probability=0.2"), "probability=0.2");
    assert_eq!(refused("drop=0.5,burst=0.5"), "burst=0.5");
    assert_eq!(refused("rate=64Kb"), "rate=64Kb");
    assert_eq!(refused("close-after=10,after=x"), "after=x");
    assert_eq!(refused("close-after=10,peer=nowhere"), "peer=nowhere");
    assert_eq!(refused("close-after=10,connections"), "connections");
    assert_eq!(refused("close-after=10,after=1,after=2"), "after=2");
    assert_eq!(refused("accept-close=1"), "accept-close=1");
    assert_eq!(refused("blackhole=1"), "blackhole=1");
    assert_eq!(refused("close-in=100"), "close-in=100");
    assert_eq!(refused("slow-close"), "slow-close");
    assert_eq!(refused(""), "");
    assert_eq!(refused("tls-stall"), "tls-stall");
    assert_eq!(refused("tls-stall=later"), "tls-stall=later");
    assert_eq!(refused("tls-reset=echo"), "tls-reset=echo");
    assert_eq!(refused("tls-cert=stolen"), "tls-cert=stolen");
    assert_eq!(refused("tls-truncate=x"), "tls-truncate=x");
    let message = "delay=5ms,jitter=abc"
        .parse::<Fault>()
        .unwrap_err()
        .to_string();
    assert!(message.contains("jitter=abc"), "{message}");
}

/// Every key of the SPEC that takes a duration, as `KIND=VALUE` or `KIND=V,KEY=VALUE`
/// with `{}` where the duration goes.
const DURATION_SLOTS: [&str; 10] = [
    "close-in={}",
    "reset-in={}",
    "slow-close={}",
    "delay={}",
    "delay=1ms,jitter={}",
    "slice=4,pause={}",
    "reset-after={}",
    "accept-delay={}",
    "reorder=0.5,hold={}",
    "delay={},jitter=1ms",
];

/// A duration written in one of the units the SPEC takes.
fn written(seconds: u64, nanos: u32, unit: usize) -> String {
    let whole = Duration::new(seconds, nanos);
    match unit {
        0 => format!("{}ns", whole.as_nanos()),
        1 => format!("{}us", whole.as_micros()),
        2 => format!("{}ms", whole.as_millis()),
        3 => format!("{}s", whole.as_secs()),
        4 => format!("{}m", whole.as_secs() / 60 + 1),
        _ => format!("{}h", whole.as_secs() / 3600 + 1),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        failure_persistence: None,
        ..Default::default()
    })]

    /// A duration beyond `MAX_DURATION`, anywhere the SPEC takes one, is refused with the
    /// part that holds it; one at or under it parses to itself.
    #[test]
    fn a_duration_beyond_the_longest_the_crate_takes_is_refused_where_it_is_written(
        seconds in MAX_DURATION.as_secs() + 60..=u64::MAX,
        nanos in 0u32..1_000_000_000,
        unit in 0usize..6,
        slot in 0usize..DURATION_SLOTS.len(),
    ) {
        let text = written(seconds, nanos, unit);
        let spec = DURATION_SLOTS[slot].replace("{}", &text);
        let part = spec.split(',').find(|part| part.contains(&text)).unwrap();
        proptest::prop_assert_eq!(refused(&spec), part);
    }

    #[test]
    fn a_duration_up_to_the_longest_the_crate_takes_is_honoured(
        seconds in MAX_DURATION.as_secs() - 1_000_000..=MAX_DURATION.as_secs(),
        slot in 0usize..DURATION_SLOTS.len(),
    ) {
        let spec = DURATION_SLOTS[slot].replace("{}", &format!("{seconds}s"));
        let fault = parse(&spec);
        proptest::prop_assert_eq!(parse(&fault.to_string()), fault);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        failure_persistence: None,
        ..Default::default()
    })]

    /// Bursts of `B` datagrams on average, each followed by a delivered one, lose at
    /// most `B / (B + 1)`: a higher probability is refused, never quietly capped.
    #[test]
    fn a_burst_loss_its_bursts_cannot_reach_is_refused(
        burst in 1u32..10_000,
        above in 0.0f64..=1.0,
    ) {
        let cap = f64::from(burst) / (f64::from(burst) + 1.0);
        let p = cap + (1.0 - cap) * above;
        proptest::prop_assume!(p > cap);
        let spec = format!("drop={p},burst={burst}");
        proptest::prop_assert_eq!(refused(&spec), spec.clone());
        let in_code = Faults::new().with(Fault::burst_drop(p, f64::from(burst)));
        proptest::prop_assert!(in_code.check::<crate::Udp>().is_err(), "{}", spec);
        let reachable = format!("drop={cap},burst={burst}");
        proptest::prop_assert_eq!(parse(&reachable), Fault::burst_drop(cap, f64::from(burst)));
    }
}

#[test]
fn sizes_durations_and_probabilities_take_their_units() {
    assert_eq!(bytes("", "1000", false).unwrap(), 1000);
    assert_eq!(bytes("", "1.5KiB", false).unwrap(), 1536);
    assert_eq!(bytes("", "2MB/s", true).unwrap(), 2_000_000);
    assert!(bytes("", "2MB/s", false).is_err());
    assert!(bytes("", "0.5", false).is_err());
    assert_eq!(duration("", "1.5s").unwrap(), Duration::from_millis(1500));
    assert_eq!(duration("", "250us").unwrap(), Duration::from_micros(250));
    assert_eq!(probability("", "30%").unwrap(), 0.3);
    assert!(probability("", "-0.1").is_err());
    assert!(is_duration("2s") && !is_duration("2000") && !is_duration("2KiB"));
}
