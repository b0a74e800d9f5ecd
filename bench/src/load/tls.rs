//! The TLS workloads' clients: rustls itself (the ring provider, trusting the run's
//! certificate, no resumption; see [`crate::tls`]), in the shapes of the plaintext clients.
//! Every handshake is made and checked before a run's clock starts, except in [`tls_hs`],
//! where the handshakes are what is measured.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token};
use rustls::{ClientConnection, StreamOwned};
use socket2::SockRef;

use super::bulk::check_chunk;
use super::idle::echo_once;
use super::lat::{is_timeout, stream_lat};
use super::pattern::{PERIOD, stream_pattern};
use super::tcp_many::{Conn, drive};
use super::{Limits, LoadError, Outcome, Result, STALL_TIMEOUT, join, spread};
use crate::tls::TlsClient;

/// A blocking TLS stream whose handshake is done.
type Blocking = StreamOwned<ClientConnection, TcpStream>;

/// Connects to `addr` (TCP_NODELAY, closed with a reset, read and write timeouts of
/// [`STALL_TIMEOUT`]) and completes the handshake.
fn connect(client: &TlsClient, addr: SocketAddr, id: usize) -> Result<Blocking> {
    let mut sock = TcpStream::connect_timeout(&addr, STALL_TIMEOUT)
        .map_err(LoadError::io(format!("connect connection {id} to {addr}")))?;
    sock.set_nodelay(true)
        .and_then(|()| SockRef::from(&sock).set_linger(Some(Duration::ZERO)))
        .and_then(|()| sock.set_read_timeout(Some(STALL_TIMEOUT)))
        .and_then(|()| sock.set_write_timeout(Some(STALL_TIMEOUT)))
        .map_err(LoadError::io(format!("set options of connection {id}")))?;
    let mut conn = ClientConnection::new(client.config.clone(), client.name.clone())
        .map_err(|e| LoadError::io(format!("start TLS on connection {id}"))(io::Error::other(e)))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(LoadError::io(format!("TLS handshake on connection {id}")))?;
    }
    Ok(StreamOwned::new(conn, sock))
}

/// One TLS connection, one `size`-byte message at a time (the shape of `tcp_lat`).
///
/// # Errors
///
/// Connecting, the handshake or a call failed, the server closed, or an echo was wrong.
pub fn tls_lat(
    client: &TlsClient,
    addr: SocketAddr,
    size: usize,
    limits: Limits,
) -> Result<Outcome> {
    let stream = connect(client, addr, 0)?;
    stream_lat(stream, &addr.to_string(), size, limits)
}

/// A TLS connection over a nonblocking mio socket, for the closed loop of `tcp_many`.
pub(super) struct Nonblocking {
    conn: ClientConnection,
    sock: mio::net::TcpStream,
}

impl Read for Nonblocking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.conn, &mut self.sock).read(buf)
    }
}

impl Write for Nonblocking {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.conn, &mut self.sock).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        rustls::Stream::new(&mut self.conn, &mut self.sock).flush()
    }
}

impl Source for Nonblocking {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.sock.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.sock.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.sock.deregister(registry)
    }
}

fn nonblocking(stream: Blocking, id: usize) -> Result<Nonblocking> {
    let StreamOwned { conn, sock } = stream;
    sock.set_nonblocking(true)
        .map_err(LoadError::io(format!("set connection {id} nonblocking")))?;
    Ok(Nonblocking {
        conn,
        sock: mio::net::TcpStream::from_std(sock),
    })
}

/// `conns` TLS connections in a closed loop of `size`-byte messages over `threads` client
/// threads (the shape of `tcp_many`); the clock starts when every handshake is done.
///
/// # Errors
///
/// As `tcp_many`, and a failed handshake.
pub fn tls_many(
    client: &TlsClient,
    addr: SocketAddr,
    conns: usize,
    size: usize,
    threads: usize,
    limits: Limits,
) -> Result<Outcome> {
    let open = |ids: &[usize]| {
        ids.iter()
            .map(|&id| {
                let stream = nonblocking(connect(client, addr, id)?, id)?;
                Ok(Conn::new(id, stream, size))
            })
            .collect::<Result<Vec<_>>>()
    };
    spread(conns, threads, limits, open, drive)
}

