//! Connections open per source address, for
//! [`max_connections_per_source`](crate::Options::with_max_connections_per_source).
//!
//! Without such a limit, one host can hold every slot of
//! [`max_connections`](crate::Options::with_max_connections), for example with connections
//! that each send a byte every few seconds, which the idle timeout never closes. The counts
//! are shared by the workers, since a connection accepted by one worker is served and closed
//! by another; they are only touched when the limit is set, once per connection opened and
//! once per connection closed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// How many connections are open from each source address.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl Sources {
    /// Counts a new connection from `ip`, unless `limit` are open from it already. Returns
    /// whether it was counted.
    pub(crate) fn admit(&self, ip: IpAddr, limit: usize) -> bool {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Counts a connection from `ip` as closed. Sources with none open are forgotten, so the
    /// table holds only the sources connected right now.
    pub(crate) fn leave(&self, ip: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }

    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_share_and_no_more_and_others_are_counted_apart() {
        let sources = Sources::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(sources.admit(a, 2));
        assert!(sources.admit(a, 2));
        assert!(!sources.admit(a, 2));
        assert!(sources.admit(b, 2));
        assert_eq!((sources.open_from(a), sources.open_from(b)), (2, 1));
        sources.leave(a);
        assert!(sources.admit(a, 2));
        assert!(!sources.admit(a, 2));
    }

    #[test]
    fn a_source_with_nothing_open_is_forgotten_and_leaving_never_underflows() {
        let sources = Sources::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(sources.admit(a, 1));
        sources.leave(a);
        sources.leave(a);
        assert!(sources.open.lock().unwrap().is_empty());
        assert!(sources.admit(a, 1));
    }
}
