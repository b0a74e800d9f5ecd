//! Message contents: bytes that differ per connection and per message, so an echo of the
//! wrong message, a stale one or a shifted one never passes for the right one.

/// Fills `buf` with the bytes of message `seq` on connection `conn`.
///
/// UDP messages carry `seq` and `conn` in their first 12 bytes so that a late reply can be
/// told from a corrupt one: see [`datagram_seq`].
pub fn fill(buf: &mut [u8], conn: usize, seq: u64) {
    let mut state = (conn as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq.wrapping_add(1);
    for chunk in buf.chunks_mut(8) {
        // xorshift64*: cheap, and no two nearby (conn, seq) share a prefix.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    if buf.len() >= 12 {
        buf[..8].copy_from_slice(&seq.to_le_bytes());
        buf[8..12].copy_from_slice(&(conn as u32).to_le_bytes());
    }
}

/// The offset of the first byte where `got` differs from `want`, if any (a length
/// difference counts at the shorter length).
pub fn first_difference(want: &[u8], got: &[u8]) -> Option<u64> {
    if want == got {
        return None;
    }
    let same = want.iter().zip(got).take_while(|(a, b)| a == b).count();
    Some(same as u64)
}

/// The sequence number a datagram of `len` bytes for `conn` claims, if it is exactly a
/// message [`fill`] made; `None` means it is corrupt.
pub fn datagram_seq(
    datagram: &[u8],
    len: usize,
    conn: usize,
    scratch: &mut Vec<u8>,
) -> Option<u64> {
    if datagram.len() != len || len < 12 {
        return None;
    }
    let seq = u64::from_le_bytes(datagram[..8].try_into().ok()?);
    scratch.resize(len, 0);
    fill(scratch, conn, seq);
    (scratch[..] == *datagram).then_some(seq)
}

/// The bulk stream: byte `i` of the stream is `block[i % PERIOD]`. The period is prime, so it
/// never lines up with write sizes, and a repeated or skipped chunk is seen.
pub const PERIOD: usize = 65_521;

/// [`PERIOD`] bytes of the stream, followed by `window` more, so that any `window` bytes of
/// the stream are one slice: `stream[off % PERIOD ..][..window]`.
pub fn stream_pattern(window: usize) -> Vec<u8> {
    let mut block = vec![0u8; PERIOD];
    fill(&mut block, usize::MAX, u64::MAX);
    let mut out = Vec::with_capacity(PERIOD + window);
    while out.len() < PERIOD + window {
        let take = (PERIOD + window - out.len()).min(PERIOD);
        out.extend_from_slice(&block[..take]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differ_by_conn_and_seq() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        fill(&mut a, 1, 2);
        fill(&mut b, 1, 3);
        assert_ne!(a[12..], b[12..]);
        fill(&mut b, 2, 2);
        assert_ne!(a[12..], b[12..]);
    }

    #[test]
    fn datagram_seq_reads_back_and_refuses_corruption() {
        let mut scratch = Vec::new();
        let mut msg = [0u8; 64];
        fill(&mut msg, 7, 41);
        assert_eq!(datagram_seq(&msg, 64, 7, &mut scratch), Some(41));
        assert_eq!(datagram_seq(&msg, 64, 8, &mut scratch), None);
        msg[30] ^= 1;
        assert_eq!(datagram_seq(&msg, 64, 7, &mut scratch), None);
    }

    #[test]
    fn stream_pattern_repeats_with_its_period() {
        let p = stream_pattern(100);
        assert_eq!(p.len(), PERIOD + 100);
        assert_eq!(p[..100], p[PERIOD..]);
    }
}
