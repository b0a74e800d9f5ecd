//! What the faults do with one connection, drawn when it is accepted: its [`Treatment`],
//! made by [`decide`] from the faults set and the connection's place among those accepted.

use std::sync::Arc;
use std::time::Instant;

use super::plan::{End, Plan};
use super::shaped::Shaped;
use crate::addr::Address;
use crate::faults::{Active, FaultKind, Rng};
use crate::stats::Counters;
use crate::transport::sealed::SessionFaults;

/// What the faults do with a connection.
pub(crate) enum Treatment {
    /// Nothing: it is echoed as usual.
    Plain,
    /// It is closed at once.
    Close,
    /// Its echo goes through this state.
    Shaped(Box<Shaped>),
}

/// Draws the faults of one connection: `index` is its place among the connections accepted
/// since the faults were set (`None` for one that was open already), `stream` the generator
/// stream its choices come from. With the verdict come the faults its transport applies
/// itself (TLS's), drawn only for a connection just accepted: a session already under way
/// is past its handshake and its certificate.
pub(super) fn decide(
    active: &Arc<Active>,
    index: Option<u64>,
    stream: u64,
    peer: Option<&Address>,
    now: Instant,
    counters: &Counters,
) -> (Treatment, SessionFaults) {
    let mut rng = Rng::new(active.faults.seed(), stream);
    let mut plan = Plan::default();
    let mut session = SessionFaults::default();
    for fault in active.faults.faults() {
        if !fault.kind().applies_to_stream() || !fault.selects(index, peer) {
            continue;
        }
        if !rng.chance(fault.probability()) {
            continue;
        }
        let after = fault.after();
        let mut end = |limit: u64, how: End| {
            let limit = after.saturating_add(limit);
            if plan.end.is_none_or(|(first, _)| limit < first) {
                plan.end = Some((limit, how));
            }
        };
        match fault.kind() {
            FaultKind::Delay { .. } if plan.delay.is_none() => {
                plan.delay = fault.jitter().map(|jitter| (jitter, after));
            }
            FaultKind::Slice { size, pause } => {
                plan.slice.get_or_insert((size, pause, after));
            }
            FaultKind::Rate { bytes_per_second } => {
                plan.rate.get_or_insert((bytes_per_second, after));
            }
            FaultKind::SharedRate { bytes_per_second } => {
                plan.shared_rate.get_or_insert((bytes_per_second, after));
            }
            FaultKind::StallAfter { bytes } => end(bytes, End::Stall),
            FaultKind::CloseAfter { bytes } => end(bytes, End::Close),
            FaultKind::ResetAfter { bytes } => end(bytes, End::Reset),
            FaultKind::ResetAfterTime { time } => {
                let at = now + time;
                plan.reset_at = Some(plan.reset_at.map_or(at, |first| first.min(at)));
            }
            FaultKind::CloseAfterTime { time } => {
                let at = now + time;
                plan.close_at = Some(plan.close_at.map_or(at, |first| first.min(at)));
            }
            FaultKind::SlowClose { delay } => {
                plan.slow_close.get_or_insert(delay);
            }
            FaultKind::Blackhole => end(0, End::Blackhole),
            // What happens at the accept does not apply to a connection already open.
            FaultKind::AcceptClose if index.is_some() => {
                counters.faults.accept_closed.add(1);
                return (Treatment::Close, SessionFaults::default());
            }
            FaultKind::AcceptDelay { delay } if index.is_some() && plan.start_at.is_none() => {
                counters.faults.accept_delayed.add(1);
                plan.start_at = Some(now + delay);
            }
            FaultKind::TlsStall { at } if index.is_some() && session.stall.is_none() => {
                counters.faults.tls_stalled.add(1);
                session.stall = Some(at);
            }
            FaultKind::TlsReset if index.is_some() && !session.reset => {
                counters.faults.tls_reset.add(1);
                session.reset = true;
            }
            FaultKind::TlsCertificate { certificate }
                if index.is_some() && session.certificate.is_none() =>
            {
                counters.faults.tls_bad_certificates.add(1);
                session.certificate = Some(certificate);
            }
            FaultKind::TlsTruncate { bytes } if index.is_some() => {
                if !session.truncate {
                    counters.faults.tls_truncated.add(1);
                    session.truncate = true;
                }
                if let Some(bytes) = bytes {
                    end(bytes, End::Close);
                }
            }
            _ => {}
        }
    }
    if plan.is_empty() {
        return (Treatment::Plain, session);
    }
    let shaped = Shaped::new(plan, rng, Arc::clone(active));
    (Treatment::Shaped(Box::new(shaped)), session)
}
