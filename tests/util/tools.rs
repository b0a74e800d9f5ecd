//! External programs a test talks to (socat, nc, python3, curl, promtool, man, ip): one
//! check for the library's tests and the tool's (`cli/tests/support` includes this file).
//!
//! CI installs every one of them (`.ci/run`), so there a missing program fails the test
//! that needs it; elsewhere the test says why it skips and passes.

use std::process::{Command, Stdio};

/// True if `program` can be run. Where it cannot, panics when the `CI` environment variable
/// is set, and otherwise prints "skipped: PROGRAM not installed" with the test's name.
pub fn tool_available(program: &str, test: &str) -> bool {
    // Whether it starts is all that counts: the flag is only there so it ends at once.
    let runs = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    present(runs, program, test)
}

/// `found` (whether `program`, or the variant of it a test needs, is here), after failing
/// the test under CI or printing why it skips elsewhere when it is not.
pub fn present(found: bool, program: &str, test: &str) -> bool {
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: {program} is not installed, and CI must run this test (.ci/run installs it)"
        );
        eprintln!("skipped: {program} not installed ({test})");
    }
    found
}
