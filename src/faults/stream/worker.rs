//! The stream faults of one worker of `serve()`: its shaped connections and their timers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Driven;
use super::plan::Plan;
use super::shaped::{Phase, Shaped};
use super::treatment::{Treatment, decide};
use crate::addr::Address;
use crate::faults::{Active, Switch};
use crate::stats::Counters;
use crate::transport::sealed::{Connection, SessionFaults};

/// The first stream of the generator for connections that were already open when the faults
/// were set (those accepted afterwards use their index).
const LIVE_STREAMS: u64 = 1 << 63;

/// The stream faults of one worker of `serve()`: the state of its shaped connections, by
/// their key in the engine's slab, and the timers that wake them.
#[derive(Debug, Default)]
pub(crate) struct ShapedConnections {
    active: Option<Arc<Active>>,
    conns: HashMap<usize, Box<Shaped>>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl ShapedConnections {
    /// Takes the faults now in force: a connection accepted from now on draws from them, and
    /// so does each one already open (`live`, with its key), for the bytes it reads next.
    pub(crate) fn refresh<'a, S: Connection>(
        &mut self,
        switch: &Switch,
        live: impl Iterator<Item = (usize, &'a S)>,
        counters: &Counters,
    ) {
        let (_, active) = switch.load();
        self.active = active;
        let now = Instant::now();
        for (key, stream) in live {
            let verdict = match &self.active {
                Some(active) => {
                    let peer = stream.peer_addr().ok();
                    decide(
                        active,
                        None,
                        LIVE_STREAMS | key as u64,
                        peer.as_ref(),
                        now,
                        counters,
                    )
                    .0
                }
                None => Treatment::Plain,
            };
            match (verdict, self.conns.get_mut(&key)) {
                (Treatment::Shaped(new), Some(old)) => old.replan(*new),
                (Treatment::Shaped(new), None) => {
                    self.conns.insert(key, new);
                    // Driven once, so bytes already waiting in the socket are seen.
                    self.timers.push(Reverse((now, key)));
                }
                (_, Some(old)) => {
                    let empty =
                        Shaped::new(Plan::default(), old.rng.clone(), Arc::clone(&old.active));
                    old.replan(empty);
                }
                (_, None) => {}
            }
        }
    }

    /// Draws the faults of a connection just accepted from `peer`, and those its transport
    /// applies itself.
    pub(crate) fn accept(
        &mut self,
        peer: Address,
        counters: &Counters,
    ) -> (Treatment, SessionFaults) {
        let Some(active) = &self.active else {
            return (Treatment::Plain, SessionFaults::default());
        };
        let index = active
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        decide(
            active,
            Some(index),
            index,
            Some(&peer),
            Instant::now(),
            counters,
        )
    }

    /// Keeps the state of a shaped connection registered under `key`, and drives it once
    /// it may start.
    pub(crate) fn attach(&mut self, key: usize, shaped: Box<Shaped>) {
        let at = shaped.plan.start_at.unwrap_or_else(Instant::now);
        self.conns.insert(key, shaped);
        self.timers.push(Reverse((at, key)));
    }

    /// True if the connection under `key` is shaped.
    pub(crate) fn holds(&self, key: usize) -> bool {
        self.conns.contains_key(&key)
    }

    /// Forgets a connection the engine closed.
    pub(crate) fn forget(&mut self, key: usize) {
        self.conns.remove(&key);
    }

    /// Whether the shaped connection under `key` still owes its peer an echo, for a
    /// shutdown's drain: bytes held back, or input the connection has not read (a stall, an
    /// accept delay not over yet, or bytes that came since it was last driven). One whose
    /// echo a fault ended (`close-after`, `close-in`, `blackhole`) owes nothing more, what
    /// its peer still sends being dropped by the fault. `None` if it is not shaped.
    pub(crate) fn owes<S: Connection>(&self, key: usize, stream: &S) -> Option<bool> {
        let shaped = self.conns.get(&key)?;
        if !shaped.held.is_empty() {
            return Some(true);
        }
        Some(match shaped.phase {
            Phase::Closing | Phase::Blackhole => false,
            Phase::Open | Phase::Stalled => has_unread(stream),
        })
    }

    /// Drives the shaped connection under `key`, reading into `scratch` and giving `tap`
    /// every byte read, in order (a no-op unless the server records).
    pub(crate) fn drive<S: Connection>(
        &mut self,
        key: usize,
        stream: &S,
        (scratch, mut tap): (&mut [u8], impl FnMut(&[u8])),
        counters: &Counters,
        max_pending: usize,
        activity: (&mut u32, u32),
    ) -> Driven {
        let Some(shaped) = self.conns.get_mut(&key) else {
            return Driven::Wait;
        };
        let step = shaped.drive(stream, scratch, counters, max_pending, activity, &mut tap);
        if let Some(at) = shaped.wake.take() {
            self.timers.push(Reverse((at, key)));
        }
        if matches!(step, Driven::Finished | Driven::Failed) || shaped.is_plain() {
            self.conns.remove(&key);
        }
        step
    }

    /// How long the engine may wait before a timer is due.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timers
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
    }

    /// Takes the keys whose timers are due.
    pub(crate) fn due(&mut self, keys: &mut Vec<usize>) {
        let now = Instant::now();
        while let Some(Reverse((at, key))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.conns.contains_key(&key) && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
}

/// Whether input is waiting on a non-blocking connection, left where it is. A pending
/// end-of-stream or error is not input.
fn has_unread<S: Connection>(stream: &S) -> bool {
    stream.unread().is_ok_and(|n| n > 0)
}
