//! The crate's one error type.
//!
//! Every variant names what it concerns (an address, an option, the byte counts) and, where an
//! operating-system call failed, carries that `io::Error` as its [`source`](std::error::Error::source),
//! never repeated in the message.

use std::io;
use std::time::Duration;

use crate::addr::Address;

#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
pub use tls::TlsFailure;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while binding, connecting, serving or echoing.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a `_` arm.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoServer, Error};
///
/// let first = EchoServer::bind("127.0.0.1:0")?;
/// match EchoServer::bind(first.local_addr()) {
///     Err(Error::Bind { addr, source, .. }) => {
///         assert_eq!(addr, first.local_addr());
///         assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
///     }
///     other => panic!("expected a bind error, got {other:?}"),
/// }
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An address could not be resolved (a bad host name or port).
    #[error("failed to resolve address {addr}")]
    Resolve {
        /// The address as the caller gave it.
        addr: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// An address resolved, but to no socket address at all.
    #[error("address {addr} resolved to no socket address")]
    NoAddress {
        /// The address as the caller gave it.
        addr: String,
    },
    /// A server socket could not be created or bound (for example, the port is in use).
    #[error("failed to bind {transport} socket to {addr}")]
    Bind {
        /// `"tcp"`, `"udp"`, `"unix"` or `"unixgram"`.
        transport: &'static str,
        /// The address that could not be bound.
        addr: Address,
        /// The operating system's error (`AddrInUse`, `PermissionDenied`, …).
        #[source]
        source: io::Error,
    },
    /// A client could not connect (for example, nothing listens there).
    #[error("failed to connect to {addr}")]
    Connect {
        /// The address that refused or could not be reached.
        addr: Address,
        /// The operating system's error (`ConnectionRefused`, `TimedOut`, …).
        #[source]
        source: io::Error,
    },
    /// Accepting a connection on a listening socket failed.
    #[error("failed to accept a connection on {addr}")]
    Accept {
        /// The listening address.
        addr: Address,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The event loop of [`EchoServer::serve`](crate::EchoServer::serve) could not be set up
    /// or failed (no thread, no poll instance).
    #[error("event loop of the server on {addr} failed")]
    Serve {
        /// The server's address.
        addr: Address,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A value given to [`Options`](crate::Options) is invalid (a zero timeout, a zero buffer).
    #[error("invalid value for option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name, as in the `with_*` method that sets it.
        option: &'static str,
        /// Why the value was refused.
        reason: std::borrow::Cow<'static, str>,
    },
    /// A worker thread of [`serve`](crate::EchoServer::serve) panicked. The server stopped
    /// (its other workers with it, after their shutdown grace) rather than go on listening
    /// with a worker short, which could leave it answering no one.
    #[error("worker {worker} of the server on {addr} panicked: {message}")]
    WorkerPanicked {
        /// The address the server was serving.
        addr: Address,
        /// The worker's number, 0 to `workers - 1` (worker 0 accepts connections).
        worker: usize,
        /// What the panic said.
        message: String,
    },
    /// A fault is invalid: a SPEC that does not parse (the part that was wrong is named), a
    /// value no fault can have, or a kind that cannot apply to the server's transport.
    #[error("invalid fault `{fault}`: {reason}")]
    InvalidFault {
        /// The SPEC, or the part of it, that was refused.
        fault: String,
        /// Why it was refused.
        reason: std::borrow::Cow<'static, str>,
    },
    /// The operating system refused a socket option.
    #[error("failed to set socket option `{option}`")]
    SetOption {
        /// The option's name, as in the `with_*` method that sets it.
        option: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Sending to the peer failed.
    #[error("failed to send to {addr}")]
    Send {
        /// The peer's address.
        addr: Address,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Receiving from the peer failed.
    #[error("failed to receive from {addr}")]
    Receive {
        /// The peer's address.
        addr: Address,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The peer did not answer in time.
    #[error("timed out waiting for {addr} after {attempts} attempt(s) of {timeout:?}")]
    Timeout {
        /// The peer's address.
        addr: Address,
        /// How long each attempt waited.
        timeout: Duration,
        /// How many times the message was sent (1 for TCP; 1 + retries for UDP).
        attempts: u32,
    },
    /// A client call ran out of its overall deadline
    /// ([`Options::with_echo_deadline`](crate::Options::with_echo_deadline)) before its echo
    /// was complete, though no single read or write timed out.
    #[error(
        "echo from {addr} not complete within its {deadline:?} deadline: sent {sent} bytes, received {received}"
    )]
    Deadline {
        /// The peer's address.
        addr: Address,
        /// The deadline that ran out.
        deadline: Duration,
        /// How many bytes of the message were sent (for UDP, the whole message).
        sent: usize,
        /// How many bytes of its echo came back, all equal to what was sent (for UDP, 0: a
        /// datagram's echo comes back whole or not at all).
        received: usize,
    },
    /// Bytes were already waiting on a stream connection before a new message was sent: an
    /// echo the client never asked for (a server that answered twice), or the rest of an
    /// earlier exchange that failed. They cannot be told apart from the new message's echo,
    /// so nothing was sent; drop the connection and connect again.
    #[error("{bytes} unread bytes already waiting from {addr} before sending: drop the connection")]
    Surplus {
        /// The peer's address.
        addr: Address,
        /// How many bytes were waiting (counted up to 4,096; there may be more).
        bytes: usize,
    },
    /// The server sent more than the echo of what it was sent: during a streamed echo
    /// ([`EchoClient::echo_from`](crate::EchoClient::echo_from)), bytes beyond what had been
    /// sent by then, or bytes after the whole echo (a server that answered twice).
    #[error("{addr} sent more than the echo of the {sent} bytes sent: {received} bytes")]
    Excess {
        /// The peer's address.
        addr: Address,
        /// How many bytes had been sent.
        sent: u64,
        /// How many bytes had come back, the excess included.
        received: u64,
    },
    /// Reading the input or writing the output of a streamed echo
    /// ([`EchoClient::echo_from`](crate::EchoClient::echo_from)) failed.
    #[error("cannot {action}")]
    Pipe {
        /// What failed: `read the input` or `write the echo`.
        action: &'static str,
        /// The error of the input or the output.
        #[source]
        source: io::Error,
    },
    /// A datagram was larger than the receive buffer and would have been cut short.
    #[error("datagram from {addr} is larger than the {capacity}-byte buffer")]
    Truncated {
        /// Who sent it.
        addr: Address,
        /// The buffer size it did not fit in ([`Options::with_buffer_size`](crate::Options::with_buffer_size)).
        capacity: usize,
    },
    /// A message is larger than one datagram can carry.
    #[error("message of {len} bytes does not fit in one datagram to {addr} (at most {max})")]
    DatagramTooLarge {
        /// The destination.
        addr: Address,
        /// The message's length.
        len: usize,
        /// The largest payload for this address family.
        max: usize,
    },
    /// The peer answered with bytes that differ from what was sent.
    #[error("echo from {addr} differs from what was sent at byte {offset} (sent {sent} bytes)")]
    Mismatch {
        /// The peer's address.
        addr: Address,
        /// The offset of the first differing byte (or the length sent, if the reply was longer).
        offset: usize,
        /// How many bytes were sent.
        sent: usize,
    },
    /// The peer closed the connection (an end-of-stream) before echoing everything. A reset
    /// is [`Error::Reset`].
    #[error(
        "short echo from {addr}: sent {sent} bytes, received {received} before the connection closed"
    )]
    ShortEcho {
        /// The peer's address.
        addr: Address,
        /// How many bytes were sent.
        sent: usize,
        /// How many bytes came back, all of them equal to what was sent.
        received: usize,
    },
    /// A buffer could not be allocated: the size a caller or a peer asked for is more than
    /// the system will give.
    #[error("failed to allocate {bytes} bytes for {what}")]
    Allocation {
        /// What the buffer was for (`"the receive buffer"`, `"the echo"`, …).
        what: &'static str,
        /// The size asked for.
        bytes: usize,
    },
    /// The peer reset the connection before echoing everything: a short echo that ended with
    /// a reset rather than an end-of-stream (a server that closes with input unread, like the
    /// tutorial's `server.py`, resets it too).
    #[error(
        "short echo from {addr}: sent {sent} bytes, received {received} before the connection was reset"
    )]
    Reset {
        /// The peer's address.
        addr: Address,
        /// How many bytes were sent.
        sent: usize,
        /// How many bytes came back before the reset, all of them equal to what was sent.
        received: usize,
        /// The operating system's error (`ConnectionReset`).
        #[source]
        source: io::Error,
    },
    /// A certificate or a private key could not be read or made: a file that cannot be read,
    /// a text with no `CERTIFICATE` block or no key, a name no certificate can carry.
    #[cfg(feature = "tls")]
    #[error("certificate or key from {what}: {reason}")]
    Certificate {
        /// Where it came from: a file's path, "PEM text", or the names of a generated one.
        what: String,
        /// What was wrong.
        reason: std::borrow::Cow<'static, str>,
    },
    /// A TLS session failed: its handshake (a certificate the client does not trust, a
    /// protocol error, a handshake that took too long) or its end (a close without
    /// `close_notify`, which could hide a truncated echo).
    #[cfg(feature = "tls")]
    #[error("tls with {addr} failed: {reason}")]
    Tls {
        /// The peer's address.
        addr: Address,
        /// What failed, for a test to match.
        reason: TlsFailure,
    },
    /// The local address of a client's socket could not be read (`getsockname`).
    #[error("failed to read the local address of the connection to {peer}")]
    LocalAddr {
        /// The server the client is connected to.
        peer: Address,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The event poll of a load generator's thread could not be made, or a connection could
    /// not be registered with it.
    #[error("failed to set up the event poll of a load thread")]
    Poll {
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A thread of a load generator could not be started.
    #[error("failed to start a load thread")]
    Thread {
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// This error, or [`Error::Tls`] if what failed underneath was the TLS session (its
    /// reason travels inside the `io::Error` the capabilities return).
    pub(crate) fn with_tls_reason(self) -> Error {
        #[cfg(feature = "tls")]
        if let Error::Receive { addr, source }
        | Error::Send { addr, source }
        | Error::Reset { addr, source, .. } = &self
            && let Some(reason) = TlsFailure::in_io(source)
        {
            return Error::Tls {
                addr: addr.clone(),
                reason: reason.clone(),
            };
        }
        self
    }

    /// The kind of the operating-system error behind this one, if it carries one: for
    /// branching on `ConnectionRefused`, `AddrInUse` or `TimedOut` without walking
    /// [`source`](std::error::Error::source).
    ///
    /// `None` for errors the crate found itself (a refused option, a mismatch, a timeout of
    /// its own).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let first = EchoServer::bind("127.0.0.1:0")?;
    /// let second = EchoServer::bind(first.local_addr()).unwrap_err();
    /// assert_eq!(second.io_kind(), Some(ErrorKind::AddrInUse));
    ///
    /// // Bind a port, then free it: nothing listens there any more.
    /// let addr = EchoServer::bind("127.0.0.1:0")?.local_addr();
    /// match EchoClient::connect(addr) {
    ///     Err(e) if e.io_kind() == Some(ErrorKind::ConnectionRefused) => {}
    ///     other => panic!("expected a refused connection, got {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Error::Resolve { source, .. }
            | Error::Bind { source, .. }
            | Error::Connect { source, .. }
            | Error::Accept { source, .. }
            | Error::Serve { source, .. }
            | Error::SetOption { source, .. }
            | Error::Send { source, .. }
            | Error::Receive { source, .. }
            | Error::Reset { source, .. }
            | Error::Thread { source }
            | Error::Poll { source }
            | Error::LocalAddr { source, .. }
            | Error::Pipe { source, .. } => Some(source.kind()),
            Error::NoAddress { .. }
            | Error::InvalidOption { .. }
            | Error::Timeout { .. }
            | Error::Deadline { .. }
            | Error::Surplus { .. }
            | Error::Excess { .. }
            | Error::Truncated { .. }
            | Error::DatagramTooLarge { .. }
            | Error::Mismatch { .. }
            | Error::ShortEcho { .. }
            | Error::InvalidFault { .. }
            | Error::WorkerPanicked { .. }
            | Error::Allocation { .. } => None,
            #[cfg(feature = "tls")]
            Error::Tls { .. } | Error::Certificate { .. } => None,
        }
    }
}
