//! The accepting side of the stream engine: worker 0 accepts until the backlog is empty,
//! refuses what the limits refuse (the connection cap, the per-source share, a spare
//! descriptor for a full table), and deals each connection to a worker's inbox; each worker
//! adopts what it was dealt.

use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use mio::{Interest, Poll, Token, Waker};

use super::conn::Conn;
use super::{ACCEPT_BACKOFF, Dealt, Engine};
use crate::engine::{interrupted, millis, would_block};
use crate::faults::stream::Treatment;
use crate::record::ConnectionEnd;
use crate::transport::sealed::{Connection, Listener, SessionFaults};

/// Connections dealt to one worker by the accepting worker, waiting to be registered with
/// its poll.
pub(super) struct Inbox<S> {
    queue: Mutex<Vec<S>>,
    /// The waker of the worker's poll, set when it starts.
    pub(super) waker: OnceLock<Arc<Waker>>,
}

impl<S> Inbox<S> {
    pub(super) fn new() -> Self {
        Inbox {
            queue: Mutex::new(Vec::new()),
            waker: OnceLock::new(),
        }
    }

    pub(super) fn queue(&self) -> std::sync::MutexGuard<'_, Vec<S>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a connection over, waking the worker if its inbox was empty (otherwise a wake is
    /// already on its way). A worker that has not started yet empties its inbox first thing.
    pub(super) fn push(&self, stream: S) {
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

impl<S: Connection> Engine<'_, S> {
    /// Accepts until the backlog is empty. Returns when to try again if accepting must pause.
    pub(super) fn accept_all<L: Listener<Stream = S>>(
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
                // Out of descriptors (EMFILE, ENFILE): answer the waiting client at once with
                // the spare descriptor. Out of memory, or no spare: the connection stays
                // queued; pause, let connections close, and try again.
                Err(e) => {
                    self.counters.accept_errors.add(1);
                    if self.refuse_with_spare(listener) {
                        continue;
                    }
                    self.counters.accept_backoffs.add(1);
                    self.accept_log.warn(format_args!(
                        "accept failed, pausing for {ACCEPT_BACKOFF:?}: {e}"
                    ));
                    return Some(now.wrapping_add(millis(ACCEPT_BACKOFF)));
                }
            };
            self.counters.accepted.add(1);
            let cap = self.control.max_connections.load(Ordering::Relaxed);
            if self.control.active.load(Ordering::Relaxed) >= cap {
                // Closed at once; the connections already served are not touched.
                self.counters.refused.add(1);
                if cap < self.options.max_connections() {
                    self.accept_log.warn(format_args!(
                        "connection refused: {cap} open, the most the descriptor limit allows"
                    ));
                }
                continue;
            }
            let prepared = stream
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
            let entry = match &self.record {
                Some(tap) => tap.recorder.connection(peer.clone().into()),
                None => None,
            };
            // Fault hook: the faults may close the connection at once, or shape its echo; a
            // shaped connection stays with this worker, which keeps its state.
            let (verdict, session) = match self.faults.as_mut() {
                Some(faults) => faults.accept(peer.into(), self.counters),
                None => (Treatment::Plain, SessionFaults::default()),
            };
            // The faults of the transport's own (TLS's), applied before anything is read.
            if !session.is_empty() && listener.session_faults(&stream, &session).is_err() {
                self.counters.errors.add(1);
                self.ended(entry, ConnectionEnd::Fault);
                continue;
            }
            match verdict {
                Treatment::Plain => {}
                Treatment::Close => {
                    self.ended(entry, ConnectionEnd::Fault);
                    continue;
                }
                Treatment::Shaped(shaped) => {
                    self.control.active.fetch_add(1, Ordering::Relaxed);
                    if let Some(key) = self.adopt(poll, (stream, entry), now)
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
                self.adopt(poll, (stream, entry), now);
            } else {
                self.inboxes[target].push((stream, entry));
            }
        }
    }

