//! docs/cli.md lists every field of every JSON object the tool prints, and no other: each
//! table marked `<!-- schema: NAME -->` is compared with a real object.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{Server, http, run, socket_echo};

/// The field names of the table after `<!-- schema: NAME -->`.
fn documented(name: &str) -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md");
    let doc = std::fs::read_to_string(path).expect("docs/cli.md");
    let marker = format!("<!-- schema: {name} -->");
    let table = doc
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no {marker} in docs/cli.md"))
        .1;
    table
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let field = line.split('|').nth(1)?.trim();
            Some(field.strip_prefix('`')?.strip_suffix('`')?.to_owned())
        })
        .collect()
}

/// The fields of `object`, and those of the objects inside it as `outer.inner`.
fn fields(object: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (key, value) in object.as_object().expect("an object") {
        names.insert(key.clone());
        if let Some(inner) = value.as_object() {
            names.extend(inner.keys().map(|inner| format!("{key}.{inner}")));
        }
    }
    names
}

fn check(name: &str, object: &Value) {
    assert_eq!(fields(object), documented(name), "{name}: {object}");
}

#[test]
fn every_json_object_is_documented_field_for_field() {
    let mut server = Server::start(&[
        "127.0.0.1:0",
        "--json",
        "--stats-every",
        "100ms",
        "--control",
        "127.0.0.1:0",
    ]);
    let address = server.addresses[0].clone();
    let control = server.control.clone().expect("a control line");

    let ping = run(socket_echo([
        "ping",
        &address,
        "--count",
        "2",
        "--interval",
        "1ms",
        "--json",
    ]));
    let lines = ping.json_lines();
    check("ping probe", &lines[0]);
    check("ping summary", &lines[2]);

    let bench = run(socket_echo([
        "bench",
        &address,
        "--conns",
        "1",
        "--duration",
        "100ms",
        "--json",
    ]));
    check("bench", &bench.json_lines()[0]);

    let send = run(socket_echo(["send", &address, "hello", "--json"]));
    let lines = send.json_lines();
    assert_eq!(lines.len(), 1, "{send:?}");
    check("send", &lines[0]);
    assert_eq!(lines[0]["bytes"], 5, "{send:?}");

    let stats = loop {
        let line = server.next_line().expect("a statistics line");
        let json: Value = serde_json::from_str(&line).unwrap();
        if json["type"] == "stats" {
            break json;
        }
    };
    check("serve stats", &stats);
    let (_, body) = http(&control, "GET", "/stats", "");
    check("serve stats", &serde_json::from_str(&body).unwrap());
    let (_, body) = http(&control, "PUT", "/faults", "delay=1ms");
    let faults: Value = serde_json::from_str(&body).unwrap();
    check("control faults", &faults);
    check("control faults entry", &faults["faults"][0]);
    let (_, body) = http(&control, "GET", "/nothing", "");
    check("control error", &serde_json::from_str(&body).unwrap());
    let finished = server.stop();
    let lines = finished.json_lines();
    check("serve listening", &lines[0]);
    check("serve control", &lines[1]);
    check("serve stats", lines.last().unwrap());
}

#[test]
fn the_error_object_is_documented_field_for_field() {
    let address = support::nothing_listening();
    for command in [
        ["ping", "--count", "1"],
        ["bench", "--duration", "100ms"],
        ["send", "--timeout", "1s"],
    ] {
        let output = run(socket_echo([
            command[0], &address, command[1], command[2], "--json",
        ]));
        let lines = output.json_lines();
        assert_eq!(lines.len(), 1, "{output:?}");
        check("error", &lines[0]);
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(socket_echo(["serve", &address, "--json"]));
    check("error", &output.json_lines()[0]);
}
