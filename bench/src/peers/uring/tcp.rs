//! The TCP loop of one ring: multishot accept, and per connection one multishot receive and
//! at most one send in flight.
//!
//! A connection's received buffers wait in order in its queue; the first is sent (the rest of
//! it, after a short send) and given back to the buffer ring once all of it is gone, then the
//! next. So the echo is byte for byte in order, and a buffer is never sent twice nor given
//! back early. A connection holding [`PAUSE_AT`] buffers (a peer that sends faster than it
//! reads) has its receive cancelled, and armed again once the queue is down to half: the
//! other connections keep buffers to receive into. When the ring runs out of buffers all the
//! same, a receive ends with -ENOBUFS, and is armed again once buffers come back.
//!
//! A connection is closed (its descriptor dropped) only when no request of it is in flight:
//! after end of stream once every byte is echoed, or after an error once its receive and send
//! have completed, so a completion never finds its slot taken by another connection.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use io_uring::{opcode, types};
use slab::Slab;
use socket2::Socket;

use super::buf_ring::BufRing;
use super::{Completion, Op, Ring};

/// Buffers per ring, and their size: 16 MiB per ring.
const BUFFERS: u16 = 1024;
const BUFFER_SIZE: usize = 16 * 1024;
/// Buffers one connection may hold before its receive is paused.
const PAUSE_AT: usize = 64;

/// One received buffer, queued to be echoed.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    bid: u16,
    len: u32,
}

struct Conn {
    fd: OwnedFd,
    /// Received and not yet all sent, oldest first; the first is in flight when `sending`.
    queue: VecDeque<Chunk>,
    /// Bytes of the first chunk already sent.
    sent: u32,
    sending: bool,
    recv_armed: bool,
    /// A cancel of the receive is in flight.
    cancelling: bool,
    /// The peer has sent everything it will.
    eof: bool,
    /// The connection failed: nothing more is sent, it closes once nothing is in flight.
    dead: bool,
}

impl Conn {
    /// Whether the connection should have a receive armed and has none.
    fn wants_recv(&self) -> bool {
        !self.recv_armed && !self.dead && !self.eof && self.queue.len() <= PAUSE_AT / 2
    }
}

/// One ring serving the connections its listener accepts.
pub(super) struct Loop {
    // Dropped first: the ring goes before the listener it accepts from.
    ring: Ring,
    pool: BufRing,
    listener: Socket,
    conns: Slab<Conn>,
    /// Connections that may want a receive armed (new ones, those whose receive ended, those
    /// whose queue shrank): looked at after each batch of completions.
    rearm: Vec<usize>,
}

impl Loop {
    /// Sets up the ring and its buffers, and arms the accept.
    pub(super) fn new(listener: Socket) -> io::Result<Loop> {
        let mut ring = Ring::new()?;
        let pool = BufRing::register(&ring.submitter(), 0, BUFFERS, BUFFER_SIZE)?;
        ring.accept_multi(types::Fd(listener.as_raw_fd()))?;
        Ok(Loop {
            ring,
            pool,
            listener,
            conns: Slab::new(),
            rearm: Vec::new(),
        })
    }

    /// Serves until a fatal ring error.
    pub(super) fn run(mut self) -> io::Result<()> {
        let mut completions = Vec::new();
        loop {
            self.ring.wait(&mut completions)?;
            for completion in &completions {
                match completion.op {
                    Op::Accept => self.accepted(completion)?,
                    Op::Recv => self.received(completion)?,
                    Op::Send => self.sent(completion)?,
                    Op::Cancel => {}
                }
            }
            self.pool.publish();
            self.rearm_waiting()?;
        }
    }

    fn accepted(&mut self, completion: &Completion) -> io::Result<()> {
        if completion.result >= 0 {
            // SAFETY: the kernel just made this descriptor for us; nothing else owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(completion.result) };
            let key = self.conns.insert(Conn {
                fd,
                queue: VecDeque::new(),
                sent: 0,
                sending: false,
                recv_armed: false,
                cancelling: false,
                eof: false,
                dead: false,
            });
            self.rearm.push(key);
        }
        // Out of descriptors and the like end the multishot accept: arm it again, as the
        // epoll loop drops that accept and keeps serving.
        if !completion.more() {
            self.ring
                .accept_multi(types::Fd(self.listener.as_raw_fd()))?;
        }
        Ok(())
    }

