//! One TLS session over a connection of the wrapped transport: plaintext reads and writes,
//! records flushed, `close_notify`, the handshake's deadline and faults. `wire.rs` is the
//! wrapped connection as rustls reads and writes it; `caps.rs` the session's capabilities
//! (and its end when dropped); the counters the sessions of a server share are
//! `../counters.rs`.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::transport::sealed::Connection;

use crate::error::TlsFailure;

mod blocking;
mod caps;
#[cfg(test)]
mod tests;
mod wire;

use super::counters::TlsCounters;
use blocking::{Op, Timeout};
use wire::{Came, Measured, Wire};

/// One TLS session over a connection `C` of the wrapped transport: the capabilities' view of
/// a TLS connection.
///
/// The session sits behind a lock because the capabilities read and write through `&self`.
/// The socket stays in non-blocking mode: the lock is held only while the socket is read or
/// written, never while a call in blocking mode waits for it (`blocking.rs`), so a client
/// may read on one thread while it writes on another.
#[derive(Debug)]
pub struct Session<C: Connection> {
    inner: C,
    tls: Mutex<rustls::Connection>,
    /// Whether the session is in non-blocking mode (the engine's), as last set; its socket
    /// always is.
    nonblocking: AtomicBool,
    /// Whether `close_notify` was queued: the write side is shut once it is written.
    closing: AtomicBool,
    /// [`HANDSHAKING`], [`ESTABLISHED`] or [`ENDED`]: what was counted of this session.
    phase: AtomicU8,
    /// The faults applied to this session ([`STALL_HELLO`], …), 0 for none.
    pub(super) faults: AtomicU8,
    /// When the handshake must be over: the handshake timeout after the accept or connect.
    deadline: Instant,
    /// How long a read in blocking mode waits, as the caller set it. A handshake waits for
    /// its own deadline instead.
    read_timeout: Timeout,
    /// How long a write or flush in blocking mode waits.
    write_timeout: Timeout,
    /// The server's counters (a client counts nothing).
    counters: Option<Arc<TlsCounters>>,
    /// Whether the last read returned plaintext and left, for the next read, the peer's
    /// end or a failure found with it ([`Connection::holds_unread`]).
    holds_end: AtomicBool,
}

pub(super) const HANDSHAKING: u8 = 0;
pub(super) const ESTABLISHED: u8 = 1;
pub(super) const ENDED: u8 = 2;

/// `tls-stall=hello`: nothing is written while the handshake lasts.
pub(super) const STALL_HELLO: u8 = 1;
/// `tls-stall=finished`: the first flight is written, then nothing.
pub(super) const STALL_FINISHED: u8 = 2;
/// `tls-reset=handshake`: a reset once the ClientHello has come.
pub(super) const RESET_HANDSHAKE: u8 = 4;
/// `tls-truncate`: the session ends without `close_notify`.
pub(super) const TRUNCATE: u8 = 8;
/// Set once a stalled handshake has written what it writes: from then on, nothing more is
/// read or written while the handshake lasts.
pub(super) const STALLED: u8 = 16;

impl<C: crate::transport::sealed::Connection> Session<C> {
    /// A session over `inner`, in blocking mode with no timeouts, its socket put in
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// The socket's, if it cannot be put in non-blocking mode.
    pub(crate) fn new(
        inner: C,
        tls: rustls::Connection,
        handshake_timeout: Duration,
        counters: Option<Arc<TlsCounters>>,
    ) -> io::Result<Session<C>> {
        inner.set_nonblocking(true)?;
        Ok(Session {
            inner,
            tls: Mutex::new(tls),
            nonblocking: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            phase: AtomicU8::new(HANDSHAKING),
            faults: AtomicU8::new(0),
            deadline: Instant::now() + handshake_timeout,
            read_timeout: Timeout::none(),
            write_timeout: Timeout::none(),
            counters,
            holds_end: AtomicBool::new(false),
        })
    }

