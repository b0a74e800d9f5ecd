//! TLS: a transport that wraps a stream transport ([`Tls::over`]`(Tcp)`,
//! `Tls::over(Unix)`), with rustls and its ring crypto provider.
//!
//! The wrapped transport makes, tunes and binds the sockets; this module adds a TLS session to
//! each connection and implements the capabilities over it: a read returns plaintext (the
//! records that arrived are decrypted, the handshake's answers written on the way), a write
//! takes plaintext and writes records, `flush` writes what the session still holds, "bytes
//! waiting" means plaintext, and everything else (registration, timeouts, a reset, the peer's
//! address) is the wrapped connection's. The echo loops, the engine, the faults and `measure`
//! see a connection like any other.
//!
//! `settings.rs` holds the settings and the rustls configurations, `session.rs` one
//! connection's session; this file the transport, its server socket and its listener.

use std::io;
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mio::{Interest, Registry, Token};
use rustls::ServerConfig;

use super::sealed::{
    ClientVisitor, ClientsVisitor, Connection, Kind, Listener, Sealed, ServerVisitor,
    SessionFaults, Socket,
};
use super::{BadCertificate, HandshakeStall};
use super::{Tcp, Transport, Unix};
use crate::addr::UnixAddr;
use crate::certificate::{Identity, Validity};
use crate::error::{Error, Result, TlsFailure};
use crate::options::{Options, TlsOptions};
use crate::stats::Stats;

mod counters;
mod session;
mod settings;
#[cfg(test)]
mod tests;

pub(crate) use counters::TlsCounters;
pub use session::Session;
use session::{RESET_HANDSHAKE, STALL_FINISHED, STALL_HELLO, TRUNCATE};

/// The TLS transport: TLS 1.2 and 1.3 (rustls, with ring) over a stream transport, [`Tcp`]
/// or [`Unix`].
///
/// The wrapped transport binds, connects and tunes the sockets as it does alone; the TLS
/// settings are [`Options::with_tls`](crate::Options::with_tls). A server with no identity
/// makes a self-signed certificate at bind for `localhost` and the address it binds (every
/// loopback address for an unspecified one), and shows it with
/// [`EchoServer::certificate`](crate::EchoServer::certificate) so the client under test can
/// trust exactly it.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Options, Tcp, Tls, TlsOptions};
///
/// let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0")?;
/// let trust = TlsOptions::new().with_trusted(server.certificate().clone());
/// let addr = server.local_addr();
/// let served = std::thread::spawn(move || server.serve_once());
///
/// let mut client = EchoClient::connect_on_with(Tls::over(Tcp), addr, Options::new().with_tls(trust))?;
/// assert_eq!(&client.echo(b"hello over tls")?[..], b"hello over tls");
/// drop(client);
/// served.join().expect("server thread")?;
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tls<S = Tcp>(S);

impl<S> Tls<S> {
    /// TLS over the stream transport `inner`.
    pub const fn over(inner: S) -> Tls<S> {
        Tls(inner)
    }
}

impl Transport for Tls<Tcp> {
    type Addr = SocketAddr;
}

impl Transport for Tls<Unix> {
    type Addr = UnixAddr;
}

/// A stream transport TLS can wrap, and what TLS needs to know of its addresses.
pub(crate) trait Wrapped:
    Transport
    + Sealed<
        Server: Listener<Addr = <Self as Transport>::Addr, Stream = <Self as Sealed>::Client>,
        Client: Connection,
    >
{
    /// The name of TLS over this transport, in errors and logs.
    const TLS_NAME: &'static str;

    /// The names a self-signed certificate of a server bound to `addr` certifies.
    fn certified_names(addr: &<Self as Transport>::Addr) -> Vec<String>;

    /// The name a client connecting to `addr` verifies, unless told another.
    fn verified_name(addr: &<Self as Transport>::Addr) -> String;
}

impl Wrapped for Tcp {
    const TLS_NAME: &'static str = "tls";

    fn certified_names(addr: &SocketAddr) -> Vec<String> {
        let mut names = vec!["localhost".to_owned()];
        if addr.ip().is_unspecified() {
            names.extend(["127.0.0.1".to_owned(), "::1".to_owned()]);
        } else {
            names.push(addr.ip().to_string());
        }
        names
    }

    fn verified_name(addr: &SocketAddr) -> String {
        addr.ip().to_string()
    }
}

impl Wrapped for Unix {
    const TLS_NAME: &'static str = "tls+unix";

    fn certified_names(_: &UnixAddr) -> Vec<String> {
        vec!["localhost".to_owned()]
    }

    fn verified_name(_: &UnixAddr) -> String {
        "localhost".to_owned()
    }
}

/// A listening TLS server: the wrapped transport's listener, the rustls configuration and
/// the identity it presents.
#[derive(Debug)]
pub struct TlsServer<L> {
    inner: L,
    identity: Identity,
    config: Arc<ServerConfig>,
    counters: Arc<TlsCounters>,
    handshake_timeout: Duration,
    bad: Arc<BadConfigs>,
}

