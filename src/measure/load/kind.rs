//! [`LoadErrorKind`]: why a message of a load or bulk run failed.

use std::io;

/// Why a message of a [`Load`](crate::Load) or [`Bulk`](crate::Bulk) run failed, as counted
/// by [`LoadReport::errors_of`](crate::LoadReport::errors_of).
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoServer, Load, LoadErrorKind, Tcp};
///
/// let server = EchoServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.serve_once());
///
/// let report = Load::new().with_connections(1).with_messages(10).run(Tcp, addr)?;
/// for kind in LoadErrorKind::ALL {
///     assert_eq!(report.errors_of(kind), 0, "{}", kind.name());
/// }
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// Nothing listens there: a refused connection, or for datagrams an ICMP port
    /// unreachable.
    Refused,
    /// The peer reset the connection, or a write found it gone (a broken pipe).
    Reset,
    /// A TCP connection gave no echo within the timeout and was stopped (a UDP message with
    /// no echo in time is [`lost`](crate::LoadReport::lost), not an error).
    Timeout,
    /// The echo differs from what was sent, or a datagram came back longer.
    Mismatch,
    /// The echo ended early: the connection closed before all of it came back, or a
    /// datagram came back shorter.
    Short,
    /// Any other failure of the system (a poll, a send the system refused).
    Other,
}

/// How many kinds there are: the length of the per-kind counters.
pub(crate) const KINDS: usize = LoadErrorKind::ALL.len();

impl LoadErrorKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [LoadErrorKind; 6] = [
        LoadErrorKind::Refused,
        LoadErrorKind::Reset,
        LoadErrorKind::Timeout,
        LoadErrorKind::Mismatch,
        LoadErrorKind::Short,
        LoadErrorKind::Other,
    ];

    /// A short lowercase name: `"refused"`, `"reset"`, `"timeout"`, `"mismatch"`, `"short"`,
    /// `"other"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(socket_echo::LoadErrorKind::Short.name(), "short");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            LoadErrorKind::Refused => "refused",
            LoadErrorKind::Reset => "reset",
            LoadErrorKind::Timeout => "timeout",
            LoadErrorKind::Mismatch => "mismatch",
            LoadErrorKind::Short => "short",
            LoadErrorKind::Other => "other",
        }
    }

    /// The position of the kind in [`ALL`](Self::ALL), and of its counter.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The kind of a failed system call on a connection.
    pub(crate) fn of_io(error: &io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => LoadErrorKind::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => LoadErrorKind::Reset,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => LoadErrorKind::Timeout,
            io::ErrorKind::UnexpectedEof => LoadErrorKind::Short,
            _ => LoadErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_sits_at_its_index() {
        for (i, kind) in LoadErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }

    #[test]
    fn system_errors_are_sorted_by_what_they_mean() {
        for (kind, expected) in [
            (io::ErrorKind::ConnectionRefused, LoadErrorKind::Refused),
            (io::ErrorKind::ConnectionReset, LoadErrorKind::Reset),
            (io::ErrorKind::BrokenPipe, LoadErrorKind::Reset),
            (io::ErrorKind::WouldBlock, LoadErrorKind::Timeout),
            (io::ErrorKind::UnexpectedEof, LoadErrorKind::Short),
            (io::ErrorKind::OutOfMemory, LoadErrorKind::Other),
        ] {
            assert_eq!(LoadErrorKind::of_io(&io::Error::from(kind)), expected);
        }
    }
}
