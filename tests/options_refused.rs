//! The rule of `Options`: an option set explicitly that cannot apply to a transport, or to a
//! client, is refused with `Error::InvalidOption` naming it, never silently ignored; and the
//! same option is accepted wherever it applies. Every knob, over every transport, as a server
//! and as a client, against the "applies to" column of the `Options` documentation.

mod transports;
mod util;

use std::num::NonZeroUsize;
use std::time::Duration;

use socket_echo::{
    EchoClient, EchoServer, Error, Keepalive, Options, SourceRateLimit, Tcp, Udp, Unix,
    UnixDatagram,
};
use transports::{Kind, Place, Site};

/// The transports, as the rows of the table below name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Tcp,
    Udp,
    Unix,
    Unixgram,
}

const ALL: &[On] = &[On::Tcp, On::Udp, On::Unix, On::Unixgram];
const IP: &[On] = &[On::Tcp, On::Udp];
const STREAMS: &[On] = &[On::Tcp, On::Unix];
const DATAGRAMS: &[On] = &[On::Udp, On::Unixgram];
const UNIX: &[On] = &[On::Unix, On::Unixgram];

/// One knob: its name, how to set it (to a value valid wherever it applies), the transports
/// it applies to, and whether it is a server's only.
struct Knob {
    name: &'static str,
    set: fn(Options) -> Options,
    on: &'static [On],
    server_only: bool,
}

/// Every knob of `Options`, from the "applies to" column of its documentation.
fn knobs() -> Vec<Knob> {
    let knob = |name, set, on, server_only| Knob {
        name,
        set,
        on,
        server_only,
    };
    vec![
        // A UDP server takes it and never sets it: on a datagram socket it would let two
        // servers share a port without knowing it (see `tests/options.rs`).
        knob("reuse_address", |o| o.with_reuse_address(true), IP, true),
        knob("reuse_port", |o| o.with_reuse_port(true), IP, true),
        knob("nodelay", |o| o.with_nodelay(false), &[On::Tcp], false),
        knob(
            "keepalive",
            |o| o.with_keepalive(Some(Keepalive::new())),
            &[On::Tcp],
            false,
        ),
        knob(
            "linger",
            |o| o.with_linger(Some(Duration::from_secs(1))),
            &[On::Tcp],
            false,
        ),
        knob(
            "recv_buffer_size",
            |o| o.with_recv_buffer_size(Some(64 * 1024)),
            ALL,
            false,
        ),
        knob(
            "send_buffer_size",
            |o| o.with_send_buffer_size(Some(64 * 1024)),
            ALL,
            false,
        ),
        knob("ttl", |o| o.with_ttl(Some(64)), IP, false),
        knob("only_v6", |o| o.with_only_v6(true), IP, false),
        knob(
            "read_timeout",
            |o| o.with_read_timeout(Some(Duration::from_secs(1))),
            ALL,
            false,
        ),
        knob(
            "write_timeout",
            |o| o.with_write_timeout(Some(Duration::from_secs(1))),
            ALL,
            false,
        ),
        knob(
            "connect_timeout",
            |o| o.with_connect_timeout(Some(Duration::from_secs(1))),
            STREAMS,
            false,
        ),
        knob("backlog", |o| o.with_backlog(8), STREAMS, true),
        knob("buffer_size", |o| o.with_buffer_size(1500), ALL, false),
        knob(
            "echo_deadline",
            |o| o.with_echo_deadline(Some(Duration::from_secs(5))),
            ALL,
            false,
        ),
        knob("resends", |o| o.with_resends(1), DATAGRAMS, false),
        knob(
            "workers",
            |o| o.with_workers(NonZeroUsize::new(1)),
            ALL,
            true,
        ),
        knob(
            "max_connections",
            |o| o.with_max_connections(10),
            STREAMS,
            true,
        ),
        knob(
            "idle_timeout",
            |o| o.with_idle_timeout(Some(Duration::from_secs(10))),
            STREAMS,
            true,
        ),
        knob("max_pending", |o| o.with_max_pending(1024), STREAMS, true),
        knob(
            "shutdown_grace",
            |o| o.with_shutdown_grace(Duration::from_secs(1)),
            STREAMS,
            true,
        ),
        knob(
            "denied_ports",
            |o| o.with_denied_ports([7]),
            &[On::Udp],
            true,
        ),
        knob("unix_mode", |o| o.with_unix_mode(Some(0o600)), UNIX, true),
        knob(
            "source_rate_limit",
            |o| o.with_source_rate_limit(Some(SourceRateLimit::new(100, 100))),
            DATAGRAMS,
            true,
        ),
        knob(
            "connection_socket_buffers",
            |o| o.with_connection_socket_buffers(Some(64 * 1024)),
            STREAMS,
            true,
        ),
        // Its sources are IP addresses: a Unix stream client has none.
        knob(
            "max_connections_per_source",
            |o| o.with_max_connections_per_source(Some(4)),
            &[On::Tcp],
            true,
        ),
    ]
}

