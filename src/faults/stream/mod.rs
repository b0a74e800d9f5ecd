//! Stream faults: what a connection's echo goes through when a fault applies to it.
//!
//! A connection under a fault gets a [`Shaped`](shaped::Shaped) state: its plan (which
//! faults it drew), the bytes it read and has not echoed yet, and when each of them may go.
//! The state machine is the same for the event loop of `serve()` ([`ShapedConnections`],
//! driven by readiness and timers) and for the blocking `serve_once` (`blocking.rs`, which
//! sleeps instead). It never holds more than
//! [`max_pending`](crate::Options::with_max_pending) bytes: while they are held, the
//! connection is not read, as for bytes a slow peer has not taken.
//!
//! `plan.rs` is what a connection drew, `treatment.rs` draws it, `shaped.rs` is the state machine without I/O (what
//! may be written when), `drive.rs` drives it over a non-blocking connection, `worker.rs`
//! keeps the shaped connections of one worker of `serve()` and their timers, `blocking.rs`
//! drives one for `serve_once`.

mod blocking;
mod drive;
mod plan;
mod shaped;
mod treatment;
mod worker;

pub(crate) use blocking::{once, serve};
pub(crate) use drive::Driven;
pub(crate) use treatment::Treatment;
pub(crate) use worker::ShapedConnections;

#[cfg(test)]
mod tests;
