//! The blocking echo of a shaped connection, for `serve_once`: the same state machine as
//! the event loop's, driven by sleeping through its pauses instead of by timers.

use std::cmp::min;
use std::io::{self, ErrorKind};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::drive::reset;
use super::plan::End;
use super::shaped::{Next, Shaped};
use super::treatment::{Treatment, decide};
use crate::addr::Address;
use crate::error::{Error, Result};
use crate::faults::Switch;
use crate::options::Options;
use crate::stats::Counters;
use crate::transport::sealed::{Connection, SessionFaults};

/// What the faults do with the connection `serve_once` accepted from `peer`, and the faults
/// its transport applies itself.
pub(crate) fn once(switch: &Switch, peer: Address) -> (Treatment, SessionFaults) {
    if switch.version() == 0 {
        return (Treatment::Plain, SessionFaults::default());
    }
    let (_, Some(active)) = switch.load() else {
        return (Treatment::Plain, SessionFaults::default());
    };
    let index = active.connections.fetch_add(1, Ordering::Relaxed);
    decide(
        &active,
        Some(index),
        index,
        Some(&peer),
        Instant::now(),
        &Counters::default(),
    )
}

/// What `serve_once` did with a shaped connection.
pub(crate) struct Served {
    /// Bytes echoed.
    pub(crate) bytes: u64,
    /// The bytes of the first read.
    pub(crate) first: Bytes,
    /// The fault ended the connection (closed or reset it): its write side must not be shut
    /// again.
    pub(crate) ended: bool,
}

/// The blocking echo of a shaped connection, for `serve_once`: read, then write what the
/// faults let through, sleeping through their pauses.
pub(crate) fn serve<S: Connection, A: Clone + Into<Address>>(
    mut shaped: Box<Shaped>,
    conn: &S,
    peer: &A,
    options: &Options,
) -> Result<Served> {
    let counters = Counters::default();
    let at = |source| Error::Receive {
        addr: peer.clone().into(),
        source,
    };
    let timeout = || Error::Timeout {
        addr: peer.clone().into(),
        timeout: options.read_timeout().unwrap_or_default(),
        attempts: 1,
    };
    let mut buffer = vec![0; options.buffer_size().min(options.max_pending())];
    let mut first = None;
    let max_pending = options.max_pending();
    let slow_close = shaped.plan.slow_close.unwrap_or_default();
    loop {
        // The first of `reset-in` and `close-in`, and which end it makes.
        let timed_end = match (shaped.plan.reset_at, shaped.plan.close_at) {
            (Some(reset), Some(close)) if close < reset => Some((close, End::Close)),
            (Some(reset), _) => Some((reset, End::Reset)),
            (None, Some(close)) => Some((close, End::Close)),
            (None, None) => None,
        };
        let reset_at = timed_end.map(|(at, _)| at);
        let reset_due = |now: Instant| reset_at.is_some_and(|at| now >= at);
        loop {
            let now = Instant::now();
            if let Some((at, how)) = timed_end
                && now >= at
            {
                end(conn, how, slow_close, &mut buffer);
                return Ok(served(&shaped, first, true));
            }
            match shaped.next(now, &counters) {
                Next::Idle => break,
                Next::Wait(until) => sleep_until(reset_at.map_or(until, |r| r.min(until))),
                Next::Write(n) => match conn.write(&shaped.front()[..n]) {
                    Ok(m) => shaped.wrote(m, now, &counters),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(Error::Send {
                            addr: peer.clone().into(),
                            source,
                        });
                    }
                },
            }
        }
        match shaped.reached_end() {
            Some(how @ (End::Reset | End::Close)) => {
                end(conn, how, slow_close, &mut buffer);
                return Ok(served(&shaped, first, true));
            }
            // Read and discarded until the client closes; its end-of-stream is not answered.
            Some(End::Blackhole) => {
                drain(conn, &mut buffer);
                return Ok(served(&shaped, first, true));
            }
            Some(End::Stall) => {
                // Neither read nor write until the wait a read would have been given.
                sleep_until(Instant::now() + options.read_timeout().unwrap_or(Duration::MAX));
                return Err(timeout());
            }
            None => {}
        }
        if shaped.eof {
            std::thread::sleep(slow_close);
            return Ok(served(&shaped, first, false));
        }
        let now = Instant::now();
        let room = shaped.room(max_pending, now);
        if room == 0 {
            if let Some(start) = shaped.plan.start_at {
                sleep_until(start);
                shaped.plan.start_at = None;
            }
            continue;
        }
        if let Some(reset_at) = reset_at {
            // A read must not outlast the reset.
            let left = reset_at
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            let wait = options.read_timeout().map_or(left, |limit| limit.min(left));
            conn.set_read_timeout(Some(wait))
                .map_err(|source| Error::SetOption {
                    option: "read_timeout",
                    source,
                })?;
        }
        let len = min(room, buffer.len());
        match conn.read(&mut buffer[..len]) {
            Ok(0) => shaped.eof = true,
            Ok(n) => {
                first.get_or_insert_with(|| Bytes::copy_from_slice(&buffer[..n]));
                shaped.take(&buffer[..n], Instant::now(), &counters);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && reset_due(Instant::now()) => {}
            Err(e) if is_timeout(&e) => return Err(timeout()),
            Err(source) => return Err(at(source)),
        }
    }
}

/// Ends the connection as `how` says (a reset, or an end-of-stream and then what the peer
/// still sends read and dropped), once `slow-close` has held the end back.
fn end<S: Connection>(conn: &S, how: End, slow_close: Duration, buffer: &mut [u8]) {
    std::thread::sleep(slow_close);
    if how == End::Reset {
        reset(conn);
    } else {
        let _ = conn.shutdown_write();
        drain(conn, buffer);
    }
}

fn served(shaped: &Shaped, first: Option<Bytes>, ended: bool) -> Served {
    Served {
        bytes: shaped.echoed,
        first: first.unwrap_or_default(),
        ended,
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn sleep_until(at: Instant) {
    let left = at.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        std::thread::sleep(left);
    }
}

/// Reads and drops what a peer still sends after a clean close, until it closes too (or the
/// read timeout, or an error, ends the wait): closing with unread input would reset the
/// connection instead.
fn drain<S: Connection>(conn: &S, buffer: &mut [u8]) {
    loop {
        match conn.read(buffer) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
