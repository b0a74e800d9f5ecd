//! The state machine without sockets: what may be written when.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::plan::End;
use super::shaped::{Next, Shaped};
use super::treatment::{Treatment, decide};
use crate::faults::{Active, Fault, Faults};
use crate::stats::Counters;

fn active(faults: Faults) -> Arc<Active> {
    Arc::new(Active::new(faults))
}

fn shaped(fault: Fault) -> Box<Shaped> {
    match decide(
        &active(Faults::new().with(fault)),
        Some(0),
        0,
        None,
        Instant::now(),
        &Counters::default(),
    )
    .0
    {
        Treatment::Shaped(shaped) => shaped,
        _ => panic!("expected a shaped connection"),
    }
}

/// Writes everything the state lets through at `now`; returns how many bytes.
fn write_all_now(shaped: &mut Shaped, now: Instant) -> usize {
    let counters = Counters::default();
    let mut total = 0;
    while let Next::Write(n) = shaped.next(now, &counters) {
        assert!(n > 0);
        shaped.wrote(n, now, &counters);
        total += n;
    }
    total
}

#[test]
fn a_delay_holds_every_byte_until_its_time() {
    let mut s = shaped(Fault::delay(Duration::from_millis(50), Duration::ZERO));
    let t0 = Instant::now();
    s.take(&[1; 10], t0, &Counters::default());
    assert_eq!(write_all_now(&mut s, t0), 0);
    assert_eq!(
        s.next(t0, &Counters::default()),
        Next::Wait(t0 + Duration::from_millis(50))
    );
    assert_eq!(write_all_now(&mut s, t0 + Duration::from_millis(50)), 10);
}

#[test]
fn a_delay_after_n_bytes_lets_the_first_n_through_at_once() {
    let mut s = shaped(Fault::delay(Duration::from_millis(50), Duration::ZERO).with_after(4));
    let t0 = Instant::now();
    s.take(&[1; 10], t0, &Counters::default());
    assert_eq!(write_all_now(&mut s, t0), 4);
    assert_eq!(write_all_now(&mut s, t0 + Duration::from_millis(50)), 6);
}

#[test]
fn jitter_never_releases_bytes_out_of_order() {
    let mut s = shaped(Fault::delay(
        Duration::from_millis(20),
        Duration::from_millis(20),
    ));
    let t0 = Instant::now();
    for i in 0..50 {
        s.take(
            &[i; 3],
            t0 + Duration::from_millis(i.into()),
            &Counters::default(),
        );
    }
    let ats: Vec<Instant> = s.marks.iter().map(|m| m.at).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]));
    assert!(s.marks.iter().all(|m| m.at >= t0));
}

#[test]
fn slicing_writes_pieces_with_a_pause_between_them() {
    let mut s = shaped(Fault::slice(10, Duration::from_millis(20)));
    let t0 = Instant::now();
    s.take(&[1; 25], t0, &Counters::default());
    assert_eq!(write_all_now(&mut s, t0), 10);
    assert_eq!(
        s.next(t0, &Counters::default()),
        Next::Wait(t0 + Duration::from_millis(20))
    );
    assert_eq!(write_all_now(&mut s, t0 + Duration::from_millis(20)), 10);
    assert_eq!(write_all_now(&mut s, t0 + Duration::from_millis(40)), 5);
}

#[test]
fn a_rate_lets_through_no_more_than_it_earned() {
    let mut s = shaped(Fault::rate(1000));
    let t0 = Instant::now();
    s.take(&[1; 500], t0, &Counters::default());
    // A full bucket is 10 ms of the rate.
    assert_eq!(write_all_now(&mut s, t0), 10);
    let mut written = 10;
    let mut now = t0;
    for _ in 0..1000 {
        match s.next(now, &Counters::default()) {
            Next::Wait(at) => now = at,
            Next::Write(n) => {
                s.wrote(n, now, &Counters::default());
                written += n;
            }
            Next::Idle => break,
        }
    }
    assert_eq!(written, 500);
    assert!(now - t0 >= Duration::from_millis(489), "{:?}", now - t0);
}

