//! What faults one connection drew: its [`Plan`] (drawn by
//! [`decide`](super::treatment::decide)).

use std::time::{Duration, Instant};

use crate::faults::jitter::Jitter;

/// How a connection's echo ends by a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Stall,
    Close,
    Reset,
    Blackhole,
}

/// The faults one connection drew. Byte offsets are counted from `base` (the bytes read
/// before the faults applied to the connection are not counted).
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// The delay's draws, and the offset from which bytes are delayed.
    pub(super) delay: Option<(Jitter, u64)>,
    /// Slice size, pause, and the offset from which the echo is sliced.
    pub(super) slice: Option<(usize, Duration, u64)>,
    /// Rate, and the offset from which it applies.
    pub(super) rate: Option<(u64, u64)>,
    /// The shared rate, and the offset from which it applies.
    pub(super) shared_rate: Option<(u64, u64)>,
    /// The offset at which the echo ends, and how.
    pub(super) end: Option<(u64, End)>,
    pub(super) reset_at: Option<Instant>,
    /// When `close-in` shuts the write side.
    pub(super) close_at: Option<Instant>,
    /// How long `slow-close` holds back every end.
    pub(super) slow_close: Option<Duration>,
    pub(super) start_at: Option<Instant>,
}

impl Plan {
    pub(super) fn is_empty(&self) -> bool {
        self.delay.is_none()
            && self.slice.is_none()
            && self.rate.is_none()
            && self.shared_rate.is_none()
            && self.end.is_none()
            && self.reset_at.is_none()
            && self.close_at.is_none()
            && self.slow_close.is_none()
            && self.start_at.is_none()
    }
}
