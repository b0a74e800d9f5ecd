//! `socket-echo bench` against `serve` over every transport: the table, the JSON object,
//! and a bulk transfer.

mod support;

use support::{Server, every_transport, run, socket_echo};

#[test]
fn a_table_over_every_transport() {
    let server = Server::start(&every_transport("bench-table"));
    for address in &server.addresses {
        let output = run(socket_echo([
            "bench",
            address,
            "--conns",
            "2",
            "--duration",
            "300ms",
            "--size",
            "64",
        ]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert!(
            output.stdout.starts_with("echo benchmark of "),
            "{output:?}"
        );
        assert!(output.stdout.contains("closed-loop"), "{output:?}");
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn json_over_every_transport() {
    let server = Server::start(&every_transport("bench-json"));
    for (address, transport) in server.addresses.iter().zip(["tcp", "udp", "unix"]) {
        let output = run(socket_echo([
            "bench",
            address,
            "--conns",
            "2",
            "--duration",
            "300ms",
            "--size",
            "64",
            "--json",
        ]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        let lines = output.json_lines();
        assert_eq!(lines.len(), 1, "{output:?}");
        let json = &lines[0];
        assert_eq!(json["transport"], transport);
        assert_eq!(json["connections"], 2);
        assert_eq!(json["size"], 64);
        assert!(json["messages"].as_u64().unwrap() > 0, "{json}");
        assert_eq!(
            json["bytes"].as_u64(),
            json["messages"].as_u64().map(|m| m * 64)
        );
        assert_eq!(json["errors"], 0);
        let rtt = &json["rtt_ms"];
        assert!(rtt["p50"].as_f64().unwrap() <= rtt["p99"].as_f64().unwrap());
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn bulk_over_tcp_and_unix() {
    let unix = format!("unix:{}", support::unix_path("bench-bulk"));
    let server = Server::start(&["127.0.0.1:0", &unix]);
    for address in &server.addresses {
        let output = run(socket_echo([
            "bench",
            address,
            "--bulk",
            "--duration",
            "300ms",
        ]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert!(output.stdout.contains("bulk"), "{output:?}");
    }
    assert_eq!(server.stop().code(), Some(0));
}

/// A TCP server that echoes every message with its last byte changed.
fn corrupting_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(8) {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let mut message = [0u8; 64];
                while conn.read_exact(&mut message).is_ok() {
                    message[63] ^= 1;
                    if conn.write_all(&message).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr.to_string()
}

#[test]
fn errors_are_counted_by_kind_in_the_table_and_the_json() {
    let address = corrupting_server();
    let args = [
        "bench",
        &address,
        "--conns",
        "1",
        "--duration",
        "200ms",
        "--size",
        "64",
    ];
    let table = run(socket_echo(args));
    assert_eq!(table.code(), Some(1), "{table:?}");
    assert!(table.stdout.contains("mismatch"), "{table:?}");

    let json = run(socket_echo(args.iter().chain(&["--json"])));
    assert_eq!(json.code(), Some(1), "{json:?}");
    let json = &json.json_lines()[0];
    let kinds = &json["errors_by_kind"];
    assert!(kinds["mismatch"].as_u64().unwrap() > 0, "{json}");
    for kind in ["refused", "reset", "timeout", "short", "other"] {
        assert_eq!(kinds[kind], 0, "{kind}: {json}");
    }
    assert_eq!(json["errors"], kinds["mismatch"]);
}

#[test]
fn nothing_listening_over_udp_is_counted_as_refused() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let address = format!("udp://{port}");
    let output = run(socket_echo([
        "bench",
        &address,
        "--conns",
        "1",
        "--duration",
        "200ms",
        "--json",
    ]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    let json = &output.json_lines()[0];
    assert!(
        json["errors_by_kind"]["refused"].as_u64().unwrap() > 0,
        "{json}"
    );
}

#[test]
fn a_zero_duration_is_refused() {
    let output = run(socket_echo(["bench", "127.0.0.1:9", "--duration", "0s"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--duration"), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
}

#[test]
fn bulk_with_several_connections_is_refused() {
    let output = run(socket_echo([
        "bench",
        "127.0.0.1:9",
        "--bulk",
        "--conns",
        "5",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--bulk"), "{output:?}");
    assert!(output.stderr.contains("--conns"), "{output:?}");
}

#[test]
fn bulk_shows_no_round_trips_rather_than_zeros() {
    let server = Server::start(&["127.0.0.1:0"]);
    let address = &server.addresses[0];
    let table = run(socket_echo([
        "bench",
        address,
        "--bulk",
        "--duration",
        "200ms",
    ]));
    assert_eq!(table.code(), Some(0), "{table:?}");
    assert!(table.stdout.contains("n/a"), "{table:?}");
    assert!(!table.stdout.contains("0.000"), "{table:?}");
    let json = run(socket_echo([
        "bench",
        address,
        "--bulk",
        "--duration",
        "200ms",
        "--json",
    ]));
    let json = &json.json_lines()[0];
    assert!(json["rtt_ms"].is_null(), "{json}");
    assert_eq!(json["mode"], "bulk");
    assert!(server.stop().code() == Some(0));
}

/// A TCP echo server for one connection of 64-byte messages that stops answering for
/// `stall` once, after `before` messages.
fn stalling_server(before: usize, stall: std::time::Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut message = [0u8; 64];
        for n in 0.. {
            if conn.read_exact(&mut message).is_err() {
                return;
            }
            if n == before {
                std::thread::sleep(stall);
            }
            if conn.write_all(&message).is_err() {
                return;
            }
        }
    });
    addr.to_string()
}

/// Open loop: 1,000 messages a second for a second, the server stalling 400 ms after 100.
/// The 200-odd messages due in the first half of the stall each wait at least 200 ms,
/// more than 1% of at most 1,000, so p99 is at least 200 ms; a closed loop would count the
/// stall once.
#[test]
fn an_open_loop_shows_a_stall_in_p99() {
    let address = stalling_server(100, std::time::Duration::from_millis(400));
    let output = run(socket_echo([
        "bench",
        &address,
        "--conns",
        "1",
        "--size",
        "64",
        "--rate",
        "1000",
        "--duration",
        "1s",
        "--json",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    let json = &output.json_lines()[0];
    assert_eq!(json["mode"], "open-loop", "{json}");
    assert_eq!(json["rate"], 1000, "{json}");
    let p99 = json["rtt_ms"]["p99"].as_f64().unwrap();
    assert!(p99 >= 200.0, "p99 {p99} ms: {json}");
}

#[test]
fn a_rate_of_zero_or_with_bulk_is_refused() {
    let output = run(socket_echo(["bench", "127.0.0.1:9", "--rate", "0"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--rate"), "{output:?}");
    let output = run(socket_echo([
        "bench",
        "127.0.0.1:9",
        "--rate",
        "10",
        "--bulk",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--rate"), "{output:?}");
}

/// Off a terminal, progress goes to standard error as plain lines, never to the JSON.
#[test]
fn progress_off_a_terminal_is_plain_lines_on_standard_error() {
    let server = Server::start(&["127.0.0.1:0"]);
    let output = run(socket_echo([
        "bench",
        &server.addresses[0],
        "--conns",
        "1",
        "--duration",
        "1500ms",
        "--json",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert_eq!(output.json_lines().len(), 1);
    assert!(output.stderr.contains("msg/s"), "{output:?}");
    assert!(!output.stderr.contains('\r'), "{output:?}");
    assert_eq!(server.stop().code(), Some(0));
}
