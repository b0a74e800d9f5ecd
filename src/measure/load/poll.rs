//! The polling of one load thread, shared by the drive and the loops of both kinds: how a
//! client socket joins the poll, how many events are taken at once, how often timeouts are
//! looked at, and the wait. A leaf: it imports nothing of `load`.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::error::{Error, Result};
use crate::transport::sealed::Socket;

/// How often a load thread looks for messages past their timeout (and retries a refused
/// UDP send) when no event wakes it sooner.
pub(super) const TICK: Duration = Duration::from_millis(5);

/// Readiness events taken from the poll at once.
pub(super) const EVENTS: usize = 1024;

/// Makes a client socket nonblocking and registers it with `poll`; the event loop then uses
/// the socket itself.
pub(super) fn register(
    socket: &impl Socket,
    poll: &Poll,
    token: Token,
    interest: Interest,
) -> Result<()> {
    socket
        .set_nonblocking(true)
        .map_err(|source| Error::SetOption {
            option: "nonblocking",
            source,
        })?;
    socket
        .register(poll.registry(), token, interest)
        .map_err(|source| Error::Poll { source })
}

/// Waits for events, up to the next look at the timeouts. False if the poll failed.
pub(super) fn wait(poll: &mut Poll, events: &mut Events, until: Instant) -> bool {
    let timeout = until.saturating_duration_since(Instant::now());
    loop {
        match poll.poll(events, Some(timeout)) {
            Ok(()) => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}