#[test]
fn the_end_is_reached_after_exactly_the_limit_and_nothing_more_is_read() {
    let mut s = shaped(Fault::close_after(1000));
    let t0 = Instant::now();
    assert_eq!(s.room(64 * 1024, t0), 1000);
    s.take(&[1; 600], t0, &Counters::default());
    assert_eq!(s.room(64 * 1024, t0), 400);
    s.take(&[1; 400], t0, &Counters::default());
    assert_eq!(s.room(64 * 1024, t0), 0);
    assert_eq!(s.reached_end(), None);
    assert_eq!(write_all_now(&mut s, t0), 1000);
    assert_eq!(s.reached_end(), Some(End::Close));
}

#[test]
fn held_bytes_never_exceed_max_pending() {
    let mut s = shaped(Fault::delay(Duration::from_secs(1), Duration::ZERO));
    let t0 = Instant::now();
    s.take(&[1; 3000], t0, &Counters::default());
    assert_eq!(s.room(4096, t0), 1096);
    s.take(&[1; 1096], t0, &Counters::default());
    assert_eq!(s.room(4096, t0), 0);
}

#[test]
fn probability_and_connections_choose_the_connections() {
    let active = active(
        Faults::new()
            .with(Fault::close_after(1).with_connections(2))
            .with_seed(3),
    );
    let counters = Counters::default();
    let shaped = |index| {
        matches!(
            decide(&active, Some(index), index, None, Instant::now(), &counters).0,
            Treatment::Shaped(_)
        )
    };
    assert_eq!([shaped(0), shaped(1), shaped(2)], [true, true, false]);
    let half = Active::new(
        Faults::new()
            .with(Fault::stall_after(1).with_probability(0.5))
            .with_seed(9),
    );
    let half = Arc::new(half);
    let draw = |seed_stream: u64| {
        (0..64)
            .map(|i| {
                matches!(
                    decide(
                        &half,
                        Some(i),
                        i + seed_stream,
                        None,
                        Instant::now(),
                        &counters
                    )
                    .0,
                    Treatment::Shaped(_)
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(0), draw(0));
    assert_ne!(draw(0), draw(1000));
    let chosen = draw(0).iter().filter(|&&b| b).count();
    assert!((16..=48).contains(&chosen), "{chosen}");
}

/// TLS faults are drawn for a connection just accepted, handed to its transport, and
/// counted; a connection already open when they were set draws none; `tls-truncate=N` also
/// ends the echo at N bytes, as `close-after`.
#[test]
fn tls_faults_are_drawn_for_new_connections_and_counted() {
    use crate::transport::{BadCertificate, HandshakeStall};
    let active = active(
        "tls-stall=finished; tls-cert=untrusted; tls-truncate=10; tls-reset=handshake"
            .parse()
            .unwrap(),
    );
    let counters = Counters::default();
    let (verdict, session) = decide(&active, Some(0), 0, None, Instant::now(), &counters);
    assert_eq!(session.stall, Some(HandshakeStall::Finished));
    assert_eq!(session.certificate, Some(BadCertificate::Untrusted));
    assert!(session.truncate && session.reset);
    assert!(matches!(verdict, Treatment::Shaped(_)));
    let mut stats = crate::stats::FaultStats::default();
    counters.faults.add_to(&mut stats);
    assert_eq!(
        (
            stats.tls_stalled,
            stats.tls_bad_certificates,
            stats.tls_truncated,
            stats.tls_reset
        ),
        (1, 1, 1, 1)
    );
    let (_, live) = decide(&active, None, 1, None, Instant::now(), &counters);
    assert!(live.is_empty());
    let only_session = Active::new("tls-cert=expired".parse().unwrap());
    let (verdict, session) = decide(
        &Arc::new(only_session),
        Some(0),
        0,
        None,
        Instant::now(),
        &counters,
    );
    assert!(matches!(verdict, Treatment::Plain));
    assert_eq!(session.certificate, Some(BadCertificate::Expired));
}
