//! The tool over TLS: `serve tls://` answers `openssl s_client` and the tool's own clients,
//! which trust the certificate `--cert-out` wrote (`--ca`), or nothing (`--insecure`, with a
//! warning); a certificate nobody trusts is a failure naming the reason, a TLS flag where
//! no address speaks TLS is a usage error; `--cert`/`--key` and `--client-ca` serve the
//! user's own certificates; the statistics count the handshakes.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use serde_json::Value;
use socket_echo::{Certificate, Identity};
use support::{DEADLINE, Server, http, run, run_with_input, socket_echo, tool_available};

/// A directory of the test's own for its PEM files, made by the first call.
fn dir(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("socket-echo-cli-{}-tls-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `serve tls://127.0.0.1:0 --cert-out FILE ARGS...`: the server and the file.
fn serve(test: &str, args: &[&str]) -> (Server, PathBuf) {
    let cert = dir(test).join("server.pem");
    let mut all = vec!["tls://127.0.0.1:0", "--cert-out", cert.to_str().unwrap()];
    all.extend(args);
    (Server::start(&all), cert)
}

/// A self-signed certificate and key for `names`, written as `NAME.pem` and `NAME.key`.
fn identity(test: &str, name: &str, names: &[&str]) -> (Identity, PathBuf, PathBuf) {
    let identity = Identity::self_signed(names).unwrap();
    let dir = dir(test);
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, identity.certificate().pem()).unwrap();
    std::fs::write(&key, identity.key_pem()).unwrap();
    (identity, cert, key)
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The fingerprint `serve` printed after its address.
fn printed_fingerprint(server: &Server) -> String {
    let address = &server.addresses[0];
    let prefix = format!("certificate of {address}: sha256 ");
    server
        .seen
        .iter()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no fingerprint line in {:?}", server.seen))
        .to_owned()
}

/// Waits for the fingerprint line, which follows the address.
fn read_fingerprint(server: &mut Server) -> String {
    while !server
        .seen
        .iter()
        .any(|line| line.starts_with("certificate of "))
    {
        server.next_line().expect("a fingerprint line");
    }
    printed_fingerprint(server)
}

#[test]
fn serve_answers_openssl_s_client_trusting_the_cert_out_file() {
    let test = "serve_answers_openssl_s_client_trusting_the_cert_out_file";
    if !tool_available("openssl", test) {
        return;
    }
    let (mut server, cert) = serve("s-client", &[]);
    let trusted = Certificate::from_pem_file(&cert).unwrap();
    assert_eq!(trusted.len(), 1);
    assert_eq!(
        read_fingerprint(&mut server),
        trusted[0].fingerprint().to_string()
    );
    let address = server.addresses[0].strip_prefix("tls://").unwrap();
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-no_ign_eof", "-verify_return_error"])
        .args(["-connect", address, "-verify_ip", "127.0.0.1", "-CAfile"])
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(b"through s_client \x01\xff\n").unwrap();
    stdin.flush().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = Vec::new();
        let _ = stdout.read_until(b'\n', &mut line);
        let _ = tx.send(line);
    });
    let echoed = rx.recv_timeout(DEADLINE);
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(echoed.unwrap(), b"through s_client \x01\xff\n");
    let stopped = server.stop();
    assert_eq!(stopped.code(), Some(0), "{stopped:?}");
    assert!(
        stopped.stdout.contains("  tls: 1 handshakes"),
        "{}",
        stopped.stdout
    );
}

