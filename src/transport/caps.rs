//! The capabilities: everything the blocking loops, the engines, the faults and `measure` do
//! to a socket of a transport, and the whole contract between the transports and the rest of
//! the crate. Nothing above `src/transport/` reaches a descriptor: it asks these traits.
//!
//! The traits are public only inside this private module, re-exported through the sealed
//! module of [`Transport`](super::Transport): no one outside the crate can name them, call
//! them, or reach a socket through them.
//!
//! A socket whose bytes are its descriptor's bytes (every transport here) gets [`Socket`]
//! from the descriptor, through [`Plain`](super::plain::Plain). A transport that wraps another
//! (TLS over TCP) implements the traits itself: its connection keeps its session and buffers,
//! behind a lock, since every method takes `&self`; its registration is the inner socket's;
//! "bytes already waiting" is the plaintext it holds; and [`Connection::flush`] and
//! [`Connection::wants_write`] let the engine drive what it must write of its own (a
//! handshake, buffered records) when the socket is ready. See docs/architecture.md.

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::io;
use std::time::Duration;

use mio::{Interest, Registry, Token};

use super::session::SessionFaults;
use crate::addr::Address;
use crate::error::Result;
use crate::options::Options;

/// The kind of a transport: which loops serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Byte streams: a [`Listener`] that accepts [`Connection`]s.
    Stream,
    /// Datagrams: one [`Datagram`] socket.
    Datagram,
}

/// Why a datagram is not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its source port is one of the denied ports.
    DeniedPort,
    /// Its source is multicast, broadcast, unspecified, port 0, or an unnamed Unix socket: no
    /// one to answer.
    BadSource,
    /// Its source is the server's own address: answering would loop forever.
    OwnAddress,
}

/// What is asked of every socket a transport makes, whatever its kind: its registration with
/// an event loop (in the shape of mio's `event::Source`, through `&self`, since a socket is
/// shared by reference), its blocking mode, and the timeouts of its blocking calls.
pub trait Socket: Debug + Send + Sync {
    /// Registers the socket with `registry` under `token`, for `interest`, edge-triggered.
    fn register(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()>;
    /// Changes the token or the interest of a registered socket.
    fn reregister(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()>;
    /// Removes the socket from `registry`.
    fn deregister(&self, registry: &Registry) -> io::Result<()>;
    /// Puts the socket in non-blocking mode, or back in blocking mode.
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
    /// How long a blocking read may wait (`None`: forever).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// How long a blocking write may wait (`None`: forever).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Waits until the socket is ready for `interest` (or has an error or an end to
    /// report), or `timeout` has passed (`None`: no limit), whatever its blocking mode.
    /// Returns at the first of these, or early on a signal: the caller tries its call again
    /// and looks at the time itself. How a transport that wraps this one blocks without
    /// holding its own state (a TLS session waits for its socket unlocked).
    fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<()>;
}

/// A listening stream socket.
pub trait Listener: Socket {
    /// The address of an accepted peer (and of the listener itself).
    type Addr: Clone + Into<Address> + Send + Sync;
    /// An accepted connection.
    type Stream: Connection;

    /// Accepts one connection (blocking or not, as the socket is).
    fn accept(&self) -> io::Result<(Self::Stream, Self::Addr)>;

    /// Applies the per-connection options to an accepted connection; `blocking` says
    /// whether the loop that serves it waits on the socket (and so needs its timeouts).
    fn prepare(&self, stream: &Self::Stream, options: &Options, blocking: bool) -> Result<()>;

    /// What a closed listener leaves behind to be bound again as it was: nothing for a
    /// plain one; a TLS server's identity and configuration, so it comes back up with the
    /// same certificate.
    type Kept: Debug + Send;

    /// What to keep of this listener before it is closed.
    fn keep(&self) -> Self::Kept;

    /// A new listener bound to `addr`, as the server's was (after it was closed), from what
    /// was kept of it.
    fn bind_again(kept: &Self::Kept, addr: &Self::Addr, options: &Options) -> Result<Self>
    where
        Self: Sized;

    /// Applies the faults of the transport's own that a connection just accepted drew (a
    /// TLS server's stalled handshake, bad certificate, close without `close_notify`),
    /// before anything is read from it. Called only when the faults drew some, which they
    /// do only for a transport whose `SESSION_FAULTS` is true; the default takes none.
    fn session_faults(&self, _stream: &Self::Stream, _faults: &SessionFaults) -> io::Result<()> {
        Ok(())
    }
}

/// A connected byte stream: all the stream loops ask of a stream transport.
///
/// Every method takes `&self`: the engine and the blocking loops hold connections by
/// reference (a client's reader and writer threads share one). A connection that keeps state
/// of its own (a TLS session, its buffers) keeps it behind a lock (`Mutex<Session>`), taken
/// by one call at a time; a plaintext connection keeps nothing, and its idle cost is its
/// descriptor alone.
///
/// The engine's contract, for a connection in non-blocking mode:
/// - It is registered once, edge-triggered, for both directions, and driven on every
///   readiness event: first [`flush`](Self::flush), then reads and writes until one would
///   block. So a transport that must write while the application reads (a handshake), or read
///   while it writes, makes progress on whichever edge comes.
/// - A [`read`](Self::read) that returns fewer bytes than the buffer holds is taken to have
///   left nothing to read (the engine then waits for the next edge instead of reading again):
///   a transport that buffers must have read its socket until it would block or until a
///   read of it came back short (which leaves the socket empty, as the engine's own rule
///   has it), and have nothing left in its own buffers; or say, with
///   [`holds_unread`](Self::holds_unread), that it holds what the next read returns (the
///   peer's end, or a failure, found after the bytes this read returned), and the engine
///   reads again.
/// - After its writes, the engine calls `flush`; it stops reading while `flush` would block
///   (backpressure), and closes a connection cleanly only once nothing is pending and
///   [`wants_write`](Self::wants_write) is false.
pub trait Connection: Socket + 'static {
    /// Reads into `buf`; `Ok(0)` is the peer's end-of-stream.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes from `buf`. A transport may take the bytes into buffers of its own (encrypted
    /// records), which [`flush`](Self::flush) writes out.
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Writes from `bufs`, in order, in one system call (`writev`): how a transport that
    /// wraps this one writes the records it holds together rather than one call each. The
    /// default writes the first non-empty buffer, as `io::Write`'s does.
    fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let first = bufs.iter().find(|buf| !buf.is_empty());
        self.write(first.map_or(&[][..], |buf| buf))
    }
    /// Shuts down the write side, so the peer reads end-of-stream (after what was flushed).
    fn shutdown_write(&self) -> io::Result<()>;

