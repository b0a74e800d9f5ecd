//! The end of a stream worker: after a shutdown, echoing goes on for at most the grace
//! period, so that every connection ends whole or visibly broken, never with a quiet
//! truncation.

use std::time::Duration;

use mio::{Events, Poll, Token};

use super::{Conn, Engine, QUIET_AFTER_STOP, QUIET_BEFORE_CLOSE};
use crate::engine::{SOCKET, WAKER, interrupted, millis, millis_until};
use crate::record::ConnectionEnd;
use crate::transport::sealed::Connection;

impl<S: Connection> Engine<'_, S> {
    /// After a shutdown: goes on echoing for at most the grace period, so that every
    /// connection ends whole or visibly broken, never with a quiet truncation.
    ///
    /// A connection gets a clean end-of-stream only once it owes its peer nothing: a peer
    /// that half-closed once its end-of-stream is read and everything is echoed (as when
    /// serving), any other once nothing is pending or unread and it has been quiet long
    /// enough (see [`Quiet`]). The faults stay in force meanwhile: bytes a fault holds are
    /// echoed when it lets them go, and a connection that holds some, or leaves input
    /// unread (a stall, an accept delay), owes them. When the grace period ends, a
    /// connection still owed bytes is reset, so its peer can tell its echo was cut short,
    /// and counted in `shutdown_resets`.
    pub(super) fn drain(&mut self, poll: &mut Poll) {
        let deadline = std::time::Instant::now().checked_add(self.options.shutdown_grace());
        let mut events = Events::with_capacity(1024);
        let mut turn = Vec::new();
        let stopped_at = self.clock.now();
        // Connections dealt to this worker just before the stop are owed an echo too.
        self.adopt_inbox(poll, self.clock.now());
        loop {
            let quiet = Quiet {
                stopped_at,
                prompt: self.control.is_prompt(),
            };
            let next_quiet = self.close_quiet(quiet, self.clock.now());
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if self.conns.is_empty() || left.is_some_and(|left| left.is_zero()) {
                break;
            }
            // Wake up when the next connection may have fallen quiet, or sooner for an event.
            let tick = Duration::from_millis(u64::from(next_quiet));
            let timeout = if self.again.is_empty() {
                left.map_or(tick, |left| left.min(tick))
            } else {
                Duration::ZERO
            };
            // Fault hook: the faults stay in force while the drain lasts (a held echo goes
            // when its time comes, as when serving), so wake when one may go.
            let timeout = match &self.faults {
                Some(faults) => faults.timeout().map_or(timeout, |due| due.min(timeout)),
                None => timeout,
            };
            match poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if interrupted(&e) => continue,
                Err(_) => break,
            }
            let now = self.clock.now();
            for event in events.iter() {
                match event.token() {
                    WAKER => self.adopt_inbox(poll, now),
                    SOCKET => {}
                    // Never skip a read here: a connection is only closed once a read has
                    // found nothing left.
                    Token(key) => self.drive_and_settle(key, now, false),
                }
            }
            // Fault hook: drive the connections whose fault timer is due.
            if let Some(faults) = self.faults.as_mut() {
                faults.due(&mut turn);
            }
            turn.append(&mut self.again);
            for key in turn.drain(..) {
                self.drive_and_settle(key, now, false);
            }
            self.control.progress.turn();
        }
        self.end_when_grace_is_over();
    }

    /// Whether the connection under `key` owes its peer nothing: no echo pending, nothing
    /// the transport must still write ([`Connection::wants_write`]) and, under a fault, none
    /// held back and no input left unread.
    fn owes_nothing(&self, key: usize) -> bool {
        let Some(conn) = self.conns.get(key) else {
            return false;
        };
        conn.pending.is_none()
            && !conn.stream.wants_write()
            // Fault hook: a connection under a fault may owe bytes it holds, or input it
            // is not reading.
            && !self
                .faults
                .as_ref()
                .and_then(|faults| faults.owes(key, &conn.stream))
                .unwrap_or(false)
    }

    /// Closes, cleanly, every connection that owes its peer nothing and has been quiet long
    /// enough (see [`Quiet`]). Returns the milliseconds until the next connection still
    /// open that owes nothing may have fallen quiet (one that owes bytes is woken by its
    /// events, or its fault's timer).
    fn close_quiet(&mut self, quiet: Quiet, now: u32) -> u32 {
        let is_quiet = |engine: &Self, key: usize| {
            engine.owes_nothing(key)
                && engine
                    .conns
                    .get(key)
                    .is_some_and(|conn| quiet.left(conn, now) == 0)
        };
        let candidates: Vec<usize> = self
            .conns
            .iter()
            .map(|(key, _)| key)
            .filter(|&key| is_quiet(self, key))
            .collect();
        for key in candidates {
            // One more read: input that came since is echoed (and the connection is busy
            // again), and a peer's end-of-stream finishes it as when serving.
            self.drive_and_settle(key, now, false);
            if is_quiet(self, key) {
                // Nothing pending, nothing unread: closing sends end-of-stream.
                self.close(key, ConnectionEnd::Shutdown);
            }
        }
        self.conns
            .iter()
            .filter(|&(key, _)| self.owes_nothing(key))
            .map(|(_, conn)| quiet.left(conn, now).max(1))
            .min()
            .unwrap_or_else(|| millis(QUIET_BEFORE_CLOSE))
    }

    /// Ends every connection still open when the grace period is over: those still owed
    /// bytes with a reset, the others with a clean end-of-stream.
    fn end_when_grace_is_over(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            let mut end = ConnectionEnd::Shutdown;
            if let Some(conn) = self.conns.get(key) {
                // Fault hook: a connection under a fault knows what it owes; its input is
                // left unread, so a Unix stream peer sees an error too.
                let shaped = self
                    .faults
                    .as_ref()
                    .and_then(|faults| faults.owes(key, &conn.stream));
                let owed = conn.pending.is_some()
                    || conn.stream.wants_write()
                    || shaped.unwrap_or_else(|| owes_bytes(conn, &mut self.scratch));
                if owed {
                    reset_on_close(&conn.stream);
                    self.counters.shutdown_resets.add(1);
                    end = ConnectionEnd::ShutdownReset;
                }
            }
            self.close(key, end);
        }
    }
}

