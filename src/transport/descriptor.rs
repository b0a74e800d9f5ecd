//! The public `AsFd` of [`EchoServer`] and [`EchoClient`]: their sockets' descriptors, for a
//! user reading options with socket2 or `getsockopt`. Written here, through the transport,
//! so that no module above `src/transport/` reaches a descriptor.

use std::os::fd::{AsFd, BorrowedFd};

use super::Transport;
use crate::client::EchoClient;
use crate::server::EchoServer;

impl<T: Transport> AsFd for EchoServer<T> {
    /// The server socket, for reading its options with socket2 or `getsockopt`.
    fn as_fd(&self) -> BorrowedFd<'_> {
        T::server_fd(self.socket())
    }
}

impl<T: Transport> AsFd for EchoClient<T> {
    /// The client socket, for reading its options with socket2 or `getsockopt`.
    fn as_fd(&self) -> BorrowedFd<'_> {
        T::client_fd(self.socket())
    }
}
