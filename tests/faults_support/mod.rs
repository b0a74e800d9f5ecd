//! Helpers shared by the fault tests: servers with faults at a fresh address of a
//! `transports::Site`, and clients that give up soon. The suites run over the transports
//! with the macros of `tests/transports` (`over_stream_transports!`, ...). Needs
//! `mod transports;` and `mod util;` beside it.

#![allow(dead_code)]

use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Faults, Options, ServerHandle, Transport};

use crate::transports::{Kind, Site};

/// The longest any wait here lasts; only a broken build waits this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Parses the SPECs of `specs` (separated by `;`) with `seed`.
pub fn faults(specs: &str, seed: u64) -> Faults {
    specs
        .parse::<Faults>()
        .unwrap_or_else(|e| panic!("{specs}: {e}"))
        .with_seed(seed)
}

/// A server of `site`'s transport at a fresh address, with `specs` as its faults, run by
/// `serve()` in the background with two workers (so faults are seen across workers).
pub fn spawn<T: Kind>(site: &Site<T>, specs: &str, options: Options) -> ServerHandle<T> {
    EchoServer::bind_on_with(
        site.transport,
        site.addr(),
        options.with_workers(std::num::NonZeroUsize::new(2)),
    )
    .expect("bind")
    .with_faults(faults(specs, 0))
    .expect("faults")
    .spawn()
    .expect("spawn")
}

/// A client whose every wait is `timeout`; a datagram client (`resends` given) sends again
/// that many times.
pub fn client<T: Transport>(
    transport: T,
    addr: T::Addr,
    timeout: Duration,
    resends: Option<u32>,
) -> EchoClient<T> {
    let mut options = Options::new()
        .with_read_timeout(Some(timeout))
        .with_write_timeout(Some(timeout));
    if let Some(resends) = resends {
        options = options.with_resends(resends);
    }
    EchoClient::connect_on_with(transport, addr, options).expect("connect")
}
