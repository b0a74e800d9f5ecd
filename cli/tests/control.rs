//! `serve --control ADDR` and `ctl`: the statistics read and the faults changed over HTTP
//! while the server runs, by the tool's own client, by curl, by promtool and by a Python test
//! as a user in another language writes one; and the endpoint's answers to requests it must
//! refuse (RELIABILITY.md, case 48).

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use socket_echo::{EchoClient, Error, Udp, Unix};
use support::{Server, exchange, http, run, socket_echo, tool_available, unix_path};

fn start(addresses: &[&str]) -> (Server, String) {
    let mut args: Vec<&str> = addresses.to_vec();
    args.extend(["--control", "127.0.0.1:0"]);
    let server = Server::start(&args);
    let control = server.control.clone().expect("a control line");
    (server, control)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON: {body:?}: {e}"))
}

/// `socket-echo ctl CONTROL ARGS...`.
fn ctl(control: &str, args: &[&str]) -> support::Output {
    let mut command = socket_echo(["ctl", control]);
    command.args(args);
    run(command)
}

#[test]
fn a_fault_set_through_the_endpoint_is_met_by_the_next_round_trip() {
    let (server, control) = start(&["127.0.0.1:0"]);
    let mut client = EchoClient::connect(server.addresses[0].as_str()).unwrap();
    assert_eq!(&client.echo(b"before").unwrap()[..], b"before");

    let set = ctl(&control, &["faults", "reset-after=2"]);
    assert_eq!(set.code(), Some(0), "{set:?}");
    assert_eq!(json(&set.stdout)["faults"][0]["specs"][0], "reset-after=2");
    match client.echo(b"broken") {
        Err(Error::Reset { received, .. }) => assert_eq!(received, 2),
        other => panic!("expected a reset after 2 bytes, got {other:?}"),
    }

    let cleared = ctl(&control, &["clear"]);
    assert_eq!(cleared.code(), Some(0), "{cleared:?}");
    let mut again = EchoClient::connect(server.addresses[0].as_str()).unwrap();
    assert_eq!(&again.echo(b"after").unwrap()[..], b"after");
    let finished = server.stop();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
}

