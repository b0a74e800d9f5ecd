//! A session in blocking mode over a socket that stays in non-blocking mode: each call is
//! tried on the locked session, and while it would block the caller waits for the socket
//! with the session unlocked, so that a reader on one thread never holds up a writer on
//! another (what a plain socket allows, and `Bulk` does).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::Interest;

use super::Session;
use crate::error::TlsFailure;
use crate::transport::sealed::Connection;

/// A timeout kept in an atomic, in nanoseconds ([`u64::MAX`] for none).
#[derive(Debug)]
pub(super) struct Timeout(AtomicU64);

impl Timeout {
    /// No timeout: a blocking call waits without limit.
    pub(super) const fn none() -> Timeout {
        Timeout(AtomicU64::new(u64::MAX))
    }

    pub(super) fn set(&self, timeout: Option<Duration>) {
        let nanos = timeout.map_or(u64::MAX, |t| {
            u64::try_from(t.as_nanos())
                .unwrap_or(u64::MAX - 1)
                .min(u64::MAX - 1)
        });
        self.0.store(nanos, Ordering::Relaxed);
    }

    pub(super) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

/// Which of the caller's calls is driven: what it waits for, and which timeout bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// A read, or the handshake: waits for the socket to be readable (and writable while
    /// the session holds records), for at most the read timeout.
    Read,
    /// A write or a flush: waits for the socket to be writable, for at most the write
    /// timeout.
    Write,
}

impl<C: Connection> Session<C> {
    /// Runs `attempt` on the locked session. In non-blocking mode that is all. In blocking
    /// mode, while the attempt would block, waits for the socket with the session unlocked
    /// and tries again: until the attempt is done, or the timeout of `op` has passed since
    /// `since` (`WouldBlock`, a plain socket's timeout), or, while the handshake lasts, its
    /// deadline has ([`TlsFailure::HandshakeTimeout`]; the timeout then counts from the
    /// handshake's end).
    pub(super) fn drive<T>(
        &self,
        op: Op,
        mut since: Instant,
        mut attempt: impl FnMut(&mut rustls::Connection) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            let (interest, handshaking) = {
                let mut tls = self.lock();
                match attempt(&mut tls) {
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock
                            && !self.nonblocking.load(Ordering::Relaxed) => {}
                    done => return done,
                }
                (self.waits_for(&tls, op), tls.is_handshaking())
            };
            let left = if handshaking {
                since = Instant::now();
                let left = self.deadline.saturating_duration_since(since);
                if left.is_zero() {
                    return Err(TlsFailure::HandshakeTimeout.into_io());
                }
                Some(left)
            } else if let Some(timeout) = self.timeout(op) {
                let left = timeout.saturating_sub(since.elapsed());
                if left.is_zero() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Some(left)
            } else {
                None
            };
            self.inner.wait(interest, left)?;
        }
    }

    /// The caller's timeout for `op`: asked only once a call in blocking mode must wait.
    fn timeout(&self, op: Op) -> Option<Duration> {
        match op {
            Op::Read => self.read_timeout.get(),
            Op::Write => self.write_timeout.get(),
        }
    }

    /// What the socket must be ready for before `op` is tried again: readable for a read or
    /// a handshake that waits for the peer, writable while the session holds records.
    fn waits_for(&self, tls: &rustls::Connection, op: Op) -> Interest {
        let read = op == Op::Read || (tls.is_handshaking() && tls.wants_read());
        let write = op == Op::Write || (tls.wants_write() && !self.stalled(tls));
        match (read, write) {
            (true, true) => Interest::READABLE | Interest::WRITABLE,
            (true, false) => Interest::READABLE,
            (false, _) => Interest::WRITABLE,
        }
    }
}
