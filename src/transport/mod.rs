//! The [`Transport`] trait and its implementations, one file each: `tcp.rs`, `udp.rs`,
//! `unix.rs`, `unix_datagram.rs`.
//!
//! A transport is a socket factory: it makes, tunes and binds its sockets through socket2,
//! names its address type, says whether it is a stream or a datagram transport
//! ([`sealed::Sealed::KIND`]), and brings the source policy of its datagrams. It holds no echo
//! loop and no event loop: those are written once per kind, in `crate::echo` and
//! `crate::engine`, over the capability traits of `caps.rs` ([`sealed::Socket`],
//! [`sealed::Listener`], [`sealed::Connection`], [`sealed::Datagram`]), which are the whole
//! contract: this is the only module that names a concrete socket type or reaches a
//! descriptor (`plain.rs`: the capabilities of a plaintext socket, from its descriptor;
//! `descriptor.rs`: the public `AsFd` of the server and the client).

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::io;

use crate::addr::Address;

mod addrs;
mod caps;
mod descriptor;
mod ip;
mod plain;
mod session;
mod tcp;
#[cfg(feature = "tls")]
mod tls;
mod udp;
mod unix;
mod unix_datagram;

pub use addrs::ToAddrs;
pub use session::{BadCertificate, HandshakeStall};

pub(crate) use addrs::first_ok;

/// Whether `error` is a failure of a transport's own (a TLS session's, carried by the
/// `io::Error`), rather than the socket's.
pub(crate) fn is_transport_failure(error: &io::Error) -> bool {
    #[cfg(feature = "tls")]
    if crate::error::TlsFailure::in_io(error).is_some() {
        return true;
    }
    let _ = error;
    false
}
pub use tcp::Tcp;
#[cfg(feature = "tls")]
pub use tls::Tls;
pub use udp::{MAX_DATAGRAM_V4, MAX_DATAGRAM_V6, Udp};
pub use unix::Unix;
pub use unix_datagram::UnixDatagram;

/// A kind of socket the echo service runs over: [`Tcp`], [`Udp`], [`Unix`] (stream) or
/// [`UnixDatagram`].
///
/// The trait is sealed: its methods are the crate's own business, so they can grow without
/// breaking anyone. Use its implementations as values to pick a transport, as in
/// `EchoServer::bind_on(Udp, "127.0.0.1:0")`.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Tcp, ToAddrs, Transport, Udp, Unix};
///
/// fn round_trip<T: Transport>(transport: T, addr: impl ToAddrs<T>) -> socket_echo::Result<()> {
///     let server = EchoServer::bind_on(transport, addr)?;
///     let addr = server.local_addr();
///     let served = std::thread::spawn(move || server.serve_once());
///     let mut client = EchoClient::connect_on(transport, addr)?;
///     assert_eq!(&client.echo(b"ping")?[..], b"ping");
///     drop(client);
///     served.join().expect("server thread")?;
///     Ok(())
/// }
/// round_trip(Tcp, "127.0.0.1:0")?;
/// round_trip(Udp, "[::1]:0")?;
/// round_trip(Unix, std::env::temp_dir().join(format!("doc-{}.sock", std::process::id())))?;
/// # Ok::<(), socket_echo::Error>(())
/// ```
pub trait Transport: sealed::Sealed + Copy + Default + Debug + Send + Sync + 'static {
    /// The address of a socket of this transport: [`SocketAddr`](std::net::SocketAddr) for
    /// [`Tcp`] and [`Udp`], [`UnixAddr`](crate::UnixAddr) for [`Unix`] and [`UnixDatagram`].
    type Addr: Clone
        + Debug
        + Display
        + Eq
        + Hash
        + Send
        + Sync
        + Into<Address>
        + ToAddrs<Self>
        + 'static;
}

pub(crate) mod sealed {
    //! What the server, the client, the engines and `measure` ask of a transport. Public only
    //! inside this private module, which seals [`Transport`](super::Transport).

    use std::os::fd::BorrowedFd;

    use super::*;
    use crate::error::Result;
    use crate::options::Options;

    #[cfg(test)]
    pub(crate) use super::caps::socket_without_descriptor;
    pub use super::caps::{Connection, Datagram, Kind, Listener, Refusal, Socket};
    pub use super::session::SessionFaults;

    /// What a transport counts itself, added to a server's [`Stats`](crate::Stats) when they are
    /// read (see `Sealed::stats_source`).
    #[derive(Clone)]
    pub struct StatsSource(pub std::sync::Arc<dyn Fn(&mut crate::stats::Stats) + Send + Sync>);

