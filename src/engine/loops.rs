//! The loop guard of the datagram engine: which datagrams are answers to the server's own
//! replies, and the per-source buckets those answers take tokens from.
//!
//! An exchange between an echo server and a peer that answers every reply (another echo
//! server started by one forged datagram, whether it echoes byte for byte or alters what it
//! echoes) has one thing a client's traffic has not: every datagram the peer sends carries
//! the server's last reply back, whole or changed in a few places. A client that sends fast
//! changes the same few places every time (its sequence number, a time); a peer that alters
//! what it echoes either changes it back (the datagram equals an earlier reply: a case
//! flip, a fixed byte toggled) or changes it somewhere new each time (a corrupted byte at a
//! random offset). Only those answers take a token; see [`Entry::judge`].
//!
//! It must never hold a lock across a system call, nor cost a datagram more than a pass
//! over its bytes and a short, rarely contended lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::limiter::Limiter;
use crate::options::SourceRateLimit;

/// The most sources whose recent replies a server remembers at once, and whose buckets it
/// tracks (documented on [`SourceRateLimit`](crate::SourceRateLimit)).
pub(crate) const TRACKED_SOURCES: usize = 4096;

/// The places a datagram is cut into (fewer for one shorter than this many bytes): an
/// answer is told from a new message by how many of them changed, and where.
const BLOCKS: usize = 16;
const _: () = assert!(BLOCKS.is_power_of_two() && BLOCKS <= 32);

/// The recent replies to a source that an answer is compared with: enough to see a peer
/// that changes a reply and changes it back (period 2), or cycles through a few changes.
const RECENT: usize = 4;

/// The server's memory of recent replies is cut into this many tables, each behind its own
/// lock, so that workers answering different sources rarely wait for one another.
const SHARDS: usize = 64;

/// A datagram in brief: its length and a hash of each of its [`BLOCKS`] places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Print {
    /// The length (a datagram is far shorter than 4 GiB).
    len: u32,
    /// How many blocks it has: [`BLOCKS`], or its length if shorter.
    blocks: u8,
    hashes: [u32; BLOCKS],
}

impl Print {
    /// The print of `payload`: one pass over its bytes, eight at a time.
    pub(crate) fn of(payload: &[u8]) -> Self {
        let len = payload.len();
        let blocks = len.min(BLOCKS);
        let mut hashes = [0; BLOCKS];
        if len < BLOCKS {
            // A block per byte.
            for (hash, &byte) in hashes.iter_mut().zip(payload) {
                *hash = u32::from(byte);
            }
        } else {
            // `BLOCKS` is a constant power of two: no division per block.
            for (i, hash) in hashes.iter_mut().enumerate() {
                *hash = hash_block(&payload[i * len / BLOCKS..(i + 1) * len / BLOCKS]);
            }
        }
        Print {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            blocks: blocks as u8,
            hashes,
        }
    }

    /// The blocks in which `self` and `other` (of the same length) differ, one bit each.
    fn diff(&self, other: &Print) -> u32 {
        let mut mask = 0;
        for i in 0..usize::from(self.blocks) {
            if self.hashes[i] != other.hashes[i] {
                mask |= 1 << i;
            }
        }
        mask
    }

    /// The most blocks an answer may have changed: a quarter of them, at least one.
    fn near(&self) -> u32 {
        (u32::from(self.blocks) / 4).max(1)
    }
}

/// A hash of one block: a multiply-xor chain over its 8-byte words, in which changing any
/// one word always changes the 64-bit result (each step is a bijection of the running
/// value and of the word), folded to 32 bits.
fn hash_block(block: &[u8]) -> u32 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = block.len() as u64;
    let mut words = block.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(bytes)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut bytes = [0; 8];
        bytes[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(bytes)).wrapping_mul(K);
    }
    (h ^ (h >> 32)) as u32
}