    /// Writes out what the transport itself holds (a TLS session's records): in
    /// non-blocking mode until the socket would block (`WouldBlock`, with bytes still held),
    /// in blocking mode until done. A plaintext connection holds nothing: the default does
    /// nothing.
    #[inline]
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// Whether the transport holds bytes it must still write (a handshake's, records not
    /// flushed): the connection owes its peer something even with nothing pending in the
    /// engine. Never, for a plaintext connection.
    #[inline]
    fn wants_write(&self) -> bool {
        false
    }

    /// Whether the next [`read`](Self::read) returns something the transport holds itself,
    /// without the socket: the peer's end (a TLS `close_notify`) or a failure, found in the
    /// same read of the socket as the bytes the last read returned. No edge of readiness
    /// will come for it, so the engine reads again after a short read while this is true.
    /// Never, for a plaintext connection.
    #[inline]
    fn holds_unread(&self) -> bool {
        false
    }

    /// How many bytes are already waiting to be read, without waiting for any and without
    /// taking them; at most 4096 are counted. For a transport that wraps another, these are
    /// plaintext bytes, never the socket's. A pending end-of-stream or error counts as
    /// nothing. Called on a connection in non-blocking mode.
    fn unread(&self) -> io::Result<usize>;

    /// Makes closing the connection reset it (`SO_LINGER` 0), so the peer sees an error
    /// rather than a clean end-of-stream (a Unix stream socket has no reset: its peer reads
    /// an error only if input was left unread).
    fn reset(&self) -> io::Result<()>;

    /// The address of the peer, asked of the system.
    fn peer_addr(&self) -> io::Result<Address>;

    /// The size of the socket's receive buffer, as the system reports it (Linux: twice what
    /// was set).
    fn recv_buffer_size(&self) -> io::Result<usize>;

    /// Whether connections of this type have deadlines of their own
    /// ([`expired`](Self::expired)), which the engine then checks four times a second. A
    /// plaintext connection has none, and costs the engine nothing for them.
    const EXPIRES: bool = false;

    /// Whether a deadline of the transport's own has passed at `now` (a TLS handshake that
    /// outlived its timeout): the engine closes the connection as timed out. Asked only when
    /// [`EXPIRES`](Self::EXPIRES) is true.
    #[inline]
    fn expired(&self, _now: std::time::Instant) -> bool {
        false
    }
}

