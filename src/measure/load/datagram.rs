//! The closed loop of datagram sockets: send the message, wait for its echo or its timeout,
//! send the next.

use std::io::ErrorKind;
use std::time::Instant;

use mio::{Events, Poll};

use super::kind::LoadErrorKind;
use super::pace::Pacer;
use super::poll::{EVENTS, TICK, wait};
use super::tally::{Ending, Place, Tally, bump};
use crate::error::Result;
use crate::measure::{self, HEADER};
use crate::transport::is_unreachable;
use crate::transport::sealed::Datagram;

/// A UDP socket in its closed loop.
pub(super) struct DatagramConn<S> {
    pub(super) socket: S,
    /// When the message in flight went, what its timeout counts from.
    pub(super) went: Instant,
    /// A message is in flight, waiting for its echo or its timeout.
    pub(super) waiting: bool,
    pub(super) place: Place,
}

impl<D: Datagram> DatagramConn<&D> {
    /// Sends the next message, or finishes the socket if it may send no more. A send refused
    /// by an ICMP error is an error, and the next is tried at the next look at the timeouts;
    /// any other failed send is an error that finishes the socket.
    ///
    /// In an open loop a message not yet due is not sent: the socket goes idle until it is.
    /// Behind schedule, the round trip counts from when the message was due.
    pub(super) fn send_next(&mut self, now: Instant, probe: &mut [u8], tally: &Tally<'_, '_>) {
        self.waiting = false;
        if !self.place.take_next(now, tally.shared) {
            return;
        }
        measure::set_seq(probe, self.place.sent_count - 1);
        self.went = now;
        match self.socket.send(probe) {
            // A full send buffer drops the datagram, as the network may: the timeout then
            // counts it lost.
            Ok(_) => self.waiting = true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.waiting = true,
            Err(e) if is_unreachable(&e) => tally.counters.error(LoadErrorKind::Refused),
            Err(e) => {
                tally.counters.error(LoadErrorKind::of_io(&e));
                self.place.finished = true;
            }
        }
    }

    /// Reads every datagram waiting: the echo of the message in flight ends its wait and
    /// sends the next; a late echo of an earlier message (already counted lost) is passed
    /// over; anything else is an error, and the wait goes on.
    pub(super) fn receive(
        &mut self,
        probe: &mut [u8],
        reply: &mut [u8],
        tally: &mut Tally<'_, '_>,
    ) {
        let size = probe.len();
        while !self.place.finished {
            let n = match self.socket.recv(reply) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // An ICMP error of an earlier send, or a broken socket: the message in
                // flight will get no echo.
                Err(e) => {
                    let kind = if is_unreachable(&e) {
                        LoadErrorKind::Refused
                    } else {
                        LoadErrorKind::of_io(&e)
                    };
                    tally.counters.error(kind);
                    self.waiting = false;
                    return;
                }
            };
            if self.waiting && n == size && reply[..n] == probe[..] {
                let now = Instant::now();
                tally.batch.record(now - self.place.sent);
                bump(&tally.counters.messages);
                self.send_next(now, probe, tally);
                continue;
            }
            let current = if self.waiting {
                self.place.sent_count - 1
            } else {
                self.place.sent_count
            };
            let late = n == size
                && measure::seq_of(&reply[..n]).is_some_and(|s| s < current)
                && reply[HEADER..n] == probe[HEADER..];
            if !late {
                let kind = if n < size {
                    LoadErrorKind::Short
                } else {
                    LoadErrorKind::Mismatch
                };
                tally.counters.error(kind);
            }
        }
    }
}

/// Drives UDP sockets until each has finished: sent its last message and had its echo or
/// its timeout, or failed, or a stop ended the run (its message in flight counted lost). In an open loop, a socket whose next message is not yet due
/// waits in the pacer, and the poll wakes when the first is due.
pub(super) fn run_datagrams<D: Datagram>(
    mut poll: Poll,
    sockets: Vec<&D>,
    tally: &mut Tally<'_, '_>,
) -> Result<()> {
    let shared = tally.shared;
    // The message in flight of each socket differs only in its header, written before
    // each send: one buffer serves them all, and holds the current socket's message.
    let mut probe = measure::pattern(shared.size)?;
    // One byte more than a message, so a longer datagram shows as a difference.
    let mut reply = crate::buffer::with_sentinel("the reply buffer", shared.size)?;
    let now = Instant::now();
    let mut conns: Vec<DatagramConn<&D>> = sockets
        .into_iter()
        .enumerate()
        .map(|(local, socket)| DatagramConn {
            socket,
            went: now,
            waiting: false,
            place: Place::new(tally.connection(local), now),
        })
        .collect();
    let mut pacer = Pacer::default();
    let mut active = conns.len();
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.send_next(Instant::now(), &mut probe, tally);
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
                tally.counters.error(LoadErrorKind::Other);
                conn.place.finished = true;
            }
            return Ok(());
        }
        for event in &events {
            let i = event.token().0;
            if let Some(conn) = conns.get_mut(i) {
                if conn.place.finished {
                    continue;
                }
                let was_idle = conn.place.idle;
                // The probe buffer holds this socket's message in flight.
                measure::set_seq(&mut probe, conn.place.sent_count.saturating_sub(1));
                conn.receive(&mut probe, &mut reply, tally);
                if !was_idle {
                    conn.place.settle(i, &mut pacer, &mut active);
                }
            }
        }
        let now = Instant::now();
        while let Some(i) = pacer.pop_due(now) {
            if let Some(conn) = conns.get_mut(i) {
                conn.place.idle = false;
                conn.send_next(now, &mut probe, tally);
                // On time: the wait past the due time was the poll's timer, not the server.
                if conn.waiting {
                    conn.place.sent = now;
                }
                conn.place.settle(i, &mut pacer, &mut active);
            }
        }
        if now >= tick {
            if shared.give_up(now, &mut halted) == Ending::Halted {
                for conn in conns.iter_mut().filter(|conn| !conn.place.finished) {
                    if conn.waiting {
                        bump(&tally.counters.lost);
                    }
                    conn.place.finished = true;
                }
                return Ok(());
            }
            for (i, conn) in conns.iter_mut().enumerate() {
                if conn.place.finished || conn.place.idle {
                    continue;
                }
                if conn.waiting {
                    if now.saturating_duration_since(conn.went) < shared.timeout {
                        continue;
                    }
                    bump(&tally.counters.lost);
                }
                conn.send_next(now, &mut probe, tally);
                conn.place.settle(i, &mut pacer, &mut active);
            }
            tick = now + TICK;
        }
    }
    Ok(())
}
