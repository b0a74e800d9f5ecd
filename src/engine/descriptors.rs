//! What the process's descriptor limit lets the stream engine hold, and the spare descriptor
//! that lets it answer a client even when the limit is reached.
//!
//! Every connection costs a descriptor. With a soft `RLIMIT_NOFILE` below
//! [`max_connections`](crate::Options::with_max_connections), connections past the limit would
//! finish their handshake in the kernel and then wait in the accept queue with no answer
//! until their own timeouts. So `serve()` first raises the soft limit toward the hard one as
//! far as its connection cap needs, and if that is still short, serves fewer connections and
//! says so. This module only reads and sets limits and holds one idle descriptor; it never
//! accepts or closes a connection itself.

use std::fs::File;
use std::io;

/// Descriptors `serve()` keeps for itself besides its connections and the workers' polls:
/// its own copy of the listener, the spare, and slack for the rest of the process (a log
/// file, a client the caller opens) so its first `open` after a busy moment does not fail.
const RESERVED: u64 = 16;
/// Descriptors each worker keeps: its poll, and its waker (an eventfd on Linux, a pipe of
/// two elsewhere).
const PER_WORKER: u64 = 3;
/// Descriptors assumed in use where they cannot be counted.
const ASSUMED_IN_USE: u64 = 64;

/// What the descriptor limit allows a stream `serve()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capacity {
    /// The connection cap in force: the configured one, or fewer if the limit is short.
    pub(crate) connections: usize,
    /// The soft descriptor limit after raising it, where the system has one.
    pub(crate) soft_limit: Option<u64>,
}

/// The soft descriptor limit `max_connections` connections need, with `workers` workers and
/// `in_use` descriptors already open.
pub(crate) fn descriptors_needed(max_connections: usize, workers: usize, in_use: u64) -> u64 {
    overhead(workers, in_use).saturating_add(max_connections as u64)
}

/// The most connections a soft limit of `soft_limit` descriptors leaves room for, at most
/// `max_connections` and at least one (a server that refused everything would look broken;
/// past the estimate, the spare descriptor still gives every client a prompt answer).
pub(crate) fn connections_within(
    soft_limit: u64,
    max_connections: usize,
    workers: usize,
    in_use: u64,
) -> usize {
    let room = soft_limit.saturating_sub(overhead(workers, in_use));
    usize::try_from(room)
        .unwrap_or(usize::MAX)
        .clamp(1, max_connections.max(1))
}

fn overhead(workers: usize, in_use: u64) -> u64 {
    in_use
        .saturating_add(RESERVED)
        .saturating_add(PER_WORKER.saturating_mul(workers as u64))
}

/// Raises the soft `RLIMIT_NOFILE` toward the hard limit as far as `max_connections`
/// connections need (never lowering it), and returns the connection cap that then fits.
///
/// The limit is the whole process's: raising the soft limit is what a server is expected to
/// do at start (the hard limit is the administrator's bound), and it is never raised past
/// what the cap needs.
pub(crate) fn fit_connections(max_connections: usize, workers: usize) -> Capacity {
    let in_use = descriptors_in_use().unwrap_or(ASSUMED_IN_USE);
    let needed = descriptors_needed(max_connections, workers, in_use);
    match raise_soft_limit(needed) {
        Some(soft_limit) => Capacity {
            connections: connections_within(soft_limit, max_connections, workers, in_use),
            soft_limit: Some(soft_limit),
        },
        None => Capacity {
            connections: max_connections,
            soft_limit: None,
        },
    }
}

/// Raises the soft descriptor limit to `wanted`, or as near as the hard limit allows; returns
/// the soft limit in force afterwards, or `None` where the system has no such limit.
#[cfg(unix)]
fn raise_soft_limit(wanted: u64) -> Option<u64> {
    match rlimit::increase_nofile_limit(wanted) {
        Ok(soft) => Some(soft),
        // Raising failed (a sandbox may forbid it): the current limit is what there is.
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft),
    }
}

