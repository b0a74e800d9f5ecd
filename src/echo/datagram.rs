//! The blocking echo loops of datagram transports: the server's answer to one datagram, and
//! the client's send-and-wait with retries.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use bytes::Bytes;

use crate::buffer;
use crate::echo::stream::{first_difference, is_timeout};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::server::Exchange;
use crate::transport::{is_icmp_echo, max_payload};

/// Waits for one datagram and sends it back to its source, whole.
pub(crate) fn serve_once(
    socket: &UdpSocket,
    local: SocketAddr,
    options: &Options,
) -> Result<Exchange> {
    // One byte more than the configured size: a datagram that fills it did not fit.
    let capacity = options.buffer_size();
    let mut buffer = buffer::with_sentinel("the receive buffer", capacity)?;
    let (n, peer) = loop {
        match socket.recv_from(&mut buffer) {
            Ok(received) => break received,
            Err(e) if e.kind() == ErrorKind::Interrupted || is_icmp_echo(&e) => {}
            Err(source) => {
                return Err(Error::Receive {
                    addr: local,
                    source,
                });
            }
        }
    };
    if n > capacity {
        return Err(Error::Truncated {
            addr: peer,
            capacity,
        });
    }
    socket
        .send_to(&buffer[..n], peer)
        .map_err(|source| Error::Send { addr: peer, source })?;
    let first = Bytes::from(buffer::copy("the first message", &buffer[..n])?);
    Ok(Exchange::new(peer, n as u64, first))
}

/// Sends `message` and waits for an equal reply, sending again after each timeout.
pub(crate) fn echo(
    socket: &mut UdpSocket,
    peer: SocketAddr,
    message: &[u8],
    options: &Options,
) -> Result<Bytes> {
    let max = max_payload(&peer);
    if message.len() > max {
        return Err(Error::DatagramTooLarge {
            addr: peer,
            len: message.len(),
            max,
        });
    }
    // One byte more than the message, so a longer reply shows as a difference.
    let mut buffer = buffer::with_sentinel("the reply buffer", message.len())?;
    let limit = options.read_timeout();
    let attempts = options.retries().saturating_add(1);
    let mut mismatch = None;
    let mut shortened = false;
    for _ in 0..attempts {
        match socket.send(message) {
            Ok(_) => {}
            Err(e) if is_icmp_echo(&e) => {
                return Err(Error::Connect {
                    addr: peer,
                    source: e,
                });
            }
            Err(source) => return Err(Error::Send { addr: peer, source }),
        }
        let deadline = limit.map(|limit| Instant::now() + limit);
        loop {
            let n = match socket.recv(&mut buffer) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => break,
                Err(e) if is_icmp_echo(&e) => {
                    return Err(Error::Connect {
                        addr: peer,
                        source: e,
                    });
                }
                Err(source) => return Err(Error::Receive { addr: peer, source }),
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
            addr: peer,
            offset,
            sent: message.len(),
        },
        None => Error::Timeout {
            addr: peer,
            timeout: limit.unwrap_or_default(),
            attempts,
        },
    })
}

/// Sets the wait of the next receive (the rest of an attempt, or the configured timeout).
fn restore_timeout(socket: &UdpSocket, limit: Option<std::time::Duration>) -> Result<()> {
    socket
        .set_read_timeout(limit)
        .map_err(|source| Error::SetOption {
            option: "read_timeout",
            source,
        })
}
