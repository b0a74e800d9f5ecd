//! `EchoServer`: binds a socket of any transport and serves it.
//!
//! The server is generic over [`Transport`]; nothing here knows whether it speaks TCP or UDP.

use std::fmt::Debug;
use std::net::{SocketAddr, ToSocketAddrs};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread;

use bytes::Bytes;

use crate::addr;
use crate::engine::{Control, ShutdownHandle, Stats, Worker};
use crate::error::{Error, Result};
use crate::handle::ServerHandle;
use crate::options::Options;
use crate::transport::{self, Tcp, Transport};

/// An echo server bound to a local address, over TCP unless another transport is chosen.
///
/// The socket is bound and, for TCP, listening as soon as a constructor returns: a client can
/// connect before [`serve_once`](Self::serve_once) is called. Dropping the server closes it.
///
/// # Examples
///
/// The tutorial's server in four lines: bind, wait for one client, echo, report.
///
/// ```
/// use socket_echo::{EchoClient, EchoServer};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// let client = std::thread::spawn(move || -> socket_echo::Result<()> {
///     let mut client = EchoClient::connect(addr)?;
///     assert_eq!(&client.echo(b"Hola, soy el cliente")?[..], b"Hola, soy el cliente");
///     Ok(())
/// });
/// let exchange = server.serve_once()?;
/// assert_eq!(&exchange.first_message()[..], b"Hola, soy el cliente");
/// client.join().unwrap()?;
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug)]
pub struct EchoServer<T: Transport = Tcp> {
    listener: T::Listener,
    local_addr: SocketAddr,
    options: Options,
    control: Arc<Control>,
}

impl EchoServer<Tcp> {
    /// Binds a TCP echo server to `addr` with the default [`Options`].
    ///
    /// `addr` may be anything that resolves to socket addresses (`"127.0.0.1:0"`,
    /// `"localhost:9999"`, a [`SocketAddr`], a `(host, port)` tuple); each address it resolves
    /// to is tried in turn. Port 0 lets the system choose a free port: read it back with
    /// [`local_addr`](Self::local_addr).
    ///
    /// Calling `bind` is equivalent to
    /// [`bind_on_with(Tcp, addr, Options::default())`](Self::bind_on_with).
    ///
    /// # Errors
    ///
    /// [`Error::Resolve`] or [`Error::NoAddress`] if `addr` does not resolve, [`Error::Bind`]
    /// if no resolved address can be bound (the port is in use, the address is not local),
    /// [`Error::SetOption`] if the system refuses an option.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_eq!(server.local_addr().ip().to_string(), "127.0.0.1");
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs + Debug>(addr: A) -> Result<Self> {
        Self::bind_on_with(Tcp, addr, Options::default())
    }

    /// Binds a TCP echo server to `addr` with the given [`Options`].
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind), and [`Error::InvalidOption`] if `options` holds a value that
    /// is refused (see [`Options::validate`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Options};
    ///
    /// let server = EchoServer::bind_with("127.0.0.1:0", Options::new().with_backlog(16))?;
    /// assert_eq!(server.options().backlog(), 16);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn bind_with<A: ToSocketAddrs + Debug>(addr: A, options: Options) -> Result<Self> {
        Self::bind_on_with(Tcp, addr, options)
    }
}

