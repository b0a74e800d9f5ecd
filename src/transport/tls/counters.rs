//! The counters the sessions of a TLS server share, read into [`TlsStats`]: handshakes
//! completed (and by the ALPN protocol they agreed on), and sessions failed by reason.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::TlsFailure;
use crate::stats::TlsStats;

/// What a TLS server's sessions came to, counted by the sessions themselves (one count per
/// handshake, a handshake being far dearer than the shared atomics it adds to).
#[derive(Debug, Default)]
pub(crate) struct TlsCounters {
    /// Indexed as [`TlsStats::FIELDS`].
    counts: [AtomicU64; TlsStats::FIELDS.len()],
}

impl TlsCounters {
    /// Adds one to the count of the field called `name`.
    fn add(&self, name: &str) {
        if let Some(index) = TlsStats::FIELDS
            .iter()
            .position(|field| field.name() == name)
        {
            self.counts[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a session that failed for `reason`.
    pub(super) fn count(&self, reason: &TlsFailure) {
        self.add(reason.name());
    }

    /// Counts a handshake completed, and the ALPN protocol it agreed on (`None`: none).
    pub(super) fn handshake(&self, alpn: Option<&[u8]>) {
        self.add("handshakes");
        self.add(alpn_field(alpn));
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> TlsStats {
        TlsStats::from_counts(
            self.counts
                .each_ref()
                .map(|count| count.load(Ordering::Relaxed)),
        )
    }
}

/// The field of [`TlsStats`] that counts the handshakes which agreed on `protocol`: a fixed
/// set, so that the statistics stay a small `Copy` value and add up across servers whatever
/// each accepts.
fn alpn_field(protocol: Option<&[u8]>) -> &'static str {
    match protocol {
        Some(b"h2") => "alpn_h2",
        Some(b"http/1.1") => "alpn_http_1_1",
        Some(_) => "alpn_other",
        None => "alpn_none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alpn_protocol_is_counted_in_its_field() {
        let counters = TlsCounters::default();
        for protocol in [
            Some(&b"h2"[..]),
            Some(b"http/1.1"),
            Some(b"echo"),
            Some(b"h2c"),
            None,
        ] {
            counters.handshake(protocol);
        }
        let stats = counters.snapshot();
        assert_eq!(stats.handshakes, 5);
        assert_eq!(
            (
                stats.alpn_h2,
                stats.alpn_http_1_1,
                stats.alpn_other,
                stats.alpn_none
            ),
            (1, 1, 2, 1)
        );
        assert_eq!(stats.failed(), 0);
    }

    #[test]
    fn every_failure_is_counted_in_the_field_of_its_name() {
        let counters = TlsCounters::default();
        counters.count(&TlsFailure::NotTls);
        counters.count(&TlsFailure::Truncated);
        let stats = counters.snapshot();
        assert_eq!((stats.not_tls, stats.truncated, stats.failed()), (1, 1, 1));
    }
}