/// The rustls configurations of the bad certificates a server presents on demand
/// (`tls-cert`), one per [`BadCertificate`], each made the first time it is presented.
#[derive(Debug)]
struct BadConfigs {
    settings: TlsOptions,
    /// The names the server's certificates certify.
    names: Vec<String>,
    configs: [OnceLock<Arc<ServerConfig>>; 4],
}

/// The name a `wrong-name` certificate certifies: no server is called that (`.invalid` is
/// reserved, RFC 6761).
const WRONG_NAME: &str = "wrong-name.invalid";

impl BadConfigs {
    fn new(settings: TlsOptions, names: Vec<String>) -> BadConfigs {
        BadConfigs {
            settings,
            names,
            configs: Default::default(),
        }
    }

    /// The configuration presenting `which`, made now if it was never presented. `own` is
    /// the server's identity, whose siblings the expired, not-yet-valid and wrong-name
    /// certificates are.
    fn config(&self, which: BadCertificate, own: &Identity) -> Result<Arc<ServerConfig>> {
        let slot = &self.configs[which.index()];
        if let Some(config) = slot.get() {
            return Ok(config.clone());
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let identity = match which {
            BadCertificate::Expired => own.sibling(&names, Validity::Expired)?,
            BadCertificate::NotYetValid => own.sibling(&names, Validity::NotYetValid)?,
            BadCertificate::WrongName => own.sibling(&[WRONG_NAME], Validity::Current)?,
            BadCertificate::Untrusted => Identity::self_signed(&names)?,
        };
        let config = self.settings.server_config(&identity)?;
        Ok(slot.get_or_init(|| config).clone())
    }
}

/// The socket of a TLS server is its listener's: registration, blocking mode, timeouts.
impl<L: Listener> Socket for TlsServer<L> {
    fn register(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.register(registry, token, interest)
    }

    fn reregister(&self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        self.inner.reregister(registry, token, interest)
    }

    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        self.inner.deregister(registry)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }

    fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.wait(interest, timeout)
    }
}

/// What a closed TLS listener keeps, so that the server comes back up with the same
/// certificate.
#[derive(Debug)]
pub struct KeptTls<K> {
    inner: K,
    identity: Identity,
    config: Arc<ServerConfig>,
    counters: Arc<TlsCounters>,
    handshake_timeout: Duration,
    bad: Arc<BadConfigs>,
}

impl<L: Listener> Listener for TlsServer<L> {
    type Addr = L::Addr;
    type Stream = Session<L::Stream>;
    type Kept = KeptTls<L::Kept>;

    fn accept(&self) -> io::Result<(Session<L::Stream>, L::Addr)> {
        let (stream, addr) = self.inner.accept()?;
        let tls = rustls::ServerConnection::new(self.config.clone())
            .map_err(|e| TlsFailure::of(&e).into_io())?;
        let session = Session::new(
            stream,
            tls.into(),
            self.handshake_timeout,
            Some(self.counters.clone()),
        )?;
        Ok((session, addr))
    }

    fn prepare(
        &self,
        stream: &Session<L::Stream>,
        options: &Options,
        blocking: bool,
    ) -> Result<()> {
        // The socket stays in non-blocking mode (the wrapped listener's `prepare` leaves
        // the mode alone); the session keeps the mode and the timeouts it was given.
        self.inner.prepare(stream.inner(), options, blocking)?;
        stream.record_timeouts(options.read_timeout(), options.write_timeout());
        Ok(())
    }

    fn keep(&self) -> KeptTls<L::Kept> {
        KeptTls {
            inner: self.inner.keep(),
            identity: self.identity.clone(),
            config: self.config.clone(),
            counters: self.counters.clone(),
            handshake_timeout: self.handshake_timeout,
            bad: self.bad.clone(),
        }
    }

    fn session_faults(
        &self,
        stream: &Session<L::Stream>,
        faults: &SessionFaults,
    ) -> io::Result<()> {
        if let Some(which) = faults.certificate {
            let config = self
                .bad
                .config(which, &self.identity)
                .map_err(io::Error::other)?;
            let tls =
                rustls::ServerConnection::new(config).map_err(|e| TlsFailure::of(&e).into_io())?;
            *stream.lock() = tls.into();
        }
        let mut bits = 0;
        match faults.stall {
            Some(HandshakeStall::Hello) => bits |= STALL_HELLO,
            Some(HandshakeStall::Finished) => bits |= STALL_FINISHED,
            None => {}
        }
        if faults.reset {
            bits |= RESET_HANDSHAKE;
        }
        if faults.truncate {
            bits |= TRUNCATE;
        }
        stream.faults.fetch_or(bits, Ordering::Relaxed);
        Ok(())
    }

    fn bind_again(kept: &KeptTls<L::Kept>, addr: &L::Addr, options: &Options) -> Result<Self> {
        Ok(TlsServer {
            inner: L::bind_again(&kept.inner, addr, options)?,
            identity: kept.identity.clone(),
            config: kept.config.clone(),
            counters: kept.counters.clone(),
            handshake_timeout: kept.handshake_timeout,
            bad: kept.bad.clone(),
        })
    }
}

