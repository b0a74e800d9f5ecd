//! UDP: a datagram transport over `std::net` sockets made and tuned through socket2, and the
//! IP source policy of its server.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

use super::Transport;
use super::sealed::Refusal;
use super::sealed::{ClientVisitor, ClientsVisitor, Datagram, Sealed, ServerVisitor};
use crate::error::{Error, Result};
use crate::options::{Knob, Options};

/// The largest UDP payload over IPv4: 65,535 − 20 (IP header) − 8 (UDP header).
pub const MAX_DATAGRAM_V4: usize = 65_507;
/// The largest UDP payload over IPv6 without jumbograms: 65,535 − 8 (UDP header).
pub const MAX_DATAGRAM_V6: usize = 65_527;

/// The UDP transport: one reply per datagram, to its source, of the same length.
///
/// A client waits [`read_timeout`](crate::Options::with_read_timeout) for each reply and sends
/// again up to [`resends`](crate::Options::with_resends) times; its socket is connected, so
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

impl Transport for Udp {
    type Addr = SocketAddr;
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
}

impl Sealed for Udp {
    const NAME: &'static str = "udp";
    type Server = UdpSocket;
    type Client = UdpSocket;

    fn check(options: &Options) -> Result<()> {
        options.refuse(&Knob::TCP, "udp")?;
        options.refuse(&Knob::STREAM, "udp")?;
        options.refuse(&[Knob::UnixMode], "udp")
    }

    fn bind(addr: &SocketAddr, options: &Options) -> Result<UdpSocket> {
        let addr = *addr;
        let bind_error = |source| Error::Bind {
            transport: Self::NAME,
            addr: addr.into(),
            source,
        };
        let socket = new_socket(addr).map_err(bind_error)?;
        options.apply_reuse(&socket, false)?;
        options.apply_ip(&socket, addr.is_ipv6())?;
        options.apply_buffers(&socket)?;
        socket.bind(&addr.into()).map_err(bind_error)?;
        Ok(socket.into())
    }

    fn local_addr(server: &UdpSocket) -> io::Result<SocketAddr> {
        server.local_addr()
    }

    fn connect(addr: &SocketAddr, options: &Options) -> Result<UdpSocket> {
        let addr = *addr;
        let connect_error = |source| Error::Connect {
            addr: addr.into(),
            source,
        };
        let socket = new_socket(addr).map_err(connect_error)?;
        options.apply_ip(&socket, addr.is_ipv6())?;
        options.apply_buffers(&socket)?;
        options.apply_timeouts(&socket)?;
        socket.connect(&addr.into()).map_err(connect_error)?;
        Ok(socket.into())
    }

    fn client_addr(client: &UdpSocket) -> io::Result<SocketAddr> {
        client.local_addr()
    }

    fn visit_server<V: ServerVisitor<Self>>(server: &UdpSocket, visitor: V) -> V::Output {
        visitor.datagram(server)
    }

    fn visit_client<V: ClientVisitor<Self>>(client: &UdpSocket, visitor: V) -> V::Output {
        visitor.datagram(client)
    }

    fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
        clients: Vec<&'a UdpSocket>,
        visitor: V,
    ) -> V::Output {
        visitor.datagram(clients)
    }
}

impl Datagram for UdpSocket {
    type Addr = SocketAddr;

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        UdpSocket::recv_from(self, buf)
    }

    fn send_to(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        UdpSocket::send_to(self, buf, addr)
    }

    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        UdpSocket::send(self, buf)
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        UdpSocket::recv(self, buf)
    }

    fn refusal(
        &self,
        source: &SocketAddr,
        local: &SocketAddr,
        options: &Options,
    ) -> Option<Refusal> {
        refusal(*source, *local, options.denied_ports())
    }

    fn max_payload(&self, peer: &SocketAddr) -> usize {
        if peer.is_ipv4() {
            MAX_DATAGRAM_V4
        } else {
            MAX_DATAGRAM_V6
        }
    }
}

/// Decides whether a datagram from `source`, received by a server bound to `local`, may be
/// answered. `denied` is sorted.
///
/// An IPv4 source seen through an IPv6 socket (`::ffff:a.b.c.d`) is judged as the IPv4
/// address it is. Directed broadcast addresses depend on the network's mask, which a socket
/// does not know; only the limited broadcast `255.255.255.255` is recognised.
pub(crate) fn refusal(source: SocketAddr, local: SocketAddr, denied: &[u16]) -> Option<Refusal> {
    let ip = unmapped(source.ip());
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast || source.port() == 0 {
        return Some(Refusal::BadSource);
    }
    if source.port() == local.port() {
        let local_ip = unmapped(local.ip());
        // A wildcard bind answers on every local address; a loopback source with the
        // server's own port can only be the server itself.
        if ip == local_ip || (local_ip.is_unspecified() && ip.is_loopback()) {
            return Some(Refusal::OwnAddress);
        }
    }
    if denied.binary_search(&source.port()).is_ok() {
        return Some(Refusal::DeniedPort);
    }
    None
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn refusal_judges_sources() {
        let denied = [7, 9, 13, 19, 37];
        let local = addr("127.0.0.1:7000");
        assert_eq!(refusal(addr("127.0.0.1:40000"), local, &denied), None);
        let echo = addr("127.0.0.1:7");
        assert_eq!(refusal(echo, local, &denied), Some(Refusal::DeniedPort));
        assert_eq!(refusal(echo, local, &[]), None);
        for bad in [
            "0.0.0.0:4000",
            "255.255.255.255:4000",
            "224.0.0.1:4000",
            "[::]:4000",
            "[ff02::1]:4000",
            "[::ffff:255.255.255.255]:4000",
            "[::ffff:239.1.2.3]:4000",
            "127.0.0.1:0",
        ] {
            assert_eq!(
                refusal(addr(bad), local, &denied),
                Some(Refusal::BadSource),
                "{bad}"
            );
        }
        let mapped = addr("[::ffff:127.0.0.1]:19");
        assert_eq!(
            refusal(mapped, addr("[::]:7000"), &denied),
            Some(Refusal::DeniedPort)
        );
    }

    #[test]
    fn the_servers_own_address_is_refused() {
        let own = addr("127.0.0.1:7000");
        assert_eq!(refusal(own, own, &[]), Some(Refusal::OwnAddress));
        let wildcard = addr("0.0.0.0:7000");
        assert_eq!(refusal(own, wildcard, &[]), Some(Refusal::OwnAddress));
        let mapped = addr("[::ffff:127.0.0.1]:7000");
        assert_eq!(
            refusal(mapped, addr("[::]:7000"), &[]),
            Some(Refusal::OwnAddress)
        );
        // Another port on the same address is another socket.
        assert_eq!(refusal(addr("127.0.0.1:7001"), own, &[]), None);
    }
}
