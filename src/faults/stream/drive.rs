//! A shaped connection driven over a non-blocking connection, as the event loop drives it.

use std::cmp::min;
use std::io::ErrorKind;
use std::time::Instant;

use super::plan::End;
use super::shaped::{Next, Phase, Shaped};
use crate::stats::Counters;
use crate::transport::sealed::Connection;

/// Reads one connection may make per turn, as in the engine.
const READS_PER_TURN: u32 = 16;

impl Shaped {
    /// What a connection whose echo a fault ended (closed, stalled or black-holed) does
    /// instead; `None` while it is still echoed. What it still reads goes to `tap`.
    fn after_end<S: Connection>(
        &self,
        stream: &S,
        scratch: &mut [u8],
        counters: &Counters,
        activity: (&mut u32, u32),
        tap: &mut impl FnMut(&[u8]),
    ) -> Option<Driven> {
        let at_eof = match self.phase {
            Phase::Open => return None,
            Phase::Stalled => return Some(Driven::Wait),
            Phase::Closing => Driven::Finished,
            // The client's end-of-stream is not answered either.
            Phase::Blackhole => Driven::Wait,
        };
        Some(discard(stream, scratch, counters, activity, at_eof, tap))
    }

    /// Resets the connection, once `slow-close` lets it end.
    fn end_with_reset<S: Connection>(
        &mut self,
        stream: &S,
        now: Instant,
        counters: &Counters,
    ) -> Driven {
        if self.holds_end(now, counters) {
            return Driven::Wait;
        }
        counters.faults.reset.add(1);
        reset(stream);
        Driven::Finished
    }

    /// Shuts the write side of the connection, once `slow-close` lets it end: false while
    /// the end is held back. What the peer still sends is then read and dropped.
    fn end_with_close<S: Connection>(
        &mut self,
        stream: &S,
        now: Instant,
        counters: &Counters,
    ) -> bool {
        if self.holds_end(now, counters) {
            return false;
        }
        counters.faults.closed.add(1);
        let _ = stream.shutdown_write();
        self.phase = Phase::Closing;
        true
    }

    /// Echoes what the faults let through until the socket would block, the turn is over,
    /// or the connection ends. `tap` is given every byte read, in order, whether echoed or
    /// dropped by the fault (as the engine's own drive gives its tap).
    pub(super) fn drive<S: Connection>(
        &mut self,
        stream: &S,
        scratch: &mut [u8],
        counters: &Counters,
        max_pending: usize,
        activity: (&mut u32, u32),
        tap: &mut impl FnMut(&[u8]),
    ) -> Driven {
        let (last_active, clock) = activity;
        let now = Instant::now();
        if let Some(at) = self.plan.reset_at {
            if now >= at {
                return self.end_with_reset(stream, now, counters);
            }
            self.wake_at(at);
        }
        if let Some(at) = self.plan.close_at
            && self.phase == Phase::Open
        {
            if now < at {
                self.wake_at(at);
            } else if self.end_with_close(stream, now, counters) {
                // The echo ends here: what was read and not echoed is dropped with the rest.
                self.held.clear();
                self.marks.clear();
            } else {
                return Driven::Wait;
            }
        }
        if let Some(step) = self.after_end(stream, scratch, counters, (last_active, clock), tap) {
            return step;
        }
        let mut reads = 0;
        loop {
            loop {
                let n = match self.next(now, counters) {
                    Next::Idle => break,
                    Next::Wait(at) => {
                        self.wake_at(at);
                        break;
                    }
                    Next::Write(n) => n,
                };
                match stream.write(&self.front()[..n]) {
                    Ok(m) => {
                        counters.bytes_out.add(m as u64);
                        *last_active = clock;
                        self.wrote(m, now, counters);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // The writable edge drives the connection again.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return Driven::Failed,
                }
            }
            let ended = match self.reached_end() {
                Some(End::Reset) => Some(self.end_with_reset(stream, now, counters)),
                Some(End::Stall) => {
                    counters.faults.stalled.add(1);
                    self.phase = Phase::Stalled;
                    Some(Driven::Wait)
                }
                Some(End::Close) => {
                    (!self.end_with_close(stream, now, counters)).then_some(Driven::Wait)
                }
                Some(End::Blackhole) => {
                    counters.faults.blackholed.add(1);
                    self.phase = Phase::Blackhole;
                    None
                }
                None => None,
            };
            if let Some(driven) = ended {
                return driven;
            }
            if let Some(step) = self.after_end(stream, scratch, counters, (last_active, clock), tap)
            {
                return step;
            }
            if self.eof && self.held.is_empty() {
                if self.holds_end(now, counters) {
                    return Driven::Wait;
                }
                let _ = stream.shutdown_write();
                return Driven::Finished;
            }
            if reads == READS_PER_TURN {
                return Driven::Again;
            }
            let room = self.room(max_pending, now);
            if room == 0 {
                if let Some(at) = self.plan.start_at.filter(|at| now < *at) {
                    self.wake_at(at);
                }
                return Driven::Wait;
            }
            reads += 1;
            let len = min(room, scratch.len());
            match stream.read(&mut scratch[..len]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    counters.bytes_in.add(n as u64);
                    *last_active = clock;
                    tap(&scratch[..n]);
                    // The time of the read itself: a delay runs from when the bytes came.
                    self.take(&scratch[..n], Instant::now(), counters);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Driven::Wait,
                Err(_) => return Driven::Failed,
            }
        }
    }
}

/// Resets a connection: once it is closed, the peer gets a reset rather than an
/// end-of-stream.
pub(super) fn reset<S: Connection>(stream: &S) {
    // If the option cannot be set the close is a plain one; the peer still sees the end.
    let _ = stream.reset();
}

/// Reads and drops what the peer of a connection closed or black-holed by a fault still
/// sends (received all the same: `tap` is given it); `at_eof` is what becomes of the
/// connection once the peer's end-of-stream is read.
fn discard<S: Connection>(
    stream: &S,
    scratch: &mut [u8],
    counters: &Counters,
    (last_active, clock): (&mut u32, u32),
    at_eof: Driven,
    tap: &mut impl FnMut(&[u8]),
) -> Driven {
    for _ in 0..READS_PER_TURN {
        match stream.read(scratch) {
            Ok(0) => return at_eof,
            Ok(n) => {
                counters.bytes_in.add(n as u64);
                *last_active = clock;
                tap(&scratch[..n]);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Driven::Wait,
            // The peer is gone: the fault's end was seen, nothing to report.
            Err(_) => return Driven::Finished,
        }
    }
    Driven::Again
}

/// What became of a shaped connection after it was driven (as the engine's own `Drive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driven {
    Wait,
    Again,
    Finished,
    Failed,
}
