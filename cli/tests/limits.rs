//! RELIABILITY 33 through `socket-echo serve`: sizes and durations out of range are refused
//! before it says it listens, with exit status 2 and an error naming the flag.

mod support;

use support::{run, socket_echo};

/// Runs `serve` on `address` with `args` and asserts it refuses them naming `flag`, having
/// never printed that it listens.
fn refused(address: &str, args: &[&str], flag: &str) {
    let output = run(socket_echo(["serve", address].iter().chain(args).copied()));
    assert_eq!(output.code(), Some(2), "{args:?} was served: {output:?}");
    assert!(
        !output.stdout.contains("listening on"),
        "{args:?}: said it listened: {output:?}"
    );
    assert!(
        output.stderr.contains(flag),
        "{args:?}: the error does not name {flag}: {output:?}"
    );
}

#[test]
fn serve_refuses_out_of_range_values_before_listening() {
    refused(
        "udp://127.0.0.1:0",
        &["--buffer-size", "18446744073709551615"],
        "--buffer-size",
    );
    refused(
        "127.0.0.1:0",
        &["--buffer-size", "100000000000"],
        "--buffer-size",
    );
    refused("127.0.0.1:0", &["--max-pending", "1"], "--max-pending");
    refused(
        "127.0.0.1:0",
        &["--idle-timeout", "0.5ms"],
        "--idle-timeout",
    );
}
