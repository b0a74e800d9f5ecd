//! Many UDP sockets in a closed loop, driven by a few threads (one mio poll each).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Registry, Token};

use super::lat::UDP_LOSS_TIMEOUT;
use super::pattern::{datagram_seq, fill, first_difference};
use super::{Datagram, Limits, LoadError, Outcome, Result, STALL_TIMEOUT, local_for, spread};

/// One socket of a closed loop: any connected, nonblocking mio datagram socket.
pub(super) struct Sock<D> {
    id: usize,
    socket: D,
    msg: Vec<u8>,
    seq: u64,
    /// When the current message was first tried: its round trip counts from here.
    sent_at: Instant,
    /// When it left: the loss timeout counts from here.
    left_at: Instant,
    /// The current message waits for room to be sent (the socket is polled for writing).
    blocked: bool,
}

/// `sockets` connected UDP sockets, each echoing `size`-byte datagrams (at least 12 bytes)
/// one at a time, spread over `threads` client threads. A datagram not echoed within
/// [`UDP_LOSS_TIMEOUT`] after it left is counted lost and the socket sends its next one; one
/// that cannot be sent yet waits for room, its round trip counted from the first attempt.
///
/// # Errors
///
/// A socket call failed, an echo was wrong, or nothing came back for [`STALL_TIMEOUT`].
pub fn udp_many(
    addr: SocketAddr,
    sockets: usize,
    size: usize,
    threads: usize,
    limits: Limits,
) -> Result<Outcome> {
    spread(sockets, threads, limits, |ids| open(addr, ids, size), drive)
}

fn open(addr: SocketAddr, ids: &[usize], size: usize) -> Result<Vec<Sock<UdpSocket>>> {
    ids.iter()
        .map(|&id| {
            let socket = UdpSocket::bind(local_for(addr))
                .map_err(LoadError::io(format!("bind UDP socket {id}")))?;
            socket
                .connect(addr)
                .map_err(LoadError::io(format!("connect UDP socket {id} to {addr}")))?;
            Ok(Sock::new(id, socket, size))
        })
        .collect()
}

/// Runs `socks` in a closed loop under `limits`, on this thread.
pub(super) fn drive<D: Datagram + Source>(
    mut socks: Vec<Sock<D>>,
    limits: Limits,
) -> Result<Outcome> {
    let mut poll = Poll::new().map_err(LoadError::io("create a poll"))?;
    for (token, sock) in socks.iter_mut().enumerate() {
        poll.registry()
            .register(&mut sock.socket, Token(token), Interest::READABLE)
            .map_err(LoadError::io("register a datagram socket"))?;
    }
    let mut out = Outcome::new();
    let start = Instant::now();
    let deadline = start + limits.duration;
    for (token, sock) in socks.iter_mut().enumerate() {
        sock.send(poll.registry(), Token(token))?;
    }
    let mut events = Events::with_capacity(1024);
    let mut back = vec![0u8; 64 * 1024];
    let mut scratch = Vec::new();
    let mut last_echo = Instant::now();
    let mut stop = false;
    while !stop {
        match poll.poll(&mut events, Some(Duration::from_millis(10))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LoadError::io("poll")(e)),
        }
        for event in &events {
            let sock = &mut socks[event.token().0];
            if sock.blocked {
                sock.push(poll.registry(), event.token())?;
            }
            loop {
                let n = match sock.socket.recv(&mut back) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(LoadError::io(format!("receive on socket {}", sock.id))(e));
                    }
                };
                match datagram_seq(&back[..n], sock.msg.len(), sock.id, &mut scratch) {
                    Some(s) if s == sock.seq => {
                        out.record(sock.sent_at.elapsed(), n);
                        last_echo = Instant::now();
                        if out.messages >= limits.max_count || last_echo >= deadline {
                            stop = true;
                            break;
                        }
                        sock.seq += 1;
                        sock.send(poll.registry(), event.token())?;
                    }
                    // A late echo of a datagram already counted lost.
                    Some(s) if s < sock.seq => {}
                    _ => {
                        let offset = first_difference(&sock.msg, &back[..n]).unwrap_or(0);
                        return Err(LoadError::Mismatch {
                            conn: sock.id,
                            seq: sock.seq,
                            offset,
                        });
                    }
                }
            }
            if stop {
                break;
            }
        }
        let now = Instant::now();
        for (token, sock) in socks.iter_mut().enumerate() {
            if !sock.blocked && now.duration_since(sock.left_at) > UDP_LOSS_TIMEOUT {
                out.lost += 1;
                sock.seq += 1;
                sock.send(poll.registry(), Token(token))?;
            }
        }
        if now.duration_since(last_echo) > STALL_TIMEOUT {
            return Err(LoadError::Stalled(STALL_TIMEOUT));
        }
        stop |= now >= deadline;
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

impl<D: Datagram> Sock<D> {
    /// Socket `id` of a run of `size`-byte datagrams (at least 12), over a connected
    /// nonblocking `socket`.
    pub(super) fn new(id: usize, socket: D, size: usize) -> Self {
        Sock {
            id,
            socket,
            msg: vec![0; size.max(12)],
            seq: 0,
            sent_at: Instant::now(),
            left_at: Instant::now(),
            blocked: false,
        }
    }
}

impl<D: Datagram + Source> Sock<D> {
    /// Starts message `seq` now: see [`Sock::push`].
    fn send(&mut self, registry: &Registry, token: Token) -> Result<()> {
        fill(&mut self.msg, self.id, self.seq);
        self.sent_at = Instant::now();
        self.push(registry, token)
    }

    /// Tries to send the current message. A send that would block (a full socket buffer, or
    /// for a Unix datagram socket a full queue at the server, whose length is
    /// net.unix.max_dgram_qlen) is flow control, not loss: the socket is polled for writing
    /// and the message sent again when there is room. Any other failure is left to the loss
    /// timeout, as a datagram dropped on the way would be.
    fn push(&mut self, registry: &Registry, token: Token) -> Result<()> {
        let blocked = matches!(
            self.socket.send(&self.msg),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        if !blocked {
            self.left_at = Instant::now();
        }
        if blocked != self.blocked {
            self.blocked = blocked;
            let interest = if blocked {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry
                .reregister(&mut self.socket, token, interest)
                .map_err(LoadError::io(format!("poll socket {}", self.id)))?;
        }
        Ok(())
    }
}
