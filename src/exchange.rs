//! [`Exchange`]: what one `serve_once` did.

use std::net::SocketAddr;

use bytes::Bytes;

/// What [`EchoServer::serve_once`](crate::EchoServer::serve_once) did: who it served, how much it echoed, and the first
/// message.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Udp};
///
/// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
/// let mut client = EchoClient::connect_on(Udp, server.local_addr())?;
/// let handle = std::thread::spawn(move || server.serve_once());
/// client.echo(b"hello")?;
/// let exchange = handle.join().unwrap()?;
/// assert_eq!(exchange.peer(), client.local_addr()?);
/// assert_eq!(exchange.bytes_echoed(), 5);
/// assert_eq!(&exchange.first_message()[..], b"hello");
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange<A = SocketAddr> {
    peer: A,
    bytes: u64,
    first: Bytes,
}

impl<A: Clone> Exchange<A> {
    pub(crate) fn new(peer: A, bytes: u64, first: Bytes) -> Self {
        Exchange { peer, bytes, first }
    }

    /// The client's address (for a Unix stream server, usually unnamed).
    pub fn peer(&self) -> A {
        self.peer.clone()
    }

    /// How many bytes were echoed in all.
    pub fn bytes_echoed(&self) -> u64 {
        self.bytes
    }

    /// The first message: the whole datagram (UDP), or the bytes of the first read, at most
    /// [`buffer_size`](crate::Options::with_buffer_size) of them (TCP). Empty if nothing was sent.
    pub fn first_message(&self) -> &Bytes {
        &self.first
    }
}
