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
