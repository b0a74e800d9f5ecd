//! A session's capabilities: its socket is the wrapped connection's; its reads, writes and
//! ends are the session's. And its end when dropped.

use std::io;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

use super::wire::Wire;
use super::{Session, TRUNCATE};
use crate::addr::Address;
use crate::transport::sealed::{Connection, Socket};

/// A session dropped without [`shutdown_write`](Session::shutdown_write) or a reset still
/// ends cleanly: `close_notify` is queued and written if the socket takes it now (a few dozen
/// bytes, which a socket with room for nothing more is the only one to refuse).
impl<C: Connection> Drop for Session<C> {
    fn drop(&mut self) {
        if self.closing.load(Ordering::Relaxed)
            || self.faults.load(Ordering::Relaxed) & TRUNCATE != 0
        {
            return;
        }
        let tls = self.tls.get_mut().unwrap_or_else(PoisonError::into_inner);
        if tls.is_handshaking() {
            return;
        }
        tls.send_close_notify();
        let mut wire = Wire(&self.inner);
        while tls.wants_write() {
            match tls.write_tls(&mut wire) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

/// The socket of a TLS connection is the wrapped connection's, registered for both
/// directions whatever the application waits for: a session may have to write while the
/// application reads (a handshake's answers) and read while it writes.
impl<C: Connection> Socket for Session<C> {
    fn register(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.register(registry, token, both(interest))
    }

    fn reregister(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.reregister(registry, token, both(interest))
    }

    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        self.inner.deregister(registry)
    }

    /// The session's mode: its socket stays in non-blocking mode, and a session in
    /// blocking mode waits for it between tries ([`Session::drive`]).
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Kept by the session, which waits this long at most; set on the socket as well, for
    /// whoever reads the socket's options.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)?;
        self.read_timeout.set(timeout);
        Ok(())
    }

    /// As [`set_read_timeout`](Self::set_read_timeout), for writes.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)?;
        self.write_timeout.set(timeout);
        Ok(())
    }

    /// The socket's readiness. Plaintext the session already holds is not waited for: a
    /// read returns it.
    fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.wait(interest, timeout)
    }
}

pub(super) fn both(_: Interest) -> Interest {
    Interest::READABLE | Interest::WRITABLE
}

impl<C: Connection> Connection for Session<C> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        Session::read(self, buf)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        Session::write(self, buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        Session::shutdown_write(self)
    }

    fn flush(&self) -> io::Result<()> {
        Session::flush(self)
    }

    fn wants_write(&self) -> bool {
        Session::wants_write(self)
    }

    fn holds_unread(&self) -> bool {
        self.holds_end.load(Ordering::Relaxed)
    }

    fn unread(&self) -> io::Result<usize> {
        Session::unread(self)
    }

    fn reset(&self) -> io::Result<()> {
        // A reset ends the session without close_notify: the peer must not take what it
        // read for a clean end.
        self.closing.store(true, Ordering::Relaxed);
        self.inner.reset()
    }

    fn peer_addr(&self) -> io::Result<Address> {
        self.inner.peer_addr()
    }

    fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.recv_buffer_size()
    }

    const EXPIRES: bool = true;

    fn expired(&self, now: Instant) -> bool {
        self.handshake_expired(now)
    }
}
