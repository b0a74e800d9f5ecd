//! The tool's TLS faults as real clients see them: `serve tls://... --fault tls-...`, then
//! the tool's own `ping` and `send` trusting the `--cert-out` file meet each fault as the
//! error it names, and the server counts it; a TLS fault goes to the TLS addresses only, and
//! one that no address can take is a usage error.

mod support;

use std::path::{Path, PathBuf};

use support::{Output, Server, http, run, run_with_input, socket_echo, temp_dir};

/// `serve tls://127.0.0.1:0 --cert-out FILE ARGS...`: the server and the file.
fn serve(test: &str, args: &[&str]) -> (Server, PathBuf) {
    let cert = temp_dir(test).join("server.pem");
    let mut all = vec!["tls://127.0.0.1:0", "--cert-out", cert.to_str().unwrap()];
    all.extend(args);
    (Server::start(&all), cert)
}

/// One probe of `ping` to the server's first address, trusting `cert`.
fn ping(server: &Server, cert: &Path) -> Output {
    run(socket_echo([
        "ping",
        &server.addresses[0],
        "--ca",
        cert.to_str().unwrap(),
        "-c",
        "1",
        "-W",
        "5s",
    ]))
}

/// Stops the server and asserts that its final statistics name `counts`.
fn counted(server: Server, counts: &[&str]) {
    let stopped = server.stop();
    assert_eq!(stopped.code(), Some(0), "{stopped:?}");
    for count in counts {
        assert!(
            stopped.stdout.contains(count),
            "{count}: {}",
            stopped.stdout
        );
    }
}

#[test]
fn each_bad_certificate_is_the_failure_the_client_names() {
    for (which, says) in [
        ("expired", "certificate expired"),
        ("not-yet-valid", "certificate not valid yet"),
        ("wrong-name", "certificate is for another name"),
        ("untrusted", "certificate signed by an unknown issuer"),
    ] {
        let fault = format!("tls-cert={which}");
        let (server, cert) = serve(&format!("cert-{which}"), &["--fault", &fault]);
        let ping = ping(&server, &cert);
        assert_eq!(ping.code(), Some(1), "{fault}: {ping:?}");
        assert!(ping.stderr.contains(says), "{fault}: {}", ping.stderr);
        counted(server, &["1 tls bad certificates", "1 alerts received"]);
    }
}

#[test]
fn a_handshake_stalled_at_hello_fails_the_client_at_the_servers_handshake_timeout() {
    let (server, cert) = serve(
        "stall-hello",
        &["--fault", "tls-stall=hello", "--handshake-timeout", "300ms"],
    );
    let ping = ping(&server, &cert);
    assert_eq!(ping.code(), Some(1), "{ping:?}");
    // The server closes it without a word: the client's handshake ends cut short.
    assert!(
        ping.stderr.contains("closed without close_notify"),
        "{}",
        ping.stderr
    );
    counted(
        server,
        &["1 tls stalled", "1 handshake timeouts", "0 handshakes"],
    );
}

#[test]
fn a_handshake_stalled_at_finished_lets_the_client_in_and_never_echoes() {
    let (server, cert) = serve(
        "stall-finished",
        &[
            "--fault",
            "tls-stall=finished",
            "--handshake-timeout",
            "300ms",
        ],
    );
    let ping = ping(&server, &cert);
    assert_eq!(ping.code(), Some(1), "{ping:?}");
    assert!(
        ping.stdout.contains("1 probes sent, 0 received"),
        "{ping:?}"
    );
    counted(
        server,
        &["1 tls stalled", "1 handshake timeouts", "0 handshakes"],
    );
}

#[test]
fn a_reset_during_the_handshake_is_a_reset_to_the_client() {
    let (server, cert) = serve("reset", &["--fault", "tls-reset=handshake"]);
    let ping = ping(&server, &cert);
    assert_eq!(ping.code(), Some(1), "{ping:?}");
    assert!(ping.stderr.contains("reset"), "{}", ping.stderr);
    counted(server, &["1 tls reset"]);
}