impl<T: Transport> EchoServer<T> {
    /// Binds an echo server of the given transport to `addr` with the default [`Options`].
    ///
    /// The transport is a value ([`Tcp`], [`Udp`](crate::Udp)), so the server's type is
    /// inferred from it.
    ///
    /// # Errors
    ///
    /// As [`EchoServer::bind`].
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Udp};
    ///
    /// let server = EchoServer::bind_on(Udp, "[::1]:0")?;
    /// assert!(server.local_addr().is_ipv6());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn bind_on<A: ToSocketAddrs + Debug>(transport: T, addr: A) -> Result<Self> {
        Self::bind_on_with(transport, addr, Options::default())
    }

    /// Binds an echo server of the given transport to `addr` with the given [`Options`].
    ///
    /// The steps: check `options`; resolve `addr`; for each address until one works, create
    /// the socket through socket2, set the options that belong before `bind`
    /// (`IPV6_V6ONLY`, `SO_REUSEADDR` for TCP, `SO_REUSEPORT`, buffer sizes, TTL), bind, and
    /// for TCP, listen with the configured backlog.
    ///
    /// # Errors
    ///
    /// As [`EchoServer::bind_with`].
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Options, Udp};
    ///
    /// let options = Options::new().with_buffer_size(1500);
    /// let server = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options)?;
    /// assert_eq!(server.options().buffer_size(), 1500);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn bind_on_with<A: ToSocketAddrs + Debug>(
        transport: T,
        addr: A,
        options: Options,
    ) -> Result<Self> {
        let _ = transport;
        options.validate()?;
        addr::first_ok(&addr, |candidate| {
            let listener = T::bind(candidate, &options)?;
            let local_addr = transport::local_addr(&listener).map_err(|source| Error::Bind {
                transport: T::NAME,
                addr: candidate,
                source,
            })?;
            Ok(EchoServer {
                listener,
                local_addr,
                options: options.clone(),
                control: Arc::default(),
            })
        })
    }

    /// The address the server is bound to, with the real port when port 0 was asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_ne!(server.local_addr().port(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The options the server was bound with.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_eq!(server.options(), &socket_echo::Options::default());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Serves one client and returns what happened.
    ///
    /// - TCP: waits for one connection, echoes everything it sends until it closes its write
    ///   side, then shuts down the server's write side, so the client reads end-of-stream after
    ///   the last echoed byte. Each wait for data is bounded by the
    ///   [`read_timeout`](Options::with_read_timeout).
    /// - UDP: waits for one datagram and sends it back to its source, whole.
    ///
    /// Waiting for the connection or datagram itself has no time limit. The server stays
    /// bound afterwards; call `serve_once` again to serve the next client.
    ///
    /// # Errors
    ///
    /// [`Error::Accept`] if accepting fails; [`Error::Receive`], [`Error::Send`] or
    /// [`Error::Timeout`] if the exchange fails; [`Error::Truncated`] for a datagram larger
    /// than the [`buffer_size`](Options::with_buffer_size), which is not echoed.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let mut client = EchoClient::connect(server.local_addr())?;
    /// let served = std::thread::spawn(move || server.serve_once());
    /// client.echo(b"one")?;
    /// client.echo(b"two")?;
    /// drop(client);
    /// let exchange = served.join().unwrap()?;
    /// assert_eq!(exchange.bytes_echoed(), 6);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn serve_once(&self) -> Result<Exchange> {
        T::serve_once(&self.listener, self.local_addr, &self.options)
    }

    /// Serves every client, on an event loop per worker thread, until the server is shut
    /// down through a [`ShutdownHandle`]; then returns the final [`Stats`].
    ///
    /// [`workers`](Options::with_workers) threads (one per core by default, this one among
    /// them) each run a `mio` event loop. For TCP, the first worker accepts and deals the
    /// connections out in turn, so each worker serves an equal share; for UDP, every worker
    /// polls the one socket.
    ///
    /// - TCP: each worker accepts connections and echoes them. An idle connection owns no
    ///   buffer; echoed bytes the peer does not take are kept, at most
    ///   [`max_pending`](Options::with_max_pending) per connection, and while they wait the
    ///   connection is not read. A connection beyond
    ///   [`max_connections`](Options::with_max_connections) is closed at once; one idle for
    ///   [`idle_timeout`](Options::with_idle_timeout) is closed. A half-close is answered by
    ///   echoing the rest and shutting the server's write side. Failing accepts (out of
    ///   descriptors) pause accepting for 100 ms and never stop the server.
    /// - UDP: each datagram is sent back to its source, whole, unless it is larger than the
    ///   [`buffer_size`](Options::with_buffer_size) or comes from a
    ///   [denied port](Options::with_denied_ports) or a multicast, broadcast or unspecified
    ///   address; those are dropped and counted.
    ///
    /// Shutting down stops accepting at once, gives live connections up to
    /// [`shutdown_grace`](Options::with_shutdown_grace) to take their pending bytes, shuts
    /// their write side and closes them. A connection whose peer sent bytes the server has
    /// not read yet is closed only once the peer closes too (within the same grace), its
    /// further input dropped: closing it earlier would reset it and lose the echo in flight. After `serve` returns, the socket is back in blocking
    /// mode; dropping the server releases the port. A server that was shut down stays shut
    /// down: calling `serve` again returns at once.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if a worker thread or its poll cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?;
    /// let addr = server.local_addr();
    /// let shutdown = server.shutdown_handle();
    /// let clients = std::thread::spawn(move || -> socket_echo::Result<()> {
    ///     for _ in 0..3 {
    ///         EchoClient::connect(addr)?.echo(b"hi")?;
    ///     }
    ///     shutdown.shutdown();
    ///     Ok(())
    /// });
    /// let stats = server.serve()?;
    /// clients.join().unwrap()?;
    /// assert_eq!(stats.accepted, 3);
    /// assert_eq!(stats.bytes_out, 6);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn serve(&self) -> Result<Stats> {
        let serve_error = |source| Error::Serve {
            addr: self.local_addr,
            source,
        };
        let workers = self
            .options
            .workers()
            .or_else(|| thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get);
        T::set_nonblocking(&self.listener, true).map_err(serve_error)?;
        let worker = Worker {
            control: &self.control,
            options: &self.options,
            local: self.local_addr,
        };
        let result = T::serve(&self.listener, worker, workers);
        let restored = T::set_nonblocking(&self.listener, false).map_err(serve_error);
        result?;
        restored?;
        Ok(self.control.stats())
    }

    /// Runs [`serve`](Self::serve) on a background thread and returns a handle to it.
    ///
    /// The socket is already listening, so clients can connect as soon as this returns.
    /// Dropping the handle shuts the server down, waits for it and releases the port.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Udp};
    ///
    /// let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")?.spawn()?;
    /// let mut client = EchoClient::connect_on(Udp, handle.local_addr())?;
    /// assert_eq!(&client.echo(b"ping")?[..], b"ping");
    /// handle.shutdown();
    /// let stats = handle.join()?;
    /// assert_eq!(stats.datagrams_echoed, 1);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    #[must_use = "the server stops when its handle is dropped: keep the handle"]
    pub fn spawn(self) -> Result<ServerHandle> {
        let local_addr = self.local_addr;
        let control = Arc::clone(&self.control);
        let thread = thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || self.serve())
            .map_err(|source| Error::Serve {
                addr: local_addr,
                source,
            })?;
        Ok(ServerHandle::new(local_addr, control, thread))
    }

    /// A switch that stops [`serve`](Self::serve) from another thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// let shutdown = server.shutdown_handle();
    /// shutdown.shutdown();
    /// assert!(shutdown.is_shutdown());
    /// assert_eq!(server.serve()?.accepted, 0); // returns at once
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(Arc::clone(&self.control))
    }

    /// What [`serve`](Self::serve) has done so far (all zero before it runs).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_eq!(server.stats(), socket_echo::Stats::default());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.control.stats()
    }
}

