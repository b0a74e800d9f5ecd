//! The accepting worker's listener: the server's own, or, once the server went down and up
//! again, one bound anew to the same address.

use mio::{Interest, Poll};

use crate::engine::SOCKET;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::transport::sealed::Listener;

/// The listener worker 0 accepts from, if the server is up.
#[derive(Debug)]
pub(crate) enum Listening<'a, L: Listener> {
    /// The server's own, lent by `serve(&self)`: it stays open while the server runs.
    Borrowed(&'a L),
    /// The server's own, or one bound again, kept by the worker (`spawn`): going down
    /// closes it.
    Owned(L),
    /// None: the server is down. What was kept of its listener binds the next.
    Closed(L::Kept),
}

impl<L: Listener> Listening<'_, L> {
    /// The listener to accept from, if the server is up.
    pub(super) fn get(&self) -> Option<&L> {
        match self {
            Listening::Borrowed(listener) => Some(listener),
            Listening::Owned(listener) => Some(listener),
            Listening::Closed(_) => None,
        }
    }

    /// Starts accepting from the listener: registers it with `poll`.
    pub(super) fn register(&self, poll: &Poll) -> std::io::Result<()> {
        match self.get() {
            Some(listener) => listener.register(poll.registry(), SOCKET, Interest::READABLE),
            None => Ok(()),
        }
    }

    /// Stops accepting: deregisters the listener, and closes it if the worker keeps it (the
    /// system then refuses every connect, and resets those it had queued). A lent listener
    /// is only no longer accepted from.
    pub(super) fn close(&mut self, poll: &Poll) {
        if let Some(listener) = self.get() {
            // A listener that was never registered has nothing to undo.
            let _ = listener.deregister(poll.registry());
            *self = Listening::Closed(listener.keep());
        }
    }

    /// Binds `addr` again, as the server's listener was, and accepts from it. A listener
    /// already open is kept.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] if the address was taken meanwhile (or cannot be bound again), or
    /// [`Error::Serve`] if the listener cannot be polled; the server then stays down.
    pub(super) fn open(&mut self, poll: &Poll, addr: &L::Addr, options: &Options) -> Result<()>
    where
        L::Addr: Into<crate::addr::Address>,
    {
        let Listening::Closed(kept) = self else {
            return Ok(());
        };
        let listener = L::bind_again(kept, addr, options)?;
        let serve_error = |source| Error::Serve {
            addr: addr.clone().into(),
            source,
        };
        listener.set_nonblocking(true).map_err(serve_error)?;
        let opened = Listening::Owned(listener);
        opened.register(poll).map_err(serve_error)?;
        *self = opened;
        Ok(())
    }
}
