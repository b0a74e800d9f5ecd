//! [`Options::validate`]: every value checked before a socket is made, naming the first one
//! that is refused and why.

use std::time::Duration;

use super::Options;
use super::apply::invalid;
use super::values::*;
use crate::error::Result;

impl Options {
    /// Checks every value, naming the first one that is refused.
    ///
    /// Binding and connecting call this first; call it yourself to check options early.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) for a zero timeout or one the system would round to zero (a
    /// socket timeout under one microsecond, an idle timeout under one millisecond), an
    /// idle timeout beyond the server's clock, any other duration beyond
    /// [`MAX_DURATION`](crate::MAX_DURATION) (a linger beyond what `SO_LINGER` holds), a
    /// zero buffer or backlog, a TTL outside 1 to 255, a keepalive time or interval under
    /// one second or over 32,767 seconds (or over 127 probes), or a size outside its range
    /// (see the table on [`Options`]), or a source rate limit with a zero rate or burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use socket_echo::{Error, Options};
    ///
    /// let options = Options::new().with_read_timeout(Some(Duration::ZERO));
    /// assert!(matches!(
    ///     options.validate(),
    ///     Err(Error::InvalidOption { option: "read_timeout", .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (option, value) in [
            ("read_timeout", self.read_timeout),
            ("write_timeout", self.write_timeout),
            ("connect_timeout", self.connect_timeout),
            ("echo_deadline", self.echo_deadline),
        ] {
            if let Some(value) = value {
                check_socket_timeout(option, value)?;
            }
        }
        if let Some(keepalive) = self.keepalive {
            // Linux's bounds (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT): beyond
            // them it refuses the option with EINVAL as each connection is accepted.
            let most = Duration::from_secs(32_767);
            if keepalive.time.is_some_and(|time| time > most) {
                return Err(invalid(
                    "keepalive.time",
                    "must be at most 32,767 seconds, the longest Linux takes",
                ));
            }
            if keepalive.interval.is_some_and(|interval| interval > most) {
                return Err(invalid(
                    "keepalive.interval",
                    "must be at most 32,767 seconds, the longest Linux takes",
                ));
            }
            if keepalive.probes.is_some_and(|probes| probes > 127) {
                return Err(invalid(
                    "keepalive.probes",
                    "must be at most 127, the most Linux takes",
                ));
            }
            // Linux takes whole seconds: anything shorter becomes 0, which it refuses.
            let second = Duration::from_secs(1);
            if keepalive.time.is_some_and(|time| time < second) {
                return Err(invalid("keepalive.time", "must be at least one second"));
            }
            if keepalive.interval.is_some_and(|interval| interval < second) {
                return Err(invalid("keepalive.interval", "must be at least one second"));
            }
            if keepalive.probes == Some(0) {
                return Err(invalid("keepalive.probes", "must be at least 1"));
            }
        }
        for (option, size) in [
            ("recv_buffer_size", self.recv_buffer_size),
            ("send_buffer_size", self.send_buffer_size),
        ] {
            if size == Some(0) {
                return Err(invalid(option, "must be at least 1 byte"));
            }
            if size.is_some_and(|size| size > C_INT_MAX) {
                return Err(invalid(
                    option,
                    "must be at most 2,147,483,647 bytes, the largest the socket option takes",
                ));
            }
        }
        // SO_LINGER takes whole seconds in a C `int`: more would wrap, to 0 or below.
        if self
            .linger
            .is_some_and(|linger| linger.as_secs() > C_INT_MAX as u64)
        {
            return Err(invalid(
                "linger",
                "must be at most 2,147,483,647 seconds, the largest SO_LINGER takes",
            ));
        }
        check_duration("shutdown_grace", self.shutdown_grace)?;
        if let Some(ttl) = self.ttl
            && !(1..=255).contains(&ttl)
        {
            return Err(invalid("ttl", "must be between 1 and 255"));
        }
        if self.backlog == 0 {
            return Err(invalid("backlog", "must be at least 1"));
        }
        if self.backlog as usize > C_INT_MAX {
            return Err(invalid(
                "backlog",
                "must be at most 2,147,483,647, the largest listen(2) takes",
            ));
        }
        if self.buffer_size == 0 {
            return Err(invalid("buffer_size", "must be at least 1 byte"));
        }
        if self.buffer_size > MAX_BUFFER_SIZE {
            return Err(invalid(
                "buffer_size",
                "must be at most 16 MiB (MAX_BUFFER_SIZE)",
            ));
        }
        if self
            .workers
            .is_some_and(|workers| workers.get() > MAX_WORKERS)
        {
            return Err(invalid("workers", "must be at most 1,024 (MAX_WORKERS)"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if let Some(idle) = self.idle_timeout {
            if idle.is_zero() {
                return Err(invalid(
                    "idle_timeout",
                    "a zero idle timeout would close every connection at once; use None to keep idle connections",
                ));
            }
            // The engine's clock counts whole milliseconds on 32 bits.
            if idle < Duration::from_millis(1) {
                return Err(invalid(
                    "idle_timeout",
                    "under one millisecond, which the server's millisecond clock reads as zero: every connection would be closed at the first sweep",
                ));
            }
            if idle > CLOCK_RANGE {
                return Err(invalid(
                    "idle_timeout",
                    "longer than the server's clock measures (about 24 days); use None to keep idle connections",
                ));
            }
        }
        if self.max_pending < MIN_MAX_PENDING {
            return Err(invalid(
                "max_pending",
                "must be at least 1 KiB (MIN_MAX_PENDING): the server moves at most this many bytes per system call",
            ));
        }
        if self.max_connections_per_source == Some(0) {
            return Err(invalid(
                "max_connections_per_source",
                "must be at least 1; use None for no per-source limit",
            ));
        }
        if self.connection_socket_buffers == Some(0) {
            return Err(invalid(
                "connection_socket_buffers",
                "must be at least 1 byte; use None for the system's default",
            ));
        }
        if self
            .connection_socket_buffers
            .is_some_and(|size| size > C_INT_MAX)
        {
            return Err(invalid(
                "connection_socket_buffers",
                "must be at most 2,147,483,647 bytes, the largest the socket option takes",
            ));
        }
        if self.max_pending > MAX_BUFFER_SIZE {
            return Err(invalid(
                "max_pending",
                "must be at most 16 MiB (MAX_BUFFER_SIZE)",
            ));
        }
        if let Some(limit) = self.source_rate_limit {
            if limit.rate == 0 {
                return Err(invalid(
                    "source_rate_limit.rate",
                    "must be at least 1 datagram a second; use None for no limit",
                ));
            }
            if limit.burst == 0 {
                return Err(invalid(
                    "source_rate_limit.burst",
                    "must be at least 1 datagram",
                ));
            }
        }
        Ok(())
    }
}

/// Why a duration beyond [`MAX_DURATION`] is refused, in the words of every refusal.
pub(crate) const TOO_LONG: &str =
    "longer than 100 years (MAX_DURATION), the longest duration the crate takes";

/// Refuses a duration longer than [`MAX_DURATION`], naming `option`; returns it otherwise.
///
/// Every parser and setter of the crate that takes a duration calls this (or compares with
/// [`MAX_DURATION`] itself, where its error names a SPEC or a flag rather than an option), so
/// a duration that could overflow the clock while a server runs never gets that far.
///
/// # Errors
///
/// [`Error::InvalidOption`](crate::Error::InvalidOption) naming `option`, for a duration
/// longer than [`MAX_DURATION`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::{check_duration, Error, MAX_DURATION};
///
/// assert_eq!(check_duration("interval", MAX_DURATION)?, MAX_DURATION);
/// assert!(matches!(
///     check_duration("interval", Duration::MAX),
///     Err(Error::InvalidOption { option: "interval", .. })
/// ));
/// # Ok::<(), socket_echo::Error>(())
/// ```
pub fn check_duration(option: &'static str, value: Duration) -> Result<Duration> {
    if value > MAX_DURATION {
        return Err(invalid(option, TOO_LONG));
    }
    Ok(value)
}

/// The finest step of a socket timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO` take a `timeval`).
pub(crate) const SOCKET_TIMEOUT_RESOLUTION: Duration = Duration::from_micros(1);

/// Refuses a socket timeout the system would take as "forever" or "at once": zero, or under
/// its microsecond resolution (a `timeval` of zero means no timeout at all).
pub(crate) fn check_socket_timeout(option: &'static str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(invalid(
            option,
            "a zero timeout would wait forever on some systems and fail at once on others; use None to wait forever",
        ));
    }
    if value < SOCKET_TIMEOUT_RESOLUTION {
        return Err(invalid(
            option,
            "under one microsecond, the resolution of socket timeouts: the system would round it to zero and wait forever",
        ));
    }
    check_duration(option, value)?;
    Ok(())
}
