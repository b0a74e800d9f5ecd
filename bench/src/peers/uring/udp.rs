//! The UDP loop of one ring: one multishot recvmsg, and a sendmsg per datagram, back to its
//! source from the buffer it arrived in.
//!
//! The kernel writes each datagram into a provided buffer laid out as a recvmsg header, the
//! source's address, then the payload; the reply's message header points at that address and
//! that payload, so nothing is copied. Replies go in parallel (datagrams have no order to
//! keep); a buffer is given back once its reply has completed, sent or not. When the ring runs
//! out of buffers the recvmsg ends with -ENOBUFS, and is armed again once buffers come back:
//! meanwhile datagrams wait in the socket's receive queue, or are dropped by the kernel as on
//! any busy server.

use std::ffi::c_void;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr;

use io_uring::opcode;
use io_uring::types::{self, RecvMsgOut};
use socket2::Socket;

use super::buf_ring::BufRing;
use super::{Completion, Op, Ring};

/// Buffers per ring: more than the datagrams a closed-loop client keeps in flight.
const BUFFERS: u16 = 128;
/// The header the kernel writes before the address (`struct io_uring_recvmsg_out`).
const RECVMSG_OUT: usize = 16;
/// Room for any source address.
const NAME_LEN: usize = size_of::<libc::sockaddr_storage>();
/// Room for the header, the address and the largest UDP payload (65,507 bytes over IPv4,
/// 65,527 over IPv6): 8.2 MiB per ring.
const BUFFER_SIZE: usize = RECVMSG_OUT + NAME_LEN + 65_536;

/// The message header of the reply sent from one buffer, and its one piece.
struct Reply {
    header: libc::msghdr,
    iov: libc::iovec,
}

/// An empty message header: no address, no data, no control data.
fn empty_header() -> libc::msghdr {
    // SAFETY: `msghdr` is plain C data, for which all zeroes (null pointers, zero lengths)
    // is a valid empty header.
    unsafe { std::mem::zeroed() }
}

/// One ring serving one UDP socket.
pub(super) struct Loop {
    // Dropped first: the ring goes before the socket it receives from.
    ring: Ring,
    pool: BufRing,
    socket: Socket,
    /// What the multishot recvmsg reads of its header: the room for the source's address (and
    /// none for control data). Never freed, like everything else the kernel reads.
    recv_header: &'static libc::msghdr,
    /// The reply of each buffer, indexed by buffer id.
    replies: &'static mut [Reply],
    armed: bool,
}

impl Loop {
    /// Sets up the ring and its buffers, and arms the receive.
    pub(super) fn new(socket: Socket) -> io::Result<Loop> {
        let ring = Ring::new()?;
        let pool = BufRing::register(&ring.submitter(), 0, BUFFERS, BUFFER_SIZE)?;
        let mut recv_header = empty_header();
        recv_header.msg_namelen = NAME_LEN as libc::socklen_t;
        let replies = (0..BUFFERS)
            .map(|_| Reply {
                header: empty_header(),
                iov: libc::iovec {
                    iov_base: ptr::null_mut(),
                    iov_len: 0,
                },
            })
            .collect::<Vec<_>>();
        let mut lp = Loop {
            ring,
            pool,
            socket,
            recv_header: Box::leak(Box::new(recv_header)),
            replies: replies.leak(),
            armed: false,
        };
        lp.arm()?;
        Ok(lp)
    }

    /// Serves until a fatal ring error.
    pub(super) fn run(mut self) -> io::Result<()> {
        let mut completions = Vec::new();
        loop {
            self.ring.wait(&mut completions)?;
            for completion in &completions {
                match completion.op {
                    Op::Recv => self.received(completion)?,
                    Op::Send => self.sent(completion),
                    Op::Accept | Op::Cancel => {}
                }
            }
            self.pool.publish();
            if !self.armed && self.pool.available() > 0 {
                self.arm()?;
            }
        }
    }

    fn arm(&mut self) -> io::Result<()> {
        let fd = types::Fd(self.socket.as_raw_fd());
        let entry = opcode::RecvMsgMulti::new(fd, self.recv_header, self.pool.group())
            .build()
            .user_data(Op::Recv.tag(0));
        // SAFETY: the header is never freed, nor are the buffers of the buffer ring.
        unsafe { self.ring.push(entry) }?;
        self.armed = true;
        Ok(())
    }

    fn received(&mut self, completion: &Completion) -> io::Result<()> {
        if !completion.more() {
            // Out of buffers, or ended by the kernel: armed again after this batch.
            self.armed = false;
        }
        let Some(bid) = completion.buffer() else {
            return Ok(());
        };
        self.pool.taken(bid);
        let len = usize::try_from(completion.result).unwrap_or(0);
        // A datagram cut short, or a source cut short, cannot be echoed: it is dropped.
        let parts = RecvMsgOut::parse(self.pool.bytes(bid, len), self.recv_header)
            .ok()
            .filter(|out| !out.is_payload_truncated() && !out.is_name_data_truncated())
            .map(|out| {
                let (name, payload) = (out.name_data(), out.payload_data());
                (name.as_ptr(), name.len(), payload.as_ptr(), payload.len())
            });
        let Some((name, name_len, payload, payload_len)) = parts else {
            self.pool.give_back(bid);
            return Ok(());
        };
        let reply = &mut self.replies[usize::from(bid)];
        reply.iov = libc::iovec {
            iov_base: payload.cast_mut().cast::<c_void>(),
            iov_len: payload_len,
        };
        reply.header.msg_name = name.cast_mut().cast::<c_void>();
        reply.header.msg_namelen = name_len as libc::socklen_t;
        reply.header.msg_iov = &mut reply.iov;
        reply.header.msg_iovlen = 1;
        let entry = opcode::SendMsg::new(types::Fd(self.socket.as_raw_fd()), &reply.header)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
            .user_data(Op::Send.tag(usize::from(bid)));
        // SAFETY: the header and its piece are never freed, nor is the buffer they point
        // into, which is given back only after this send has completed.
        unsafe { self.ring.push(entry) }
    }

    /// A reply went (or failed, as the network may drop it): its buffer goes back.
    fn sent(&mut self, completion: &Completion) {
        if let Ok(bid) = u16::try_from(completion.key) {
            self.pool.give_back(bid);
        }
    }
}
