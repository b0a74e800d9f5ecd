//! Unix datagram sockets: a datagram transport over `std::os::unix::net` sockets made through
//! socket2, with its source policy (refuse unnamed senders, who cannot be answered, and the
//! server's own address).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};

use socket2::Type;

use super::Transport;
use super::plain::{self, Plain};
use super::sealed::Refusal;
use super::sealed::{ClientVisitor, ClientsVisitor, Datagram, Kind, Sealed, ServerVisitor};
use super::unix::{SocketFile, bind_socket, sock_addr};
use crate::addr::UnixAddr;
use crate::error::{Error, Result};
use crate::options::Options;

/// The Unix datagram transport: one reply per datagram, to its source, as over
/// [`Udp`](crate::Udp), on a Unix-domain socket.
///
/// The server answers only senders that have a name: a datagram from an unnamed socket has no
/// address to reply to, and is dropped and counted. So a client binds a name of its own
/// before it connects: an abstract name on Linux (no file to clean up), a socket file in the
/// temporary directory elsewhere, removed when the client is dropped. Socket files are handled
/// as for [`Unix`](crate::Unix).
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, UnixDatagram};
///
/// let path = std::env::temp_dir().join(format!("echo-doc-{}.dgram", std::process::id()));
/// let _server = EchoServer::bind_on(UnixDatagram, &path)?.spawn()?;
/// let mut client = EchoClient::connect_on(UnixDatagram, &path)?;
/// assert_eq!(&client.echo(b"one datagram")?[..], b"one datagram");
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct UnixDatagram;

impl Transport for UnixDatagram {
    type Addr = UnixAddr;
}

/// A bound Unix datagram socket, and its socket file if it has one.
#[derive(Debug)]
pub struct UnixDatagramSocket {
    socket: StdUnixDatagram,
    _file: Option<SocketFile>,
}

impl AsFd for UnixDatagramSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Plain for UnixDatagramSocket {}
impl Plain for StdUnixDatagram {}

impl Sealed for UnixDatagram {
    const NAME: &'static str = "unixgram";
    const KIND: Kind = Kind::Datagram;
    type Server = UnixDatagramSocket;
    type Client = UnixDatagramSocket;

    fn server_fd(server: &UnixDatagramSocket) -> BorrowedFd<'_> {
        server.as_fd()
    }

    fn client_fd(client: &UnixDatagramSocket) -> BorrowedFd<'_> {
        client.as_fd()
    }

    fn check(options: &Options) -> Result<()> {
        options.refuse_inapplicable(Self::NAME)
    }

    fn bind(addr: &UnixAddr, options: &Options) -> Result<UnixDatagramSocket> {
        let (socket, file) = bind_socket(Self::NAME, Type::DGRAM, addr, options, |_| Ok(()))?;
        Ok(UnixDatagramSocket {
            socket: socket.into(),
            _file: file,
        })
    }

    fn local_addr(server: &UnixDatagramSocket) -> io::Result<UnixAddr> {
        server.socket.local_addr().map(UnixAddr::from)
    }

    fn connect(addr: &UnixAddr, options: &Options) -> Result<UnixDatagramSocket> {
        let connect_error = |source| Error::Connect {
            addr: addr.clone().into(),
            source,
        };
        let own = client_name().map_err(connect_error)?;
        let (socket, file) = bind_socket(Self::NAME, Type::DGRAM, &own, options, |_| Ok(()))?;
        options.apply_timeouts(&socket)?;
        socket
            .connect(&sock_addr(addr).map_err(connect_error)?)
            .map_err(connect_error)?;
        Ok(UnixDatagramSocket {
            socket: socket.into(),
            _file: file,
        })
    }

    fn client_addr(client: &UnixDatagramSocket) -> io::Result<UnixAddr> {
        client.socket.local_addr().map(UnixAddr::from)
    }

    fn visit_server<V: ServerVisitor<Self>>(server: &UnixDatagramSocket, visitor: V) -> V::Output {
        visitor.datagram(&server.socket)
    }

    fn visit_owned<V: ServerVisitor<Self>>(server: UnixDatagramSocket, visitor: V) -> V::Output {
        visitor.datagram(&server.socket)
    }

    fn visit_client<V: ClientVisitor<Self>>(client: &UnixDatagramSocket, visitor: V) -> V::Output {
        visitor.datagram(&client.socket)
    }

    fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
        clients: Vec<&'a UnixDatagramSocket>,
        visitor: V,
    ) -> V::Output {
        visitor.datagram(clients.into_iter().map(|client| &client.socket).collect())
    }
}

/// A name for a client socket no other socket has: the process id, a counter and the time.
fn client_name() -> io::Result<UnixAddr> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "socket-echo-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return UnixAddr::from_abstract_name(name);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    UnixAddr::from_pathname(std::env::temp_dir().join(name))
}

impl Datagram for StdUnixDatagram {
    type Addr = UnixAddr;
    /// One datagram per call: nothing to keep.
    type Batch = ();

    fn new_batch() {}

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        StdUnixDatagram::recv_from(self, buf).map(|(n, addr)| (n, UnixAddr::from(addr)))
    }

    fn send_to(&self, buf: &[u8], addr: &UnixAddr) -> io::Result<usize> {
        self.send_to_addr(buf, addr.as_std())
    }

    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        StdUnixDatagram::send(self, buf)
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        StdUnixDatagram::recv(self, buf)
    }

    fn register_shared(&self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        plain::register_shared(self, registry, token)
    }

    /// A path or a name is compared, never probed: nothing to remember.
    type Policy = ();

    fn refusal(&self, source: &UnixAddr, local: &UnixAddr, _: &Options, _: &()) -> Option<Refusal> {
        if source.is_unnamed() {
            Some(Refusal::BadSource)
        } else if source == local {
            Some(Refusal::OwnAddress)
        } else {
            None
        }
    }

    fn max_payload(&self, _: &UnixAddr) -> usize {
        // No fixed limit: the sender's buffer bounds it, and the system refuses a larger
        // datagram with `EMSGSIZE`.
        usize::MAX
    }
}
