//! The Unix transports against the tools people use with Unix sockets: `socat` (stream,
//! abstract and datagram addresses, as a client of `serve()` and as a datagram server for
//! `EchoClient`) and OpenBSD's `nc -U`. Each sends a message and checks that exactly that
//! message comes back, and that the server counted it.
//!
//! A test prints "skipped: ..." and returns when its tool is missing (`.ci/run` installs
//! them). Every child is killed after a deadline, so a tool that hangs fails the test instead
//! of hanging it.

mod serve_support;
mod transports;
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serve_support::finish;
use socket_echo::{
    EchoClient, EchoServer, Options, ServerHandle, Transport, Unix, UnixAddr, UnixDatagram,
};
use transports::{Place, Site};
use util::GENEROUS;
use util::tools::{self, tool_available};

/// How long a tool may run before it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// True if `nc` is OpenBSD's, which speaks Unix sockets (`-U`) and half-closes (`-N`).
fn openbsd_nc(test: &str) -> bool {
    if !tool_available("nc", test) {
        return false;
    }
    let help = Command::new("nc")
        .arg("-h")
        .stdin(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stderr).into_owned())
        .unwrap_or_default();
    let openbsd = help.contains("-U") && help.contains("-N");
    // Another nc has no -U and -N.
    tools::present(openbsd, "netcat-openbsd", test)
}

/// Waits for `child` at most until `deadline`; kills it and panics after that.
fn wait_bounded(child: &mut Child, what: &str, deadline: Instant) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {DEADLINE:?}");
        }
        // Polling an exit status: std has no wait with a time limit.
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `program` with `args`, writes `input` to its standard input and closes it, and
/// returns what it printed on standard output.
fn run_tool(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let what = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let deadline = Instant::now() + DEADLINE;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).expect("write the tool's input");
    drop(stdin); // end of input: the tool half-closes or sends, then reads the echo
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait_bounded(&mut child, &what, deadline);
    let out = out.join().unwrap();
    let err = err.join().unwrap();
    assert!(status.success(), "{what}: {status:?}\n{err}");
    out
}

/// A server of `transport` at `addr`, run by `serve()` in the background.
fn spawn<T: Transport>(transport: T, addr: T::Addr) -> ServerHandle<T> {
    EchoServer::bind_on_with(transport, addr, Options::new())
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// The text of a path address, as a tool takes it.
fn path_text(addr: &UnixAddr) -> String {
    addr.as_pathname()
        .expect("a path")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// Asserts that the server echoed exactly `message` once, in `count` exchanges.
fn assert_counted<T: Transport>(handle: ServerHandle<T>, message: &[u8]) {
    let stats = finish(handle);
    let len = message.len() as u64;
    assert_eq!((stats.bytes_in, stats.bytes_out), (len, len), "{stats:?}");
}

#[test]
fn socat_unix_connect_to_a_unix_stream_server() {
    if !tool_available("socat", "socat_unix_connect_to_a_unix_stream_server") {
        return;
    }
    let site = Site::new(Unix, Place::Path, "socat_unix_connect");
    let handle = spawn(Unix, site.addr());
    let target = format!("UNIX-CONNECT:{}", path_text(&handle.local_addr()));
    let message = b"Hola, soy socat por un socket Unix";
    // `-t 5`: after its input ends, socat half-closes and waits up to 5 s for the rest.
    let echo = run_tool("socat", &["-t", "5", "-", &target], message);
    assert_eq!(echo, message);
    assert_counted(handle, message);
}

#[test]
fn socat_abstract_connect_to_an_abstract_name_server() {
    if !tool_available("socat", "socat_abstract_connect_to_an_abstract_name_server") {
        return;
    }
    let site = Site::new(Unix, Place::Abstract, "socat_abstract_connect");
    let handle = spawn(Unix, site.addr());
    let name = handle.local_addr();
    let name = String::from_utf8(name.as_abstract_name().expect("an abstract name").to_vec())
        .expect("a UTF-8 name");
    let message = b"an abstract name has no file";
    let echo = run_tool(
        "socat",
        &["-t", "5", "-", &format!("ABSTRACT-CONNECT:{name}")],
        message,
    );
    assert_eq!(echo, message);
    assert_counted(handle, message);
}

#[test]
fn socat_unix_sendto_from_a_bound_name_to_a_unix_datagram_server() {
    if !tool_available(
        "socat",
        "socat_unix_sendto_from_a_bound_name_to_a_unix_datagram_server",
    ) {
        return;
    }
    let site = Site::new(UnixDatagram, Place::Path, "socat_unix_sendto");
    let handle = spawn(UnixDatagram, site.addr());
    let server = path_text(&handle.local_addr());
    // The server answers only a sender with a name: socat binds one in the test's directory.
    let client = site.text();
    let message = b"one datagram from socat";
    let echo = run_tool(
        "socat",
        &[
            "-t",
            "5",
            "-",
            &format!("UNIX-SENDTO:{server},bind={client}"),
        ],
        message,
    );
    assert_eq!(echo, message);
    let stats = handle.stats();
    assert_eq!((stats.datagrams_echoed, stats.dropped_bad_source), (1, 0));
    assert_counted(handle, message);
}

#[test]
fn echo_client_against_socat_unix_recvfrom_as_a_datagram_echo_server() {
    let test = "echo_client_against_socat_unix_recvfrom_as_a_datagram_echo_server";
    if !tool_available("socat", test) {
        return;
    }
    let site = Site::new(UnixDatagram, Place::Path, "socat_unix_recvfrom");
    let path = site.text();
    // socat receives one datagram, passes it through a pipe and sends it back to its sender.
    let mut socat = Command::new("socat")
        .args([
            "-d",
            "-d",
            "-t",
            "5",
            &format!("UNIX-RECVFROM:{path}"),
            "PIPE",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start socat");
    let deadline = Instant::now() + DEADLINE;
    // socat says when its socket is bound; its log lines arrive on a channel, so the wait
    // for that line is bounded.
    let (lines, log) = mpsc::channel();
    let stderr = socat.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        match log.recv_timeout(GENEROUS) {
            Ok(line) => {
                let ready = line.contains("receiving on");
                seen.push(line);
                if ready {
                    break;
                }
            }
            Err(e) => {
                let _ = socat.kill();
                let _ = socat.wait();
                panic!("socat never said it was receiving ({e}): {seen:?}");
            }
        }
    }
    let message = b"EchoClient to socat";
    let mut client = EchoClient::connect_on(UnixDatagram, path.as_str()).expect("connect");
    let echo = client.echo(message);
    let status = wait_bounded(&mut socat, "socat UNIX-RECVFROM", deadline);
    reader.join().unwrap();
    assert_eq!(&echo.expect("socat's echo")[..], message);
    assert!(status.success(), "socat: {status:?}: {seen:?}");
}

#[test]
fn nc_u_to_a_unix_stream_server() {
    if !openbsd_nc("nc_u_to_a_unix_stream_server") {
        return;
    }
    let site = Site::new(Unix, Place::Path, "nc_unix");
    let handle = spawn(Unix, site.addr());
    let path = path_text(&handle.local_addr());
    let message = b"netcat over a socket file\n";
    // `-N`: shut down the socket's write side once the input ends, so the server finishes.
    let echo = run_tool("nc", &["-N", "-U", &path], message);
    assert_eq!(echo, message);
    assert_counted(handle, message);
}