    /// After an accept failed, perhaps for want of a descriptor: frees the spare descriptor,
    /// accepts the waiting connection with it and closes it at once (the client sees its
    /// connection closed rather than waiting for its own timeout), then takes the spare
    /// back. Returns `false` if there was no spare, or the accept failed again (the error
    /// was not about descriptors).
    pub(super) fn refuse_with_spare<L: Listener<Stream = S>>(&mut self, listener: &L) -> bool {
        let Some(spare) = self.spare.as_mut() else {
            return false;
        };
        if !spare.release() {
            return false;
        }
        let accepted = listener.accept();
        let refused = accepted.is_ok();
        // Closed before the spare is taken back: it needs the descriptor this one holds.
        drop(accepted);
        spare.restore();
        if refused {
            self.counters.accepted.add(1);
            self.counters.refused.add(1);
            self.accept_log.warn(format_args!(
                "out of descriptors: a connection was accepted and closed at once"
            ));
        }
        refused
    }

    /// Registers the connections dealt to this worker.
    pub(super) fn adopt_inbox(&mut self, poll: &Poll, now: u32) {
        std::mem::swap(&mut *self.inboxes[self.index].queue(), &mut self.incoming);
        let mut incoming = std::mem::take(&mut self.incoming);
        for dealt in incoming.drain(..) {
            self.adopt(poll, dealt, now);
        }
        self.incoming = incoming;
    }

    /// Starts serving an accepted connection, already counted in `active`; returns its key.
    pub(super) fn adopt(
        &mut self,
        poll: &Poll,
        (stream, entry): Dealt<S>,
        now: u32,
    ) -> Option<usize> {
        let Admission::Admitted(source) = self.admit_source(&stream) else {
            // Closed at once, as a connection beyond `max_connections` is.
            self.control.active.fetch_sub(1, Ordering::Relaxed);
            self.ended(entry, ConnectionEnd::Refused);
            return None;
        };
        let vacant = self.conns.vacant_entry();
        let key = vacant.key();
        let registered = stream.register(
            poll.registry(),
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        );
        if registered.is_err() {
            self.counters.errors.add(1);
            self.control.active.fetch_sub(1, Ordering::Relaxed);
            if let (Some(tap), Some(index)) = (&self.record, entry) {
                tap.recorder.ended(index, ConnectionEnd::Failed);
            }
            if let Some(ip) = source {
                self.control.sources.leave(ip);
            }
            return None;
        }
        if let Some(ip) = source {
            self.sources_of.insert(key, ip);
        }
        if let (Some(tap), Some(index)) = (self.record.as_mut(), entry) {
            tap.entries.insert(key, index);
        }
        vacant.insert(Conn {
            stream,
            pending: None,
            last_active: now,
        });
        Some(key)
    }

    /// With a per-source limit, counts a new connection against its source address, or
    /// refuses it if that source already has its share open. A connection whose address
    /// cannot be read (its peer has already gone) or has no IP address (a Unix socket) is
    /// served uncounted.
    pub(super) fn admit_source(&mut self, stream: &S) -> Admission {
        let Some(limit) = self.options.max_connections_per_source() else {
            return Admission::Admitted(None);
        };
        let Some(ip) = peer_ip(stream) else {
            return Admission::Admitted(None);
        };
        if self.control.sources.admit(ip, limit) {
            return Admission::Admitted(Some(ip));
        }
        self.counters.refused_per_source.add(1);
        self.accept_log.warn(format_args!(
            "connection from {ip} refused: {limit} already open from it"
        ));
        Admission::Refused
    }
}

/// Whether a new connection may be served, and the source it was counted against.
pub(super) enum Admission {
    Admitted(Option<std::net::IpAddr>),
    Refused,
}

/// The IP address a connection comes from, IPv4 addresses seen through an IPv6 socket
/// (`::ffff:a.b.c.d`) given as IPv4; `None` for a peer that has gone, or a socket with no IP
/// address (Unix). Asked only when a per-source limit is set.
fn peer_ip<S: Connection>(stream: &S) -> Option<std::net::IpAddr> {
    let addr = stream.peer_addr().ok()?;
    addr.as_ip().map(|addr| addr.ip().to_canonical())
}
