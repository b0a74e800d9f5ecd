//! UDP: a datagram transport over `std::net` sockets made and tuned through socket2, and the
//! IP source policy of its server.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::plain::{self, Plain};
use super::sealed::Refusal;
use super::sealed::{ClientVisitor, ClientsVisitor, Datagram, Kind, Sealed, ServerVisitor};
use super::{Transport, ip};
use crate::error::Result;
use crate::options::Options;

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

/// Whether `addr` (an IP address, with its scope for an IPv6 one; port 0) is an address of
/// this machine: the system lets a socket bind only to its own addresses. The socket is
/// closed at once and never sends. (Listing the interfaces would need `getifaddrs`, which std
/// does not offer without unsafe code.) A link-local IPv6 address is bound on the interface
/// its scope names: without the scope it could not be bound at all.
pub(crate) fn is_local(addr: SocketAddr) -> bool {
    UdpSocket::bind(addr).is_ok()
}

/// How long a UDP server keeps the answer of [`is_local`] for an address.
pub(crate) const LOCAL_ANSWER_KEPT: Duration = Duration::from_secs(10);

/// The most answers of [`is_local`] a UDP server keeps at once.
const LOCAL_ANSWERS: usize = 64;

/// The answers of [`is_local`] one UDP server has had, each kept for
/// [`LOCAL_ANSWER_KEPT`]: a source that claims the server's port from an address that is not
/// a loopback one costs one probe (a socket and a `bind`) per address and scope every 10 s,
/// not one per datagram. At most [`LOCAL_ANSWERS`] are kept; a new one takes the place of an
/// expired one, or else of the oldest. The answers are the server's own, not the process's:
/// two servers of one process may be in different network namespaces.
#[derive(Debug, Default)]
pub struct LocalAnswers {
    answers: Mutex<Vec<LocalAnswer>>,
}

/// One answer of [`is_local`].
#[derive(Debug, Clone, Copy)]
struct LocalAnswer {
    addr: SocketAddr,
    local: bool,
    at: Instant,
}

impl LocalAnswers {
    /// Whether `addr` is one of this machine's addresses at `now`: the answer kept from
    /// `probe`, if it is less than [`LOCAL_ANSWER_KEPT`] old, or `probe`'s new answer.
    fn is_local(
        &self,
        addr: SocketAddr,
        now: Instant,
        probe: impl FnOnce(SocketAddr) -> bool,
    ) -> bool {
        let fresh =
            |answer: &LocalAnswer| now.saturating_duration_since(answer.at) < LOCAL_ANSWER_KEPT;
        if let Some(answer) = self.lock().iter().find(|a| a.addr == addr && fresh(a)) {
            return answer.local;
        }
        // The probe is a system call: made with the lock released.
        let local = probe(addr);
        let mut answers = self.lock();
        answers.retain(|a| a.addr != addr && fresh(a));
        if answers.len() >= LOCAL_ANSWERS
            && let Some(oldest) = (0..answers.len()).min_by_key(|&i| answers[i].at)
        {
            answers.swap_remove(oldest);
        }
        answers.push(LocalAnswer {
            addr,
            local,
            at: now,
        });
        local
    }

    fn lock(&self) -> MutexGuard<'_, Vec<LocalAnswer>> {
        self.answers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sealed for Udp {
    const NAME: &'static str = "udp";
    const KIND: Kind = Kind::Datagram;
    type Server = UdpSocket;
    type Client = UdpSocket;

    fn server_fd(server: &UdpSocket) -> BorrowedFd<'_> {
        server.as_fd()
    }

