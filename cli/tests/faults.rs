//! `socket-echo serve --fault SPEC --seed N`: the server misbehaves exactly as asked,
//! reproducibly from its seed, counts what it injected, and refuses a wrong SPEC with the
//! part that was wrong.

mod support;

use socket_echo::{EchoClient, Error, Unix};
use support::{Server, run, socket_echo};

#[test]
fn close_after_gives_a_short_echo_of_exactly_that_many_bytes() {
    let name = format!("@socket-echo-cli-faults-{}", std::process::id());
    let address = format!("unix:{name}");
    let server = Server::start(&[&address, "--fault", "close-after=5", "--seed", "7"]);
    let mut client = EchoClient::connect_on(Unix, name.as_str()).unwrap();
    match client.echo(b"twenty bytes of text") {
        Err(Error::ShortEcho { received, .. }) => assert_eq!(received, 5),
        other => panic!("expected a short echo of 5 bytes, got {other:?}"),
    }
    drop(client);
    let finished = server.stop();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    assert!(
        finished
            .stderr
            .contains("injecting faults: close-after=5 (seed 7)"),
        "{finished:?}"
    );
    assert!(
        finished
            .stdout
            .contains("  faults: 0 delayed, 0 sliced, 0 rate-limited, 0 stalled, 1 closed"),
        "{finished:?}"
    );
}

/// The probes `ping --json` reports lost.
fn lost_probes(address: &str) -> Vec<u64> {
    let output = run(socket_echo([
        "ping",
        address,
        "--count",
        "30",
        "--interval",
        "1ms",
        "--timeout",
        "100ms",
        "--json",
    ]));
    output
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|json| json["type"] == "probe" && json["outcome"] == "lost")
        .map(|json| json["seq"].as_u64().expect("seq"))
        .collect()
}

#[test]
fn the_same_seed_drops_the_same_probes_and_another_seed_others() {
    let lost = |seed: &str| {
        let server = Server::start(&[
            "udp://127.0.0.1:0",
            "--workers",
            "1",
            "--fault",
            "drop=0.5",
            "--seed",
            seed,
        ]);
        let lost = lost_probes(&server.addresses[0]);
        let finished = server.stop();
        assert_eq!(finished.code(), Some(0), "{finished:?}");
        lost
    };
    let first = lost("3");
    assert!(!first.is_empty() && first.len() < 30, "{first:?}");
    assert_eq!(first, lost("3"));
    assert_ne!(first, lost("4"));
}

#[test]
fn a_wrong_spec_is_refused_naming_the_part_that_was_wrong() {
    let output = run(socket_echo([
        "serve",
        "127.0.0.1:0",
        "--fault",
        "delay=50ms,jitter=abc",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("jitter=abc"), "{output:?}");
}

#[test]
fn a_fault_that_fits_none_of_the_addresses_is_refused() {
    let output = run(socket_echo(["serve", "127.0.0.1:0", "--fault", "drop=0.3"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--fault drop"), "{output:?}");
}