/// The capabilities of TLS over one wrapped transport (a macro, since `Sealed`'s types
/// cannot be named through a generic impl that also requires `Tls<S>: Transport`).
macro_rules! tls_over {
    ($inner:ident) => {
        impl Sealed for Tls<$inner> {
            const NAME: &'static str = <$inner>::TLS_NAME;
            type Server = TlsServer<<$inner as Sealed>::Server>;
            type Client = Session<<$inner as Sealed>::Client>;

            const KIND: Kind = Kind::Stream;
            const SESSION_FAULTS: bool = true;

            fn server_fd(server: &Self::Server) -> BorrowedFd<'_> {
                <$inner>::server_fd(&server.inner)
            }

            fn client_fd(client: &Self::Client) -> BorrowedFd<'_> {
                <$inner>::client_fd(client.inner())
            }

            fn stats_source(server: &Self::Server) -> Option<super::sealed::StatsSource> {
                let counters = server.counters.clone();
                Some(super::sealed::StatsSource(Arc::new(
                    move |stats: &mut Stats| stats.tls = counters.snapshot(),
                )))
            }

            fn identity(server: &Self::Server) -> Option<&Identity> {
                Some(&server.identity)
            }

            fn check(options: &Options) -> Result<()> {
                options.refuse_inapplicable(Self::NAME)
            }

            fn bind(addr: &<Self as Transport>::Addr, options: &Options) -> Result<Self::Server> {
                let inner = <$inner>::bind(addr, options)?;
                let settings = options.tls().cloned().unwrap_or_default();
                let bound = <$inner>::local_addr(&inner).map_err(|source| Error::Bind {
                    transport: Self::NAME,
                    addr: addr.clone().into(),
                    source,
                })?;
                let names = <$inner>::certified_names(&bound);
                let identity = match settings.identity() {
                    Some(identity) => identity.clone(),
                    None => {
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        Identity::self_signed(&names)?
                    }
                };
                let config = settings.server_config(&identity)?;
                Ok(TlsServer {
                    inner,
                    identity,
                    config,
                    counters: Arc::default(),
                    handshake_timeout: settings.handshake_timeout(),
                    bad: Arc::new(BadConfigs::new(settings, names)),
                })
            }

            fn local_addr(server: &Self::Server) -> io::Result<<Self as Transport>::Addr> {
                <$inner>::local_addr(&server.inner)
            }

            fn connect(
                addr: &<Self as Transport>::Addr,
                options: &Options,
            ) -> Result<Self::Client> {
                let settings = options.tls().cloned().unwrap_or_default();
                let config = settings.client_config()?;
                let name = settings.name_to_verify(&<$inner>::verified_name(addr))?;
                let inner = <$inner>::connect(addr, options)?;
                let tls = rustls::ClientConnection::new(config, name).map_err(|e| Error::Tls {
                    addr: addr.clone().into(),
                    reason: TlsFailure::of(&e),
                })?;
                let session = Session::new(inner, tls.into(), settings.handshake_timeout(), None)
                    .map_err(|source| Error::SetOption {
                    option: "nonblocking",
                    source,
                })?;
                // The handshake waits for its own deadline; the reads and writes after it,
                // for these.
                session.record_timeouts(options.read_timeout(), options.write_timeout());
                session
                    .handshake()
                    .map_err(|source| handshake_error(addr.clone().into(), source))?;
                Ok(session)
            }

            fn client_addr(client: &Self::Client) -> io::Result<<Self as Transport>::Addr> {
                <$inner>::client_addr(client.inner())
            }

            fn visit_server<V: ServerVisitor<Self>>(
                server: &Self::Server,
                visitor: V,
            ) -> V::Output {
                visitor.stream(server)
            }

            fn visit_owned<V: ServerVisitor<Self>>(server: Self::Server, visitor: V) -> V::Output {
                visitor.stream_owned(server)
            }

            fn visit_client<V: ClientVisitor<Self>>(
                client: &Self::Client,
                visitor: V,
            ) -> V::Output {
                visitor.stream(client)
            }

            fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
                clients: Vec<&'a Self::Client>,
                visitor: V,
            ) -> V::Output {
                visitor.stream(clients)
            }
        }
    };
}

tls_over!(Tcp);
tls_over!(Unix);

/// The error of a client's handshake: the TLS reason if there is one, a timeout as
/// [`TlsFailure::HandshakeTimeout`], else the connection's error.
fn handshake_error(addr: crate::addr::Address, source: io::Error) -> Error {
    if let Some(reason) = TlsFailure::in_io(&source) {
        return Error::Tls {
            addr,
            reason: reason.clone(),
        };
    }
    match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Tls {
            addr,
            reason: TlsFailure::HandshakeTimeout,
        },
        _ => Error::Receive { addr, source },
    }
}
