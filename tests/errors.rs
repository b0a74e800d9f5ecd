//! The errors of addresses and options, each from a real fault: names that do not resolve,
//! address lists that hold nothing, values refused before a socket is made, and values the
//! system refuses. Each checks the variant's fields, its message and its `source()`. The
//! errors of servers in use, gone, wrong, short or silent are in `any_transport.rs`, written
//! once for every transport.

mod util;

use std::net::SocketAddr;
use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Error, Keepalive, Options, Udp};
use util::assert_names;

/// RELIABILITY 22: a name that cannot resolve gives `Resolve` naming it, with the
/// resolver's error as source.
#[test]
fn unresolvable_address() {
    let name = "echo.nonexistent.invalid:7";
    let errors = [
        EchoClient::connect(name).err(),
        EchoClient::connect_on(Udp, name).err(),
        EchoServer::bind(name).err(),
        EchoServer::bind_on(Udp, name).err(),
    ];
    for error in errors {
        match error {
            Some(error @ Error::Resolve { .. }) => {
                assert_names(&error, "echo.nonexistent.invalid");
                let source = std::error::Error::source(&error).expect("a source");
                assert!(source.is::<std::io::Error>());
            }
            other => panic!("expected Resolve, got {other:?}"),
        }
    }
}

/// RELIABILITY 22: an address list that holds nothing gives `NoAddress`.
#[test]
fn address_resolving_to_nothing() {
    let nothing: &[SocketAddr] = &[];
    for error in [
        EchoClient::connect(nothing).err(),
        EchoServer::bind(nothing).err(),
    ] {
        match error {
            Some(error @ Error::NoAddress { .. }) => assert_names(&error, "[]"),
            other => panic!("expected NoAddress, got {other:?}"),
        }
    }
}

/// RELIABILITY 19: zero timeouts, zero sizes and out-of-range values are refused by every
/// constructor, naming the option, before any socket is made.
#[test]
fn invalid_options_are_refused() {
    let zero = Some(Duration::ZERO);
    let keepalive = |k: Keepalive| Options::new().with_keepalive(Some(k));
    let cases = [
        (Options::new().with_read_timeout(zero), "read_timeout"),
        (Options::new().with_write_timeout(zero), "write_timeout"),
        (Options::new().with_connect_timeout(zero), "connect_timeout"),
        (
            Options::new().with_recv_buffer_size(Some(0)),
            "recv_buffer_size",
        ),
        (
            Options::new().with_send_buffer_size(Some(0)),
            "send_buffer_size",
        ),
        (Options::new().with_buffer_size(0), "buffer_size"),
        (Options::new().with_backlog(0), "backlog"),
        (Options::new().with_ttl(Some(0)), "ttl"),
        (Options::new().with_ttl(Some(256)), "ttl"),
        (
            keepalive(Keepalive::new().with_time(Duration::ZERO)),
            "keepalive.time",
        ),
        (
            keepalive(Keepalive::new().with_interval(Duration::ZERO)),
            "keepalive.interval",
        ),
        (
            keepalive(Keepalive::new().with_time(Duration::from_millis(999))),
            "keepalive.time",
        ),
        (
            keepalive(Keepalive::new().with_interval(Duration::from_millis(500))),
            "keepalive.interval",
        ),
        (
            keepalive(Keepalive::new().with_probes(0)),
            "keepalive.probes",
        ),
    ];
    let addr = util::any_local_address();
    for (options, name) in cases {
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
}

/// A value the kernel would refuse (Linux caps `TCP_KEEPIDLE` at 32,767 seconds) is refused
/// before the socket is made, naming the option: a server would otherwise fail every
/// connection it accepts, one by one, with the system's `EINVAL`.
#[test]
fn option_the_system_would_refuse_is_refused_by_name_first() {
    let server = EchoServer::bind(util::any_local_address()).unwrap();
    let keepalive = Keepalive::new().with_time(Duration::from_secs(40_000));
    let options = Options::new().with_keepalive(Some(keepalive));
    match EchoClient::connect_with(server.local_addr(), options) {
        Err(
            error @ Error::InvalidOption {
                option: "keepalive.time",
                ..
            },
        ) => assert_names(&error, "`keepalive.time`"),
        other => panic!("expected InvalidOption, got {other:?}"),
    }
}
