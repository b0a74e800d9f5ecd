//! `socket-echo serve`: several addresses in one process with one set of statistics, JSON
//! lines, and a graceful stop on SIGTERM.

mod support;

use support::{Server, every_transport, run, socket_echo};

/// Sends `message` to `address` with `socket-echo send` and checks the echo.
fn send(address: &str, message: &str) {
    let output = run(socket_echo(["send", address, message]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert_eq!(output.stdout, message, "{output:?}");
}

#[test]
fn tcp_udp_and_unix_in_one_process_with_one_set_of_statistics() {
    let server = Server::start(&every_transport("serve-three"));
    assert_eq!(server.addresses.len(), 3, "{:?}", server.seen);
    assert!(server.addresses[1].starts_with("udp://127.0.0.1:"));
    assert!(server.addresses[2].starts_with("unix:/"));
    for address in &server.addresses {
        send(address, "uno");
    }
    let finished = server.stop();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    assert!(
        finished.stdout.contains("stopped; final statistics:"),
        "{finished:?}"
    );
    assert!(
        finished.stdout.contains("  bytes: 9 in, 9 out"),
        "{finished:?}"
    );
    assert!(
        finished.stdout.contains("  connections: 2 accepted"),
        "{finished:?}"
    );
    assert!(
        finished.stdout.contains("  datagrams: 1 echoed"),
        "{finished:?}"
    );
}

#[test]
fn json_lines_listening_statistics_and_the_final_ones() {
    let server = Server::start(&[
        "127.0.0.1:0",
        "udp://127.0.0.1:0",
        "--json",
        "--stats-every",
        "100ms",
    ]);
    send(&server.addresses[0], "hola");
    send(&server.addresses[1], "hola");
    let mut server = server;
    // Statistics come every 100 ms: wait for one that has counted both echoes.
    loop {
        let line = server.next_line().expect("a statistics line");
        let json: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if json["type"] == "stats" && json["bytes_out"] == 8 {
            assert!(json["elapsed_ms"].as_f64().expect("elapsed_ms") > 0.0);
            break;
        }
    }
    let finished = server.stop();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    let lines = finished.json_lines();
    let listening: Vec<_> = lines.iter().filter(|l| l["type"] == "listening").collect();
    assert_eq!(listening.len(), 2, "{lines:?}");
    let last = lines.last().expect("a final line");
    assert_eq!(last["type"], "stopped", "{lines:?}");
    for field in [
        "accepted",
        "bytes_in",
        "bytes_out",
        "datagrams_echoed",
        "errors",
    ] {
        assert!(last[field].is_u64(), "{field}: {last}");
    }
    assert_eq!(last["accepted"], 1);
    assert_eq!(last["datagrams_echoed"], 1);
    assert_eq!(last["bytes_out"], 8);
}

#[test]
fn a_flag_that_concerns_no_address_is_refused() {
    let output = run(socket_echo([
        "serve",
        "udp://127.0.0.1:0",
        "--backlog",
        "10",
    ]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stderr.contains("--backlog"), "{output:?}");
    // With a stream address beside it, it applies to that one.
    let server = Server::start(&["127.0.0.1:0", "udp://127.0.0.1:0", "--backlog", "10"]);
    send(&server.addresses[1], "x");
    assert_eq!(server.stop().code(), Some(0));
}

/// `serve --stats-every 100ms | head -2`: the reader of standard output goes away, and the
/// server goes on serving, then stops cleanly on SIGTERM.
#[test]
fn a_closed_standard_output_does_not_stop_the_server() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    let mut child = socket_echo(["serve", "127.0.0.1:0", "--stats-every", "100ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("statistics after"), "{line:?}");
    drop(stdout);

    // Five statistics periods and more with nobody reading: every echo is still served.
    for _ in 0..10 {
        send(&address, "still there");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.try_wait().unwrap().is_none(), "serve exited");
    support::signal(&child, "TERM");
    let deadline = std::time::Instant::now() + support::DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut log).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

/// `--stats-every 0s` would print without pause: refused, as is anything under 100 ms.
#[test]
fn statistics_more_often_than_every_100ms_are_refused() {
    for every in ["0s", "10ms", "99ms"] {
        let output = support::run_for(
            socket_echo(["serve", "127.0.0.1:0", "--stats-every", every]),
            std::time::Duration::from_secs(3),
        )
        .unwrap_or_else(|| panic!("--stats-every {every} was taken"));
        assert_eq!(output.code(), Some(2), "{every}: {output:?}");
        assert!(output.stderr.contains("--stats-every"), "{output:?}");
        assert!(output.stderr.contains("100ms"), "{output:?}");
    }
}

/// A SIGTERM sent as soon as the addresses are printed stops the server gracefully, with
/// its final statistics: the handler is in place before the server says where it listens.
#[test]
fn sigterm_right_after_the_addresses_stops_gracefully() {
    for _ in 0..20 {
        let server = Server::start(&["127.0.0.1:0"]);
        let finished = server.stop();
        assert_eq!(finished.code(), Some(0), "{finished:?}");
        assert!(
            finished.stdout.contains("stopped; final statistics:"),
            "{finished:?}"
        );
    }
}

/// A second Ctrl-C or SIGTERM during a long shutdown grace exits at once, with the
/// statistics: a connection that never reads what it sent keeps the grace going (60 s).
#[test]
fn a_second_signal_during_the_grace_exits_at_once() {
    use std::io::Write;
    use std::process::Stdio;
    use std::time::Duration;
    let mut child = socket_echo(["serve", "127.0.0.1:0", "--shutdown-grace", "60s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn socket-echo serve");
    let stdout = support::lines_of(child.stdout.take().unwrap());
    let stderr = support::lines_of(child.stderr.take().unwrap());
    let listening = stdout.recv_timeout(support::DEADLINE).expect("listening");
    let address = listening.strip_prefix("listening on ").expect("an address");
    // Writes without reading until the buffers on both sides are full: the server then
    // holds bytes it owes this client, and the grace waits for them.
    let mut client = std::net::TcpStream::connect(address).unwrap();
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let chunk = [7u8; 1 << 16];
    let mut written = 0usize;
    while client.write(&chunk).is_ok() {
        written += chunk.len();
        assert!(written < 1 << 30, "the server never stopped reading");
    }
    support::signal(&child, "TERM");
    let waiting = std::iter::from_fn(|| stderr.recv_timeout(support::DEADLINE).ok());
    let mut seen = Vec::new();
    for line in waiting {
        let done = line.contains("shutting down");
        seen.push(line);
        if done {
            break;
        }
    }
    assert!(
        seen.last()
            .is_some_and(|line| line.contains("shutting down")),
        "{seen:?}"
    );
    support::signal(&child, "INT");
    // The grace is 60 s: only a second signal that is ignored waits that long.
    let status = support::wait_or_kill(&mut child, Duration::from_secs(10));
    let printed: Vec<String> = stdout.iter().collect();
    let warned: Vec<String> = stderr.iter().collect();
    assert_eq!(status.code(), Some(1), "{printed:?} {warned:?}");
    assert!(
        printed.iter().any(|line| line.contains("final statistics")),
        "{printed:?}"
    );
    assert!(
        warned.iter().any(|line| line.contains("1 connection")),
        "{warned:?}"
    );
    drop(client);
}
