//! The [`Transport`] trait and its implementations, one file each: `tcp.rs`, `udp.rs`,
//! `unix.rs`, `unix_datagram.rs`.
//!
//! A transport is a socket factory: it makes, tunes and binds its sockets through socket2,
//! names its address type, says whether it is a stream or a datagram transport, and brings the
//! source policy of its datagrams. It holds no echo loop and no event loop: those are written
//! once per kind, in `crate::echo` and `crate::engine`, over the two capability traits of
//! this module ([`sealed::Connection`] and [`sealed::Datagram`]). This is the only module
//! that names a concrete socket type.

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::io;
use std::os::fd::AsFd;

use crate::addr::Address;

mod addrs;
mod tcp;
mod udp;
mod unix;
mod unix_datagram;

pub use addrs::ToAddrs;
pub(crate) use addrs::first_ok;
pub use tcp::Tcp;
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

    use super::*;
    use crate::error::Result;
    use crate::options::Options;

    /// Why a datagram is not answered.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Refusal {
        /// Its source port is one of the denied ports.
        DeniedPort,
        /// Its source is multicast, broadcast, unspecified, port 0, or an unnamed Unix socket: no
        /// one to answer.
        BadSource,
        /// Its source is the server's own address: answering would loop forever.
        OwnAddress,
    }

    /// The socket factory half of a transport.
    pub trait Sealed: Sized {
        /// `"tcp"`, `"udp"`, `"unix"`, `"unixgram"`: used in errors and logs.
        const NAME: &'static str;
        /// The bound server socket.
        type Server: Debug + Send + Sync + AsFd + 'static;
        /// A client socket, connected to one server.
        type Client: Debug + Send + Sync + AsFd + 'static;

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

    /// A listening stream socket.
    pub trait Listener: AsFd + Debug + Send + Sync {
        /// The address of an accepted peer (and of the listener itself).
        type Addr: Clone + Into<Address> + Send + Sync;
        /// An accepted connection.
        type Stream: Connection;

        /// Accepts one connection (blocking or not, as the socket is).
        fn accept(&self) -> io::Result<(Self::Stream, Self::Addr)>;

        /// Applies the per-connection options to an accepted connection; `blocking` says
        /// whether the loop that serves it waits on the socket (and so needs its timeouts).
        fn prepare(&self, stream: &Self::Stream, options: &Options, blocking: bool) -> Result<()>;

        /// A new listener bound to `addr`, as the server's was (after it was closed).
        fn bind_again(addr: &Self::Addr, options: &Options) -> Result<Self>
        where
            Self: Sized;
    }

    /// A connected byte stream: all the stream loops ask of a stream transport.
    pub trait Connection: AsFd + Debug + Send + Sync + 'static {
        /// Reads into `buf`; `Ok(0)` is the peer's end-of-stream.
        fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
        /// Writes from `buf`.
        fn write(&self, buf: &[u8]) -> io::Result<usize>;
        /// Shuts down the write side, so the peer reads end-of-stream.
        fn shutdown_write(&self) -> io::Result<()>;
    }

    /// A datagram socket with its address type: all the datagram loops ask of a datagram
    /// transport, with the transport's source policy.
    pub trait Datagram: AsFd + Debug + Send + Sync + 'static {
        /// The address of a peer.
        type Addr: Clone + Debug + Display + Eq + Hash + Into<Address> + Send + Sync;

        /// Receives one datagram and its source.
        fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;
        /// Sends one datagram to `addr`.
        fn send_to(&self, buf: &[u8], addr: &Self::Addr) -> io::Result<usize>;
        /// Sends one datagram to the connected peer.
        fn send(&self, buf: &[u8]) -> io::Result<usize>;
        /// Receives one datagram from the connected peer.
        fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
        /// What the source policy of one server remembers from one datagram to the next
        /// (UDP: which addresses are the machine's own), shared by its workers.
        type Policy: Debug + Default + Send + Sync;

        /// Why a datagram from `source` must not be answered by a server bound to `local`,
        /// if it must not; `policy` is the server's.
        fn refusal(
            &self,
            source: &Self::Addr,
            local: &Self::Addr,
            options: &Options,
            policy: &Self::Policy,
        ) -> Option<Refusal>;
        /// The largest payload one datagram to `peer` can carry.
        fn max_payload(&self, peer: &Self::Addr) -> usize;

        /// What a server worker keeps for [`recv_batch`](Self::recv_batch) from one call to
        /// the next: made by [`new_batch`](Self::new_batch) on the worker's thread, and used
        /// with one socket only.
        type Batch;

        /// A fresh [`Batch`](Self::Batch).
        fn new_batch() -> Self::Batch;

        /// Receives up to `scratch.len() / slot` datagrams, the i-th into
        /// `scratch[i * slot..][..slot]`, and pushes each one's length and source onto
        /// `received`. Returns the first error only if nothing was received. The default
        /// receives one.
        fn recv_batch(
            &self,
            _batch: &mut Self::Batch,
            scratch: &mut [u8],
            slot: usize,
            received: &mut Vec<(usize, Self::Addr)>,
        ) -> io::Result<()> {
            let (n, source) = self.recv_from(&mut scratch[..slot])?;
            received.push((n, source));
            Ok(())
        }

        /// Sends `replies[i]` (a slot index, a length, a destination), each from its slot of
        /// `scratch`, as many as the system takes in one call: returns how many were sent,
        /// or the error of the first. The default sends one.
        fn send_batch(
            &self,
            scratch: &[u8],
            slot: usize,
            replies: &[(usize, usize, Self::Addr)],
        ) -> io::Result<usize> {
            let (index, len, to) = &replies[0];
            self.send_to(&scratch[index * slot..][..*len], to)?;
            Ok(1)
        }
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
