//! Datagram faults: what happens to a reply when a fault applies to it.
//!
//! One [`State`] per server, shared by `serve_once` and every worker of `serve()`, makes every
//! choice under one lock, in the order the workers take the datagrams: the same seed and the
//! same traffic give the same faults however many workers there are, as long as one datagram
//! is answered before the next comes (two arriving together may be taken in either order by
//! two workers). Replies held back by a delay
//! or a reordering are kept here, at most [`max_held`](crate::Faults::with_max_held) bytes of
//! them; past that a reply is dropped and counted.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::jitter::Jitter;
use super::{Active, Fault, FaultKind, Rng, Switch};
use crate::addr::Address;
use crate::stats::Counters;
use crate::transport::sealed::Datagram;

/// The generator stream of the datagram faults (connections use their index).
const DATAGRAM_STREAM: u64 = u64::MAX;

/// A reply held back, to be sent at `at`.
#[derive(Debug)]
struct Held<A> {
    at: Instant,
    to: A,
    data: Box<[u8]>,
    copies: u32,
}

/// What the faults decided for one reply.
#[derive(Debug, Default, PartialEq)]
struct ReplyFaults {
    dropped: bool,
    /// Bytes kept (the reply is cut to them), if truncated.
    len: Option<usize>,
    /// An offset and the byte it is XORed with, if corrupted.
    flip: Option<(usize, u8)>,
    copies: u32,
    delay: Option<Duration>,
    /// How long the reply may be held behind a later one, if it is.
    hold: Option<Duration>,
}

/// The datagram faults of one server: the draws and the replies held back.
#[derive(Debug)]
pub(crate) struct State<A> {
    /// The version of the faults the draws below belong to.
    version: u64,
    active: Option<Arc<Active>>,
    rng: Rng,
    /// Datagrams received since the faults were set.
    received: u64,
    /// The Gilbert–Elliott state of each `drop` with a burst: true in the bad state.
    bad: Vec<bool>,
    /// The draws of each `delay`, by the fault's place (`None` for the other kinds).
    jitters: Vec<Option<Jitter>>,
    /// Replies held by a delay, by release time.
    delayed: VecDeque<Held<A>>,
    /// The reply held behind the next one.
    reordered: Option<Held<A>>,
    held_bytes: usize,
}

impl<A: Clone + Into<Address>> State<A> {
    pub(crate) fn new() -> Self {
        State {
            version: 0,
            active: None,
            rng: Rng::new(0, DATAGRAM_STREAM),
            received: 0,
            bad: Vec::new(),
            jitters: Vec::new(),
            delayed: VecDeque::new(),
            reordered: None,
            held_bytes: 0,
        }
    }

    /// Takes the faults in force if they changed: the draws and counts start again.
    fn refresh(&mut self, switch: &Switch) {
        if switch.version() == self.version {
            return;
        }
        let (version, active) = switch.load();
        self.version = version;
        self.rng = Rng::new(
            active.as_ref().map_or(0, |a| a.faults.seed()),
            DATAGRAM_STREAM,
        );
        self.received = 0;
        self.bad = vec![false; active.as_ref().map_or(0, |a| a.faults.faults().len())];
        self.jitters = active
            .as_ref()
            .map(|a| a.faults.faults().iter().map(Fault::jitter).collect())
            .unwrap_or_default();
        self.active = active;
    }

    /// Draws what happens to a reply of `len` bytes to `source`.
    fn decide(&mut self, len: usize, source: &A, counters: &Counters) -> ReplyFaults {
        let mut verdict = ReplyFaults {
            copies: 1,
            ..ReplyFaults::default()
        };
        let Some(active) = self.active.clone() else {
            return verdict;
        };
        let index = self.received;
        self.received += 1;
        let peer: Address = source.clone().into();
        let mut len = len;
        for (i, fault) in active.faults.faults().iter().enumerate() {
            let kind = fault.kind();
            if !kind.applies_to_datagram()
                || index < fault.after()
                || !fault.selects(Some(index), Some(&peer))
            {
                continue;
            }
            let p = fault.probability();
            match kind {
                FaultKind::Drop { burst: Some(burst) } => {
                    // Gilbert's two states: from good to bad with probability q, back with r
                    // = 1/burst; the time spent in the bad state, q / (q + r), is p.
                    let r = 1.0 / burst;
                    let q = if p >= 1.0 {
                        1.0
                    } else {
                        (p * r / (1.0 - p)).min(1.0)
                    };
                    let bad = &mut self.bad[i];
                    let draw = self.rng.unit();
                    *bad = if *bad { draw >= r } else { draw < q };
                    if *bad {
                        counters.faults.dropped.add(1);
                        verdict.dropped = true;
                        return verdict;
                    }
                }
                _ if !self.rng.chance(p) => {}
                FaultKind::Blackhole => {
                    counters.faults.blackholed.add(1);
                    verdict.dropped = true;
                    return verdict;
                }
                FaultKind::Drop { burst: None } => {
                    counters.faults.dropped.add(1);
                    verdict.dropped = true;
                    return verdict;
                }
                FaultKind::Duplicate => {
                    counters.faults.duplicated.add(1);
                    verdict.copies += 1;
                }
                FaultKind::Truncate { len: keep } if keep < len => {
                    counters.faults.truncated.add(1);
                    len = keep;
                    verdict.len = Some(keep);
                }
                FaultKind::Corrupt if len > 0 => {
                    counters.faults.corrupted.add(1);
                    let offset = self.rng.below(len);
                    // A non-zero mask, so the byte really changes.
                    let mask = 1 + self.rng.below(255) as u8;
                    verdict.flip = Some((offset, mask));
                }
                FaultKind::Delay { delay, .. } => {
                    let delay = match self.jitters.get_mut(i) {
                        Some(Some(jitter)) => jitter.draw(&mut self.rng),
                        _ => delay,
                    };
                    verdict.delay = Some(verdict.delay.unwrap_or_default() + delay);
                }
                FaultKind::Reorder { hold } => {
                    verdict.hold.get_or_insert(hold);
                }
                _ => {}
            }
        }
        verdict
    }

