//! The stream engine: one worker's accept loop and the echo of its connections.
//!
//! A connection owns no buffer while it is idle. The worker reads into one scratch buffer and
//! writes straight back; only the bytes the peer has not taken yet are copied out, at most
//! [`max_pending`](crate::Options::with_max_pending) of them, and while they wait the
//! connection is not read (backpressure). Sockets are registered once, for both directions,
//! edge-triggered, and never re-registered.

use std::io::{self, ErrorKind};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use socket2::SockRef;

use super::{
    Clock, Counters, RateLimit, SOCKET, WAKER, Worker, interrupted, millis, millis_until,
    would_block,
};
use crate::error::Result;
use crate::faults::stream::{Step, Verdict, Worker as Faults};
use crate::options::Options;
use crate::transport::sealed::{Connection, Listener};

/// How long accepting pauses after the process or system ran out of descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Reads one connection may make per turn before the others get theirs.
const READS_PER_TURN: u32 = 16;

/// One connection: 16 bytes while idle.
struct Conn<S> {
    stream: S,
    /// Echoed bytes the peer has not taken yet; `None` (no allocation) almost always.
    pending: Option<Box<Pending>>,
    /// When the connection last moved a byte, on the worker's [`Clock`].
    last_active: u32,
}

struct Pending {
    data: Box<[u8]>,
    sent: usize,
}

/// What became of a connection after it was driven.
enum Drive {
    /// Waiting for the next readiness event.
    Wait,
    /// Still readable, but its turn is over: drive it again after the others.
    Again,
    /// Done: the peer closed and everything was echoed.
    Finished,
    /// Failed: reset, broken pipe.
    Failed,
}

/// Connections dealt to one worker by the accepting worker, waiting to be registered with
/// its poll.
struct Inbox<S> {
    queue: Mutex<Vec<S>>,
    /// The waker of the worker's poll, set when it starts.
    waker: OnceLock<Arc<Waker>>,
}

