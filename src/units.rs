//! The one grammar of values written as text, with their units: durations (`50ms`, `1.5s`),
//! sizes (`1000`, `64KiB`, `1.5MB`) and rates (`64KiB/s`). The fault SPEC parses its values
//! here, and so does the `socket-echo` tool for its flags, so the two take the same words.
//! Nothing here knows a flag or a fault: the caller names the part that was wrong.

use std::borrow::Cow;
use std::time::Duration;

use crate::options::{MAX_DURATION, TOO_LONG};

/// Why a value written as text was refused: a lowercase sentence naming what was wrong with
/// it, without the value itself (the caller names where it was written).
///
/// # Examples
///
/// ```
/// let error = socket_echo::parse_duration("5").unwrap_err();
/// assert_eq!(error.to_string(), "a duration needs a unit: ns, us, ms, s, m or h");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseValueError {
    reason: Cow<'static, str>,
}

impl ParseValueError {
    fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        ParseValueError {
            reason: reason.into(),
        }
    }
}

/// The units of time, from the shortest, with their length in seconds.
const TIME_UNITS: [(&str, f64); 7] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
];

/// The units of size, with their number of bytes: SI multiples (`KB`, 1,000) and binary
/// ones (`KiB`, 1,024).
const SIZE_UNITS: [(&str, u64); 11] = [
    ("B", 1),
    ("K", 1_000),
    ("KB", 1_000),
    ("kB", 1_000),
    ("KiB", 1 << 10),
    ("M", 1_000_000),
    ("MB", 1_000_000),
    ("MiB", 1 << 20),
    ("G", 1_000_000_000),
    ("GB", 1_000_000_000),
    ("GiB", 1 << 30),
];

/// Splits `12.5ms` into `12.5` and `ms`.
fn number_and_unit(text: &str) -> (&str, &str) {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(split)
}

/// Parses a duration with its unit: `ns`, `us` (or `µs`), `ms`, `s`, `m` or `h`, after a
/// whole or decimal number (`250us`, `1.5s`, `2m`). A plain number is refused (`5` could
/// mean seconds or milliseconds), and so is anything longer than
/// [`MAX_DURATION`](crate::MAX_DURATION).
///
/// # Errors
///
/// [`ParseValueError`] saying what was wrong: no unit, an unknown unit, not a number, a
/// negative number, too long.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use socket_echo::parse_duration;
///
/// assert_eq!(parse_duration("250us")?, Duration::from_micros(250));
/// assert_eq!(parse_duration("1.5s")?, Duration::from_millis(1500));
/// assert_eq!(parse_duration("2m")?, Duration::from_secs(120));
/// assert!(parse_duration("5").is_err());
/// # Ok::<(), socket_echo::ParseValueError>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ParseValueError> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(ParseValueError::new(
            "a duration is 0 or more, not negative",
        ));
    }
    let (number, unit) = number_and_unit(text);
    let value: f64 = number
        .parse()
        .map_err(|_| ParseValueError::new("not a duration like 200ms, 1.5s or 2m"))?;
    let scale = match TIME_UNITS.iter().find(|(name, _)| *name == unit) {
        Some((_, scale)) => *scale,
        None if unit.is_empty() => {
            return Err(ParseValueError::new(
                "a duration needs a unit: ns, us, ms, s, m or h",
            ));
        }
        None => {
            return Err(ParseValueError::new(
                "unknown unit of time: use ns, us, ms, s, m or h",
            ));
        }
    };
    // Whole numbers of a unit are exact; a decimal goes through seconds as a float.
    let duration = match number.parse::<u64>() {
        Ok(whole) => whole_duration(whole, unit),
        Err(_) => Duration::try_from_secs_f64(value * scale).ok(),
    };
    match duration {
        Some(duration) if duration <= MAX_DURATION => Ok(duration),
        _ => Err(ParseValueError::new(TOO_LONG)),
    }
}

/// `whole` of `unit`, exactly; `None` past the range of a `Duration`.
fn whole_duration(whole: u64, unit: &str) -> Option<Duration> {
    match unit {
        "ns" => Some(Duration::from_nanos(whole)),
        "us" | "µs" => Some(Duration::from_micros(whole)),
        "ms" => Some(Duration::from_millis(whole)),
        "s" => Some(Duration::from_secs(whole)),
        "m" => whole.checked_mul(60).map(Duration::from_secs),
        _ => whole.checked_mul(3600).map(Duration::from_secs),
    }
}

