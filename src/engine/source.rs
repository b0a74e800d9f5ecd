//! Who a UDP echo server answers: the rules that keep one forged datagram from tying it into
//! an endless exchange with itself or with another server.
//!
//! [`refusal`] judges the source alone (a denied port, a source no
//! real host sends from). This module adds what needs the server's own address: a datagram
//! whose source *is* that address would be answered to the server itself, which answers it
//! again, forever. Then each source's replies are rate-limited ([`Limiter`]), which ends an
//! exchange with another server: both answer as fast as they can, and the first datagram
//! dropped ends it. The rules are pure functions; the only system call, asking whether an IP
//! address belongs to this machine, is passed in, so tests need no network.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::datagram::{Refusal, refusal};
use super::limiter::Limiter;
use crate::options::SourceRateLimit;

/// The most sources a server's rate limit tracks at once (documented on
/// [`SourceRateLimit`]).
pub(crate) const TRACKED_SOURCES: usize = 4096;

/// How many answers of the "is this IP address mine" probe a worker keeps.
const LOCAL_ANSWERS: usize = 16;

/// How long an answer of the probe is trusted: addresses come and go with interfaces.
const LOCAL_ANSWER_TTL: Duration = Duration::from_secs(10);

/// Whether a datagram from `source` reaches a server bound to `local` when answered, i.e.
/// whether `source` is the server's own address.
///
/// Bound to one address, the server is its own source only from exactly that address and
/// port. Bound to a wildcard (`0.0.0.0`, `[::]`), it receives on its port at every address
/// of the machine: a source with the server's port is its own if it is a loopback address
/// or if `is_local_ip` says the machine has it. `is_local_ip` is asked only then, so the
/// common case costs a comparison of ports. IPv4 addresses seen through an IPv6 socket
/// (`::ffff:a.b.c.d`) are judged as IPv4.
pub(crate) fn own_address(
    source: SocketAddr,
    local: SocketAddr,
    is_local_ip: impl FnOnce(IpAddr) -> bool,
) -> bool {
    if source.port() != local.port() {
        return false;
    }
    let source_ip = source.ip().to_canonical();
    let local_ip = local.ip().to_canonical();
    if local_ip.is_unspecified() {
        source_ip.is_loopback() || is_local_ip(source_ip)
    } else {
        source_ip == local_ip
    }
}

/// The rules that need no memory of earlier datagrams: [`refusal`], then [`own_address`].
/// The blocking `serve_once` applies these; `serve()` adds a per-source rate limit.
pub(crate) fn stateless_refusal(
    source: SocketAddr,
    local: SocketAddr,
    denied: &[u16],
    is_local_ip: impl FnOnce(IpAddr) -> bool,
) -> Option<Refusal> {
    refusal(source, denied)
        .or_else(|| own_address(source, local, is_local_ip).then_some(Refusal::OwnAddress))
}

/// Answers of the "is this IP address mine" probe, so a source that keeps coming costs one
/// probe every [`LOCAL_ANSWER_TTL`], not one per datagram. At most [`LOCAL_ANSWERS`] are
/// kept: sources with many addresses (forged ones) are probed each time, a cost bounded by
/// one system call per datagram.
#[derive(Debug, Default)]
pub(crate) struct LocalAddresses {
    answers: Vec<(IpAddr, bool, Duration)>,
}

impl LocalAddresses {
    /// Whether `ip` is an address of this machine, as `probe` says or said less than
    /// [`LOCAL_ANSWER_TTL`] before `now` (a time since any fixed origin).
    pub(crate) fn is_local(
        &mut self,
        ip: IpAddr,
        now: Duration,
        probe: impl FnOnce(IpAddr) -> bool,
    ) -> bool {
        let fresh = |at: Duration| now.saturating_sub(at) < LOCAL_ANSWER_TTL;
        if let Some(&(_, local, _)) = self
            .answers
            .iter()
            .find(|&&(known, _, at)| known == ip && fresh(at))
        {
            return local;
        }
        let local = probe(ip);
        self.answers
            .retain(|&(known, _, at)| known != ip && fresh(at));
        if self.answers.len() >= LOCAL_ANSWERS {
            self.answers.remove(0);
        }
        self.answers.push((ip, local, now));
        local
    }
}

/// What the workers of one `serve()` share: the per-source rate limit, behind a lock so a
/// source is limited once whichever worker takes its datagrams, and the origin of its clock.
#[derive(Debug)]
pub(crate) struct SharedLimit {
    limiter: Option<Mutex<Limiter<SocketAddr>>>,
    origin: Instant,
}

