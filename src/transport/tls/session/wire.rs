//! The wrapped connection as rustls reads and writes it.

use std::io::{self, Read, Write};

/// The wrapped connection as `io::Read`/`io::Write`, for rustls.
pub(super) struct Wire<'a, C>(pub(super) &'a C);

impl<C: crate::transport::sealed::Connection> Read for Wire<'_, C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// What one read of the socket brought ([`Session::read_records`](super::Session::read_records)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Came {
    /// The wrapped connection's end-of-stream.
    End,
    /// As many bytes as rustls offered room for: more may be waiting on the socket.
    Full,
    /// Fewer: the socket held nothing more. Whatever comes after the read raises a new
    /// edge of readiness, so a non-blocking reader need not read again to see "would block".
    Short,
}

/// The wrapped connection as `io::Read` for one read of records, telling whether the read
/// filled the room rustls offered.
pub(super) struct Measured<'a, C> {
    pub(super) wire: Wire<'a, C>,
    pub(super) short: bool,
}

impl<C: crate::transport::sealed::Connection> Read for Measured<'_, C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.wire.read(buf)?;
        self.short = n < buf.len();
        Ok(n)
    }
}

impl<C: crate::transport::sealed::Connection> Write for Wire<'_, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    /// The records rustls holds, in one system call (it hands over up to 64 at once).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
