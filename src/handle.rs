//! `ServerHandle`: a server running on a background thread, stopped when dropped.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::{Control, ShutdownHandle, Stats};
use crate::error::{Error, Result};
use crate::faults::{Down, Faults};
use crate::record::Record;
use crate::transport::{Tcp, Transport};
use crate::until::Until;

/// A server started by [`EchoServer::spawn`](crate::EchoServer::spawn).
///
/// Dropping the handle stops the server as [`stop`](Self::stop) does and waits for it, so the
/// port is free again once the drop returns: with nothing owed to its clients (idle ones
/// included) that takes a few milliseconds. Use [`join`](Self::join) to get the final
/// [`Stats`] and any error.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer};
///
/// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
/// let addr = handle.local_addr();
/// EchoClient::connect(addr)?.echo(b"hello")?;
/// drop(handle);
/// // The port is free again.
/// let again = EchoServer::bind(addr)?;
/// assert_eq!(again.local_addr(), addr);
/// # Ok::<(), socket_echo::Error>(())
/// ```
///
/// A handle that is not kept stops its server at once, so leaving it unused is warned
/// about (and is an error where warnings are denied):
///
/// ```compile_fail
/// # #![deny(warnings)]
/// # fn main() -> socket_echo::Result<()> {
/// socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?; // stopped as soon as it started
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "dropping a `ServerHandle` stops its server: keep it for as long as the server must run"]
pub struct ServerHandle<T: Transport = Tcp> {
    local_addr: T::Addr,
    control: Arc<Control>,
    thread: Option<JoinHandle<Result<Stats>>>,
}

impl<T: Transport> ServerHandle<T> {
    pub(crate) fn new(
        local_addr: T::Addr,
        control: Arc<Control>,
        thread: JoinHandle<Result<Stats>>,
    ) -> Self {
        ServerHandle {
            local_addr,
            control,
            thread: Some(thread),
        }
    }