impl<S> Inbox<S> {
    fn new() -> Self {
        Inbox {
            queue: Mutex::new(Vec::new()),
            waker: OnceLock::new(),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<S>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a connection over, waking the worker if its inbox was empty (otherwise a wake is
    /// already on its way). A worker that has not started yet empties its inbox first thing.
    fn push(&self, stream: S) {
        let was_empty = {
            let mut queue = self.queue();
            queue.push(stream);
            queue.len() == 1
        };
        if was_empty && let Some(waker) = self.waker.get() {
            // A worker whose poll is gone has stopped; the connection is closed with the inbox.
            let _ = waker.wake();
        }
    }
}

/// Runs the stream engine with `workers` event loops until the server is shut down.
///
/// Worker 0 alone accepts, and deals the connections out in turn, itself included, so every
/// worker serves an equal share however the wake-ups fall. Handing a connection over costs a
/// lock and at most one wake, once per connection.
pub(crate) fn serve<L: Listener>(listener: &L, worker: Worker<'_>, workers: usize) -> Result<()> {
    let inboxes: Vec<Inbox<L::Stream>> = (0..workers).map(|_| Inbox::new()).collect();
    let result = worker.spawn(workers, |index| {
        run(index, (index == 0).then_some(listener), &inboxes, worker)
    });
    // Connections dealt to a worker that had already stopped were never served.
    for inbox in &inboxes {
        let unserved = inbox.queue().drain(..).count();
        worker.control.active.fetch_sub(unserved, Ordering::Relaxed);
    }
    result
}

/// Runs worker `index` until the server is shut down; `listener` is given to worker 0 only.
fn run<L: Listener>(
    index: usize,
    listener: Option<&L>,
    inboxes: &[Inbox<L::Stream>],
    worker: Worker<'_>,
) -> Result<()> {
    worker.run(|poll, counters, waker| {
        let _ = inboxes[index].waker.set(Arc::clone(waker));
        if let Some(listener) = listener {
            let fd = listener.as_fd().as_raw_fd();
            poll.registry()
                .register(&mut SourceFd(&fd), SOCKET, Interest::READABLE)?;
        }
        let options = worker.options;
        let mut engine = Engine {
            conns: Slab::new(),
            scratch: vec![0; options.buffer_size().min(options.max_pending())].into_boxed_slice(),
            again: Vec::new(),
            counters,
            options,
            clock: Clock::new(),
            accept_log: RateLimit::default(),
            control: worker.control,
            index,
            inboxes,
            next: 0,
            incoming: Vec::new(),
            faults: None,
            faults_seen: 0,
        };
        engine.serve(poll, listener)?;
        // Stop accepting before anything else, then let live connections finish.
        if let Some(listener) = listener {
            let fd = listener.as_fd().as_raw_fd();
            let _ = poll.registry().deregister(&mut SourceFd(&fd));
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
    control: &'a super::Control,
    /// This worker's place among `inboxes`.
    index: usize,
    inboxes: &'a [Inbox<S>],
    /// The worker the next accepted connection goes to.
    next: usize,
    /// Connections taken from this worker's inbox, reused between turns.
    incoming: Vec<S>,
    /// The stream faults, once any were set (`None`: the server pays nothing for them).
    faults: Option<Box<Faults>>,
    /// The version of the faults this worker last took.
    faults_seen: u64,
}

impl<S: Connection> Engine<'_, S> {
    fn serve<L: Listener<Stream = S>>(
        &mut self,
        poll: &mut Poll,
        listener: Option<&L>,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let idle = self.options.idle_timeout().map(millis);
        let sweep_every = idle.map(|ms| (ms / 4).clamp(5, 1000));
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
            if let Some(listener) = listener
                && accept
                && accept_paused_until.is_none()
            {
                accept_paused_until = self.accept_all(poll, listener, now);
            }
            if let (Some(idle), Some(every)) = (idle, sweep_every)
                && (now.wrapping_sub(next_sweep) as i32) >= 0
            {
                self.sweep(idle, now);
                next_sweep = now.wrapping_add(every);
            }
        }
        Ok(())
    }

    /// Accepts until the backlog is empty. Returns when to try again if accepting must pause.
    fn accept_all<L: Listener<Stream = S>>(
        &mut self,
        poll: &Poll,
        listener: &L,
        now: u32,
    ) -> Option<u32> {
        loop {
            let (stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if would_block(&e) => return None,
                Err(e) if interrupted(&e) => continue,
                // The peer gave up before we got to it: nothing to pause for.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
                    ) =>
                {
                    self.counters.accept_errors.add(1);
                    continue;
                }
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection stays queued;
                // pause, let connections close, and try again.
                Err(e) => {
                    self.counters.accept_errors.add(1);
                    self.counters.accept_backoffs.add(1);
                    self.accept_log.warn(format_args!(
                        "accept failed, pausing for {ACCEPT_BACKOFF:?}: {e}"
                    ));
                    return Some(now.wrapping_add(millis(ACCEPT_BACKOFF)));
                }
            };
            self.counters.accepted.add(1);
            if self.control.active.load(Ordering::Relaxed) >= self.options.max_connections() {
                // Closed at once; the connections already served are not touched.
                self.counters.refused.add(1);
                continue;
            }
            let prepared = SockRef::from(&stream)
                .set_nonblocking(true)
                .map_err(|source| crate::Error::SetOption {
                    option: "nonblocking",
                    source,
                })
                .and_then(|()| listener.prepare(&stream, self.options, false));
            if prepared.is_err() {
                self.counters.errors.add(1);
                continue;
            }
            // Fault hook: the faults may close the connection at once, or shape its echo; a
            // shaped connection stays with this worker, which keeps its state.
            let verdict = match self.faults.as_mut() {
                Some(faults) => faults.accept(peer.into(), self.counters),
                None => Verdict::Plain,
            };
            match verdict {
                Verdict::Plain => {}
                Verdict::Close => continue,
                Verdict::Shaped(shaped) => {
                    self.control.active.fetch_add(1, Ordering::Relaxed);
                    if let Some(key) = self.adopt(poll, stream, now)
                        && let Some(faults) = self.faults.as_mut()
                    {
                        faults.attach(key, shaped);
                    }
                    continue;
                }
            }
            self.control.active.fetch_add(1, Ordering::Relaxed);
            let target = self.next;
            self.next = (self.next + 1) % self.inboxes.len();
            if target == self.index {
                self.adopt(poll, stream, now);
            } else {
                self.inboxes[target].push(stream);
            }
        }
    }

    /// Registers the connections dealt to this worker.
    fn adopt_inbox(&mut self, poll: &Poll, now: u32) {
        std::mem::swap(&mut *self.inboxes[self.index].queue(), &mut self.incoming);
        let mut incoming = std::mem::take(&mut self.incoming);
        for stream in incoming.drain(..) {
            self.adopt(poll, stream, now);
        }
        self.incoming = incoming;
    }

    /// Starts serving an accepted connection, already counted in `active`; returns its key.
    fn adopt(&mut self, poll: &Poll, stream: S, now: u32) -> Option<usize> {
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let fd = stream.as_fd().as_raw_fd();
        let registered = poll.registry().register(
            &mut SourceFd(&fd),
            Token(entry.key()),
            Interest::READABLE | Interest::WRITABLE,
        );
        if registered.is_err() {
            self.counters.errors.add(1);
            self.control.active.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        entry.insert(Conn {
            stream,
            pending: None,
            last_active: now,
        });
        Some(key)
    }

    /// Takes the faults now in force, for the connections to come and those open.
    fn refresh_faults(&mut self) {
        self.faults_seen = self.control.faults.version();
        let faults = self.faults.get_or_insert_with(Box::default);
        let live = self
            .conns
            .iter()
            .map(|(key, conn)| (key, conn.stream.as_fd()));
        faults.refresh(&self.control.faults, live, self.counters);
    }

    fn drive_and_settle(&mut self, key: usize, now: u32, short_read_drains: bool) {
        let Some(conn) = self.conns.get_mut(key) else {
            // An event for a connection closed earlier in this turn.
            return;
        };
        // Fault hook: a shaped connection is echoed through its faults.
        if let Some(faults) = self.faults.as_mut()
            && faults.holds(key)
        {
            let step = match write_pending(conn, self.counters, now) {
                Flush::Done => faults.drive(
                    key,
                    &conn.stream,
                    &mut self.scratch,
                    self.counters,
                    self.options.max_pending(),
                    (&mut conn.last_active, now),
                ),
                Flush::Blocked => Step::Wait,
                Flush::Failed => Step::Failed,
            };
            match step {
                Step::Wait => {}
                Step::Again => self.again.push(key),
                Step::Finished => self.close(key),
                Step::Failed => {
                    self.counters.errors.add(1);
                    self.close(key);
                }
            }
            return;
        }
        match drive(
            conn,
            &mut self.scratch,
            self.counters,
            now,
            short_read_drains,
        ) {
            Drive::Wait => {}
            Drive::Again => self.again.push(key),
            Drive::Finished => self.close(key),
            Drive::Failed => {
                self.counters.errors.add(1);
                self.close(key);
            }
        }
    }

    fn close(&mut self, key: usize) {
        if self.conns.try_remove(key).is_some() {
            self.control.active.fetch_sub(1, Ordering::Relaxed);
        }
        // Fault hook: a closed connection's fault state goes with it.
        if let Some(faults) = self.faults.as_mut() {
            faults.forget(key);
        }
    }

    /// Closes every connection idle for `idle` milliseconds or more.
    fn sweep(&mut self, idle: u32, now: u32) {
        let expired: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, conn)| now.wrapping_sub(conn.last_active) >= idle)
            .map(|(key, _)| key)
            .collect();
        for key in expired {
            self.counters.timed_out.add(1);
            self.close(key);
        }
    }

    /// After a shutdown: gives live connections their pending bytes for at most the grace
    /// period, shuts down their write side, and closes them.
    ///
    /// A connection whose peer has sent bytes the server never read is not closed at once:
    /// closing a socket with unread input makes the system reset the connection and throw
    /// away the echoed bytes still in its send queue. Such a connection lingers, its input
    /// read and dropped, until the peer closes too or the grace period ends.
    fn drain(&mut self, poll: &mut Poll) {
        // Fault hook: an echo still held back by a fault is not delivered late; its
        // connection is reset, so the client sees that it ended.
        if let Some(faults) = self.faults.take() {
            for key in faults.holding() {
                if let Some(conn) = self.conns.get(key) {
                    let _ = SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO));
                }
                self.close(key);
            }
        }
        let grace = self.options.shutdown_grace();
        let start = std::time::Instant::now();
        let mut events = Events::with_capacity(1024);
        let mut finished = Vec::new();
        // Slab keys are below its capacity, and no connection is added while draining.
        let mut lingering = vec![false; self.conns.capacity()];
        loop {
            let now = self.clock.now();
            let mut busy = false;
            for (key, conn) in self.conns.iter_mut() {
                if !lingering[key] {
                    match write_pending(conn, self.counters, now) {
                        Flush::Blocked => continue,
                        Flush::Failed => {
                            finished.push(key);
                            continue;
                        }
                        Flush::Done => shutdown_write(&conn.stream),
                    }
                }
                match discard_input(conn, &mut self.scratch) {
                    Discard::Closed => finished.push(key),
                    // Nothing unread: closing now sends no reset.
                    Discard::Quiet if !lingering[key] => finished.push(key),
                    Discard::Quiet | Discard::Drained => lingering[key] = true,
                    Discard::More => {
                        lingering[key] = true;
                        busy = true;
                    }
                }
            }
            for key in finished.drain(..) {
                self.close(key);
            }
            let left = grace.saturating_sub(start.elapsed());
            if self.conns.is_empty() || left.is_zero() {
                break;
            }
            let timeout = if busy { Duration::ZERO } else { left };
            if let Err(e) = poll.poll(&mut events, Some(timeout))
                && !interrupted(&e)
            {
                break;
            }
        }
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.close(key);
        }
    }
}

