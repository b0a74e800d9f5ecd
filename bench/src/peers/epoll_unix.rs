//! The epoll loop over Unix-domain sockets: the limit for the Unix rows.
//!
//! One edge-triggered mio loop per core, as over TCP and UDP, but Unix sockets have no
//! SO_REUSEPORT, so every loop polls the one socket:
//!
//! - stream: each loop polls its own descriptor of the one listener and accepts until "would
//!   block"; a connection stays with the loop that accepted it and is echoed by the same code
//!   as a TCP one (`stream_loop` of the TCP loop). A listener shared this way is the lesser
//!   code (no channel and no waker to deal connections out); the split of connections between
//!   loops is left to which loop wakes first;
//! - datagram: each loop polls its own descriptor of the one socket, then `recv_from` and
//!   `send_to` the source's name (a path or an abstract name). A sender with no name cannot
//!   be answered, and is not.
//!
//! No limits, no stats, nothing removed from the file system: the caller owns the path.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::epoll::{Listener, SCRATCH, loops, run_all, stream_loop};

impl Listener for mio::net::UnixListener {
    type Stream = mio::net::UnixStream;

    fn accept_one(&self) -> io::Result<mio::net::UnixStream> {
        self.accept().map(|(stream, _)| stream)
    }
}

/// Serves a Unix stream socket bound at `path`, with one loop per core.
///
/// # Errors
///
/// Binding failed (the path exists, or its directory does not), or a loop hit a fatal poll
/// error.
pub fn serve_stream(path: &Path, on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    let mut listeners = Vec::with_capacity(loops());
    for _ in 1..loops() {
        listeners.push(mio::net::UnixListener::from_std(listener.try_clone()?));
    }
    listeners.push(mio::net::UnixListener::from_std(listener));
    on_bound(path);
    run_all(listeners, stream_loop)
}

/// Serves a Unix datagram socket bound at `path`, with one loop per core.
///
/// # Errors
///
/// Binding failed (the path exists, or its directory does not), or a loop hit a fatal poll
/// error.
pub fn serve_datagram(path: &Path, on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    let socket = UnixDatagram::bind(path)?;
    socket.set_nonblocking(true)?;
    let mut sockets = Vec::with_capacity(loops());
    for _ in 1..loops() {
        sockets.push(socket.try_clone()?);
    }
    sockets.push(socket);
    on_bound(path);
    run_all(sockets, datagram_loop)
}

fn datagram_loop(socket: UnixDatagram) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry().register(
        &mut SourceFd(&socket.as_raw_fd()),
        Token(0),
        Interest::READABLE,
    )?;
    let mut events = Events::with_capacity(16);
    let mut scratch = vec![0u8; SCRATCH];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        loop {
            match socket.recv_from(&mut scratch) {
                // A reply that cannot be sent at once (the sender's queue is full) is dropped,
                // as over UDP.
                Ok((n, peer)) if !peer.is_unnamed() => {
                    let _ = socket.send_to_addr(&scratch[..n], &peer);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {}
            }
        }
    }
}
