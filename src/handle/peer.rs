//! What a test changes or reads of a running server: its faults, its availability (down
//! and up), and its record of what it received.

use super::ServerHandle;
use crate::error::{Error, Result};
use crate::faults::{Down, Faults};
use crate::record::Record;
use crate::transport::Transport;

impl<T: Transport> ServerHandle<T> {
    /// What the server has recorded so far, if it records (see
    /// [`EchoServer::with_recording`](crate::EchoServer::with_recording)); empty otherwise.
    /// Bytes are recorded as they are read, before they are echoed, so a client that has
    /// its echo back finds them here.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Recording, Udp};
    ///
    /// let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")?
    ///     .with_recording(Recording::new(64))
    ///     .spawn()?;
    /// let mut client = EchoClient::connect_on(Udp, handle.local_addr())?;
    /// client.echo(b"one")?;
    /// client.echo(b"two")?;
    /// let record = handle.record();
    /// let payloads: Vec<&[u8]> = record.datagrams.iter().map(|d| &d.payload[..]).collect();
    /// assert_eq!(payloads, [&b"one"[..], b"two"]);
    /// assert_eq!(record.datagrams[0].source, client.local_addr()?);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn record(&self) -> Record {
        self.control.record()
    }

    /// Replaces the faults the server injects while it runs (see [`Faults`]). They apply to
    /// the bytes and datagrams received from then on, in connections already open too (a
    /// `connections=N` condition counts the connections accepted from then on); bytes
    /// already held back keep their release time. An empty [`Faults`] makes the server
    /// behave again.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFault`] for a fault that cannot apply to the server's transport or has
    /// a value no fault can have; the faults in force are then left as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoClient, EchoServer, Error, Faults};
    ///
    /// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let mut client = EchoClient::connect(handle.local_addr())?;
    /// client.echo(b"fine")?;
    /// handle.set_faults("reset-after=2".parse()?)?;
    /// assert!(matches!(client.echo(b"broken"), Err(Error::Reset { received: 2, .. })));
    /// handle.set_faults(Faults::new())?;
    /// let mut again = EchoClient::connect(handle.local_addr())?;
    /// assert_eq!(&again.echo(b"fine again")?[..], b"fine again");
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        self.control.faults.set_checked(faults)
    }

    /// The faults in force (empty if none).
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{EchoServer, Faults};
    ///
    /// let faults: Faults = "delay=5ms".parse()?;
    /// let handle = EchoServer::bind("127.0.0.1:0")?.with_faults(faults.clone())?.spawn()?;
    /// assert_eq!(handle.faults(), faults);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.control.faults.faults()
    }

    /// Takes the server down on its address, as a server that crashed or stopped listening,
    /// until [`up`](Self::up): a stream server closes its listener, so the system refuses
    /// every connect (`ConnectionRefused`; over a Unix socket file, the file goes with the
    /// listener, so a connect finds nothing there: `NotFound`), and resets or keeps the
    /// connections open then, as `open` says; a datagram server keeps its socket and
    /// answers nothing. Returns once the listener is closed, so a connect made after it
    /// fails. Taking down a server that is down again applies `open` to the connections
    /// kept. Counted in [`FaultStats::went_down`](crate::FaultStats::went_down),
    /// [`reset_by_down`](crate::FaultStats::reset_by_down) and
    /// [`ignored_while_down`](crate::FaultStats::ignored_while_down).
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the server has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Down, EchoClient, EchoServer, Error};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// let addr = server.local_addr();
    /// server.down(Down::Reset)?;
    /// assert!(matches!(EchoClient::connect(addr), Err(Error::Connect { .. })));
    /// server.up()?; // on the same port
    /// assert_eq!(&EchoClient::connect(addr)?.echo(b"back")?[..], b"back");
    /// assert_eq!(server.stats().faults.went_down, 1);
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn down(&self, open: Down) -> Result<()> {
        let request = self.control.availability.ask(Some(open));
        self.carried_out(request)
    }

    /// Brings a server that went [`down`](Self::down) back on the same address: a stream
    /// server binds it again (with the server's options: `reuse_address`, on by default,
    /// lets a TCP port be bound again while connections kept open still use it), a datagram
    /// server answers again. Returns once the server accepts again. Does nothing to a
    /// server that is up.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] if the address was taken meanwhile (the server then stays down; call
    /// `up` again to retry), or [`Error::Serve`] if the server has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Down, EchoServer};
    ///
    /// let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// server.down(Down::Keep)?;
    /// assert!(server.is_down());
    /// server.up()?;
    /// assert!(!server.is_down());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn up(&self) -> Result<()> {
        let request = self.control.availability.ask(None);
        self.carried_out(request)
    }

    /// Whether the server is [`down`](Self::down).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = socket_echo::EchoServer::bind("127.0.0.1:0")?.spawn()?;
    /// assert!(!server.is_down());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn is_down(&self) -> bool {
        self.control.availability.is_down()
    }

    /// Wakes the workers to carry out `request`, and for a stream server waits until the
    /// accepting worker has (a datagram server's workers read the state on each datagram).
    fn carried_out(&self, request: u64) -> Result<()> {
        self.control.wake();
        if self.control.faults.is_stream() != Some(true) {
            return Ok(());
        }
        let stopped = || self.control.is_stopping();
        self.control
            .availability
            .wait(request, stopped)
            .unwrap_or_else(|| {
                Err(Error::Serve {
                    addr: self.local_addr.clone().into(),
                    source: std::io::Error::other("the server has stopped"),
                })
            })
    }
}
