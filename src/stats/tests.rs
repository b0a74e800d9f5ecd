use super::*;

/// Every field of `FaultStats` is in `FIELDS`, once, in order: the fields are read from
/// the derived `Debug` (`FaultStats { delayed: 0, sliced: 0, .. }`), so a new one is
/// seen without being named here. (`field!` reads each count by its name.)
#[test]
fn every_fault_count_is_a_field() {
    let debug = format!("{:?}", FaultStats::default());
    let inner = debug
        .strip_prefix("FaultStats { ")
        .and_then(|rest| rest.strip_suffix(" }"))
        .unwrap_or_else(|| panic!("unexpected Debug: {debug}"));
    let fields: Vec<&str> = inner
        .split(", ")
        .map(|pair| pair.trim_end_matches(": 0"))
        .collect();
    let listed: Vec<&str> = FaultStats::FIELDS.iter().map(|f| f.name()).collect();
    assert_eq!(listed, fields);
}

/// Summing adds every count: each field set to a distinct value in one operand is
/// found in the sum.
#[test]
fn summing_adds_every_count() {
    let mut one = FaultStats::default();
    let mut other = FaultStats::default();
    let mut tls = TlsStats::default();
    let mut other_tls = TlsStats::default();
    for (n, field) in FaultStats::FIELDS.iter().enumerate() {
        *(field.at)(&mut other) = n as u64 + 1;
    }
    for (n, field) in TlsStats::FIELDS.iter().enumerate() {
        *(field.at)(&mut other_tls) = n as u64 + 1;
    }
    one += other;
    tls += other_tls;
    for (n, field) in FaultStats::FIELDS.iter().enumerate() {
        assert_eq!(field.of(&one), n as u64 + 1, "{}", field.name());
    }
    for (n, field) in TlsStats::FIELDS.iter().enumerate() {
        assert_eq!(field.of(&tls), n as u64 + 1, "{}", field.name());
    }
}

#[test]
fn a_field_reads_its_own_count_and_total_adds_them_all() {
    let stats = FaultStats {
        sliced: 2,
        overflowed: 5,
        ..FaultStats::default()
    };
    let read = |name: &str| {
        FaultStats::FIELDS
            .iter()
            .find(|f| f.name() == name)
            .map(|f| f.of(&stats))
    };
    assert_eq!(read("sliced"), Some(2));
    assert_eq!(read("overflowed"), Some(5));
    assert_eq!(read("delayed"), Some(0));
    assert_eq!(stats.total(), 7);
}

/// Every count of `Stats` outside its groups is in `Stats::FIELDS`, once: the fields are
/// read from the derived pretty `Debug` (one `name: value,` a line), so a new one is seen
/// without being named here; the groups are the only fields left out.
#[test]
fn every_count_of_stats_is_a_field() {
    let debug = format!("{:#?}", Stats::default());
    let mut counts = Vec::new();
    let mut groups = Vec::new();
    for line in debug.lines() {
        let Some(field) = line.strip_prefix("    ").filter(|l| !l.starts_with(' ')) else {
            continue;
        };
        match field.split_once(": ") {
            Some((name, "0,")) => counts.push(name),
            Some((name, _)) => groups.push(name),
            None if field.starts_with('}') => {}
            None => panic!("unexpected Debug line: {line}"),
        }
    }
    assert_eq!(groups, ["faults", "tls"]);
    let mut listed: Vec<&str> = Stats::FIELDS.iter().map(|f| f.name()).collect();
    listed.sort_unstable();
    let before = listed.len();
    listed.dedup();
    assert_eq!(listed.len(), before, "a count listed twice");
    counts.sort_unstable();
    assert_eq!(listed, counts);
}

/// Summing `Stats` adds every count, the groups' too.
#[test]
fn summing_stats_adds_every_count_and_group() {
    let mut other = Stats::default();
    for (n, field) in Stats::FIELDS.iter().enumerate() {
        *(field.at)(&mut other) = n as u64 + 1;
    }
    other.faults.tls_truncated = 7;
    other.tls.handshakes = 8;
    let mut sum = other;
    sum += other;
    for (n, field) in Stats::FIELDS.iter().enumerate() {
        assert_eq!(field.of(&sum), 2 * (n as u64 + 1), "{}", field.name());
    }
    assert_eq!(sum.faults.tls_truncated, 14);
    assert_eq!(sum.tls.handshakes, 16);
}

/// Only `active` and `max_connections` are figures of the moment.
#[test]
fn only_active_and_the_cap_are_not_cumulative() {
    let now: Vec<&str> = Stats::FIELDS
        .iter()
        .filter(|f| !f.is_cumulative())
        .map(|f| f.name())
        .collect();
    assert_eq!(now, ["active", "max_connections"]);
    assert!(FaultStats::FIELDS.iter().all(|f| f.is_cumulative()));
    assert!(TlsStats::FIELDS.iter().all(|f| f.is_cumulative()));
}

#[test]
fn tls_failed_counts_the_failures_only_not_truncations_nor_alpn() {
    let mut tls = TlsStats::default();
    for field in TlsStats::FIELDS {
        *(field.at)(&mut tls) = 1;
    }
    let failures = [
        "unknown_issuer",
        "expired",
        "not_yet_valid",
        "name_mismatch",
        "bad_certificate",
        "handshake_timeout",
        "not_tls",
        "alert_received",
        "protocol",
    ];
    assert_eq!(tls.failed(), failures.len() as u64);
    for field in TlsStats::FIELDS {
        let mut one = TlsStats::default();
        *(field.at)(&mut one) = 1;
        let counted = failures.contains(&field.name());
        assert_eq!(one.failed(), u64::from(counted), "{}", field.name());
    }
}
