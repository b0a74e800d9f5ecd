//! The crate's own bounds of an exchange: the buffer a server receives into, and a client's
//! connect timeout, deadline and resends.

use super::*;

impl Options {
    option!(
        /// The size in bytes of the buffer a server receives into, and of a client's read
        /// chunks. A UDP datagram larger than this is reported as truncated, never echoed
        /// short. From 1 byte to [`MAX_BUFFER_SIZE`] (16 MiB); anything else is refused
        /// before a socket is made. The buffer is allocated when serving starts; memory that
        /// cannot be had is [`Error::Allocation`](crate::Error::Allocation), never an abort.
        /// Each datagram worker of `serve()` holds a batch of up to 16 such buffers (at most
        /// 1 MiB in all, or one buffer when a single one is larger).
        buffer_size, with_buffer_size: usize, BufferSize
    );

    option!(
        /// How long a stream client (TCP, Unix) waits for the connection to be established;
        /// `None` waits as long as the operating system does. A Unix client waits here for
        /// room in a server's full listen queue (`None`: until there is room). A connect
        /// that runs out of time is [`Error::Connect`](crate::Error::Connect) with an
        /// `io::ErrorKind::TimedOut` source. Zero, or anything under one microsecond, is
        /// refused. A server takes it and does not use it; the datagram transports refuse it.
        connect_timeout, with_connect_timeout: Option<Duration>, ConnectTimeout
    );

    option!(
        /// The longest one [`EchoClient::echo`](crate::EchoClient::echo) may take, every
        /// read, write and UDP attempt together (default [`DEFAULT_ECHO_DEADLINE`], 60 s);
        /// `None` leaves each call bounded only by its read and write timeouts and, for UDP,
        /// its retries.
        ///
        /// The read and write timeouts bound one system call each: a server that answers a
        /// byte just before every read timeout would hold a call for as long as it liked.
        /// The deadline bounds the whole call: each wait is cut to what is left of it, and
        /// when it runs out the call fails with [`Error::Deadline`](crate::Error::Deadline) (a single read or write
        /// that times out first is still [`Error::Timeout`](crate::Error::Timeout)). It is kept to within a
        /// millisecond. Zero, or anything under one microsecond, is refused. A server takes
        /// it and does not use it.
        echo_deadline, with_echo_deadline: Option<Duration>, EchoDeadline
    );

    option!(
        /// How many times a datagram client sends a message again after a read timeout
        /// before it gives up with [`Error::Timeout`](crate::Error::Timeout). A datagram
        /// server takes it and does not use it; the stream transports refuse it.
        resends, with_resends: u32, Resends
    );
}
