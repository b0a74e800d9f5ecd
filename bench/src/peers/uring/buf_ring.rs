//! A provided-buffer ring: buffers the kernel picks from when a multishot receive completes,
//! and the loop gives back once it has sent their bytes.
//!
//! The ring is an array of entries (address, length, buffer id) shared with the kernel: the
//! kernel takes entries from its head, the loop adds entries at the tail and then publishes
//! the tail. The buffers are one allocation, buffer `bid` at `bid * size`.
//!
//! Both allocations are never freed: the kernel may write a buffer until the ring itself is
//! gone, and the rings live as long as the process. Every page of the buffers is touched
//! when the ring is made, so the pool is resident from the start, a fixed cost that no
//! connection adds to.

use std::alloc::{Layout, alloc, alloc_zeroed};
use std::io;
use std::ptr::NonNull;
use std::slice;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::Submitter;
use io_uring::types::BufRingEntry;

/// A multiple of every page size Linux uses: the ring must start on a page.
const ALIGN: usize = 64 * 1024;
/// The smallest page: touching one byte in every such stretch makes all of it resident.
const MIN_PAGE: usize = 4096;

/// The buffers of buffer group `group` of one ring.
pub(super) struct BufRing {
    entries: NonNull<BufRingEntry>,
    buffers: NonNull<u8>,
    count: u16,
    size: usize,
    group: u16,
    /// The tail as the loop sees it (entries added), and as the kernel was last told.
    tail: u16,
    published: u16,
    /// Buffers the kernel handed over and the loop has not given back yet.
    held: u16,
}

impl BufRing {
    /// Allocates `count` buffers of `size` bytes (`count` a power of two, at most 32,768),
    /// registers them with the ring of `submitter` as group `group`, and hands them all to
    /// the kernel.
    ///
    /// # Errors
    ///
    /// Out of memory, or the kernel refused the registration (older than 5.19).
    pub(super) fn register(
        submitter: &Submitter<'_>,
        group: u16,
        count: u16,
        size: usize,
    ) -> io::Result<BufRing> {
        if !count.is_power_of_two() || count > 1 << 15 || size == 0 || size > u32::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no buffer ring of {count} buffers of {size} bytes"),
            ));
        }
        let layout = |bytes: usize| {
            Layout::from_size_align(bytes, ALIGN).map_err(|e| io::Error::other(e.to_string()))
        };
        let entries_layout = layout(usize::from(count) * size_of::<BufRingEntry>())?;
        let buffers_layout = layout(usize::from(count) * size)?;
        let out_of_memory = || io::Error::from(io::ErrorKind::OutOfMemory);
        // SAFETY: both layouts have a nonzero size (count and size are nonzero).
        let entries = NonNull::new(unsafe { alloc_zeroed(entries_layout) })
            .ok_or_else(out_of_memory)?
            .cast::<BufRingEntry>();
        // SAFETY: as above.
        let buffers = NonNull::new(unsafe { alloc(buffers_layout) }).ok_or_else(out_of_memory)?;
        for offset in (0..buffers_layout.size()).step_by(MIN_PAGE) {
            // SAFETY: `offset` is inside the allocation; volatile, so that the write is not
            // folded into a zeroed allocation the kernel would map lazily.
            unsafe { buffers.as_ptr().add(offset).write_volatile(0) };
        }
        // SAFETY: the entries are `count` zeroed `BufRingEntry`s starting on a page, and are
        // never freed, so they outlive the registration.
        unsafe {
            submitter.register_buf_ring_with_flags(entries.as_ptr() as u64, count, group, 0)?;
        }
        let mut ring = BufRing {
            entries,
            buffers,
            count,
            size,
            group,
            tail: 0,
            published: 0,
            held: count,
        };
        for bid in 0..count {
            ring.give_back(bid);
        }
        ring.publish();
        Ok(ring)
    }

    /// The buffer group the receives name.
    pub(super) fn group(&self) -> u16 {
        self.group
    }

    /// Buffers the kernel has to pick from (at most: some may be taken by completions not
    /// yet reaped).
    pub(super) fn available(&self) -> u16 {
        self.count - self.held
    }

    /// Notes that the kernel handed buffer `bid` over in a completion.
    pub(super) fn taken(&mut self, bid: u16) {
        debug_assert!(bid < self.count);
        self.held += 1;
    }

    /// The first `len` bytes of buffer `bid`, which the kernel handed over (see
    /// [`BufRing::taken`]) and which is not given back yet.
    pub(super) fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < self.count, "buffer {bid} is not in the ring");
        let len = len.min(self.size);
        // SAFETY: the range is inside the allocation. The kernel handed this buffer over and
        // writes it no more until `give_back`, which takes `&mut self` and so ends this
        // borrow first.
        unsafe {
            slice::from_raw_parts(self.buffers.as_ptr().add(usize::from(bid) * self.size), len)
        }
    }

    /// Adds buffer `bid` back at the tail; the kernel sees it after [`BufRing::publish`].
    pub(super) fn give_back(&mut self, bid: u16) {
        assert!(bid < self.count, "buffer {bid} is not in the ring");
        let slot = usize::from(self.tail & (self.count - 1));
        let addr = self
            .buffers
            .as_ptr()
            .wrapping_add(usize::from(bid) * self.size);
        // SAFETY: `slot` < `count`, so the entry is inside the ring. The kernel reads only
        // entries between its head and the published tail, and this one is past the tail.
        let entry = unsafe { &mut *self.entries.as_ptr().add(slot) };
        entry.set_addr(addr as u64);
        entry.set_len(self.size as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        self.held -= 1;
    }

    /// Tells the kernel about every buffer given back since the last call.
    pub(super) fn publish(&mut self) {
        if self.published == self.tail {
            return;
        }
        // SAFETY: the tail is a u16 in the first entry, inside the ring and aligned for it;
        // the kernel only reads it. The release store makes the entries written before it
        // visible first.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()).cast_mut();
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
        self.published = self.tail;
    }
}