/// Binds a server of `site`'s transport with `options`, or (with `client`) connects a client
/// with `options` to a server bound with the defaults.
fn try_options<T: Kind>(site: &Site<T>, options: Options, client: bool) -> Result<(), Error> {
    if client {
        let server = EchoServer::bind_on(site.transport, site.addr()).expect("bind");
        EchoClient::connect_on_with(site.transport, server.local_addr(), options).map(drop)
    } else {
        EchoServer::bind_on_with(site.transport, site.addr(), options).map(drop)
    }
}

/// What went against the rule for one knob on one transport, as a server and as a client,
/// and in what `Options::applies_to` says of it.
fn check<T: Kind>(site: &Site<T>, on: On, knob: &Knob, wrong: &mut Vec<String>) {
    // The table the refusals read, as the library publishes it for a caller (the tool).
    if Options::applies_to(knob.name, T::TRANSPORT) != knob.on.contains(&on) {
        wrong.push(format!(
            "{on:?}: Options::applies_to({:?}, {:?}) disagrees",
            knob.name,
            T::TRANSPORT
        ));
    }
    for client in [false, true] {
        let role = if client { "client" } else { "server" };
        let applies = knob.on.contains(&on) && !(client && knob.server_only);
        let result = try_options(site, (knob.set)(Options::new()), client);
        match (applies, result) {
            (true, Ok(())) => {}
            (false, Err(Error::InvalidOption { option, reason })) if option == knob.name => {
                assert!(
                    reason.starts_with("does not apply to"),
                    "{}: {reason}",
                    knob.name
                );
            }
            (true, Err(error)) => wrong.push(format!(
                "{on:?} {role}: `{}` applies but was refused: {error}",
                knob.name
            )),
            (false, other) => wrong.push(format!(
                "{on:?} {role}: `{}` does not apply but gave {other:?}",
                knob.name
            )),
        }
    }
}

#[test]
fn each_knob_is_refused_where_it_cannot_apply_and_accepted_where_it_does() {
    let tcp = Site::new(Tcp, Place::V4, "tcp");
    let udp = Site::new(Udp, Place::V4, "udp");
    let unix = Site::new(Unix, Place::Path, "unix");
    let unixgram = Site::new(UnixDatagram, Place::Path, "unixgram");
    let mut wrong = Vec::new();
    for knob in &knobs() {
        check(&tcp, On::Tcp, knob, &mut wrong);
        check(&udp, On::Udp, knob, &mut wrong);
        check(&unix, On::Unix, knob, &mut wrong);
        check(&unixgram, On::Unixgram, knob, &mut wrong);
    }
    assert!(
        wrong.is_empty(),
        "the rule is broken:\n{}",
        wrong.join("\n")
    );
}

/// The examples of the rule, each with its exact error.
#[test]
fn the_refusal_names_the_option_and_what_it_cannot_apply_to() {
    let tcp = Site::new(Tcp, Place::V4, "tcp");
    let unix = Site::new(Unix, Place::Path, "unix");
    let udp = Site::new(Udp, Place::V4, "udp");
    let cases: [(Result<(), Error>, &str, &str); 5] = [
        (
            try_options(&udp, Options::new().with_nodelay(true), false),
            "nodelay",
            "udp",
        ),
        (
            try_options(&unix, Options::new().with_ttl(Some(64)), true),
            "ttl",
            "unix",
        ),
        (
            try_options(&unix, Options::new().with_only_v6(true), false),
            "only_v6",
            "unix",
        ),
        (
            try_options(&tcp, Options::new().with_backlog(8), true),
            "backlog",
            "a client",
        ),
        (
            try_options(&tcp, Options::new().with_resends(3), true),
            "resends",
            "tcp",
        ),
    ];
    for (result, name, what) in cases {
        match result {
            Err(error @ Error::InvalidOption { option, .. }) => {
                assert_eq!(option, name);
                util::assert_names(&error, &format!("`{name}`"));
                util::assert_names(&error, &format!("does not apply to {what}"));
            }
            other => panic!("expected InvalidOption for {name}, got {other:?}"),
        }
    }
}

/// Only what was set explicitly is judged: the defaults hold every knob, and no transport
/// refuses them.
#[test]
fn the_defaults_are_accepted_by_every_transport_and_role() {
    fn both<T: Kind>(site: &Site<T>) {
        for client in [false, true] {
            try_options(site, Options::new(), client).unwrap();
        }
    }
    both(&Site::new(Tcp, Place::V4, "tcp"));
    both(&Site::new(Udp, Place::V4, "udp"));
    both(&Site::new(Unix, Place::Path, "unix"));
    both(&Site::new(UnixDatagram, Place::Path, "unixgram"));
}
