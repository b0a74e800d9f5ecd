//! Faults on demand: a server that misbehaves exactly as a test asks, reproducibly from a
//! seed.
//!
//! [`Faults`] (`set.rs`) is the value a user builds from [`Fault`]s (`fault.rs`, each of a
//! [`FaultKind`], `kind.rs`), or parses from the `KIND[=VALUE][,KEY=VALUE...]` text in
//! `spec.rs`, and gives to a server; [`Switch`] (`switch.rs`) is where a server keeps it, so
//! a [`ServerHandle`](crate::ServerHandle) can change it while the workers run. What a fault
//! does to a byte stream is in `stream/`, to datagrams in `datagram.rs`; both draw every
//! random choice from `rng.rs`.
//!
//! This module never touches a socket of a server that has no faults: the engines and the
//! blocking loops call it only once a fault was set, after one atomic load per loop turn.

use std::time::Duration;

pub(crate) mod datagram;
pub(crate) mod down;
mod fault;
mod jitter;
mod kind;
mod rng;
mod set;
mod spec;
pub(crate) mod stream;
mod switch;

pub use down::Down;
pub use fault::Fault;
pub(crate) use fault::Peer;
pub use jitter::Distribution;
pub use kind::{DEFAULT_REORDER_HOLD, FaultKind};
pub(crate) use rng::Rng;
pub use set::Faults;
pub(crate) use switch::{Active, Switch};

/// The earlier of two poll timeouts, `None` meaning "no timeout".
pub(crate) fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