    /// Holds a reply if there is room for it; counts it as overflowed otherwise.
    fn hold(&mut self, held: Held<A>, counters: &Counters) -> bool {
        if self.held_bytes + held.data.len() > self.max_held() {
            counters.faults.overflowed.add(1);
            return false;
        }
        self.held_bytes += held.data.len();
        let at = held.at;
        let place = self.delayed.partition_point(|h| h.at <= at);
        self.delayed.insert(place, held);
        true
    }

    /// The most bytes of replies that may be held.
    fn max_held(&self) -> usize {
        self.active
            .as_ref()
            .map_or(crate::options::DEFAULT_MAX_PENDING, |a| a.faults.max_held())
    }

    /// Carries out `verdict` for the reply `payload` to `to`: sends it (as many times as it
    /// says), holds it, or drops it. Returns the bytes sent now.
    fn dispatch<D: Datagram<Addr = A>>(
        &mut self,
        socket: &D,
        payload: &mut [u8],
        to: &A,
        verdict: ReplyFaults,
        counters: &Counters,
    ) -> usize {
        if verdict.dropped {
            return 0;
        }
        let len = verdict.len.unwrap_or(payload.len()).min(payload.len());
        let payload = &mut payload[..len];
        if let Some((offset, mask)) = verdict.flip {
            payload[offset] ^= mask;
        }
        let now = Instant::now();
        if let Some(hold) = verdict.hold
            && self.reordered.is_none()
        {
            if self.held_bytes + len > self.max_held() {
                counters.faults.overflowed.add(1);
                return 0;
            }
            counters.faults.reordered.add(1);
            self.held_bytes += len;
            self.reordered = Some(Held {
                at: now + hold,
                to: to.clone(),
                data: payload.into(),
                copies: verdict.copies,
            });
            return 0;
        }
        if let Some(delay) = verdict.delay {
            let held = Held {
                at: now + delay,
                to: to.clone(),
                data: payload.into(),
                copies: verdict.copies,
            };
            if self.hold(held, counters) {
                counters.faults.delayed.add(1);
            }
            return 0;
        }
        let sent = send(socket, payload, to, verdict.copies, counters);
        self.overtaken(socket, counters);
        sent
    }

    /// Sends the reply held behind a later one, now that a later one went.
    fn overtaken<D: Datagram<Addr = A>>(&mut self, socket: &D, counters: &Counters) {
        if let Some(held) = self.reordered.take() {
            self.held_bytes -= held.data.len();
            send(socket, &held.data, &held.to, held.copies, counters);
        }
    }

    /// Sends the held replies whose time has come.
    fn release<D: Datagram<Addr = A>>(&mut self, socket: &D, counters: &Counters) {
        let now = Instant::now();
        while self.delayed.front().is_some_and(|h| h.at <= now) {
            if let Some(held) = self.delayed.pop_front() {
                self.held_bytes -= held.data.len();
                send(socket, &held.data, &held.to, held.copies, counters);
                self.overtaken(socket, counters);
            }
        }
        if self.reordered.as_ref().is_some_and(|h| h.at <= now) {
            self.overtaken(socket, counters);
        }
    }