#[test]
fn down_refuses_connects_and_up_serves_again_on_the_same_port() {
    let (server, control) = start(&["127.0.0.1:0"]);
    let addr = server.addresses[0].clone();
    let mut kept = EchoClient::connect(addr.as_str()).unwrap();
    assert_eq!(&kept.echo(b"before").unwrap()[..], b"before");

    let down = ctl(&control, &["down", "--keep"]);
    assert_eq!(down.code(), Some(0), "{down:?}");
    assert_eq!(json(&down.stdout)["servers"][0]["down"], true, "{down:?}");
    match EchoClient::connect(addr.as_str()) {
        Err(Error::Connect { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected a refused connect while down, got {other:?}"),
    }
    // `--keep`: the connection open before goes on being echoed.
    assert_eq!(&kept.echo(b"kept").unwrap()[..], b"kept");
    let (status, body) = http(&control, "GET", "/down", "");
    assert_eq!(
        (status, json(&body)["servers"][0]["down"].clone()),
        (200, Value::Bool(true))
    );

    let up = ctl(&control, &["up"]);
    assert_eq!(up.code(), Some(0), "{up:?}");
    assert_eq!(json(&up.stdout)["servers"][0]["down"], false, "{up:?}");
    let mut again = EchoClient::connect(addr.as_str()).unwrap();
    assert_eq!(&again.echo(b"after").unwrap()[..], b"after");

    // The default resets the open connections.
    assert_eq!(http(&control, "POST", "/down", "").0, 200);
    assert!(
        again.echo(b"gone").is_err(),
        "a reset connection must not echo"
    );
    let (status, body) = http(&control, "POST", "/down?open=later", "");
    assert_eq!(status, 400, "{body}");
    assert_eq!(http(&control, "POST", "/up", "").0, 200);
    let stats = json(&ctl(&control, &["stats"]).stdout);
    assert_eq!(stats["faults"]["went_down"], 2, "{stats}");
    let finished = server.stop();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
}

#[test]
fn a_datagram_fault_for_one_address_leaves_the_others_alone() {
    let (server, control) = start(&["udp://127.0.0.1:0", "127.0.0.1:0"]);
    let (udp, tcp) = (&server.addresses[0], &server.addresses[1]);
    let put = http(&control, "PUT", &format!("/faults?address={udp}"), "drop=1");
    assert_eq!(put.0, 200, "{put:?}");
    let faults = json(&http(&control, "GET", "/faults", "").1);
    assert_eq!(faults["faults"][0]["specs"], serde_json::json!(["drop=1"]));
    assert_eq!(faults["faults"][1]["specs"], serde_json::json!([]));

    let options = socket_echo::Options::new()
        .with_read_timeout(Some(Duration::from_millis(50)))
        .with_resends(0);
    let address = udp.strip_prefix("udp://").unwrap();
    let mut client = EchoClient::connect_on_with(Udp, address, options).unwrap();
    assert!(matches!(client.echo(b"lost"), Err(Error::Timeout { .. })));
    let mut stream = EchoClient::connect(tcp.as_str()).unwrap();
    assert_eq!(&stream.echo(b"fine").unwrap()[..], b"fine");

    let stats = json(&http(&control, "GET", &format!("/stats?address={udp}"), "").1);
    assert_eq!(stats["faults"]["dropped"], 1, "{stats}");
    assert_eq!(stats["accepted"], 0, "{stats}");
}

#[test]
fn a_wrong_spec_is_a_400_naming_the_part_and_changes_nothing() {
    let (server, control) = start(&["127.0.0.1:0", "udp://127.0.0.1:0"]);
    let tcp = server.addresses[0].clone();
    assert_eq!(http(&control, "PUT", "/faults", "delay=5ms").0, 200);
    let before = http(&control, "GET", "/faults", "");

    let (status, body) = http(&control, "PUT", "/faults", "delay=50ms,jitter=abc");
    assert_eq!(status, 400, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap()
            .contains("jitter=abc"),
        "{body}"
    );
    let (status, body) = http(
        &control,
        "PUT",
        &format!("/faults?address={tcp}"),
        "drop=0.5",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`drop` does not apply"), "{body}");
    let (status, body) = http(&control, "PUT", "/faults", "slice=16;corrupt=2");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("corrupt=2"), "{body}");

    assert_eq!(http(&control, "GET", "/faults", ""), before);
    let refused = ctl(&control, &["faults", "delay=abc"]);
    assert_eq!(refused.code(), Some(2), "{refused:?}");
    assert!(refused.stderr.contains("delay=abc"), "{refused:?}");
    assert_eq!(http(&control, "GET", "/faults", ""), before);
}

#[test]
fn unknown_routes_wrong_methods_and_big_bodies_are_refused() {
    let (server, control) = start(&["127.0.0.1:0"]);
    let before = http(&control, "GET", "/faults", "");
    assert_eq!(http(&control, "GET", "/nothing", "").0, 404);
    assert_eq!(
        http(&control, "GET", "/stats?address=127.0.0.1:1", "").0,
        404
    );
    assert_eq!(http(&control, "GET", "/stats?adress=x", "").0, 400);
    let answer = exchange(
        &control,
        b"POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
    assert!(answer.contains("\r\nAllow: GET\r\n"), "{answer}");
    // Refused from its declared length, before a byte of it is read.
    let answer = exchange(
        &control,
        b"PUT /faults HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\ndelay=5ms",
    );
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    let answer = exchange(
        &control,
        b"PUT /faults HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndelay=5ms\r\n0\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 411 "), "{answer}");
    let mut huge = b"GET /stats HTTP/1.1\r\nX: ".to_vec();
    huge.resize(20_000, b'a');
    let answer = exchange(&control, &huge);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert!(exchange(&control, b"\x16\x03\x01 not http\r\n\r\n").starts_with("HTTP/1.1 400 "));
    assert_eq!(http(&control, "GET", "/faults", ""), before);
    let mut client = EchoClient::connect(server.addresses[0].as_str()).unwrap();
    assert_eq!(&client.echo(b"unaffected").unwrap()[..], b"unaffected");
}

#[test]
fn a_client_sending_a_byte_a_second_times_out_while_the_echo_goes_on() {
    let (server, control) = start(&["127.0.0.1:0"]);
    let mut echo = EchoClient::connect(server.addresses[0].as_str()).unwrap();
    let mut slow = TcpStream::connect(control.strip_prefix("http://").unwrap()).unwrap();
    // Waiting up to a second for the answer paces the bytes.
    slow.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let request = b"PUT /faults HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\ndelay=5ms";
    let started = Instant::now();
    let mut answer = Vec::new();
    for byte in request {
        if slow.write_all(&[*byte]).is_err() {
            break;
        }
        assert_eq!(&echo.echo(b"still echoing").unwrap()[..], b"still echoing");
        let (status, _) = http(&control, "GET", "/stats", "");
        assert_eq!(status, 200, "another client is served meanwhile");
        let mut chunk = [0u8; 512];
        match slow.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&chunk[..n]);
                break;
            }
            Err(_) => assert!(started.elapsed() < support::DEADLINE, "never timed out"),
        }
    }
    slow.set_read_timeout(Some(support::DEADLINE)).unwrap();
    let _ = slow.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    let faults = json(&http(&control, "GET", "/faults", "").1);
    assert_eq!(faults["faults"][0]["specs"], serde_json::json!([]));
}

