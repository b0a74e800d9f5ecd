//! What a thread or a task waiting on a running server is woken by: the workers say, at the
//! end of a turn, that the counters may have moved, but only while someone waits.
//!
//! A worker pays one fence and one atomic load per turn when nobody waits; it never locks,
//! allocates or makes a system call for this unless a wait is under way.

use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant;

/// The server's side of every wait: how many are waiting, and what wakes them.
#[derive(Debug, Default)]
pub(crate) struct Waits {
    /// Waits under way (blocking ones and futures that have been polled).
    waiters: AtomicUsize,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped every time the workers say something may have changed.
    generation: u64,
    /// Whether the server has stopped and its socket is closed: nothing will change again.
    finished: bool,
    /// The tasks to wake at the next change.
    wakers: Vec<Waker>,
}

impl Waits {
    /// Called by a worker after a turn's counters are written: wakes the waits, if any.
    ///
    /// The fence pairs with the one in [`Waiting::check`]: either this worker sees the
    /// waiter's count, or the waiter sees this turn's counters. Without it a wait could
    /// miss the turn that satisfied it and sleep until its timeout.
    #[inline]
    pub(crate) fn turn(&self) {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) != 0 {
            self.wake(false);
        }
    }

    /// Called once the server has stopped and released its socket: every wait ends.
    pub(crate) fn finish(&self) {
        self.wake(true);
    }

    #[cold]
    fn wake(&self, finished: bool) {
        let wakers = {
            let mut state = self.lock();
            state.generation = state.generation.wrapping_add(1);
            state.finished |= finished;
            std::mem::take(&mut state.wakers)
        };
        self.changed.notify_all();
        for waker in wakers {
            waker.wake();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a wait in, until the returned guard is dropped.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        Waiting { progress: self }
    }
}

/// One wait under way (see [`Waits::waiting`]).
#[derive(Debug)]
pub(crate) struct Waiting<'a> {
    progress: &'a Waits,
}

/// What one look at the server found.
pub(crate) enum Look<R> {
    /// The condition holds.
    Holds(R),
    /// It does not, and the server has stopped: it never will.
    Never,
    /// It does not yet; `generation` is the change it was checked after.
    NotYet { generation: u64 },
}

impl Waiting<'_> {
    /// Checks `condition` against what the workers have done so far.
    pub(crate) fn check<R>(&self, condition: &mut impl FnMut() -> Option<R>) -> Look<R> {
        let (generation, finished) = {
            let state = self.progress.lock();
            (state.generation, state.finished)
        };
        fence(Ordering::SeqCst);
        match condition() {
            Some(found) => Look::Holds(found),
            None if finished => Look::Never,
            None => Look::NotYet { generation },
        }
    }

    /// Blocks until `condition` returns something, the server stops, or `deadline` passes.
    pub(crate) fn block_on<R>(
        &self,
        deadline: Option<Instant>,
        mut condition: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        loop {
            let seen = match self.check(&mut condition) {
                Look::Holds(found) => return Some(found),
                Look::Never => return None,
                Look::NotYet { generation } => generation,
            };
            let mut state = self.progress.lock();
            while state.generation == seen {
                state = match deadline {
                    None => self
                        .progress
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner),
                    Some(deadline) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return None;
                        }
                        self.progress
                            .changed
                            .wait_timeout(state, left)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                };
            }
        }
    }

    /// Has `waker` woken at the next change after `generation`, or at once if it has
    /// already come.
    pub(crate) fn wake_after(&self, generation: u64, waker: &Waker) {
        let mut state = self.progress.lock();
        if state.generation != generation {
            drop(state);
            waker.wake_by_ref();
            return;
        }
        if !state.wakers.iter().any(|known| known.will_wake(waker)) {
            state.wakers.push(waker.clone());
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.progress.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    #[test]
    fn a_wait_sees_a_change_made_by_another_thread_and_ends_at_its_deadline_otherwise() {
        let progress = Waits::default();
        let count = AtomicU64::new(0);
        std::thread::scope(|scope| {
            let waiting = progress.waiting();
            scope.spawn(|| {
                for _ in 0..5 {
                    count.fetch_add(1, Ordering::Relaxed);
                    progress.turn();
                }
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            let seen = waiting.block_on(Some(deadline), || {
                let n = count.load(Ordering::Relaxed);
                (n == 5).then_some(n)
            });
            assert_eq!(seen, Some(5));
        });
        let waiting = progress.waiting();
        let never = waiting.block_on(Some(Instant::now()), || None::<()>);
        assert_eq!(never, None);
    }

    #[test]
    fn a_finished_server_ends_every_wait() {
        let progress = Waits::default();
        progress.finish();
        let waiting = progress.waiting();
        assert_eq!(waiting.block_on(None, || None::<()>), None);
    }

    #[test]
    fn nobody_waiting_costs_no_lock() {
        let progress = Waits::default();
        progress.turn();
        assert_eq!(progress.lock().generation, 0);
        let waiting = progress.waiting();
        progress.turn();
        assert_eq!(progress.lock().generation, 1);
        drop(waiting);
        progress.turn();
        assert_eq!(progress.lock().generation, 1);
    }
}
