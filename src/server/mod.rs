//! `EchoServer`: binds a socket of any transport and serves it.
//!
//! The server is generic over [`Transport`]; nothing here knows which transport it runs, or
//! whether it is a stream or a datagram one. `mod.rs` binds it and says what it is bound to;
//! `serve.rs` serves it (`serve_once`, `serve`, `spawn`); `peer.rs` makes it the peer a test
//! asks for (faults on demand, a record of what it received).

mod peer;
mod serve;

use std::sync::Arc;

use crate::engine::{Control, ShutdownHandle, Stats};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::transport::Tcp;
use crate::transport::Transport;
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