/// How long a connection that owes its peer nothing must have moved no byte before the drain
/// closes it.
///
/// A graceful shutdown gives every connection [`QUIET_BEFORE_CLOSE`], long enough for the
/// next bytes of a peer still streaming to arrive and be echoed rather than be cut off by an
/// end-of-stream, even when the peer's writer is held up for a while. A prompt stop (a
/// dropped handle, `ServerHandle::stop`) gives that only to a connection that moved bytes
/// after the stop; one that has moved none since (an idle client) needs [`QUIET_AFTER_STOP`],
/// so stopping a server with idle clients connected takes a few milliseconds.
#[derive(Debug, Clone, Copy)]
struct Quiet {
    /// When the drain began, on the worker's clock.
    stopped_at: u32,
    /// Whether the stop is a prompt one.
    prompt: bool,
}

impl Quiet {
    /// Milliseconds until `conn` has been quiet long enough; zero once it has.
    fn left<S>(self, conn: &Conn<S>, now: u32) -> u32 {
        // Signed: a connection last active in the millisecond of the stop, or before it,
        // has not moved since.
        let moved_since_stop = (conn.last_active.wrapping_sub(self.stopped_at) as i32) > 0;
        let needed = if self.prompt && !moved_since_stop {
            QUIET_AFTER_STOP
        } else {
            QUIET_BEFORE_CLOSE
        };
        millis_until(conn.last_active.wrapping_add(millis(needed)), now)
    }
}

/// Makes closing the connection reset it (`SO_LINGER` 0), so the peer sees an error rather
/// than a clean end-of-stream. (A Unix stream socket has no reset: its peer reads an error
/// only if input was left unread, and end-of-stream otherwise.)
pub(super) fn reset_on_close<S: Connection>(stream: &S) {
    // A peer that has already gone needs no reset.
    let _ = stream.reset();
}

/// Whether a connection still owes its peer an echo: bytes pending, or input not read yet.
/// Unread input found here is dropped, since the connection is about to be reset anyway.
fn owes_bytes<S: Connection>(conn: &Conn<S>, scratch: &mut [u8]) -> bool {
    if conn.pending.is_some() {
        return true;
    }
    loop {
        return match conn.stream.read(scratch) {
            Ok(n) => n > 0,
            Err(e) if interrupted(&e) => continue,
            // Nothing unread, or a connection already broken: nothing to reset.
            Err(_) => false,
        };
    }
}
