//! The blocking echo loops of stream transports, written once over the
//! [`Connection`] capability (through `Read + Write`, so they are tested without sockets).
//!
//! The server half accepts one connection and echoes it until the peer closes; the client
//! half sends a message and reads its echo at the same time, so a large message never
//! deadlocks on full socket buffers. Neither ever allocates more than one buffer per call,
//! and that one fallibly.

use std::cmp::min;
use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::addr::Address;
use crate::buffer;
use crate::echo::timeouts::{Direction, Limits, SetTimeouts, WaitLimit};
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::faults::stream::Treatment;
use crate::options::Options;
use crate::transport::sealed::{Connection, Listener};

/// A connection seen as `Read + Write`, for the loops below and those of `measure`.
pub(crate) struct Io<'a, C>(pub(crate) &'a C);

impl<C: Connection> Read for Io<'_, C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<C: Connection> Write for Io<'_, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    /// What the transport itself holds ([`Connection::flush`]).
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<C: Connection> SetTimeouts for Io<'_, C> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_write_timeout(timeout)
    }
}

/// Waits for one connection on `listener` and echoes it until the peer closes its write side;
/// then shuts the server's write side, so the client reads end-of-stream right after the last
/// echoed byte.
pub(crate) fn serve_once<L: Listener>(
    listener: &L,
    local: Address,
    options: &Options,
    faults: &crate::faults::Switch,
) -> Result<Exchange<L::Addr>> {
    let (conn, peer) = loop {
        match listener.accept() {
            Ok(accepted) => break accepted,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Accept {
                    addr: local,
                    source,
                });
            }
        }
    };
    listener.prepare(&conn, options, true)?;
    // Fault hook: a connection under a fault is closed at once or served by its faults; the
    // faults of the transport's own (TLS's) are its own to apply.
    let (verdict, session) = crate::faults::stream::once(faults, peer.clone().into());
    if !session.is_empty() {
        listener
            .session_faults(&conn, &session)
            .map_err(|source| Error::Accept {
                addr: local.clone(),
                source,
            })?;
    }
    let (bytes, first) = match verdict {
        Treatment::Plain => serve_connection(&mut Io(&conn), &peer, options)?,
        Treatment::Close => return Ok(Exchange::new(peer, 0, Bytes::new())),
        Treatment::Shaped(shaped) => {
            let served = crate::faults::stream::serve(shaped, &conn, &peer, options)?;
            if served.ended {
                return Ok(Exchange::new(peer, served.bytes, served.first));
            }
            (served.bytes, served.first)
        }
    };
    // A peer that already reset leaves nothing to shut down, which is not an error here.
    match conn.shutdown_write() {
        Err(e) if e.kind() != ErrorKind::NotConnected => {
            return Err(Error::Send {
                addr: peer.clone().into(),
                source: e,
            });
        }
        _ => {}
    }
    Ok(Exchange::new(peer, bytes, first))
}

/// The bytes in flight a client allows: half its receive buffer as Linux reports it (the
/// other half is bookkeeping), so the echo of everything in flight always fits in it.
pub(crate) fn window<C: Connection>(conn: &C) -> usize {
    let reported = conn.recv_buffer_size().unwrap_or(64 * 1024);
    (reported / 2).clamp(1024, 256 * 1024)
}

/// How many bytes are already waiting to be read ([`Connection::unread`], at most 4096
/// counted), without waiting for any: before a new exchange there must be none, or the
/// client would take them for the new echo.
///
/// A pending end-of-stream or error counts as nothing: the exchange itself reports it.
fn unread<C: Connection>(conn: &C) -> io::Result<usize> {
    conn.set_nonblocking(true)?;
    let waiting = conn.unread();
    conn.set_nonblocking(false)?;
    waiting
}

/// The client's echo over a connection: refuses to start while bytes of an earlier exchange
/// are waiting ([`Error::Surplus`]), then [`echo`].
pub(crate) fn echo_on<C: Connection, A: Clone + Into<Address>>(
    conn: &C,
    peer: &A,
    message: &[u8],
    options: &Options,
    window: usize,
) -> Result<Bytes> {
    refuse_surplus(conn, peer)?;
    echo(&mut Io(conn), peer, message, options, window)
}

/// [`Error::Surplus`] if bytes are already waiting on `conn`: they would be taken for the
/// echo of what is sent next.
fn refuse_surplus<C: Connection, A: Clone + Into<Address>>(conn: &C, peer: &A) -> Result<()> {
    let bytes = unread(conn).map_err(|source| Error::Receive {
        addr: peer.clone().into(),
        source,
    })?;
    if bytes > 0 {
        return Err(Error::Surplus {
            addr: peer.clone().into(),
            bytes,
        });
    }
    Ok(())
}

