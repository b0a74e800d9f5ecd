//! Many TCP connections in a closed loop, driven by a few threads of nonblocking sockets
//! (one mio poll each), not a thread per connection.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};
use socket2::SockRef;

use super::pattern::{fill, first_difference};
use super::{Limits, LoadError, Outcome, Result, STALL_TIMEOUT, spread};

/// One connection of a closed loop: any nonblocking mio stream.
pub(super) struct Conn<S> {
    id: usize,
    stream: S,
    msg: Vec<u8>,
    back: Vec<u8>,
    written: usize,
    read: usize,
    seq: u64,
    sent_at: Instant,
}

/// `conns` connections, each echoing `size`-byte messages one at a time, spread over
/// `threads` client threads. The clock starts when every connection is open; connections are
/// closed with a reset so that a series of runs leaves no TIME_WAIT behind.
///
/// # Errors
///
/// Connecting or a socket call failed, the server closed a connection, an echo was wrong,
/// or no echo came back for [`STALL_TIMEOUT`].
pub fn tcp_many(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    threads: usize,
    limits: Limits,
) -> Result<Outcome> {
    spread(conns, threads, limits, |ids| open(addr, ids, size), drive)
}

fn open(addr: SocketAddr, ids: &[usize], size: usize) -> Result<Vec<Conn<mio::net::TcpStream>>> {
    ids.iter()
        .map(|&id| {
            let stream = TcpStream::connect_timeout(&addr, STALL_TIMEOUT)
                .map_err(LoadError::io(format!("connect connection {id} to {addr}")))?;
            stream
                .set_nodelay(true)
                .and_then(|()| SockRef::from(&stream).set_linger(Some(Duration::ZERO)))
                .and_then(|()| stream.set_nonblocking(true))
                .map_err(LoadError::io(format!("set options of connection {id}")))?;
            Ok(Conn::new(id, mio::net::TcpStream::from_std(stream), size))
        })
        .collect()
}

/// Runs `conns` in a closed loop under `limits`, on this thread.
pub(super) fn drive<S: Read + Write + Source>(
    mut conns: Vec<Conn<S>>,
    limits: Limits,
) -> Result<Outcome> {
    let mut poll = Poll::new().map_err(LoadError::io("create a poll"))?;
    for (token, conn) in conns.iter_mut().enumerate() {
        poll.registry()
            .register(
                &mut conn.stream,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(LoadError::io("register a connection"))?;
    }
    let mut out = Outcome::new();
    let start = Instant::now();
    let deadline = start + limits.duration;
    let mut stop = false;
    for conn in &mut conns {
        conn.begin();
        stop = conn.progress(&mut out, limits.max_count, deadline)?;
        if stop {
            break;
        }
    }
    let mut events = Events::with_capacity(1024);
    let mut last_echo = Instant::now();
    while !stop {
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LoadError::io("poll")(e)),
        }
        let before = out.messages;
        for event in &events {
            let conn = &mut conns[event.token().0];
            if conn.progress(&mut out, limits.max_count, deadline)? {
                stop = true;
                break;
            }
        }
        let now = Instant::now();
        if out.messages > before {
            last_echo = now;
        } else if now.duration_since(last_echo) > STALL_TIMEOUT {
            return Err(LoadError::Stalled(STALL_TIMEOUT));
        }
        stop |= now >= deadline;
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

impl<S: Read + Write> Conn<S> {
    /// Connection `id` of a run of `size`-byte messages, over a nonblocking `stream`.
    pub(super) fn new(id: usize, stream: S, size: usize) -> Self {
        Conn {
            id,
            stream,
            msg: vec![0; size],
            back: vec![0; size],
            written: 0,
            read: 0,
            seq: 0,
            sent_at: Instant::now(),
        }
    }

    fn begin(&mut self) {
        fill(&mut self.msg, self.id, self.seq);
        self.written = 0;
        self.read = 0;
        self.sent_at = Instant::now();
    }

    /// Writes and reads until the socket would block, verifying and restarting each
    /// completed message. Returns true when the run should stop.
    fn progress(&mut self, out: &mut Outcome, max: u64, deadline: Instant) -> Result<bool> {
        loop {
            while self.written < self.msg.len() {
                match self.stream.write(&self.msg[self.written..]) {
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(LoadError::io(format!("write on connection {}", self.id))(e));
                    }
                }
            }
            // Read even while part of the message is unwritten: the server may be echoing
            // the first part and waiting for us to take it.
            match self.stream.read(&mut self.back[self.read..]) {
                Ok(0) => {
                    return Err(LoadError::Closed {
                        conn: self.id,
                        seq: self.seq,
                        echoed: self.read,
                    });
                }
                Ok(n) => self.read += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LoadError::io(format!("read on connection {}", self.id))(e)),
            }
            if self.read < self.msg.len() {
                continue;
            }
            let rtt = self.sent_at.elapsed();
            if let Some(offset) = first_difference(&self.msg, &self.back) {
                return Err(LoadError::Mismatch {
                    conn: self.id,
                    seq: self.seq,
                    offset,
                });
            }
            out.record(rtt, self.msg.len());
            if out.messages >= max || Instant::now() >= deadline {
                return Ok(true);
            }
            self.seq += 1;
            self.begin();
        }
    }
}