/// `send INPUT` to a server under `fault`: it fails, naming the truncation. The server's
/// final statistics.
fn truncated_send(test: &str, fault: &str, input: &[u8]) -> Output {
    let (server, cert) = serve(test, &["--fault", fault]);
    let send = run_with_input(
        socket_echo(["send", &server.addresses[0], "--ca", cert.to_str().unwrap()]),
        input,
    );
    assert_eq!(send.code(), Some(1), "{fault}: {send:?}");
    assert!(
        send.stderr.contains("closed without close_notify"),
        "{fault}: {}",
        send.stderr
    );
    assert!(!send.stdout.contains("456"), "{fault}: {send:?}");
    let stopped = server.stop();
    assert!(
        stopped.stdout.contains("1 tls truncated"),
        "{}",
        stopped.stdout
    );
    stopped
}

#[test]
fn a_truncation_is_a_failure_never_a_clean_end() {
    let stopped = truncated_send("truncate", "tls-truncate", b"all of it");
    assert!(
        stopped.stdout.contains("1 handshakes"),
        "{}",
        stopped.stdout
    );
    // After N bytes: the echo is cut there, and said to be.
    let stopped = truncated_send("truncate-n", "tls-truncate=4", b"0123456789");
    assert!(stopped.stdout.contains(" in, 4 out"), "{}", stopped.stdout);
}

#[test]
fn a_tls_fault_goes_to_the_tls_addresses_only() {
    let (server, cert) = serve(
        "mixed",
        &[
            "127.0.0.1:0",
            "--fault",
            "tls-reset=handshake",
            "--control",
            "127.0.0.1:0",
        ],
    );
    // The TCP address is served as if no fault were set.
    let plain = run(socket_echo(["ping", &server.addresses[1], "-c", "1"]));
    assert_eq!(plain.code(), Some(0), "{plain:?}");
    assert_eq!(ping(&server, &cert).code(), Some(1));
    // The control endpoint gives TLS faults the same way.
    let control = server.control.clone().unwrap();
    let (status, body) = http(&control, "PUT", "/faults", "tls-cert=expired");
    assert_eq!(status, 200, "{body}");
    let (_, faults) = http(&control, "GET", "/faults", "");
    let faults: serde_json::Value = serde_json::from_str(&faults).unwrap();
    assert_eq!(
        faults["faults"][0]["specs"][0], "tls-cert=expired",
        "{faults}"
    );
    assert_eq!(
        faults["faults"][1]["specs"].as_array().unwrap().len(),
        0,
        "{faults}"
    );
    let expired = ping(&server, &cert);
    assert!(
        expired.stderr.contains("certificate expired"),
        "{expired:?}"
    );
    counted(server, &["1 tls reset", "1 tls bad certificates"]);
}

#[test]
fn a_tls_fault_no_address_takes_is_a_usage_error() {
    for addresses in [
        &["127.0.0.1:0"][..],
        &["udp://127.0.0.1:0"][..],
        &["127.0.0.1:0", "udp://127.0.0.1:0"][..],
    ] {
        for fault in ["tls-stall=hello", "tls-cert=untrusted", "tls-truncate=10"] {
            let mut args = vec!["serve"];
            args.extend(addresses);
            args.extend(["--fault", fault]);
            let output = run(socket_echo(&args));
            assert_eq!(output.code(), Some(2), "{args:?}: {output:?}");
            assert!(
                output.stderr.contains(&format!(
                    "--fault {fault}: a TLS fault applies to none of these addresses"
                )),
                "{args:?}: {}",
                output.stderr
            );
        }
    }
    // Nor over the control endpoint.
    let server = Server::start(&["127.0.0.1:0", "--control", "127.0.0.1:0"]);
    let control = server.control.clone().unwrap();
    let (status, body) = http(&control, "PUT", "/faults", "tls-reset=handshake");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("applies to none of the addresses"), "{body}");
    server.stop();
}
