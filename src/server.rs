//! `EchoServer`: binds a socket of any transport and serves it.
//!
//! The server is generic over [`Transport`]; nothing here knows which transport it runs, or
//! whether it is a stream or a datagram one.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread;

use crate::addr::Address;
use crate::echo::ServeOnce;
use crate::engine::{Control, Serve, ShutdownHandle, Stats, WorkerContext};
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::faults::Faults;
use crate::handle::ServerHandle;
use crate::options::Options;
use crate::record::{Record, Recording};
use crate::transport::Tcp;
use crate::transport::Transport;
use crate::transport::sealed::Socket;
use crate::transport::{ToAddrs, first_ok};

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
    socket: T::Server,
    local_addr: T::Addr,
    options: Options,
    control: Arc<Control>,
}

impl EchoServer<Tcp> {
    /// Binds a TCP echo server to `addr` with the default [`Options`].
    ///
    /// `addr` may be anything that resolves to socket addresses (`"127.0.0.1:0"`,
    /// `"localhost:9999"`, a [`SocketAddr`](std::net::SocketAddr), a `(host, port)` tuple);
    /// each address it resolves to is tried in turn. Port 0 lets the system choose a free port: read it back with
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
    pub fn bind<A: ToAddrs<Tcp>>(addr: A) -> Result<Self> {
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
    pub fn bind_with<A: ToAddrs<Tcp>>(addr: A, options: Options) -> Result<Self> {
        Self::bind_on_with(Tcp, addr, options)
    }
}

#[cfg(feature = "tls")]
impl<S> EchoServer<crate::transport::Tls<S>>
where
    crate::transport::Tls<S>: Transport,
{
    /// The certificate a TLS server presents: the one it was given
    /// ([`TlsOptions::with_identity`](crate::TlsOptions::with_identity)), or the self-signed one
    /// it made at bind for `localhost` and its address. Give it to the client under test to
    /// trust ([`TlsOptions::with_trusted`](crate::TlsOptions::with_trusted)), or write its
    /// [`pem`](crate::Certificate::pem) to a file for another program.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Tcp, Tls};
    ///
    /// let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0")?;
    /// let pem = server.certificate().pem();
    /// assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    /// println!("sha256 {}", server.certificate().fingerprint());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn certificate(&self) -> &crate::certificate::Certificate {
        match self.tls_certificate() {
            Some(certificate) => certificate,
            None => unreachable!("every TLS server socket holds an identity"),
        }
    }
}

impl<T: Transport> EchoServer<T> {
    /// Binds an echo server of the given transport to `addr` with the default [`Options`].
    ///
    /// The transport is a value ([`Tcp`], [`Udp`](crate::Udp), [`Unix`](crate::Unix),
    /// [`UnixDatagram`](crate::UnixDatagram)), so the server's type is inferred from it, and
    /// `addr` is written as the transport takes it (see [`ToAddrs`]).
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
    pub fn bind_on<A: ToAddrs<T>>(transport: T, addr: A) -> Result<Self> {
        Self::bind_on_with(transport, addr, Options::default())
    }

    /// Binds an echo server of the given transport to `addr` with the given [`Options`].
    ///
    /// The steps: check `options` (an option set explicitly that cannot apply to the
    /// transport is refused); resolve `addr`; for each address until one works, create the
    /// socket through socket2, set the options that belong before `bind` (`IPV6_V6ONLY`,
    /// `SO_REUSEADDR` for TCP, `SO_REUSEPORT`, buffer sizes, TTL), bind, and for a stream
    /// transport, listen with the configured backlog. A Unix socket file left by a server that
    /// is gone is replaced; a live server's is not.
    ///
    /// # Errors
    ///
    /// As [`EchoServer::bind_with`], and [`Error::InvalidOption`] naming an option that does
    /// not apply to the transport.
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
    pub fn bind_on_with<A: ToAddrs<T>>(transport: T, addr: A, options: Options) -> Result<Self> {
        let _ = transport;
        options.validate()?;
        T::check(&options)?;
        first_ok::<T, _, _>(&addr, |candidate| {
            let socket = T::bind(&candidate, &options)?;
            let local_addr = T::local_addr(&socket).map_err(|source| Error::Bind {
                transport: T::NAME,
                addr: candidate.into(),
                source,
            })?;
            let control = Control::with_transport_stats(T::stats_source(&socket));
            Ok(EchoServer {
                socket,
                local_addr,
                options: options.clone(),
                control: Arc::new(control),
            })
        })
    }

