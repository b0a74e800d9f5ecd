//! The stream engine: one worker's loop and the echo of its connections (`accept.rs`: how
//! connections are accepted, refused and dealt to the workers; `conn.rs`: one connection's
//! echo; `drain.rs`: the shutdown drain; `listening.rs`: the listener as it goes down and up).
//!
//! A connection owns no buffer while it is idle. The worker reads into one scratch buffer and
//! writes straight back; only the bytes the peer has not taken yet are copied out, at most
//! [`max_pending`](crate::Options::with_max_pending) of them, and while they wait the
//! connection is not read (backpressure). Sockets are registered once, for both directions,
//! edge-triggered, and never re-registered.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use slab::Slab;

use super::descriptors::{self, Spare};
use super::{
    Clock, Counters, RateLimit, SOCKET, WAKER, WorkerContext, interrupted, millis, millis_until,
};
use crate::buffer;
use crate::error::Result;
use crate::faults::Down;
use crate::faults::stream::{Driven, ShapedConnections as Faults};
use crate::options::Options;
use crate::record::{ConnectionEnd, Recorder};
use crate::transport::sealed::{Connection, Listener};

mod accept;
mod conn;
mod drain;
mod listening;

pub(crate) use listening::Listening;

use accept::Inbox;
use conn::{Conn, Drive, Flush, drive, write_pending};
use drain::reset_on_close;

/// How long accepting pauses after the process or system ran out of descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Reads one connection may make per turn before the others get theirs.
const READS_PER_TURN: u32 = 16;
/// How long a connection that owes its peer nothing must have moved no byte before a
/// shutdown closes it cleanly. Well over a round trip on loopback or a LAN, so a peer that
/// is still streaming has had its next bytes arrive by then, and what it sent is echoed
/// rather than cut off by an end-of-stream.
const QUIET_BEFORE_CLOSE: Duration = Duration::from_millis(250);
/// How long a connection that owes its peer nothing, and has moved no byte since a prompt
/// stop began, must have been quiet before the stop closes it: many round trips on loopback
/// or a LAN, for bytes its peer was sending as the stop began. Short, so that dropping the
/// handle of a server with idle clients connected takes a few milliseconds, not the quarter
/// of a second a graceful shutdown gives every connection.
const QUIET_AFTER_STOP: Duration = Duration::from_millis(5);

/// A connection dealt to a worker: the stream and its entry in the record, if recorded.
type Dealt<S> = (S, Option<usize>);

/// A recording server's worker: the recorder, and the record entry of each of its
/// connections that has one, by key.
struct Tap {
    recorder: Arc<Recorder>,
    entries: std::collections::HashMap<usize, usize>,
}

/// Runs the stream engine with `workers` event loops until the server is shut down.
///
/// Worker 0 alone accepts, and deals the connections out in turn, itself included, so every
/// worker serves an equal share however the wake-ups fall. Handing a connection over costs a
/// lock and at most one wake, once per connection.
///
/// A listener the worker keeps ([`Listening::Owned`]) is closed when the server goes down
/// and bound again to `local` when it comes up.
pub(crate) fn serve<L: Listener>(
    listener: Listening<'_, L>,
    local: &L::Addr,
    worker: WorkerContext<'_>,
    workers: usize,
) -> Result<()> {
    set_connection_cap(worker, workers);
    let inboxes: Vec<Inbox<Dealt<L::Stream>>> = (0..workers).map(|_| Inbox::new()).collect();
    // Worker 0 takes the listener, once.
    let listener = Mutex::new(Some(listener));
    let result = worker.spawn(workers, |index| {
        let mine = match index {
            0 => listener
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
            _ => None,
        };
        run(index, mine, local, &inboxes, worker)
    });
    // Connections dealt to a worker that had already stopped were never served.
    for inbox in &inboxes {
        let unserved = inbox.queue().drain(..).count();
        worker.control.active.fetch_sub(unserved, Ordering::Relaxed);
    }
    result
}