impl SharedLimit {
    /// The shared state for `limit` (`None`: no limit).
    pub(crate) fn new(limit: Option<SourceRateLimit>) -> Self {
        SharedLimit {
            limiter: limit.map(|limit| {
                Mutex::new(Limiter::new(limit.rate(), limit.burst(), TRACKED_SOURCES))
            }),
            origin: Instant::now(),
        }
    }
}

/// One worker's judge of sources for `serve()`: the stateless rules, with the probe's answers
/// kept, then the shared per-source rate limit.
#[derive(Debug)]
pub(crate) struct SourcePolicy<'a, P> {
    local: SocketAddr,
    denied: &'a [u16],
    local_addresses: LocalAddresses,
    probe: P,
    shared: &'a SharedLimit,
}

impl<'a, P: FnMut(IpAddr) -> bool> SourcePolicy<'a, P> {
    /// The policy of a server bound to `local` that refuses the ports `denied` (sorted);
    /// `probe` says whether an IP address belongs to this machine; `shared` is the rate
    /// limit of every worker of the server.
    pub(crate) fn new(
        local: SocketAddr,
        denied: &'a [u16],
        probe: P,
        shared: &'a SharedLimit,
    ) -> Self {
        SourcePolicy {
            local,
            denied,
            local_addresses: LocalAddresses::default(),
            probe,
            shared,
        }
    }

    /// Why a datagram from `source`, received now, must not be answered, if it must not.
    /// A datagram that may be answered takes a token from its source's bucket.
    pub(crate) fn judge(&mut self, source: SocketAddr) -> Option<Refusal> {
        self.judge_at(source, self.shared.origin.elapsed())
    }