/// The figures of a text format page by metric and address label.
fn scrape(text: &str) -> BTreeMap<(String, String), u64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = series.split_once("{address=\"").unwrap();
            let address = labels.strip_suffix("\"}").unwrap();
            (
                (name.to_owned(), address.to_owned()),
                value.parse().unwrap(),
            )
        })
        .collect()
}

/// The name `/metrics` gives a field of `/stats`.
fn metric_of(field: &str, gauge: bool) -> String {
    let name = format!("socket_echo_{}", field.replace('.', "_"));
    match (field, gauge) {
        ("active", _) => "socket_echo_active_connections".to_owned(),
        (_, true) => name,
        (_, false) => format!("{name}_total"),
    }
}

/// `/stats` of each address, without `type` and `elapsed_ms` (which are not figures).
fn stats_by_address(control: &str, addresses: &[String]) -> Vec<Value> {
    addresses
        .iter()
        .map(|address| {
            let mut stats = json(&http(control, "GET", &format!("/stats?address={address}"), "").1);
            let object = stats.as_object_mut().unwrap();
            object.remove("type");
            object.remove("elapsed_ms");
            stats
        })
        .collect()
}

#[test]
fn metrics_equal_stats_per_address_and_pass_promtool() {
    let socket = unix_path("control-metrics");
    let unix = format!("unix:{socket}");
    let (server, control) = start(&["127.0.0.1:0", "udp://127.0.0.1:0", &unix]);
    let mut tcp = EchoClient::connect(server.addresses[0].as_str()).unwrap();
    tcp.echo(b"twelve bytes").unwrap();
    let udp = server.addresses[1].strip_prefix("udp://").unwrap();
    EchoClient::connect_on(Udp, udp)
        .unwrap()
        .echo(b"dgram")
        .unwrap();
    let mut stream = EchoClient::connect_on(Unix, socket.as_str()).unwrap();
    stream.echo(b"unix").unwrap();

    // The server counts a reply just after sending it: the figures are compared once the
    // last one was counted, and between two reads of /stats that agree.
    let settled = Instant::now() + support::DEADLINE;
    let (page, stats) = loop {
        let before = stats_by_address(&control, &server.addresses);
        let (status, page) = http(&control, "GET", "/metrics", "");
        assert_eq!(status, 200);
        let after = stats_by_address(&control, &server.addresses);
        let counted = after[1]["bytes_out"] == 5 && after[0]["bytes_out"] == 12;
        if before == after && counted {
            break (page, after);
        }
        assert!(
            Instant::now() < settled,
            "the figures never settled: {after:?}"
        );
    };
    let metrics = scrape(&page);
    for (address, stats) in server.addresses.iter().zip(&stats) {
        for (field, value) in stats.as_object().unwrap() {
            let figures: Vec<(String, &Value)> = match value {
                Value::Object(inner) => inner
                    .iter()
                    .map(|(k, v)| (format!("{field}.{k}"), v))
                    .collect(),
                Value::Number(_) => vec![(field.clone(), value)],
                _ => continue,
            };
            for (field, value) in figures {
                let gauge = field == "active" || field == "max_connections";
                let name = metric_of(&field, gauge);
                let scraped = metrics.get(&(name.clone(), address.clone()));
                assert_eq!(scraped, value.as_u64().as_ref(), "{name} of {address}");
            }
        }
    }
    assert_eq!(
        metrics[&(
            "socket_echo_bytes_in_total".into(),
            server.addresses[0].clone()
        )],
        12
    );
    assert_eq!(
        metrics[&(
            "socket_echo_datagrams_echoed_total".into(),
            server.addresses[1].clone()
        )],
        1
    );
    assert_eq!(
        metrics[&("socket_echo_bytes_out_total".into(), unix.clone())],
        4
    );
    assert!(page.contains("# HELP socket_echo_faults_dropped_total "));
    assert!(page.contains("# TYPE socket_echo_faults_dropped_total counter\n"));

    if tool_available(
        "promtool",
        "metrics_equal_stats_per_address_and_pass_promtool",
    ) {
        let mut check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        check
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let checked = check.wait_with_output().unwrap();
        assert!(checked.status.success(), "promtool: {checked:?}");
        let said =
            String::from_utf8_lossy(&checked.stdout) + String::from_utf8_lossy(&checked.stderr);
        assert!(
            said.trim().is_empty(),
            "promtool found something to say: {said}"
        );
    }
}

