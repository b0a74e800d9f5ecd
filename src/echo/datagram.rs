//! The blocking echo loops of datagram transports: the server's answer to one datagram, and
//! the client's send-and-wait with retries.

use std::io::ErrorKind;
use std::time::Instant;

use bytes::Bytes;

use crate::addr::Address;
use crate::buffer;
use crate::echo::stream::{first_difference, is_timeout};
use crate::echo::timeouts::{Direction, Limits, WaitLimit};
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::options::Options;
use crate::transport::is_unreachable;
use crate::transport::sealed::Datagram;

/// Waits for one datagram and sends it back to its source, whole.
///
/// A datagram the transport's source policy refuses (from the server's own address, a denied
/// port, an address no one can answer) is not a client: it is dropped and the wait goes on.
/// One reply cannot loop, but a caller that calls this again and again would answer its own
/// address forever.
pub(crate) fn serve_once<D: Datagram>(
    socket: &D,
    local: &D::Addr,
    options: &Options,
    faults: &crate::faults::Switch,
) -> Result<Exchange<D::Addr>> {
    // One byte more than the configured size: a datagram that fills it did not fit.
    let capacity = options.buffer_size();
    let mut buffer = buffer::with_sentinel("the receive buffer", capacity)?;
    let policy = D::Policy::default();
    let (n, peer) = loop {
        match socket.recv_from(&mut buffer) {
            Ok((_, source)) if socket.refusal(&source, local, options, &policy).is_some() => {}
            Ok(received) => break received,
            Err(e) if e.kind() == ErrorKind::Interrupted || is_unreachable(&e) => {}
            Err(source) => {
                return Err(Error::Receive {
                    addr: local.clone().into(),
                    source,
                });
            }
        }
    };
    if n > capacity {
        return Err(Error::Truncated {
            addr: peer.into(),
            capacity,
        });
    }
    let first = Bytes::from(buffer::copy("the first message", &buffer[..n])?);
    // Fault hook: under a fault, the reply is dropped, altered, delayed, held or repeated.
    let sent = match crate::faults::datagram::once(faults, socket, &mut buffer[..n], &peer) {
        Some(sent) => sent.map(|sent| sent as u64),
        None => socket.send_to(&buffer[..n], &peer).map(|_| n as u64),
    }
    .map_err(|source| Error::Send {
        addr: peer.clone().into(),
        source,
    })?;
    Ok(Exchange::new(peer, sent, first))
}

/// Sends `message` and waits for an equal reply, sending again after each timeout, all
/// within the [`echo_deadline`](Options::with_echo_deadline).
pub(crate) fn echo<D: Datagram>(
    socket: &D,
    peer: &D::Addr,
    message: &[u8],
    options: &Options,
) -> Result<Bytes> {
    let max = socket.max_payload(peer);
    if message.len() > max {
        return Err(Error::DatagramTooLarge {
            addr: peer.clone().into(),
            len: message.len(),
            max,
        });
    }
    // One byte more than the message, so a longer reply shows as a difference.
    let mut buffer = buffer::with_sentinel("the reply buffer", message.len())?;
    drop_stale(socket, &mut buffer).map_err(|source| Error::Receive {
        addr: peer.clone().into(),
        source,
    })?;
    let mut limits = Limits::new(options.read_timeout(), options.write_timeout());
    limits.set_deadline(options.echo_deadline().map(|limit| Instant::now() + limit));
    let result = attempts(socket, peer, message, options, &mut buffer, &mut limits);
    let restored = limits.restore(socket);
    let reply = result?;
    restored?;
    Ok(reply)
}

/// The most datagrams [`drop_stale`] drops before an exchange.
const STALE_DROPPED: usize = 1024;

/// Drops the datagrams already waiting before an exchange begins, without waiting for any:
/// they answer earlier exchanges (a duplicate, or a reply that came after its exchange gave
/// up), and one equal to the new message would otherwise be taken for its echo. Pending ICMP
/// errors concern earlier sends too, and go the same way.
fn drop_stale<D: Datagram>(socket: &D, buffer: &mut [u8]) -> std::io::Result<()> {
    socket.set_nonblocking(true)?;
    let mut result = Ok(());
    for _ in 0..STALE_DROPPED {
        match socket.recv(buffer) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted || is_unreachable(&e) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    socket.set_nonblocking(false)?;
    result
}

/// The attempts of one echo: each sends the message and waits up to the read timeout for an
/// equal reply, skipping others; the deadline cuts the last one short.
fn attempts<D: Datagram>(
    socket: &D,
    peer: &D::Addr,
    message: &[u8],
    options: &Options,
    buffer: &mut [u8],
    limits: &mut Limits,
) -> Result<Bytes> {
    let limit = options.read_timeout();
    let attempts = options.resends().saturating_add(1);
    let at = || -> Address { peer.clone().into() };
    let mut mismatch = None;
    let gave_up = |mismatch: Option<usize>, deadline: bool| match mismatch {
        Some(offset) => Error::Mismatch {
            addr: at(),
            offset,
            sent: message.len(),
        },
        None if deadline => Error::Deadline {
            addr: at(),
            deadline: options.echo_deadline().unwrap_or_default(),
            sent: message.len(),
            received: 0,
        },
        None => Error::Timeout {
            addr: at(),
            timeout: limit.unwrap_or_default(),
            attempts,
        },
    };
    for _ in 0..attempts {
        if limits.expired() {
            return Err(gave_up(mismatch, true));
        }
        match socket.send(message) {
            Ok(_) => {}
            Err(e) if is_unreachable(&e) => {
                return Err(Error::Connect {
                    addr: at(),
                    source: e,
                });
            }
            Err(source) => return Err(Error::Send { addr: at(), source }),
        }
        let attempt_ends = limit.map(|limit| Instant::now() + limit);
        loop {
            let left = attempt_ends.map(|end| end.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                break;
            }
            if !limits.arm(socket, Direction::Read, left)? {
                return Err(gave_up(mismatch, true));
            }
            let n = match socket.recv(buffer) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => match limits.fired(Direction::Read) {
                    WaitLimit::Deadline => return Err(gave_up(mismatch, true)),
                    // This attempt's time is up: send again.
                    WaitLimit::Call | WaitLimit::Slice => break,
                },
                Err(e) if is_unreachable(&e) => {
                    return Err(Error::Connect {
                        addr: at(),
                        source: e,
                    });
                }
                Err(source) => return Err(Error::Receive { addr: at(), source }),
            };
            let reply = &buffer[..n];
            match first_difference(reply, message) {
                None => return Ok(Bytes::from(buffer::copy("the echo", reply)?)),
                // A late reply to an earlier send, or a wrong one: keep waiting for the
                // right reply until this attempt's time is up.
                Some(offset) => mismatch = Some(offset),
            }
        }
    }
    Err(gave_up(mismatch, false))
}