/// True for the errors a socket with `SO_RCVTIMEO`/`SO_SNDTIMEO` reports when the time is up.
/// A timeout of the transport's own (a TLS handshake's) is not one: the caller reports it
/// as it is, never as the read or write timeout.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
        && !crate::transport::is_transport_failure(error)
}

/// True for the errors that mean the peer has closed or reset the connection. A failure of
/// the transport's own (a TLS session closed without `close_notify`) is not one: the caller
/// reports it as it is, never as a clean end or a short echo.
pub(crate) fn is_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::WriteZero
    ) && !crate::transport::is_transport_failure(error)
}

fn timeout<A: Clone + Into<Address>>(peer: &A, limit: Option<Duration>) -> Error {
    Error::Timeout {
        addr: peer.clone().into(),
        timeout: limit.unwrap_or_default(),
        attempts: 1,
    }
}

/// Echoes everything `peer` sends until it closes its write side, then returns how many bytes
/// were echoed and the bytes of the first read.
///
/// The caller shuts down the write side afterwards.
pub(crate) fn serve_connection<S: Read + Write, A: Clone + Into<Address>>(
    stream: &mut S,
    peer: &A,
    options: &Options,
) -> Result<(u64, Bytes)> {
    let mut buffer = buffer::zeroed("the receive buffer", options.buffer_size())?;
    let mut first = None;
    let mut total = 0u64;
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(timeout(peer, options.read_timeout())),
            Err(source) => {
                return Err(Error::Receive {
                    addr: peer.clone().into(),
                    source,
                });
            }
        };
        if first.is_none() {
            first = Some(Bytes::from(buffer::copy(
                "the first message",
                &buffer[..n],
            )?));
        }
        // Flushed: a transport that buffers what it writes (TLS records) sends it now.
        let written = stream.write_all(&buffer[..n]).and_then(|()| stream.flush());
        written.map_err(|source| {
            if is_timeout(&source) {
                timeout(peer, options.write_timeout())
            } else {
                Error::Send {
                    addr: peer.clone().into(),
                    source,
                }
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
/// connection closed early is [`Error::ShortEcho`], one reset early [`Error::Reset`]. Each read and write waits at most its
/// timeout and what is left of the [`echo_deadline`](Options::with_echo_deadline); the one
/// that runs out is [`Error::Timeout`] or [`Error::Deadline`]. The socket's timeouts are
/// put back as they were.
pub(crate) fn echo<S: Read + Write + SetTimeouts, A: Clone + Into<Address>>(
    stream: &mut S,
    peer: &A,
    message: &[u8],
    options: &Options,
    window: usize,
) -> Result<Bytes> {
    let mut limits = Limits::new(options.read_timeout(), options.write_timeout());
    limits.set_deadline(options.echo_deadline().map(|limit| Instant::now() + limit));
    let result = exchange(stream, peer, message, options, window, &mut limits);
    let restored = limits.restore(stream);
    let reply = result?;
    restored?;
    Ok(reply)
}

fn exchange<S: Read + Write + SetTimeouts, A: Clone + Into<Address>>(
    stream: &mut S,
    peer: &A,
    message: &[u8],
    options: &Options,
    window: usize,
    limits: &mut Limits,
) -> Result<Bytes> {
    let mut window = Window::new(window);
    // Filled once, in full: each read lands in place, at `received`.
    let mut reply = buffer::zeroed("the echo", message.len())?;
    let mut received = 0;
    let mut written = 0;
    let mut peer_gone = false;
    let expired = |limit, call, written, received| match limit {
        WaitLimit::Deadline => Error::Deadline {
            addr: peer.clone().into(),
            deadline: options.echo_deadline().unwrap_or_default(),
            sent: written,
            received,
        },
        WaitLimit::Call | WaitLimit::Slice => timeout(peer, call),
    };
    // A reset seen by a write: the reads that follow see only an end-of-stream.
    let mut reset = None;
    while received < message.len() {
        while !peer_gone && written < message.len() && window.room() > 0 {
            let end = min(message.len(), written + window.room());
            let call = options.write_timeout();
            match write_once(stream, &message[written..end], limits, call)? {
                CallOutcome::Moved(0) => peer_gone = true,
                CallOutcome::Moved(n) => {
                    written += n;
                    window.wrote(n);
                }
                CallOutcome::Expired(limit) => return Err(expired(limit, call, written, received)),
                // The peer stopped reading and closed: what it did echo may still be waiting
                // to be read, and tells the caller how far it got.
                CallOutcome::Failed(e) if is_closed(&e) => {
                    peer_gone = true;
                    if e.kind() == ErrorKind::ConnectionReset {
                        reset = Some(e);
                    }
                }
                CallOutcome::Failed(source) => {
                    return Err(Error::Send {
                        addr: peer.clone().into(),
                        source,
                    });
                }
            }
        }
        let start = received;
        let chunk = min(message.len() - start, options.buffer_size());
        let call = options.read_timeout();
        let n = match read_once(stream, &mut reply[start..start + chunk], limits, call)? {
            CallOutcome::Moved(n) => n,
            CallOutcome::Expired(limit) => return Err(expired(limit, call, written, received)),
            CallOutcome::Failed(e) if is_closed(&e) => {
                return Err(short(peer, message.len(), start, Some(e)));
            }
            CallOutcome::Failed(source) => {
                return Err(Error::Receive {
                    addr: peer.clone().into(),
                    source,
                });
            }
        };
        if n == 0 {
            return Err(short(peer, message.len(), start, reset));
        }
        received += n;
        window.read(n);
        if let Some(offset) = first_difference(&reply[start..received], &message[start..received]) {
            return Err(Error::Mismatch {
                addr: peer.clone().into(),
                offset: start + offset,
                sent: message.len(),
            });
        }
    }
    Ok(Bytes::from(reply))
}

/// The bytes a client has written to a stream whose echo it has not read yet, and how many
/// more it may write now: at most `limit` are ever in flight, so the echo of everything in
/// flight fits in the client's receive buffer and the server never blocks writing it while
/// the client blocks writing more.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    limit: usize,
    in_flight: usize,
}

impl Window {
    /// A window of `limit` bytes (at least one).
    pub(crate) fn new(limit: usize) -> Self {
        Window {
            limit: limit.max(1),
            in_flight: 0,
        }
    }

    /// How many more bytes may be written now.
    pub(crate) fn room(&self) -> usize {
        self.limit.saturating_sub(self.in_flight)
    }

    /// `n` bytes were written.
    pub(crate) fn wrote(&mut self, n: usize) {
        self.in_flight += n;
    }

    /// `n` bytes of echo were read.
    pub(crate) fn read(&mut self, n: usize) {
        self.in_flight = self.in_flight.saturating_sub(n);
    }
}

/// What one read or write of an exchange came to.
#[derive(Debug)]
pub(crate) enum CallOutcome {
    /// It moved this many bytes (0: end of stream, or a peer that takes nothing more).
    Moved(usize),
    /// It timed out, or the deadline passed before it could start: this limit ran out.
    Expired(WaitLimit),
    /// It failed.
    Failed(io::Error),
}

/// One read into `buffer`, waiting at most `call` and the limits' other bounds; an
/// interrupted read is made again.
pub(crate) fn read_once<S: Read + SetTimeouts>(
    stream: &mut S,
    buffer: &mut [u8],
    limits: &mut Limits,
    call: Option<Duration>,
) -> Result<CallOutcome> {
    loop {
        if !limits.arm(stream, Direction::Read, call)? {
            return Ok(CallOutcome::Expired(WaitLimit::Deadline));
        }
        match stream.read(buffer) {
            Ok(n) => return Ok(CallOutcome::Moved(n)),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Ok(CallOutcome::Expired(limits.fired(Direction::Read)));
            }
            Err(e) => return Ok(CallOutcome::Failed(e)),
        }
    }
}

/// One write of `data` (or of its start), as [`read_once`], then a flush of what the
/// transport itself holds ([`Connection::flush`]).
pub(crate) fn write_once<S: Write + SetTimeouts>(
    stream: &mut S,
    data: &[u8],
    limits: &mut Limits,
    call: Option<Duration>,
) -> Result<CallOutcome> {
    loop {
        if !limits.arm(stream, Direction::Write, call)? {
            return Ok(CallOutcome::Expired(WaitLimit::Deadline));
        }
        match stream.write(data) {
            Ok(n) => {
                // The bytes are taken whatever the flush says: what it could not write out
                // yet (its wait ran out) goes with the next flush, and an error of the
                // connection is the next call's to report.
                let _ = stream.flush();
                return Ok(CallOutcome::Moved(n));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Ok(CallOutcome::Expired(limits.fired(Direction::Write)));
            }
            Err(e) => return Ok(CallOutcome::Failed(e)),
        }
    }
}

/// The error of an echo of `sent` bytes cut short after `received`: [`Error::Reset`] if
/// `error` says the connection was reset, [`Error::ShortEcho`] otherwise.
fn short<A: Clone + Into<Address>>(
    peer: &A,
    sent: usize,
    received: usize,
    error: Option<io::Error>,
) -> Error {
    match error {
        Some(source) if source.kind() == ErrorKind::ConnectionReset => Error::Reset {
            addr: peer.clone().into(),
            sent,
            received,
            source,
        },
        _ => Error::ShortEcho {
            addr: peer.clone().into(),
            sent,
            received,
        },
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

pub(crate) mod relay;

#[cfg(test)]
mod tests;
