//! The event loop behind [`EchoServer::serve`](crate::EchoServer::serve): worker threads, each
//! with its own `mio` poll, the shared shutdown switch, and the counters.
//!
//! This module owns threads and readiness; it never makes a socket (the transports do) and
//! asks everything else of one (its registration, its blocking mode, a reset) through the
//! transport's capabilities, never through a descriptor. It never allocates per byte echoed.

use std::any::Any;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::{Poll, Token, Waker};

use crate::addr::Address;
use crate::options::Options;
use crate::record::{Record, Recorder, Recording};
use crate::transport::Transport;
use crate::transport::sealed::{Datagram, Listener, ServerVisitor};

mod datagram;
mod descriptors;
mod limiter;
mod loops;
mod progress;
mod sources;
mod stream;

pub(crate) use crate::stats::{Counters, Stats};
pub(crate) use progress::{Look, Waiting};

/// The token of each worker's waker; connections use slab keys, far below it.
pub(crate) const WAKER: Token = Token(usize::MAX);
/// The token of the listening or datagram socket.
pub(crate) const SOCKET: Token = Token(usize::MAX - 1);

/// Runs the engine of a transport's kind on its server socket: [`stream::serve`] for a
/// listener, [`datagram::serve`] for a datagram socket.
pub(crate) struct Serve<'a, T: Transport> {
    pub(crate) worker: WorkerContext<'a>,
    pub(crate) workers: usize,
    pub(crate) local: &'a T::Addr,
}

impl<T: Transport> ServerVisitor<T> for Serve<'_, T> {
    type Output = crate::Result<()>;

    fn stream<L: Listener<Addr = T::Addr>>(self, listener: &L) -> Self::Output {
        let listening = stream::Listening::Borrowed(listener);
        stream::serve(listening, self.local, self.worker, self.workers)
    }

    fn stream_owned<L: Listener<Addr = T::Addr>>(self, listener: L) -> Self::Output {
        let listening = stream::Listening::Owned(listener);
        stream::serve(listening, self.local, self.worker, self.workers)
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Self::Output {
        datagram::serve(socket, self.local, self.worker, self.workers)
    }
}

/// What one worker is given: the server's shared state, its options, its address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkerContext<'a> {
    pub(crate) control: &'a Control,
    pub(crate) options: &'a Options,
    pub(crate) local: &'a Address,
}

impl WorkerContext<'_> {
    /// Runs `body(index)` for each of `count` workers, the first on this thread and the
    /// others on threads of their own, and returns the first error. One worker failing, or
    /// panicking ([`Error::WorkerPanicked`](crate::Error::WorkerPanicked)), stops the others,
    /// so `serve` never half-runs.
    pub(crate) fn spawn(
        &self,
        count: usize,
        body: impl Fn(usize) -> crate::Result<()> + Sync,
    ) -> crate::Result<()> {
        let serve_error = |source| crate::Error::Serve {
            addr: self.local.clone(),
            source,
        };
        let run = |index| {
            // A panic in a worker fails the server, with its message, rather than leave the
            // others serving without it (or, worker 0 being the one that accepts, leave a
            // server that listens and answers no one). Nothing a worker shares is left
            // half-changed by an unwinding one: counters are atomics, and every lock is
            // taken with `PoisonError::into_inner`.
            let result =
                panic::catch_unwind(AssertUnwindSafe(|| body(index))).unwrap_or_else(|payload| {
                    Err(crate::Error::WorkerPanicked {
                        addr: self.local.clone(),
                        worker: index,
                        message: panic_message(payload.as_ref()),
                    })
                });
            if result.is_err() {
                self.control.stop();
            }
            result
        };
        let run = &run;
        std::thread::scope(|scope| {
            let mut others = Vec::with_capacity(count.saturating_sub(1));
            for index in 1..count {
                let spawned = std::thread::Builder::new()
                    .name(format!("echo-worker-{index}"))
                    .spawn_scoped(scope, move || run(index));
                match spawned {
                    Ok(handle) => others.push(handle),
                    Err(source) => {
                        self.control.stop();
                        return Err(serve_error(source));
                    }
                }
            }
            let mut result = run(0);
            for handle in others {
                // `run` catches the worker's panic: a thread that panicked anyway did so
                // outside it, and says nothing more.
                let joined = handle
                    .join()
                    .unwrap_or_else(|_| Err(serve_error(io::Error::other("worker panicked"))));
                result = result.and(joined);
            }
            result
        })
    }

    /// Gives `body` a poll of its own, this worker's counters and the waker of its poll,
    /// registered with the shutdown switch for as long as it runs.
    pub(crate) fn run(
        &self,
        body: impl FnOnce(&mut Poll, &Counters, &Arc<Waker>) -> io::Result<()>,
    ) -> crate::Result<()> {
        let io_error = |source| crate::Error::Serve {
            addr: self.local.clone(),
            source,
        };
        let mut poll = Poll::new().map_err(io_error)?;
        let (counters, waker) = self.control.register(&poll).map_err(io_error)?;
        let result = body(&mut poll, &counters, &waker).map_err(io_error);
        self.control.unregister(&waker);
        result
    }
}