/// Raises the descriptor limit as far as the connection cap needs, and lowers the cap to what
/// the limit allows if it is still short, so that every connection accepted can be served.
fn set_connection_cap(worker: WorkerContext<'_>, workers: usize) {
    let wanted = worker.options.max_connections();
    let capacity = descriptors::fit_connections(wanted, workers);
    worker
        .control
        .max_connections
        .store(capacity.connections, Ordering::Relaxed);
    if capacity.connections < wanted {
        RateLimit::default().warn(format_args!(
            "serving at most {} connections instead of max_connections {wanted}: the \
             descriptor limit (RLIMIT_NOFILE) is {:?} and cannot be raised further",
            capacity.connections, capacity.soft_limit
        ));
    }
}

/// Runs worker `index` until the server is shut down; `listener` is given to worker 0 only.
fn run<L: Listener>(
    index: usize,
    mut listener: Option<Listening<'_, L>>,
    local: &L::Addr,
    inboxes: &[Inbox<Dealt<L::Stream>>],
    worker: WorkerContext<'_>,
) -> Result<()> {
    let options = worker.options;
    let scratch_size = options.buffer_size().min(options.max_pending());
    let scratch = buffer::zeroed("the receive buffer", scratch_size)?.into_boxed_slice();
    worker.run(|poll, counters, waker| {
        let _ = inboxes[index].waker.set(Arc::clone(waker));
        if let Some(listener) = &listener {
            listener.register(poll)?;
        }
        let mut engine = Engine {
            conns: Slab::new(),
            scratch,
            again: Vec::new(),
            counters,
            options,
            clock: Clock::new(),
            accept_log: RateLimit::default(),
            spare: listener.as_ref().map(|_| Spare::open()),
            sources_of: std::collections::HashMap::new(),
            control: worker.control,
            index,
            inboxes,
            next: 0,
            incoming: Vec::new(),
            faults: None,
            faults_seen: 0,
            record: worker.control.recorder().map(|recorder| Tap {
                recorder,
                entries: std::collections::HashMap::new(),
            }),
            availability_seen: 0,
        };
        // Fault hook: the faults in force when serving starts are taken before any
        // connection is, so none is mistaken for one open before a change of faults (which
        // would draw its faults again, from another stream of the seed).
        if worker.control.faults.version() != 0 {
            engine.refresh_faults();
        }
        // Down or up: a request made before serving started is carried out first.
        if worker.control.availability.version() != 0 {
            engine.change_availability(poll, listener.as_mut(), local);
        }
        engine.serve(poll, listener.as_mut(), local)?;
        // Stop accepting before anything else, then let live connections finish.
        if let Some(listener) = listener.as_mut() {
            listener.close(poll);
        }
        engine.drain(poll);
        Ok(())
    })
}

struct Engine<'a, S> {
    conns: Slab<Conn<S>>,
    scratch: Box<[u8]>,
    /// Connections whose turn ended while they were still readable.
    again: Vec<usize>,
    counters: &'a Counters,
    options: &'a Options,
    clock: Clock,
    accept_log: RateLimit,
    /// The accepting worker's spare descriptor.
    spare: Option<Spare>,
    /// The source address of each connection, by key, kept only with a per-source limit
    /// (so a connection stays 16 bytes without one).
    sources_of: std::collections::HashMap<usize, std::net::IpAddr>,
    control: &'a super::Control,
    /// This worker's place among `inboxes`.
    index: usize,
    inboxes: &'a [Inbox<Dealt<S>>],
    /// The worker the next accepted connection goes to.
    next: usize,
    /// Connections taken from this worker's inbox, reused between turns.
    incoming: Vec<Dealt<S>>,
    /// The stream faults, once any were set (`None`: the server pays nothing for them).
    faults: Option<Box<Faults>>,
    /// The version of the faults this worker last took.
    faults_seen: u64,
    /// The record, if the server records (`None`: it pays nothing for it).
    record: Option<Tap>,
    /// The last request to go down or up this worker carried out.
    availability_seen: u64,
}

