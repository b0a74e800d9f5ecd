//! `EchoClient`: connects to an echo server over any transport and checks what comes back.

use std::io::{Read, Write};

use bytes::Bytes;

use crate::echo::{EchoFrom, EchoMessage, WindowSize};
use crate::error::{Error, Result};
use crate::options::{Knob, Options};
use crate::transport::{Tcp, Transport};
use crate::transport::{ToAddrs, first_ok};

/// A client of an echo server, over TCP unless another transport is chosen.
///
/// Every wait is bounded by the [`Options`] timeouts (10 seconds by default), and every
/// [`echo`](Self::echo) as a whole by its [deadline](Options::with_echo_deadline) (60 seconds
/// by default), so a silent, broken or slow server gives an error, never a hang.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.serve_once());
///
/// let mut client = EchoClient::connect(addr)?;
/// let reply = client.echo(b"Hola, soy el cliente")?;
/// println!("Respuesta del servidor: {}", String::from_utf8_lossy(&reply));
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug)]
pub struct EchoClient<T: Transport = Tcp> {
    socket: T::Client,
    peer: T::Addr,
    options: Options,
    /// The most bytes a stream client keeps in flight in one echo.
    window: usize,
}

impl EchoClient<Tcp> {
    /// Connects to a TCP echo server at `addr` with the default [`Options`].
    ///
    /// Each address `addr` resolves to is tried in turn, each for at most the
    /// [`connect_timeout`](Options::with_connect_timeout).
    ///
    /// # Errors
    ///
    /// [`Error::Resolve`] or [`Error::NoAddress`] if `addr` does not resolve;
    /// [`Error::Connect`] naming the address if no server accepts (nothing listening gives
    /// `ConnectionRefused` at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Error};
    ///
    /// // Bind a port, then free it: nothing listens there any more.
    /// let addr = EchoServer::bind("127.0.0.1:0")?.local_addr();
    /// match EchoClient::connect(addr) {
    ///     Err(Error::Connect { addr: refused, .. }) => assert_eq!(refused, addr),
    ///     other => panic!("expected a connect error, got {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect<A: ToAddrs<Tcp>>(addr: A) -> Result<Self> {
        Self::connect_on_with(Tcp, addr, Options::default())
    }

    /// Connects to a TCP echo server at `addr` with the given [`Options`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), and [`Error::InvalidOption`] for a refused value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, EchoServer, Options};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let options = Options::new().with_read_timeout(Some(Duration::from_secs(2)));
    /// let client = EchoClient::connect_with(server.local_addr(), options)?;
    /// assert_eq!(client.peer_addr(), server.local_addr());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn connect_with<A: ToAddrs<Tcp>>(addr: A, options: Options) -> Result<Self> {
        Self::connect_on_with(Tcp, addr, options)
    }
}

