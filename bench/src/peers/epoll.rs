//! The epoll loop: the least code that can echo at full speed.
//!
//! One edge-triggered mio loop per core, each with its own SO_REUSEPORT listener (or UDP
//! socket), so the kernel spreads connections and datagrams across loops with no sharing.
//! Each loop reads into one scratch buffer and writes straight back; a connection keeps bytes
//! only while the peer is not taking them, and is not read meanwhile. No limits, no stats:
//! the distance from this loop is what the production server's extras cost. The same loop
//! over Unix sockets is in `epoll_unix`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::thread;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use socket2::{Domain, Protocol, Socket, Type};

const LISTENER: Token = Token(usize::MAX);
pub(super) const SCRATCH: usize = 64 * 1024;

pub(super) fn loops() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

fn reuse_port_socket(addr: SocketAddr, ty: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// Binds one socket per loop on the same address: the first on `addr` (which may have port
/// 0), the others on the port the first got. The sockets are nonblocking.
pub(super) fn bind_all(
    addr: SocketAddr,
    ty: Type,
    protocol: Protocol,
) -> io::Result<(SocketAddr, Vec<Socket>)> {
    let first = reuse_port_socket(addr, ty, protocol)?;
    let bound = first
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("bound address is not an IP address"))?;
    let mut sockets = vec![first];
    for _ in 1..loops() {
        sockets.push(reuse_port_socket(bound, ty, protocol)?);
    }
    Ok((bound, sockets))
}

pub(super) fn run_all<S: Send + 'static>(
    sockets: Vec<S>,
    run: fn(S) -> io::Result<()>,
) -> io::Result<()> {
    let workers: Vec<_> = sockets
        .into_iter()
        .map(|socket| thread::spawn(move || run(socket)))
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| io::Error::other("an epoll loop panicked"))??;
    }
    Ok(())
}

/// Serves TCP with one loop per core.
///
/// # Errors
///
/// Binding failed, or a loop hit a fatal poll error.
pub fn serve_tcp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let (bound, sockets) = bind_all(addr, Type::STREAM, Protocol::TCP)?;
    for socket in &sockets {
        socket.listen(1024)?;
    }
    on_bound(bound);
    run_all(sockets, tcp_loop)
}

/// A listening socket that [`stream_loop`] accepts from.
pub(super) trait Listener: Source {
    /// The accepted connections.
    type Stream: Read + Write + Source;

    /// Accepts one connection and sets it up for echoing.
    fn accept_one(&self) -> io::Result<Self::Stream>;
}

impl Listener for TcpListener {
    type Stream = TcpStream;

    fn accept_one(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.accept()?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

struct Conn<S> {
    stream: S,
    /// Bytes read but not yet taken by the peer; empty (no allocation) almost always.
    pending: Vec<u8>,
}

fn tcp_loop(socket: Socket) -> io::Result<()> {
    stream_loop(TcpListener::from_std(socket.into()))
}

/// Accepts from `listener` and echoes every connection it accepted, until a fatal poll error.
pub(super) fn stream_loop<L: Listener>(mut listener: L) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Slab<Conn<L::Stream>> = Slab::new();
    let mut scratch = vec![0u8; SCRATCH];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    match listener.accept_one() {
                        Ok(mut stream) => {
                            let entry = conns.vacant_entry();
                            let token = Token(entry.key());
                            poll.registry().register(
                                &mut stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            entry.insert(Conn {
                                stream,
                                pending: Vec::new(),
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // EMFILE and friends: drop this accept, keep serving.
                        Err(_) => break,
                    }
                }
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key) else {
                continue;
            };
            if !drive(conn, &mut scratch) {
                let mut conn = conns.remove(key);
                let _ = poll.registry().deregister(&mut conn.stream);
            }
        }
    }
}

/// Flushes what is pending, then echoes until the socket would block. Returns false when the
/// connection is done (closed by the peer, or an error).
fn drive<S: Read + Write>(conn: &mut Conn<S>, scratch: &mut [u8]) -> bool {
    loop {
        while !conn.pending.is_empty() {
            match conn.stream.write(&conn.pending) {
                Ok(n) => {
                    conn.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        conn.pending = Vec::new();
        let n = match conn.stream.read(scratch) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        let mut written = 0;
        while written < n {
            match conn.stream.write(&scratch[written..n]) {
                Ok(w) => written += w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.pending.extend_from_slice(&scratch[written..n]);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

/// Serves UDP with one loop per core.
///
/// # Errors
///
/// Binding failed, or a loop hit a fatal poll error.
pub fn serve_udp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let (bound, sockets) = bind_all(addr, Type::DGRAM, Protocol::UDP)?;
    on_bound(bound);
    run_all(sockets, udp_loop)
}

fn udp_loop(socket: Socket) -> io::Result<()> {
    let mut socket = UdpSocket::from_std(socket.into());
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut socket, Token(0), Interest::READABLE)?;
    let mut events = Events::with_capacity(16);
    let mut scratch = vec![0u8; SCRATCH];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        loop {
            match socket.recv_from(&mut scratch) {
                // A reply that cannot be sent at once is dropped, as the network may drop it.
                Ok((n, peer)) => {
                    let _ = socket.send_to(&scratch[..n], peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {}
            }
        }
    }
}