/// Whether the blocks `mask` changed are where the blocks `before` changed: every run of
/// adjacent changed blocks in `mask` touches a block of `before` or one next to it. A
/// counter's carry runs on from the byte that always changes into its neighbours; a
/// corrupted byte lands anywhere.
fn mask_follows(mask: u32, before: u32) -> bool {
    let mut reached = mask & (before | before << 1 | before >> 1);
    loop {
        let next = (reached | reached << 1 | reached >> 1) & mask;
        if next == reached {
            return reached == mask;
        }
        reached = next;
    }
}

/// What the server remembers of one source: its last replies to it, and the blocks the
/// source changed in its last answer.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// The last replies, the newest at `next - 1` (wrapping).
    recent: [Option<Print>; RECENT],
    next: u8,
    /// The blocks changed by the source's last answer; 0 if its last datagram was no
    /// answer (or an exact repeat), so that the first answer of a run takes no token.
    changed: u32,
}

impl Entry {
    /// Whether the datagram `print` is an answer that takes a token:
    /// - it equals one of the recent replies (the same length, every block the same): a
    ///   repeat, byte for byte or changed back;
    /// - or it has the length of one of them and differs from it in at most a quarter of
    ///   its blocks, and changed some place away from those its previous answer changed
    ///   ([`mask_follows`]): a change that moves, as random corruption does. A sequence
    ///   number or a time changes the same places every time (a carry runs on into the
    ///   next ones), so a client's messages never take a token this way.
    ///
    /// Anything else (another length, most blocks new) is a new message.
    fn judge(&mut self, print: &Print) -> bool {
        let mut near = None;
        for back in 1..=RECENT {
            let Some(reply) = &self.recent[(usize::from(self.next) + RECENT - back) % RECENT]
            else {
                break;
            };
            if reply.len != print.len {
                continue;
            }
            let mask = reply.diff(print);
            if mask == 0 {
                return true;
            }
            if near.is_none() && mask.count_ones() <= print.near() {
                near = Some(mask);
            }
        }
        let Some(mask) = near else {
            self.changed = 0;
            return false;
        };
        let before = self.changed;
        self.changed = mask;
        before != 0 && !mask_follows(mask, before)
    }

    /// Remembers `print` as the newest reply.
    fn push(&mut self, print: Print) {
        let next = usize::from(self.next);
        self.recent[next] = Some(print);
        self.next = ((next + 1) % RECENT) as u8;
    }

    /// Replaces the newest reply (the datagram as received) with the reply as it went out.
    fn amend(&mut self, print: Option<Print>) {
        let newest = (usize::from(self.next) + RECENT - 1) % RECENT;
        match print {
            Some(print) => self.recent[newest] = Some(print),
            // Nothing went out: the reply before it is the newest again.
            None => {
                self.recent[newest] = None;
                self.next = newest as u8;
            }
        }
    }
}

/// A hasher for keys that are hashes already: the source's, computed once per datagram
/// with the guard's random keys, picks both the table and the place in it.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One table of sources, by the hash of each: the source itself (two sources with the same
/// hash take turns at one entry), and what is remembered of it.
type Table<K> = HashMap<u64, (K, Entry), BuildHasherDefault<Prehashed>>;

/// The loop guard of one server, shared by its workers: the recent replies to each source,
/// and the buckets answers take tokens from.
#[derive(Debug)]
pub(crate) struct Guard<K> {
    /// The recent replies, in [`SHARDS`] tables of at most `TRACKED_SOURCES / SHARDS`
    /// sources each. A full table is emptied when a new source comes: memory stays bounded,
    /// and an exchange in progress is recognised again two datagrams later.
    shards: Box<[Mutex<Table<K>>]>,
    hasher: RandomState,
    limiter: Mutex<Limiter<K>>,
    origin: Instant,
}

impl<K: Hash + Eq + Clone> Guard<K> {
    /// The guard of a server with `limit`; none without a limit.
    pub(crate) fn new(limit: Option<SourceRateLimit>) -> Option<Self> {
        limit.map(|limit| Guard {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            limiter: Mutex::new(Limiter::new(limit.rate(), limit.burst(), TRACKED_SOURCES)),
            origin: Instant::now(),
        })
    }