    /// Counts, once, the handshake's end (completed) or the session's failure (by reason),
    /// after a call that returned `result`.
    fn observe<T>(&self, result: &io::Result<T>) {
        let Some(counters) = &self.counters else {
            return;
        };
        let phase = self.phase.load(Ordering::Relaxed);
        if phase == ENDED {
            return;
        }
        if let Err(error) = result
            && let Some(reason) = TlsFailure::in_io(error)
        {
            // A truncation counts only after a handshake; before, it is the peer leaving.
            if *reason != TlsFailure::Truncated || phase == ESTABLISHED {
                counters.count(reason);
            }
            self.phase.store(ENDED, Ordering::Relaxed);
            return;
        }
        if phase == HANDSHAKING {
            let tls = self.lock();
            if !tls.is_handshaking() {
                counters.handshake(tls.alpn_protocol());
                self.phase.store(ESTABLISHED, Ordering::Relaxed);
            }
        }
    }

    /// Whether the handshake is still under way at `now`, past its deadline: counted once
    /// as [`TlsFailure::HandshakeTimeout`].
    pub(crate) fn handshake_expired(&self, now: Instant) -> bool {
        if self.phase.load(Ordering::Relaxed) != HANDSHAKING || now < self.deadline {
            return false;
        }
        self.observe::<()>(&Err(TlsFailure::HandshakeTimeout.into_io()));
        true
    }

