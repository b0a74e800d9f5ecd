//! The client's streamed echo: everything an input yields goes to the server, and the echo,
//! compared byte for byte with what was sent, goes to an output as it comes back.
//!
//! Only the bytes in flight are ever held (at most a window: what was read from the input
//! and not yet echoed), so an input of any size goes through in memory of the window's
//! size. Once the input ends, the write side is shut and the server's end-of-stream is
//! awaited, so that a byte beyond the echo (a server that answers twice) is seen.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::time::Instant;

use super::{
    CallOutcome, Io, first_difference, is_closed, read_once, refuse_surplus, short, timeout,
    write_once,
};
use crate::addr::Address;
use crate::buffer;
use crate::echo::timeouts::{Limits, WaitLimit};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::transport::sealed::Connection;

/// The largest read of the input or of the echo.
const CHUNK: usize = 64 * 1024;

/// Streams `input` to `peer` over `conn` and writes the verified echo to `output`; returns
/// how many bytes were echoed. Refuses to start while bytes of an earlier exchange are
/// waiting ([`Error::Surplus`]). The socket's timeouts are put back as they were.
pub(crate) fn echo_from<C: Connection, A: Clone + Into<Address>>(
    conn: &C,
    peer: &A,
    input: &mut dyn Read,
    output: &mut dyn Write,
    options: &Options,
    window: usize,
) -> Result<u64> {
    refuse_surplus(conn, peer)?;
    let mut limits = Limits::new(options.read_timeout(), options.write_timeout());
    limits.set_deadline(
        options
            .echo_deadline()
            .and_then(|limit| Instant::now().checked_add(limit)),
    );
    let mut relay = Relay {
        conn,
        peer,
        options,
        held: VecDeque::from(buffer::reserved("the bytes in flight", window.max(1))?),
        window: window.max(1),
        sent: 0,
        total_sent: 0,
        echoed: 0,
        reset: None,
        peer_gone: false,
    };
    let result = relay.run(input, output, &mut limits);
    let restored = limits.restore(&Io(conn));
    let echoed = result?;
    restored?;
    Ok(echoed)
}

/// One streamed echo under way.
struct Relay<'a, C, A> {
    conn: &'a C,
    peer: &'a A,
    options: &'a Options,
    /// Bytes read from the input and not yet echoed: the first `sent` of them are written.
    held: VecDeque<u8>,
    window: usize,
    sent: usize,
    total_sent: u64,
    echoed: u64,
    /// A reset seen by a write: the reads that follow see only an end-of-stream.
    reset: Option<std::io::Error>,
    peer_gone: bool,
}