    fn client_fd(client: &UdpSocket) -> BorrowedFd<'_> {
        client.as_fd()
    }

    fn check(options: &Options) -> Result<()> {
        options.refuse_inapplicable(Self::NAME)
    }

    fn bind(addr: &SocketAddr, options: &Options) -> Result<UdpSocket> {
        Ok(ip::UDP.bind(*addr, options)?.into())
    }

    fn local_addr(server: &UdpSocket) -> io::Result<SocketAddr> {
        server.local_addr()
    }

    fn connect(addr: &SocketAddr, options: &Options) -> Result<UdpSocket> {
        Ok(ip::UDP.connect(*addr, options)?.into())
    }

    fn client_addr(client: &UdpSocket) -> io::Result<SocketAddr> {
        client.local_addr()
    }

    fn visit_server<V: ServerVisitor<Self>>(server: &UdpSocket, visitor: V) -> V::Output {
        visitor.datagram(server)
    }

    fn visit_owned<V: ServerVisitor<Self>>(server: UdpSocket, visitor: V) -> V::Output {
        visitor.datagram(&server)
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

impl Plain for UdpSocket {}

impl Datagram for UdpSocket {
    type Addr = SocketAddr;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    type Batch = batch::Headers;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    type Batch = ();

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn new_batch() -> batch::Headers {
        batch::Headers::new()
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn new_batch() {}

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

    fn register_shared(&self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        plain::register_shared(self, registry, token)
    }

    type Policy = LocalAnswers;

    fn refusal(
        &self,
        source: &SocketAddr,
        local: &SocketAddr,
        options: &Options,
        answers: &LocalAnswers,
    ) -> Option<Refusal> {
        refusal(*source, *local, options.denied_ports(), |addr| {
            answers.is_local(addr, Instant::now(), is_local)
        })
    }

    fn max_payload(&self, peer: &SocketAddr) -> usize {
        if peer.is_ipv4() {
            MAX_DATAGRAM_V4
        } else {
            MAX_DATAGRAM_V6
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn recv_batch(
        &self,
        headers: &mut batch::Headers,
        scratch: &mut [u8],
        slot: usize,
        received: &mut Vec<(usize, SocketAddr)>,
    ) -> io::Result<()> {
        batch::recv(self, headers, scratch, slot, received)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn send_batch(
        &self,
        scratch: &[u8],
        slot: usize,
        replies: &[(usize, usize, SocketAddr)],
    ) -> io::Result<usize> {
        batch::send(self, scratch, slot, replies)
    }
}

/// `recvmmsg` (through nix) and `sendmmsg` (through rustix): one system call for a batch of
/// datagrams each way. The receive headers nix fills are kept by each worker for its socket
/// and the send headers are built on the stack, so a batch allocates nothing.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod batch {
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
    use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};

    /// The most datagrams one call takes (the server's batches are at most this long).
    const MAX: usize = 16;

    /// `0.0.0.0:0`: the source of a datagram that came with none (refused, as from nowhere),
    /// and the destination of the unused headers of a send.
    const NOWHERE: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));

    /// The receive headers of one worker's socket. nix sets each header's address length
    /// once, when it makes them, and the kernel writes back the length of the address it
    /// received; so the headers must stay with one socket (one address family) for life.
    #[derive(Debug)]
    pub struct Headers(MultiHeaders<SockaddrStorage>);

    impl Headers {
        pub(super) fn new() -> Self {
            Headers(MultiHeaders::preallocate(MAX, None))
        }
    }

    /// The IP address and port in `addr`, if it holds one.
    fn to_std(addr: &SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = addr.as_sockaddr_in() {
            return Some(SocketAddr::V4((*v4).into()));
        }
        addr.as_sockaddr_in6()
            .map(|v6| SocketAddr::V6((*v6).into()))
    }

    /// [`Datagram::recv_batch`](crate::transport::sealed::Datagram::recv_batch) for UDP.
    pub(super) fn recv(
        socket: &UdpSocket,
        Headers(headers): &mut Headers,
        scratch: &mut [u8],
        slot: usize,
        received: &mut Vec<(usize, SocketAddr)>,
    ) -> io::Result<()> {
        {
            let count = (scratch.len() / slot).min(MAX);
            let mut chunks = scratch.chunks_exact_mut(slot);
            let mut iovs: [[IoSliceMut<'_>; 1]; MAX] =
                std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or(&mut []))]);
            let results = recvmmsg(
                socket.as_raw_fd(),
                headers,
                iovs.iter_mut().take(count),
                MsgFlags::MSG_DONTWAIT,
                None,
            )
            .map_err(io::Error::from)?;
            for message in results {
                // A UDP datagram always has a source; one that did not would be refused as
                // coming from nowhere (the unspecified address, port 0), never answered.
                let source = message.address.as_ref().and_then(to_std);
                received.push((message.bytes, source.unwrap_or(NOWHERE)));
            }
            Ok(())
        }
    }

    /// [`Datagram::send_batch`](crate::transport::sealed::Datagram::send_batch) for UDP,
    /// through rustix's `sendmmsg`, which returns the count sent without reading back
    /// anything it did not write.
    pub(super) fn send(
        socket: &UdpSocket,
        scratch: &[u8],
        slot: usize,
        replies: &[(usize, usize, SocketAddr)],
    ) -> io::Result<usize> {
        let replies = &replies[..replies.len().min(MAX)];
        let addrs: [SocketAddrAny; MAX] =
            std::array::from_fn(|i| SocketAddrAny::from(replies.get(i).map_or(NOWHERE, |r| r.2)));
        let iovs: [[IoSlice<'_>; 1]; MAX] = std::array::from_fn(|i| {
            [IoSlice::new(
                replies
                    .get(i)
                    .map_or(&[][..], |(index, len, _)| &scratch[index * slot..][..*len]),
            )]
        });
        let mut controls: [SendAncillaryBuffer<'_, '_, '_>; MAX] =
            std::array::from_fn(|_| SendAncillaryBuffer::default());
        let mut controls = controls.iter_mut();
        let mut messages: [MMsgHdr<'_>; MAX] = std::array::from_fn(|i| {
            let control = controls.next().expect("one control buffer per message");
            MMsgHdr::new_with_addr(&addrs[i], &iovs[i], control)
        });
        let sent = sendmmsg(socket, &mut messages[..replies.len()], SendFlags::DONTWAIT)?;
        Ok(sent)
    }
}