/// One TLS connection streaming both ways in `chunk`-byte writes (the shape of `bulk`), on
/// one thread: a rustls session cannot be written by one thread while another reads it. The
/// client writes until the deadline (or `max_count` bytes), and the run ends when every byte
/// sent has come back verified.
///
/// # Errors
///
/// Connecting, the handshake or a call failed, an echoed byte was wrong, the server closed
/// early, or nothing came back for [`STALL_TIMEOUT`].
pub fn tls_bulk(
    client: &TlsClient,
    addr: SocketAddr,
    chunk: usize,
    limits: Limits,
) -> Result<Outcome> {
    let Nonblocking { mut conn, mut sock } = nonblocking(connect(client, addr, 0)?, 0)?;
    let mut poll = Poll::new().map_err(LoadError::io("create a poll"))?;
    poll.registry()
        .register(&mut sock, Token(0), Interest::READABLE | Interest::WRITABLE)
        .map_err(LoadError::io("register the connection"))?;
    let mut events = Events::with_capacity(4);
    let pattern = stream_pattern(chunk);
    let mut buf = vec![0u8; chunk];
    let (mut sent, mut received) = (0u64, 0u64);
    let start = Instant::now();
    let deadline = start + limits.duration;
    let mut last_progress = start;
    let peer = addr.to_string();
    loop {
        let mut progress = false;
        // Hand the session plaintext while it takes it (rustls bounds what it buffers).
        while sent < limits.max_count && Instant::now() < deadline {
            let at = (sent % PERIOD as u64) as usize;
            let n = conn
                .writer()
                .write(&pattern[at..at + chunk])
                .map_err(LoadError::io(format!("write to {peer}")))?;
            if n == 0 {
                break;
            }
            sent += n as u64;
            progress = true;
        }
        while conn.wants_write() {
            match conn.write_tls(&mut sock) {
                Ok(_) => progress = true,
                Err(e) if is_timeout(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LoadError::io(format!("write to {peer}"))(e)),
            }
        }
        loop {
            match conn.read_tls(&mut sock) {
                Ok(0) => {
                    return Err(LoadError::Closed {
                        conn: 0,
                        seq: 0,
                        echoed: usize::try_from(received).unwrap_or(usize::MAX),
                    });
                }
                Ok(_) => {
                    progress = true;
                    conn.process_new_packets().map_err(|e| {
                        LoadError::io(format!("read from {peer}"))(io::Error::other(e))
                    })?;
                    // Take the plaintext before reading more: rustls bounds what it holds.
                    received += check_echo(&mut conn, &peer, &pattern, received, &mut buf)?;
                }
                Err(e) if is_timeout(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LoadError::io(format!("read from {peer}"))(e)),
            }
        }
        let writing = sent < limits.max_count && Instant::now() < deadline;
        if !writing && received >= sent {
            break;
        }
        let now = Instant::now();
        if progress {
            last_progress = now;
            continue;
        }
        if now.duration_since(last_progress) > STALL_TIMEOUT {
            return Err(LoadError::Stalled(STALL_TIMEOUT));
        }
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LoadError::io("poll")(e)),
        }
    }
    let mut out = Outcome::new();
    out.messages = sent / chunk as u64;
    out.bytes = received;
    out.elapsed = start.elapsed();
    Ok(out)
}

/// Reads the plaintext the session holds, checking it against `pattern` from stream offset
/// `received`; returns how many bytes it read.
fn check_echo(
    conn: &mut ClientConnection,
    peer: &str,
    pattern: &[u8],
    mut received: u64,
    buf: &mut [u8],
) -> Result<u64> {
    let from = received;
    loop {
        match conn.reader().read(buf) {
            Ok(0) => {
                return Err(LoadError::Closed {
                    conn: 0,
                    seq: 0,
                    echoed: usize::try_from(received).unwrap_or(usize::MAX),
                });
            }
            Ok(n) => {
                check_chunk(pattern, received, &buf[..n])?;
                received += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(received - from),
            Err(e) => return Err(LoadError::io(format!("read from {peer}"))(e)),
        }
    }
}

/// `clients` threads, each making a new connection and a full handshake (no resumption) for
/// every `size`-byte message, then closing it with a reset: handshakes per second are
/// `messages / elapsed`, and the round-trip times include connect and handshake.
///
/// # Errors
///
/// Connecting, a handshake or a call failed, the server closed, or an echo was wrong.
pub fn tls_hs(
    client: &TlsClient,
    addr: SocketAddr,
    clients: usize,
    size: usize,
    limits: Limits,
) -> Result<Outcome> {
    let count = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let deadline = start + limits.duration;
    let mut total = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|id| {
                let (count, stop) = (&count, &stop);
                scope.spawn(move || -> Result<Outcome> {
                    let mut out = Outcome::new();
                    let mut msg = vec![0u8; size];
                    let mut back = vec![0u8; size];
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        if count.fetch_add(1, Ordering::Relaxed) >= limits.max_count {
                            break;
                        }
                        let began = Instant::now();
                        let result = connect(client, addr, id).and_then(|mut stream| {
                            echo_once(&mut stream, id, seq, &mut msg, &mut back)
                        });
                        if let Err(e) = result {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        out.record(began.elapsed(), size);
                        seq += 1;
                    }
                    Ok(out)
                })
            })
            .collect();
        join(workers)
    })?;
    total.elapsed = start.elapsed();
    Ok(total)
}

/// Opens `count` TLS connections and echoes one `size`-byte message on each, one after the
/// other, leaving them open (the shape of `idle`). The client's own sessions are in this
/// process; the server's memory is what the tls-idle workload measures.
///
/// # Errors
///
/// Connecting, a handshake or a call failed (EMFILE if the file limit is too low), the
/// server closed, or an echo was wrong.
pub fn tls_idle(
    client: &TlsClient,
    addr: SocketAddr,
    count: usize,
    size: usize,
) -> Result<IdleSessions> {
    let mut msg = vec![0u8; size];
    let mut back = vec![0u8; size];
    let mut sessions = Vec::with_capacity(count);
    for id in 0..count {
        let mut stream = connect(client, addr, id)?;
        echo_once(&mut stream, id, 0, &mut msg, &mut back)?;
        sessions.push(stream);
    }
    Ok(IdleSessions { sessions })
}

/// Open TLS connections that have each echoed one message; closed with a reset when
/// dropped.
#[derive(Debug)]
pub struct IdleSessions {
    sessions: Vec<Blocking>,
}

impl IdleSessions {
    /// How many are open.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}