    /// [`judge`](Self::judge) at the time `now`, measured from the shared origin.
    pub(crate) fn judge_at(&mut self, source: SocketAddr, now: Duration) -> Option<Refusal> {
        let SourcePolicy {
            local,
            denied,
            local_addresses,
            probe,
            shared,
        } = self;
        if let Some(refused) = stateless_refusal(source, *local, denied, |ip| {
            local_addresses.is_local(ip, now, &mut *probe)
        }) {
            return Some(refused);
        }
        let limiter = shared.limiter.as_ref()?;
        // The limiter is left consistent after every call, so a worker that panicked while
        // holding the lock left nothing half-done.
        let mut limiter = limiter.lock().unwrap_or_else(PoisonError::into_inner);
        (!limiter.allow(source, now)).then_some(Refusal::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn never_asked(ip: IpAddr) -> bool {
        panic!("probe asked about {ip}")
    }

    #[test]
    fn bound_to_one_address_only_that_address_and_port_is_its_own() {
        let local = addr("127.0.0.1:4000");
        assert!(own_address(addr("127.0.0.1:4000"), local, never_asked));
        assert!(!own_address(addr("127.0.0.1:4001"), local, never_asked));
        assert!(!own_address(addr("127.0.0.2:4000"), local, never_asked));
        assert!(!own_address(addr("10.0.0.1:4000"), local, never_asked));
        let local = addr("[::1]:4000");
        assert!(own_address(addr("[::1]:4000"), local, never_asked));
        assert!(!own_address(addr("[::2]:4000"), local, never_asked));
        // An IPv4 source through a dual-stack socket bound to a mapped address.
        let local = addr("[::ffff:192.0.2.7]:4000");
        assert!(own_address(addr("192.0.2.7:4000"), local, never_asked));
    }

    #[test]
    fn bound_to_a_wildcard_loopback_and_local_addresses_with_its_port_are_its_own() {
        for local in [addr("0.0.0.0:4000"), addr("[::]:4000")] {
            assert!(own_address(addr("127.0.0.1:4000"), local, never_asked));
            assert!(own_address(addr("127.9.9.9:4000"), local, never_asked));
            assert!(own_address(addr("[::1]:4000"), local, never_asked));
            assert!(own_address(
                addr("[::ffff:127.0.0.1]:4000"),
                local,
                never_asked
            ));
            // Another port: never its own, and the probe is not asked.
            assert!(!own_address(addr("192.0.2.1:4001"), local, never_asked));
            // Its port from another address: the probe decides.
            assert!(own_address(addr("192.0.2.1:4000"), local, |_| true));
            assert!(!own_address(addr("192.0.2.1:4000"), local, |_| false));
            let asked = Cell::new(None);
            own_address(addr("[::ffff:192.0.2.1]:4000"), local, |ip| {
                asked.set(Some(ip));
                false
            });
            assert_eq!(
                asked.get(),
                Some(addr("192.0.2.1:0").ip()),
                "unmapped first"
            );
        }
    }

    #[test]
    fn stateless_rules_come_in_order_bad_source_denied_port_own_address() {
        let local = addr("127.0.0.1:4000");
        let denied = [4000];
        assert_eq!(
            stateless_refusal(addr("127.0.0.1:0"), local, &denied, never_asked),
            Some(Refusal::BadSource)
        );
        assert_eq!(
            stateless_refusal(local, local, &denied, never_asked),
            Some(Refusal::DeniedPort)
        );
        assert_eq!(
            stateless_refusal(local, local, &[], never_asked),
            Some(Refusal::OwnAddress)
        );
        assert_eq!(
            stateless_refusal(addr("127.0.0.1:4001"), local, &[], never_asked),
            None
        );
    }

    #[test]
    fn probe_answers_are_kept_for_a_while_and_bounded() {
        let mut cache = LocalAddresses::default();
        let probes = Cell::new(0);
        let probe = |ip: IpAddr| {
            probes.set(probes.get() + 1);
            ip == addr("192.0.2.1:0").ip()
        };
        let mine = addr("192.0.2.1:0").ip();
        let other = addr("192.0.2.2:0").ip();
        let t = Duration::from_secs(100);
        assert!(cache.is_local(mine, t, probe));
        assert!(!cache.is_local(other, t, probe));
        assert!(cache.is_local(mine, t + Duration::from_secs(9), probe));
        assert_eq!(probes.get(), 2, "answers reused");
        assert!(cache.is_local(mine, t + LOCAL_ANSWER_TTL, probe));
        assert_eq!(probes.get(), 3, "an old answer is asked again");
        // Many addresses: the cache never holds more than its bound.
        for i in 0..100u32 {
            cache.is_local(IpAddr::from(i.to_be_bytes()), t, probe);
            assert!(cache.answers.len() <= LOCAL_ANSWERS);
        }
    }

    #[test]
    fn a_policy_probes_once_for_a_source_that_keeps_coming() {
        let probes = Cell::new(0);
        let shared = SharedLimit::new(None);
        let mut policy = SourcePolicy::new(
            addr("0.0.0.0:4000"),
            &[7],
            |_| {
                probes.set(probes.get() + 1);
                true
            },
            &shared,
        );
        let t = Duration::from_secs(1);
        for _ in 0..10 {
            assert_eq!(
                policy.judge_at(addr("192.0.2.1:4000"), t),
                Some(Refusal::OwnAddress)
            );
        }
        assert_eq!(probes.get(), 1);
        assert_eq!(policy.judge_at(addr("192.0.2.1:4001"), t), None);
        assert_eq!(
            policy.judge_at(addr("192.0.2.1:7"), t),
            Some(Refusal::DeniedPort)
        );
    }

    #[test]
    fn a_policy_limits_each_source_after_the_other_rules() {
        let shared = SharedLimit::new(Some(SourceRateLimit::new(1, 2)));
        let mut policy = SourcePolicy::new(addr("127.0.0.1:4000"), &[7], never_asked, &shared);
        let t = Duration::from_secs(1);
        let client = addr("127.0.0.1:5000");
        assert_eq!(policy.judge_at(client, t), None);
        assert_eq!(policy.judge_at(client, t), None);
        assert_eq!(policy.judge_at(client, t), Some(Refusal::RateLimited));
        // Another source has a bucket of its own.
        assert_eq!(policy.judge_at(addr("127.0.0.1:5001"), t), None);
        // Refused datagrams take no token, and keep their own reason.
        for _ in 0..5 {
            assert_eq!(
                policy.judge_at(addr("127.0.0.1:7"), t),
                Some(Refusal::DeniedPort)
            );
        }
        assert_eq!(
            policy.judge_at(addr("127.0.0.1:4000"), t),
            Some(Refusal::OwnAddress)
        );
        // A second later, one token is back.
        let later = t + Duration::from_secs(1);
        assert_eq!(policy.judge_at(client, later), None);
        assert_eq!(policy.judge_at(client, later), Some(Refusal::RateLimited));
    }

    #[test]
    fn workers_share_one_limit() {
        let shared = SharedLimit::new(Some(SourceRateLimit::new(1, 3)));
        let mut one = SourcePolicy::new(addr("127.0.0.1:4000"), &[], never_asked, &shared);
        let mut two = SourcePolicy::new(addr("127.0.0.1:4000"), &[], never_asked, &shared);
        let t = Duration::from_secs(1);
        let client = addr("127.0.0.1:5000");
        assert_eq!(one.judge_at(client, t), None);
        assert_eq!(two.judge_at(client, t), None);
        assert_eq!(one.judge_at(client, t), None);
        assert_eq!(two.judge_at(client, t), Some(Refusal::RateLimited));
    }
}