impl<C: Connection, A: Clone + Into<Address>> Relay<'_, C, A> {
    fn run(
        &mut self,
        input: &mut dyn Read,
        output: &mut dyn Write,
        limits: &mut Limits,
    ) -> Result<u64> {
        let mut chunk = buffer::zeroed("the read buffer", CHUNK.min(self.window))?;
        let mut input_done = false;
        loop {
            // One read of the input per turn, so that input that comes slowly (a terminal)
            // goes out as it comes.
            if !input_done && self.held.len() < self.window {
                let room = (self.window - self.held.len()).min(chunk.len());
                match input.read(&mut chunk[..room]) {
                    Ok(0) => input_done = true,
                    Ok(n) => self.held.extend(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(Error::Pipe {
                            action: "read the input",
                            source,
                        });
                    }
                }
            }
            self.send(limits)?;
            if input_done && self.held.is_empty() {
                break;
            }
            if self.sent == 0 {
                if self.peer_gone {
                    return Err(self.cut_short());
                }
                continue;
            }
            self.receive(&mut chunk, output, limits)?;
        }
        self.shut()?;
        output.flush().map_err(|source| Error::Pipe {
            action: "write the echo",
            source,
        })?;
        self.end_of_stream(&mut chunk, limits)
    }

    /// Writes every byte held and not yet sent. The window keeps the echo of everything in
    /// flight within the client's receive buffer, so the server never blocks writing it
    /// and always goes on reading: these writes cannot wait on the reads.
    fn send(&mut self, limits: &mut Limits) -> Result<()> {
        while !self.peer_gone && self.sent < self.held.len() {
            let (front, back) = self.held.as_slices();
            let unsent = if self.sent < front.len() {
                &front[self.sent..]
            } else {
                &back[self.sent - front.len()..]
            };
            let call = self.options.write_timeout();
            match write_once(&mut Io(self.conn), unsent, limits, call)? {
                CallOutcome::Moved(0) => self.peer_gone = true,
                CallOutcome::Moved(n) => {
                    self.sent += n;
                    self.total_sent += n as u64;
                }
                CallOutcome::Expired(limit) => return Err(self.expired(limit, call)),
                CallOutcome::Failed(e) if is_closed(&e) => {
                    self.peer_gone = true;
                    if e.kind() == ErrorKind::ConnectionReset {
                        self.reset = Some(e);
                    }
                }
                CallOutcome::Failed(source) => {
                    return Err(Error::Send {
                        addr: self.peer.clone().into(),
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads what has come of the echo, compares it with the bytes sent, and writes it out.
    fn receive(
        &mut self,
        chunk: &mut [u8],
        output: &mut dyn Write,
        limits: &mut Limits,
    ) -> Result<()> {
        let call = self.options.read_timeout();
        let n = match read_once(&mut Io(self.conn), chunk, limits, call)? {
            CallOutcome::Moved(0) => return Err(self.cut_short()),
            CallOutcome::Moved(n) => n,
            CallOutcome::Expired(limit) => return Err(self.expired(limit, call)),
            CallOutcome::Failed(e) if is_closed(&e) => {
                self.reset = Some(e);
                return Err(self.cut_short());
            }
            CallOutcome::Failed(source) => {
                return Err(Error::Receive {
                    addr: self.peer.clone().into(),
                    source,
                });
            }
        };
        // An echo never runs ahead of what was sent.
        let echo = n.min(self.sent);
        let (front, back) = self.held.as_slices();
        let split = echo.min(front.len());
        let difference = first_difference(&chunk[..split], &front[..split]).or_else(|| {
            first_difference(&chunk[split..echo], &back[..echo - split]).map(|at| at + split)
        });
        if let Some(at) = difference {
            return Err(Error::Mismatch {
                addr: self.peer.clone().into(),
                offset: usize::try_from(self.echoed).unwrap_or(usize::MAX) + at,
                sent: usize::try_from(self.total_sent).unwrap_or(usize::MAX),
            });
        }
        output
            .write_all(&chunk[..echo])
            .map_err(|source| Error::Pipe {
                action: "write the echo",
                source,
            })?;
        self.held.drain(..echo);
        self.sent -= echo;
        self.echoed += echo as u64;
        if n > echo {
            return Err(self.excess(n - echo));
        }
        Ok(())
    }

    /// Shuts the write side once everything is sent: the server then finishes its echo and
    /// closes. A peer already gone leaves nothing to shut.
    fn shut(&self) -> Result<()> {
        match self.conn.shutdown_write() {
            Err(e) if e.kind() != ErrorKind::NotConnected => Err(Error::Send {
                addr: self.peer.clone().into(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// After the whole echo: anything but the server's end-of-stream is more than the echo.
    /// A server that keeps the connection open is waited for one read timeout (or what is
    /// left of the deadline); the echo was whole, so that is not an error.
    fn end_of_stream(&mut self, chunk: &mut [u8], limits: &mut Limits) -> Result<u64> {
        let call = self.options.read_timeout();
        match read_once(&mut Io(self.conn), chunk, limits, call)? {
            CallOutcome::Moved(0) | CallOutcome::Expired(_) => Ok(self.echoed),
            CallOutcome::Moved(n) => Err(self.excess(n)),
            // A reset after the whole echo took nothing from it.
            CallOutcome::Failed(e) if is_closed(&e) => Ok(self.echoed),
            CallOutcome::Failed(source) => Err(Error::Receive {
                addr: self.peer.clone().into(),
                source,
            }),
        }
    }

    fn excess(&self, beyond: usize) -> Error {
        Error::Excess {
            addr: self.peer.clone().into(),
            sent: self.total_sent,
            received: self.echoed + beyond as u64,
        }
    }

    /// The echo ended (or the connection broke) before everything sent came back.
    fn cut_short(&mut self) -> Error {
        short(
            self.peer,
            usize::try_from(self.total_sent).unwrap_or(usize::MAX),
            usize::try_from(self.echoed).unwrap_or(usize::MAX),
            self.reset.take(),
        )
    }

    fn expired(&self, limit: WaitLimit, call: Option<std::time::Duration>) -> Error {
        match limit {
            WaitLimit::Deadline => Error::Deadline {
                addr: self.peer.clone().into(),
                deadline: self.options.echo_deadline().unwrap_or_default(),
                sent: usize::try_from(self.total_sent).unwrap_or(usize::MAX),
                received: usize::try_from(self.echoed).unwrap_or(usize::MAX),
            },
            WaitLimit::Call | WaitLimit::Slice => timeout(self.peer, call),
        }
    }
}
