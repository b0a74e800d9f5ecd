//! TCP: a stream transport over `std::net` sockets made and tuned through socket2.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};

use socket2::SockRef;

use super::plain::{self, Plain};
use super::sealed::{
    ClientVisitor, ClientsVisitor, Connection, Kind, Listener, Sealed, ServerVisitor,
};
use super::{Transport, ip};
use crate::error::Result;
use crate::options::Options;

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

impl Transport for Tcp {
    type Addr = SocketAddr;
}

impl Sealed for Tcp {
    const NAME: &'static str = "tcp";
    const KIND: Kind = Kind::Stream;
    type Server = TcpListener;
    type Client = TcpStream;

    fn server_fd(server: &TcpListener) -> BorrowedFd<'_> {
        server.as_fd()
    }

    fn client_fd(client: &TcpStream) -> BorrowedFd<'_> {
        client.as_fd()
    }

    fn check(options: &Options) -> Result<()> {
        options.refuse_inapplicable(Self::NAME)
    }

    fn bind(addr: &SocketAddr, options: &Options) -> Result<TcpListener> {
        Ok(ip::TCP.bind(*addr, options)?.into())
    }

    fn local_addr(server: &TcpListener) -> io::Result<SocketAddr> {
        server.local_addr()
    }

    fn connect(addr: &SocketAddr, options: &Options) -> Result<TcpStream> {
        Ok(ip::TCP.connect(*addr, options)?.into())
    }

    fn client_addr(client: &TcpStream) -> io::Result<SocketAddr> {
        client.local_addr()
    }

    fn visit_server<V: ServerVisitor<Self>>(server: &TcpListener, visitor: V) -> V::Output {
        visitor.stream(server)
    }

    fn visit_owned<V: ServerVisitor<Self>>(server: TcpListener, visitor: V) -> V::Output {
        visitor.stream_owned(server)
    }

    fn visit_client<V: ClientVisitor<Self>>(client: &TcpStream, visitor: V) -> V::Output {
        visitor.stream(client)
    }

    fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
        clients: Vec<&'a TcpStream>,
        visitor: V,
    ) -> V::Output {
        visitor.stream(clients)
    }
}

impl Plain for TcpListener {}
impl Plain for TcpStream {}

impl Listener for TcpListener {
    type Addr = SocketAddr;
    type Stream = TcpStream;

    fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        TcpListener::accept(self)
    }

    fn prepare(&self, stream: &TcpStream, options: &Options, blocking: bool) -> Result<()> {
        let socket = SockRef::from(stream);
        options.apply_tcp(&socket)?;
        if blocking {
            options.apply_timeouts(&socket)
        } else {
            options.apply_served_connection_buffers(&socket)
        }
    }

    type Kept = ();

    fn keep(&self) {}

    fn bind_again((): &(), addr: &SocketAddr, options: &Options) -> Result<TcpListener> {
        Tcp::bind(addr, options)
    }
}

impl Connection for TcpStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut stream: &TcpStream = self;
        Read::read(&mut stream, buf)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut stream: &TcpStream = self;
        Write::write(&mut stream, buf)
    }

    fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut stream: &TcpStream = self;
        Write::write_vectored(&mut stream, bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    plain::connection_by_descriptor!();
}
