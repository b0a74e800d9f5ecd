//! What a server received, kept for a test to read: [`Recording`] (how much to keep),
//! [`Record`] (what was kept), and the recorder the engines write it with. This module
//! depends on no other of the crate but `addr`.
//!
//! Memory is bounded by the recording's two caps: at most
//! [`max_entries`](Recording::max_entries) connections and datagrams, each with at most
//! [`bytes_per_entry`](Recording::bytes_per_entry) bytes; what is past a cap is counted, not
//! kept.

use std::sync::{Mutex, PoisonError};

use crate::addr::Address;

/// How much of what it receives a server keeps (see
/// [`EchoServer::with_recording`](crate::EchoServer::with_recording)): for each connection,
/// its peer, the first bytes it sent and how it ended; for each datagram, its source and
/// its first bytes.
///
/// The record never holds more than [`max_entries`](Self::max_entries) connections and
/// datagrams in all, each with at most [`bytes_per_entry`](Self::bytes_per_entry) bytes;
/// beyond those caps, what arrives is echoed as ever and counted in the record, not kept.
///
/// # Examples
///
/// ```
/// use socket_echo::Recording;
///
/// let recording = Recording::new(4096).with_max_entries(100);
/// assert_eq!((recording.bytes_per_entry(), recording.max_entries()), (4096, 100));
/// assert_eq!(Recording::new(64).max_entries(), Recording::DEFAULT_MAX_ENTRIES);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recording {
    bytes_per_entry: usize,
    max_entries: usize,
}

impl Recording {
    /// The connections and datagrams a record keeps unless told otherwise.
    pub const DEFAULT_MAX_ENTRIES: usize = 1024;

    /// Keeps the first `bytes_per_entry` bytes of each connection and of each datagram, for
    /// at most [`DEFAULT_MAX_ENTRIES`](Self::DEFAULT_MAX_ENTRIES) of them.
    pub const fn new(bytes_per_entry: usize) -> Self {
        Recording {
            bytes_per_entry,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
        }
    }

    /// Keeps at most `max_entries` connections and datagrams in all (zero: none; the record
    /// then only counts them).
    pub const fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// The most bytes kept of one connection or one datagram.
    pub const fn bytes_per_entry(&self) -> usize {
        self.bytes_per_entry
    }

    /// The most connections and datagrams kept in all.
    pub const fn max_entries(&self) -> usize {
        self.max_entries
    }
}

/// What a server with a [`Recording`] has received so far: read with
/// [`ServerHandle::record`](crate::ServerHandle::record) while it runs and after, or
/// [`EchoServer::record`](crate::EchoServer::record).
///
/// Connections and datagrams are in the order the server took them (per worker; with
/// several workers, two connections accepted at once may be listed either way round).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{EchoClient, EchoServer, Recording};
///
/// let handle = EchoServer::bind("127.0.0.1:0")?
///     .with_recording(Recording::new(4))
///     .spawn()?;
/// let mut client = EchoClient::connect(handle.local_addr())?;
/// client.echo(b"hello")?;
/// drop(client);
/// let record = handle
///     .wait_for_record(|r| r.connections.iter().all(|c| c.end.is_some()), Duration::from_secs(10))
///     .expect("the connection ended");
/// let connection = &record.connections[0];
/// assert_eq!(connection.received, b"hell"); // the first 4 bytes,
/// assert_eq!(connection.bytes_received, 5); // of 5
/// assert!(connection.is_cut());
/// assert_eq!(connection.end, Some(socket_echo::ConnectionEnd::Closed));
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The stream connections served, in the order they were accepted.
    pub connections: Vec<RecordedConnection>,
    /// The datagrams received, in the order they were taken.
    pub datagrams: Vec<RecordedDatagram>,
    /// Connections and datagrams that came once [`Recording::max_entries`] were kept: served
    /// as ever, and not kept.
    pub unrecorded: u64,
}

impl Record {
    /// Whether anything was cut: a connection or a datagram kept short of what it sent, or
    /// some not kept at all.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!socket_echo::Record::default().is_cut());
    /// ```
    pub fn is_cut(&self) -> bool {
        self.unrecorded > 0
            || self.connections.iter().any(RecordedConnection::is_cut)
            || self.datagrams.iter().any(RecordedDatagram::is_cut)
    }
}

/// One connection in a [`Record`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedConnection {
    /// The peer's address (for a Unix stream client, usually unnamed).
    pub peer: Address,
    /// The first bytes the peer sent, in order: at most [`Recording::bytes_per_entry`].
    pub received: Vec<u8>,
    /// Every byte the peer sent that the server read, kept or not.
    pub bytes_received: u64,
    /// How the connection ended; `None` while it is open.
    pub end: Option<ConnectionEnd>,
}

impl RecordedConnection {
    /// Whether the peer sent more than was kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use socket_echo::{EchoClient, EchoServer, Recording};
    /// let handle = EchoServer::bind("127.0.0.1:0")?.with_recording(Recording::new(2)).spawn()?;
    /// EchoClient::connect(handle.local_addr())?.echo(b"abc")?;
    /// assert!(handle.record().connections[0].is_cut());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn is_cut(&self) -> bool {
        self.bytes_received > self.received.len() as u64
    }
}

