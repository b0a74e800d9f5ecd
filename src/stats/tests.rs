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