    /// When the next held reply is due.
    fn next_release(&self) -> Option<Instant> {
        let delayed = self.delayed.front().map(|h| h.at);
        let reordered = self.reordered.as_ref().map(|h| h.at);
        match (delayed, reordered) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn is_idle(&self) -> bool {
        self.active.is_none() && self.delayed.is_empty() && self.reordered.is_none()
    }
}

/// Sends one reply `copies` times, counting each as the engine counts its replies.
fn send<D: Datagram>(
    socket: &D,
    data: &[u8],
    to: &D::Addr,
    copies: u32,
    counters: &Counters,
) -> usize {
    let mut sent = 0;
    for _ in 0..copies {
        match socket.send_to(data, to) {
            Ok(_) => {
                counters.bytes_out.add(data.len() as u64);
                counters.datagrams_echoed.add(1);
                sent += data.len();
            }
            // UDP promises nothing: a reply the system will not take now is dropped.
            Err(_) => counters.dropped_send_failed.add(1),
        }
    }
    sent
}

fn lock<A>(state: &Mutex<State<A>>) -> MutexGuard<'_, State<A>> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The datagram faults of one worker of `serve()`.
#[derive(Debug)]
pub(crate) struct DatagramFaults<'a, A> {
    switch: &'a Switch,
    seen: u64,
    /// The server's state, once faults were ever set.
    state: Option<Arc<Mutex<State<A>>>>,
    /// Whether replies go through the faults: some are in force, or replies are held.
    on: bool,
}

impl<'a, A: Clone + Into<Address> + Send + Sync + 'static> DatagramFaults<'a, A> {
    pub(crate) fn new(switch: &'a Switch) -> Self {
        DatagramFaults {
            switch,
            seen: 0,
            state: None,
            on: false,
        }
    }

    /// Looks at the switch: one atomic load, unless the faults changed.
    #[inline]
    pub(crate) fn refresh(&mut self) {
        let version = self.switch.version();
        if version != self.seen {
            self.seen = version;
            let state = self
                .state
                .get_or_insert_with(|| self.switch.datagram_state());
            let mut state = lock(state);
            state.refresh(self.switch);
            self.on = !state.is_idle();
        }
    }

    /// True if replies must go through [`reply`](Self::reply).
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Sends, holds, alters or drops the reply `payload` to `source`. Returns how many of
    /// its bytes go out, now or later, altered in place where a fault alters them; `None`
    /// if it is dropped.
    pub(crate) fn reply<D: Datagram<Addr = A>>(
        &mut self,
        socket: &D,
        payload: &mut [u8],
        source: &A,
        counters: &Counters,
    ) -> Option<usize> {
        let state = self.state.as_ref()?;
        let mut state = lock(state);
        state.refresh(self.switch);
        let verdict = state.decide(payload.len(), source, counters);
        let len =
            (!verdict.dropped).then(|| verdict.len.unwrap_or(payload.len()).min(payload.len()));
        state.dispatch(socket, payload, source, verdict, counters);
        self.on = !state.is_idle();
        len
    }

    /// Sends the held replies whose time has come.
    pub(crate) fn release<D: Datagram<Addr = A>>(&mut self, socket: &D, counters: &Counters) {
        if let Some(state) = &self.state
            && self.on
        {
            let mut state = lock(state);
            state.release(socket, counters);
            self.on = !state.is_idle();
        }
    }

    /// How long the worker may wait before a held reply is due.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        let state = self.state.as_ref().filter(|_| self.on)?;
        lock(state)
            .next_release()
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
}

/// `serve_once`'s reply under the faults, if faults were ever set: `None` leaves the reply to
/// the plain loop. A delay is slept through; a reply held behind a later one waits for the
/// next call. Returns the bytes sent.
pub(crate) fn once<D: Datagram>(
    switch: &Switch,
    socket: &D,
    payload: &mut [u8],
    source: &D::Addr,
) -> Option<io::Result<usize>>
where
    D::Addr: Send + Sync + 'static,
{
    if switch.version() == 0 {
        return None;
    }
    let state = switch.datagram_state::<D::Addr>();
    let counters = Counters::default();
    let mut guard = lock(&state);
    guard.refresh(switch);
    let mut verdict = guard.decide(payload.len(), source, &counters);
    if let Some(delay) = verdict.delay.take() {
        drop(guard);
        std::thread::sleep(delay);
        guard = lock(&state);
    }
    guard.release(socket, &counters);
    Some(Ok(
        guard.dispatch(socket, payload, source, verdict, &counters)
    ))
}

impl Switch {
    /// The datagram state of this server, made on first use.
    pub(crate) fn datagram_state<A>(&self) -> Arc<Mutex<State<A>>>
    where
        A: Clone + Into<Address> + Send + Sync + 'static,
    {
        let mut slot = self.datagram.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = slot.clone()
            && let Ok(state) = state.downcast::<Mutex<State<A>>>()
        {
            return state;
        }
        let state = Arc::new(Mutex::new(State::new()));
        *slot = Some(state.clone());
        state
    }
}

#[cfg(test)]
mod tests;
