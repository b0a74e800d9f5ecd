//! UDP: a datagram transport over `std::net` sockets made and tuned through socket2.

use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr, UdpSocket};

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};

use super::Transport;
use super::sealed::Sealed;
use crate::echo::datagram;
use crate::engine::{self, Worker};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::server::Exchange;

/// The largest UDP payload over IPv4: 65,535 − 20 (IP header) − 8 (UDP header).
pub const MAX_DATAGRAM_V4: usize = 65_507;
/// The largest UDP payload over IPv6 without jumbograms: 65,535 − 8 (UDP header).
pub const MAX_DATAGRAM_V6: usize = 65_527;

/// The UDP transport: one reply per datagram, to its source, of the same length.
///
/// A client waits [`read_timeout`](crate::Options::with_read_timeout) for each reply and sends
/// again up to [`retries`](crate::Options::with_retries) times; its socket is connected, so
/// datagrams from any other address never reach it.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Udp};
///
/// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
/// let addr = server.local_addr();
/// let served = std::thread::spawn(move || server.serve_once());
/// let mut client = EchoClient::connect_on(Udp, addr)?;
/// assert_eq!(&client.echo(b"")?[..], b"");
/// assert_eq!(served.join().unwrap()?.bytes_echoed(), 0);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Udp;

impl Transport for Udp {}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
}

/// True for the errors a UDP socket reports when an earlier datagram drew an ICMP "port
/// unreachable": they concern that earlier peer, not the next receive.
pub(crate) fn is_icmp_echo(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
    )
}

/// Whether `ip` is an address of this machine: the system lets a socket bind only to its own
/// addresses. The socket is closed at once and never sends. (Listing the interfaces would
/// need `getifaddrs`, which std does not offer without unsafe code.) An IPv6 link-local
/// address has no scope here, cannot be bound, and is taken as not local.
pub(crate) fn is_local_ip(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The largest payload one datagram to `addr` can carry.
pub(crate) fn max_payload(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() {
        MAX_DATAGRAM_V4
    } else {
        MAX_DATAGRAM_V6
    }
}

impl Sealed for Udp {
    type Listener = UdpSocket;
    type Connection = UdpSocket;

    const NAME: &'static str = "udp";

    fn bind(addr: SocketAddr, options: &Options) -> Result<UdpSocket> {
        let bind_error = |source| Error::Bind {
            transport: Self::NAME,
            addr,
            source,
        };
        let socket = new_socket(addr).map_err(bind_error)?;
        options.apply_listener(&socket, &addr, false)?;
        socket.bind(&addr.into()).map_err(bind_error)?;
        Ok(socket.into())
    }

    fn serve_once(socket: &UdpSocket, local: SocketAddr, options: &Options) -> Result<Exchange> {
        datagram::serve_once(socket, local, options)
    }

    fn set_nonblocking(socket: &UdpSocket, nonblocking: bool) -> io::Result<()> {
        socket.set_nonblocking(nonblocking)
    }

    fn serve(socket: &UdpSocket, worker: Worker<'_>, workers: usize) -> Result<()> {
        engine::datagram::serve(socket, worker, workers)
    }

    fn connect(addr: SocketAddr, options: &Options) -> Result<UdpSocket> {
        let connect_error = |source| Error::Connect { addr, source };
        let socket = new_socket(addr).map_err(connect_error)?;
        options.apply_before_bind(&socket, &addr)?;
        options.apply_timeouts(&socket)?;
        socket.connect(&addr.into()).map_err(connect_error)?;
        Ok(socket.into())
    }

    fn echo(
        socket: &mut UdpSocket,
        peer: SocketAddr,
        message: &[u8],
        options: &Options,
    ) -> Result<Bytes> {
        datagram::echo(socket, peer, message, options)
    }

    #[cfg(feature = "measure")]
    fn socket(connection: &mut UdpSocket) -> crate::measure::Socket<'_> {
        crate::measure::Socket::Datagram(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_a_local_ip_and_a_documentation_address_is_not() {
        assert!(is_local_ip(IpAddr::from([127, 0, 0, 1])));
        // TEST-NET-1 (RFC 5737): reserved for documentation, never configured.
        assert!(!is_local_ip(IpAddr::from([192, 0, 2, 1])));
        assert!(!is_local_ip("2001:db8::1".parse().unwrap()));
    }
}
