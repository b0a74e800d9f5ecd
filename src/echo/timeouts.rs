//! How long each blocking call of a client exchange may wait: its own timeout, what is left of
//! the exchange's deadline, and, while a stop flag is watched, a short slice, whichever is
//! least; and which of them ran out when a call timed out.
//!
//! The socket's own timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO`) does the waiting, so a call never
//! spins. The timeout is set again only when the wait it should have differs from the one the
//! socket holds by more than [`SLACK`], so an exchange far from its deadline makes no extra
//! system call. This module never reads or writes a byte itself.

use std::io;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::transport::sealed::Socket;

/// How far the timeout a socket holds may be from the wait a call should have before it is
/// set again: a deadline is kept to within this much.
pub(crate) const SLACK: Duration = Duration::from_millis(1);

/// A socket whose receive and send timeouts can be set.
pub(crate) trait SetTimeouts {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

/// Any socket of a transport, through its capability.
impl<S: Socket> SetTimeouts for S {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Socket::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Socket::set_write_timeout(self, timeout)
    }
}

/// Which way a call moves bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// The limit that set a call's wait, and so the one that ran out if it timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitLimit {
    /// The call's own timeout (a read or write timeout, or what is left of a UDP attempt).
    Call,
    /// The deadline of the whole exchange.
    Deadline,
    /// A short wait, so that a stop flag is looked at again soon.
    Slice,
}

/// The wait of one call: the least of the call's own timeout, what is left until the
/// deadline and the slice (`None` for each means no limit from it), with the limit that set
/// it. `None` once the deadline has passed: the call must not be made.
pub(crate) fn wait(
    call: Option<Duration>,
    left: Option<Duration>,
    slice: Option<Duration>,
) -> Option<(Option<Duration>, WaitLimit)> {
    if left.is_some_and(|left| left.is_zero()) {
        return None;
    }
    let mut least = (call, WaitLimit::Call);
    for (limit, kind) in [(left, WaitLimit::Deadline), (slice, WaitLimit::Slice)] {
        if let Some(limit) = limit
            && least.0.is_none_or(|least| limit < least)
        {
            least = (Some(limit), kind);
        }
    }
    Some(least)
}

/// True if a socket holding `current` can serve a call that should wait `wanted`.
fn close_enough(current: Option<Duration>, wanted: Option<Duration>) -> bool {
    match (current, wanted) {
        (Some(current), Some(wanted)) => current.abs_diff(wanted) <= SLACK,
        (current, wanted) => current == wanted,
    }
}

/// The limits of one exchange on one socket, and the timeouts the socket holds now.
#[derive(Debug)]
pub(crate) struct Limits {
    deadline: Option<Instant>,
    slice: Option<Duration>,
    /// What the socket held when the exchange began, put back by [`restore`](Self::restore).
    initial: [Option<Duration>; 2],
    /// What the socket holds now.
    current: [Option<Duration>; 2],
    /// The limit of the last wait set for each direction.
    armed: [WaitLimit; 2],
}

impl Limits {
    /// Limits on a socket that holds the `read` and `write` timeouts now.
    pub(crate) fn new(read: Option<Duration>, write: Option<Duration>) -> Self {
        Limits {
            deadline: None,
            slice: None,
            initial: [read, write],
            current: [read, write],
            armed: [WaitLimit::Call; 2],
        }
    }

    /// Sets (or clears) the instant every call must be done by.
    pub(crate) fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Sets (or clears) the longest a call may wait, whatever its other limits.
    #[cfg(feature = "measure")]
    pub(crate) fn set_slice(&mut self, slice: Option<Duration>) {
        self.slice = slice;
    }

    /// True once the deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// Sets the socket's timeout for the next call in `direction`, whose own limit is
    /// `call`. Returns `false`, setting nothing, if the deadline has passed.
    ///
    /// # Errors
    ///
    /// [`Error::SetOption`] if the system refuses the timeout.
    pub(crate) fn arm<S: SetTimeouts>(
        &mut self,
        socket: &S,
        direction: Direction,
        call: Option<Duration>,
    ) -> Result<bool> {
        let left = self
            .deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let Some((wanted, limit)) = wait(call, left, self.slice) else {
            return Ok(false);
        };
        let index = direction as usize;
        self.armed[index] = limit;
        if !close_enough(self.current[index], wanted) {
            set(socket, direction, wanted)?;
            self.current[index] = wanted;
        }
        Ok(true)
    }

    /// The limit that ran out when the last call in `direction` timed out.
    pub(crate) fn fired(&self, direction: Direction) -> WaitLimit {
        if self.expired() {
            WaitLimit::Deadline
        } else {
            self.armed[direction as usize]
        }
    }

