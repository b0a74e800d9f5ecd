//! A session in blocking mode over real sockets: one thread reading while another writes
//! with no timeouts (what `Bulk` does, in slices), where neither may hold the session while
//! it waits for its socket or each waits for the other for ever; and the timeouts of its
//! reads and writes, kept by the session over a socket in non-blocking mode.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::Session;
use crate::certificate::Identity;
use crate::options::{Options, TlsOptions};
use crate::transport::sealed::{Sealed, Socket};
use crate::transport::{Tcp, Tls};

/// How long the test waits for the two threads before it says they are stuck: far longer
/// than the transfer takes on a loaded machine (well under a second).
const STUCK: Duration = Duration::from_secs(60);

#[test]
fn a_reader_and_a_writer_on_two_threads_never_wait_for_each_other() {
    let session = client(true);

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

/// A rustls server on one thread, for one connection, that echoes (each read written back
/// whole before the next read, so it stops reading while the client does not read its
/// echo) or, with `echo` false, completes the handshake and then reads nothing until the
/// client is gone.
fn peer(identity: &Identity, echo: bool) -> SocketAddr {
    let config = TlsOptions::new()
        .server_config(identity)
        .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut tls = rustls::ServerConnection::new(config).expect("server connection");
        while tls.is_handshaking() {
            if tls.complete_io(&mut socket).is_err() {
                return;
            }
        }
        let mut stream = rustls::StreamOwned::new(tls, socket);
        if !echo {
            // The client's end (or its reset) ends the wait: the socket is read then, not
            // before.
            let _ = stream.sock.set_read_timeout(None);
            let mut byte = [0u8; 1];
            while stream.sock.peek(&mut byte).is_ok_and(|n| n > 0) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        }
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

/// A session in blocking mode with no timeouts, connected to a [`peer`].
fn client(echo: bool) -> Arc<Session<<Tcp as Sealed>::Client>> {
    let identity = Identity::self_signed(&["localhost"]).expect("identity");
    let addr = peer(&identity, echo);
    let trust = Options::new().with_tls(
        TlsOptions::new()
            .with_trusted(identity.certificate().clone())
            .with_server_name("localhost"),
    );
    let session = <Tls<Tcp> as Sealed>::connect(&addr, &trust).expect("connect");
    session.set_read_timeout(None).expect("read timeout");
    session.set_write_timeout(None).expect("write timeout");
    Arc::new(session)
}

/// Runs `call` on a thread of its own and returns what it returned, or panics naming
/// `what` if it is still waiting after [`STUCK`].
fn within<T: Send + 'static>(what: &str, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(call());
    });
    finished
        .recv_timeout(STUCK)
        .unwrap_or_else(|_| panic!("{what} still waits after {STUCK:?}"))
}

#[test]
fn a_read_with_a_timeout_from_a_silent_peer_would_block_once_it_is_over() {
    let session = client(false);
    session
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let result = within("the read", move || {
        session.read(&mut [0u8; 64]).map_err(|e| e.kind())
    });
    assert_eq!(result, Err(ErrorKind::WouldBlock));
}

#[test]
fn a_write_with_a_timeout_to_a_peer_that_reads_nothing_would_block_once_it_is_over() {
    let session = client(false);
    session
        .set_write_timeout(Some(Duration::from_millis(100)))
        .expect("write timeout");
    let result = within("the writes", move || {
        let chunk = vec![7u8; 64 * 1024];
        // The socket buffers of both ends fill; then the write's timeout runs out. The
        // count bounds the loop should a write never block (64 MiB: far more than both
        // buffers hold).
        for _ in 0..1024 {
            match session.write(&chunk) {
                Ok(_) => {}
                Err(e) => return Err(e.kind()),
            }
        }
        Ok(())
    });
    assert_eq!(result, Err(ErrorKind::WouldBlock));
}
