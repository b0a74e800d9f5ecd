//! TCP: a stream transport over `std::net` sockets made and tuned through socket2.

use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};

use bytes::Bytes;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::Transport;
use super::sealed::Sealed;
use crate::echo::stream;
use crate::engine::{self, Worker};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::server::Exchange;

/// The TCP transport: byte streams, echoed until the client closes.
///
/// `Tcp` is the default transport: [`EchoServer::bind`](crate::EchoServer::bind) and
/// [`EchoClient::connect`](crate::EchoClient::connect) use it.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoServer, Tcp};
///
/// let server = EchoServer::bind_on(Tcp, "127.0.0.1:0")?;
/// assert!(server.local_addr().port() != 0);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tcp;

impl Transport for Tcp {}

/// A connected TCP client socket.
#[derive(Debug)]
pub struct TcpConnection {
    stream: TcpStream,
    /// The most bytes the client keeps in flight in one echo (see [`stream::echo`]).
    window: usize,
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpConnection {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsSocket for TcpConnection {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        self.stream.as_socket()
    }
}

/// The bytes in flight a client allows: half its receive buffer as Linux reports it (the
/// other half is bookkeeping), so the echo of everything in flight always fits in it.
pub(crate) fn window(socket: &Socket) -> usize {
    let reported = socket.recv_buffer_size().unwrap_or(64 * 1024);
    (reported / 2).clamp(1024, 256 * 1024)
}

/// The most unread bytes [`unread`] counts.
const UNREAD_COUNTED: usize = 4096;

/// How many bytes are already waiting to be read, without waiting for any: before a new
/// exchange there must be none, or the client would take them for the new echo.
///
/// A pending end-of-stream or error counts as nothing: the exchange itself reports it.
fn unread(stream: &TcpStream) -> io::Result<usize> {
    let mut probe = [0u8; UNREAD_COUNTED];
    stream.set_nonblocking(true)?;
    let peeked = loop {
        match stream.peek(&mut probe) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    stream.set_nonblocking(false)?;
    Ok(peeked.unwrap_or(0))
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
}

impl Sealed for Tcp {
    type Listener = TcpListener;
    type Connection = TcpConnection;

    const NAME: &'static str = "tcp";

    fn bind(addr: SocketAddr, options: &Options) -> Result<TcpListener> {
        let bind_error = |source| Error::Bind {
            transport: Self::NAME,
            addr,
            source,
        };
        let socket = new_socket(addr).map_err(bind_error)?;
        options.apply_listener(&socket, &addr, true)?;
        // Accepted connections inherit these on Linux; `serve_once` sets them again anyway.
        options.apply_tcp_connection(&socket)?;
        socket.bind(&addr.into()).map_err(bind_error)?;
        let backlog = i32::try_from(options.backlog()).unwrap_or(i32::MAX);
        socket.listen(backlog).map_err(bind_error)?;
        Ok(socket.into())
    }

    fn serve_once(
        listener: &TcpListener,
        local: SocketAddr,
        options: &Options,
    ) -> Result<Exchange> {
        let (mut conn, peer) = loop {
            match listener.accept() {
                Ok(accepted) => break accepted,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Accept {
                        addr: local,
                        source,
                    });
                }
            }
        };
        options.apply_tcp_connection(&SockRef::from(&conn))?;
        let (bytes, first) = stream::serve_connection(&mut conn, peer, options)?;
        // The peer has closed its write side: close ours so it reads end-of-stream. A peer
        // that already reset leaves nothing to shut down, which is not an error here.
        match conn.shutdown(Shutdown::Write) {
            Err(e) if e.kind() != ErrorKind::NotConnected => {
                return Err(Error::Send {
                    addr: peer,
                    source: e,
                });
            }
            _ => {}
        }
        Ok(Exchange::new(peer, bytes, first))
    }

    fn set_nonblocking(listener: &TcpListener, nonblocking: bool) -> io::Result<()> {
        listener.set_nonblocking(nonblocking)
    }

    fn serve(listener: &TcpListener, worker: Worker<'_>, workers: usize) -> Result<()> {
        // The engine's own descriptor of the listening socket, closed when it stops.
        let listener = listener.try_clone().map_err(|source| Error::Serve {
            addr: worker.local,
            source,
        })?;
        engine::stream::serve(mio::net::TcpListener::from_std(listener), worker, workers)
    }

    fn connect(addr: SocketAddr, options: &Options) -> Result<TcpConnection> {
        let connect_error = |source| Error::Connect { addr, source };
        let socket = new_socket(addr).map_err(connect_error)?;
        options.apply_before_bind(&socket, &addr)?;
        options.apply_tcp_connection(&socket)?;
        match options.connect_timeout() {
            Some(limit) => socket.connect_timeout(&addr.into(), limit),
            None => socket.connect(&addr.into()),
        }
        .map_err(connect_error)?;
        let window = window(&socket);
        Ok(TcpConnection {
            stream: socket.into(),
            window,
        })
    }

    fn echo(
        connection: &mut TcpConnection,
        peer: SocketAddr,
        message: &[u8],
        options: &Options,
    ) -> Result<Bytes> {
        let bytes =
            unread(&connection.stream).map_err(|source| Error::Receive { addr: peer, source })?;
        if bytes > 0 {
            return Err(Error::Surplus { addr: peer, bytes });
        }
        stream::echo(
            &mut connection.stream,
            peer,
            message,
            options,
            connection.window,
        )
    }

    #[cfg(feature = "measure")]
    fn socket(connection: &mut TcpConnection) -> crate::measure::Socket<'_> {
        crate::measure::Socket::Stream(&mut connection.stream)
    }
}
