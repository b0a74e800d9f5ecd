//! The examples end to end, as separate processes on loopback: each other, the tutorial's
//! Python scripts (when `python3` is installed), and the faults a user meets first.

mod util;

use std::net::SocketAddr;
use std::process::Command;

use util::process::{Running, example, free_address, python, python3_available, run};

const GREETING: &str = "Hola, soy el cliente";
const READY: &str = "Esperando conexión...";

/// Starts the server that `command_for` makes for a free loopback address and waits for its
/// ready line. The port is free when chosen but another process may take it before the server
/// binds it, so "address in use" is retried a few times.
fn start_server(udp: bool, command_for: impl Fn(SocketAddr) -> Command) -> (Running, SocketAddr) {
    for _ in 0..5 {
        let addr = free_address(udp);
        let mut server = Running::spawn(command_for(addr));
        if server.wait_for_line(READY) {
            return (server, addr);
        }
        let finished = server.finish();
        if !finished.stderr.contains("in use") {
            panic!("the server did not start: {finished:?}");
        }
    }
    panic!("no free port in 5 attempts");
}

fn example_server(udp: bool) -> impl Fn(SocketAddr) -> Command {
    move |addr| {
        let mut command = example("server");
        if udp {
            command.arg("--udp");
        }
        command.arg(addr.to_string());
        command
    }
}

fn example_client(udp: bool, addr: SocketAddr, message: Option<&str>) -> Command {
    let mut command = example("client");
    if udp {
        command.arg("--udp");
    }
    command.arg(addr.to_string());
    command.args(message);
    command
}

/// The tutorial's session: the server waits, the client greets, both print what they saw.
fn tutorial_session(udp: bool) {
    let (server, addr) = start_server(udp, example_server(udp));
    let client = run(example_client(udp, addr, None));
    assert!(client.status.success(), "client failed: {client:?}");
    assert!(
        client.printed(&format!("Respuesta del servidor: {GREETING}")),
        "{client:?}"
    );

    let server = server.finish();
    assert!(server.status.success(), "server failed: {server:?}");
    assert!(
        server.printed("Conexión establecida desde: 127.0.0.1:"),
        "{server:?}"
    );
    assert!(
        server.printed(&format!("Mensaje recibido: {GREETING}")),
        "{server:?}"
    );
}

#[test]
fn server_and_client_over_tcp() {
    tutorial_session(false);
}

#[test]
fn server_and_client_over_udp() {
    tutorial_session(true);
}

/// RELIABILITY 25: the client with nothing listening fails at once, naming the address.
#[test]
fn client_with_nothing_listening() {
    let addr = free_address(false);
    let client = run(example_client(false, addr, None));
    assert!(!client.status.success(), "{client:?}");
    assert!(client.stdout.is_empty(), "{client:?}");
    assert!(
        client
            .stderr
            .contains(&format!("failed to connect to {addr}")),
        "{client:?}"
    );
    assert!(client.stderr.contains("refused"), "{client:?}");
}

/// `Error::Accept` from a real fault: with no descriptor left after the listener, accepting
/// fails with EMFILE (Linux checks for a free descriptor before it waits for a client); the
/// server reports it, naming its address, and exits non-zero.
#[cfg(target_os = "linux")]
#[test]
fn server_reports_a_failed_accept() {
    let server_path = util::process::example_path("server");
    let (server, addr) = start_server(false, |addr| {
        let mut command = Command::new("sh");
        // Descriptors 0-2 and the listener (3): no room for an accepted connection. Any
        // descriptor the test itself inherited (a lock held by whoever runs the suite) is
        // closed first, or it would take the room the loader needs to start the server.
        command
            .args([
                "-c",
                "exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; ulimit -n 4 && exec \"$0\" \"$@\"",
            ])
            .arg(&server_path)
            .arg(addr.to_string());
        command
    });
    let server = server.finish();
    assert!(!server.status.success(), "{server:?}");
    assert!(
        server
            .stderr
            .contains(&format!("failed to accept a connection on {addr}")),
        "{server:?}"
    );
    assert!(server.stderr.contains("os error 24"), "EMFILE: {server:?}");
}

/// Our server and the tutorial's client.py.
#[test]
fn server_example_with_python_client() {
    if !python3_available("server_example_with_python_client") {
        return;
    }
    let (server, addr) = start_server(false, example_server(false));
    let mut command = python("client.py");
    command.arg(addr.to_string());
    let client = run(command);
    assert!(client.status.success(), "client.py failed: {client:?}");
    assert!(
        client.printed(&format!("Respuesta del servidor: {GREETING}")),
        "{client:?}"
    );
    let server = server.finish();
    assert!(server.status.success(), "{server:?}");
    assert!(
        server.printed(&format!("Mensaje recibido: {GREETING}")),
        "{server:?}"
    );
}

fn python_server() -> impl Fn(SocketAddr) -> Command {
    |addr| {
        let mut command = python("server.py");
        command.arg(addr.to_string());
        command
    }
}

/// Our client and the tutorial's server.py.
#[test]
fn client_example_with_python_server() {
    if !python3_available("client_example_with_python_server") {
        return;
    }
    let (server, addr) = start_server(false, python_server());
    let client = run(example_client(false, addr, None));
    assert!(client.status.success(), "client failed: {client:?}");
    assert!(
        client.printed(&format!("Respuesta del servidor: {GREETING}")),
        "{client:?}"
    );
    let server = server.finish();
    assert!(server.status.success(), "server.py failed: {server:?}");
    assert!(
        server.printed(&format!("Mensaje recibido: {GREETING}")),
        "{server:?}"
    );
}

/// RELIABILITY 24: server.py echoes at most 1024 bytes and closes; our client, sending
/// 3000, reports a short echo with both counts instead of hanging or printing a reply.
#[test]
fn client_example_detects_python_short_echo() {
    if !python3_available("client_example_detects_python_short_echo") {
        return;
    }
    let (server, addr) = start_server(false, python_server());
    let message = "x".repeat(3000);
    let client = run(example_client(false, addr, Some(&message)));
    assert!(!client.status.success(), "{client:?}");
    assert!(!client.printed("Respuesta del servidor"), "{client:?}");
    assert!(client.stderr.contains("short echo"), "{client:?}");
    assert!(
        client.stderr.contains("sent 3000 bytes, received 1024"),
        "{client:?}"
    );
    let _ = server.finish();
}

/// The `serve` example: `spawn()` over TCP and UDP, an echo each, the final statistics.
#[test]
fn serve_example_spawns_echoes_and_stops() {
    let finished = run(example("serve"));
    assert!(finished.status.success(), "serve failed: {finished:?}");
    assert!(finished.printed("listening on 127.0.0.1:"), "{finished:?}");
    assert!(
        finished.printed("stopped: 1 connection(s), 1 datagram(s), 16 bytes echoed"),
        "{finished:?}"
    );
}
