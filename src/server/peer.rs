//! The server as the peer a test asks for: faults on demand, and a record of what it
//! received.

use super::EchoServer;
use crate::error::Result;
use crate::faults::Faults;
use crate::record::{Record, Recording};
use crate::transport::Transport;

impl<T: Transport> EchoServer<T> {
    /// The server with `faults` to inject, in [`serve_once`](Self::serve_once),
    /// [`serve`](Self::serve) and [`spawn`](Self::spawn) alike: see [`Faults`] and the
    /// [faults guide](crate::faults_guide). A server without faults pays nothing for them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFault`](crate::Error::InvalidFault) for a fault that cannot apply to the transport (`drop` on
    /// TCP, `slice` on UDP) or has a value no fault can have.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use socket_echo::{EchoClient, EchoServer, Faults};
    ///
    /// let faults: Faults = "slice=10,pause=20ms".parse()?;
    /// let handle = EchoServer::bind("127.0.0.1:0")?.with_faults(faults)?.spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// let start = Instant::now();
    /// client.echo(&[1u8; 100])?; // ten slices, nine pauses
    /// assert!(start.elapsed() >= Duration::from_millis(180));
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn with_faults(self, faults: Faults) -> Result<Self> {
        self.set_faults(faults)?;
        Ok(self)
    }

    /// Replaces the faults of a server, running or not (for one running in the background,
    /// [`ServerHandle::set_faults`](crate::ServerHandle::set_faults) does the same). They apply to the bytes and datagrams
    /// received from then on; an empty [`Faults`] makes the server behave again.
    ///
    /// # Errors
    ///
    /// As [`with_faults`](Self::with_faults); the faults in force are then left as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Fault, Faults, Udp};
    ///
    /// let server = EchoServer::bind_on(Udp, "127.0.0.1:0")?;
    /// server.set_faults(Faults::new().with(Fault::duplicate(0.5)))?;
    /// assert_eq!(server.faults().to_string(), "duplicate=0.5");
    /// assert!(server.set_faults("slice=4".parse()?).is_err()); // not for datagrams
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        self.control.faults.know::<T>();
        self.control.faults.set_checked(faults)
    }

    /// The faults in force (empty if none).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert!(server.faults().is_empty());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.control.faults.faults()
    }

    /// The server keeping what it receives, as `recording` says, for a test to read back
    /// (see [`Record`]): for each connection its peer, the first bytes it sent and how it
    /// ended; for each datagram its source and first bytes. Memory stays within the
    /// recording's caps; what is past them is echoed as ever, counted, and not kept.
    ///
    /// Recording applies to [`serve`](Self::serve) and [`spawn`](Self::spawn), not to
    /// [`serve_once`](Self::serve_once) (whose [`Exchange`](crate::Exchange) says what it received). Faults
    /// change nothing in the record: it holds what was received, every byte a connection
    /// read (echoed late, in slices, or dropped by a fault that ended the echo) and each
    /// datagram as it came, whatever becomes of its reply. A server that does not record
    /// pays nothing for it: one
    /// branch where a connection is accepted, driven or closed, and one per batch of
    /// datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Recording};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?
    ///     .with_recording(Recording::new(1024))
    ///     .spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// client.echo(b"GET / HTTP/1.0\r\n")?;
    /// client.echo(b"\r\n")?;
    /// let record = handle.record();
    /// assert_eq!(record.connections.len(), 1);
    /// assert_eq!(record.connections[0].peer, client.local_addr()?);
    /// assert_eq!(record.connections[0].received, b"GET / HTTP/1.0\r\n\r\n");
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn with_recording(self, recording: Recording) -> Self {
        self.control.set_recording(recording);
        self
    }

    /// What the server has recorded so far (empty unless it was given a
    /// [`Recording`](Self::with_recording)).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?;
    /// assert_eq!(server.record(), socket_echo::Record::default());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn record(&self) -> Record {
        self.control.record()
    }
}
