//! The blocking echo loops of stream transports, written once over `Read + Write`.
//!
//! The server half echoes one connection until the peer closes; the client half sends a
//! message and reads its echo at the same time, so a large message never deadlocks on full
//! socket buffers. Neither ever allocates more than one buffer per call.

use std::cmp::min;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::options::Options;

/// True for the errors a socket with `SO_RCVTIMEO`/`SO_SNDTIMEO` reports when the time is up.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// True for the errors that mean the peer has closed or reset the connection.
pub(crate) fn is_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::WriteZero
    )
}

fn timeout(peer: SocketAddr, limit: Option<std::time::Duration>) -> Error {
    Error::Timeout {
        addr: peer,
        timeout: limit.unwrap_or_default(),
        attempts: 1,
    }
}

/// Echoes everything `peer` sends until it closes its write side, then returns how many bytes
/// were echoed and the bytes of the first read.
///
/// The caller shuts down the write side afterwards.
pub(crate) fn serve_connection<S: Read + Write>(
    stream: &mut S,
    peer: SocketAddr,
    options: &Options,
) -> Result<(u64, Bytes)> {
    let mut buffer = vec![0; options.buffer_size()];
    let mut first = None;
    let mut total = 0u64;
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(timeout(peer, options.read_timeout())),
            Err(source) => return Err(Error::Receive { addr: peer, source }),
        };
        if first.is_none() {
            first = Some(Bytes::copy_from_slice(&buffer[..n]));
        }
        stream.write_all(&buffer[..n]).map_err(|source| {
            if is_timeout(&source) {
                timeout(peer, options.write_timeout())
            } else {
                Error::Send { addr: peer, source }
            }
        })?;
        total += n as u64;
    }
    Ok((total, first.unwrap_or_default()))
}

/// Sends `message` and reads its echo, keeping at most `window` bytes in flight so that
/// neither side ever blocks on a full buffer while the other waits for it.
///
/// Returns the echo only if it equals `message`; a different byte is [`Error::Mismatch`], a
/// connection closed early is [`Error::ShortEcho`].
pub(crate) fn echo<S: Read + Write>(
    stream: &mut S,
    peer: SocketAddr,
    message: &[u8],
    options: &Options,
    window: usize,
) -> Result<Bytes> {
    let window = window.max(1);
    let mut reply = BytesMut::with_capacity(message.len());
    let mut written = 0;
    let mut peer_gone = false;
    while reply.len() < message.len() {
        while !peer_gone && written < message.len() && written - reply.len() < window {
            let end = min(message.len(), reply.len() + window);
            match stream.write(&message[written..end]) {
                Ok(0) => peer_gone = true,
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(timeout(peer, options.write_timeout())),
                // The peer stopped reading and closed: what it did echo may still be waiting
                // to be read, and tells the caller how far it got.
                Err(e) if is_closed(&e) => peer_gone = true,
                Err(source) => return Err(Error::Send { addr: peer, source }),
            }
        }
        let start = reply.len();
        let chunk = min(message.len() - start, options.buffer_size());
        reply.resize(start + chunk, 0);
        let n = loop {
            match stream.read(&mut reply[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(timeout(peer, options.read_timeout())),
                Err(e) if is_closed(&e) => return Err(short(peer, message, start)),
                Err(source) => return Err(Error::Receive { addr: peer, source }),
            }
        };
        reply.truncate(start + n);
        if n == 0 {
            return Err(short(peer, message, start));
        }
        if let Some(offset) = first_difference(&reply[start..], &message[start..start + n]) {
            return Err(Error::Mismatch {
                addr: peer,
                offset: start + offset,
                sent: message.len(),
            });
        }
    }
    Ok(reply.freeze())
}

fn short(peer: SocketAddr, message: &[u8], received: usize) -> Error {
    Error::ShortEcho {
        addr: peer,
        sent: message.len(),
        received,
    }
}

/// The index of the first byte where `a` and `b` differ, comparing their common length.
pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(min(a.len(), b.len())),
    )
}