/// The message a panic was raised with (`panic!("...")`'s text), or a placeholder when it
/// carried something else.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(message), _) => (*message).to_owned(),
        (None, Some(message)) => message.clone(),
        (None, None) => "a panic that carried no message".to_owned(),
    }
}

/// What every worker of one server shares: the shutdown switch, the wakers that carry it, the
/// counters and the connection count the limit is checked against.
#[derive(Debug, Default)]
pub(crate) struct Control {
    stopping: AtomicBool,
    /// Set with `stopping` by a prompt stop (see [`Control::stop_promptly`]).
    prompt: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
    /// Connections open right now, across workers.
    pub(crate) active: AtomicUsize,
    /// The connection cap in force, set when a stream `serve` starts: the configured one, or
    /// fewer if the descriptor limit is short.
    pub(crate) max_connections: AtomicUsize,
    /// Connections open per source address, kept only with `max_connections_per_source`.
    pub(crate) sources: sources::Sources,
    /// One set of counters per worker that ever ran, so no counter is shared between threads.
    counters: Mutex<Vec<Arc<Counters>>>,
    /// The faults the server injects, changeable while it runs.
    pub(crate) faults: crate::faults::Switch,
    /// What wakes a thread or task waiting for the counters to reach something.
    pub(crate) progress: progress::Waits,
    /// What the server keeps of what it receives, if it records (taken by each worker as it
    /// starts).
    pub(crate) recorder: Mutex<Option<Arc<Recorder>>>,
    /// Whether the server is down, and the requests to go down or up.
    pub(crate) availability: crate::faults::down::Availability,
    /// What the transport counts itself (a TLS server: its handshakes), added to the stats.
    transport_stats: Option<crate::transport::sealed::StatsSource>,
}

impl Control {
    /// A server's control, adding what its transport counts itself to its statistics.
    pub(crate) fn with_transport_stats(
        transport_stats: Option<crate::transport::sealed::StatsSource>,
    ) -> Control {
        Control {
            transport_stats,
            ..Control::default()
        }
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Makes the server record as `recording` says, from the next `serve` on.
    pub(crate) fn set_recording(&self, recording: Recording) {
        *self.recorder.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Arc::new(Recorder::new(recording)));
    }

    /// The recorder of a server that records.
    pub(crate) fn recorder(&self) -> Option<Arc<Recorder>> {
        self.recorder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What the server has recorded so far (empty if it does not record).
    pub(crate) fn record(&self) -> Record {
        self.recorder()
            .map_or_else(Record::default, |recorder| recorder.snapshot())
    }

    /// Whether the stop asked for is a prompt one.
    pub(crate) fn is_prompt(&self) -> bool {
        self.prompt.load(Ordering::Acquire)
    }

    /// Asks every worker to stop promptly: as [`stop`](Self::stop), but a connection that
    /// owes its peer nothing and has moved no byte since the stop is closed within a few
    /// milliseconds, without the quarter of a second a graceful shutdown waits for a peer
    /// that may still be streaming. Also makes a graceful shutdown already under way prompt.
    pub(crate) fn stop_promptly(&self) {
        self.prompt.store(true, Ordering::Release);
        self.stop();
    }

    /// Asks every worker to stop: sets the flag, then wakes each registered poll.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake();
    }

    /// Wakes every worker, to look at a request from the handle.
    pub(crate) fn wake(&self) {
        let wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        for waker in wakers.iter() {
            // A worker whose poll is gone has already stopped.
            let _ = waker.wake();
        }
    }

    /// Registers a worker: its waker (before it checks the flag, so no stop is missed) and a
    /// fresh set of counters.
    pub(crate) fn register(&self, poll: &Poll) -> io::Result<(Arc<Counters>, Arc<Waker>)> {
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&waker));
        let counters = Arc::new(Counters::default());
        self.counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&counters));
        Ok((counters, waker))
    }

    /// Forgets a finished worker's waker; its counters stay, to keep totals cumulative.
    pub(crate) fn unregister(&self, waker: &Arc<Waker>) {
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|w| !Arc::ptr_eq(w, waker));
    }

    /// The sum of every worker's counters.
    pub(crate) fn stats(&self) -> Stats {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stats = Stats::default();
        for c in counters.iter() {
            c.add_to(&mut stats);
        }
        stats.active = self.active.load(Ordering::Relaxed) as u64;
        stats.max_connections = self.max_connections.load(Ordering::Relaxed) as u64;
        stats.faults.went_down = self.availability.downs();
        if let Some(source) = &self.transport_stats {
            (source.0)(&mut stats);
        }
        stats
    }
}

/// A cloneable, `Send` switch that stops a running [`EchoServer::serve`](crate::EchoServer::serve)
/// gracefully, from any thread or a signal handler's thread.
///
/// Stopping is a one-way switch: a server that was shut down stays shut down, and `serve`
/// returns at once if called again.
///
/// # Examples
///
/// ```
/// use socket_echo::EchoServer;
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let shutdown = server.shutdown_handle();
/// let stopper = std::thread::spawn(move || shutdown.shutdown());
/// let stats = server.serve()?; // returns once the other thread has called `shutdown`
/// stopper.join().unwrap();
/// assert_eq!(stats.accepted, 0);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    control: Arc<Control>,
}

