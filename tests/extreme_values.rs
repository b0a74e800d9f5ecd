//! RELIABILITY 38: every duration, size and count a caller can pass to the library, at the top
//! of its type's range, is refused with the option's name or honoured; never a panic later in
//! a worker. The values are drawn by proptest from the top of each range, not listed by hand.

use std::time::Duration;

use proptest::prelude::*;
use socket_echo::{
    EchoClient, EchoServer, Error, Fault, Faults, Keepalive, MAX_DURATION, Options, Tcp, Transport,
    Udp,
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

/// Every stream fault whose count may be at the top of `u64`, with `n` where it goes.
fn counted_stream_faults(n: u64) -> [Fault; 9] {
    let ms = Duration::from_millis(1);
    [
        Fault::delay(ms, Duration::ZERO).with_after(n),
        Fault::slice(1, Duration::ZERO).with_after(n),
        Fault::rate(1).with_after(n),
        Fault::shared_rate(1).with_after(n),
        Fault::stall_after(n),
        Fault::close_after(n),
        Fault::reset_after(n),
        Fault::rate(n),
        Fault::close_after(1).with_after(n),
    ]
}

proptest! {
    #![proptest_config(cases(16))]

    /// Faults set while a connection is open count from the bytes it had sent: a count at
    /// the top of `u64` added to those is never reached, and never overflows in a worker.
    #[test]
    fn a_stream_count_at_the_top_of_its_range_set_on_an_open_connection_is_honoured(
        n in u64::MAX - 1000..=u64::MAX,
        which in 0usize..9,
    ) {
        let fault = counted_stream_faults(n)[which].clone();
        // A first fault, so the connection counts its bytes when the second one comes.
        let first = Faults::new().with(Fault::delay(Duration::from_micros(1), Duration::ZERO));
        let handle = EchoServer::bind("127.0.0.1:0")
            .expect("bind")
            .with_faults(first)
            .expect("faults")
            .spawn()
            .expect("spawn");
        let patient = Options::new().with_read_timeout(Some(Duration::from_secs(10)));
        let mut client =
            EchoClient::connect_with(handle.local_addr(), patient).expect("connect");
        // More bytes than the count is below the top of `u64`.
        client.echo(&[7u8; 2048]).expect("the first echo");
        handle
            .set_faults(Faults::new().with(fault.clone()))
            .unwrap_or_else(|e| panic!("{fault} refused: {e}"));
        let echoed = client.echo(b"after the faults");
        prop_assert!(echoed.is_ok(), "{}: {:?}", fault, echoed);
        drop(client);
        handle.shutdown();
        let stats = handle.join();
        prop_assert!(stats.is_ok(), "{}: {:?}", fault, stats);
    }
}

/// Every duration of `Options`, set to `d`, with the option's name (the keepalive's last:
/// Linux takes at most 32,767 s).
fn timed_options(d: Duration) -> [(Options, &'static str); 8] {
    let o = Options::new();
    [
        (o.clone().with_read_timeout(Some(d)), "read_timeout"),
        (o.clone().with_write_timeout(Some(d)), "write_timeout"),
        (o.clone().with_connect_timeout(Some(d)), "connect_timeout"),
        (o.clone().with_echo_deadline(Some(d)), "echo_deadline"),
        (o.clone().with_shutdown_grace(d), "shutdown_grace"),
        (o.clone().with_idle_timeout(Some(d)), "idle_timeout"),
        (
            o.clone()
                .with_keepalive(Some(Keepalive::new().with_time(d))),
            "keepalive.time",
        ),
        (
            o.with_keepalive(Some(Keepalive::new().with_interval(d))),
            "keepalive.interval",
        ),
    ]
}

/// Every size of `Options` at `n`, with the option's name.
fn sized_options(n: usize) -> [(Options, &'static str); 7] {
    let o = Options::new();
    [
        (o.clone().with_recv_buffer_size(Some(n)), "recv_buffer_size"),
        (o.clone().with_send_buffer_size(Some(n)), "send_buffer_size"),
        (
            o.clone().with_connection_socket_buffers(Some(n)),
            "connection_socket_buffers",
        ),
        (o.clone().with_buffer_size(n), "buffer_size"),
        (o.clone().with_max_pending(n), "max_pending"),
        (
            o.clone().with_workers(std::num::NonZeroUsize::new(n)),
            "workers",
        ),
        (
            o.with_max_connections_per_source(Some(n)),
            "max_connections_per_source",
        ),
    ]
}

/// A TCP server with `options`, spawned, echoed through once and stopped: what an option
/// that is accepted must allow.
fn serves_with(options: Options) -> Result<(), TestCaseError> {
    let handle = EchoServer::bind_with("127.0.0.1:0", options.clone())
        .expect("bind")
        .spawn()
        .expect("spawn");
    let mut client = EchoClient::connect(handle.local_addr()).expect("connect");
    prop_assert_eq!(&client.echo(b"served").expect("echo")[..], b"served");
    drop(client);
    handle.shutdown();
    let stats = handle.join();
    prop_assert!(stats.is_ok(), "{:?}: {:?}", options, stats);
    Ok(())
}

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn an_option_duration_beyond_the_longest_is_refused_with_its_name(
        d in too_long(),
        which in 0usize..8,
    ) {
        let (options, name) = timed_options(d)[which].clone();
        match options.validate() {
            Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, name),
            other => prop_assert!(false, "{} = {:?}: {:?}", name, d, other),
        }
        match EchoServer::bind_with("127.0.0.1:0", options) {
            Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, name),
            other => prop_assert!(false, "{} = {:?}: {:?}", name, d, other.map(|_| ())),
        }
    }

    #[test]
    fn a_socket_buffer_beyond_what_its_option_holds_is_refused_with_its_name(
        n in (i32::MAX as usize + 1)..=usize::MAX,
        which in 0usize..3,
    ) {
        let (options, name) = sized_options(n)[which].clone();
        match EchoServer::bind_with("127.0.0.1:0", options) {
            Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, name),
            other => prop_assert!(false, "{} = {}: {:?}", name, n, other.map(|_| ())),
        }
    }

    #[test]
    fn a_keepalive_beyond_what_linux_takes_is_refused_with_its_name(
        secs in 32_768u64..=u64::MAX,
        probes in 128u32..=u32::MAX,
        which in 0usize..3,
    ) {
        let d = Duration::from_secs(secs);
        let (keepalive, name) = [
            (Keepalive::new().with_time(d), "keepalive.time"),
            (Keepalive::new().with_interval(d), "keepalive.interval"),
            (Keepalive::new().with_probes(probes), "keepalive.probes"),
        ][which];
        let options = Options::new().with_keepalive(Some(keepalive));
        match EchoServer::bind_with("127.0.0.1:0", options) {
            Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, name),
            other => prop_assert!(false, "{}: {:?}", name, other.map(|_| ())),
        }
    }

    #[test]
    fn a_linger_beyond_what_so_linger_holds_is_refused_with_its_name(
        secs in (i32::MAX as u64 + 1)..=u64::MAX,
    ) {
        let options = Options::new().with_linger(Some(Duration::from_secs(secs)));
        match EchoServer::bind_with("127.0.0.1:0", options) {
            Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, "linger"),
            other => prop_assert!(false, "linger {}s: {:?}", secs, other.map(|_| ())),
        }
    }

    #[test]
    fn a_size_at_the_top_of_its_range_is_refused_with_its_name_or_served(
        n in usize::MAX - 1000..=usize::MAX,
        huge_int in (i32::MAX as usize + 1)..=(u32::MAX as usize + 1000),
        which in 0usize..7,
    ) {
        for n in [n, huge_int] {
            let (options, name) = sized_options(n)[which].clone();
            match options.validate() {
                Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, name),
                Err(other) => prop_assert!(false, "{} = {}: {:?}", name, n, other),
                Ok(()) => serves_with(options)?,
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(6))]

    #[test]
    fn an_option_duration_at_the_longest_is_honoured(d in longest(), which in 0usize..5) {
        // The idle timeout and the keepalive have shorter bounds of their own: left out.
        let (options, name) = timed_options(d)[which].clone();
        prop_assert!(options.validate().is_ok(), "{} = {:?}", name, d);
        serves_with(options)?;
    }
}

