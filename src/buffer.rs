//! Buffers whose size a caller or a peer chose, allocated so that running out of memory is
//! an [`Error::Allocation`] naming the size, never an abort.
//!
//! Every buffer of the crate that is sized by an option, a message or a probe comes from
//! here; nothing else allocates by a size it was given.

use crate::error::{Error, Result};

/// `len` zero bytes, for `what` (named in the error).
pub(crate) fn zeroed(what: &'static str, len: usize) -> Result<Vec<u8>> {
    let mut buffer = reserved(what, len)?;
    buffer.resize(len, 0);
    Ok(buffer)
}

/// `capacity + 1` zero bytes: the extra byte shows a datagram that did not fit in
/// `capacity`. A capacity of `usize::MAX` is an error, never a wrap to an empty buffer.
pub(crate) fn with_sentinel(what: &'static str, capacity: usize) -> Result<Vec<u8>> {
    let len = capacity.checked_add(1).ok_or(Error::Allocation {
        what,
        bytes: capacity,
    })?;
    zeroed(what, len)
}

/// An empty buffer with room for exactly `len` bytes.
pub(crate) fn reserved(what: &'static str, len: usize) -> Result<Vec<u8>> {
    let mut buffer = Vec::new();
    buffer
        .try_reserve_exact(len)
        .map_err(|_| Error::Allocation { what, bytes: len })?;
    Ok(buffer)
}

/// A copy of `bytes`.
pub(crate) fn copy(what: &'static str, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut buffer = reserved(what, bytes.len())?;
    buffer.extend_from_slice(bytes);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More than any address space holds (2^50 bytes), so the allocator says no at once.
    const TOO_MUCH: usize = 1 << 50;

    #[test]
    fn sizes_no_memory_holds_are_errors() {
        for result in [
            zeroed("the receive buffer", TOO_MUCH),
            reserved("the receive buffer", TOO_MUCH),
            with_sentinel("the receive buffer", TOO_MUCH),
        ] {
            match result {
                Err(Error::Allocation { what, bytes }) => {
                    assert_eq!(what, "the receive buffer");
                    assert!(bytes >= TOO_MUCH);
                }
                other => panic!("expected Allocation, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_sentinel_never_wraps() {
        match with_sentinel("the receive buffer", usize::MAX) {
            Err(Error::Allocation { bytes, .. }) => assert_eq!(bytes, usize::MAX),
            other => panic!("expected Allocation, got {other:?}"),
        }
        assert_eq!(with_sentinel("x", 3).unwrap(), [0; 4]);
    }

    #[test]
    fn buffers_have_the_size_asked_for() {
        assert_eq!(zeroed("x", 5).unwrap(), [0; 5]);
        let empty = reserved("x", 64).unwrap();
        assert!(empty.is_empty() && empty.capacity() >= 64);
        assert_eq!(copy("x", b"abc").unwrap(), b"abc");
    }
}
