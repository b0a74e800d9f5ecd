//! The faults a server injects, and the seed of their draws ([`Faults`]), checked against
//! the transport they are given to.

use super::Fault;
use crate::error::{Error, Result};
use crate::transport::Transport;
use crate::transport::sealed::Kind;

/// The faults a server injects, and the seed of every random choice they make.
///
/// Give them to a server with [`EchoServer::with_faults`](crate::EchoServer::with_faults)
/// (for [`serve_once`](crate::EchoServer::serve_once), [`serve`](crate::EchoServer::serve)
/// and [`spawn`](crate::EchoServer::spawn) alike), and change them while it runs with
/// [`ServerHandle::set_faults`](crate::ServerHandle::set_faults). The same seed and the same
/// traffic give the same faults: every choice is drawn from a generator seeded with
/// [`seed`](Self::with_seed) (0 unless set), one stream per connection and one for all the
/// datagrams, restarted whenever the faults are set.
///
/// Faults of different kinds combine (a delay and a slicing, a drop and a duplicate). For
/// stream kinds, the first fault of each kind that applies to a connection is the one it
/// gets; the first of `stall-after`, `close-after` and `reset-after` to be reached ends
/// it. Datagram faults apply one after the other, each with its own draw.
///
/// [`FromStr`](std::str::FromStr) reads one or more SPECs separated by `;` (see
/// [`Fault`]), the syntax of the `serve` tool's `--fault`. See the
/// [faults guide](crate::faults_guide) (`docs/faults.md`) for what each fault means for a
/// client under test.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Error, Fault, Faults};
///
/// let faults = Faults::new().with(Fault::close_after(1000)).with_seed(7);
/// let handle = EchoServer::bind("127.0.0.1:0")?.with_faults(faults)?.spawn()?;
/// let mut client = EchoClient::connect(handle.local_addr())?;
/// match client.echo(&[7u8; 3000]) {
///     Err(Error::ShortEcho { sent: 3000, received: 1000, .. }) => {}
///     other => panic!("expected a short echo of 1000 bytes, got {other:?}"),
/// }
/// assert_eq!(handle.stats().faults.closed, 1);
///
/// // The same, written as the tool's SPECs.
/// let parsed: Faults = "close-after=1000".parse()?;
/// assert_eq!(parsed.faults(), [Fault::close_after(1000)]);
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    seed: u64,
    pub(super) faults: Vec<Fault>,
    max_held: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new()
    }
}

impl Faults {
    /// No fault, seed 0.
    pub const fn new() -> Self {
        Faults {
            seed: 0,
            faults: Vec::new(),
            max_held: crate::options::DEFAULT_MAX_PENDING,
        }
    }

    /// The most bytes of datagram replies held back at once by delays and reorderings
    /// (default 64 KiB); a reply that would go past it is dropped and counted in
    /// [`FaultStats::overflowed`](crate::FaultStats::overflowed). A stream connection's held bytes are bounded by its
    /// [`max_pending`](crate::Options::with_max_pending) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let faults = socket_echo::Faults::new().with_max_held(1 << 20);
    /// assert_eq!(faults.max_held(), 1 << 20);
    /// ```
    pub const fn with_max_held(mut self, bytes: usize) -> Self {
        self.max_held = bytes;
        self
    }

    /// The bound of [`with_max_held`](Self::with_max_held).
    pub const fn max_held(&self) -> usize {
        self.max_held
    }

    /// Adds a fault.
    pub fn with(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Sets the seed of every random choice.
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// The faults, in the order they were added.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// True if there is no fault: the server behaves.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Refuses a fault with a value no fault can have (a probability outside 0 to 1, a
    /// duration beyond [`MAX_DURATION`](crate::MAX_DURATION), an empty slice, a zero rate, a
    /// burst under one datagram, a `drop` probability above what its bursts can lose,
    /// `burst / (burst + 1)`), or one whose kind cannot apply to a server of the transport
    /// `T` (stream kinds to [`Tcp`](crate::Tcp) and [`Unix`](crate::Unix), datagram kinds to
    /// [`Udp`](crate::Udp) and [`UnixDatagram`](crate::UnixDatagram), `Tls*` kinds to a TLS
    /// transport only). A server makes the same check when it is given faults.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFault`] naming the fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::{Error, Fault, Faults, Tcp, Udp};
    ///
    /// let faults = Faults::new().with(Fault::drop(0.5));
    /// assert!(faults.check::<Udp>().is_ok());
    /// assert!(matches!(faults.check::<Tcp>(), Err(Error::InvalidFault { .. })));
    /// ```
    pub fn check<T: Transport>(&self) -> Result<()> {
        self.check_for(Target::of::<T>())
    }

    /// As [`check`](Self::check), for the transport `target` describes.
    pub(crate) fn check_for(&self, target: Target) -> Result<()> {
        let transport = target.name;
        for fault in &self.faults {
            fault.validate()?;
            if fault.kind.is_tls() && !target.sessions {
                return Err(Error::InvalidFault {
                    fault: fault.to_string(),
                    reason: format!(
                        "`{}` applies only to a TLS server (tls://, tls+unix:), not to {transport}",
                        fault.kind.name()
                    )
                    .into(),
                });
            }
            let (applies, kind) = match target.kind {
                Kind::Stream => (fault.kind.applies_to_stream(), "stream"),
                Kind::Datagram => (fault.kind.applies_to_datagram(), "datagram"),
            };
            if !applies {
                return Err(Error::InvalidFault {
                    fault: fault.to_string(),
                    reason: format!(
                        "`{}` does not apply to a {kind} transport like {transport}",
                        fault.kind.name()
                    )
                    .into(),
                });
            }
        }
        Ok(())
    }
}

/// What faults are checked against: the kind of a server's transport, whether its
/// connections take TLS faults, and its name (for the refusal).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) kind: Kind,
    sessions: bool,
    name: &'static str,
}

impl Target {
    /// What the transport `T` is.
    pub(crate) fn of<T: Transport>() -> Self {
        Target {
            kind: T::KIND,
            sessions: T::SESSION_FAULTS,
            name: T::NAME,
        }
    }
}
