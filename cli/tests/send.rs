//! `socket-echo send`: the verified echo on standard output, over every transport.

mod support;

use support::{Server, every_transport, run, run_with_input, socket_echo};

#[test]
fn a_message_and_standard_input_over_every_transport() {
    let server = Server::start(&every_transport("send"));
    for address in &server.addresses {
        let output = run(socket_echo(["send", address, "Hola, soy el cliente"]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert_eq!(output.stdout, "Hola, soy el cliente");
        let input: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let output = run_with_input(socket_echo(["send", address]), &input);
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert_eq!(output.stdout.len(), String::from_utf8_lossy(&input).len());
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn nothing_listening_exits_1_naming_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = run(socket_echo(["send", &port.to_string(), "hola"]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    assert!(output.stderr.contains(&port.to_string()), "{output:?}");
    assert!(output.stderr.contains("refused"), "{output:?}");
}

#[test]
fn a_bad_address_is_a_usage_error() {
    let output = run(socket_echo(["send", "ftp://host:21", "hola"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("unknown scheme"), "{output:?}");
}