    /// Whether the datagram `print` from `source` may be answered now: false only for an
    /// answer to the server's recent replies (see [`Entry::judge`]) when the source's
    /// bucket is empty. If it may, it is remembered as the newest reply to `source`.
    pub(crate) fn admit(&self, source: &K, print: &Print) -> bool {
        let hash = self.hasher.hash_one(source);
        let answer = {
            let mut table = self.table(hash);
            match table.get_mut(&hash) {
                Some((known, entry)) if known == source => {
                    let answer = entry.judge(print);
                    entry.push(*print);
                    answer
                }
                Some((known, entry)) => {
                    *known = source.clone();
                    *entry = Entry::default();
                    entry.push(*print);
                    false
                }
                None => {
                    if table.len() >= TRACKED_SOURCES / SHARDS {
                        table.clear();
                    }
                    let mut entry = Entry::default();
                    entry.push(*print);
                    table.insert(hash, (source.clone(), entry));
                    false
                }
            }
        };
        if !answer {
            return true;
        }
        let now = self.origin.elapsed();
        let allowed = self
            .limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(source.clone(), now);
        if !allowed {
            self.amend(source, None);
        }
        allowed
    }

    /// Says what really went out in answer to the datagram last admitted from `source`:
    /// `reply`, altered by a fault, or nothing (`None`).
    pub(crate) fn amend(&self, source: &K, reply: Option<Print>) {
        let hash = self.hasher.hash_one(source);
        if let Some((known, entry)) = self.table(hash).get_mut(&hash)
            && known == source
        {
            entry.amend(reply);
        }
    }