    /// The address the server is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// assert_ne!(handle.local_addr().port(), 0);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn local_addr(&self) -> T::Addr {
        self.local_addr.clone()
    }

    /// What the server has done so far. Byte counts are added after each write, so a
    /// client may hold its echo a moment before the count shows it; the stats returned by
    /// [`join`](Self::join) are exact.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// client.echo(b"abc")?;
    /// // Counted when accepted, before any byte could be echoed.
    /// assert_eq!(handle.stats().accepted, 1);
    /// assert_eq!(handle.stats().active, 1);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.control.stats()
    }

    /// Blocks until `condition` holds for the server's [`Stats`], and returns them; `None`
    /// if `timeout` passes first, or the server stops without them satisfying it.
    ///
    /// The workers wake the wait when their counters move (at the end of each turn of their
    /// event loop), so it returns as soon as the condition holds, with no polling. While
    /// nobody waits, that costs each turn one atomic load. For async code, see
    /// [`until`](Self::until).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, EchoServer, Udp};
    ///
    /// let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")?.spawn()?;
    /// let addr = handle.local_addr();
    /// std::thread::spawn(move || EchoClient::connect_on(Udp, addr)?.echo(b"one datagram"));
    /// let stats = handle.wait_until(|s| s.datagrams_echoed == 1, Duration::from_secs(10));
    /// assert_eq!(stats.map(|s| s.bytes_in), Some(12));
    /// // Nothing else comes: the wait ends at its timeout.
    /// assert!(handle.wait_until(|s| s.datagrams_echoed == 2, Duration::from_millis(20)).is_none());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn wait_until(
        &self,
        mut condition: impl FnMut(&Stats) -> bool,
        timeout: Duration,
    ) -> Option<Stats> {
        self.block_until(timeout, |control| {
            let stats = control.stats();
            condition(&stats).then_some(stats)
        })
    }

    /// Blocks until the server has accepted `n` connections in all
    /// ([`Stats::accepted`], those refused by a limit included), and returns `true`; `false`
    /// if `timeout` passes first or the server stops. See [`wait_until`](Self::wait_until).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let addr = handle.local_addr();
    /// let client = std::thread::spawn(move || EchoClient::connect(addr));
    /// assert!(handle.wait_for_connections(1, Duration::from_secs(10)));
    /// assert_eq!(handle.stats().accepted, 1);
    /// assert!(!handle.wait_for_connections(2, Duration::from_millis(20)));
    /// # drop(client.join().unwrap()?);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn wait_for_connections(&self, n: u64, timeout: Duration) -> bool {
        self.wait_until(|stats| stats.accepted >= n, timeout)
            .is_some()
    }

    /// A future that is ready once `condition` holds for the server's [`Stats`] (with them),
    /// or once the server has stopped without them satisfying it (with `None`): the form
    /// of [`wait_until`](Self::wait_until) for async code, which never blocks the thread
    /// that polls it. It works with any runtime and needs none of its features: the
    /// server's workers wake it (see [`Until`]). Give it a time limit with the runtime's
    /// timeout.
    ///
    /// Stopping the server from async code without blocking: [`stop`](Self::stop), await
    /// `until(|_| false)` (ready once the server has stopped and released its socket), then
    /// [`join`](Self::join) or drop the handle, which returns at once.
    ///
    /// # Examples
    ///
    /// `block_on` stands for any executor's; `bench/tests/async_fixture.rs` does the same
    /// in a `#[tokio::test]`, with `tokio::time::timeout`.
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     use std::sync::Arc;
    /// #     use std::task::{Context, Poll, Wake, Waker};
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl Wake for Unpark {
    /// #         fn wake(self: Arc<Self>) {
    /// #             self.0.unpark()
    /// #         }
    /// #     }
    /// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = std::pin::pin!(future);
    /// #     loop {
    /// #         if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             return out;
    /// #         }
    /// #         std::thread::park();
    /// #     }
    /// # }
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let addr = handle.local_addr();
    /// let clients = std::thread::spawn(move || -> socket_echo::Result<()> {
    ///     for _ in 0..3 {
    ///         EchoClient::connect(addr)?.echo(b"hi")?;
    ///     }
    ///     Ok(())
    /// });
    /// let stats = block_on(handle.until(|s| s.accepted == 3));
    /// assert_eq!(stats.map(|s| s.accepted), Some(3));
    /// clients.join().unwrap()?;
    ///
    /// handle.stop();
    /// assert!(block_on(handle.until(|_| false)).is_none()); // the server has stopped
    /// let stats = handle.join()?; // returns at once
    /// assert_eq!(stats.bytes_out, 6);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn until<F: FnMut(&Stats) -> bool + Unpin>(&self, condition: F) -> Until<'_, F> {
        Until::new(&self.control, condition)
    }

    /// What the server has recorded so far, if it records (see
    /// [`EchoServer::with_recording`](crate::EchoServer::with_recording)); empty otherwise.
    /// Bytes are recorded as they are read, before they are echoed, so a client that has
    /// its echo back finds them here.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Recording, Udp};
    ///
    /// let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")?
    ///     .with_recording(Recording::new(64))
    ///     .spawn()?;
    /// let mut client = EchoClient::connect_on(Udp, handle.local_addr())?;
    /// client.echo(b"one")?;
    /// client.echo(b"two")?;
    /// let record = handle.record();
    /// let payloads: Vec<&[u8]> = record.datagrams.iter().map(|d| &d.payload[..]).collect();
    /// assert_eq!(payloads, [&b"one"[..], b"two"]);
    /// assert_eq!(record.datagrams[0].source, client.local_addr()?);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn record(&self) -> Record {
        self.control.record()
    }

    /// Blocks until `condition` holds for the server's [`Record`], and returns it; `None` if
    /// `timeout` passes first or the server stops without it satisfying it. Woken by the
    /// workers, as [`wait_until`](Self::wait_until) is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{ConnectionEnd, EchoClient, EchoServer, Recording};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?
    ///     .with_recording(Recording::new(64))
    ///     .spawn()?;
    /// EchoClient::connect(handle.local_addr())?.echo(b"bye")?; // and closed
    /// let ended = |r: &socket_echo::Record| r.connections.iter().any(|c| c.end.is_some());
    /// let record = handle.wait_for_record(ended, Duration::from_secs(10)).expect("ended");
    /// assert_eq!(record.connections[0].end, Some(ConnectionEnd::Closed));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn wait_for_record(
        &self,
        mut condition: impl FnMut(&Record) -> bool,
        timeout: Duration,
    ) -> Option<Record> {
        self.block_until(timeout, |control| {
            let record = control.record();
            condition(&record).then_some(record)
        })
    }

    /// Replaces the faults the server injects while it runs (see [`Faults`]). They apply to
    /// the bytes and datagrams received from then on, in connections already open too (a
    /// `connections=N` condition counts the connections accepted from then on); bytes
    /// already held back keep their release time. An empty [`Faults`] makes the server
    /// behave again.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFault`] for a fault that cannot apply to the server's transport or has
    /// a value no fault can have; the faults in force are then left as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Error, Faults};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// client.echo(b"fine")?;
    /// handle.set_faults("reset-after=2".parse()?)?;
    /// assert!(matches!(client.echo(b"broken"), Err(Error::Reset { received: 2, .. })));
    /// handle.set_faults(Faults::new())?;
    /// let mut again = EchoClient::connect(handle.local_addr())?;
    /// assert_eq!(&again.echo(b"fine again")?[..], b"fine again");
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        self.control.faults.set_checked(faults)
    }

    /// The faults in force (empty if none).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Faults};
    ///
    /// let faults: Faults = "delay=5ms".parse()?;
    /// let handle = EchoServer::bind("127.0.0.1:0")?.with_faults(faults.clone())?.spawn()?;
    /// assert_eq!(handle.faults(), faults);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.control.faults.faults()
    }

    /// Takes the server down on its address, as a server that crashed or stopped listening,
    /// until [`up`](Self::up): a stream server closes its listener, so the system refuses
    /// every connect (`ConnectionRefused`; over a Unix socket file, the file goes with the
    /// listener, so a connect finds nothing there: `NotFound`), and resets or keeps the
    /// connections open then, as `open` says; a datagram server keeps its socket and
    /// answers nothing. Returns once the listener is closed, so a connect made after it
    /// fails. Taking down a server that is down again applies `open` to the connections
    /// kept. Counted in [`FaultStats::went_down`](crate::FaultStats::went_down),
    /// [`reset_by_down`](crate::FaultStats::reset_by_down) and
    /// [`ignored_while_down`](crate::FaultStats::ignored_while_down).
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the server has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Down, EchoClient, EchoServer, Error};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let addr = server.local_addr();
    /// server.down(Down::Reset)?;
    /// assert!(matches!(EchoClient::connect(addr), Err(Error::Connect { .. })));
    /// server.up()?; // on the same port
    /// assert_eq!(&EchoClient::connect(addr)?.echo(b"back")?[..], b"back");
    /// assert_eq!(server.stats().faults.went_down, 1);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn down(&self, open: Down) -> Result<()> {
        let request = self.control.availability.ask(Some(open));
        self.carried_out(request)
    }

    /// Brings a server that went [`down`](Self::down) back on the same address: a stream
    /// server binds it again (with the server's options: `reuse_address`, on by default,
    /// lets a TCP port be bound again while connections kept open still use it), a datagram
    /// server answers again. Returns once the server accepts again. Does nothing to a
    /// server that is up.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] if the address was taken meanwhile (the server then stays down; call
    /// `up` again to retry), or [`Error::Serve`] if the server has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Down, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// server.down(Down::Keep)?;
    /// assert!(server.is_down());
    /// server.up()?;
    /// assert!(!server.is_down());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn up(&self) -> Result<()> {
        let request = self.control.availability.ask(None);
        self.carried_out(request)
    }

    /// Whether the server is [`down`](Self::down).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// assert!(!server.is_down());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn is_down(&self) -> bool {
        self.control.availability.is_down()
    }

    /// Wakes the workers to carry out `request`, and for a stream server waits until the
    /// accepting worker has (a datagram server's workers read the state on each datagram).
    fn carried_out(&self, request: u64) -> Result<()> {
        self.control.wake();
        if self.control.faults.is_stream() != Some(true) {
            return Ok(());
        }
        let stopped = || self.control.is_stopping();
        self.control
            .availability
            .wait(request, stopped)
            .unwrap_or_else(|| {
                Err(Error::Serve {
                    addr: self.local_addr.clone().into(),
                    source: std::io::Error::other("the server has stopped"),
                })
            })
    }

    /// Starts a graceful shutdown (see [`ShutdownHandle::shutdown`]) without waiting for it;
    /// [`join`](Self::join) waits. A connection that owes its peer nothing is closed once it
    /// has moved no byte for a quarter of a second, in case its peer is still streaming; for
    /// a server whose clients are idle, [`stop`](Self::stop) is prompter.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// handle.shutdown();
    /// handle.join()?;
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn shutdown(&self) {
        self.control.stop();
    }

    /// Stops the server promptly without waiting for it (it never blocks: it sets a flag
    /// and wakes the workers); [`join`](Self::join) waits, and the port is free once it
    /// returns. Dropping the handle does the same and waits.
    ///
    /// It is the graceful [`shutdown`](Self::shutdown), except for the connections that owe
    /// their peer nothing (no echo pending, no input unread) and have moved no byte since
    /// the stop: those are closed, with a clean end-of-stream, after a few milliseconds
    /// rather than a quarter of a second. A connection still moving bytes is served as a
    /// graceful shutdown serves it, and one still owed bytes when the
    /// [`shutdown_grace`](crate::Options::with_shutdown_grace) ends is reset. Calling it
    /// after `shutdown` makes that shutdown prompt.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let addr = handle.local_addr();
    /// let mut client = EchoClient::connect(addr)?;
    /// client.echo(b"idle after this")?;
    /// handle.stop(); // returns at once
    /// let stats = handle.join()?; // waits: the idle client is closed cleanly
    /// assert_eq!((stats.accepted, stats.active, stats.shutdown_resets), (1, 0, 0));
    /// let again = EchoServer::bind(addr)?; // the port is free
    /// # drop(again);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn stop(&self) {
        self.control.stop_promptly();
    }

    /// A switch that stops this server, for another thread or a signal handler.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let switch = handle.shutdown_handle();
    /// std::thread::spawn(move || switch.shutdown());
    /// handle.join()?; // returns once the other thread has flipped the switch
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(Arc::clone(&self.control))
    }

    /// True once the server has stopped, after [`shutdown`](Self::shutdown) or by itself
    /// (an error, a worker's panic): [`join`](Self::join) then returns at once. A process
    /// that serves until a signal can look at this now and then, so a server that failed is
    /// not left listening while answering no one.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// assert!(!handle.is_finished());
    /// handle.shutdown();
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// handle.join()?;
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits until the server has stopped (after [`shutdown`](Self::shutdown), a
    /// [`ShutdownHandle`], or an error) and returns its final [`Stats`].
    ///
    /// # Errors
    ///
    /// The error that stopped the server ([`Error::Serve`], or [`Error::WorkerPanicked`] if
    /// one of its workers panicked), or [`Error::Serve`] if its thread panicked otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// EchoClient::connect(handle.local_addr())?.echo(b"12345")?;
    /// handle.shutdown();
    /// let stats = handle.join()?;
    /// assert_eq!((stats.accepted, stats.bytes_in, stats.bytes_out), (1, 5, 5));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn join(mut self) -> Result<Stats> {
        self.wait()
    }

    /// Blocks until `look` finds something, the server stops, or `timeout` passes.
    fn block_until<R>(
        &self,
        timeout: Duration,
        mut look: impl FnMut(&Control) -> Option<R>,
    ) -> Option<R> {
        let waiting = self.control.progress.waiting();
        waiting.block_on(Instant::now().checked_add(timeout), || look(&self.control))
    }

    fn wait(&mut self) -> Result<Stats> {
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| {
                Err(Error::Serve {
                    addr: self.local_addr.clone().into(),
                    source: std::io::Error::other("server thread panicked"),
                })
            }),
            None => Ok(self.control.stats()),
        }
    }
}

impl<T: Transport> Drop for ServerHandle<T> {
    fn drop(&mut self) {
        self.control.stop_promptly();
        // An error here was the caller's to see through `join`; a drop has no one to tell.
        let _ = self.wait();
    }
}