/// What reading and dropping a closing connection's input found.
enum Discard {
    /// The peer closed, or the connection failed: nothing left to wait for.
    Closed,
    /// Nothing to read.
    Quiet,
    /// Some input was dropped, and now there is nothing to read.
    Drained,
    /// Input is still coming after a turn's worth of reads.
    More,
}

/// Reads and drops what the peer of a connection whose write side is shut still sends.
fn discard_input<S: Connection>(conn: &Conn<S>, scratch: &mut [u8]) -> Discard {
    let mut dropped = false;
    for _ in 0..READS_PER_TURN {
        match conn.stream.read(scratch) {
            Ok(0) => return Discard::Closed,
            Ok(_) => dropped = true,
            Err(e) if interrupted(&e) => {}
            Err(e) if would_block(&e) => {
                return if dropped {
                    Discard::Drained
                } else {
                    Discard::Quiet
                };
            }
            Err(_) => return Discard::Closed,
        }
    }
    Discard::More
}

/// How far writing a connection's pending bytes got.
enum Flush {
    /// Nothing is pending any more.
    Done,
    /// The peer's window is full; wait until it is writable.
    Blocked,
    /// The connection failed.
    Failed,
}

/// Writes a connection's pending bytes until none are left or the socket would block.
fn write_pending<S: Connection>(conn: &mut Conn<S>, counters: &Counters, now: u32) -> Flush {
    while let Some(pending) = conn.pending.as_mut() {
        match conn.stream.write(&pending.data[pending.sent..]) {
            Ok(n) => {
                counters.bytes_out.add(n as u64);
                conn.last_active = now;
                pending.sent += n;
                if pending.sent == pending.data.len() {
                    conn.pending = None;
                }
            }
            Err(e) if interrupted(&e) => {}
            Err(e) if would_block(&e) => return Flush::Blocked,
            Err(_) => return Flush::Failed,
        }
    }
    Flush::Done
}

