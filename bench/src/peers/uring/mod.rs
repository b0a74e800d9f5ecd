//! The io_uring loop: the other limit of this machine, beside the epoll loop.
//!
//! One ring per core, each on its own thread with its own SO_REUSEPORT listener (or UDP
//! socket), set up with SINGLE_ISSUER and DEFER_TASKRUN (completions are run only when the
//! thread waits for them, never by an interrupt on another core). Nothing is read into a
//! buffer of the loop's own: receives are multishot and take their buffers from a
//! provided-buffer ring (`buf_ring`), and the received buffer is sent back as it is, then
//! returned to the ring.
//!
//! - TCP (`tcp`): multishot accept; per connection one multishot receive and at most one
//!   send in flight, so the echo keeps the byte order;
//! - UDP (`udp`): multishot recvmsg, each datagram sent back with sendmsg from the buffer it
//!   arrived in, to the source the kernel wrote beside it.
//!
//! No limits, no stats, as in the epoll loop. What the kernel may write or read (the buffers,
//! the message headers) is allocated once per loop and never freed: the loops end only with
//! the process.

// Every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io;
use std::net::SocketAddr;
use std::sync::{Once, mpsc};
use std::thread;

use io_uring::{IoUring, opcode, squeue, types};
use socket2::{Protocol, Socket, Type};

use super::epoll::bind_all;

mod buf_ring;
mod tcp;
mod udp;

/// Submission queue entries per ring; a full queue is submitted and reused at once.
const SQ_ENTRIES: u32 = 512;
/// Completion queue entries per ring; the kernel keeps any overflow until it is reaped.
const CQ_ENTRIES: u32 = 4096;

/// Serves TCP with one ring per core.
///
/// # Errors
///
/// Binding failed, a ring could not be set up (io_uring is missing or disabled), or a loop
/// hit a fatal ring error.
pub fn serve_tcp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let (bound, sockets) = bind_all(addr, Type::STREAM, Protocol::TCP)?;
    for socket in &sockets {
        // Every accepted connection inherits it.
        socket.set_tcp_nodelay(true)?;
        socket.listen(1024)?;
    }
    run_all(sockets, tcp::Loop::new, tcp::Loop::run, || on_bound(bound))
}

/// Serves UDP with one ring per core.
///
/// # Errors
///
/// Binding failed, a ring could not be set up (io_uring is missing or disabled), or a loop
/// hit a fatal ring error.
pub fn serve_udp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let (bound, sockets) = bind_all(addr, Type::DGRAM, Protocol::UDP)?;
    run_all(sockets, udp::Loop::new, udp::Loop::run, || on_bound(bound))
}

/// Whether this process can set up an io_uring at all.
///
/// # Errors
///
/// The kernel has no io_uring, or refuses it (`kernel.io_uring_disabled`, a seccomp filter).
pub fn probe() -> io::Result<()> {
    IoUring::new(2).map(drop)
}

/// Starts one loop per socket, each set up on its own thread (a SINGLE_ISSUER ring belongs to
/// the thread that made it), calls `on_bound` once every loop is ready, and serves until a
/// loop fails.
fn run_all<L: 'static>(
    sockets: Vec<Socket>,
    setup: fn(Socket) -> io::Result<L>,
    run: fn(L) -> io::Result<()>,
    on_bound: impl FnOnce(),
) -> io::Result<()> {
    let (ready, readiness) = mpsc::channel();
    let workers: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            let ready = ready.clone();
            thread::spawn(move || {
                // io_uring waits for readiness itself; a nonblocking socket would only add
                // -EAGAIN completions to retry.
                let setup = socket.set_nonblocking(false).and_then(|()| setup(socket));
                match setup {
                    Ok(lp) => {
                        let _ = ready.send(Ok(()));
                        run(lp)
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        Ok(())
                    }
                }
            })
        })
        .collect();
    drop(ready);
    for _ in 0..workers.len() {
        readiness
            .recv()
            .map_err(|_| io::Error::other("an io_uring loop died while setting up"))??;
    }
    on_bound();
    for worker in workers {
        worker
            .join()
            .map_err(|_| io::Error::other("an io_uring loop panicked"))??;
    }
    Ok(())
}

/// A ring and the few requests the loops make of it.
struct Ring {
    ring: IoUring,
}

/// What a completion answers: the kind of request in the top byte of its user data, the
/// connection or buffer it concerns in the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Accept,
    Recv,
    Send,
    Cancel,
}

