//! One ping run: the probes sent one after another over a stream or a datagram socket, each
//! timed, verified and reported.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use super::{Outcome, Ping, PingSummary, Probe, ProbeCounts, STOP_CHECK, STOP_SLICE, WINDOW};
use crate::addr::Address;
use crate::echo::stream::{
    CallOutcome, Io, Window, first_difference, is_timeout, read_once, write_once,
};
use crate::echo::timeouts::{Limits, SetTimeouts, WaitLimit};
use crate::error::{Error, Result};
use crate::measure::summary::RttRecorder;
use crate::measure::{self, HEADER};
use crate::transport::is_unreachable;
use crate::transport::sealed::{Connection, Datagram, Socket};

/// A remembered probe: when it was sent, and whether it still waits for its reply.
#[derive(Debug, Clone, Copy)]
struct Slot {
    seq: u64,
    sent: Instant,
    waiting: bool,
}

/// The state of one ping run.
pub(super) struct Run<'p, F> {
    ping: &'p Ping,
    peer: Address,
    on_probe: F,
    probe: Vec<u8>,
    reply: Vec<u8>,
    slots: Vec<Slot>,
    recorder: RttRecorder,
    start: Instant,
    /// The receive timeout was shortened for the rest of a wait and must be reset.
    shortened: bool,
    counts: ProbeCounts,
    stopped: bool,
}

impl<'p, F: FnMut(&Probe)> Run<'p, F> {
    pub(super) fn new(ping: &'p Ping, peer: Address, on_probe: F) -> Result<Self> {
        let start = Instant::now();
        let empty = Slot {
            seq: u64::MAX,
            sent: start,
            waiting: false,
        };
        Ok(Run {
            ping,
            peer,
            on_probe,
            probe: measure::pattern(ping.size)?,
            // One byte more than a probe, so a longer datagram shows as a difference.
            reply: crate::buffer::with_sentinel("the reply buffer", ping.size)?,
            slots: vec![empty; WINDOW],
            recorder: RttRecorder::new(),
            start,
            shortened: false,
            counts: ProbeCounts::default(),
            stopped: false,
        })
    }

    pub(super) fn finish(self, error: Option<Error>) -> PingSummary {
        PingSummary {
            counts: self.counts,
            latency: self.recorder.latency(),
            elapsed: self.start.elapsed(),
            stopped: self.stopped,
            error,
        }
    }

    fn report(&mut self, seq: u64, outcome: Outcome) {
        if let Outcome::Reply { rtt } = outcome {
            self.recorder.record(rtt);
        }
        self.counts.count(&outcome);
        let probe = Probe {
            seq,
            size: self.ping.size,
            outcome,
        };
        (self.on_probe)(&probe);
    }

    fn slot(&mut self, seq: u64) -> &mut Slot {
        // `WINDOW` fits in u64 and the remainder is below it.
        &mut self.slots[(seq % WINDOW as u64) as usize]
    }

    /// Waits until the next probe is due, looking at the stop flag meanwhile. Returns
    /// false if the run is to stop.
    fn pace(&mut self, seq: u64, last_send: Instant) -> bool {
        if self.ping.stopped() {
            self.stopped = true;
            return false;
        }
        if seq == 0 || self.ping.interval.is_zero() {
            return true;
        }
        let due = last_send + self.ping.interval;
        loop {
            let now = Instant::now();
            if now >= due {
                return true;
            }
            std::thread::sleep((due - now).min(STOP_CHECK));
            if self.ping.stopped() {
                self.stopped = true;
                return false;
            }
        }
    }