    fn received(&mut self, completion: &Completion) -> io::Result<()> {
        let key = completion.key;
        let Some(conn) = self.conns.get_mut(key) else {
            // Cannot happen: a connection stays until its receive has ended.
            if let Some(bid) = completion.buffer() {
                self.pool.taken(bid);
                self.pool.give_back(bid);
            }
            return Ok(());
        };
        if let Some(bid) = completion.buffer() {
            self.pool.taken(bid);
            match u32::try_from(completion.result) {
                Ok(len @ 1..) if !conn.dead => conn.queue.push_back(Chunk { bid, len }),
                _ => self.pool.give_back(bid),
            }
        }
        if !completion.more() {
            conn.recv_armed = false;
            conn.cancelling = false;
            match completion.result {
                0 => conn.eof = true,
                // Out of buffers, or paused: armed again when it may be.
                e if e == -libc::ENOBUFS || e == -libc::ECANCELED => {}
                e if e < 0 => conn.dead = true,
                // A multishot receive the kernel ended with data: go on.
                _ => {}
            }
            self.rearm.push(key);
        } else if conn.queue.len() >= PAUSE_AT && !conn.cancelling {
            conn.cancelling = true;
            self.ring.cancel_recv(key)?;
        }
        self.drive(key)
    }

    fn sent(&mut self, completion: &Completion) -> io::Result<()> {
        let key = completion.key;
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(());
        };
        conn.sending = false;
        match (u32::try_from(completion.result), conn.queue.front()) {
            (Ok(n @ 1..), Some(&front)) => {
                conn.sent += n;
                if conn.sent >= front.len {
                    conn.queue.pop_front();
                    conn.sent = 0;
                    self.pool.give_back(front.bid);
                    if conn.wants_recv() {
                        self.rearm.push(key);
                    }
                }
            }
            // An error, or nothing sent of a non-empty chunk (which would repeat forever).
            _ => conn.dead = true,
        }
        self.drive(key)
    }

    /// Sends the rest of the first queued chunk if nothing is in flight; closes the
    /// connection once it is done and nothing of it is in flight.
    fn drive(&mut self, key: usize) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(());
        };
        if conn.dead {
            if conn.recv_armed && !conn.cancelling {
                conn.cancelling = true;
                self.ring.cancel_recv(key)?;
            }
            if !conn.recv_armed && !conn.sending {
                let conn = self.conns.remove(key);
                for chunk in conn.queue {
                    self.pool.give_back(chunk.bid);
                }
            }
            return Ok(());
        }
        if conn.sending {
            return Ok(());
        }
        let Some(&front) = conn.queue.front() else {
            if conn.eof {
                // Everything echoed: dropping the descriptor sends the peer its end of
                // stream.
                self.conns.remove(key);
            }
            return Ok(());
        };
        let rest = &self.pool.bytes(front.bid, front.len as usize)[conn.sent as usize..];
        let entry = opcode::Send::new(
            types::Fd(conn.fd.as_raw_fd()),
            rest.as_ptr(),
            rest.len() as u32,
        )
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(Op::Send.tag(key));
        conn.sending = true;
        // SAFETY: the bytes are in the buffer ring, which is never freed, and the buffer is
        // given back only after this send has completed.
        unsafe { self.ring.push(entry) }
    }

    /// Arms the receive of every connection that wants one, while the ring has buffers;
    /// the others wait for buffers to come back.
    fn rearm_waiting(&mut self) -> io::Result<()> {
        let mut waiting = std::mem::take(&mut self.rearm);
        let mut i = 0;
        while i < waiting.len() {
            let key = waiting[i];
            match self.conns.get_mut(key) {
                Some(conn) if conn.wants_recv() => {
                    if self.pool.available() == 0 {
                        i += 1;
                        continue;
                    }
                    conn.recv_armed = true;
                    let fd = types::Fd(conn.fd.as_raw_fd());
                    self.ring.recv_multi(fd, self.pool.group(), key)?;
                }
                _ => {}
            }
            waiting.swap_remove(i);
        }
        self.rearm = waiting;
        Ok(())
    }
}
