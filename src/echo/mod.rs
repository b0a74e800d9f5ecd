//! The blocking echo loops, written once per kind of transport: [`stream`] (serve one
//! connection; the client's windowed send-and-verify) and [`datagram`] (answer one datagram;
//! the client's retry loop), with the visitors that pick the loop of a transport's kind.

use std::io::{Read, Write};

use bytes::Bytes;

use crate::addr::Address;
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::options::Options;
use crate::transport::Transport;
use crate::transport::sealed::{ClientVisitor, Connection, Datagram, Listener, ServerVisitor};

pub(crate) mod datagram;
pub(crate) mod stream;
pub(crate) mod timeouts;

/// Serves one connection or one datagram on a server socket of any transport.
pub(crate) struct ServeOnce<'a, T: Transport> {
    pub(crate) local: &'a T::Addr,
    pub(crate) options: &'a Options,
    /// The server's faults, which the loops consult only once some were set.
    pub(crate) faults: &'a crate::faults::Switch,
}

impl<T: Transport> ServerVisitor<T> for ServeOnce<'_, T> {
    type Output = Result<Exchange<T::Addr>>;

    fn stream<L: Listener<Addr = T::Addr>>(self, listener: &L) -> Self::Output {
        let local: Address = self.local.clone().into();
        stream::serve_once(listener, local, self.options, self.faults)
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Self::Output {
        datagram::serve_once(socket, self.local, self.options, self.faults)
    }
}

/// Sends a message and returns its verified echo, on a client socket of any transport.
pub(crate) struct EchoMessage<'a, T: Transport> {
    pub(crate) peer: &'a T::Addr,
    pub(crate) message: &'a [u8],
    pub(crate) options: &'a Options,
    /// The bytes a stream client keeps in flight (see [`stream::window`]).
    pub(crate) window: usize,
}

impl<T: Transport> ClientVisitor<T> for EchoMessage<'_, T> {
    type Output = Result<Bytes>;

    fn stream<C: Connection>(self, connection: &C) -> Self::Output {
        stream::echo_on(
            connection,
            self.peer,
            self.message,
            self.options,
            self.window,
        )
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, socket: &D) -> Self::Output {
        datagram::echo(socket, self.peer, self.message, self.options)
    }
}

/// Streams an input to the server and its verified echo to an output, on a stream client
/// socket; refused on a datagram one.
pub(crate) struct EchoFrom<'a, T: Transport> {
    pub(crate) peer: &'a T::Addr,
    pub(crate) input: &'a mut dyn Read,
    pub(crate) output: &'a mut dyn Write,
    pub(crate) options: &'a Options,
    pub(crate) window: usize,
}

impl<T: Transport> ClientVisitor<T> for EchoFrom<'_, T> {
    type Output = Result<u64>;

    fn stream<C: Connection>(self, connection: &C) -> Self::Output {
        stream::relay::echo_from(
            connection,
            self.peer,
            self.input,
            self.output,
            self.options,
            self.window,
        )
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, _: &D) -> Self::Output {
        Err(Error::InvalidOption {
            option: "transport",
            reason: "a streamed echo needs a stream transport (tcp or unix): a datagram carries one message".into(),
        })
    }
}

/// The window of a client socket: [`stream::window`] for a stream, unused for datagrams.
pub(crate) struct WindowSize;

impl<T: Transport> ClientVisitor<T> for WindowSize {
    type Output = usize;

    fn stream<C: Connection>(self, connection: &C) -> usize {
        stream::window(connection)
    }

    fn datagram<D: Datagram<Addr = T::Addr>>(self, _: &D) -> usize {
        0
    }
}
