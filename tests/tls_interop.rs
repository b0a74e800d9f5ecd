//! The TLS transport against the TLS stacks people test with: `openssl s_client` and
//! `s_server`, socat's `OPENSSL` addresses, and Python's `ssl` module, each way round. Each
//! peer checks the server's certificate against the PEM the server handed out (or the
//! crate's client checks the peer's), sends a message, and exactly that message comes back.
//!
//! A test needing a tool fails when it is missing under CI (`.ci/run` installs openssl, socat
//! and python3) and prints why it is skipped elsewhere. Every child is killed after a
//! deadline, so a peer that hangs fails the test instead of hanging it.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use socket_echo::{EchoClient, EchoServer, Identity, Options, ServerHandle, Tcp, Tls, TlsOptions};
use util::GENEROUS;

/// True if `program` runs (see `util::tools`): under CI a missing one fails the test.
fn tool(program: &str, test: &str) -> bool {
    util::tools::tool_available(program, test)
}

/// A directory of its own for one test's PEM files, removed when dropped.
struct Files(PathBuf);

impl Files {
    fn new(test: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("tls-interop-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed and reaped when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `child` to exit, at most [`GENEROUS`]; returns its standard output.
fn output_of(mut child: Child) -> String {
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let _ = tx.send(out);
    });
    let peer = Peer(child);
    let out = rx
        .recv_timeout(GENEROUS)
        .unwrap_or_else(|_| panic!("the peer did not finish within {GENEROUS:?}"));
    drop(peer);
    String::from_utf8_lossy(&out).into_owned()
}

/// A TLS echo server of the crate on loopback, spawned, and its certificate in a PEM file.
fn spawned(files: &Files) -> (ServerHandle<Tls<Tcp>>, PathBuf) {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let ca = files.write("server.pem", &server.certificate().pem());
    (server.spawn().unwrap(), ca)
}

/// What every Python client script starts with: the server's host, port and certificate
/// from its arguments, and a context that trusts exactly that certificate.
const PYTHON_CLIENT: &str = "import os, socket, ssl, sys
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca)
";