impl ShutdownHandle {
    pub(crate) fn new(control: Arc<Control>) -> Self {
        ShutdownHandle { control }
    }

    /// Stops the server: it stops accepting at once, goes on echoing to live connections
    /// until each owes its peer nothing (for at most the
    /// [`shutdown_grace`](crate::Options::with_shutdown_grace); connections still owed bytes
    /// then are reset, never closed quietly), and `serve` returns its final [`Stats`]. See
    /// [`EchoServer::serve`](crate::EchoServer::serve). Calling it again does nothing.
    pub fn shutdown(&self) {
        self.control.stop();
    }

    /// Whether [`shutdown`](Self::shutdown) has been called.
    pub fn is_shutdown(&self) -> bool {
        self.control.is_stopping()
    }
}

/// A millisecond clock on 32 bits, read once per loop turn, for idle times: a connection
/// keeps four bytes of it rather than a sixteen-byte `Instant`. Differences are taken with
/// wrapping arithmetic, which is exact for spans under 24 days.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            start: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> u32 {
        // Truncation is the point: the clock wraps every 49 days.
        self.start.elapsed().as_millis() as u32
    }
}

/// Milliseconds in `d`, saturated to the clock's range.
pub(crate) fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX / 2)
}

/// Milliseconds from `now` until `deadline`, both on a [`Clock`]; zero once it has passed.
///
/// The difference is taken as signed: a deadline passed by a millisecond while a turn was
/// being handled is due now, not in 49 days.
pub(crate) fn millis_until(deadline: u32, now: u32) -> u32 {
    (deadline.wrapping_sub(now) as i32).max(0) as u32
}

/// True for errors that mean "try again later": nothing to read or no room to write.
pub(crate) fn would_block(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}

/// True for an interrupted system call, which is simply repeated.
pub(crate) fn interrupted(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Interrupted
}

/// At most one message a second for each kind of event a peer can cause over and over; the
/// count of those held back is given with the next one.
#[derive(Debug, Default)]
pub(crate) struct RateLimit {
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    last: Option<Instant>,
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    suppressed: u64,
}

impl RateLimit {
    /// Logs `message` at warn level unless one was logged less than a second ago.
    #[cfg(feature = "log")]
    pub(crate) fn warn(&mut self, message: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        if self.suppressed > 0 {
            log::warn!(
                "{message} ({} similar messages suppressed)",
                self.suppressed
            );
        } else {
            log::warn!("{message}");
        }
        self.last = Some(now);
        self.suppressed = 0;
    }

    /// Without the `log` feature there is nowhere to write to.
    #[cfg(not(feature = "log"))]
    pub(crate) fn warn(&mut self, _message: std::fmt::Arguments<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs [`WorkerContext::spawn`] over `count` workers of which worker `bad` panics while the
    /// others serve until they are stopped, as an engine's do.
    fn spawn_with_a_panic(count: usize, bad: usize) -> crate::Result<()> {
        let control = Control::default();
        let options = Options::new();
        let local = Address::Ip("127.0.0.1:7".parse().unwrap());
        let worker = WorkerContext {
            control: &control,
            options: &options,
            local: &local,
        };
        worker.spawn(count, |index| {
            if index == bad {
                panic!("worker {index} broke");
            }
            // Bounded, so a worker that is never stopped fails the test rather than hang it.
            let deadline = Instant::now() + Duration::from_secs(10);
            while !control.is_stopping() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(control.is_stopping(), "worker {index} was never stopped");
            Ok(())
        })
    }

    #[test]
    fn a_worker_that_panics_stops_the_others_and_fails_the_server_with_its_message() {
        for (count, bad) in [(1, 0), (3, 0), (3, 2)] {
            match spawn_with_a_panic(count, bad) {
                Err(crate::Error::WorkerPanicked {
                    worker, message, ..
                }) => {
                    assert_eq!(worker, bad);
                    assert_eq!(message, format!("worker {bad} broke"));
                }
                other => panic!("{count} workers, {bad} panicking: {other:?}"),
            }
        }
    }

    #[test]
    fn the_message_of_a_panic_is_kept_whatever_it_was_raised_with() {
        assert_eq!(panic_message(&"plain"), "plain");
        assert_eq!(panic_message(&String::from("formatted 7")), "formatted 7");
        assert_eq!(panic_message(&7u32), "a panic that carried no message");
    }

    #[test]
    fn millis_until_is_zero_once_the_deadline_has_passed() {
        assert_eq!(millis_until(100, 90), 10);
        assert_eq!(millis_until(100, 100), 0);
        assert_eq!(millis_until(100, 101), 0);
        assert_eq!(millis_until(100, 5_000), 0);
        // Across the clock's wrap.
        assert_eq!(millis_until(5, u32::MAX - 4), 10);
        assert_eq!(millis_until(u32::MAX - 4, 5), 0);
    }
}
