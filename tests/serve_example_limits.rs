//! RELIABILITY 33 through the `serve` example: sizes and durations out of range are refused
//! before it says it listens, with an error naming the option.

mod util;

use util::process::{example, free_address, run};

/// Runs `serve` with `args` and asserts it exits with an error naming `option`, having
/// never printed that it listens.
fn refused(args: &[&str], option: &str) {
    let mut command = example("serve");
    command.arg(free_address(args.contains(&"--udp")).to_string());
    command.args(args);
    let finished = run(command);
    assert!(
        !finished.status.success(),
        "{args:?} was served: {finished:?}"
    );
    assert!(
        !finished.printed("echo server listening"),
        "{args:?}: said it listened: {finished:?}"
    );
    assert!(
        finished.stderr.contains(&format!("`{option}`")),
        "{args:?}: the error does not name `{option}`: {finished:?}"
    );
}

#[test]
fn serve_refuses_out_of_range_values_before_listening() {
    refused(
        &["--udp", "--buffer-size", "18446744073709551615"],
        "buffer_size",
    );
    refused(&["--buffer-size", "100000000000"], "buffer_size");
    refused(&["--max-pending", "1"], "max_pending");
    refused(&["--idle-timeout", "0.5ms"], "idle_timeout");
}
