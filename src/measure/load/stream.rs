//! The closed loop of stream connections: write the message, read the whole echo, verify,
//! record, send the next.

use std::io::{ErrorKind, Read, Write};
use std::time::Instant;

use mio::{Events, Poll};

use super::kind::LoadErrorKind;
use super::pace::Pacer;
use super::poll::{EVENTS, TICK, wait};
use super::tally::{Ending, Place, Shared, Tally, bump};
use crate::error::Result;
use crate::measure;

/// A TCP connection in its closed loop.
pub(super) struct StreamConn<S> {
    pub(super) socket: S,
    pub(super) reply: Vec<u8>,
    /// Bytes of the message in flight written, and of its echo read.
    pub(super) written: usize,
    pub(super) filled: usize,
    /// When the connection last moved: the send, or the last bytes of echo read.
    pub(super) heard: Instant,
    pub(super) place: Place,
}

impl<S: Read + Write> StreamConn<S> {
    /// Starts the next message, waits for it to be due (open loop), or finishes the
    /// connection if it may send no more. Behind schedule, the message's round trip counts
    /// from when it was due: the wait behind a slow echo is the server's doing.
    pub(super) fn begin(&mut self, now: Instant, shared: &Shared<'_>) {
        if self.place.take_next(now, shared) {
            self.written = 0;
            self.filled = 0;
            self.heard = now;
        }
    }

    /// Starts the message an idle connection waited for. Its round trip counts from now:
    /// any wait past its due time was the poll's timer, not the server.
    pub(super) fn resume(&mut self, now: Instant, shared: &Shared<'_>) {
        self.place.idle = false;
        self.begin(now, shared);
        if !self.place.idle {
            self.place.sent = now;
        }
    }

    /// Writes and reads until the socket would block, verifying each whole echo and
    /// starting the next message. A closed or broken connection is counted and finishes.
    pub(super) fn advance(&mut self, message: &[u8], tally: &mut Tally<'_, '_>) {
        let size = message.len();
        while !self.place.finished && !self.place.idle {
            while self.written < size {
                match self.socket.write(&message[self.written..]) {
                    Ok(0) => return self.fail(tally, LoadErrorKind::Other),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return self.fail(tally, LoadErrorKind::of_io(&e)),
                }
            }
            // What the transport itself holds (a plaintext one: nothing) goes out now, or on
            // the next writable edge.
            match self.socket.flush() {
                Ok(()) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return self.fail(tally, LoadErrorKind::of_io(&e)),
            }
            // Read even while part of the message is unwritten: the server may be echoing
            // the first part and waiting for us to take it.
            match self.socket.read(&mut self.reply[self.filled..]) {
                // The peer closed with part of the echo, or all of it, still owed.
                Ok(0) => return self.fail(tally, LoadErrorKind::Short),
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(tally, LoadErrorKind::of_io(&e)),
            }
            let now = Instant::now();
            if self.filled < size {
                self.heard = now;
                continue;
            }
            if self.reply == message {
                tally.batch.record(now - self.place.sent);
                bump(&tally.counters.messages);
            } else {
                tally.counters.error(LoadErrorKind::Mismatch);
            }
            self.begin(now, tally.shared);
        }
    }

    /// A connection out of step: counted, and it stops.
    pub(super) fn fail(&mut self, tally: &Tally<'_, '_>, kind: LoadErrorKind) {
        tally.counters.error(kind);
        self.place.finished = true;
    }
}

/// Drives TCP connections until each has finished: sent its last message and read its
/// echo, or failed, or stayed silent for the timeout, or was still waiting for its echo one
/// timeout after the run's end (a server that trickles bytes is never silent), or when a
/// stop ended the run (its message in flight counted lost). In an open loop, a connection whose
/// next message is not yet due waits in the pacer, and the poll wakes when the first is due.
pub(super) fn run_streams<S: Read + Write>(
    mut poll: Poll,
    sockets: Vec<S>,
    tally: &mut Tally<'_, '_>,
) -> Result<()> {
    let shared = tally.shared;
    let message = measure::pattern(shared.size)?;
    let now = Instant::now();
    let mut conns: Vec<StreamConn<S>> = sockets
        .into_iter()
        .enumerate()
        .map(|(local, socket)| {
            Ok(StreamConn {
                socket,
                reply: crate::buffer::zeroed("the reply buffer", shared.size)?,
                written: 0,
                filled: 0,
                heard: now,
                place: Place::new(tally.connection(local), now),
            })
        })
        .collect::<Result<_>>()?;
    let mut pacer = Pacer::default();
    let mut active = conns.len();
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.begin(Instant::now(), shared);
        conn.advance(&message, tally);
        conn.place.settle(i, &mut pacer, &mut active);
    }
    let mut events = Events::with_capacity(EVENTS);
    let mut tick = Instant::now() + TICK;
    // When this thread first saw the run stopped.
    let mut halted = None;
    while active > 0 {
        let until = pacer.next().map_or(tick, |due| due.min(tick));
        if !wait(&mut poll, &mut events, until) {
            for conn in conns.iter_mut().filter(|conn| !conn.place.finished) {
                conn.fail(tally, LoadErrorKind::Other);
            }
            return Ok(());
        }
        for event in &events {
            let i = event.token().0;
            if let Some(conn) = conns.get_mut(i)
                && !conn.place.finished
                && !conn.place.idle
            {
                conn.advance(&message, tally);
                conn.place.settle(i, &mut pacer, &mut active);
            }
        }
        let now = Instant::now();
        while let Some(i) = pacer.pop_due(now) {
            if let Some(conn) = conns.get_mut(i) {
                conn.resume(now, shared);
                conn.advance(&message, tally);
                conn.place.settle(i, &mut pacer, &mut active);
            }
        }
        if now >= tick {
            let ending = shared.give_up(now, &mut halted);
            for conn in conns.iter_mut().filter(|conn| !conn.place.finished) {
                if conn.place.idle {
                    // Open loop: nothing in flight, and nothing more will be due.
                    if ending == Ending::Halted {
                        conn.place.finished = true;
                        active -= 1;
                    }
                    continue;
                }
                // Bytes trickling in keep `heard` fresh: only the run's end bounds them.
                match ending {
                    Ending::Halted => bump(&tally.counters.lost),
                    Ending::Overdue => tally.counters.error(LoadErrorKind::Timeout),
                    Ending::Running
                        if now.saturating_duration_since(conn.heard) >= shared.timeout =>
                    {
                        tally.counters.error(LoadErrorKind::Timeout);
                    }
                    Ending::Running => continue,
                }
                conn.place.finished = true;
                active -= 1;
            }
            tick = now + TICK;
        }
    }
    Ok(())
}
