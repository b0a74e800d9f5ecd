//! The datagram engine: one worker's echo of the datagrams on a shared datagram socket, for
//! any datagram transport.
//!
//! Each datagram is received into the worker's scratch buffer and sent straight back to its
//! source, whole, or not at all: a datagram too large for the buffer, or from a source that
//! could start an echo loop, is dropped and counted.

use std::hash::Hash;
use std::sync::Arc;

use mio::Events;

use super::loops::{Guard, Print};
use super::{Counters, RateLimit, SOCKET, WorkerContext, interrupted, would_block};
use crate::buffer;
use crate::error::Result;
use crate::faults::datagram::DatagramFaults as Faults;
use crate::options::Options;
use crate::record::Recorder;
use crate::transport::is_unreachable;
use crate::transport::sealed::{Datagram, Refusal};

/// Datagrams one worker handles between two looks at the shutdown switch.
const DATAGRAMS_PER_TURN: u32 = 1024;

/// The most datagrams received and answered in one batch (`recvmmsg`/`sendmmsg`).
const BATCH: usize = 16;

/// The most bytes a worker's batch of slots takes: with the default 64 KiB datagram
/// buffer, [`BATCH`] slots; with larger buffers, fewer.
const BATCH_BYTES: usize = 1 << 20;

/// One worker's view of the server's loop guard ([`Guard`]), if the server has a per-source
/// rate limit.
#[derive(Debug)]
struct LoopLimit<'a, K> {
    guard: Option<&'a Guard<K>>,
}

impl<K: Hash + Eq + Clone> LoopLimit<'_, K> {
    /// Whether `payload` from `source` may be answered now: false only for an answer to
    /// the server's recent replies to `source` once its bucket is empty.
    fn allow(&self, source: &K, payload: &[u8]) -> bool {
        self.guard
            .is_none_or(|guard| guard.admit(source, &Print::of(payload)))
    }

    /// Says what went out in reply to the datagram just admitted from `source`, under a
    /// fault that may have altered or dropped it: `reply`, or nothing.
    fn sent(&self, source: &K, reply: Option<&[u8]>) {
        if let Some(guard) = self.guard {
            guard.amend(source, reply.map(Print::of));
        }
    }
}

/// Runs `workers` event loops on the one socket until the server is shut down. Each polls
/// the one socket (see [`Datagram::register_shared`]); a datagram wakes one of those asleep in their poll,
/// which takes every datagram waiting.
pub(crate) fn serve<D: Datagram>(
    socket: &D,
    local: &D::Addr,
    worker: WorkerContext<'_>,
    workers: usize,
) -> Result<()> {
    let guard = Guard::new(worker.options.source_rate_limit());
    let policy = D::Policy::default();
    worker.spawn(workers, |_| {
        run(socket, local, worker, guard.as_ref(), &policy)
    })
}

/// Runs one worker until the server is shut down.
fn run<D: Datagram>(
    socket: &D,
    local: &D::Addr,
    worker: WorkerContext<'_>,
    guard: Option<&Guard<D::Addr>>,
    policy: &D::Policy,
) -> Result<()> {
    let mut batch = BatchBuffer::new(D::new_batch(), worker.options.buffer_size())?;
    worker.run(|poll, counters, _| {
        socket.register_shared(poll.registry(), SOCKET)?;
        let mut responder = Responder {
            socket,
            local,
            options: worker.options,
            policy,
            limit: LoopLimit { guard },
            counters,
            log: RateLimit::default(),
            recorder: worker.control.recorder(),
            availability: &worker.control.availability,
        };
        let mut events = Events::with_capacity(64);
        let mut more = false;
        let mut faults = Faults::new(&worker.control.faults);
        while !worker.control.is_stopping() {
            let timeout = more.then_some(std::time::Duration::ZERO);
            // Fault hook: wake when a reply held back by a fault is due.
            let timeout = if faults.is_on() {
                crate::faults::earliest(timeout, faults.timeout())
            } else {
                timeout
            };
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            // Fault hook: send the held replies whose time has come.
            faults.release(socket, counters);
            if more || events.iter().any(|e| e.token() == SOCKET) {
                more = responder.some(&mut batch, &mut faults);
            }
            worker.control.progress.turn();
        }
        let _ = socket.deregister(poll.registry());
        Ok(())
    })
}

/// A worker's receive buffer, cut into slots of one datagram each, the lists of the batch
/// in it, and what the transport keeps between batches (`S`).
#[derive(Debug)]
struct BatchBuffer<A, S> {
    state: S,
    scratch: Box<[u8]>,
    /// The bytes of one slot: the configured size and one more, so a datagram that fills
    /// its slot did not fit.
    slot: usize,
    /// The length and source of each datagram received, the i-th in slot i.
    received: Vec<(usize, A)>,
    /// The replies to send: slot, length, destination.
    replies: Vec<(usize, usize, A)>,
}

impl<A, S> BatchBuffer<A, S> {
    /// Slots of `capacity + 1` bytes: [`BATCH`] of them, or as many as [`BATCH_BYTES`]
    /// holds, and at least one.
    fn new(state: S, capacity: usize) -> Result<Self> {
        let slot = capacity.saturating_add(1);
        let slots = (BATCH_BYTES / slot).clamp(1, BATCH);
        // `with_sentinel` adds the one byte more of the last slot.
        let scratch = buffer::with_sentinel("the receive buffer", slot * slots - 1)?;
        Ok(BatchBuffer {
            state,
            scratch: scratch.into_boxed_slice(),
            slot,
            received: Vec::with_capacity(slots),
            replies: Vec::with_capacity(slots),
        })
    }
}

