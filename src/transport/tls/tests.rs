//! A session's system calls: how many reads and writes of its socket an echo costs, over a
//! connection with no socket that counts them (a server session in non-blocking mode, as the
//! engine drives it, and a rustls client on the other end).

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustls::pki_types::ServerName;

use super::{Session, TlsOptions};
use crate::addr::Address;
use crate::certificate::Identity;
use crate::transport::sealed::{Connection, Socket, socket_without_descriptor};

/// A non-blocking connection with no socket: what the peer sent, what was written to it,
/// and how many calls each took.
#[derive(Debug, Default)]
struct Pipe {
    state: Mutex<PipeState>,
}

#[derive(Debug, Default)]
struct PipeState {
    input: VecDeque<u8>,
    output: Vec<u8>,
    reads: usize,
    writes: usize,
}

impl Pipe {
    fn state(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

socket_without_descriptor!(Pipe);

impl Connection for Pipe {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state();
        state.reads += 1;
        if state.input.is_empty() {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(state.input.len());
        for (slot, byte) in buf.iter_mut().zip(state.input.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.state();
        state.writes += 1;
        state.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut state = self.state();
        state.writes += 1;
        for buf in bufs {
            state.output.extend_from_slice(buf);
        }
        Ok(bufs.iter().map(|buf| buf.len()).sum())
    }

    fn shutdown_write(&self) -> io::Result<()> {
        Ok(())
    }

    fn unread(&self) -> io::Result<usize> {
        Ok(self.state().input.len().min(4096))
    }

    fn reset(&self) -> io::Result<()> {
        Ok(())
    }

    fn peer_addr(&self) -> io::Result<Address> {
        Err(ErrorKind::Unsupported.into())
    }

    fn recv_buffer_size(&self) -> io::Result<usize> {
        Ok(64 * 1024)
    }
}

/// A server session over a [`Pipe`] in non-blocking mode and its client, handshake done
/// and every record of it (the session tickets too) taken by the client; the counts zeroed.
fn established() -> (Session<Pipe>, rustls::ClientConnection) {
    let identity = Identity::self_signed(&["localhost"]).expect("identity");
    let server_config = TlsOptions::new()
        .server_config(&identity)
        .expect("server config");
    let client_config = TlsOptions::new()
        .with_trusted(identity.certificate().clone())
        .client_config()
        .expect("client config");
    let tls = rustls::ServerConnection::new(server_config).expect("server connection");
    let server =
        Session::new(Pipe::default(), tls.into(), Duration::from_secs(60), None).expect("session");
    server.set_nonblocking(true).expect("non-blocking");
    let name = ServerName::try_from("localhost").expect("name");
    let mut client = rustls::ClientConnection::new(client_config, name).expect("client");
    for _ in 0..10 {
        to_server(&mut client, &server);
        match server.read(&mut [0u8; 64]) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("a read during the handshake returned {other:?}"),
        }
        to_client(&mut client, &server);
        if !client.is_handshaking() && !server.lock().is_handshaking() {
            break;
        }
    }
    assert!(!client.is_handshaking(), "the handshake did not end");
    let mut state = server.inner().state();
    state.reads = 0;
    state.writes = 0;
    drop(state);
    (server, client)
}

/// What the client has to send, into the server's socket.
fn to_server(client: &mut rustls::ClientConnection, server: &Session<Pipe>) {
    let mut bytes = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut bytes).expect("client write_tls");
    }
    server.inner().state().input.extend(bytes);
}

/// What the server wrote, into the client; returns the plaintext it carried.
fn to_client(client: &mut rustls::ClientConnection, server: &Session<Pipe>) -> Vec<u8> {
    let bytes = std::mem::take(&mut server.inner().state().output);
    let mut wire = &bytes[..];
    let mut plaintext = Vec::new();
    while !wire.is_empty() {
        client.read_tls(&mut wire).expect("client read_tls");
        client.process_new_packets().expect("client process");
        match client.reader().read_to_end(&mut plaintext) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the client's reader returned {other:?}"),
        }
    }
    plaintext
}

#[test]
fn several_records_come_from_one_short_read_and_no_read_follows_it() {
    let (server, mut client) = established();
    client.writer().write_all(b"first").expect("write");
    client.writer().write_all(b"second").expect("write");
    to_server(&mut client, &server);
    let mut buf = [0u8; 1024];
    let n = server.read(&mut buf).expect("read");
    assert_eq!(&buf[..n], b"firstsecond", "both records' plaintext");
    assert_eq!(
        server.inner().state().reads,
        1,
        "a read of the socket that came back short of the buffer left nothing to read: no \
         read that would block should follow it"
    );
    // The engine's next edge finds the session and the socket empty.
    assert_eq!(
        server.read(&mut buf).map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock)
    );
}

#[test]
fn a_read_that_fills_what_was_offered_is_followed_by_another() {
    let (server, mut client) = established();
    // Three full records: more than rustls offers to one read of the socket.
    let sent: Vec<u8> = (0..48 * 1024).map(|i| (i % 251) as u8).collect();
    client.writer().write_all(&sent).expect("write");
    to_server(&mut client, &server);
    let mut buf = vec![0u8; 64 * 1024];
    let n = server.read(&mut buf).expect("read");
    assert_eq!(n, sent.len(), "every record the socket held was read");
    assert_eq!(&buf[..n], &sent[..]);
    assert!(server.inner().state().input.is_empty());
}

#[test]
fn the_records_of_one_write_go_out_in_one_write_of_the_socket() {
    let (server, mut client) = established();
    // Four full records' worth of plaintext.
    let sent: Vec<u8> = (0..64 * 1024).map(|i| (i % 253) as u8).collect();
    let mut taken = 0;
    while taken < sent.len() {
        taken += server.write(&sent[taken..]).expect("write");
    }
    assert_eq!(
        server.inner().state().writes,
        1,
        "the session's records were written one system call each"
    );
    assert_eq!(to_client(&mut client, &server), sent);
}

#[test]
fn an_end_read_with_the_last_bytes_is_held_for_the_next_read() {
    let (server, mut client) = established();
    client.writer().write_all(b"last").expect("write");
    client.send_close_notify();
    to_server(&mut client, &server);
    let mut buf = [0u8; 1024];
    let n = server.read(&mut buf).expect("read");
    assert_eq!(&buf[..n], b"last");
    assert!(
        server.holds_unread(),
        "the close_notify read with the last bytes must be said to be held"
    );
    assert_eq!(server.read(&mut buf).expect("the end"), 0);
    assert!(!server.holds_unread(), "the end was returned");
}