/// Parses a size in bytes: a number with an optional unit, `B`, `KB` (or `K`, `kB`: 1,000),
/// `KiB` (1,024), `MB`, `MiB`, `GB` or `GiB` (`1000`, `64KiB`, `1.5MB`). A decimal is taken
/// if it makes whole bytes.
///
/// # Errors
///
/// [`ParseValueError`] saying what was wrong: an unknown unit, not a number, a negative
/// number, a fraction of a byte, more than `u64::MAX`.
///
/// # Examples
///
/// ```
/// use socket_echo::parse_size;
///
/// assert_eq!(parse_size("1000")?, 1000);
/// assert_eq!(parse_size("64KiB")?, 65_536);
/// assert_eq!(parse_size("1.5MB")?, 1_500_000);
/// assert!(parse_size("1.5B").is_err());
/// # Ok::<(), socket_echo::ParseValueError>(())
/// ```
pub fn parse_size(text: &str) -> Result<u64, ParseValueError> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(ParseValueError::new("a size is 0 or more, not negative"));
    }
    let (number, unit) = number_and_unit(text);
    if number.is_empty() {
        return Err(ParseValueError::new("not a size like 1000, 64KiB or 1.5MB"));
    }
    let scale = match SIZE_UNITS.iter().find(|(name, _)| *name == unit) {
        Some((_, scale)) => *scale,
        None if unit.is_empty() => 1,
        None => {
            return Err(ParseValueError::new(
                "unknown unit of size: use B, KB, KiB, MB, MiB, GB or GiB",
            ));
        }
    };
    if let Ok(whole) = number.parse::<u64>() {
        return whole
            .checked_mul(scale)
            .ok_or_else(|| ParseValueError::new("too large: at most 18446744073709551615 bytes"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| ParseValueError::new("not a size like 1000, 64KiB or 1.5MB"))?;
    let total = value * scale as f64;
    if total >= u64::MAX as f64 {
        return Err(ParseValueError::new(
            "too large: at most 18446744073709551615 bytes",
        ));
    }
    if total.fract() != 0.0 {
        return Err(ParseValueError::new("not a whole number of bytes"));
    }
    Ok(total as u64)
}

/// Parses a rate in bytes a second: a [size](parse_size) with an optional `/s`
/// (`64KiB/s`, `1MB`).
///
/// # Errors
///
/// As [`parse_size`].
///
/// # Examples
///
/// ```
/// use socket_echo::parse_rate;
///
/// assert_eq!(parse_rate("64KiB/s")?, 65_536);
/// assert_eq!(parse_rate("1MB")?, 1_000_000);
/// # Ok::<(), socket_echo::ParseValueError>(())
/// ```
pub fn parse_rate(text: &str) -> Result<u64, ParseValueError> {
    let text = text.trim();
    parse_size(text.strip_suffix("/s").unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_of_time_is_taken() {
        for (text, expected) in [
            ("7ns", Duration::from_nanos(7)),
            ("7us", Duration::from_micros(7)),
            ("7µs", Duration::from_micros(7)),
            ("7ms", Duration::from_millis(7)),
            ("7s", Duration::from_secs(7)),
            ("7m", Duration::from_secs(420)),
            ("7h", Duration::from_secs(25_200)),
            ("0.5s", Duration::from_millis(500)),
            ("0s", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn a_duration_without_its_unit_or_out_of_range_is_refused() {
        for (text, says) in [
            ("5", "needs a unit"),
            ("5d", "unknown unit"),
            ("ms", "not a duration"),
            ("-1s", "negative"),
            ("1.2.3s", "not a duration"),
            ("18446744073709551615h", "longer than"),
            ("1e400s", "unknown unit"),
        ] {
            let error = parse_duration(text).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        assert_eq!(
            parse_duration(&format!("{}s", MAX_DURATION.as_secs())),
            Ok(MAX_DURATION)
        );
        assert!(parse_duration(&format!("{}s", MAX_DURATION.as_secs() + 1)).is_err());
    }

    #[test]
    fn sizes_take_si_and_binary_units() {
        for (text, expected) in [
            ("0", 0),
            ("1000", 1000),
            ("10B", 10),
            ("1K", 1000),
            ("1KB", 1000),
            ("1kB", 1000),
            ("1KiB", 1024),
            ("64KiB", 65_536),
            ("2MB", 2_000_000),
            ("2MiB", 2 << 20),
            ("1GB", 1_000_000_000),
            ("1GiB", 1 << 30),
            ("1.5MB", 1_500_000),
            ("0.5KiB", 512),
        ] {
            assert_eq!(parse_size(text), Ok(expected), "{text}");
        }
        assert_eq!(parse_rate("64KiB/s"), Ok(65_536));
        assert_eq!(parse_rate("64KiB"), Ok(65_536));
    }

    #[test]
    fn a_size_that_is_not_whole_bytes_or_too_large_is_refused() {
        for (text, says) in [
            ("1.5B", "whole number of bytes"),
            ("1KiBs", "unknown unit"),
            ("-1", "negative"),
            ("abc", "not a size"),
            ("18446744073709551615KiB", "too large"),
            ("1e30", "unknown unit"),
            ("64KiB/s", "unknown unit"),
        ] {
            let error = parse_size(text).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