/// What one worker answers datagrams with: its socket, its rules and its counters.
struct Responder<'a, D: Datagram> {
    socket: &'a D,
    local: &'a D::Addr,
    options: &'a Options,
    policy: &'a D::Policy,
    limit: LoopLimit<'a, D::Addr>,
    counters: &'a Counters,
    log: RateLimit,
    /// The record, if the server records.
    recorder: Option<Arc<Recorder>>,
    /// Whether the server is down (and answers nothing).
    availability: &'a crate::faults::down::Availability,
}

impl<D: Datagram> Responder<'_, D> {
    /// Echoes datagrams until the socket has none left (returns false) or the turn is over
    /// (returns true: call again). They are received and answered a batch at a time
    /// (`recvmmsg` and `sendmmsg` where the transport has them), or one at a time under a
    /// fault.
    fn some(
        &mut self,
        batch: &mut BatchBuffer<D::Addr, D::Batch>,
        faults: &mut Faults<'_, D::Addr>,
    ) -> bool {
        let slot = batch.slot;
        let mut handled = 0;
        while handled < DATAGRAMS_PER_TURN {
            // Fault hook: faults set or changed through the handle apply to the datagrams
            // received from then on; under a fault they are taken one at a time.
            faults.refresh();
            let room = if faults.is_on() {
                slot
            } else {
                batch.scratch.len()
            };
            batch.received.clear();
            let received = self.socket.recv_batch(
                &mut batch.state,
                &mut batch.scratch[..room],
                slot,
                &mut batch.received,
            );
            match received {
                Ok(()) => {}
                Err(e) if would_block(&e) => return false,
                Err(e) if interrupted(&e) => continue,
                // An ICMP error about an earlier reply; it says nothing about the next one.
                Err(e) if is_unreachable(&e) => continue,
                Err(e) => {
                    self.log.warn(format_args!("udp receive failed: {e}"));
                    return false;
                }
            }
            handled += batch.received.len() as u32;
            if let Some(recorder) = &self.recorder {
                for (index, (n, source)) in batch.received.iter().enumerate() {
                    let payload = &batch.scratch[index * slot..][..*n];
                    recorder.datagram(source.clone().into(), payload);
                }
            }
            // A server that went down reads what comes and answers nothing.
            if self.availability.is_down() {
                self.counters
                    .faults
                    .ignored_while_down
                    .add(batch.received.len() as u64);
                continue;
            }
            // Faults set while the batch was being read apply to all of it.
            faults.refresh();
            batch.replies.clear();
            for (index, (n, source)) in batch.received.drain(..).enumerate() {
                let payload = &mut batch.scratch[index * slot..][..n];
                if !self.admit(payload, slot - 1, &source) {
                    continue;
                }
                // Fault hook: under a fault, its reply is dropped, altered, held or repeated.
                if faults.is_on() {
                    let sent = faults.reply(self.socket, payload, &source, self.counters);
                    // The loop guard remembers the reply as it went out.
                    self.limit.sent(&source, sent.map(|len| &payload[..len]));
                    continue;
                }
                batch.replies.push((index, n, source));
            }
            self.send_all(&batch.scratch, slot, &batch.replies);
        }
        true
    }

    /// Whether `payload` (as received into a slot of `capacity + 1` bytes) from `source` is
    /// answered; if not, counts and logs why.
    fn admit(&mut self, payload: &[u8], capacity: usize, source: &D::Addr) -> bool {
        let (counters, log) = (self.counters, &mut self.log);
        if payload.len() > capacity {
            // Its real size is unknown (only `capacity + 1` bytes were taken): it is counted
            // as a datagram, not in `bytes_in`.
            counters.dropped_truncated.add(1);
            log.warn(format_args!(
                "dropped a datagram from {source} larger than the {capacity}-byte buffer"
            ));
            return false;
        }
        counters.bytes_in.add(payload.len() as u64);
        match self
            .socket
            .refusal(source, self.local, self.options, self.policy)
        {
            Some(Refusal::DeniedPort) => {
                counters.dropped_denied_port.add(1);
                log.warn(format_args!("not answering {source}: denied source port"));
                return false;
            }
            Some(Refusal::BadSource) => {
                counters.dropped_bad_source.add(1);
                log.warn(format_args!("not answering {source}: no one to answer"));
                return false;
            }
            Some(Refusal::OwnAddress) => {
                counters.dropped_own_address.add(1);
                log.warn(format_args!(
                    "not answering {source}: the server's own address"
                ));
                return false;
            }
            None => {}
        }
        if !self.limit.allow(source, payload) {
            counters.dropped_rate_limited.add(1);
            log.warn(format_args!(
                "not answering {source}: it keeps answering the server's own replies"
            ));
            return false;
        }
        true
    }

    /// Sends every reply, each from its slot of `scratch`, in as few calls as the system
    /// allows. A reply the system will not take is dropped and counted: UDP promises
    /// nothing.
    fn send_all(&mut self, scratch: &[u8], slot: usize, replies: &[(usize, usize, D::Addr)]) {
        let mut rest = replies;
        while let Some((_, _, first)) = rest.first() {
            match self.socket.send_batch(scratch, slot, rest) {
                Ok(sent) if sent > 0 => {
                    for (_, n, _) in &rest[..sent] {
                        self.counters.bytes_out.add(*n as u64);
                        self.counters.datagrams_echoed.add(1);
                    }
                    rest = &rest[sent..];
                }
                Err(e) if interrupted(&e) => {}
                result => {
                    self.counters.dropped_send_failed.add(1);
                    let reason = match result {
                        Err(e) => e.to_string(),
                        Ok(_) => "the system took none".to_string(),
                    };
                    self.log
                        .warn(format_args!("reply to {first} not sent: {reason}"));
                    rest = &rest[1..];
                }
            }
        }
    }
}
