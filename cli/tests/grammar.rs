//! One grammar for values, the library's (`parse_duration`, `parse_size`, `parse_rate`),
//! taken alike by the tool's flags and by the fault SPEC: sizes with `KiB`/`MiB`/`KB`/`MB`,
//! durations with units down to `ns`, the same words when a value is refused; `-` for
//! standard input; an address that does not parse is a usage error that says why, a name
//! that does not resolve a failure; one default address.

mod support;

use std::time::Duration;

use support::{Output, Server, run, run_for, run_with_input, socket_echo};

/// Runs `args`, which must be refused as a usage error (exit 2) before anything starts.
fn refused(args: &[&str]) -> Output {
    let output = run_for(socket_echo(args), Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{args:?} was taken: it ran on"));
    assert_eq!(output.code(), Some(2), "{args:?}: {output:?}");
    output
}

#[test]
fn sizes_take_units_in_the_flags_as_in_the_spec() {
    let server = Server::start(&[
        "127.0.0.1:0",
        "--max-pending",
        "64KiB",
        "--buffer-size",
        "1MiB",
        "--recv-buffer",
        "256KB",
        "--fault",
        "rate=64MiB/s",
    ]);
    let address = &server.addresses[0];
    let ping = run(socket_echo([
        "ping", address, "--count", "1", "--size", "1KiB", "--json",
    ]));
    assert_eq!(ping.code(), Some(0), "{ping:?}");
    assert_eq!(ping.json_lines()[0]["size"], 1024, "{ping:?}");
    let bench = run(socket_echo([
        "bench",
        address,
        "--conns",
        "1",
        "--size",
        "1.5KB",
        "--duration",
        "50ms",
        "--json",
    ]));
    assert_eq!(bench.code(), Some(0), "{bench:?}");
    assert_eq!(bench.json_lines()[0]["size"], 1500, "{bench:?}");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn a_refused_size_or_duration_gives_the_same_reason_as_a_flag_and_in_a_spec() {
    for (flag_args, spec, reason) in [
        (
            vec!["ping", "127.0.0.1:9", "--size", "1KiBs"],
            "close-after=1KiBs",
            "unknown unit of size",
        ),
        (
            vec!["serve", "127.0.0.1:0", "--max-pending", "1.5B"],
            "close-after=1.5B",
            "not a whole number of bytes",
        ),
        (
            vec!["ping", "127.0.0.1:9", "--timeout", "5"],
            "delay=5",
            "a duration needs a unit",
        ),
        (
            vec!["bench", "127.0.0.1:9", "--duration", "5d"],
            "delay=5d",
            "unknown unit of time",
        ),
    ] {
        let flag = refused(&flag_args);
        assert!(
            flag.stderr.contains(reason),
            "{flag_args:?}: {}",
            flag.stderr
        );
        let in_spec = refused(&["serve", "127.0.0.1:0", "--fault", spec]);
        assert!(
            in_spec.stderr.contains(reason),
            "{spec}: {}",
            in_spec.stderr
        );
    }
}

#[test]
fn nanoseconds_are_a_unit_of_the_flags_too() {
    let server = Server::start(&["127.0.0.1:0", "--fault", "delay=1000000ns"]);
    let output = run(socket_echo([
        "ping",
        &server.addresses[0],
        "--count",
        "2",
        "--interval",
        "1000000ns",
        "--timeout",
        "1000000000ns",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
}

#[test]
fn a_dash_is_standard_input() {
    let server = Server::start(&["127.0.0.1:0", "udp://127.0.0.1:0"]);
    for address in &server.addresses {
        let output = run_with_input(socket_echo(["send", address, "-"]), b"from stdin");
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert_eq!(output.stdout, "from stdin", "{address}");
    }
}

#[test]
fn an_address_that_does_not_parse_is_a_usage_error_that_says_why() {
    for (address, why) in [
        ("localhost:abc", "the port `abc` is not a number"),
        ("localhost:99999", "the port 99999 is out of range"),
        ("localhost", "no port"),
        ("udp://localhost", "no port"),
        ("::1:9999", "brackets"),
        ("unix:@", "abstract Unix socket name is empty"),
        ("unixgram:@", "abstract Unix socket name is empty"),
    ] {
        for command in [
            vec!["ping", address, "--count", "1"],
            vec!["bench", address, "--duration", "50ms"],
            vec!["send", address, "x"],
            vec!["serve", address],
        ] {
            let output = refused(&command);
            assert!(
                output.stderr.contains(why) && output.stderr.contains(address),
                "{command:?}: {}",
                output.stderr
            );
            assert!(
                !output.stderr.contains("resolve"),
                "{command:?}: nothing was resolved: {}",
                output.stderr
            );
        }
    }
}

#[test]
fn a_name_that_does_not_resolve_is_a_failure() {
    let address = "no-such-host.invalid:9999";
    for command in [
        vec!["ping", address, "--count", "1"],
        vec!["send", address, "x"],
        vec!["serve", address],
    ] {
        let output = run(socket_echo(&command));
        assert_eq!(output.code(), Some(1), "{command:?}: {output:?}");
        assert!(output.stderr.contains("resolve"), "{output:?}");
    }
}

#[test]
fn every_subcommand_has_the_same_default_address() {
    for command in ["serve", "ping", "bench", "send"] {
        let output = run(socket_echo([command, "--help"]));
        assert!(
            output.stdout.contains("[default: 127.0.0.1:9999]"),
            "{command} --help: {}",
            output.stdout
        );
    }
}
