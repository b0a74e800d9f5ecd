//! A server `serve` started, of any transport, as the main thread and the control endpoint
//! both see it: its address, statistics and faults, and its stop.

use std::sync::{Mutex, MutexGuard, PoisonError};

use socket_echo::{Down, Fault, Faults, ServerHandle, Stats, Transport};

/// Whether a server of that kind takes `fault` (a stream fault a stream server, a datagram
/// fault a datagram one), as `--fault` and `PUT /faults` give faults to every address.
pub fn takes(datagram: bool, fault: &Fault) -> bool {
    let kind = fault.kind();
    if datagram {
        kind.applies_to_datagram()
    } else {
        kind.applies_to_stream()
    }
}

/// A running server of any transport. Shared by the main thread, which stops and joins it,
/// and the control endpoint's threads, which read and change it meanwhile.
pub trait Running: Send + Sync {
    /// Where it listens, as the other subcommands take the address (`udp://127.0.0.1:9999`).
    fn address(&self) -> &str;
    /// True for UDP and Unix datagrams.
    fn is_datagram(&self) -> bool;
    /// The transport's name (`tcp`, `udp`, `unix`, `unixgram`).
    fn transport(&self) -> &'static str;
    /// Its statistics now (the last ones once it was joined).
    fn stats(&self) -> Stats;
    /// The faults in force.
    fn faults(&self) -> Faults;
    /// Replaces the faults in force; a fault the server cannot take changes nothing.
    fn set_faults(&self, faults: Faults) -> socket_echo::Result<()>;
    /// Takes it down on its address ([`ServerHandle::down`]), its open connections reset or
    /// kept as `open` says.
    fn down(&self, open: Down) -> socket_echo::Result<()>;
    /// Brings it back on the same address ([`ServerHandle::up`]).
    fn up(&self) -> socket_echo::Result<()>;
    /// Whether it is down.
    fn is_down(&self) -> bool;
    fn shutdown(&self);
    /// Whether it has stopped, so that [`join`](Self::join) would not wait.
    fn is_finished(&self) -> bool;
    /// Waits for the end of the server; its final statistics.
    fn join(&self) -> socket_echo::Result<Stats>;
}

/// A [`ServerHandle`] behind a lock, so that joining it (which takes it) can happen while
/// the control endpoint still holds a reference.
pub struct Served<T: Transport> {
    address: String,
    handle: Mutex<Option<ServerHandle<T>>>,
    last: Mutex<Stats>,
}

impl<T: Transport> Served<T> {
    pub fn new(handle: ServerHandle<T>) -> Self {
        let addr = handle.local_addr();
        let address = match T::NAME {
            "tcp" => addr.to_string(),
            "udp" => format!("udp://{addr}"),
            other => format!("{other}:{addr}"),
        };
        Served {
            address,
            handle: Mutex::new(Some(handle)),
            last: Mutex::new(Stats::default()),
        }
    }

    fn handle(&self) -> MutexGuard<'_, Option<ServerHandle<T>>> {
        // A panic while holding the lock leaves the handle as it was: still usable.
        self.handle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Transport> Running for Served<T> {
    fn address(&self) -> &str {
        &self.address
    }

    fn is_datagram(&self) -> bool {
        matches!(T::NAME, "udp" | "unixgram")
    }

    fn transport(&self) -> &'static str {
        T::NAME
    }

    fn stats(&self) -> Stats {
        match self.handle().as_ref() {
            Some(handle) => handle.stats(),
            None => *self.last.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    fn faults(&self) -> Faults {
        self.handle()
            .as_ref()
            .map(ServerHandle::faults)
            .unwrap_or_default()
    }

    fn set_faults(&self, faults: Faults) -> socket_echo::Result<()> {
        match self.handle().as_ref() {
            Some(handle) => handle.set_faults(faults),
            // Stopped: there is nothing left to misbehave.
            None => Ok(()),
        }
    }

    fn down(&self, open: Down) -> socket_echo::Result<()> {
        match self.handle().as_ref() {
            Some(handle) => handle.down(open),
            None => Ok(()),
        }
    }

    fn up(&self) -> socket_echo::Result<()> {
        match self.handle().as_ref() {
            Some(handle) => handle.up(),
            None => Ok(()),
        }
    }

    fn is_down(&self) -> bool {
        self.handle().as_ref().is_some_and(ServerHandle::is_down)
    }

    fn shutdown(&self) {
        if let Some(handle) = self.handle().as_ref() {
            handle.shutdown();
        }
    }

    fn is_finished(&self) -> bool {
        self.handle().as_ref().is_none_or(ServerHandle::is_finished)
    }

    fn join(&self) -> socket_echo::Result<Stats> {
        let Some(handle) = self.handle().take() else {
            return Ok(self.stats());
        };
        let stats = handle.join()?;
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = stats;
        Ok(stats)
    }
}
