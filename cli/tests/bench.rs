//! `socket-echo bench` against `serve` over every transport: the table, the JSON object,
//! and a bulk transfer.

mod support;

use support::{Server, every_transport, run, socket_echo};

#[test]
fn a_table_over_every_transport() {
    let addresses = every_transport("bench-table");
    let args: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    for address in &server.addresses {
        let output = run(socket_echo([
            "bench", address, "--conns", "2", "--secs", "0.3", "--size", "64",
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
    let addresses = every_transport("bench-json");
    let args: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    for (address, transport) in server.addresses.iter().zip(["tcp", "udp", "unix"]) {
        let output = run(socket_echo([
            "bench", address, "--conns", "2", "--secs", "0.3", "--size", "64", "--json",
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
        let rtt = &json["rtt_us"];
        assert!(rtt["p50"].as_f64().unwrap() <= rtt["p99"].as_f64().unwrap());
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn bulk_over_tcp_and_unix() {
    let unix = format!("unix:{}", support::unix_path("bench-bulk"));
    let server = Server::start(&["127.0.0.1:0", &unix]);
    for address in &server.addresses {
        let output = run(socket_echo(["bench", address, "--bulk", "--secs", "0.3"]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert!(output.stdout.contains("bulk"), "{output:?}");
    }
    assert_eq!(server.stop().code(), Some(0));
}