impl<T: Transport> EchoClient<T> {
    /// Connects to an echo server of the given transport at `addr`, with the default
    /// [`Options`].
    ///
    /// For a datagram transport, "connecting" fixes the server's address on the socket:
    /// nothing is sent yet, and datagrams from any other address are dropped by the system.
    /// A Unix datagram client first binds a name of its own, so the server can answer it.
    ///
    /// # Errors
    ///
    /// As [`EchoClient::connect`].
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, Udp};
    ///
    /// let client = EchoClient::connect_on(Udp, "127.0.0.1:7")?;
    /// assert_eq!(client.peer_addr().port(), 7);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn connect_on<A: ToAddrs<T>>(transport: T, addr: A) -> Result<Self> {
        Self::connect_on_with(transport, addr, Options::default())
    }

    /// Connects to an echo server of the given transport at `addr`, with the given
    /// [`Options`].
    ///
    /// # Errors
    ///
    /// As [`EchoClient::connect_with`], and [`Error::InvalidOption`] naming an option that
    /// does not apply to the transport or to a client (a backlog, a connection limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, Options, Udp};
    ///
    /// let options = Options::new()
    ///     .with_read_timeout(Some(Duration::from_millis(200)))
    ///     .with_resends(4);
    /// let client = EchoClient::connect_on_with(Udp, "[::1]:7", options)?;
    /// assert_eq!(client.options().resends(), 4);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn connect_on_with<A: ToAddrs<T>>(transport: T, addr: A, options: Options) -> Result<Self> {
        let _ = transport;
        options.validate()?;
        T::check(&options)?;
        options.refuse(&Knob::SERVER, "a client")?;
        first_ok::<T, _, _>(&addr, |candidate| {
            let socket = T::connect(&candidate, &options)?;
            let window = T::visit_client(&socket, WindowSize);
            Ok(EchoClient {
                socket,
                peer: candidate,
                options: options.clone(),
                window,
            })
        })
    }

    /// Sends `message` and returns the server's echo, only if it equals `message`.
    ///
    /// - Stream transports (TCP, Unix): writes and reads at the same time, so a message of any size (16 MiB in one call
    ///   is tested) goes through without either side blocking on a full buffer. An empty
    ///   message sends nothing and returns at once.
    /// - Datagram transports (UDP, Unix datagrams): sends one datagram and waits
    ///   [`read_timeout`](Options::with_read_timeout) for its echo, sending again up to
    ///   [`resends`](Options::with_resends) times. A reply that
    ///   differs (a late answer to an earlier send) is skipped while waiting.
    ///
    /// The whole call, every read, write and attempt together, ends within the
    /// [`echo_deadline`](Options::with_echo_deadline): each wait is cut to what is left of it.
    ///
    /// Bytes of an earlier exchange are never taken for this one's echo. TCP: before sending,
    /// the client looks (without waiting) for bytes already waiting on the connection, such as
    /// a server's second answer to an earlier message or the rest of an echo that timed out;
    /// if there are any it sends nothing and fails with [`Error::Surplus`], and the
    /// connection should be dropped: nothing can tell those bytes from the new echo. UDP:
    /// datagrams already waiting (late duplicates, replies to an exchange that gave up) are
    /// dropped before sending. A duplicate of an earlier reply that arrives during this
    /// exchange and equals this message cannot be told from its echo: the protocol carries
    /// no sequence number (the probes of the `measure` feature carry one).
    ///
    /// # Errors
    ///
    /// - [`Error::Mismatch`]: the reply differs from `message`, at the offset it names.
    /// - [`Error::ShortEcho`]: the server closed the connection before echoing everything
    ///   (both counts given).
    /// - [`Error::Reset`]: the server reset the connection before echoing everything (both
    ///   counts given).
    /// - [`Error::Timeout`]: one read or write waited its whole
    ///   [`read_timeout`](Options::with_read_timeout) or
    ///   [`write_timeout`](Options::with_write_timeout) (TCP), or every UDP attempt did.
    /// - [`Error::Deadline`]: the [`echo_deadline`](Options::with_echo_deadline) ran out first
    ///   (with the bytes sent and received by then).
    /// - [`Error::Surplus`]: TCP, unread bytes were already waiting; nothing was sent.
    /// - [`Error::DatagramTooLarge`]: a UDP message over 65,507 bytes (IPv4) or 65,527 (IPv6).
    /// - [`Error::Connect`]: for UDP, the system reported that nothing listens at the server's
    ///   address.
    /// - [`Error::Send`], [`Error::Receive`]: other failures of the socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// std::thread::spawn(move || server.serve_once());
    ///
    /// let mut client = EchoClient::connect(addr)?;
    /// let big = vec![7u8; 1 << 20];
    /// assert_eq!(client.echo(&big)?.len(), big.len());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn echo(&mut self, message: &[u8]) -> Result<Bytes> {
        T::visit_client(
            &self.socket,
            EchoMessage {
                peer: &self.peer,
                message,
                options: &self.options,
                window: self.window,
            },
        )
        .map_err(Error::with_tls_reason)
    }

    /// Streams everything `input` yields to the server and writes the echo to `output` as it
    /// comes back, each byte compared with what was sent; returns how many bytes were
    /// echoed. Stream transports only (TCP, Unix).
    ///
    /// Only the bytes in flight are held, at most a window (half the socket's receive
    /// buffer, at most 256 KiB), so an input of any size goes through in that much memory;
    /// the echo is written out as it is verified, so on an error `output` holds the echo up
    /// to where it went wrong. Once `input` ends, the client shuts its write side and waits
    /// for the server's end-of-stream: a byte after the whole echo (a server that answers
    /// twice) is [`Error::Excess`]. A server that keeps the connection open is waited for
    /// one [`read_timeout`](Options::with_read_timeout); the echo was whole, so that is not
    /// an error.
    ///
    /// Every read and write waits at most its timeout, and the whole call ends within the
    /// [`echo_deadline`](Options::with_echo_deadline), as in [`echo`](Self::echo).
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidOption`] naming `transport` for a datagram transport.
    /// - [`Error::Mismatch`], [`Error::ShortEcho`], [`Error::Reset`], [`Error::Timeout`],
    ///   [`Error::Deadline`], [`Error::Surplus`], [`Error::Send`], [`Error::Receive`]: as
    ///   for [`echo`](Self::echo), their `sent` being the bytes sent by then.
    /// - [`Error::Excess`]: the server sent more than the echo of what it was sent.
    /// - [`Error::Pipe`]: reading `input` or writing `output` failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let client = EchoClient::connect(server.local_addr())?;
    /// let input = vec![9u8; 3 << 20];
    /// let mut echo = Vec::new();
    /// assert_eq!(client.echo_from(&input[..], &mut echo)?, 3 << 20);
    /// assert!(echo == input);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn echo_from(self, mut input: impl Read, mut output: impl Write) -> Result<u64> {
        T::visit_client(
            &self.socket,
            EchoFrom {
                peer: &self.peer,
                input: &mut input,
                output: &mut output,
                options: &self.options,
                window: self.window,
            },
        )
        .map_err(Error::with_tls_reason)
    }

    /// The server's address.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let client = EchoClient::connect(server.local_addr())?;
    /// assert_eq!(client.peer_addr(), server.local_addr());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn peer_addr(&self) -> T::Addr {
        self.peer.clone()
    }

    /// The client's own address, as the server sees it on loopback (for a Unix stream
    /// client, usually unnamed; a Unix datagram client has a name of its own).
    ///
    /// # Errors
    ///
    /// [`Error::LocalAddr`] if the system cannot report the address.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let client = EchoClient::connect(server.local_addr())?;
    /// assert_ne!(client.local_addr()?.port(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn local_addr(&self) -> Result<T::Addr> {
        T::client_addr(&self.socket).map_err(|source| Error::LocalAddr {
            peer: self.peer.clone().into(),
            source,
        })
    }

    /// The options the client was connected with.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Options};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let client = EchoClient::connect(server.local_addr())?;
    /// assert_eq!(client.options(), &Options::default());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The client socket, for the measuring loops (and its public `AsFd`, written in
    /// `transport`).
    pub(crate) fn socket(&self) -> &T::Client {
        &self.socket
    }
}
