//! The counters the sessions of a TLS server share, read into [`TlsStats`].

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::TlsFailure;
use crate::stats::TlsStats;

/// What a TLS server's sessions came to, counted by the sessions themselves (one count per
/// handshake, a handshake being far dearer than the shared atomic it adds to).
#[derive(Debug, Default)]
pub(crate) struct TlsCounters {
    pub(super) handshakes: AtomicU64,
    /// Indexed as [`TlsStats::FIELDS`], whose first is the handshakes.
    by_reason: [AtomicU64; 11],
}

const _: () = assert!(
    TlsStats::FIELDS.len() == 11,
    "one counter per field of TlsStats"
);

impl TlsCounters {
    pub(super) fn count(&self, reason: &TlsFailure) {
        if let Some(index) = TlsStats::FIELDS
            .iter()
            .position(|field| field.name() == reason.name())
        {
            self.by_reason[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> TlsStats {
        let mut counts = [0; 11];
        for (count, atomic) in counts.iter_mut().zip(&self.by_reason) {
            *count = atomic.load(Ordering::Relaxed);
        }
        counts[0] = self.handshakes.load(Ordering::Relaxed);
        TlsStats::from_counts(counts)
    }
}