/// Echoes what one connection has to offer until it would block, fails, ends, or has had its
/// turn.
///
/// With `short_read_drains`, a read that returns less than the buffer holds is taken to have
/// emptied the socket, and the read that would only say "would block" is skipped: that is
/// one system call in three of a small echo. It is sound under edge-triggered readiness,
/// because data or an end-of-stream arriving after the short read raises a new edge. It is
/// only passed for an event that did not already report the peer's end-of-stream or an
/// error, which no later edge would repeat.
fn drive<S: Connection>(
    conn: &mut Conn<S>,
    scratch: &mut [u8],
    counters: &Counters,
    now: u32,
    short_read_drains: bool,
) -> Drive {
    let mut reads = 0;
    loop {
        // Bytes the peer has not taken come first: while they wait, nothing is read.
        match write_pending(conn, counters, now) {
            Flush::Done => {}
            Flush::Blocked => return Drive::Wait,
            Flush::Failed => return Drive::Failed,
        }
        if reads == READS_PER_TURN {
            return Drive::Again;
        }
        reads += 1;
        let n = match conn.stream.read(scratch) {
            // The peer shut its write side and everything it sent has been echoed.
            Ok(0) => {
                shutdown_write(&conn.stream);
                return Drive::Finished;
            }
            Ok(n) => n,
            Err(e) if interrupted(&e) => continue,
            Err(e) if would_block(&e) => return Drive::Wait,
            Err(_) => return Drive::Failed,
        };
        counters.bytes_in.add(n as u64);
        conn.last_active = now;
        let mut sent = 0;
        while sent < n {
            match conn.stream.write(&scratch[sent..n]) {
                Ok(m) => sent += m,
                Err(e) if interrupted(&e) => {}
                Err(e) if would_block(&e) => {
                    conn.pending = Some(Box::new(Pending {
                        data: scratch[sent..n].into(),
                        sent: 0,
                    }));
                    break;
                }
                Err(_) => return Drive::Failed,
            }
        }
        counters.bytes_out.add(sent as u64);
        if short_read_drains && n < scratch.len() && conn.pending.is_none() {
            return Drive::Wait;
        }
    }
}

/// Shuts a connection's write side, so its peer reads end-of-stream. A peer that has already
/// gone leaves nothing to shut down.
fn shutdown_write<S: Connection>(stream: &S) {
    let _ = stream.shutdown_write();
}
