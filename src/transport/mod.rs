//! The `Transport` trait and its implementations, one file each.
//!
//! A transport knows how to make its sockets (through socket2, with [`Options`]) and which
//! echo loop fits it: the stream loops of [`crate::echo::stream`] or the datagram loops of
//! [`crate::echo::datagram`]. The server and the client are written once, generically, over it.
//! Adding a transport means adding one file here.

use std::fmt::Debug;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::engine::Worker;
use crate::error::Result;
use crate::options::Options;
use crate::server::Exchange;

mod tcp;
mod udp;

pub use tcp::Tcp;
#[cfg(feature = "measure")]
pub(crate) use tcp::window;
pub use udp::Udp;
pub(crate) use udp::{is_icmp_echo, max_payload};

/// A kind of socket the echo service runs over: [`Tcp`] or [`Udp`].
///
/// The trait is sealed: its methods are the crate's own business, so they can grow without
/// breaking anyone. Use its implementations as values to pick a transport, as in
/// `EchoServer::bind_on(Udp, "127.0.0.1:0")`.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Transport, Udp};
///
/// fn round_trip<T: Transport>(transport: T) -> socket_echo::Result<()> {
///     let server = EchoServer::bind_on(transport, "127.0.0.1:0")?;
///     let addr = server.local_addr();
///     let served = std::thread::spawn(move || server.serve_once());
///     let mut client = EchoClient::connect_on(transport, addr)?;
///     assert_eq!(&client.echo(b"ping")?[..], b"ping");
///     drop(client);
///     served.join().expect("server thread")?;
///     Ok(())
/// }
/// round_trip(socket_echo::Tcp)?;
/// round_trip(Udp)?;
/// # Ok::<(), socket_echo::Error>(())
/// ```
pub trait Transport: sealed::Sealed + Copy + Default + Debug + Send + Sync + 'static {}

pub(crate) mod sealed {
    pub use super::AsSocket;
    use super::*;

    /// The operations every transport provides to the generic server and client.
    pub trait Sealed {
        /// The bound server socket.
        type Listener: Debug + Send + Sync + AsSocket;
        /// A client socket, connected to one server.
        type Connection: Debug + Send + AsSocket;

        /// `"tcp"`, `"udp"`: used in errors and logs.
        const NAME: &'static str;

        /// Creates, tunes and binds a server socket to exactly `addr`.
        fn bind(addr: SocketAddr, options: &Options) -> Result<Self::Listener>;

        /// Serves one connection (stream) or one datagram, blocking until it is done.
        fn serve_once(
            listener: &Self::Listener,
            local: SocketAddr,
            options: &Options,
        ) -> Result<Exchange>;

        /// Creates, tunes and connects a client socket to exactly `addr`.
        fn connect(addr: SocketAddr, options: &Options) -> Result<Self::Connection>;

        /// Switches the server socket between blocking (`serve_once`) and non-blocking
        /// (`serve`) mode.
        fn set_nonblocking(listener: &Self::Listener, nonblocking: bool) -> std::io::Result<()>;

        /// Runs `serve` on the server socket with `workers` event loops (this thread among
        /// them) until the server is shut down.
        fn serve(listener: &Self::Listener, worker: Worker<'_>, workers: usize) -> Result<()>;

        /// Sends `message`, waits for its echo and returns it if it equals `message`.
        fn echo(
            connection: &mut Self::Connection,
            peer: SocketAddr,
            message: &[u8],
            options: &Options,
        ) -> Result<Bytes>;

        /// The socket under a client connection, for the measuring loops of
        /// [`crate::measure`].
        #[cfg(feature = "measure")]
        fn socket(connection: &mut Self::Connection) -> crate::measure::Socket<'_>;
    }
}

/// A socket socket2 can borrow (`AsFd` on Unix, `AsSocket` on Windows).
#[cfg(unix)]
pub trait AsSocket: std::os::fd::AsFd {}
#[cfg(unix)]
impl<S: std::os::fd::AsFd> AsSocket for S {}

/// A socket socket2 can borrow (`AsFd` on Unix, `AsSocket` on Windows).
#[cfg(windows)]
pub trait AsSocket: std::os::windows::io::AsSocket {}
#[cfg(windows)]
impl<S: std::os::windows::io::AsSocket> AsSocket for S {}

/// The local address of any socket, read through socket2.
pub(crate) fn local_addr<S: AsSocket>(socket: &S) -> std::io::Result<SocketAddr> {
    let addr = socket2::SockRef::from(socket).local_addr()?;
    addr.as_socket().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "socket address is not IP")
    })
}
