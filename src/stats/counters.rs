//! The per-worker counters the statistics are summed from: each written by one worker alone,
//! read by any.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{FaultStats, Stats};

/// A struct of [`Counter`]s, one per count of a statistics struct by the same name, and its
/// `add_to`, which adds each to that count: every count is named once. The groups nested in
/// it (`faults`) are counters structs of their own, added to the group of the same name.
macro_rules! worker_counters {
    (
        $(#[$meta:meta])*
        $name:ident => $stats:ident {
            $($count:ident,)*
        }
        $(groups { $($group:ident: $group_counters:ident,)* })?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub(crate) struct $name {
            $(pub(crate) $count: Counter,)*
            $($(pub(crate) $group: $group_counters,)*)?
        }

        impl $name {
            /// Adds this worker's counts to `stats`.
            pub(crate) fn add_to(&self, stats: &mut $stats) {
                $(stats.$count += self.$count.get();)*
                $($(self.$group.add_to(&mut stats.$group);)*)?
            }
        }
    };
}

worker_counters! {
    /// One worker's counters. Only the owning worker writes them, so an increment is a plain
    /// load and store rather than a locked read-modify-write. [`Stats::active`] and
    /// [`Stats::max_connections`] are not counted here: the engine keeps them for the whole
    /// server.
    Counters => Stats {
        accepted,
        refused,
        refused_per_source,
        timed_out,
        errors,
        shutdown_resets,
        accept_errors,
        accept_backoffs,
        bytes_in,
        bytes_out,
        datagrams_echoed,
        dropped_denied_port,
        dropped_bad_source,
        dropped_own_address,
        dropped_rate_limited,
        dropped_truncated,
        dropped_send_failed,
    }
    groups {
        faults: FaultCounters,
    }
}

worker_counters! {
    /// One worker's fault counters (see [`Counter`]: only that worker writes them).
    /// [`FaultStats::went_down`] is not counted here: the engine keeps it for the whole
    /// server.
    FaultCounters => FaultStats {
        delayed,
        sliced,
        rate_limited,
        stalled,
        closed,
        reset,
        slow_closed,
        blackholed,
        reset_by_down,
        ignored_while_down,
        accept_closed,
        accept_delayed,
        dropped,
        duplicated,
        reordered,
        truncated,
        corrupted,
        overflowed,
        tls_stalled,
        tls_reset,
        tls_bad_certificates,
        tls_truncated,
    }
}

/// A counter with a single writer and any number of readers.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Must only be called by the worker that owns the counter.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