impl Op {
    fn tag(self, key: usize) -> u64 {
        let op = match self {
            Op::Accept => 0,
            Op::Recv => 1,
            Op::Send => 2,
            Op::Cancel => 3,
        };
        (op << 56) | (key as u64 & ((1 << 56) - 1))
    }

    fn of(user_data: u64) -> (Op, usize) {
        let op = match user_data >> 56 {
            0 => Op::Accept,
            1 => Op::Recv,
            2 => Op::Send,
            _ => Op::Cancel,
        };
        (op, (user_data & ((1 << 56) - 1)) as usize)
    }
}

/// One completion, copied out of the ring so that new requests can be queued while it is
/// handled.
#[derive(Debug, Clone, Copy)]
struct Completion {
    op: Op,
    key: usize,
    result: i32,
    flags: u32,
}

impl Completion {
    /// Whether the multishot request goes on (more completions will follow).
    fn more(&self) -> bool {
        io_uring::cqueue::more(self.flags)
    }

    /// The provided buffer the kernel filled, if it filled one.
    fn buffer(&self) -> Option<u16> {
        io_uring::cqueue::buffer_select(self.flags)
    }
}

impl Ring {
    /// A ring with SINGLE_ISSUER and DEFER_TASKRUN, or without them (said once on stderr)
    /// where the kernel refuses them.
    fn new() -> io::Result<Ring> {
        static FALLBACK: Once = Once::new();
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(SQ_ENTRIES)
            .or_else(|e| {
                FALLBACK.call_once(|| {
                    eprintln!(
                        "uring: the kernel refused SINGLE_ISSUER and DEFER_TASKRUN ({e}); \
                         the rings run without them"
                    );
                });
                IoUring::builder()
                    .setup_cqsize(CQ_ENTRIES)
                    .build(SQ_ENTRIES)
            })?;
        Ok(Ring { ring })
    }

    fn submitter(&self) -> io_uring::Submitter<'_> {
        self.ring.submitter()
    }

    /// Queues `entry`, first submitting what is queued if the submission queue is full.
    ///
    /// # Safety
    ///
    /// Whatever `entry` points to stays valid until its last completion.
    unsafe fn push(&mut self, entry: squeue::Entry) -> io::Result<()> {
        for _ in 0..2 {
            // SAFETY: the caller keeps what `entry` points to valid.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return Ok(());
            }
            self.ring.submit()?;
        }
        Err(io::Error::other("the submission queue stays full"))
    }

    /// Arms a multishot accept on `fd`.
    fn accept_multi(&mut self, fd: types::Fd) -> io::Result<()> {
        let entry = opcode::AcceptMulti::new(fd)
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Op::Accept.tag(0));
        // SAFETY: a multishot accept points to nothing of ours.
        unsafe { self.push(entry) }
    }

    /// Arms a multishot receive on connection `key` into buffers of group `group`.
    fn recv_multi(&mut self, fd: types::Fd, group: u16, key: usize) -> io::Result<()> {
        let entry = opcode::RecvMulti::new(fd, group)
            .build()
            .user_data(Op::Recv.tag(key));
        // SAFETY: the buffers are the buffer ring's, which is never freed.
        unsafe { self.push(entry) }
    }

    /// Cancels the multishot receive of connection `key`; it completes with -ECANCELED.
    fn cancel_recv(&mut self, key: usize) -> io::Result<()> {
        let entry = opcode::AsyncCancel::new(Op::Recv.tag(key))
            .build()
            .user_data(Op::Cancel.tag(key));
        // SAFETY: a cancel points to nothing of ours.
        unsafe { self.push(entry) }
    }

    /// Submits what is queued, waits for at least one completion, and copies every
    /// completion there is into `out` (cleared first).
    fn wait(&mut self, out: &mut Vec<Completion>) -> io::Result<()> {
        out.clear();
        match self.ring.submit_and_wait(1) {
            Ok(_) => {}
            // A signal, or completions that overflowed the queue: reap what is there.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
        out.extend(self.ring.completion().map(|cqe| {
            let (op, key) = Op::of(cqe.user_data());
            Completion {
                op,
                key,
                result: cqe.result(),
                flags: cqe.flags(),
            }
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_carries_the_op_and_the_key() {
        for op in [Op::Accept, Op::Recv, Op::Send, Op::Cancel] {
            for key in [0, 1, 4095, (1 << 56) - 1] {
                assert_eq!(Op::of(op.tag(key)), (op, key));
            }
        }
    }
}