/// The measurements' durations and counts, against a live server.
#[cfg(feature = "measure")]
mod measure {
    use super::*;
    use socket_echo::{Bulk, Load, Ping};

    /// A running TCP server and a client of it.
    fn served() -> (socket_echo::ServerHandle<Tcp>, EchoClient<Tcp>) {
        let handle = EchoServer::bind("127.0.0.1:0")
            .expect("bind")
            .spawn()
            .expect("spawn");
        let client = EchoClient::connect(handle.local_addr()).expect("connect");
        (handle, client)
    }

    fn refused_naming<T: std::fmt::Debug>(
        result: socket_echo::Result<T>,
        name: &str,
    ) -> Result<(), TestCaseError> {
        match result {
            Err(Error::InvalidOption { option, .. }) => prop_assert_eq!(option, name),
            other => prop_assert!(false, "{}: {:?}", name, other),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(cases(16))]

        #[test]
        fn a_measurement_duration_beyond_the_longest_is_refused_with_its_name(
            d in too_long(),
            which in 0usize..5,
        ) {
            let (handle, mut client) = served();
            let addr = handle.local_addr();
            match which {
                0 => refused_naming(
                    client.ping(&Ping::new().with_count(1).with_timeout(d), |_| {}),
                    "timeout",
                )?,
                1 => refused_naming(
                    client.ping(&Ping::new().with_count(2).with_interval(d), |_| {}),
                    "interval",
                )?,
                2 => refused_naming(
                    Load::new().with_connections(1).with_duration(d).run(Tcp, addr),
                    "duration",
                )?,
                3 => refused_naming(
                    Load::new().with_connections(1).with_timeout(d).run(Tcp, addr),
                    "timeout",
                )?,
                _ => refused_naming(Bulk::new().with_duration(d).run(addr), "duration")?,
            }
        }

        #[test]
        fn a_connection_count_at_the_top_of_its_range_is_an_error_not_a_panic(
            n in usize::MAX - 1000..=usize::MAX,
        ) {
            let (handle, _client) = served();
            let load = Load::new().with_connections(n).with_duration(Duration::from_millis(1));
            match load.run(Tcp, handle.local_addr()) {
                Err(Error::Allocation { what, .. }) => prop_assert_eq!(what, "the connections"),
                other => prop_assert!(false, "{} connections: {:?}", n, other.map(|_| ())),
            }
        }
    }
}
