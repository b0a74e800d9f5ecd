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

/// A TCP server for one connection that sends back whatever it first reads twice, then
/// reads to the end and closes.
fn echoes_twice() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        conn.set_read_timeout(Some(support::DEADLINE)).unwrap();
        let mut buffer = [0u8; 64];
        let Ok(n) = conn.read(&mut buffer) else {
            return;
        };
        for _ in 0..2 {
            if conn.write_all(&buffer[..n]).is_err() {
                return;
            }
        }
        let _ = std::io::copy(&mut conn, &mut std::io::sink());
    });
    addr.to_string()
}

/// The whole echo, then the same again: not an echo of what was sent.
#[test]
fn bytes_after_the_echo_are_an_error() {
    let address = echoes_twice();
    let output = run(socket_echo(["send", &address, "hola"]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    assert!(output.stderr.contains("more than"), "{output:?}");
    assert!(output.stderr.contains(&address), "{output:?}");
}

/// The input, byte `i` being `i % 251`: a shifted or repeated stretch breaks it. Any
/// stretch of up to `len` bytes starting at `at` is `pattern[at % 251..][..len]`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len + 251).map(|i| (i % 251) as u8).collect()
}

/// The peak resident memory of a running process, from /proc (`None` once it has gone).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// 256 MiB through a pipe: every byte comes back in order, while the process never holds
/// more than a small part of it (it held all of it, twice, and a copy).
#[test]
fn standard_input_is_streamed_in_bounded_memory() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    const INPUT: u64 = 256 << 20;
    const BOUND: u64 = 64 << 20;
    let server = Server::start(&["127.0.0.1:0"]);
    let mut child = socket_echo(["send", &server.addresses[0]])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn socket-echo send");
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    const CHUNK: usize = 1 << 16;
    let writer = std::thread::spawn(move || {
        let pattern = pattern(CHUNK);
        let mut at = 0u64;
        while at < INPUT {
            let from = (at % 251) as usize;
            if stdin.write_all(&pattern[from..from + CHUNK]).is_err() {
                return;
            }
            at += CHUNK as u64;
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let pattern = pattern(CHUNK);
        let mut buffer = vec![0u8; CHUNK];
        let mut at = 0u64;
        let mut intact = true;
        loop {
            let n = match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => return (at, intact),
                Ok(n) => n,
            };
            let from = (at % 251) as usize;
            intact &= buffer[..n] == pattern[from..from + n];
            at += n as u64;
        }
    });
    // The high-water mark only grows: its last reading before the exit is the peak.
    let mut peak = 0;
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(rss) = peak_rss(pid) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > support::DEADLINE {
            let _ = child.kill();
            panic!(
                "send ran past {:?} (peak RSS so far {peak} bytes)",
                support::DEADLINE
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    writer.join().unwrap();
    let (echoed, intact) = reader.join().unwrap();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!((echoed, intact), (INPUT, true), "{stderr}");
    assert!(
        peak > 0 && peak < BOUND,
        "peak RSS {peak} bytes for {INPUT} bytes of input"
    );
    assert_eq!(server.stop().code(), Some(0));
}
