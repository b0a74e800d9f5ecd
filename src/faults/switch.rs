//! Where a server keeps its faults ([`Switch`]), so they can change while it serves, and
//! the state every worker shares while one setting lasts ([`Active`]).

use std::any::Any;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use super::Faults;
use super::set::Target;
use crate::error::Result;
use crate::token_bucket::TokenBucket;
use crate::transport::Transport;
use crate::transport::sealed::Kind;

/// The faults in force, as one setting of the [`Switch`] made them: the value, and the
/// state every worker shares while it lasts.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) faults: Faults,
    /// Connections accepted under this setting: the index of the next one.
    pub(crate) connections: AtomicU64,
    /// The bucket of [`FaultKind::SharedRate`](super::FaultKind::SharedRate).
    pub(crate) shared_rate: Mutex<Option<TokenBucket>>,
    /// When the setting was made: the origin of the clock the rate faults' buckets are read
    /// with.
    pub(crate) origin: Instant,
}

impl Active {
    pub(super) fn new(faults: Faults) -> Self {
        Active {
            faults,
            connections: AtomicU64::new(0),
            shared_rate: Mutex::new(None),
            origin: Instant::now(),
        }
    }
}

/// Where a server keeps its faults, so they can change while it serves.
///
/// Workers read [`version`](Self::version) once per loop turn (one atomic load) and reload
/// the faults only when it moved: a server whose faults were never set does nothing more.
#[derive(Debug, Default)]
pub(crate) struct Switch {
    version: AtomicU64,
    current: Mutex<Option<Arc<Active>>>,
    /// The datagram state shared by `serve_once` and the workers of `serve()` (its type
    /// depends on the transport's address, which this non-generic switch does not know).
    pub(super) datagram: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    /// What the server's transport is, once known (a handle checks the faults it is given
    /// against it).
    target: OnceLock<Target>,
}

impl Switch {
    /// Records that the server's transport is `T`.
    pub(crate) fn know<T: Transport>(&self) {
        let _ = self.target.set(Target::of::<T>());
    }

    /// Whether the server is a stream one, once known.
    pub(crate) fn is_stream(&self) -> Option<bool> {
        self.target.get().map(|target| target.kind == Kind::Stream)
    }

    /// Checks `faults` against the server's transport (see [`Faults::check`]) and puts them
    /// in force.
    pub(crate) fn set_checked(&self, faults: Faults) -> Result<()> {
        if let Some(target) = self.target.get() {
            faults.check_for(*target)?;
        }
        self.set(faults);
        Ok(())
    }

    /// Puts `faults` in force for the data received from now on.
    pub(crate) fn set(&self, faults: Faults) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *current = (!faults.is_empty()).then(|| Arc::new(Active::new(faults)));
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Moves each time the faults are set; 0 if they never were.
    #[inline]
    pub(crate) fn version(&self) -> u64 {
        // Relaxed: a change is then read under the lock of `current`, which orders it.
        self.version.load(Ordering::Relaxed)
    }

    /// The faults in force and the version they belong to.
    pub(crate) fn load(&self) -> (u64, Option<Arc<Active>>) {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (self.version(), current.clone())
    }

    /// A copy of the faults in force (empty if none).
    pub(crate) fn faults(&self) -> Faults {
        self.load()
            .1
            .map(|active| active.faults.clone())
            .unwrap_or_default()
    }
}