    /// Puts back the timeouts the socket held when the exchange began.
    ///
    /// # Errors
    ///
    /// [`Error::SetOption`] if the system refuses them.
    pub(crate) fn restore<S: SetTimeouts>(&mut self, socket: &S) -> Result<()> {
        for direction in [Direction::Read, Direction::Write] {
            let index = direction as usize;
            if self.current[index] != self.initial[index] {
                set(socket, direction, self.initial[index])?;
                self.current[index] = self.initial[index];
            }
        }
        Ok(())
    }
}

fn set<S: SetTimeouts>(socket: &S, direction: Direction, timeout: Option<Duration>) -> Result<()> {
    match direction {
        Direction::Read => socket
            .set_read_timeout(timeout)
            .map_err(|source| Error::SetOption {
                option: "read_timeout",
                source,
            }),
        Direction::Write => socket
            .set_write_timeout(timeout)
            .map_err(|source| Error::SetOption {
                option: "write_timeout",
                source,
            }),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    #[test]
    fn the_least_limit_sets_the_wait() {
        assert_eq!(wait(None, None, None), Some((None, WaitLimit::Call)));
        assert_eq!(wait(ms(10), None, None), Some((ms(10), WaitLimit::Call)));
        assert_eq!(
            wait(ms(10), ms(5), None),
            Some((ms(5), WaitLimit::Deadline))
        );
        assert_eq!(wait(None, ms(5), None), Some((ms(5), WaitLimit::Deadline)));
        assert_eq!(wait(ms(10), ms(50), ms(1)), Some((ms(1), WaitLimit::Slice)));
        assert_eq!(wait(None, None, ms(100)), Some((ms(100), WaitLimit::Slice)));
        // A tie goes to the call's own timeout: that is the one to name.
        assert_eq!(wait(ms(10), ms(10), None), Some((ms(10), WaitLimit::Call)));
        assert_eq!(wait(ms(10), Some(Duration::ZERO), ms(1)), None);
    }

    /// A socket that records every timeout set on it.
    #[derive(Default)]
    struct Recorder(RefCell<Vec<(Direction, Option<Duration>)>>);

    impl SetTimeouts for Recorder {
        fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            self.0.borrow_mut().push((Direction::Read, timeout));
            Ok(())
        }

        fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            self.0.borrow_mut().push((Direction::Write, timeout));
            Ok(())
        }
    }

    #[test]
    fn far_from_the_deadline_nothing_is_set() {
        let socket = Recorder::default();
        let mut limits = Limits::new(ms(10_000), ms(10_000));
        limits.set_deadline(Some(Instant::now() + Duration::from_secs(60)));
        for _ in 0..3 {
            assert!(limits.arm(&socket, Direction::Read, ms(10_000)).unwrap());
            assert!(limits.arm(&socket, Direction::Write, ms(10_000)).unwrap());
        }
        assert!(socket.0.borrow().is_empty());
        assert_eq!(limits.fired(Direction::Read), WaitLimit::Call);
        limits.restore(&socket).unwrap();
        assert!(socket.0.borrow().is_empty());
    }

    #[test]
    fn near_the_deadline_the_wait_shrinks_and_is_restored() {
        let socket = Recorder::default();
        let mut limits = Limits::new(ms(10_000), None);
        limits.set_deadline(Some(Instant::now() + Duration::from_secs(2)));
        assert!(limits.arm(&socket, Direction::Read, ms(10_000)).unwrap());
        assert!(limits.arm(&socket, Direction::Write, None).unwrap());
        {
            let set = socket.0.borrow();
            assert_eq!(set.len(), 2);
            for (_, timeout) in set.iter() {
                let timeout = timeout.unwrap();
                assert!(timeout <= Duration::from_secs(2) && timeout > Duration::from_secs(1));
            }
        }
        assert_eq!(limits.fired(Direction::Read), WaitLimit::Deadline);
        limits.restore(&socket).unwrap();
        let set = socket.0.borrow();
        assert_eq!(
            set[2..],
            [(Direction::Read, ms(10_000)), (Direction::Write, None)]
        );
    }

    #[cfg(feature = "measure")]
    #[test]
    fn a_slice_is_set_once() {
        let socket = Recorder::default();
        let mut limits = Limits::new(ms(1_000), ms(10_000));
        limits.set_slice(ms(100));
        for _ in 0..3 {
            assert!(limits.arm(&socket, Direction::Write, ms(10_000)).unwrap());
        }
        assert_eq!(*socket.0.borrow(), [(Direction::Write, ms(100))]);
        assert_eq!(limits.fired(Direction::Write), WaitLimit::Slice);
    }

    #[test]
    fn past_the_deadline_no_call_is_armed() {
        let socket = Recorder::default();
        let mut limits = Limits::new(None, None);
        limits.set_deadline(Some(Instant::now()));
        assert!(!limits.arm(&socket, Direction::Read, None).unwrap());
        assert!(limits.expired());
        assert_eq!(limits.fired(Direction::Read), WaitLimit::Deadline);
        assert!(socket.0.borrow().is_empty());
    }
}
