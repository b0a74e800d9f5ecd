//! One connection of the stream engine: what it holds (nothing while idle, its untaken echo
//! otherwise), and its echo, driven until it would block, fails, ends, or has had its turn.

use super::READS_PER_TURN;
use crate::buffer;
use crate::engine::{interrupted, would_block};
use crate::stats::Counters;
use crate::transport::sealed::Connection;

/// One connection: 16 bytes while idle.
pub(super) struct Conn<S> {
    pub(super) stream: S,
    /// Echoed bytes the peer has not taken yet; `None` (no allocation) almost always.
    pub(super) pending: Option<Box<Pending>>,
    /// When the connection last moved a byte, on the worker's [`Clock`].
    pub(super) last_active: u32,
}

pub(super) struct Pending {
    pub(super) data: Vec<u8>,
    pub(super) sent: usize,
}

/// What became of a connection after it was driven.
pub(super) enum Drive {
    /// Waiting for the next readiness event.
    Wait,
    /// Still readable, but its turn is over: drive it again after the others.
    Again,
    /// Done: the peer closed and everything was echoed.
    Finished,
    /// Failed: reset, broken pipe.
    Failed,
}

/// How far writing a connection's pending bytes got.
pub(super) enum Flush {
    /// Nothing is pending any more.
    Done,
    /// The peer's window is full; wait until it is writable.
    Blocked,
    /// The connection failed.
    Failed,
}

/// Writes a connection's pending bytes until none are left or the socket would block, then
/// what the transport itself holds ([`Connection::flush`]: a no-op for a plaintext one).
pub(super) fn write_pending<S: Connection>(
    conn: &mut Conn<S>,
    counters: &Counters,
    now: u32,
) -> Flush {
    while let Some(pending) = conn.pending.as_mut() {
        match conn.stream.write(&pending.data[pending.sent..]) {
            Ok(n) => {
                counters.bytes_out.add(n as u64);
                conn.last_active = now;
                pending.sent += n;
                if pending.sent == pending.data.len() {
                    conn.pending = None;
                }
            }
            Err(e) if interrupted(&e) => {}
            Err(e) if would_block(&e) => return Flush::Blocked,
            Err(_) => return Flush::Failed,
        }
    }
    loop {
        return match conn.stream.flush() {
            Ok(()) => Flush::Done,
            Err(e) if interrupted(&e) => continue,
            Err(e) if would_block(&e) => Flush::Blocked,
            Err(_) => Flush::Failed,
        };
    }
}

/// Echoes what one connection has to offer until it would block, fails, ends, or has had its
/// turn.
///
/// With `short_read_drains`, a read that returns less than the buffer holds is taken to have
/// emptied the socket, and the read that would only say "would block" is skipped: that is
/// one system call in three of a small echo. It is sound under edge-triggered readiness,
/// because data or an end-of-stream arriving after the short read raises a new edge. It is
/// only passed for an event that did not already report the peer's end-of-stream or an
/// error, which no later edge would repeat, and not taken while the transport holds what its
/// next read returns (`holds_unread`: a TLS `close_notify` read with the last bytes).
///
/// `tap` is given every byte read, in order (a no-op unless the server records).
pub(super) fn drive<S: Connection>(
    conn: &mut Conn<S>,
    scratch: &mut [u8],
    counters: &Counters,
    now: u32,
    short_read_drains: bool,
    mut tap: impl FnMut(&[u8]),
) -> Drive {
    let mut reads = 0;
    loop {
        // Bytes the peer has not taken come first: while they wait, nothing is read.
        match write_pending(conn, counters, now) {
            Flush::Done => {}
            Flush::Blocked => return Drive::Wait,
            Flush::Failed => return Drive::Failed,
        }
        if reads == READS_PER_TURN {
            return Drive::Again;
        }
        reads += 1;
        let n = match conn.stream.read(scratch) {
            // The peer shut its write side and everything it sent has been echoed (and
            // written out of the transport's own buffers, by `write_pending` above).
            Ok(0) => {
                shutdown_write(&conn.stream);
                return Drive::Finished;
            }
            Ok(n) => n,
            Err(e) if interrupted(&e) => continue,
            Err(e) if would_block(&e) => return Drive::Wait,
            Err(_) => return Drive::Failed,
        };
        counters.bytes_in.add(n as u64);
        tap(&scratch[..n]);
        conn.last_active = now;
        let mut sent = 0;
        while sent < n {
            match conn.stream.write(&scratch[sent..n]) {
                Ok(m) => sent += m,
                Err(e) if interrupted(&e) => {}
                Err(e) if would_block(&e) => {
                    // The peer chose how much waits here (up to `max_pending`); memory
                    // that cannot be had fails this connection, never the server.
                    let Ok(data) = buffer::copy("pending bytes", &scratch[sent..n]) else {
                        return Drive::Failed;
                    };
                    conn.pending = Some(Box::new(Pending { data, sent: 0 }));
                    break;
                }
                Err(_) => return Drive::Failed,
            }
        }
        counters.bytes_out.add(sent as u64);
        if short_read_drains
            && n < scratch.len()
            && conn.pending.is_none()
            && !conn.stream.holds_unread()
        {
            // What the transport took into buffers of its own goes out before the wait.
            return match write_pending(conn, counters, now) {
                Flush::Failed => Drive::Failed,
                Flush::Done | Flush::Blocked => Drive::Wait,
            };
        }
    }
}

/// Shuts a connection's write side, so its peer reads end-of-stream. A peer that has already
/// gone leaves nothing to shut down.
pub(super) fn shutdown_write<S: Connection>(stream: &S) {
    let _ = stream.shutdown_write();
}

#[cfg(test)]
mod tests;
