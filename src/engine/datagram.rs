//! The datagram engine: one worker's echo of the datagrams on a shared UDP socket.
//!
//! Each datagram is received into the worker's scratch buffer and sent straight back to its
//! source, whole, or not at all: a datagram too large for the buffer, or from a source that
//! could start an echo loop, is dropped and counted.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};

use mio::net::UdpSocket;
use mio::{Events, Interest};

use super::{Counters, RateLimit, SOCKET, Worker, interrupted, would_block};
use crate::buffer;
use crate::error::Result;

/// Datagrams one worker handles between two looks at the shutdown switch.
const DATAGRAMS_PER_TURN: u32 = 1024;

/// Why a datagram is not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its source port is one of the denied ports.
    DeniedPort,
    /// Its source is multicast, broadcast, unspecified, or port 0: no one to answer.
    BadSource,
}

/// Decides whether a datagram from `source` may be answered. `denied` is sorted.
///
/// An IPv4 source seen through an IPv6 socket (`::ffff:a.b.c.d`) is judged as the IPv4
/// address it is. Directed broadcast addresses depend on the network's mask, which a socket
/// does not know; only the limited broadcast `255.255.255.255` is recognised.
pub(crate) fn refusal(source: SocketAddr, denied: &[u16]) -> Option<Refusal> {
    let ip = match source.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast || source.port() == 0 {
        return Some(Refusal::BadSource);
    }
    if denied.binary_search(&source.port()).is_ok() {
        return Some(Refusal::DeniedPort);
    }
    None
}

/// Runs `workers` event loops on the one socket until the server is shut down. Each polls
/// its own descriptor of the socket; whichever wakes first takes the datagrams waiting.
pub(crate) fn serve(
    socket: &std::net::UdpSocket,
    worker: Worker<'_>,
    workers: usize,
) -> Result<()> {
    worker.spawn(workers, |_| {
        let socket = socket.try_clone().map_err(|source| crate::Error::Serve {
            addr: worker.local,
            source,
        })?;
        run(UdpSocket::from_std(socket), worker)
    })
}

/// Runs one worker until the server is shut down.
fn run(mut socket: UdpSocket, worker: Worker<'_>) -> Result<()> {
    // One byte more than the configured size: a datagram that fills it did not fit.
    let capacity = worker.options.buffer_size();
    let mut scratch = buffer::with_sentinel("the receive buffer", capacity)?.into_boxed_slice();
    worker.run(|poll, counters, _| {
        poll.registry()
            .register(&mut socket, SOCKET, Interest::READABLE)?;
        let denied = worker.options.denied_ports();
        let mut log = RateLimit::default();
        let mut events = Events::with_capacity(64);
        let mut more = false;
        while !worker.control.is_stopping() {
            let timeout = more.then_some(std::time::Duration::ZERO);
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            if more || events.iter().any(|e| e.token() == SOCKET) {
                more = echo_some(&socket, &mut scratch, capacity, denied, counters, &mut log);
            }
        }
        let _ = poll.registry().deregister(&mut socket);
        Ok(())
    })
}

/// Echoes datagrams until the socket has none left (returns false) or the turn is over
/// (returns true: call again).
fn echo_some(
    socket: &UdpSocket,
    scratch: &mut [u8],
    capacity: usize,
    denied: &[u16],
    counters: &Counters,
    log: &mut RateLimit,
) -> bool {
    for _ in 0..DATAGRAMS_PER_TURN {
        let (n, source) = match socket.recv_from(scratch) {
            Ok(received) => received,
            Err(e) if would_block(&e) => return false,
            Err(e) if interrupted(&e) => continue,
            // An ICMP error about an earlier reply; it says nothing about the next datagram.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                ) =>
            {
                continue;
            }
            Err(e) => {
                log.warn(format_args!("udp receive failed: {e}"));
                return false;
            }
        };
        if n > capacity {
            // Its real size is unknown (only `capacity + 1` bytes were taken): it is counted
            // as a datagram, not in `bytes_in`.
            counters.dropped_truncated.add(1);
            log.warn(format_args!(
                "dropped a datagram from {source} larger than the {capacity}-byte buffer"
            ));
            continue;
        }
        counters.bytes_in.add(n as u64);
        match refusal(source, denied) {
            Some(Refusal::DeniedPort) => {
                counters.dropped_denied_port.add(1);
                log.warn(format_args!("not answering {source}: denied source port"));
                continue;
            }
            Some(Refusal::BadSource) => {
                counters.dropped_bad_source.add(1);
                log.warn(format_args!("not answering {source}: not a unicast source"));
                continue;
            }
            None => {}
        }
        match socket.send_to(&scratch[..n], source) {
            Ok(_) => {
                counters.bytes_out.add(n as u64);
                counters.datagrams_echoed.add(1);
            }
            // UDP promises nothing: a reply the system will not take now is dropped.
            Err(e) => {
                counters.dropped_send_failed.add(1);
                log.warn(format_args!("reply to {source} not sent: {e}"));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_judges_sources() {
        let denied = [7, 9, 13, 19, 37];
        let ok: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(refusal(ok, &denied), None);
        let echo: SocketAddr = "127.0.0.1:7".parse().unwrap();
        assert_eq!(refusal(echo, &denied), Some(Refusal::DeniedPort));
        assert_eq!(refusal(echo, &[]), None);
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
            let addr: SocketAddr = bad.parse().unwrap();
            assert_eq!(refusal(addr, &denied), Some(Refusal::BadSource), "{bad}");
        }
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:19".parse().unwrap();
        assert_eq!(refusal(mapped, &denied), Some(Refusal::DeniedPort));
    }
}
