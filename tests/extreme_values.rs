//! RELIABILITY 38: every duration, size and count a caller can pass to the library, at the top
//! of its type's range, is refused with the option's name or honoured; never a panic later in
//! a worker. The values are drawn by proptest from the top of each range, not listed by hand.

use std::time::Duration;

use proptest::prelude::*;
use socket_echo::{
    EchoClient, EchoServer, Error, Fault, Faults, MAX_DURATION, Options, Tcp, Transport, Udp,
};

/// A duration beyond [`MAX_DURATION`], up to the largest a `Duration` holds.
fn too_long() -> impl Strategy<Value = Duration> {
    (MAX_DURATION.as_secs()..=u64::MAX, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| Duration::new(secs, nanos))
        .prop_filter("beyond MAX_DURATION", |d| *d > MAX_DURATION)
}

/// A duration in the last million seconds up to [`MAX_DURATION`], which must be honoured.
fn longest() -> impl Strategy<Value = Duration> {
    (MAX_DURATION.as_secs() - 1_000_000..=MAX_DURATION.as_secs()).prop_map(Duration::from_secs)
}

/// Every fault that holds a duration, with `d` where it goes, and the transport it applies
/// to (true for a stream one).
fn timed_faults(d: Duration) -> [(Fault, bool); 11] {
    let ms = Duration::from_millis(1);
    [
        (Fault::delay(d, Duration::ZERO), true),
        (Fault::delay(ms, d), true),
        (Fault::slice(1, d), true),
        (Fault::reset_after_time(d), true),
        (Fault::accept_delay(d), true),
        (Fault::close_in(d), true),
        (Fault::reset_in(d), true),
        (Fault::slow_close(d), true),
        (Fault::delay(d, Duration::ZERO), false),
        (Fault::delay(ms, d), false),
        (Fault::reorder_for(1.0, d), false),
    ]
}

fn refused_fault<T: Transport>(transport: T, fault: Fault) -> Result<(), TestCaseError>
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let faults = Faults::new().with(fault.clone());
    let server = EchoServer::bind_on(transport, "127.0.0.1:0").expect("bind");
    match server.set_faults(faults.clone()) {
        Err(Error::InvalidFault { reason, .. }) => {
            prop_assert!(reason.contains("MAX_DURATION"), "{fault}: {reason}")
        }
        other => prop_assert!(false, "{fault} should be refused, got {other:?}"),
    }
    let handle = server.spawn().expect("spawn");
    prop_assert!(
        matches!(handle.set_faults(faults), Err(Error::InvalidFault { .. })),
        "{fault} accepted by a running server"
    );
    handle.shutdown();
    handle.join().expect("the server goes on");
    Ok(())
}

/// A server with `fault` on its first connection or datagram: that echo waits in vain, the
/// next one is served, and the server stops cleanly.
fn honoured_fault<T: Transport>(
    transport: T,
    fault: Fault,
    stream: bool,
) -> Result<(), TestCaseError>
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    let faults = Faults::new().with(fault.clone().with_connections(1));
    let handle = EchoServer::bind_on(transport, "127.0.0.1:0")
        .expect("bind")
        .with_faults(faults)
        .unwrap_or_else(|e| panic!("{fault} refused: {e}"))
        .spawn()
        .expect("spawn");
    let mut quick = Options::new().with_read_timeout(Some(Duration::from_millis(100)));
    if !stream {
        quick = quick.with_resends(0);
    }
    let mut first = EchoClient::connect_on_with(transport, handle.local_addr(), quick)
        .expect("connect the first client");
    // Whatever the fault does to the first echo (it waits, or passes), it must not take the
    // server down: the next client is served.
    let _ = first.echo(b"first");
    let patient = Options::new().with_read_timeout(Some(Duration::from_secs(10)));
    let mut second = EchoClient::connect_on_with(transport, handle.local_addr(), patient)
        .expect("connect the second client");
    prop_assert_eq!(&second.echo(b"second").expect("second echo")[..], b"second");
    drop((first, second));
    handle.shutdown();
    let stats = handle.join();
    prop_assert!(stats.is_ok(), "{fault}: {stats:?}");
    Ok(())
}

/// `cases` cases, and no file of past failures written into the source tree.
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn a_fault_built_with_a_duration_beyond_the_longest_is_refused(
        d in too_long(),
        which in 0usize..11,
    ) {
        let (fault, stream) = timed_faults(d)[which].clone();
        if stream {
            refused_fault(Tcp, fault)?;
        } else {
            refused_fault(Udp, fault)?;
        }
    }
}

proptest! {
    #![proptest_config(cases(8))]

    #[test]
    fn a_fault_with_the_longest_duration_is_honoured_and_the_server_goes_on(
        d in longest(),
        which in 0usize..11,
    ) {
        let (fault, stream) = timed_faults(d)[which].clone();
        if stream {
            honoured_fault(Tcp, fault, true)?;
        } else {
            honoured_fault(Udp, fault, false)?;
        }
    }
}