#[test]
fn curl_reads_and_changes_the_faults_over_tcp_and_a_unix_socket() {
    if !tool_available(
        "curl",
        "curl_reads_and_changes_the_faults_over_tcp_and_a_unix_socket",
    ) {
        return;
    }
    let socket = unix_path("control-curl");
    let server = Server::start(&["127.0.0.1:0", "--control", &format!("unix:{}", socket)]);
    assert_eq!(
        server.control.as_deref(),
        Some(format!("unix:{socket}").as_str())
    );
    let control_tcp_server = start(&["127.0.0.1:0"]);
    let (tcp_server, control) = control_tcp_server;
    let curl = |args: &[&str]| {
        let output = Command::new("curl")
            .args([
                "--silent",
                "--show-error",
                "--max-time",
                "10",
                "--write-out",
                " %{http_code}",
            ])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let put = curl(&[
        "-X",
        "PUT",
        "--data",
        "delay=5ms",
        &format!("{control}/faults"),
    ]);
    assert!(put.ends_with(" 200"), "{put}");
    assert!(put.contains("\"delay=5ms\""), "{put}");
    let bad = curl(&[
        "-X",
        "PUT",
        "--data",
        "delay=5",
        &format!("{control}/faults"),
    ]);
    assert!(bad.ends_with(" 400") && bad.contains("delay=5"), "{bad}");
    let got = curl(&[&format!("{control}/faults")]);
    assert!(
        got.contains("\"delay=5ms\"") && got.ends_with(" 200"),
        "{got}"
    );
    let deleted = curl(&["-X", "DELETE", &format!("{control}/faults")]);
    assert!(
        deleted.contains("\"specs\":[]") && deleted.ends_with(" 200"),
        "{deleted}"
    );
    drop(tcp_server);

    let over_unix = curl(&[
        "--unix-socket",
        &socket,
        "-X",
        "PUT",
        "--data",
        "close-after=3",
        "http://localhost/faults",
    ]);
    assert!(over_unix.ends_with(" 200"), "{over_unix}");
    let mut client = EchoClient::connect(server.addresses[0].as_str()).unwrap();
    assert!(matches!(
        client.echo(b"longer than three"),
        Err(Error::ShortEcho { received: 3, .. })
    ));
    let stats = curl(&["--unix-socket", &socket, "http://localhost/stats"]);
    assert!(
        stats.contains("\"closed\":1") && stats.ends_with(" 200"),
        "{stats}"
    );
    let mode = std::fs::metadata(&socket).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let finished = server.stop();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    assert!(
        !std::path::Path::new(&socket).exists(),
        "the control socket file is left"
    );
}

#[test]
fn the_endpoint_is_refused_off_loopback_unless_allowed() {
    let output = run(socket_echo([
        "serve",
        "127.0.0.1:0",
        "--control",
        "0.0.0.0:0",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(
        output.stderr.contains("--control-allow-remote"),
        "{output:?}"
    );
    let output = run(socket_echo([
        "serve",
        "127.0.0.1:0",
        "--control",
        "unix:@abstract",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    let output = run(socket_echo([
        "serve",
        "127.0.0.1:0",
        "--control-allow-remote",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
}

#[test]
fn ctl_says_so_when_nothing_listens() {
    let output = ctl("unix:/nonexistent/control.sock", &["stats"]);
    assert_eq!(output.code(), Some(1), "{output:?}");
    assert!(
        output.stderr.contains("unix:/nonexistent/control.sock"),
        "{output:?}"
    );
    let output = ctl("not an address", &["stats"]);
    assert_eq!(output.code(), Some(2), "{output:?}");
}

#[test]
fn a_python_test_flips_the_faults_while_its_client_runs_and_scrapes_the_metrics() {
    let test = "a_python_test_flips_the_faults_while_its_client_runs_and_scrapes_the_metrics";
    if !tool_available("python3", test) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/control.py");
    let mut command = Command::new("python3");
    command.args([script, env!("CARGO_BIN_EXE_socket-echo")]);
    let output = support::run(command);
    assert_eq!(
        output.code(),
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert!(output.stdout.contains("10 passed, 0 failed"), "{output:?}");
}
