//! One connection streaming both ways: the throughput workload.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Instant;

use super::lat::is_timeout;
use super::pattern::{PERIOD, first_difference, stream_pattern};
use super::{Limits, LoadError, Outcome, Result, STALL_TIMEOUT};

/// A connected stream that one thread can write while another reads it.
pub(super) trait Duplex: Read + Write + Send + Sized {
    /// Another handle on the same connection.
    fn try_clone(&self) -> io::Result<Self>;

    /// Shuts down one or both directions.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl Duplex for TcpStream {
    fn try_clone(&self) -> io::Result<Self> {
        TcpStream::try_clone(self)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }
}

impl Duplex for UnixStream {
    fn try_clone(&self) -> io::Result<Self> {
        UnixStream::try_clone(self)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        UnixStream::shutdown(self, how)
    }
}

/// One thread writes a patterned stream in `chunk`-byte writes until the deadline (or until
/// `max_count` bytes), then shuts its write side; this thread reads the echo until the
/// server closes, verifying every byte. `bytes` / `elapsed` is the echoed throughput.
///
/// # Errors
///
/// Connecting or a socket call failed, an echoed byte was wrong, the echo ended short, or
/// nothing came back for [`STALL_TIMEOUT`].
pub fn bulk(addr: SocketAddr, chunk: usize, limits: Limits) -> Result<Outcome> {
    let stream = TcpStream::connect_timeout(&addr, STALL_TIMEOUT)
        .map_err(LoadError::io(format!("connect to {addr}")))?;
    stream
        .set_read_timeout(Some(STALL_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(STALL_TIMEOUT)))
        .map_err(LoadError::io("set timeouts"))?;
    stream_bulk(stream, &addr.to_string(), chunk, limits)
}

/// The two-way stream of [`bulk`] on a connected `stream` to `peer`, which has read and write
/// timeouts.
pub(super) fn stream_bulk(
    mut stream: impl Duplex,
    peer: &str,
    chunk: usize,
    limits: Limits,
) -> Result<Outcome> {
    let mut writer = stream
        .try_clone()
        .map_err(LoadError::io("clone the connection"))?;
    let pattern = stream_pattern(chunk);
    let start = Instant::now();
    let deadline = start + limits.duration;
    thread::scope(|scope| {
        let pattern = &pattern;
        let sender = scope.spawn(move || -> Result<u64> {
            let mut sent = 0u64;
            while Instant::now() < deadline && sent < limits.max_count {
                let at = (sent % PERIOD as u64) as usize;
                writer
                    .write_all(&pattern[at..at + chunk])
                    .map_err(LoadError::io(format!("write to {peer}")))?;
                sent += chunk as u64;
            }
            writer
                .shutdown(Shutdown::Write)
                .map_err(LoadError::io("shut the write side"))?;
            Ok(sent)
        });
        let received = receive(&mut stream, peer, pattern, chunk);
        if received.is_err() {
            // Unblocks the writer, which would otherwise wait for a reader that is gone.
            let _ = stream.shutdown(Shutdown::Both);
        }
        let sent = sender
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let elapsed = start.elapsed();
        // The reader's failure is the cause; a write error after it is its consequence.
        let received = received?;
        let sent = sent?;
        if received != sent {
            return Err(LoadError::Closed {
                conn: 0,
                seq: 0,
                echoed: usize::try_from(received).unwrap_or(usize::MAX),
            });
        }
        let mut out = Outcome::new();
        out.messages = sent / chunk as u64;
        out.bytes = received;
        out.elapsed = elapsed;
        Ok(out)
    })
}

fn receive(stream: &mut impl Read, peer: &str, pattern: &[u8], chunk: usize) -> Result<u64> {
    let mut buf = vec![0u8; chunk];
    let mut received = 0u64;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => {
                check_chunk(pattern, received, &buf[..n])?;
                received += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(LoadError::Stalled(STALL_TIMEOUT)),
            Err(e) => return Err(LoadError::io(format!("read from {peer}"))(e)),
        }
    }
}

/// Checks `got`, the bytes of the bulk stream from offset `received`, against `pattern`.
pub(super) fn check_chunk(pattern: &[u8], received: u64, got: &[u8]) -> Result<()> {
    let at = (received % PERIOD as u64) as usize;
    match first_difference(&pattern[at..at + got.len()], got) {
        Some(offset) => Err(LoadError::Mismatch {
            conn: 0,
            seq: 0,
            offset: received + offset,
        }),
        None => Ok(()),
    }
}
