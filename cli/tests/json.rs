//! `--json` on every path: each failure (nothing listening, an address in use, a name that
//! does not resolve, an address or flag refused) prints one JSON object on standard output,
//! checked here field by field, with the exit status it names.

mod support;

use std::net::{TcpListener, UdpSocket};

use serde_json::{Value, json};
use support::{Output, Server, nothing_listening, run, socket_echo};

/// The one line of standard output, parsed.
fn only_object(output: &Output) -> Value {
    let lines = output.json_lines();
    assert_eq!(lines.len(), 1, "one object: {output:?}");
    lines.into_iter().next().unwrap()
}

/// Checks an error object field by field; `error` must contain `says`.
fn check_error(
    output: &Output,
    command: &str,
    address: Option<&str>,
    kind: &str,
    status: i32,
    says: &str,
) {
    assert_eq!(output.code(), Some(status), "{output:?}");
    let object = only_object(output);
    let error = object["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains(says), "error {error:?} lacks {says:?}");
    assert_eq!(
        object,
        json!({
            "type": "error",
            "command": command,
            "address": address,
            "error": error,
            "error_kind": kind,
            "exit_status": status,
        }),
        "{output:?}"
    );
    // The same message goes to standard error, for a person.
    assert!(output.stderr.contains(&error), "{}", output.stderr);
}

#[test]
fn ping_with_nothing_listening_prints_a_refused_error() {
    let address = nothing_listening();
    let output = run(socket_echo(["ping", &address, "--count", "1", "--json"]));
    check_error(
        &output,
        "ping",
        Some(&address),
        "refused",
        1,
        "failed to connect",
    );
}

#[test]
fn bench_with_nothing_listening_prints_a_refused_error() {
    let address = nothing_listening();
    let output = run(socket_echo([
        "bench",
        &address,
        "--conns",
        "1",
        "--duration",
        "100ms",
        "--json",
    ]));
    check_error(
        &output,
        "bench",
        Some(&address),
        "refused",
        1,
        "failed to connect",
    );
}

#[test]
fn serve_on_an_address_in_use_prints_an_error_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(socket_echo(["serve", &address, "--json"]));
    check_error(
        &output,
        "serve",
        Some(&address),
        "address_in_use",
        1,
        &address,
    );

    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = format!("udp://{}", taken.local_addr().unwrap());
    // The first address starts, the second cannot: the error names the second.
    let output = run(socket_echo(["serve", "127.0.0.1:0", &address, "--json"]));
    check_error(
        &output,
        "serve",
        Some(&address),
        "address_in_use",
        1,
        "failed to bind",
    );
}

#[test]
fn a_name_that_does_not_resolve_is_a_resolve_error() {
    let name = "no-such-host.invalid:9999";
    for (command, args) in [
        ("ping", vec!["--count", "1"]),
        ("bench", vec!["--duration", "100ms"]),
        ("serve", vec![]),
    ] {
        let mut line = vec![command, name, "--json"];
        line.extend(args);
        let output = run(socket_echo(&line));
        check_error(
            &output,
            command,
            Some(name),
            "resolve",
            1,
            "no-such-host.invalid",
        );
    }
}

#[test]
fn an_address_that_does_not_parse_is_a_usage_error() {
    for command in ["ping", "bench", "serve"] {
        let output = run(socket_echo([command, "ftp://localhost:21", "--json"]));
        check_error(
            &output,
            command,
            Some("ftp://localhost:21"),
            "usage",
            2,
            "unknown scheme",
        );
    }
}

#[test]
fn a_flag_refused_by_the_command_line_parser_is_a_usage_error() {
    let output = run(socket_echo(["ping", "--count", "0", "--json"]));
    check_error(&output, "ping", None, "usage", 2, "--count");
    let output = run(socket_echo(["bench", "--no-such-flag", "--json"]));
    check_error(&output, "bench", None, "usage", 2, "--no-such-flag");
    let output = run(socket_echo([
        "serve",
        "127.0.0.1:0",
        "--fault",
        "drop=0.5",
        "--json",
    ]));
    check_error(&output, "serve", Some("127.0.0.1:0"), "usage", 2, "--fault");
}

#[test]
fn a_ping_cut_short_by_the_server_counts_the_probe_in_flight_as_lost() {
    // Three 64-byte probes are echoed; the fourth meets the closed connection.
    let server = Server::start(&["127.0.0.1:0", "--fault", "close-after=192"]);
    let output = run(socket_echo([
        "ping",
        &server.addresses[0],
        "--count",
        "10",
        "--interval",
        "1ms",
        "--json",
    ]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    let lines = output.json_lines();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{output:?}");
    assert_eq!(summary["sent"], 4, "{summary}");
    assert_eq!(summary["received"], 3, "{summary}");
    assert_eq!(summary["lost"], 1, "sent = received + lost: {summary}");
    assert_eq!(summary["loss_percent"], 25.0, "{summary}");
    assert_eq!(summary["error_kind"], "short", "{summary}");
    assert!(
        summary["error"].as_str().unwrap().contains("closed"),
        "{summary}"
    );
    let probes = lines.iter().filter(|line| line["type"] == "probe").count();
    assert_eq!(probes, 3, "one probe object per echo: {output:?}");
}

#[test]
fn a_ping_that_loses_every_probe_says_so_in_its_summary() {
    // Nothing answers on this UDP port: each probe is refused (ICMP) or times out.
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = format!("udp://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = run(socket_echo([
        "ping",
        &address,
        "--count",
        "2",
        "--interval",
        "1ms",
        "--timeout",
        "100ms",
        "--json",
    ]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    let summary = output.json_lines().pop().unwrap();
    assert_eq!(summary["type"], "summary", "{output:?}");
    assert_eq!(
        (summary["sent"].clone(), summary["lost"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(summary["received"], 0);
    assert_eq!(summary["error_kind"], "lost", "{summary}");
    assert_eq!(summary["loss_percent"], 100.0);
}

#[test]
fn times_are_milliseconds_printed_as_measured() {
    let server = Server::start(&["127.0.0.1:0"]);
    let output = run(socket_echo([
        "bench",
        &server.addresses[0],
        "--conns",
        "1",
        "--duration",
        "100ms",
        "--json",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    let bench = only_object(&output);
    assert!(
        bench["error"].is_null() && bench["error_kind"].is_null(),
        "{bench}"
    );
    assert!(
        bench.get("rtt_us").is_none() && bench.get("seconds").is_none(),
        "{bench}"
    );
    let elapsed = bench["elapsed_ms"].as_f64().unwrap();
    assert!(elapsed >= 100.0, "{bench}");
    // No more than nanoseconds: six decimals of a millisecond at most.
    for time in ["min", "mean", "p50", "p99", "max"] {
        let text = bench["rtt_ms"][time].to_string();
        let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 6, "rtt_ms.{time} = {text}");
    }
    let rate = bench["messages_per_sec"].to_string();
    assert!(
        rate.split_once('.').is_none_or(|(_, d)| d.len() <= 1),
        "{rate}"
    );
}
