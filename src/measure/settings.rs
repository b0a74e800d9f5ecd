//! The settings [`Load`](crate::Load) and [`Bulk`](crate::Bulk) share: how long a run sends,
//! how long an echo may take, the socket options of its connections and the flag that stops
//! it; their checks, the run's end they set, and the builders' methods for them, written once
//! (`run_settings!`) with each builder's own documentation.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::options::Options;

/// How long a run sends, how long an echo may take, the socket options of its connections,
/// and the flag that stops it.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) duration: Duration,
    pub(crate) timeout: Duration,
    pub(crate) options: Options,
    pub(crate) stop: Option<Arc<AtomicBool>>,
}

impl RunSettings {
    /// 5 s of sending, a 1 s timeout, the default options, no stop flag.
    pub(crate) const fn new() -> Self {
        RunSettings {
            duration: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            options: Options::new(),
            stop: None,
        }
    }

    /// Refuses a timeout under one microsecond (zero included), then a duration out of
    /// range.
    pub(crate) fn check(&self) -> Result<()> {
        super::check_timeout("timeout", self.timeout)?;
        crate::options::check_duration("duration", self.duration)?;
        Ok(())
    }

    /// For a run started at `start`: when it stops sending, and when the echo of what is
    /// still in flight then is overdue, however it trickles in (`None` past what an
    /// `Instant` can hold).
    pub(crate) fn ends(&self, start: Instant) -> (Instant, Option<Instant>) {
        let deadline = start + self.duration;
        (deadline, deadline.checked_add(self.timeout))
    }
}

/// The methods of the [`RunSettings`] of a builder (in its field `run`): `with_duration`,
/// `with_timeout`, `with_options`, `with_stop`, `duration` and `timeout`, each with the
/// documentation written before its name.
macro_rules! run_settings {
    (
        $(#[$with_duration:meta])* with_duration;
        $(#[$with_timeout:meta])* with_timeout;
        $(#[$with_options:meta])* with_options;
        $(#[$with_stop:meta])* with_stop;
        $(#[$duration:meta])* duration;
        $(#[$timeout:meta])* timeout;
    ) => {
        $(#[$with_duration])*
        pub const fn with_duration(mut self, duration: Duration) -> Self {
            self.run.duration = duration;
            self
        }

        $(#[$with_timeout])*
        pub const fn with_timeout(mut self, timeout: Duration) -> Self {
            self.run.timeout = timeout;
            self
        }

        $(#[$with_options])*
        pub fn with_options(mut self, options: Options) -> Self {
            self.run.options = options;
            self
        }

        $(#[$with_stop])*
        pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
            self.run.stop = Some(stop);
            self
        }

        $(#[$duration])*
        pub const fn duration(&self) -> Duration {
            self.run.duration
        }

        $(#[$timeout])*
        pub const fn timeout(&self) -> Duration {
            self.run.timeout
        }
    };
}

pub(crate) use run_settings;
