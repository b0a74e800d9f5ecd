//! One flag grammar across the subcommands: durations with units, zero and negative values
//! refused naming the flag, `--version` everywhere, `--dual-stack` only on IPv6; each usage
//! error exits 2 before anything is bound or sent.

mod support;

use std::time::Duration;

use support::{Server, run, run_for, socket_echo};

/// Runs `args`, expecting a usage error (exit 2) that names `flag`.
fn refused(args: &[&str], flag: &str) -> String {
    let output = run_for(socket_echo(args), Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{args:?} was taken: it ran on"));
    assert_eq!(output.code(), Some(2), "{args:?}: {output:?}");
    assert!(output.stderr.contains(flag), "{args:?}: {}", output.stderr);
    for internal in [
        "max_connections",
        "write_size",
        "use None",
        "_timeout",
        "_size",
    ] {
        assert!(
            !output.stderr.contains(internal),
            "{args:?} names `{internal}`: {}",
            output.stderr
        );
    }
    output.stderr
}

#[test]
fn durations_take_a_unit_everywhere() {
    for (args, flag) in [
        (
            &["bench", "127.0.0.1:9", "--duration", "1"][..],
            "--duration",
        ),
        (&["ping", "127.0.0.1:9", "--interval", "1"], "--interval"),
        (&["ping", "127.0.0.1:9", "--timeout", "0.5"], "--timeout"),
        (&["send", "127.0.0.1:9", "x", "--timeout", "2"], "--timeout"),
        (
            &["serve", "127.0.0.1:0", "--idle-timeout", "60"],
            "--idle-timeout",
        ),
        (
            &["serve", "127.0.0.1:0", "--shutdown-grace", "1"],
            "--shutdown-grace",
        ),
        (
            &["serve", "127.0.0.1:0", "--stats-every", "10"],
            "--stats-every",
        ),
    ] {
        let stderr = refused(args, flag);
        assert!(stderr.contains("unit"), "{args:?}: {stderr}");
    }
}

#[test]
fn durations_with_units_are_taken() {
    let server = Server::start(&[
        "127.0.0.1:0",
        "--idle-timeout",
        "1m",
        "--shutdown-grace",
        "500ms",
    ]);
    let address = &server.addresses[0];
    let bench = run(socket_echo([
        "bench",
        address,
        "--duration",
        "200ms",
        "--conns",
        "1",
    ]));
    assert_eq!(bench.code(), Some(0), "{bench:?}");
    let secs = run(socket_echo([
        "bench", address, "--secs", "0.2s", "--conns", "1",
    ]));
    assert_eq!(
        secs.code(),
        Some(0),
        "--secs stays a name of --duration: {secs:?}"
    );
    let ping = run(socket_echo([
        "ping",
        address,
        "--count",
        "2",
        "--interval",
        "10ms",
        "--timeout",
        "2s",
    ]));
    assert_eq!(ping.code(), Some(0), "{ping:?}");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn zero_and_negative_values_are_refused_naming_the_flag() {
    for (args, flag) in [
        (&["bench", "127.0.0.1:9", "--conns", "0"][..], "--conns"),
        (&["bench", "127.0.0.1:9", "--conns", "-5"], "--conns"),
        (&["bench", "127.0.0.1:9", "--threads", "0"], "--threads"),
        (&["bench", "127.0.0.1:9", "--size", "0"], "--size"),
        (&["bench", "127.0.0.1:9", "--duration", "0s"], "--duration"),
        (&["bench", "127.0.0.1:9", "--duration", "-1s"], "--duration"),
        (&["ping", "127.0.0.1:9", "--count", "0"], "--count"),
        (&["ping", "127.0.0.1:9", "--size", "4"], "--size"),
        (&["ping", "127.0.0.1:9", "--timeout", "0s"], "--timeout"),
        (&["ping", "127.0.0.1:9", "--interval", "-1s"], "--interval"),
        (
            &["send", "127.0.0.1:9", "x", "--timeout", "0ms"],
            "--timeout",
        ),
        (&["serve", "127.0.0.1:0", "--workers", "0"], "--workers"),
        (
            &["serve", "127.0.0.1:0", "--max-connections", "0"],
            "--max-connections",
        ),
        (
            &["serve", "127.0.0.1:0", "--max-pending", "0"],
            "--max-pending",
        ),
        (
            &["serve", "127.0.0.1:0", "--buffer-size", "0"],
            "--buffer-size",
        ),
        (&["serve", "127.0.0.1:0", "--backlog", "0"], "--backlog"),
        (
            &["serve", "127.0.0.1:0", "--recv-buffer", "0"],
            "--recv-buffer",
        ),
        (
            &["serve", "127.0.0.1:0", "--idle-timeout", "0s"],
            "--idle-timeout",
        ),
    ] {
        refused(args, flag);
    }
}

#[test]
fn version_on_the_tool_and_every_subcommand() {
    let version = env!("CARGO_PKG_VERSION");
    for args in [
        &["--version"][..],
        &["serve", "--version"],
        &["ping", "--version"],
        &["bench", "--version"],
        &["send", "--version"],
        &["completions", "--version"],
        &["man", "--version"],
    ] {
        let output = run(socket_echo(args));
        assert_eq!(output.code(), Some(0), "{args:?}: {output:?}");
        assert!(output.stdout.contains(version), "{args:?}: {output:?}");
    }
}

#[test]
fn dual_stack_on_an_ipv4_address_is_refused() {
    let stderr = refused(&["serve", "127.0.0.1:0", "--dual-stack"], "--dual-stack");
    assert!(stderr.contains("IPv4"), "{stderr}");
    refused(
        &["serve", "udp://127.0.0.1:0", "--dual-stack"],
        "--dual-stack",
    );
}

#[test]
fn usage_errors_exit_2_and_help_shows_examples_and_exit_codes() {
    let output = run(socket_echo(["bench", "--no-such-flag"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--no-such-flag"), "{output:?}");
    for subcommand in ["serve", "ping", "bench", "send", "completions", "man"] {
        let help = run(socket_echo([subcommand, "--help"]));
        assert_eq!(help.code(), Some(0), "{help:?}");
        assert!(help.stdout.contains("Examples:"), "{subcommand}: {help:?}");
        assert!(help.stdout.contains("socket-echo "), "{subcommand}");
        assert!(
            help.stdout.contains("Exit status"),
            "{subcommand}: {help:?}"
        );
    }
}