    /// Sets the receive timeout to what is left until `deadline`; false if nothing is left.
    fn wait_until(&mut self, socket: &impl Socket, deadline: Instant) -> Result<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        measure::set_read_timeout(socket, Some(self.sliced(left)))?;
        self.shortened = true;
        Ok(true)
    }

    /// `wait`, cut to [`STOP_SLICE`] while a stop flag is watched.
    pub(super) fn sliced(&self, wait: Duration) -> Duration {
        if self.ping.stop.is_some() {
            wait.min(STOP_SLICE)
        } else {
            wait
        }
    }

    fn reset_timeout(&mut self, socket: &impl Socket) -> Result<()> {
        if self.shortened {
            measure::set_read_timeout(socket, Some(self.sliced(self.ping.timeout)))?;
            self.shortened = false;
        }
        Ok(())
    }

    /// The TCP probes: each is written while echoes are read, never more than a window of
    /// bytes in flight (the window of [`EchoClient::echo`], so a probe of any size goes
    /// through without both sides blocking on full buffers). Every wait is bounded by the
    /// probe's deadline and, with a stop flag, by [`STOP_SLICE`].
    pub(super) fn stream<C: Connection>(
        &mut self,
        connection: &C,
        write_timeout: Option<Duration>,
    ) -> Result<()> {
        // `ping` has set the read timeout to the probe timeout; writes keep the client's.
        let mut limits = Limits::new(Some(self.sliced(self.ping.timeout)), write_timeout);
        if self.ping.stop.is_some() {
            limits.set_slice(Some(STOP_SLICE));
        }
        let window = Window::new(crate::echo::stream::window(connection));
        let stream = &mut Io(connection);
        let result = self.stream_probes(stream, window, write_timeout, &mut limits);
        let restored = limits.restore(stream);
        result.and(restored)
    }

    fn stream_probes<S: std::io::Read + std::io::Write + SetTimeouts>(
        &mut self,
        stream: &mut S,
        mut window: Window,
        write_timeout: Option<Duration>,
        limits: &mut Limits,
    ) -> Result<()> {
        let size = self.ping.size;
        let timeout = self.ping.timeout;
        let peer = self.peer.clone();
        // Replies come in order: `oldest` is the probe whose echo is being read, and
        // `filled` how many of its bytes are already in `reply`.
        let mut oldest = 0u64;
        let mut filled = 0usize;
        let mut last_send = self.start;
        for seq in 0..self.ping.count {
            if !self.pace(seq, last_send) {
                break;
            }
            if seq - oldest >= WINDOW as u64 {
                return Err(Error::Timeout {
                    addr: peer.clone(),
                    timeout,
                    attempts: WINDOW as u32,
                });
            }
            measure::set_seq(&mut self.probe, seq);
            let sent = Instant::now();
            last_send = sent;
            limits.set_deadline(Some(sent + timeout));
            let mut written = 0;
            // Bytes of this probe's echo read so far (its earlier probes' come first).
            let received = |oldest: u64, filled: usize| if oldest == seq { filled } else { 0 };
            loop {
                if self.ping.stopped() {
                    self.stopped = true;
                    if written == size {
                        self.slot(seq).waiting = false;
                        self.report(seq, Outcome::Lost);
                    }
                    return Ok(());
                }
                while written < size && window.room() > 0 {
                    let end = size.min(written + window.room());
                    match write_once(stream, &self.probe[written..end], limits, write_timeout)? {
                        CallOutcome::Moved(0) => {
                            let source = ErrorKind::WriteZero.into();
                            return Err(Error::Send {
                                addr: peer.clone(),
                                source,
                            });
                        }
                        CallOutcome::Moved(n) => {
                            written += n;
                            window.wrote(n);
                            if written == size {
                                self.counts.sent += 1;
                                *self.slot(seq) = Slot {
                                    seq,
                                    sent,
                                    waiting: true,
                                };
                            }
                        }
                        // Read what has come back, then look at the stop flag again.
                        CallOutcome::Expired(WaitLimit::Slice) => break,
                        CallOutcome::Expired(WaitLimit::Deadline) => {
                            return Err(Error::Deadline {
                                addr: peer.clone(),
                                deadline: timeout,
                                sent: written,
                                received: received(oldest, filled),
                            });
                        }
                        CallOutcome::Expired(WaitLimit::Call) => {
                            return Err(Error::Timeout {
                                addr: peer.clone(),
                                timeout: write_timeout.unwrap_or_default(),
                                attempts: 1,
                            });
                        }
                        CallOutcome::Failed(source) => {
                            return Err(Error::Send {
                                addr: peer.clone(),
                                source,
                            });
                        }
                    }
                }
                let n = match read_once(stream, &mut self.reply[filled..size], limits, None)? {
                    CallOutcome::Moved(0) => {
                        return Err(Error::ShortEcho {
                            addr: peer.clone(),
                            sent: size,
                            received: filled,
                        });
                    }
                    CallOutcome::Moved(n) => n,
                    CallOutcome::Expired(WaitLimit::Slice) => continue,
                    CallOutcome::Expired(WaitLimit::Deadline | WaitLimit::Call)
                        if written < size =>
                    {
                        return Err(Error::Deadline {
                            addr: peer.clone(),
                            deadline: timeout,
                            sent: written,
                            received: received(oldest, filled),
                        });
                    }
                    // Sent whole, not echoed in time: its echo is read later, as late.
                    CallOutcome::Expired(WaitLimit::Deadline | WaitLimit::Call) => {
                        self.report(seq, Outcome::Lost);
                        break;
                    }
                    CallOutcome::Failed(source) => {
                        return Err(Error::Receive {
                            addr: peer.clone(),
                            source,
                        });
                    }
                };
                filled += n;
                window.read(n);
                if filled < size {
                    continue;
                }
                let now = Instant::now();
                let owner = oldest;
                oldest += 1;
                filled = 0;
                self.stream_reply(owner, seq, now);
                if owner == seq {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Checks a whole echo read from the stream, for probe `owner`, while `current` waits.
    fn stream_reply(&mut self, owner: u64, current: u64, now: Instant) {
        let size = self.ping.size;
        let difference = if owner == current {
            first_difference(&self.reply[..size], &self.probe)
        } else {
            // An earlier probe's echo: its header holds its own number.
            let mut header = [0u8; HEADER];
            measure::set_seq(&mut header, owner);
            first_difference(&self.reply[..HEADER], &header).or_else(|| {
                first_difference(&self.reply[HEADER..size], &self.probe[HEADER..])
                    .map(|offset| offset + HEADER)
            })
        };
        let slot = self.slot(owner);
        slot.waiting = false;
        let rtt = now - slot.sent;
        let outcome = match difference {
            Some(offset) => Outcome::Mismatch { offset },
            None if owner == current => Outcome::Reply { rtt },
            None => Outcome::Late { rtt },
        };
        self.report(owner, outcome);
    }

    pub(super) fn datagram<D: Datagram>(&mut self, socket: &D) -> Result<()> {
        let size = self.ping.size;
        let peer = self.peer.clone();
        let mut last_send = self.start;
        for seq in 0..self.ping.count {
            if !self.pace(seq, last_send) {
                break;
            }
            self.reset_timeout(socket)?;
            measure::set_seq(&mut self.probe, seq);
            let sent = Instant::now();
            last_send = sent;
            match socket.send(&self.probe) {
                Ok(_) => {}
                Err(e) if is_unreachable(&e) => {
                    self.counts.sent += 1;
                    self.report(seq, Outcome::Refused);
                    continue;
                }
                Err(source) => {
                    return Err(Error::Send {
                        addr: peer.clone(),
                        source,
                    });
                }
            }
            self.counts.sent += 1;
            *self.slot(seq) = Slot {
                seq,
                sent,
                waiting: true,
            };
            let deadline = sent + self.ping.timeout;
            let mut first_read = true;
            loop {
                if !first_read && !self.wait_until(socket, deadline)? {
                    self.report(seq, Outcome::Lost);
                    break;
                }
                first_read = false;
                let n = match socket.recv(&mut self.reply) {
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if is_timeout(&e) => {
                        if self.ping.stopped() {
                            self.stopped = true;
                            self.report(seq, Outcome::Lost);
                            return Ok(());
                        }
                        // Only a slice of the wait ran out: wait for the rest.
                        if Instant::now() < deadline {
                            continue;
                        }
                        self.report(seq, Outcome::Lost);
                        break;
                    }
                    Err(e) if is_unreachable(&e) => {
                        self.slot(seq).waiting = false;
                        self.report(seq, Outcome::Refused);
                        break;
                    }
                    Err(source) => {
                        return Err(Error::Receive {
                            addr: peer.clone(),
                            source,
                        });
                    }
                };
                if n == size && self.reply[..n] == self.probe[..] {
                    let rtt = sent.elapsed();
                    self.slot(seq).waiting = false;
                    self.report(seq, Outcome::Reply { rtt });
                    break;
                }
                if self.datagram_reply(n, seq) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Classifies a datagram that is not the current probe's exact echo. Returns true if it
    /// ends the current probe's wait.
    fn datagram_reply(&mut self, n: usize, current: u64) -> bool {
        let size = self.ping.size;
        let Some(owner) = measure::seq_of(&self.reply[..n]).filter(|&owner| owner <= current)
        else {
            self.report(current, Outcome::Unexpected { len: n });
            return false;
        };
        let body = first_difference(&self.reply[HEADER..n], &self.probe[HEADER..])
            .map(|offset| offset + HEADER)
            .or((n != size).then_some(n.min(size)));
        let slot = *self.slot(owner);
        let tracked = slot.seq == owner;
        match body {
            Some(offset) if owner == current => {
                self.slot(owner).waiting = false;
                self.report(owner, Outcome::Mismatch { offset });
                true
            }
            Some(_) => {
                self.report(current, Outcome::Unexpected { len: n });
                false
            }
            None if tracked && slot.waiting => {
                self.slot(owner).waiting = false;
                let rtt = slot.sent.elapsed();
                self.report(owner, Outcome::Late { rtt });
                false
            }
            None => {
                self.report(owner, Outcome::Duplicate);
                false
            }
        }
    }
}