    /// Plaintext into `buf` (see [`read_inner`](Self::read_inner)).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.drive(Op::Read, Instant::now(), |tls| self.read_inner(tls, buf));
        self.observe(&result);
        result
    }

    /// Plaintext from `buf` into records (see [`write_inner`](Self::write_inner)). In
    /// blocking mode, as a plain socket's write, it returns once the records are written or
    /// the write timeout has passed (then the records are held for the next write or flush).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let since = Instant::now();
        let result = self
            .drive(Op::Write, since, |tls| self.write_inner(tls, buf))
            .and_then(|taken| {
                if self.nonblocking.load(Ordering::Relaxed) {
                    return Ok(taken);
                }
                match self.drive(Op::Write, since, |tls| self.write_records(tls)) {
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
                    _ => Ok(taken),
                }
            });
        self.observe(&result);
        result
    }

    /// Writes what the session holds (see [`finish_writes`](Self::finish_writes)): in
    /// non-blocking mode until the socket would block, in blocking mode until done or the
    /// write timeout. Once the session is closing, records the socket will not take yet
    /// are held ([`wants_write`](Self::wants_write)) for the next flush, with no error.
    pub(crate) fn flush(&self) -> io::Result<()> {
        let result = self.drive(Op::Write, Instant::now(), |tls| self.finish_writes(tls));
        let result = match result {
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    && self.closing.load(Ordering::Relaxed) =>
            {
                Ok(())
            }
            other => other,
        };
        self.observe(&result);
        result
    }

    /// Plaintext waiting (see [`unread_inner`](Self::unread_inner)).
    pub(crate) fn unread(&self) -> io::Result<usize> {
        let result = self.unread_inner();
        self.observe(&result);
        result
    }

    /// Drives the handshake (see [`handshake_inner`](Self::handshake_inner)).
    pub(crate) fn handshake(&self) -> io::Result<()> {
        let result = self.drive(Op::Read, Instant::now(), |tls| self.handshake_inner(tls));
        self.observe(&result);
        result
    }

    /// Sends `close_notify` (see [`shutdown_write_inner`](Self::shutdown_write_inner)).
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let result = self.shutdown_write_inner();
        self.observe(&result);
        result
    }

    /// Records the timeouts of reads and writes in blocking mode (the caller has set them
    /// on the socket).
    pub(super) fn record_timeouts(&self, read: Option<Duration>, write: Option<Duration>) {
        self.read_timeout.set(read);
        self.write_timeout.set(write);
    }

    /// The wrapped connection.
    pub(crate) fn inner(&self) -> &C {
        &self.inner
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, rustls::Connection> {
        self.tls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the records the session holds, until it holds none or the socket would
    /// block (`WouldBlock`).
    fn write_records(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        if self.stalls(tls) {
            return self.write_stalled(tls);
        }
        while tls.wants_write() {
            if tls.write_tls(&mut Wire(&self.inner))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Whether a stall fault holds the handshake (then nothing more is written).
    fn stalls(&self, tls: &rustls::Connection) -> bool {
        self.faults.load(Ordering::Relaxed) & (STALL_HELLO | STALL_FINISHED) != 0
            && tls.is_handshaking()
    }

    /// Whether a stalled handshake has reached its stall: neither read nor written more.
    fn stalled(&self, tls: &rustls::Connection) -> bool {
        self.faults.load(Ordering::Relaxed) & STALLED != 0 && tls.is_handshaking()
    }

    /// The writes of a stalled handshake, once the ClientHello was processed (the answer is
    /// waiting): none for `hello`; the whole first flight for `finished`. Then the stall.
    fn write_stalled(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        let faults = self.faults.load(Ordering::Relaxed);
        if faults & STALLED != 0 || !tls.wants_write() {
            return Ok(());
        }
        if faults & STALL_FINISHED != 0 {
            while tls.wants_write() {
                if tls.write_tls(&mut Wire(&self.inner))? == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
            }
        }
        self.faults.fetch_or(STALLED, Ordering::Relaxed);
        Ok(())
    }

    /// Reads records from the socket once and processes them; `WouldBlock` if it has none.
    fn read_records(&self, tls: &mut rustls::Connection) -> io::Result<Came> {
        // A stalled handshake reads nothing more: the socket keeps what comes. In blocking
        // mode (`serve_once`) it waits out the handshake's deadline, as the engine's timer
        // does.
        if self.stalled(tls) {
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            std::thread::sleep(self.deadline.saturating_duration_since(Instant::now()));
            return Err(TlsFailure::HandshakeTimeout.into_io());
        }
        let mut wire = Measured {
            wire: Wire(&self.inner),
            short: false,
        };
        if tls.read_tls(&mut wire)? == 0 {
            return Ok(Came::End);
        }
        if let Err(error) = tls.process_new_packets() {
            // The alert rustls queued says why, to the peer; then the session is over.
            let _ = self.write_records(tls);
            return Err(TlsFailure::of(&error).into_io());
        }
        Ok(if wire.short { Came::Short } else { Came::Full })
    }

    /// Plaintext into `buf`: what the session holds, then records read from the socket (the
    /// handshake's answers written on the way). `Ok(0)` is the peer's `close_notify`; an end
    /// of stream without it is [`TlsFailure::Truncated`]. `WouldBlock` when there is no
    /// plaintext and the socket has no more records (in blocking mode, the caller waits).
    ///
    /// In blocking mode it returns as soon as it has any plaintext. In non-blocking mode it
    /// reads on until `buf` is full, the socket would block, or a read of the socket came
    /// back short of the room offered (the socket was empty: one read in two of a small
    /// echo saved), so that a short read means there is nothing left to read, in the
    /// session or on the socket, as the engine takes it to mean (edge-triggered readiness
    /// raises no new edge for bytes that were already there, and one for any that come
    /// after).
    fn read_inner(&self, tls: &mut rustls::Connection, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.faults.load(Ordering::Relaxed) & RESET_HANDSHAKE != 0 && tls.is_handshaking() {
            return self.reset_handshake(tls);
        }
        let mut filled = 0;
        // Whether the last read of the socket found it empty.
        let mut drained = false;
        self.holds_end.store(false, Ordering::Relaxed);
        // What to return: the plaintext gathered so far, else `error`. An end or an error
        // after some plaintext is found again by the next read (rustls keeps a session's
        // end and its failure), and said meanwhile by `holds_end`.
        let done = |filled: usize, error: io::Result<usize>| {
            if filled > 0 {
                self.holds_end.store(true, Ordering::Relaxed);
                Ok(filled)
            } else {
                error
            }
        };
        loop {
            match tls.reader().read(&mut buf[filled..]) {
                // The peer's close_notify: a clean end, after what came before it.
                Ok(0) => return done(filled, Ok(0)),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return done(filled, Err(TlsFailure::Truncated.into_io()));
                }
                Err(e) => return done(filled, Err(e)),
            }
            if filled > 0 && !self.nonblocking.load(Ordering::Relaxed) {
                return Ok(filled);
            }
            match self.write_records(tls) {
                // The answers wait for the socket's room; the reading goes on.
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return done(filled, Err(e)),
                _ => {}
            }
            if drained {
                return match filled {
                    0 => Err(io::ErrorKind::WouldBlock.into()),
                    _ => Ok(filled),
                };
            }
            match self.read_records(tls) {
                Ok(Came::Full) => {}
                Ok(Came::Short) => drained = true,
                // The socket's end: the reader says whether close_notify came before it.
                Ok(Came::End) => {
                    return match tls.reader().read(&mut buf[filled..]) {
                        Ok(n) => done(filled + n, Ok(0)),
                        Err(_) => done(filled, Err(TlsFailure::Truncated.into_io())),
                    };
                }
                // The socket is empty: nothing is held for the next read.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) => return done(filled, Err(e)),
            }
        }
    }

    /// `tls-reset=handshake`: once the ClientHello has come (read and processed), the
    /// connection is reset, before any answer.
    fn reset_handshake(&self, tls: &mut rustls::Connection) -> io::Result<usize> {
        if self.read_records(tls)? != Came::End {
            self.closing.store(true, Ordering::Relaxed);
            self.inner.reset()?;
        }
        Err(io::ErrorKind::ConnectionReset.into())
    }

    /// How many bytes of plaintext are waiting (at most 4096 counted), reading what records
    /// the socket already holds; for a connection in non-blocking mode.
    fn unread_inner(&self) -> io::Result<usize> {
        let mut tls = self.lock();
        loop {
            let state = tls
                .process_new_packets()
                .map_err(|e| TlsFailure::of(&e).into_io())?;
            if state.plaintext_bytes_to_read() > 0 {
                return Ok(state.plaintext_bytes_to_read().min(4096));
            }
            match self.read_records(&mut tls) {
                Ok(Came::Full | Came::Short) => {}
                Ok(Came::End) => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes plaintext from `buf` into records and writes what the socket takes. While
    /// records of an earlier write are still unwritten because the socket is full, says
    /// `WouldBlock` and takes nothing: the caller keeps what it could not send, and the
    /// session holds at most one write's records (the backpressure of a plain socket).
    fn write_inner(&self, tls: &mut rustls::Connection, buf: &[u8]) -> io::Result<usize> {
        self.write_records(tls)?;
        let taken = tls.writer().write(buf)?;
        if taken == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.write_records(tls) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(taken),
        }
    }

    /// Whether the session holds records to write.
    pub(crate) fn wants_write(&self) -> bool {
        let tls = self.lock();
        tls.wants_write() && !self.stalled(&tls)
    }

    /// Drives the handshake as far as the socket allows now (`WouldBlock`): to its end in
    /// blocking mode (the client's connect), where each wait lasts at most until the
    /// handshake's deadline, so a peer that stalls the handshake ends it as
    /// [`TlsFailure::HandshakeTimeout`] ([`drive`](Self::drive)).
    fn handshake_inner(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        while tls.is_handshaking() {
            self.write_records(tls)?;
            if !tls.is_handshaking() {
                break;
            }
            if tls.wants_read() && self.read_records(tls)? == Came::End {
                return Err(TlsFailure::Truncated.into_io());
            }
        }
        self.write_records(tls)
    }

    /// Queues `close_notify` and writes it with what else is held, then shuts down the
    /// write side of the socket. If the socket will not take it all now (in blocking mode,
    /// within the write timeout), what is left is held ([`wants_write`](Self::wants_write)),
    /// and the [`flush`](Self::flush) that writes it shuts the write side.
    fn shutdown_write_inner(&self) -> io::Result<()> {
        if !self.closing.swap(true, Ordering::Relaxed)
            && self.faults.load(Ordering::Relaxed) & TRUNCATE == 0
        {
            self.lock().send_close_notify();
        }
        match self.flush() {
            // The peer has closed already: there is no one left to tell, as a plain
            // socket's shutdown of a closed connection tells no one either.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::NotConnected
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Writes what is held (`WouldBlock` if the socket will not take it all now) and, once
    /// the session is closing and nothing is held, shuts the socket's write side.
    fn finish_writes(&self, tls: &mut rustls::Connection) -> io::Result<()> {
        self.write_records(tls)?;
        if self.closing.load(Ordering::Relaxed) {
            self.inner.shutdown_write()?;
        }
        Ok(())
    }
}
