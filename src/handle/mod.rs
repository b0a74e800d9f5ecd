//! `ServerHandle`: a server running on a background thread, stopped when dropped.
//!
//! `mod.rs` is the handle's life (stop, join, drop); `waits.rs` the waits on the server's
//! statistics and record, woken by its workers; `peer.rs` what a test changes or reads of
//! the running server (faults, down and up, the record).

mod peer;
mod waits;

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::engine::{Control, ShutdownHandle, Stats};
use crate::error::{Error, Result};
use crate::transport::{Tcp, Transport};

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
