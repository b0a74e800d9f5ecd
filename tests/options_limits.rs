//! RELIABILITY 19 and 33: values the system would round to zero, and sizes at their
//! extremes, are refused by `validate` and by every constructor, naming the option, before
//! any socket is made (so before a server could say it listens).

mod util;

use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Error, Options, Udp};
use util::assert_names;

/// Asserts that `options` is refused for `name` by `validate`, both binds and both connects.
fn assert_refused(options: Options, name: &str) {
    let addr = util::any_local_address();
    let results = [
        options.validate().err(),
        EchoServer::bind_with(addr, options.clone()).err(),
        EchoServer::bind_on_with(Udp, addr, options.clone()).err(),
        EchoClient::connect_with(addr, options.clone()).err(),
        EchoClient::connect_on_with(Udp, addr, options).err(),
    ];
    for result in results {
        match result {
            Some(error @ Error::InvalidOption { option, .. }) => {
                assert_eq!(option, name);
                assert_names(&error, &format!("`{name}`"));
            }
            other => panic!("expected InvalidOption for {name}, got {other:?}"),
        }
    }
}

/// Socket timeouts have microsecond resolution: half a microsecond would be set as "no
/// timeout", and a read against a silent server would never return.
#[test]
fn socket_timeouts_under_a_microsecond_are_refused() {
    let tiny = Some(Duration::from_nanos(500));
    assert_refused(Options::new().with_read_timeout(tiny), "read_timeout");
    assert_refused(Options::new().with_write_timeout(tiny), "write_timeout");
    assert_refused(Options::new().with_connect_timeout(tiny), "connect_timeout");
    let micro = Some(Duration::from_micros(1));
    let smallest = Options::new()
        .with_read_timeout(micro)
        .with_write_timeout(micro)
        .with_connect_timeout(micro);
    assert!(smallest.validate().is_ok());
}

/// The server's clock counts whole milliseconds: half a millisecond of idle time would be
/// zero, and every connection would be closed at the first sweep.
#[test]
fn idle_timeout_under_a_millisecond_is_refused() {
    let half = Options::new().with_idle_timeout(Some(Duration::from_micros(500)));
    assert_refused(half, "idle_timeout");
    let one = Options::new().with_idle_timeout(Some(Duration::from_millis(1)));
    assert!(one.validate().is_ok());
}

/// The clock also has an end: an idle timeout beyond it would silently be cut short.
#[test]
fn idle_timeout_beyond_the_clock_is_refused() {
    let month = Options::new().with_idle_timeout(Some(Duration::from_secs(30 * 86_400)));
    assert_refused(month, "idle_timeout");
    let week = Options::new().with_idle_timeout(Some(Duration::from_secs(7 * 86_400)));
    assert!(week.validate().is_ok());
}

/// RELIABILITY 33: a buffer of `usize::MAX` bytes made `capacity + 1` wrap to zero (every
/// datagram answered empty), and 100 GB made the server say it listened, then abort.
#[test]
fn buffer_size_beyond_its_maximum_is_refused() {
    for size in [
        usize::MAX,
        100_000_000_000,
        socket_echo::MAX_BUFFER_SIZE + 1,
    ] {
        assert_refused(Options::new().with_buffer_size(size), "buffer_size");
    }
    let largest = Options::new().with_buffer_size(socket_echo::MAX_BUFFER_SIZE);
    assert!(largest.validate().is_ok());
    // The largest UDP datagram fits.
    const { assert!(socket_echo::MAX_BUFFER_SIZE > 65_527) };
}

/// A pending limit of one byte made the server read and write one byte per system call.
#[test]
fn max_pending_outside_its_range_is_refused() {
    for size in [
        1,
        socket_echo::MIN_MAX_PENDING - 1,
        socket_echo::MAX_BUFFER_SIZE + 1,
        usize::MAX,
    ] {
        assert_refused(Options::new().with_max_pending(size), "max_pending");
    }
    for size in [socket_echo::MIN_MAX_PENDING, socket_echo::MAX_BUFFER_SIZE] {
        assert!(Options::new().with_max_pending(size).validate().is_ok());
    }
}

/// `SO_RCVBUF`, `SO_SNDBUF` and `listen(2)` take a C `int`: a larger value wrapped or was
/// silently cut.
#[test]
fn sizes_beyond_a_c_int_are_refused() {
    let too_big = i32::MAX as usize + 1;
    assert_refused(
        Options::new().with_recv_buffer_size(Some(too_big)),
        "recv_buffer_size",
    );
    assert_refused(
        Options::new().with_send_buffer_size(Some(usize::MAX)),
        "send_buffer_size",
    );
    assert_refused(Options::new().with_backlog(i32::MAX as u32 + 1), "backlog");
    let largest = Options::new()
        .with_recv_buffer_size(Some(i32::MAX as usize))
        .with_backlog(i32::MAX as u32);
    assert!(largest.validate().is_ok());
}

/// Each worker is a thread with its own buffers: `usize::MAX` of them overflowed the
/// server's own bookkeeping.
#[test]
fn workers_beyond_the_maximum_are_refused() {
    for count in [socket_echo::MAX_WORKERS + 1, usize::MAX] {
        let workers = std::num::NonZeroUsize::new(count);
        assert_refused(Options::new().with_workers(workers), "workers");
    }
    let most = std::num::NonZeroUsize::new(socket_echo::MAX_WORKERS);
    assert!(Options::new().with_workers(most).validate().is_ok());
}