/// Decides whether a datagram from `source`, received by a server bound to `local`, may be
/// answered. `denied` is sorted; `is_local` says whether an address (with its scope, port 0)
/// belongs to this machine, and is asked only about a source with the server's own port when
/// the server is bound to a wildcard address.
///
/// An IPv4 source seen through an IPv6 socket (`::ffff:a.b.c.d`) is judged as the IPv4
/// address it is. Directed broadcast addresses depend on the network's mask, which a socket
/// does not know; only the limited broadcast `255.255.255.255` is recognised.
pub(crate) fn refusal(
    source: SocketAddr,
    local: SocketAddr,
    denied: &[u16],
    is_local: impl FnOnce(SocketAddr) -> bool,
) -> Option<Refusal> {
    let ip = source.ip().to_canonical();
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast || source.port() == 0 {
        return Some(Refusal::BadSource);
    }
    if own_address(source, local, is_local) {
        return Some(Refusal::OwnAddress);
    }
    if denied.binary_search(&source.port()).is_ok() {
        return Some(Refusal::DeniedPort);
    }
    None
}

/// Whether a datagram from `source` reaches a server bound to `local` when answered, i.e.
/// whether `source` is the server's own address.
///
/// Bound to one address, the server is its own source only from exactly that address and
/// port. Bound to a wildcard (`0.0.0.0`, `[::]`), it receives on its port at every address of
/// the machine: a source with the server's port is its own if it is a loopback address or if
/// `is_local` says the machine has it (asked with the source's scope, which a link-local
/// address needs). So the common case costs a comparison of ports, and the probe is paid
/// only by datagrams that claim the server's own port, which no client sends from.
fn own_address(
    source: SocketAddr,
    local: SocketAddr,
    is_local: impl FnOnce(SocketAddr) -> bool,
) -> bool {
    if source.port() != local.port() {
        return false;
    }
    let source_ip = source.ip().to_canonical();
    let local_ip = local.ip().to_canonical();
    if !local_ip.is_unspecified() {
        return source_ip == local_ip;
    }
    if source_ip.is_loopback() {
        return true;
    }
    let probed = match (source, source_ip) {
        (SocketAddr::V6(v6), IpAddr::V6(ip)) => {
            SocketAddr::V6(SocketAddrV6::new(ip, 0, 0, v6.scope_id()))
        }
        (_, ip) => SocketAddr::new(ip, 0),
    };
    is_local(probed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn never_asked(addr: SocketAddr) -> bool {
        panic!("the probe was asked about {addr}")
    }

    #[test]
    fn refusal_judges_sources() {
        let denied = [7, 9, 13, 19, 37];
        let local = addr("127.0.0.1:7000");
        assert_eq!(
            refusal(addr("127.0.0.1:40000"), local, &denied, never_asked),
            None
        );
        let echo = addr("127.0.0.1:7");
        assert_eq!(
            refusal(echo, local, &denied, never_asked),
            Some(Refusal::DeniedPort)
        );
        assert_eq!(refusal(echo, local, &[], never_asked), None);
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
                refusal(addr(bad), local, &denied, never_asked),
                Some(Refusal::BadSource),
                "{bad}"
            );
        }
        let mapped = addr("[::ffff:127.0.0.1]:19");
        assert_eq!(
            refusal(mapped, addr("[::]:7000"), &denied, never_asked),
            Some(Refusal::DeniedPort)
        );
    }

    #[test]
    fn the_servers_own_address_is_refused() {
        let own = addr("127.0.0.1:7000");
        assert_eq!(
            refusal(own, own, &[], never_asked),
            Some(Refusal::OwnAddress)
        );
        let wildcard = addr("0.0.0.0:7000");
        assert_eq!(
            refusal(own, wildcard, &[], never_asked),
            Some(Refusal::OwnAddress)
        );
        let mapped = addr("[::ffff:127.0.0.1]:7000");
        assert_eq!(
            refusal(mapped, addr("[::]:7000"), &[], never_asked),
            Some(Refusal::OwnAddress)
        );
        // Another port on the same address is another socket.
        assert_eq!(refusal(addr("127.0.0.1:7001"), own, &[], never_asked), None);
    }

    #[test]
    fn a_wildcard_server_asks_the_probe_only_about_its_own_port() {
        let wildcard = addr("0.0.0.0:7000");
        let lan = addr("192.0.2.7:7000");
        assert_eq!(
            refusal(lan, wildcard, &[], |_| true),
            Some(Refusal::OwnAddress)
        );
        assert_eq!(refusal(lan, wildcard, &[], |_| false), None);
        assert_eq!(
            refusal(addr("192.0.2.7:7001"), wildcard, &[], never_asked),
            None
        );
        // Bound to one address, the probe is never needed.
        assert_eq!(refusal(lan, addr("192.0.2.8:7000"), &[], never_asked), None);
    }

    #[test]
    fn a_link_local_source_is_probed_with_its_scope() {
        let wildcard = addr("[::]:7000");
        let mut asked = Vec::new();
        let own = refusal(addr("[fe80::1%3]:7000"), wildcard, &[], |a| {
            asked.push(a);
            a == addr("[fe80::1%3]:0")
        });
        assert_eq!(own, Some(Refusal::OwnAddress));
        assert_eq!(asked, [addr("[fe80::1%3]:0")]);
        // The same address on another interface is another host's.
        let other = refusal(addr("[fe80::1%4]:7000"), wildcard, &[], |a| {
            a == addr("[fe80::1%3]:0")
        });
        assert_eq!(other, None);
        // An IPv4 source through an IPv6 socket is probed as IPv4.
        let mut asked = Vec::new();
        refusal(addr("[::ffff:192.0.2.7]:7000"), wildcard, &[], |a| {
            asked.push(a);
            false
        });
        assert_eq!(asked, [addr("192.0.2.7:0")]);
    }

    #[test]
    fn the_answer_of_the_probe_is_kept_for_ten_seconds() {
        let answers = LocalAnswers::default();
        let wildcard = addr("0.0.0.0:7000");
        let lan = addr("192.0.2.7:7000");
        let start = Instant::now();
        let probes = std::cell::Cell::new(0);
        let probe = |_| {
            probes.set(probes.get() + 1);
            true
        };
        let judge = |source, at| refusal(source, wildcard, &[], |a| answers.is_local(a, at, probe));
        // A thousand datagrams from the same source within the 10 s: one probe.
        for i in 0..1000u32 {
            let at = start + LOCAL_ANSWER_KEPT * i / 1000;
            assert_eq!(judge(lan, at), Some(Refusal::OwnAddress));
        }
        assert_eq!(probes.get(), 1);
        // Another address is probed on its own; so is the same one 10 s later.
        assert_eq!(
            judge(addr("192.0.2.8:7000"), start),
            Some(Refusal::OwnAddress)
        );
        assert_eq!(probes.get(), 2);
        assert_eq!(
            judge(lan, start + LOCAL_ANSWER_KEPT),
            Some(Refusal::OwnAddress)
        );
        assert_eq!(probes.get(), 3);
        // A negative answer is kept as well.
        let no = |_| {
            probes.set(probes.get() + 1);
            false
        };
        let other = addr("198.51.100.1:0");
        for _ in 0..10 {
            assert!(!answers.is_local(other, start, no));
        }
        assert_eq!(probes.get(), 4);
    }

    #[test]
    fn the_kept_answers_are_bounded() {
        let answers = LocalAnswers::default();
        let start = Instant::now();
        for i in 0..10 * LOCAL_ANSWERS as u32 {
            let at = start + Duration::from_millis(u64::from(i));
            assert!(!answers.is_local(SocketAddr::from(([10, 0, 0, 1], i as u16)), at, |_| false));
        }
        assert_eq!(answers.lock().len(), LOCAL_ANSWERS);
        // The newest are the ones kept.
        let newest = SocketAddr::from(([10, 0, 0, 1], 10 * LOCAL_ANSWERS as u16 - 1));
        assert!(
            !answers.is_local(newest, start + Duration::from_secs(1), |_| panic!(
                "probed again"
            ))
        );
    }

    #[test]
    fn loopback_is_local_and_documentation_addresses_are_not() {
        assert!(is_local(addr("127.0.0.1:0")));
        assert!(is_local(addr("[::1]:0")));
        // TEST-NET-1 (RFC 5737) and 2001:db8::/32 (RFC 3849): reserved for documentation,
        // never configured.
        assert!(!is_local(addr("192.0.2.1:0")));
        assert!(!is_local(addr("[2001:db8::1]:0")));
        // A link-local address without a scope cannot be bound, whoever has it.
        assert!(!is_local(addr("[fe80::1]:0")));
    }
}