/// Windows has no per-process limit on sockets to raise.
#[cfg(not(unix))]
fn raise_soft_limit(_wanted: u64) -> Option<u64> {
    None
}

/// How many descriptors the process has open, where the system lists them.
fn descriptors_in_use() -> Option<u64> {
    ["/proc/self/fd", "/dev/fd"].iter().find_map(|dir| {
        let entries = std::fs::read_dir(dir).ok()?;
        // The listing itself holds one while it is read.
        Some((entries.count() as u64).saturating_sub(1))
    })
}

/// One descriptor held idle so that, when the process has run out, it can be given back
/// for long enough to accept a waiting connection and close it at once: the client learns
/// there is no room instead of waiting in the accept queue for its own timeout.
#[derive(Debug)]
pub(crate) struct Spare(Option<File>);

impl Spare {
    /// Opens the spare. Without one (no `/dev/null`, or no descriptor left), out-of-descriptor
    /// errors can only be waited out.
    pub(crate) fn open() -> Spare {
        Spare(open_null().ok())
    }

    /// Frees the spare's descriptor for the caller to use. Returns `false` if there is none
    /// to free (it could not be opened again after an earlier use).
    pub(crate) fn release(&mut self) -> bool {
        if self.0.is_none() {
            self.0 = open_null().ok();
        }
        self.0.take().is_some()
    }

    /// Takes a descriptor back as the spare, once the one it freed has been closed again.
    pub(crate) fn restore(&mut self) {
        if self.0.is_none() {
            self.0 = open_null().ok();
        }
    }
}

fn open_null() -> io::Result<File> {
    #[cfg(unix)]
    let path = "/dev/null";
    #[cfg(not(unix))]
    let path = "NUL";
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptors_needed_cover_connections_workers_and_what_is_open() {
        assert_eq!(
            descriptors_needed(1000, 2, 10),
            1000 + 10 + RESERVED + 2 * PER_WORKER
        );
        assert_eq!(
            descriptors_needed(usize::MAX, usize::MAX, u64::MAX),
            u64::MAX
        );
    }

    #[test]
    fn a_short_limit_lowers_the_cap_and_never_below_one() {
        let overhead = 10 + RESERVED + 2 * PER_WORKER;
        // Room for all.
        assert_eq!(connections_within(100_000, 16_384, 2, 10), 16_384);
        assert_eq!(connections_within(16_384 + overhead, 16_384, 2, 10), 16_384);
        // Short by one.
        assert_eq!(
            connections_within(16_384 + overhead - 1, 16_384, 2, 10),
            16_383
        );
        assert_eq!(
            connections_within(512, 16_384, 2, 10),
            512 - overhead as usize
        );
        // No room at all: one, and the spare answers the rest.
        assert_eq!(connections_within(20, 16_384, 2, 10), 1);
        assert_eq!(connections_within(0, 16_384, 2, 10), 1);
        assert_eq!(connections_within(u64::MAX, 5, 2, 10), 5);
    }

    #[test]
    fn what_fits_the_limit_it_raised_to_also_fits_what_was_needed() {
        for (max, workers, in_use) in [(1, 1, 0), (16_384, 8, 300), (100, 64, 5)] {
            let needed = descriptors_needed(max, workers, in_use);
            assert_eq!(connections_within(needed, max, workers, in_use), max);
        }
    }

    #[test]
    fn the_spare_is_released_and_restored() {
        let mut spare = Spare::open();
        assert!(spare.0.is_some());
        assert!(spare.release());
        assert!(spare.0.is_none());
        spare.restore();
        assert!(spare.0.is_some());
    }

    #[test]
    fn open_descriptors_are_counted() {
        let before = descriptors_in_use().expect("a descriptor listing");
        let _file = open_null().unwrap();
        assert!(descriptors_in_use().unwrap() >= 1);
        assert!(before >= 1);
    }
}