/// How a [`RecordedConnection`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEnd {
    /// The peer closed its side and everything it sent was echoed.
    Closed,
    /// It failed: a reset, a broken pipe.
    Failed,
    /// The [`idle_timeout`](crate::Options::with_idle_timeout) closed it.
    TimedOut,
    /// A shutdown closed it cleanly, owing its peer nothing.
    Shutdown,
    /// A shutdown reset it, still owed bytes when the
    /// [`shutdown_grace`](crate::Options::with_shutdown_grace) ended, or under a fault.
    ShutdownReset,
    /// A stream fault ended it, or the peer did while it was under one.
    Fault,
    /// Closed at once: its source address already had
    /// [`max_connections_per_source`](crate::Options::with_max_connections_per_source) open.
    Refused,
}

/// One datagram in a [`Record`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedDatagram {
    /// Where it came from.
    pub source: Address,
    /// Its first bytes: at most [`Recording::bytes_per_entry`].
    pub payload: Vec<u8>,
    /// Its length as received (for a datagram larger than the
    /// [`buffer_size`](crate::Options::with_buffer_size), which is not echoed, the buffer's
    /// size and one more).
    pub len: usize,
}

impl RecordedDatagram {
    /// Whether it carried more than was kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use socket_echo::{EchoClient, EchoServer, Recording, Udp};
    /// let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")?
    ///     .with_recording(Recording::new(2))
    ///     .spawn()?;
    /// EchoClient::connect_on(Udp, handle.local_addr())?.echo(b"abc")?;
    /// let datagram = &handle.record().datagrams[0];
    /// assert_eq!((&datagram.payload[..], datagram.len), (&b"ab"[..], 3));
    /// assert!(datagram.is_cut());
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn is_cut(&self) -> bool {
        self.len > self.payload.len()
    }
}

/// The record a server's workers write, behind one lock taken only while recording.
#[derive(Debug)]
pub(crate) struct Recorder {
    recording: Recording,
    record: Mutex<Record>,
}

impl Recorder {
    pub(crate) fn new(recording: Recording) -> Self {
        Recorder {
            recording,
            record: Mutex::new(Record::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the record as it stands.
    pub(crate) fn snapshot(&self) -> Record {
        self.lock().clone()
    }

    /// Starts the entry of a connection from `peer`; its index, or `None` past the cap.
    pub(crate) fn connection(&self, peer: Address) -> Option<usize> {
        let mut record = self.lock();
        if record.connections.len() + record.datagrams.len() >= self.recording.max_entries {
            record.unrecorded += 1;
            return None;
        }
        record.connections.push(RecordedConnection {
            peer,
            received: Vec::new(),
            bytes_received: 0,
            end: None,
        });
        Some(record.connections.len() - 1)
    }

    /// Adds `bytes` read from the connection at `index`, as far as the cap allows.
    pub(crate) fn received(&self, index: usize, bytes: &[u8]) {
        let mut record = self.lock();
        if let Some(connection) = record.connections.get_mut(index) {
            connection.bytes_received += bytes.len() as u64;
            let room = self
                .recording
                .bytes_per_entry
                .saturating_sub(connection.received.len());
            let kept = &bytes[..room.min(bytes.len())];
            // Allocation failure here would abort; the entry then stays as it was.
            if connection.received.try_reserve(kept.len()).is_ok() {
                connection.received.extend_from_slice(kept);
            }
        }
    }

    /// Says how the connection at `index` ended.
    pub(crate) fn ended(&self, index: usize, end: ConnectionEnd) {
        if let Some(connection) = self.lock().connections.get_mut(index) {
            connection.end = Some(end);
        }
    }

    /// Records one datagram from `source`.
    pub(crate) fn datagram(&self, source: Address, payload: &[u8]) {
        let mut record = self.lock();
        if record.connections.len() + record.datagrams.len() >= self.recording.max_entries {
            record.unrecorded += 1;
            return;
        }
        let kept = &payload[..payload.len().min(self.recording.bytes_per_entry)];
        let mut copy = Vec::new();
        if copy.try_reserve_exact(kept.len()).is_ok() {
            copy.extend_from_slice(kept);
        }
        record.datagrams.push(RecordedDatagram {
            source,
            payload: copy,
            len: payload.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Address {
        Address::from(std::net::SocketAddr::from(([127, 0, 0, 1], 9)))
    }

    #[test]
    fn bytes_past_the_cap_are_counted_not_kept() {
        let recorder = Recorder::new(Recording::new(5));
        let index = recorder.connection(peer()).unwrap();
        recorder.received(index, b"abc");
        recorder.received(index, b"defgh");
        recorder.received(index, b"ijk");
        let record = recorder.snapshot();
        assert_eq!(record.connections[0].received, b"abcde");
        assert_eq!(record.connections[0].bytes_received, 11);
        assert!(record.is_cut());
    }

    #[test]
    fn entries_past_the_cap_are_counted_not_kept() {
        let recorder = Recorder::new(Recording::new(8).with_max_entries(2));
        assert!(recorder.connection(peer()).is_some());
        recorder.datagram(peer(), b"one");
        assert!(recorder.connection(peer()).is_none());
        recorder.datagram(peer(), b"two");
        let record = recorder.snapshot();
        assert_eq!((record.connections.len(), record.datagrams.len()), (1, 1));
        assert_eq!(record.unrecorded, 2);
        assert!(!record.datagrams[0].is_cut());
    }
}
