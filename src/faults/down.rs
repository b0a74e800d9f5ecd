//! A server that goes down and comes back on the same address, asked through
//! [`ServerHandle::down`](crate::ServerHandle::down) and
//! [`up`](crate::ServerHandle::up).
//!
//! The handle asks and the workers carry it out: the accepting worker of a stream server
//! closes its listener (the system then refuses every connect) or binds the same address
//! again, and says so, so that `down` and `up` return once it is true; every worker resets
//! its open connections if asked. A datagram server keeps its socket and answers nothing
//! while it is down. This module never touches a socket: it is the meeting point.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::Error;

/// What a server going down does with the connections open then (see
/// [`ServerHandle::down`](crate::ServerHandle::down)). New connections are refused either
/// way, and so are those the system had queued but the server not accepted yet.
///
/// # Examples
///
/// ```
/// use socket_echo::{Down, EchoClient, EchoServer};
///
/// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
/// let mut open = EchoClient::connect(server.local_addr())?;
/// open.echo(b"served")?; // accepted: a connection still queued goes with the listener
/// server.down(Down::Keep)?;
/// assert!(EchoClient::connect(server.local_addr()).is_err()); // refused
/// assert_eq!(&open.echo(b"still served")?[..], b"still served");
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Down {
    /// Open connections go on being echoed, as by a process that stopped listening.
    Keep,
    /// Open connections are reset, as by a process that crashed (over a Unix socket, their
    /// peers see an end-of-stream unless they had sent bytes not read yet).
    Reset,
}

/// Where the handle and the workers of one server meet about going down and up.
#[derive(Debug, Default)]
pub(crate) struct Availability {
    /// Moves with each request; workers compare it with the last they carried out.
    version: AtomicU64,
    /// True while the server is down (datagram workers read it once per batch).
    down: AtomicBool,
    /// Times the server went down.
    downs: AtomicU64,
    state: Mutex<State>,
    carried: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// What the last request asked: down (and how), or up (`None`).
    wanted: Option<Down>,
    /// The last request the accepting worker carried out, and its error if it failed.
    done: u64,
    error: Option<Error>,
}

impl Availability {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves with each request; 0 if none was ever made.
    #[inline]
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// True while the server is down.
    #[inline]
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Times the server went down.
    pub(crate) fn downs(&self) -> u64 {
        self.downs.load(Ordering::Relaxed)
    }

    /// Asks the server to go down (`Some`) or up (`None`); returns the request's number.
    pub(crate) fn ask(&self, wanted: Option<Down>) -> u64 {
        let mut state = self.state();
        state.wanted = wanted;
        if wanted.is_some() && !self.down.swap(true, Ordering::Relaxed) {
            self.downs.fetch_add(1, Ordering::Relaxed);
        }
        if wanted.is_none() {
            self.down.store(false, Ordering::Relaxed);
        }
        self.version.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The request in force and its number.
    pub(crate) fn wanted(&self) -> (u64, Option<Down>) {
        let state = self.state();
        (self.version(), state.wanted)
    }

    /// Says request `version` was carried out by the accepting worker, or why it could not
    /// be (the server then stays down).
    pub(crate) fn carried(&self, version: u64, error: Option<Error>) {
        let mut state = self.state();
        if error.is_some() {
            self.down.store(true, Ordering::Relaxed);
        }
        state.done = state.done.max(version);
        state.error = error;
        self.carried.notify_all();
    }

    /// Waits until request `version` was carried out, and returns its error; `None` if
    /// `stopped` says no worker will carry it out any more.
    pub(crate) fn wait(
        &self,
        version: u64,
        stopped: impl Fn() -> bool,
    ) -> Option<Result<(), Error>> {
        let mut state = self.state();
        loop {
            if state.done >= version {
                return Some(match state.error.take() {
                    Some(error) => Err(error),
                    None => Ok(()),
                });
            }
            if stopped() {
                return None;
            }
            // Woken by `carried`; the timeout only notices a server that stopped meanwhile.
            state = self
                .carried
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
