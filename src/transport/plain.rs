//! The capabilities of a socket whose bytes are its descriptor's bytes: the sockets of every
//! transport here. They are the descriptor's own, through socket2 and mio's `SourceFd`, with
//! no state and no buffer of their own, so a plaintext connection costs its descriptor alone.

use std::io::{self, ErrorKind};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::SockRef;

use super::caps::Socket;
use crate::addr::{Address, UnixAddr};

/// A socket whose bytes are its descriptor's bytes: its [`Socket`] capability is the
/// descriptor's, and so are the descriptor-level operations of its [`Connection`] or
/// [`Datagram`] (the functions of this module).
///
/// [`Connection`]: super::caps::Connection
/// [`Datagram`]: super::caps::Datagram
pub trait Plain: AsFd + std::fmt::Debug + Send + Sync {}

impl<P: Plain> Socket for P {
    #[inline]
    fn register(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        registry.register(&mut SourceFd(&self.as_fd().as_raw_fd()), token, interest)
    }

    #[inline]
    fn reregister(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        registry.reregister(&mut SourceFd(&self.as_fd().as_raw_fd()), token, interest)
    }

    #[inline]
    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut SourceFd(&self.as_fd().as_raw_fd()))
    }

    #[inline]
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        SockRef::from(self).set_nonblocking(nonblocking)
    }

    #[inline]
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        SockRef::from(self).set_read_timeout(timeout)
    }

    #[inline]
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        SockRef::from(self).set_write_timeout(timeout)
    }

    fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut flags = PollFlags::empty();
        if interest.is_readable() {
            flags |= PollFlags::IN;
        }
        if interest.is_writable() {
            flags |= PollFlags::OUT;
        }
        // Some systems refuse a wait over `c_int::MAX` milliseconds: a longer one is cut
        // there, which the caller's loop makes up.
        let timeout = timeout
            .map(|timeout| Timespec::try_from(timeout.min(LONGEST_WAIT)))
            .transpose()
            .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "a wait too long to express"))?;
        let mut fds = [PollFd::new(self, flags)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The longest one [`Socket::wait`] waits before it returns for its caller to look again.
const LONGEST_WAIT: Duration = Duration::from_millis(i32::MAX as u64);

/// The most unread bytes [`unread`] counts.
const UNREAD_COUNTED: usize = 4096;

/// How many bytes are waiting in the socket, peeked without taking them (at most
/// [`UNREAD_COUNTED`]). Waits if the socket is in blocking mode: the caller makes sure it is
/// not. A pending end-of-stream or error counts as nothing.
pub(super) fn unread(socket: &impl AsFd) -> io::Result<usize> {
    // Peeked bytes are only counted, never read, so the buffer needs no initial value.
    let mut probe = [MaybeUninit::<u8>::uninit(); UNREAD_COUNTED];
    let socket = SockRef::from(socket);
    loop {
        match socket.peek(&mut probe) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => return Ok(other.unwrap_or(0)),
        }
    }
}

/// Makes closing the socket reset its connection (`SO_LINGER` 0).
pub(super) fn reset(socket: &impl AsFd) -> io::Result<()> {
    SockRef::from(socket).set_linger(Some(Duration::ZERO))
}

/// The address of the socket's peer, IP or Unix.
pub(super) fn peer_addr(socket: &impl AsFd) -> io::Result<Address> {
    let addr = SockRef::from(socket).peer_addr()?;
    if let Some(ip) = addr.as_socket() {
        return Ok(ip.into());
    }
    match addr.as_unix() {
        Some(unix) => Ok(UnixAddr::from(unix).into()),
        None => Err(io::Error::new(
            ErrorKind::InvalidData,
            "the peer's address is neither an IP nor a Unix address",
        )),
    }
}

/// The size of the socket's receive buffer, as the system reports it.
pub(super) fn recv_buffer_size(socket: &impl AsFd) -> io::Result<usize> {
    SockRef::from(socket).recv_buffer_size()
}

/// The descriptor-level methods of a plaintext [`Connection`](super::caps::Connection)
/// (`unread`, `reset`, `peer_addr`, `recv_buffer_size`), written inside its impl.
macro_rules! connection_by_descriptor {
    () => {
        fn unread(&self) -> std::io::Result<usize> {
            super::plain::unread(self)
        }

        fn reset(&self) -> std::io::Result<()> {
            super::plain::reset(self)
        }

        fn peer_addr(&self) -> std::io::Result<crate::addr::Address> {
            super::plain::peer_addr(self)
        }

        fn recv_buffer_size(&self) -> std::io::Result<usize> {
            super::plain::recv_buffer_size(self)
        }
    };
}

pub(super) use connection_by_descriptor;

/// Registers a socket every worker polls with one worker's `registry`, edge-triggered, so
/// that a datagram wakes one waiting worker rather than all of them (`EPOLLEXCLUSIVE`,
/// through rustix, since mio's registration has no such flag). A worker busy echoing still
/// has the event queued for its next poll, so nothing waits for a worker that is not
/// looking. A kernel that refuses the flag (before Linux 4.5) gets the plain registration,
/// on which every waiting worker wakes.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn register_shared<P: Plain>(
    socket: &P,
    registry: &Registry,
    token: Token,
) -> io::Result<()> {
    use rustix::event::epoll::{self, EventData, EventFlags};
    let flags = EventFlags::IN | EventFlags::ET | EventFlags::EXCLUSIVE;
    match epoll::add(registry, socket, EventData::new_u64(token.0 as u64), flags) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) => socket.register(registry, token, Interest::READABLE),
        Err(e) => Err(e.into()),
    }
}

/// Without epoll there is no exclusive wake-up: every waiting worker wakes.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn register_shared<P: Plain>(
    socket: &P,
    registry: &Registry,
    token: Token,
) -> io::Result<()> {
    socket.register(registry, token, Interest::READABLE)
}
