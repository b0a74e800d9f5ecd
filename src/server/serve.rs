//! Serving an [`EchoServer`]: one client ([`serve_once`](EchoServer::serve_once)), every
//! client on the event loop ([`serve`](EchoServer::serve)), or in the background
//! ([`spawn`](EchoServer::spawn)).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread;

use super::EchoServer;
use crate::addr::Address;
use crate::echo::ServeOnce;
use crate::engine::{Control, Serve, Stats, WorkerContext};
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::handle::ServerHandle;
use crate::options::Options;
use crate::transport::Transport;
use crate::transport::sealed::Socket;

impl<T: Transport> EchoServer<T> {
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
    /// than the [`buffer_size`](Options::with_buffer_size), which is not echoed. Over TLS,
    /// `Error::Tls` for a session that fails, one whose handshake outlasts the handshake
    /// timeout included (named `HandshakeTimeout`, as [`serve`](Self::serve) counts it,
    /// whatever the read timeout).
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

    /// Serves every client, on an event loop per worker thread, until the server is shut
    /// down through a [`ShutdownHandle`](crate::ShutdownHandle); then returns the final [`Stats`].
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
