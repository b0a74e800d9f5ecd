//! One session read on one thread while another writes on it, over real sockets in blocking
//! mode with no timeouts (what `Bulk` does, in slices): neither may hold the session while
//! it waits for its socket, or each waits for the other for ever.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::certificate::Identity;
use crate::options::{Options, TlsOptions};
use crate::transport::sealed::{Sealed, Socket};
use crate::transport::{Tcp, Tls};

/// How long the test waits for the two threads before it says they are stuck: far longer
/// than the transfer takes on a loaded machine (well under a second).
const STUCK: Duration = Duration::from_secs(60);

#[test]
fn a_reader_and_a_writer_on_two_threads_never_wait_for_each_other() {
    let identity = Identity::self_signed(&["localhost"]).expect("identity");
    let addr = echo_peer(&identity);
    let trust = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(identity.certificate().clone())
            .with_server_name("localhost"),
    );
    let session = Arc::new(<Tls<Tcp> as Sealed>::connect(&addr, &trust).expect("connect"));
    session.set_read_timeout(None).expect("read timeout");
    session.set_write_timeout(None).expect("write timeout");

    // More than the socket buffers of both ends hold: the writer blocks until the reader
    // has taken echo, and the echo waits for the writer's records.
    const TOTAL: usize = 16 << 20;
    let (done, finished) = mpsc::channel();
    let reader = {
        let session = session.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut received = 0;
            while received < TOTAL {
                match session.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        assert!(
                            buf[..n]
                                .iter()
                                .enumerate()
                                .all(|(i, &b)| b == ((received + i) % 251) as u8),
                            "the echo at byte {received} differs"
                        );
                        received += n;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("read after {received} bytes: {e}"),
                }
            }
            let _ = done.send(("read", received));
        })
    };
    let writer = {
        let session = session.clone();
        std::thread::spawn(move || {
            let chunk: Vec<u8> = (0..64 * 1024 * 251).map(|i| (i % 251) as u8).collect();
            let mut written = 0;
            while written < TOTAL {
                let from = written % 251;
                let len = (TOTAL - written).min(64 * 1024);
                match session.write(&chunk[from..from + len]) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("write after {written} bytes: {e}"),
                }
            }
            session.flush().expect("flush");
            let _ = done.send(("written", written));
        })
    };
    let mut results = Vec::new();
    for _ in 0..2 {
        match finished.recv_timeout(STUCK) {
            Ok(result) => results.push(result),
            Err(_) => panic!(
                "the reader and the writer are stuck after {STUCK:?}, with {results:?} done: \
                 one holds the session while it waits for its socket"
            ),
        }
    }
    results.sort();
    assert_eq!(results, [("read", TOTAL), ("written", TOTAL)]);
    reader.join().expect("reader");
    writer.join().expect("writer");
}

/// A rustls echo on one thread, for one connection: each read written back whole before
/// the next read, so it stops reading while the client does not read its echo.
fn echo_peer(identity: &Identity) -> SocketAddr {
    let config = TlsOptions::new()
        .server_config(identity)
        .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().expect("accept");
        let tls = rustls::ServerConnection::new(config).expect("server connection");
        let mut stream = rustls::StreamOwned::new(tls, socket);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
    addr
}
