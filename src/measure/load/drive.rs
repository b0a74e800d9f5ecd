//! One load thread: its share of the client sockets registered with a poll of its own, and
//! driven by the loop of the transport's kind.

use mio::{Interest, Poll, Token};

use super::datagram::run_datagrams;
use super::poll::register;
use super::stream::run_streams;
use super::tally::{LoadCounters, Shared, Tally};
use crate::echo::stream::Io;
use crate::error::{Error, Result};
use crate::measure;
use crate::transport::Transport;
use crate::transport::sealed::{ClientsVisitor, Connection, Datagram};

/// Runs one thread's share of the connections until each has finished.
pub(super) struct LoadThread<'s, 'a, T: Transport> {
    pub(super) peer: &'s T::Addr,
    pub(super) shared: &'s Shared<'a>,
    pub(super) counters: &'s LoadCounters,
    /// This thread's number, and how many threads share the connections.
    pub(super) thread: usize,
    pub(super) threads: usize,
}

impl<'c, T: Transport> ClientsVisitor<'c, T> for LoadThread<'_, '_, T> {
    type Output = Result<()>;

    fn stream<C: Connection>(self, connections: Vec<&'c C>) -> Result<()> {
        let poll = Poll::new().map_err(|source| Error::Poll { source })?;
        let readable = Interest::READABLE | Interest::WRITABLE;
        for (token, connection) in connections.iter().enumerate() {
            register(*connection, &poll, Token(token), readable)?;
        }
        let mut tally = Tally::new(self.shared, self.counters, self.thread, self.threads);
        run_streams(poll, connections.into_iter().map(Io).collect(), &mut tally)
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, sockets: Vec<&'c D>) -> Result<()> {
        if let Some(socket) = sockets.first() {
            measure::check_datagram(*socket, self.peer, self.shared.size)?;
        }
        let poll = Poll::new().map_err(|source| Error::Poll { source })?;
        for (token, socket) in sockets.iter().enumerate() {
            register(*socket, &poll, Token(token), Interest::READABLE)?;
        }
        let mut tally = Tally::new(self.shared, self.counters, self.thread, self.threads);
        run_datagrams(poll, sockets, &mut tally)
    }
}
