//! A server `serve` started, of any transport, as the main thread and the control endpoint
//! both see it: its address, statistics and faults, and its stop.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use socket_echo::{Down, Fault, Faults, ServerHandle, Stats, Transport};

/// Whether a server of the transport named `transport` (`tcp`, `udp`, `tls`, ...) takes
/// `fault`: a stream fault a stream server, a datagram fault a datagram one, a TLS fault a
/// TLS one, as `--fault` and `PUT /faults` give faults to every address.
pub fn takes(transport: &str, fault: &Fault) -> bool {
    let kind = fault.kind();
    if kind.is_tls() {
        transport.starts_with("tls")
    } else if is_datagram(transport) {
        kind.applies_to_datagram()
    } else {
        kind.applies_to_stream()
    }
}

/// Whether the transport named `transport` is a datagram one.
fn is_datagram(transport: &str) -> bool {
    matches!(transport, "udp" | "unixgram")
}

/// What kind of address a fault goes to, as a usage error names it.
pub fn fault_kind(fault: &Fault) -> &'static str {
    let kind = fault.kind();
    if kind.is_tls() {
        "TLS"
    } else if kind.applies_to_stream() {
        "stream"
    } else {
        "datagram"
    }
}

/// A running server of any transport. Shared by the main thread, which stops and joins it,
/// and the control endpoint's threads, which read and change it meanwhile.
pub trait Running: Send + Sync {
    /// Where it listens, as the other subcommands take the address (`udp://127.0.0.1:9999`).
    fn address(&self) -> &str;
    /// Its statistics now (the last ones once it was joined).
    fn stats(&self) -> Stats;
    /// The faults in force.
    fn faults(&self) -> Faults;
    /// Checks `faults` against its transport ([`Faults::check`]), changing nothing.
    fn check_faults(&self, faults: &Faults) -> socket_echo::Result<()>;
    /// Whether it takes `fault` (a stream fault a stream server, a datagram fault a
    /// datagram one, a TLS fault a TLS one), as `PUT /faults` gives faults to every address.
    fn takes(&self, fault: &Fault) -> bool {
        self.check_faults(&Faults::new().with(fault.clone()))
            .is_ok()
    }
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
            "tls" => format!("tls://{addr}"),
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

    fn check_faults(&self, faults: &Faults) -> socket_echo::Result<()> {
        faults.check::<T>()
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

/// Why [`wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Ctrl-C or SIGTERM.
    Signal,
    /// A server stopped by itself: it failed (a worker panicked), and joining it says why.
    Finished,
}

/// How often [`wait`] looks whether a server stopped by itself.
const FINISHED_POLL: Duration = Duration::from_millis(100);

/// Waits for a signal on `stopped`, or for one of `servers` to stop by itself, calling
/// `tick` every `every` meanwhile.
///
/// A server stops by itself only when it fails (a worker panicked): the tool must then end,
/// loudly, rather than listen on with a server that answers no one. Without a signal
/// handler (`stopped` disconnected), only that ends the wait.
pub fn wait(
    servers: &[Box<dyn Running>],
    stopped: &Receiver<()>,
    every: Option<Duration>,
    mut tick: impl FnMut(),
) -> Wake {
    let mut next_tick = every.and_then(|every| Instant::now().checked_add(every));
    loop {
        if servers.iter().any(|server| server.is_finished()) {
            return Wake::Finished;
        }
        let now = Instant::now();
        if let Some(at) = next_tick
            && at <= now
        {
            tick();
            next_tick = every.and_then(|every| at.max(now).checked_add(every));
            continue;
        }
        let timeout = next_tick.map_or(FINISHED_POLL, |at| (at - now).min(FINISHED_POLL));
        match stopped.recv_timeout(timeout) {
            Ok(()) => return Wake::Signal,
            Err(RecvTimeoutError::Timeout) => {}
            // No handler: no signal will come; wait for the servers alone.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    //! RELIABILITY 39 for the tool: a server whose worker panics ends `serve`'s wait, and
    //! joining it gives the cause, a failure of exit status 1. Nothing on the command line
    //! panics a worker (every value is checked where it is parsed), so the panic comes from
    //! a logger, the one code of the caller's own a worker runs, as in the library's
    //! tests/serve_panic.rs.

    use std::net::UdpSocket;
    use std::num::NonZeroUsize;
    use std::sync::{Arc, mpsc};

    use socket_echo::{EchoServer, Error, Options, Udp};

    use super::*;
    use crate::Exit;
    use crate::flags;

    /// Panics on the warning about a denied source port; ignores every other message.
    struct Fragile;

    impl log::Log for Fragile {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::Level::Warn
        }

        fn log(&self, record: &log::Record<'_>) {
            let message = record.args().to_string();
            if message.contains("denied source port") {
                panic!("the logger broke on: {message}");
            }
        }

        fn flush(&self) {}
    }

    #[test]
    fn a_server_whose_worker_panics_ends_the_wait_and_its_cause_is_a_failure() {
        log::set_logger(&Fragile).expect("the only logger of these tests");
        log::set_max_level(log::LevelFilter::Warn);
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind the client");
        let options = Options::new()
            .with_denied_ports([client.local_addr().expect("client address").port()])
            .with_workers(NonZeroUsize::new(2));
        let handle = EchoServer::bind_on_with(Udp, "127.0.0.1:0", options)
            .expect("bind")
            .spawn()
            .expect("spawn");
        let addr = handle.local_addr();
        let servers: Arc<[Box<dyn Running>]> =
            Arc::from(vec![Box::new(Served::new(handle)) as Box<dyn Running>]);
        // No signal comes: the sender stays alive for the whole wait.
        let (_stop, stopped) = mpsc::channel::<()>();
        let (done, woke) = mpsc::channel();
        let waiting = Arc::clone(&servers);
        std::thread::spawn(move || {
            let wake = wait(&waiting, &stopped, Some(Duration::from_secs(3600)), || {});
            let _ = done.send(wake);
            drop(_stop);
        });
        client.send_to(b"x", addr).expect("send");

        // Bounded, so a wait that goes on after the panic fails the test rather than hang.
        let wake = woke
            .recv_timeout(Duration::from_secs(10))
            .expect("serve went on waiting after a worker panicked");
        assert_eq!(wake, Wake::Finished);
        let error = servers[0].join().expect_err("the server failed");
        assert!(
            matches!(error, Error::WorkerPanicked { .. }),
            "expected the worker's panic, got {error:?}"
        );
        let failure = flags::failed(&error);
        assert_eq!(failure.exit, Exit::Failed);
        assert_eq!(failure.kind, "server");
        assert!(
            failure
                .message
                .contains("the logger broke on: not answering"),
            "{}",
            failure.message
        );
    }
}