    /// The address the server is bound to, with the real port when port 0 was asked for: a
    /// [`SocketAddr`](std::net::SocketAddr) for TCP and UDP, a
    /// [`UnixAddr`](crate::UnixAddr) for the Unix transports. A client connects to it as it
    /// is.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_ne!(server.local_addr().port(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn local_addr(&self) -> T::Addr {
        self.local_addr.clone()
    }

    /// The certificate the server presents if its transport is TLS, for code written once
    /// for every transport (a TLS server's own is [`certificate`](EchoServer::certificate));
    /// `None` for a plain transport.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::EchoServer;
    ///
    /// assert!(EchoServer::bind("127.0.0.1:0")?.tls_certificate().is_none());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls_certificate(&self) -> Option<&crate::certificate::Certificate> {
        T::identity(&self.socket).map(crate::certificate::Identity::certificate)
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
    /// - Stream transports (TCP, Unix): waits for one connection, echoes everything it sends
    ///   until it closes its write side, then shuts down the server's write side, so the
    ///   client reads end-of-stream after the last echoed byte. Each wait for data is bounded
    ///   by the [`read_timeout`](Options::with_read_timeout).
    /// - Datagram transports (UDP, Unix datagrams): waits for one datagram and sends it back
    ///   to its source, whole. A datagram that [`serve`](Self::serve) would refuse by its
    ///   source alone (a [denied port](Options::with_denied_ports), a multicast, broadcast or
    ///   unspecified address, an unnamed Unix socket, the server's own address) is dropped,
    ///   and the wait goes on: called in a loop, the server could otherwise answer its own
    ///   address forever.
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
    pub fn serve_once(&self) -> Result<Exchange<T::Addr>> {
        T::visit_server(
            &self.socket,
            ServeOnce {
                local: &self.local_addr,
                options: &self.options,
                faults: &self.control.faults,
            },
        )
        .map_err(Error::with_tls_reason)
    }

    /// The server with `faults` to inject, in [`serve_once`](Self::serve_once),
    /// [`serve`](Self::serve) and [`spawn`](Self::spawn) alike: see [`Faults`] and the
    /// [faults guide](crate::faults_guide). A server without faults pays nothing for them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFault`] for a fault that cannot apply to the transport (`drop` on
    /// TCP, `slice` on UDP) or has a value no fault can have.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use socket_echo::{EchoClient, EchoServer, Faults};
    ///
    /// let faults: Faults = "slice=10,pause=20ms".parse()?;
    /// let handle = EchoServer::bind("127.0.0.1:0")?.with_faults(faults)?.spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// let start = Instant::now();
    /// client.echo(&[1u8; 100])?; // ten slices, nine pauses
    /// assert!(start.elapsed() >= Duration::from_millis(180));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn with_faults(self, faults: Faults) -> Result<Self> {
        self.set_faults(faults)?;
        Ok(self)
    }

    /// Replaces the faults of a server, running or not (for one running in the background,
    /// [`ServerHandle::set_faults`] does the same). They apply to the bytes and datagrams
    /// received from then on; an empty [`Faults`] makes the server behave again.
    ///
    /// # Errors
    ///
    /// As [`with_faults`](Self::with_faults); the faults in force are then left as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Fault, Faults, Udp};
    ///
    /// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
    /// server.set_faults(Faults::new().with(Fault::duplicate(0.5)))?;
    /// assert_eq!(server.faults().to_string(), "duplicate=0.5");
    /// assert!(server.set_faults("slice=4".parse()?).is_err()); // not for datagrams
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        self.control.faults.know::<T>();
        self.control.faults.set_checked(faults)
    }

    /// The server keeping what it receives, as `recording` says, for a test to read back
    /// (see [`Record`]): for each connection its peer, the first bytes it sent and how it
    /// ended; for each datagram its source and first bytes. Memory stays within the
    /// recording's caps; what is past them is echoed as ever, counted, and not kept.
    ///
    /// Recording applies to [`serve`](Self::serve) and [`spawn`](Self::spawn), not to
    /// [`serve_once`](Self::serve_once) (whose [`Exchange`] says what it received). Faults
    /// change nothing in the record: it holds what was received, every byte a connection
    /// read (echoed late, in slices, or dropped by a fault that ended the echo) and each
    /// datagram as it came, whatever becomes of its reply. A server that does not record
    /// pays nothing for it: one
    /// branch where a connection is accepted, driven or closed, and one per batch of
    /// datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Recording};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?
    ///     .with_recording(Recording::new(1024))
    ///     .spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// client.echo(b"GET / HTTP/1.0\r\n")?;
    /// client.echo(b"\r\n")?;
    /// let record = handle.record();
    /// assert_eq!(record.connections.len(), 1);
    /// assert_eq!(record.connections[0].peer, client.local_addr()?);
    /// assert_eq!(record.connections[0].received, b"GET / HTTP/1.0\r\n\r\n");
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn with_recording(self, recording: Recording) -> Self {
        self.control.set_recording(recording);
        self
    }

    /// What the server has recorded so far (empty unless it was given a
    /// [`Recording`](Self::with_recording)).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_eq!(server.record(), socket_echo::Record::default());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn record(&self) -> Record {
        self.control.record()
    }

    /// The faults in force (empty if none).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert!(server.faults().is_empty());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.control.faults.faults()
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
    ///   echoing the rest and shutting the server's write side. Every connection needs a
    ///   descriptor: `serve` first raises the process's soft `RLIMIT_NOFILE` toward its hard
    ///   limit as far as `max_connections` needs, and if that is still short, serves fewer
    ///   (the cap in force is [`Stats::max_connections`]). When accepting fails for want of
    ///   a descriptor, a spare one kept for the purpose accepts the waiting client and
    ///   closes it at once; other accept failures pause accepting for 100 ms. None stops
    ///   the server.
    /// - UDP: each datagram is sent back to its source, whole, unless it is larger than the
    ///   [`buffer_size`](Options::with_buffer_size) or comes from a
    ///   [denied port](Options::with_denied_ports), a multicast, broadcast or unspecified
    ///   address, or the server's own address (a forged datagram that would make the server
    ///   answer itself forever), or from a source past its
    ///   [rate limit](Options::with_source_rate_limit) (which ends an exchange with another
    ///   server); those are dropped and counted.
    ///
    /// Shutting down stops accepting at once; every echo then ends whole or visibly broken,
    /// never with a clean end-of-stream after a short echo. For up to
    /// [`shutdown_grace`](Options::with_shutdown_grace) the server goes on echoing: a
    /// connection whose peer has half-closed ends cleanly once its end-of-stream is read and
    /// everything is echoed; any other once it owes nothing (no echo pending, no input
    /// unread) and has moved no byte for a quarter of a second (after a prompt stop,
    /// [`ServerHandle::stop`], 5 ms for a connection that has moved no byte since the stop).
    /// A connection still owed bytes when the grace period ends is reset
    /// (counted in [`Stats::shutdown_resets`]). After `serve` returns, the socket is back in
    /// blocking mode; dropping the server releases the port. A server that was shut down
    /// stays shut down: calling `serve` again returns at once.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if a worker thread or its poll cannot be created;
    /// [`Error::WorkerPanicked`] if a worker panicked, after the others have stopped (a
    /// server a worker short could be left listening and answering no one).
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
        self.socket
            .set_nonblocking(true)
            .map_err(|source| self.serve_error(source))?;
        let result = engine(&self.control, &self.options, &self.local_addr, |serve| {
            T::visit_server(&self.socket, serve)
        });
        let restored = self
            .socket
            .set_nonblocking(false)
            .map_err(|source| self.serve_error(source));
        result?;
        restored?;
        Ok(self.control.stats())
    }

    /// [`serve`](Self::serve), on a socket the engine keeps, so that a stream server can
    /// close its listener and bind the address again ([`ServerHandle::down`] and `up`).
    fn serve_owned(self) -> Result<Stats> {
        self.socket
            .set_nonblocking(true)
            .map_err(|source| self.serve_error(source))?;
        let EchoServer {
            socket,
            local_addr,
            options,
            control,
        } = self;
        engine(&control, &options, &local_addr, |serve| {
            T::visit_owned(socket, serve)
        })?;
        Ok(control.stats())
    }

    fn serve_error(&self, source: std::io::Error) -> Error {
        Error::Serve {
            addr: self.local_addr.clone().into(),
            source,
        }
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
    pub fn spawn(self) -> Result<ServerHandle<T>> {
        let local_addr = self.local_addr.clone();
        self.control.faults.know::<T>();
        let control = Arc::clone(&self.control);
        let finished = Arc::clone(&self.control);
        let thread = thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || {
                // The engine keeps the socket, and closes it (and removes a Unix socket
                // file) before it returns: before any wait hears that the server stopped.
                let result = self.serve_owned();
                finished.progress.finish();
                result
            })
            .map_err(|source| Error::Serve {
                addr: local_addr.clone().into(),
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

impl<T: Transport> EchoServer<T> {
    /// The server socket (its public `AsFd` is written in `transport`).
    pub(crate) fn socket(&self) -> &T::Server {
        &self.socket
    }
}

/// Runs the engine of the transport's kind on the socket `visit` hands it, with every worker.
fn engine<T: Transport>(
    control: &Control,
    options: &Options,
    local_addr: &T::Addr,
    visit: impl FnOnce(Serve<'_, T>) -> Result<()>,
) -> Result<()> {
    let local: Address = local_addr.clone().into();
    let workers = options
        .workers()
        .or_else(|| thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let worker = WorkerContext {
        control,
        options,
        local: &local,
    };
    visit(Serve {
        worker,
        workers,
        local: local_addr,
    })
}