impl<S: Connection> Engine<'_, S> {
    fn serve<L: Listener<Stream = S>>(
        &mut self,
        poll: &mut Poll,
        mut listening: Option<&mut Listening<'_, L>>,
        local: &L::Addr,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let idle = self.options.idle_timeout().map(millis);
        // Connections with deadlines of their own (TLS handshakes) are checked four times a
        // second; otherwise only idleness is, four times per idle timeout.
        let sweep_every = match (idle, S::EXPIRES) {
            (Some(ms), false) => Some((ms / 4).clamp(5, 1000)),
            (Some(ms), true) => Some((ms / 4).clamp(5, 250)),
            (None, true) => Some(250),
            (None, false) => None,
        };
        let mut next_sweep = sweep_every.unwrap_or(0);
        let mut accept_paused_until: Option<u32> = None;
        let mut turn = Vec::new();
        // Connections dealt before this worker's waker was known are waiting already.
        self.adopt_inbox(poll, self.clock.now());
        while !self.control.is_stopping() {
            let now = self.clock.now();
            let mut wait: Option<u32> = None;
            if sweep_every.is_some() {
                wait = Some(millis_until(next_sweep, now));
            }
            if let Some(until) = accept_paused_until {
                let left = millis_until(until, now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            let timeout = if self.again.is_empty() {
                wait.map(|ms| Duration::from_millis(u64::from(ms)))
            } else {
                Some(Duration::ZERO)
            };
            // Fault hook: wake when an echo held back by a fault may go.
            let timeout = match &self.faults {
                Some(faults) => crate::faults::earliest(timeout, faults.timeout()),
                None => timeout,
            };
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            // Fault hook: faults set or changed through the handle apply to what this poll
            // reported, which came after the change.
            if self.control.faults.version() != self.faults_seen {
                self.refresh_faults();
            }
            // The handle asked the server to go down or up.
            if self.control.availability.version() != self.availability_seen {
                self.change_availability(poll, listening.as_deref_mut(), local);
            }
            let now = self.clock.now();
            let mut accept = false;
            for event in events.iter() {
                match event.token() {
                    WAKER => self.adopt_inbox(poll, now),
                    SOCKET => accept = true,
                    // A read-closed or error event must be read to its end: no later edge
                    // would report it.
                    Token(key) => self.drive_and_settle(
                        key,
                        now,
                        !(event.is_read_closed() || event.is_error()),
                    ),
                }
            }
            // Fault hook: drive the connections whose fault timer is due.
            if let Some(faults) = self.faults.as_mut() {
                faults.due(&mut turn);
                for key in turn.drain(..) {
                    self.drive_and_settle(key, now, false);
                }
            }
            std::mem::swap(&mut turn, &mut self.again);
            for key in turn.drain(..) {
                self.drive_and_settle(key, now, false);
            }
            if let Some(until) = accept_paused_until {
                // Signed difference: has the pause run out?
                if (now.wrapping_sub(until) as i32) >= 0 {
                    accept_paused_until = None;
                    accept = true;
                }
            }
            if let Some(listener) = listening.as_deref().and_then(Listening::get)
                && accept
                && accept_paused_until.is_none()
            {
                accept_paused_until = self.accept_all(poll, listener, now);
            }
            if let Some(every) = sweep_every
                && (now.wrapping_sub(next_sweep) as i32) >= 0
            {
                self.sweep(idle, now);
                next_sweep = now.wrapping_add(every);
            }
            self.control.progress.turn();
        }
        Ok(())
    }

    /// Carries out the handle's last request to go down or up: every worker resets its
    /// connections if asked; the accepting worker (`listening`) closes its listener or
    /// binds it again, and tells the handle.
    fn change_availability<L: Listener<Stream = S>>(
        &mut self,
        poll: &Poll,
        listening: Option<&mut Listening<'_, L>>,
        local: &L::Addr,
    ) {
        let (version, wanted) = self.control.availability.wanted();
        self.availability_seen = version;
        if wanted == Some(Down::Reset) {
            let open: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
            for key in open {
                if let Some(conn) = self.conns.get(key) {
                    reset_on_close(&conn.stream);
                    self.counters.faults.reset_by_down.add(1);
                }
                self.close(key, ConnectionEnd::Fault);
            }
        }
        let Some(listening) = listening else {
            return;
        };
        let error = match wanted {
            Some(_) => {
                listening.close(poll);
                None
            }
            None => listening.open(poll, local, self.options).err(),
        };
        self.control.availability.carried(version, error);
    }

    /// Takes the faults now in force, for the connections to come and those open.
    fn refresh_faults(&mut self) {
        self.faults_seen = self.control.faults.version();
        let faults = self.faults.get_or_insert_with(Box::default);
        let live = self.conns.iter().map(|(key, conn)| (key, &conn.stream));
        faults.refresh(&self.control.faults, live, self.counters);
    }

    fn drive_and_settle(&mut self, key: usize, now: u32, short_read_drains: bool) {
        let Some(conn) = self.conns.get_mut(key) else {
            // An event for a connection closed earlier in this turn.
            return;
        };
        // Recorded: every byte read goes to the connection's entry too.
        let entry = self.record.as_ref().and_then(|tap| {
            let index = *tap.entries.get(&key)?;
            Some((&*tap.recorder, index))
        });
        // Fault hook: a shaped connection is echoed through its faults.
        if let Some(faults) = self.faults.as_mut()
            && faults.holds(key)
        {
            let step = match write_pending(conn, self.counters, now) {
                Flush::Done => faults.drive(
                    key,
                    &conn.stream,
                    (&mut self.scratch, |bytes: &[u8]| {
                        if let Some((recorder, index)) = entry {
                            recorder.received(index, bytes);
                        }
                    }),
                    self.counters,
                    self.options.max_pending(),
                    (&mut conn.last_active, now),
                ),
                Flush::Blocked => Driven::Wait,
                Flush::Failed => Driven::Failed,
            };
            match step {
                Driven::Wait => {}
                Driven::Again => self.again.push(key),
                Driven::Finished => self.close(key, ConnectionEnd::Fault),
                Driven::Failed => {
                    self.counters.errors.add(1);
                    self.close(key, ConnectionEnd::Failed);
                }
            }
            return;
        }
        let (scratch, counters) = (&mut self.scratch, self.counters);
        let driven = match entry {
            None => drive(conn, scratch, counters, now, short_read_drains, |_| {}),
            Some((recorder, index)) => {
                drive(conn, scratch, counters, now, short_read_drains, |bytes| {
                    recorder.received(index, bytes)
                })
            }
        };
        match driven {
            Drive::Wait => {}
            Drive::Again => self.again.push(key),
            Drive::Finished => self.close(key, ConnectionEnd::Closed),
            Drive::Failed => {
                self.counters.errors.add(1);
                self.close(key, ConnectionEnd::Failed);
            }
        }
    }

    /// Says in the record how a connection that has an entry there ended.
    fn ended(&self, entry: Option<usize>, end: ConnectionEnd) {
        if let (Some(tap), Some(index)) = (&self.record, entry) {
            tap.recorder.ended(index, end);
        }
    }

    /// Closes the connection under `key`, which ended as `end`.
    fn close(&mut self, key: usize, end: ConnectionEnd) {
        if let Some(tap) = self.record.as_mut()
            && let Some(index) = tap.entries.remove(&key)
        {
            tap.recorder.ended(index, end);
        }
        if self.conns.try_remove(key).is_some() {
            self.control.active.fetch_sub(1, Ordering::Relaxed);
            if !self.sources_of.is_empty()
                && let Some(ip) = self.sources_of.remove(&key)
            {
                self.control.sources.leave(ip);
            }
        }
        // Fault hook: a closed connection's fault state goes with it.
        if let Some(faults) = self.faults.as_mut() {
            faults.forget(key);
        }
    }

    /// Closes every connection idle for `idle` milliseconds or more, or past a deadline of
    /// its transport's own (a TLS handshake's).
    fn sweep(&mut self, idle: Option<u32>, now: u32) {
        let instant = S::EXPIRES.then(Instant::now);
        let expired: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, conn)| {
                idle.is_some_and(|idle| now.wrapping_sub(conn.last_active) >= idle)
                    || instant.is_some_and(|instant| conn.stream.expired(instant))
            })
            .map(|(key, _)| key)
            .collect();
        for key in expired {
            self.counters.timed_out.add(1);
            self.close(key, ConnectionEnd::TimedOut);
        }
    }
}
