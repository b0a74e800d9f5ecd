//! The waits on a running server: blocking ([`ServerHandle::wait_until`],
//! [`ServerHandle::wait_for_connections`], [`ServerHandle::wait_for_record`]) or a future
//! ([`ServerHandle::until`]), each woken by the server's workers, never polling.

use std::time::{Duration, Instant};

use super::ServerHandle;
use crate::engine::{Control, Stats};
use crate::record::Record;
use crate::transport::Transport;
use crate::until::Until;

impl<T: Transport> ServerHandle<T> {
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
        condition: impl FnMut(&Stats) -> bool,
        timeout: Duration,
    ) -> Option<Stats> {
        self.wait_for(Control::stats, condition, timeout)
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
        condition: impl FnMut(&Record) -> bool,
        timeout: Duration,
    ) -> Option<Record> {
        self.wait_for(Control::record, condition, timeout)
    }

    /// Blocks until `condition` holds for what `read` takes from the server, and returns
    /// it; `None` if the server stops or `timeout` passes first.
    fn wait_for<V>(
        &self,
        read: impl Fn(&Control) -> V,
        mut condition: impl FnMut(&V) -> bool,
        timeout: Duration,
    ) -> Option<V> {
        let waiting = self.control.progress.waiting();
        waiting.block_on(Instant::now().checked_add(timeout), || {
            let value = read(&self.control);
            condition(&value).then_some(value)
        })
    }
}
