//! The blocking echo loops of datagram transports: the server's answer to one datagram, and
//! the client's send-and-wait with retries.

use std::io::ErrorKind;
use std::time::Instant;

use bytes::Bytes;
use socket2::SockRef;

use crate::addr::Address;
use crate::echo::stream::{first_difference, is_timeout};
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::options::Options;
use crate::transport::is_unreachable;
use crate::transport::sealed::Datagram;

/// Waits for one datagram and sends it back to its source, whole.
///
/// A datagram the transport's source policy refuses (from the server's own address, a denied
/// port, an address no one can answer) is not served: the wait goes on for the next one.
pub(crate) fn serve_once<D: Datagram>(
    socket: &D,
    local: &D::Addr,
    options: &Options,
    faults: &crate::faults::Switch,
) -> Result<Exchange<D::Addr>> {
    // One byte more than the configured size: a datagram that fills it did not fit.
    let capacity = options.buffer_size();
    let mut buffer = vec![0; capacity + 1];
    let (n, peer) = loop {
        match socket.recv_from(&mut buffer) {
            Ok((_, source)) if socket.refusal(&source, local, options).is_some() => {}
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
    let first = Bytes::copy_from_slice(&buffer[..n]);
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

/// Sends `message` and waits for an equal reply, sending again after each timeout.
pub(crate) fn echo<D: Datagram>(
    socket: &D,
    peer: &D::Addr,
    message: &[u8],
    options: &Options,
) -> Result<Bytes> {
    let at = || -> Address { peer.clone().into() };
    let max = socket.max_payload(peer);
    if message.len() > max {
        return Err(Error::DatagramTooLarge {
            addr: at(),
            len: message.len(),
            max,
        });
    }
    // One byte more than the message, so a longer reply shows as a difference.
    let mut buffer = vec![0; message.len() + 1];
    let limit = options.read_timeout();
    let attempts = options.resends().saturating_add(1);
    let mut mismatch = None;
    let mut shortened = false;
    for _ in 0..attempts {
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
        let deadline = limit.map(|limit| Instant::now() + limit);
        loop {
            let n = match socket.recv(&mut buffer) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => break,
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
                None => {
                    if shortened {
                        restore_timeout(socket, limit)?;
                    }
                    return Ok(Bytes::copy_from_slice(reply));
                }
                // A late reply to an earlier send, or a wrong one: keep waiting for the
                // right reply until this attempt's time is up.
                Some(offset) => mismatch = Some(offset),
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                restore_timeout(socket, Some(left))?;
                shortened = true;
            }
        }
        if shortened {
            restore_timeout(socket, limit)?;
            shortened = false;
        }
    }
    Err(match mismatch {
        Some(offset) => Error::Mismatch {
            addr: at(),
            offset,
            sent: message.len(),
        },
        None => Error::Timeout {
            addr: at(),
            timeout: limit.unwrap_or_default(),
            attempts,
        },
    })
}

/// Sets the wait of the next receive (the rest of an attempt, or the configured timeout).
fn restore_timeout<D: Datagram>(socket: &D, limit: Option<std::time::Duration>) -> Result<()> {
    SockRef::from(socket)
        .set_read_timeout(limit)
        .map_err(|source| Error::SetOption {
            option: "read_timeout",
            source,
        })
}
