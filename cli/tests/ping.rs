//! `socket-echo ping` against `serve` over every transport, and against a server that
//! answers nothing.

mod support;

use support::{Server, every_transport, run, socket_echo};

#[test]
fn probes_over_every_transport() {
    let addresses = every_transport("ping");
    let args: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    for address in &server.addresses {
        let output = run(socket_echo([
            "ping",
            address,
            "--count",
            "3",
            "--interval",
            "10ms",
        ]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert!(
            output.stdout.contains("3 probes sent, 3 received, 0% lost"),
            "{address}: {output:?}"
        );
        assert_eq!(output.stdout.matches("seq=").count(), 3, "{output:?}");
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn every_probe_lost_exits_1() {
    // A UDP port with nothing bound: every probe is refused.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let address = format!("udp://{port}");
    let output = run(socket_echo([
        "ping",
        &address,
        "--count",
        "2",
        "--interval",
        "10ms",
        "--timeout",
        "200ms",
    ]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    assert!(
        output
            .stdout
            .contains("2 probes sent, 0 received, 100% lost")
    );
}