    /// The table of the source with `hash`: chosen by bits the table itself does not use
    /// to place it (the lowest) nor to tell entries apart (the highest).
    fn table(&self, hash: u64) -> MutexGuard<'_, Table<K>> {
        let index = ((hash >> 32) % SHARDS as u64) as usize;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sources the guard remembers.
    #[cfg(test)]
    fn len(&self) -> usize {
        (0..SHARDS)
            .map(|i| self.shards[i].lock().map_or(0, |t| t.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern message of `size` bytes with `seq` in its first eight, as `ping`, `Load`
    /// and the benchmark's clients send.
    fn message(size: usize, seq: u64) -> Vec<u8> {
        let mut m: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let bytes = seq.to_be_bytes();
        let n = size.min(8);
        m[..n].copy_from_slice(&bytes[8 - n..]);
        m
    }

    /// How many of the datagrams take a token, each answered as it is (no fault).
    fn tokens(datagrams: impl IntoIterator<Item = Vec<u8>>) -> usize {
        let mut entry = Entry::default();
        let mut taken = 0;
        for datagram in datagrams {
            let print = Print::of(&datagram);
            taken += usize::from(entry.judge(&print));
            entry.push(print);
        }
        taken
    }

    /// A small deterministic generator (xorshift), for offsets and masks.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn a_clients_numbered_messages_never_take_a_token() {
        for size in [4, 8, 12, 16, 64, 512, 1400, 65_507] {
            let count = if size > 1400 { 300 } else { 70_000 };
            let taken = tokens((0..count).map(|seq| message(size, seq)));
            assert_eq!(taken, 0, "{size}-byte messages");
        }
        // Numbered from anywhere, and across the carries of every byte.
        let taken = tokens(
            (u64::from(u32::MAX) - 1000..u64::from(u32::MAX) + 1000).map(|s| message(64, s)),
        );
        assert_eq!(taken, 0);
    }

    #[test]
    fn new_messages_never_take_a_token() {
        let mut state = 7;
        let taken = tokens((0..10_000).map(|_| {
            (0..64)
                .map(|_| xorshift(&mut state) as u8)
                .collect::<Vec<u8>>()
        }));
        assert_eq!(taken, 0);
    }

    #[test]
    fn the_same_message_again_takes_a_token_each_time() {
        assert_eq!(tokens((0..100).map(|_| b"again".to_vec())), 99);
        assert_eq!(tokens((0..100).map(|_| Vec::new())), 99);
    }

    /// A peer that changes what it echoes, answering the server's reply each time: the
    /// number of tokens its first `rounds` answers take.
    fn loop_tokens(size: usize, rounds: usize, alter: impl Fn(&mut Vec<u8>, usize)) -> usize {
        let mut datagram = message(size, 1);
        tokens((0..rounds).map(|round| {
            let sent = datagram.clone();
            alter(&mut datagram, round);
            sent
        }))
    }

    #[test]
    fn a_peer_that_corrupts_a_byte_anywhere_takes_a_token_most_rounds() {
        for (size, rounds) in [(8, 1000), (64, 1000), (512, 1000), (65_507, 200)] {
            let state = std::cell::Cell::new(size as u64 | 1);
            let taken = loop_tokens(size, rounds, |d, _| {
                let mut s = state.get();
                let at = xorshift(&mut s) as usize % d.len();
                d[at] ^= 1 + (xorshift(&mut s) % 255) as u8;
                state.set(s);
            });
            eprintln!("{size} bytes: {taken} tokens in {rounds} rounds");
            assert!(
                taken >= rounds / 2,
                "{size} bytes: {taken} tokens in {rounds} rounds"
            );
        }
    }

    #[test]
    fn a_peer_that_changes_it_back_takes_a_token_every_round() {
        // Flipping the case of every letter: the answer equals the reply before last.
        let flip = |d: &mut Vec<u8>, _| d.iter_mut().for_each(|b| *b ^= 0x20);
        assert_eq!(loop_tokens(64, 100, flip), 98);
        // Cycling one byte through three values.
        let cycle = |d: &mut Vec<u8>, _| d[10] = (d[10] + 1) % 3;
        assert!(loop_tokens(64, 100, cycle) >= 95);
    }

    #[test]
    fn a_fault_that_alters_the_reply_is_remembered_as_sent() {
        let mut entry = Entry::default();
        let received = message(64, 1);
        let mut sent = received.clone();
        sent[30] ^= 0xff;
        assert!(!entry.judge(&Print::of(&received)));
        entry.push(Print::of(&received));
        entry.amend(Some(Print::of(&sent)));
        // A plain server echoes the altered reply back: a repeat of what went out.
        assert!(entry.judge(&Print::of(&sent)));
        // Nothing went out: the reply before is the newest again.
        let mut entry = Entry::default();
        entry.push(Print::of(b"first"));
        entry.push(Print::of(b"other"));
        entry.amend(None);
        assert!(entry.judge(&Print::of(b"first")));
    }

    #[test]
    fn answers_past_the_burst_are_refused_per_source_and_others_go_on() {
        let guard = Guard::new(Some(SourceRateLimit::new(1, 3))).unwrap();
        let looping = "a";
        assert!(guard.admit(&looping, &Print::of(b"loop")));
        let repeats: Vec<bool> = (0..5)
            .map(|_| guard.admit(&looping, &Print::of(b"loop")))
            .collect();
        assert_eq!(repeats, [true, true, true, false, false]);
        assert!(guard.admit(&"b", &Print::of(b"loop")));
        for seq in 0..1000 {
            assert!(guard.admit(&"c", &Print::of(&message(64, seq))));
        }
    }

    #[test]
    fn what_is_remembered_of_a_source_is_small() {
        // docs/protocol.md: under 400 bytes a source, key and hash included.
        let size = std::mem::size_of::<(u64, (std::net::SocketAddr, Entry))>();
        assert!(size <= 400, "{size} bytes");
    }

    #[test]
    fn the_table_stays_within_its_bound() {
        let guard = Guard::new(Some(SourceRateLimit::new(100, 10))).unwrap();
        for source in 0..20 * TRACKED_SOURCES as u32 {
            assert!(guard.admit(&source, &Print::of(&source.to_be_bytes())));
        }
        assert!(guard.len() <= TRACKED_SOURCES, "{}", guard.len());
    }
}
