//! Measuring an echo server: round trips one at a time ([`Ping`], through
//! [`EchoClient::ping`](crate::EchoClient::ping)) and under load ([`Load`], [`Bulk`]).
//!
//! Compiled only with the `measure` feature, so a plain echo user never builds hdrhistogram.
//! Nothing here relaxes the client's promise: every reply is compared byte for byte with what
//! was sent, and one that differs is counted as an error, never as a success. Every loop is
//! bounded in time and in count, and ends by itself.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::transport::Transport;
use crate::transport::sealed::{ClientVisitor, Connection, Datagram, Socket};

mod bulk;
mod load;
mod ping;
mod settings;
mod summary;

pub use bulk::Bulk;
pub use load::{Load, LoadErrorKind, LoadReport, Progress};
pub use ping::{Outcome, Ping, PingSummary, Probe};
pub use summary::Latency;

/// Sets how long one receive on `socket` may wait.
pub(crate) fn set_read_timeout(socket: &impl Socket, timeout: Option<Duration>) -> Result<()> {
    socket
        .set_read_timeout(timeout)
        .map_err(|source| Error::SetOption {
            option: "read_timeout",
            source,
        })
}

/// The bytes of a probe that carry its sequence number (big-endian).
pub(crate) const HEADER: usize = 8;

/// A message of `size` bytes: byte `i` is `i as u8`; the first [`HEADER`] bytes are then
/// overwritten with a sequence number where one is carried.
pub(crate) fn pattern(size: usize) -> Result<Vec<u8>> {
    let mut message = crate::buffer::reserved("the message", size)?;
    message.extend((0..size).map(|i| i as u8));
    Ok(message)
}

/// Writes `seq` into the header of `message` (which is at least [`HEADER`] bytes long).
pub(crate) fn set_seq(message: &mut [u8], seq: u64) {
    if let Some(header) = message.get_mut(..HEADER) {
        header.copy_from_slice(&seq.to_be_bytes());
    }
}

/// The sequence number in the header of `message`, if it is long enough to carry one.
pub(crate) fn seq_of(message: &[u8]) -> Option<u64> {
    let header: [u8; HEADER] = message.get(..HEADER)?.try_into().ok()?;
    Some(u64::from_be_bytes(header))
}

/// Refuses a message size that cannot carry a sequence number.
pub(crate) fn check_size(option: &'static str, size: usize) -> Result<()> {
    if size < HEADER {
        return Err(Error::InvalidOption {
            option,
            reason: "must be at least 8 bytes, the size of the sequence number a probe carries"
                .into(),
        });
    }
    Ok(())
}

/// Refuses a zero timeout, one under the microsecond resolution of socket timeouts, or one
/// beyond [`MAX_DURATION`](crate::MAX_DURATION), as [`Options`](crate::Options) does.
pub(crate) fn check_timeout(option: &'static str, timeout: Duration) -> Result<()> {
    if timeout.is_zero() {
        return Err(Error::InvalidOption {
            option,
            reason: "a zero timeout would wait forever on some systems and fail at once on others"
                .into(),
        });
    }
    if timeout < crate::options::SOCKET_TIMEOUT_RESOLUTION {
        return Err(Error::InvalidOption {
            option,
            reason: "under one microsecond, the resolution of socket timeouts: the system would round it to zero"
                .into(),
        });
    }
    crate::options::check_duration(option, timeout)?;
    Ok(())
}

/// Refuses a message too large for one datagram to `peer`; any size fits a stream.
pub(crate) struct Fits<'a, T: Transport> {
    pub(crate) peer: &'a T::Addr,
    pub(crate) len: usize,
}

impl<T: Transport> ClientVisitor<T> for Fits<'_, T> {
    type Output = Result<()>;

    fn stream<C: Connection>(self, _: &C) -> Result<()> {
        Ok(())
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Result<()> {
        check_datagram(socket, self.peer, self.len)
    }
}

/// Refuses a datagram too large for `peer`.
pub(crate) fn check_datagram<D: Datagram>(socket: &D, peer: &D::Addr, len: usize) -> Result<()> {
    let max = socket.max_payload(peer);
    if len > max {
        return Err(Error::DatagramTooLarge {
            addr: peer.clone().into(),
            len,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_timeout_refuses_what_rounds_to_zero() {
        for refused in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(999),
        ] {
            match check_timeout("timeout", refused) {
                Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "timeout"),
                other => panic!("{refused:?}: expected InvalidOption, got {other:?}"),
            }
        }
        assert!(check_timeout("timeout", Duration::from_micros(1)).is_ok());
    }
}