/// A datagram socket with its address type: all the datagram loops ask of a datagram
/// transport, with the transport's source policy.
pub trait Datagram: Socket + 'static {
    /// The address of a peer.
    type Addr: Clone + Debug + Display + Eq + Hash + Into<Address> + Send + Sync;

    /// Receives one datagram and its source.
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;
    /// Sends one datagram to `addr`.
    fn send_to(&self, buf: &[u8], addr: &Self::Addr) -> io::Result<usize>;
    /// Sends one datagram to the connected peer.
    fn send(&self, buf: &[u8]) -> io::Result<usize>;
    /// Receives one datagram from the connected peer.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Registers the socket, which every worker of a server polls, with one worker's
    /// `registry` under `token`, readable and edge-triggered, so that a datagram wakes one
    /// waiting worker rather than all of them where the system can (`EPOLLEXCLUSIVE`), and
    /// every one of them otherwise. Undone by [`deregister`](Socket::deregister).
    fn register_shared(&self, registry: &Registry, token: Token) -> io::Result<()>;

    /// What the source policy of one server remembers from one datagram to the next
    /// (UDP: which addresses are the machine's own), shared by its workers.
    type Policy: Debug + Default + Send + Sync;

    /// Why a datagram from `source` must not be answered by a server bound to `local`,
    /// if it must not; `policy` is the server's.
    fn refusal(
        &self,
        source: &Self::Addr,
        local: &Self::Addr,
        options: &Options,
        policy: &Self::Policy,
    ) -> Option<Refusal>;
    /// The largest payload one datagram to `peer` can carry.
    fn max_payload(&self, peer: &Self::Addr) -> usize;

    /// What a server worker keeps for [`recv_batch`](Self::recv_batch) from one call to
    /// the next: made by [`new_batch`](Self::new_batch) on the worker's thread, and used
    /// with one socket only.
    type Batch;

    /// A fresh [`Batch`](Self::Batch).
    fn new_batch() -> Self::Batch;

    /// Receives up to `scratch.len() / slot` datagrams, the i-th into
    /// `scratch[i * slot..][..slot]`, and pushes each one's length and source onto
    /// `received`. Returns the first error only if nothing was received. The default
    /// receives one.
    fn recv_batch(
        &self,
        _batch: &mut Self::Batch,
        scratch: &mut [u8],
        slot: usize,
        received: &mut Vec<(usize, Self::Addr)>,
    ) -> io::Result<()> {
        let (n, source) = self.recv_from(&mut scratch[..slot])?;
        received.push((n, source));
        Ok(())
    }

    /// Sends `replies[i]` (a slot index, a length, a destination), each from its slot of
    /// `scratch`, as many as the system takes in one call: returns how many were sent,
    /// or the error of the first. The default sends one.
    fn send_batch(
        &self,
        scratch: &[u8],
        slot: usize,
        replies: &[(usize, usize, Self::Addr)],
    ) -> io::Result<usize> {
        let (index, len, to) = &replies[0];
        self.send_to(&scratch[index * slot..][..*len], to)?;
        Ok(1)
    }
}

/// `Socket` for a connection with no socket, the fake of a unit test: registering, the
/// blocking mode and the timeouts are accepted and do nothing, and a wait returns at once.
#[cfg(test)]
macro_rules! socket_without_descriptor {
    ($type:ty) => {
        impl $crate::transport::sealed::Socket for $type {
            fn register(
                &self,
                _: &mio::Registry,
                _: mio::Token,
                _: mio::Interest,
            ) -> std::io::Result<()> {
                Ok(())
            }

            fn reregister(
                &self,
                _: &mio::Registry,
                _: mio::Token,
                _: mio::Interest,
            ) -> std::io::Result<()> {
                Ok(())
            }

            fn deregister(&self, _: &mio::Registry) -> std::io::Result<()> {
                Ok(())
            }

            fn set_nonblocking(&self, _: bool) -> std::io::Result<()> {
                Ok(())
            }

            fn set_read_timeout(&self, _: Option<std::time::Duration>) -> std::io::Result<()> {
                Ok(())
            }

            fn set_write_timeout(&self, _: Option<std::time::Duration>) -> std::io::Result<()> {
                Ok(())
            }

            fn wait(
                &self,
                _: mio::Interest,
                _: Option<std::time::Duration>,
            ) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}
#[cfg(test)]
pub(crate) use socket_without_descriptor;
