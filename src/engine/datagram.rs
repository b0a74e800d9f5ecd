//! The datagram engine: one worker's echo of the datagrams on a shared datagram socket, for
//! any datagram transport.
//!
//! Each datagram is received into the worker's scratch buffer and sent straight back to its
//! source, whole, or not at all: a datagram too large for the buffer, or from a source that
//! could start an echo loop, is dropped and counted.

use std::os::fd::AsRawFd;

use mio::unix::SourceFd;
use mio::{Events, Interest};

use super::{Counters, RateLimit, SOCKET, Worker, interrupted, would_block};
use crate::error::Result;
use crate::faults::datagram::Worker as Faults;
use crate::options::Options;
use crate::transport::is_unreachable;
use crate::transport::sealed::Datagram;
use crate::transport::sealed::Refusal;

/// Datagrams one worker handles between two looks at the shutdown switch.
const DATAGRAMS_PER_TURN: u32 = 1024;

/// Runs `workers` event loops on the one socket until the server is shut down. Each polls
/// its own descriptor of the socket; whichever wakes first takes the datagrams waiting.
pub(crate) fn serve<D: Datagram>(
    socket: &D,
    local: &D::Addr,
    worker: Worker<'_>,
    workers: usize,
) -> Result<()> {
    worker.spawn(workers, |_| run(socket, local, worker))
}

/// Runs one worker until the server is shut down.
fn run<D: Datagram>(socket: &D, local: &D::Addr, worker: Worker<'_>) -> Result<()> {
    worker.run(|poll, counters, _| {
        let fd = socket.as_fd().as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&fd), SOCKET, Interest::READABLE)?;
        // One byte more than the configured size: a datagram that fills it did not fit.
        let capacity = worker.options.buffer_size();
        let mut scratch = vec![0; capacity + 1].into_boxed_slice();
        let mut log = RateLimit::default();
        let mut events = Events::with_capacity(64);
        let mut more = false;
        let mut faults = Faults::new(&worker.control.faults);
        while !worker.control.is_stopping() {
            let timeout = more.then_some(std::time::Duration::ZERO);
            // Fault hook: wake when a reply held back by a fault is due.
            let timeout = if faults.is_on() {
                crate::faults::earliest(timeout, faults.timeout())
            } else {
                timeout
            };
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            // Fault hook: send the held replies whose time has come.
            faults.release(socket, counters);
            if more || events.iter().any(|e| e.token() == SOCKET) {
                more = echo_some(
                    socket,
                    local,
                    &mut scratch,
                    (worker.options, &mut faults),
                    counters,
                    &mut log,
                );
            }
        }
        let _ = poll.registry().deregister(&mut SourceFd(&fd));
        Ok(())
    })
}

/// Echoes datagrams until the socket has none left (returns false) or the turn is over
/// (returns true: call again).
fn echo_some<D: Datagram>(
    socket: &D,
    local: &D::Addr,
    scratch: &mut [u8],
    (options, faults): (&Options, &mut Faults<'_, D::Addr>),
    counters: &Counters,
    log: &mut RateLimit,
) -> bool {
    let capacity = scratch.len() - 1;
    for _ in 0..DATAGRAMS_PER_TURN {
        let (n, source) = match socket.recv_from(scratch) {
            Ok(received) => received,
            Err(e) if would_block(&e) => return false,
            Err(e) if interrupted(&e) => continue,
            // An ICMP error about an earlier reply; it says nothing about the next datagram.
            Err(e) if is_unreachable(&e) => continue,
            Err(e) => {
                log.warn(format_args!("udp receive failed: {e}"));
                return false;
            }
        };
        if n > capacity {
            // Its real size is unknown (only `capacity + 1` bytes were taken): it is counted
            // as a datagram, not in `bytes_in`.
            counters.dropped_truncated.add(1);
            log.warn(format_args!(
                "dropped a datagram from {source} larger than the {capacity}-byte buffer"
            ));
            continue;
        }
        counters.bytes_in.add(n as u64);
        match socket.refusal(&source, local, options) {
            Some(Refusal::DeniedPort) => {
                counters.dropped_denied_port.add(1);
                log.warn(format_args!("not answering {source}: denied source port"));
                continue;
            }
            Some(Refusal::BadSource) => {
                counters.dropped_bad_source.add(1);
                log.warn(format_args!("not answering {source}: no one to answer"));
                continue;
            }
            Some(Refusal::OwnAddress) => {
                counters.dropped_own_address.add(1);
                log.warn(format_args!(
                    "not answering {source}: the server's own address"
                ));
                continue;
            }
            None => {}
        }
        // Fault hook: faults set or changed through the handle apply from the next datagram
        // on; under a fault, its reply is dropped, altered, held or repeated.
        faults.refresh();
        if faults.is_on() {
            faults.reply(socket, &mut scratch[..n], &source, counters);
            continue;
        }
        match socket.send_to(&scratch[..n], &source) {
            Ok(_) => {
                counters.bytes_out.add(n as u64);
                counters.datagrams_echoed.add(1);
            }
            // UDP promises nothing: a reply the system will not take now is dropped.
            Err(e) => {
                counters.dropped_send_failed.add(1);
                log.warn(format_args!("reply to {source} not sent: {e}"));
            }
        }
    }
    true
}