#[test]
fn ping_bench_and_send_trust_the_cert_out_file() {
    let (server, cert) = serve("clients", &[]);
    let address = server.addresses[0].as_str();
    let ca = path(&cert);

    let ping = run(socket_echo([
        "ping", address, "--ca", ca, "-c", "3", "-i", "10ms",
    ]));
    assert_eq!(ping.code(), Some(0), "{ping:?}");
    assert!(
        ping.stdout.contains("3 probes sent, 3 received"),
        "{ping:?}"
    );

    let bench = run(socket_echo([
        "bench", address, "--ca", ca, "-d", "1s", "-c", "2", "--json",
    ]));
    assert_eq!(bench.code(), Some(0), "{bench:?}");
    let report = &bench.json_lines()[0];
    assert_eq!(report["transport"], "tls");
    assert!(report["messages"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["errors"], 0);

    let input: Vec<u8> = b"0123456789abcdef".repeat(6250);
    let send = run_with_input(socket_echo(["send", address, "--ca", ca]), &input);
    assert_eq!(send.code(), Some(0), "{send:?}");
    assert!(send.stdout.as_bytes() == input, "the echo differs");
    let bulk = run(socket_echo([
        "bench", address, "--ca", ca, "--bulk", "-d", "200ms",
    ]));
    assert_eq!(bulk.code(), Some(0), "{bulk:?}");
    assert!(server.stop().status.success());
}

#[test]
fn send_echoes_standard_input_byte_exact() {
    let (server, cert) = serve("send", &[]);
    let input: Vec<u8> = (0..=255u8).collect();
    let mut command = socket_echo(["send", &server.addresses[0], "--ca", path(&cert)]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, input);
    server.stop();
}

#[test]
fn a_certificate_signed_by_another_is_an_unknown_issuer() {
    let test = "unknown-issuer";
    let (server, _) = serve(test, &[]);
    let (_, other, _) = identity(test, "other", &["localhost", "127.0.0.1"]);
    let address = server.addresses[0].as_str();
    let ca = path(&other);
    for args in [
        ["ping", address, "--ca", ca, "-c", "1"],
        ["bench", address, "--ca", ca, "-d", "1s"],
        ["send", address, "--ca", ca, "-W", "5s"],
    ] {
        let output = run_with_input(socket_echo(args), b"hello");
        assert_eq!(output.code(), Some(1), "{args:?}: {output:?}");
        assert!(
            output.stderr.contains("unknown issuer"),
            "{args:?}: {}",
            output.stderr
        );
    }
    let json = run(socket_echo([
        "ping",
        address,
        "--ca",
        path(&other),
        "-c",
        "1",
        "--json",
    ]));
    assert_eq!(json.code(), Some(1));
    let error = json.json_lines().pop().unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error_kind"], "tls");
    assert!(error["error"].as_str().unwrap().contains("unknown issuer"));
    let stopped = server.stop();
    assert!(
        stopped.stdout.contains("alerts received"),
        "{}",
        stopped.stdout
    );
}

#[test]
fn insecure_accepts_any_certificate_and_warns() {
    let (server, _) = serve("insecure", &[]);
    let output = run(socket_echo([
        "ping",
        &server.addresses[0],
        "--insecure",
        "-c",
        "1",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert!(output.stdout.contains("1 received"), "{output:?}");
    assert!(
        output
            .stderr
            .contains("--insecure: the server's certificate is not verified"),
        "{}",
        output.stderr
    );
    // Even with -q, which keeps only the errors.
    let quiet = run(socket_echo([
        "-q",
        "send",
        &server.addresses[0],
        "quiet",
        "--insecure",
    ]));
    assert_eq!(quiet.code(), Some(0), "{quiet:?}");
    assert_eq!(quiet.stdout, "quiet");
    assert!(
        quiet
            .stderr
            .contains("--insecure: the server's certificate is not verified"),
        "{}",
        quiet.stderr
    );
    server.stop();
}

/// Runs `args` and expects a usage error whose message contains `says`.
fn refused(args: &[&str], says: &str) {
    let output = run(socket_echo(args));
    assert_eq!(output.code(), Some(2), "{args:?}: {output:?}");
    assert!(output.stderr.contains(says), "{args:?}: {}", output.stderr);
}

#[test]
fn tls_flags_without_a_tls_address_and_a_tls_address_without_trust_are_usage_errors() {
    let test = "usage";
    let (_, cert, key) = identity(test, "mine", &["localhost"]);
    let (cert, key) = (path(&cert), path(&key));
    let out = dir(test).join("out.pem");
    let out = path(&out);
    refused(&["serve", "127.0.0.1:0", "--cert-out", out], "--cert-out");
    refused(
        &["serve", "127.0.0.1:0", "--client-ca", cert],
        "--client-ca",
    );
    refused(
        &["serve", "udp://127.0.0.1:0", "--cert", cert, "--key", key],
        "--cert",
    );
    refused(
        &["serve", "127.0.0.1:0", "--handshake-timeout", "1s"],
        "--handshake-timeout",
    );
    refused(
        &["serve", "tls://127.0.0.1:0", "--handshake-timeout", "5"],
        "--handshake-timeout",
    );
    refused(&["serve", "tls://127.0.0.1:0", "--cert", cert], "--key");
    refused(
        &[
            "serve",
            "tls://127.0.0.1:0",
            "--client-ca",
            "/nonexistent.pem",
        ],
        "--client-ca",
    );
    for subcommand in ["ping", "bench", "send"] {
        refused(
            &[subcommand, "tls://127.0.0.1:9"],
            "is a TLS address: give --ca FILE",
        );
        refused(
            &[subcommand, "127.0.0.1:9", "--ca", cert],
            "--ca applies to tls://",
        );
        refused(&[subcommand, "127.0.0.1:9", "--insecure"], "--insecure");
        refused(
            &[subcommand, "tls://127.0.0.1:9", "--ca", cert, "--insecure"],
            "--insecure",
        );
        refused(&[subcommand, "tls://127.0.0.1:9", "--ca", key], "--ca");
    }
    assert!(!Path::new(out).exists());
}

#[test]
fn cert_and_key_serve_the_given_certificate() {
    let test = "own-cert";
    let (identity, cert, key) = identity(test, "mine", &["echo.test", "127.0.0.1"]);
    let (mut server, written) = serve(test, &["--cert", path(&cert), "--key", path(&key)]);
    let fingerprint = identity.certificate().fingerprint().to_string();
    assert_eq!(read_fingerprint(&mut server), fingerprint);
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        identity.certificate().pem()
    );
    let address = server.addresses[0].as_str();
    let named = run(socket_echo([
        "ping",
        address,
        "--ca",
        path(&cert),
        "--server-name",
        "echo.test",
        "-c",
        "1",
    ]));
    assert_eq!(named.code(), Some(0), "{named:?}");
    let wrong = run(socket_echo([
        "ping",
        address,
        "--ca",
        path(&cert),
        "--server-name",
        "other.test",
        "-c",
        "1",
    ]));
    assert_eq!(wrong.code(), Some(1), "{wrong:?}");
    assert!(wrong.stderr.contains("another name"), "{}", wrong.stderr);
    server.stop();
}

#[test]
fn client_ca_requires_a_client_certificate_signed_by_it() {
    let test = "mutual";
    let (_, client, client_key) = identity(test, "client", &["client.test"]);
    let (server, cert) = serve(test, &["--client-ca", path(&client)]);
    let address = server.addresses[0].as_str();
    let without = run(socket_echo([
        "ping",
        address,
        "--ca",
        path(&cert),
        "-c",
        "1",
    ]));
    assert_eq!(without.code(), Some(1), "{without:?}");
    let with = run(socket_echo([
        "ping",
        address,
        "--ca",
        path(&cert),
        "--cert",
        path(&client),
        "--key",
        path(&client_key),
        "-c",
        "1",
    ]));
    assert_eq!(with.code(), Some(0), "{with:?}");
    let stopped = server.stop();
    assert!(
        stopped.stdout.contains("  tls: 1 handshakes"),
        "{}",
        stopped.stdout
    );
}

#[test]
fn json_lines_carry_the_fingerprint_and_the_tls_counts() {
    let test = "json";
    let socket = support::unix_path("tls-json");
    let cert = dir(test).join("server.pem");
    let unix = format!("tls+unix:{socket}");
    let server = Server::start(&[
        "tls://127.0.0.1:0",
        &unix,
        "--cert-out",
        path(&cert),
        "--handshake-timeout",
        "5s",
        "--json",
    ]);
    let listening: Vec<Value> = server
        .seen
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // One certificate each, both in the file.
    let trusted = Certificate::from_pem_file(&cert).unwrap();
    assert_eq!(trusted.len(), 2);
    for (line, certificate) in listening.iter().zip(&trusted) {
        assert_eq!(line["type"], "listening");
        assert_eq!(
            line["certificate_sha256"],
            certificate.fingerprint().to_string()
        );
    }
    assert_eq!(listening[1]["address"], unix.as_str());
    let send = run_with_input(
        socket_echo([
            "send",
            &unix,
            "--ca",
            path(&cert),
            "--server-name",
            "localhost",
            "--json",
        ]),
        b"over a unix socket",
    );
    assert_eq!(send.code(), Some(0), "{send:?}");
    assert_eq!(send.json_lines()[0]["bytes"], 18);
    let stopped = server.stop();
    let last = stopped.json_lines().pop().unwrap();
    assert_eq!(last["type"], "stopped");
    assert_eq!(last["tls"]["handshakes"], 1, "{last}");
    assert_eq!(last["tls"]["unknown_issuer"], 0);
}

#[test]
fn alpn_is_offered_by_ping_bench_and_send_and_counted_by_serve() {
    let (server, cert) = serve("alpn", &["--alpn", "h2", "--json"]);
    let address = server.addresses[0].as_str();
    let ca = path(&cert);
    let ping = run(socket_echo([
        "ping", address, "--ca", ca, "--alpn", "h2", "-c", "1",
    ]));
    assert_eq!(ping.code(), Some(0), "{ping:?}");
    let bench = run(socket_echo([
        "bench", address, "--ca", ca, "--alpn", "x-other", "--alpn", "h2", "-d", "200ms", "-c",
        "1", "--json",
    ]));
    assert_eq!(bench.code(), Some(0), "{bench:?}");
    let send = run_with_input(
        socket_echo(["send", address, "--ca", ca, "--alpn", "x-other,h2"]),
        b"alpn",
    );
    assert_eq!(send.code(), Some(0), "{send:?}");
    let plain = run_with_input(socket_echo(["send", address, "--ca", ca]), b"none");
    assert_eq!(plain.code(), Some(0), "{plain:?}");
    // Offering only a protocol the server does not accept fails the handshake.
    let refused = run(socket_echo([
        "ping", address, "--ca", ca, "--alpn", "http/1.1", "-c", "1",
    ]));
    assert_eq!(refused.code(), Some(1), "{refused:?}");
    let last = server.stop().json_lines().pop().unwrap();
    assert_eq!(last["type"], "stopped");
    let tls = &last["tls"];
    let handshakes = tls["handshakes"].as_u64().unwrap();
    assert!(handshakes >= 4, "{tls}");
    assert_eq!(tls["alpn_h2"].as_u64().unwrap(), handshakes - 1, "{tls}");
    assert_eq!(tls["alpn_none"], 1, "{tls}");
    assert_eq!(tls["alpn_http_1_1"], 0, "{tls}");
    assert_eq!(tls["alpn_other"], 0, "{tls}");
}

#[test]
fn an_alpn_protocol_of_no_bytes_is_a_usage_error() {
    for command in [
        &["serve", "tls://127.0.0.1:0", "--alpn", "h2,"][..],
        &["ping", "tls://127.0.0.1:1", "--insecure", "--alpn", ""],
    ] {
        let output = run(socket_echo(command.iter().copied()));
        assert_eq!(output.code(), Some(2), "{output:?}");
        assert!(output.stderr.contains("ALPN protocol"), "{output:?}");
    }
}

#[test]
fn metrics_count_the_handshakes_of_a_tls_address() {
    let (server, cert) = serve("metrics", &["--control", "127.0.0.1:0"]);
    let control = server.control.clone().unwrap();
    let ping = run(socket_echo([
        "ping",
        &server.addresses[0],
        "--ca",
        path(&cert),
        "-c",
        "1",
    ]));
    assert_eq!(ping.code(), Some(0), "{ping:?}");
    let (status, page) = http(&control, "GET", "/metrics", "");
    assert_eq!(status, 200);
    let series = format!(
        "socket_echo_tls_handshakes_total{{address=\"{}\"}} 1\n",
        server.addresses[0]
    );
    assert!(page.contains(&series), "{page}");
    assert!(page.contains("# TYPE socket_echo_tls_truncated_total counter\n"));
    let alpn_none = format!(
        "socket_echo_tls_alpn_none_total{{address=\"{}\"}} 1\n",
        server.addresses[0]
    );
    assert!(page.contains(&alpn_none), "{page}");
    assert!(page.contains("# TYPE socket_echo_tls_alpn_h2_total counter\n"));
    let (_, stats) = http(&control, "GET", "/stats", "");
    assert!(stats.contains("\"handshakes\":1"), "{stats}");
    server.stop();
}

#[test]
fn completions_and_manual_pages_name_the_tls_flags() {
    let bash = run(socket_echo(["completions", "bash"]));
    assert_eq!(bash.code(), Some(0));
    for flag in [
        "--cert-out",
        "--client-ca",
        "--handshake-timeout",
        "--ca",
        "--server-name",
        "--insecure",
        "--alpn",
    ] {
        assert!(bash.stdout.contains(flag), "{flag}");
    }
    for (page, flags) in [
        (
            "serve",
            &["cert\\-out", "client\\-ca", "tls://localhost:9443"][..],
        ),
        (
            "ping",
            &["insecure", "server\\-name", "tls://localhost:9443"][..],
        ),
        ("bench", &["insecure", "tls://localhost:9443"][..]),
        ("send", &["insecure", "tls://localhost:9443"][..]),
    ] {
        let man = run(socket_echo(["man", page]));
        assert_eq!(man.code(), Some(0));
        for flag in flags {
            assert!(man.stdout.contains(flag), "{page}: {flag}");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_abstract_unix_name_serves_ping_bench_and_send() {
    let test = "abstract";
    let cert = dir(test).join("server.pem");
    let address = format!("tls+unix:@socket-echo-cli-tls-{}", std::process::id());
    let mut server = Server::start(&[address.as_str(), "--cert-out", path(&cert)]);
    assert_eq!(server.addresses, std::slice::from_ref(&address));
    let trusted = Certificate::from_pem_file(&cert).unwrap();
    assert_eq!(
        read_fingerprint(&mut server),
        trusted[0].fingerprint().to_string()
    );
    let ca = path(&cert);
    let ping = run(socket_echo([
        "ping", &address, "--ca", ca, "-c", "2", "-i", "10ms",
    ]));
    assert_eq!(ping.code(), Some(0), "{ping:?}");
    assert!(
        ping.stdout.contains("2 probes sent, 2 received"),
        "{ping:?}"
    );
    let send = run_with_input(socket_echo(["send", &address, "--ca", ca]), b"no file");
    assert_eq!(send.code(), Some(0), "{send:?}");
    assert_eq!(send.stdout, "no file");
    let bench = run(socket_echo([
        "bench", &address, "--ca", ca, "-d", "200ms", "-c", "2", "--json",
    ]));
    assert_eq!(bench.code(), Some(0), "{bench:?}");
    assert_eq!(bench.json_lines()[0]["transport"], "tls+unix");
    assert_eq!(bench.json_lines()[0]["errors"], 0);
    // A client that trusts another certificate is refused, naming why.
    let (_, other, _) = identity(test, "other", &["localhost"]);
    let refused = run(socket_echo([
        "ping",
        &address,
        "--ca",
        path(&other),
        "-c",
        "1",
    ]));
    assert_eq!(refused.code(), Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("unknown issuer"),
        "{}",
        refused.stderr
    );
    let stopped = server.stop();
    assert_eq!(stopped.code(), Some(0), "{stopped:?}");
    assert!(
        stopped.stdout.contains("  tls: 4 handshakes"),
        "{}",
        stopped.stdout
    );
}
