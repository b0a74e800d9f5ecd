//! Benchmarks of socket-echo's server against its peers (see docs/performance.md).
//!
//! - [`peers`]: the compared servers, each runnable with the `peer-server` binary;
//! - [`load`]: closed-loop load clients that verify every echoed byte;
//! - [`child`]: a server in a child process, and its memory and CPU from /proc;
//! - [`socket_dir`]: a fresh directory for the Unix socket files of a run;
//! - `tls` (with the `tls` feature): the certificate a TLS run's servers and clients share;
//! - [`harness`]: the workloads, the interleaved rounds and the table, run by the `peers`
//!   binary.

#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
// Only the io_uring loop (`peers::uring`) needs unsafe code: the memory it shares with the
// kernel. It allows it for itself, one commented block at a time.
#![deny(unsafe_code)]

pub mod child;
pub mod harness;
pub mod load;
pub mod peers;
pub mod server_main;
pub mod socket_dir;
#[cfg(feature = "tls")]
pub mod tls;