#[cfg(unix)]
impl<T: Transport> std::os::fd::AsFd for EchoServer<T> {
    /// The server socket, for reading its options with socket2 or `getsockopt`.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

/// What [`EchoServer::serve_once`] did: who it served, how much it echoed, and the first
/// message.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Udp};
///
/// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
/// let mut client = EchoClient::connect_on(Udp, server.local_addr())?;
/// let handle = std::thread::spawn(move || server.serve_once());
/// client.echo(b"hello")?;
/// let exchange = handle.join().unwrap()?;
/// assert_eq!(exchange.peer(), client.local_addr()?);
/// assert_eq!(exchange.bytes_echoed(), 5);
/// assert_eq!(&exchange.first_message()[..], b"hello");
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    peer: SocketAddr,
    bytes: u64,
    first: Bytes,
}

impl Exchange {
    pub(crate) fn new(peer: SocketAddr, bytes: u64, first: Bytes) -> Self {
        Exchange { peer, bytes, first }
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// How many bytes were echoed in all.
    pub fn bytes_echoed(&self) -> u64 {
        self.bytes
    }

    /// The first message: the whole datagram (UDP), or the bytes of the first read, at most
    /// [`buffer_size`](Options::with_buffer_size) of them (TCP). Empty if nothing was sent.
    pub fn first_message(&self) -> &Bytes {
        &self.first
    }
}