    impl std::fmt::Debug for StatsSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("StatsSource")
        }
    }

    /// The socket factory half of a transport.
    pub trait Sealed: Sized {
        /// `"tcp"`, `"udp"`, `"unix"`, `"unixgram"`: used in errors and logs.
        const NAME: &'static str;
        /// Stream or datagram: which loops serve this transport. Code that needs only the
        /// kind reads this; code that needs the socket as its capability visits it.
        const KIND: Kind;
        /// Whether the accepted connections of this transport take faults of their own
        /// ([`SessionFaults`], through [`Listener::session_faults`]): TLS's, none else.
        const SESSION_FAULTS: bool = false;
        /// The bound server socket.
        type Server: Socket + 'static;
        /// A client socket, connected to one server.
        type Client: Socket + 'static;

        /// The descriptor of a server socket (a wrapping transport: its inner socket's), for
        /// the public `AsFd` of `EchoServer` only: the loops never use it.
        fn server_fd(server: &Self::Server) -> BorrowedFd<'_>;

        /// The descriptor of a client socket, for the public `AsFd` of `EchoClient` only.
        fn client_fd(client: &Self::Client) -> BorrowedFd<'_>;

        /// What a server socket counts itself, to add to the server's [`Stats`]: a TLS
        /// server's handshakes. Nothing, for a plain transport.
        fn stats_source(_server: &Self::Server) -> Option<StatsSource> {
            None
        }

        /// The identity a server socket presents, for a TLS transport.
        #[cfg(feature = "tls")]
        fn identity(_server: &Self::Server) -> Option<&crate::certificate::Identity> {
            None
        }

        /// Refuses an option set explicitly that cannot apply to this transport.
        fn check(options: &Options) -> Result<()>;

        /// Creates, tunes and binds a server socket to exactly `addr`.
        fn bind(addr: &<Self as Transport>::Addr, options: &Options) -> Result<Self::Server>
        where
            Self: Transport;

        /// The address a server socket is bound to.
        fn local_addr(server: &Self::Server) -> io::Result<<Self as Transport>::Addr>
        where
            Self: Transport;

        /// Creates, tunes and connects a client socket to exactly `addr`.
        fn connect(addr: &<Self as Transport>::Addr, options: &Options) -> Result<Self::Client>
        where
            Self: Transport;

        /// The address of a client socket.
        fn client_addr(client: &Self::Client) -> io::Result<<Self as Transport>::Addr>
        where
            Self: Transport;

        /// Hands the server socket to the loop of this transport's kind.
        fn visit_server<V: ServerVisitor<Self>>(server: &Self::Server, visitor: V) -> V::Output
        where
            Self: Transport;

        /// Hands the server socket itself to the loop of this transport's kind, which may
        /// close it and bind another (a server that goes down and up again).
        fn visit_owned<V: ServerVisitor<Self>>(server: Self::Server, visitor: V) -> V::Output
        where
            Self: Transport;

        /// Hands a client socket to the loop of this transport's kind.
        fn visit_client<V: ClientVisitor<Self>>(client: &Self::Client, visitor: V) -> V::Output
        where
            Self: Transport;

        /// Hands client sockets to the loop of this transport's kind.
        fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
            clients: Vec<&'a Self::Client>,
            visitor: V,
        ) -> V::Output
        where
            Self: Transport;
    }

    /// What is done with a server socket, for either kind of transport.
    pub trait ServerVisitor<T: Transport> {
        /// What the visit returns.
        type Output;
        /// A stream transport's listener.
        fn stream<L: Listener<Addr = T::Addr>>(self, listener: &L) -> Self::Output;
        /// A stream transport's listener, given to keep (or close).
        fn stream_owned<L: Listener<Addr = T::Addr>>(self, listener: L) -> Self::Output
        where
            Self: Sized,
        {
            self.stream(&listener)
        }
        /// A datagram transport's socket.
        fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Self::Output;
    }

    /// What is done with a client socket, for either kind of transport.
    pub trait ClientVisitor<T: Transport> {
        /// What the visit returns.
        type Output;
        /// A stream transport's connection.
        fn stream<C: Connection>(self, connection: &C) -> Self::Output;
        /// A datagram transport's connected socket.
        fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Self::Output;
    }

    /// What is done with many client sockets at once, for either kind of transport.
    pub trait ClientsVisitor<'a, T: Transport> {
        /// What the visit returns.
        type Output;
        /// A stream transport's connections.
        fn stream<C: Connection>(self, connections: Vec<&'a C>) -> Self::Output;
        /// A datagram transport's connected sockets.
        fn datagram<D: Datagram<Addr = T::Addr>>(self, sockets: Vec<&'a D>) -> Self::Output;
    }
}

/// True for the errors a datagram socket reports when an earlier datagram drew an ICMP "port
/// unreachable" (or, for a Unix socket, when the peer's socket is gone): they concern that
/// earlier peer, not the next receive.
pub(crate) fn is_unreachable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
    )
}