/// Python running `script` (after [`PYTHON_CLIENT`]) against `addr`, trusting `ca`, its
/// standard output piped.
fn python_client(script: &str, addr: SocketAddr, ca: &Path) -> Child {
    Command::new("python3")
        .arg("-c")
        .arg(format!("{PYTHON_CLIENT}{script}"))
        .args(["127.0.0.1", &addr.port().to_string()])
        .arg(ca)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// For a test `test` of a Python client: its files, a spawned server and its certificate's
/// PEM, or `None` (the test skips) without python3.
fn python_and_server(test: &str, dir: &str) -> Option<(Files, ServerHandle<Tls<Tcp>>, PathBuf)> {
    if !tool("python3", test) {
        return None;
    }
    let files = Files::new(dir);
    let (server, ca) = spawned(&files);
    Some((files, server, ca))
}

#[test]
fn python_ssl_client_is_echoed() {
    let Some((_files, server, ca)) =
        python_and_server("python_ssl_client_is_echoed", "python-client")
    else {
        return;
    };
    let addr = server.local_addr();
    let script = r#"
message = b"Hola, soy el cliente" * 100
with socket.create_connection((host, port), timeout=20) as raw:
    with context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(message)
        echoed = b""
        while len(echoed) < len(message):
            chunk = tls.recv(65536)
            if not chunk:
                break
            echoed += chunk
        assert echoed == message, (len(echoed), len(message))
        tls.unwrap()
print("echoed", len(message))
"#;
    let child = python_client(script, addr, &ca);
    let out = output_of(child);
    assert!(out.contains("echoed 2000"), "python said: {out}");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!((stats.bytes_in, stats.bytes_out), (2000, 2000));
}

#[test]
fn openssl_s_client_is_echoed_and_verifies_the_certificate() {
    if !tool(
        "openssl",
        "openssl_s_client_is_echoed_and_verifies_the_certificate",
    ) {
        return;
    }
    let files = Files::new("s-client");
    let (server, ca) = spawned(&files);
    let addr = server.local_addr();
    let mut child = Peer(
        Command::new("openssl")
            .args(["s_client", "-quiet", "-no_ign_eof", "-verify_return_error"])
            .args(["-connect", &addr.to_string(), "-verify_ip", "127.0.0.1"])
            .arg("-CAfile")
            .arg(&ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    stdin.write_all(b"echo through openssl\n").unwrap();
    stdin.flush().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(GENEROUS)
        .expect("s_client printed the echo");
    assert_eq!(line, "echo through openssl\n");
    drop(stdin);
    drop(child);
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!((stats.bytes_in, stats.bytes_out), (21, 21));
}

#[test]
fn socat_openssl_client_is_echoed() {
    if !tool("socat", "socat_openssl_client_is_echoed") {
        return;
    }
    let files = Files::new("socat-client");
    let (server, ca) = spawned(&files);
    let addr = server.local_addr();
    let mut child = Command::new("socat")
        .args(["-t", "20", "-"])
        .arg(format!(
            "OPENSSL:{addr},cafile={},verify=1,commonname=127.0.0.1",
            ca.display()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo through socat\n")
        .unwrap();
    let out = output_of(child);
    assert_eq!(out, "echo through socat\n");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!((stats.bytes_in, stats.bytes_out), (19, 19));
}

/// A free loopback port for a peer server to listen on.
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Connects the crate's TLS client to `addr` until the peer server listens, at most
/// [`GENEROUS`].
fn connect_when_listening(addr: SocketAddr, options: &Options) -> EchoClient<Tls<Tcp>> {
    let deadline = Instant::now() + GENEROUS;
    loop {
        match EchoClient::connect_on_with(Tls::over(Tcp), addr, options.clone()) {
            Ok(client) => return client,
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::ConnectionRefused) => {
                assert!(
                    Instant::now() < deadline,
                    "the peer never listened on {addr}"
                );
                // Waiting for another process to start listening: nothing to wait on.
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("connecting to {addr}: {e}"),
        }
    }
}

/// The crate's client, trusting `identity`, echoes through the TLS echo server at `addr`.
fn crate_client_echoes(addr: SocketAddr, identity: &Identity) {
    let options = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(identity.certificate().clone())
            .with_server_name("localhost"),
    );
    let mut client = connect_when_listening(addr, &options);
    let message: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(client.echo(&message).unwrap(), message);
    assert_eq!(
        &client.echo(b"second message").unwrap()[..],
        b"second message"
    );
}

fn identity_files(files: &Files) -> (Identity, PathBuf, PathBuf) {
    let identity = Identity::self_signed(&["localhost"]).unwrap();
    let cert = files.write("peer.pem", &identity.certificate().pem());
    let key = files.write("peer.key", &identity.key_pem());
    (identity, cert, key)
}

#[test]
fn the_crate_client_echoes_through_socat_openssl_listen() {
    if !tool(
        "socat",
        "the_crate_client_echoes_through_socat_openssl_listen",
    ) {
        return;
    }
    let files = Files::new("socat-server");
    let (identity, cert, key) = identity_files(&files);
    let addr = free_port();
    let _peer = Peer(
        Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{},bind=127.0.0.1,reuseaddr,cert={},key={},verify=0",
                addr.port(),
                cert.display(),
                key.display()
            ))
            .arg("PIPE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    crate_client_echoes(addr, &identity);
}

#[test]
fn the_crate_client_echoes_through_python_ssl() {
    if !tool("python3", "the_crate_client_echoes_through_python_ssl") {
        return;
    }
    let files = Files::new("python-server");
    let (identity, cert, key) = identity_files(&files);
    let script = r#"
import socket, ssl, sys
cert, key = sys.argv[1], sys.argv[2]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
with socket.create_server(("127.0.0.1", 0)) as listener:
    print(listener.getsockname()[1], flush=True)
    raw, _ = listener.accept()
    raw.settimeout(20)
    with context.wrap_socket(raw, server_side=True) as tls:
        while True:
            data = tls.recv(65536)
            if not data:
                break
            tls.sendall(data)
"#;
    let mut child = Peer(
        Command::new("python3")
            .args(["-c", script])
            .args([&cert, &key])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut port = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", port.trim()).parse().unwrap();
    crate_client_echoes(addr, &identity);
}

#[test]
fn the_crate_client_echoes_through_openssl_s_server() {
    if !tool(
        "openssl",
        "the_crate_client_echoes_through_openssl_s_server",
    ) {
        return;
    }
    let files = Files::new("s-server");
    let (identity, cert, key) = identity_files(&files);
    let addr = free_port();
    // s_server prints what it receives and sends what it reads on its standard input:
    // a relay from one to the other makes it an echo.
    let mut child = Peer(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-naccept", "1"])
            .args(["-accept", &addr.to_string()])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut to_server = child.0.stdin.take().unwrap();
    let mut from_server = child.0.stdout.take().unwrap();
    thread::spawn(move || {
        let mut buf = [0; 16384];
        while let Ok(n) = from_server.read(&mut buf) {
            if n == 0 || to_server.write_all(&buf[..n]).is_err() || to_server.flush().is_err() {
                break;
            }
        }
    });
    crate_client_echoes(addr, &identity);
}

/// A shutdown ends an idle session with `close_notify`: Python's `ssl`, told not to take a
/// bare end of stream for a clean one, reads a clean end.
#[test]
fn a_shutdown_ends_an_idle_session_with_close_notify() {
    let Some((_files, server, ca)) = python_and_server(
        "a_shutdown_ends_an_idle_session_with_close_notify",
        "close-notify",
    ) else {
        return;
    };
    let addr = server.local_addr();
    let script = r#"
with socket.create_connection((host, port), timeout=20) as raw:
    with context.wrap_socket(raw, server_hostname=host, suppress_ragged_eofs=False) as tls:
        tls.sendall(b"then idle")
        assert tls.recv(100) == b"then idle"
        print("echoed", flush=True)
        try:
            print("clean end" if tls.recv(100) == b"" else "more data", flush=True)
        except ssl.SSLEOFError:
            print("truncated", flush=True)
"#;
    let mut child = Peer(python_client(script, addr, &ca));
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "echoed\n");
    server.shutdown();
    let stats = server.join().unwrap();
    assert_eq!(stats.shutdown_resets, 0);
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "clean end\n");
}

/// A client that closes without `close_notify` after its echo is counted as a truncation.
#[test]
fn a_peer_that_closes_without_close_notify_is_counted_as_truncated() {
    let Some((_files, server, ca)) = python_and_server(
        "a_peer_that_closes_without_close_notify_is_counted_as_truncated",
        "truncated",
    ) else {
        return;
    };
    let addr = server.local_addr();
    let script = r#"
raw = socket.create_connection((host, port), timeout=20)
tls = context.wrap_socket(raw, server_hostname=host)
tls.sendall(b"cut")
assert tls.recv(100) == b"cut"
# Close the socket under the session: no close_notify.
os.close(tls.detach())
print("closed", flush=True)
"#;
    let child = python_client(script, addr, &ca);
    assert_eq!(output_of(child), "closed\n");
    assert!(
        server
            .wait_until(|stats| stats.tls.truncated == 1, GENEROUS)
            .is_some(),
        "{:?}",
        server.stats().tls
    );
}
