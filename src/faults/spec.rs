//! The text form of a fault, `KIND[=VALUE][,KEY=VALUE...]`: parsed by `FromStr`, printed by
//! `Display`, one the inverse of the other.
//!
//! Values: durations with a unit (`50ms`, `1.5s`, `200us`, `2m`); sizes in bytes with an
//! optional unit (`1000`, `64KiB`, `1MB`, and for rates an optional `/s`), both read by the
//! crate's one grammar of values ([`parse_duration`], [`parse_size`], [`parse_rate`]), as the
//! tool's flags are; probabilities from 0 to 1 or as a percentage (`0.3`, `30%`). A wrong
//! SPEC is refused with the part that was wrong.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use super::fault::{BURST_TOO_SHORT, is_mean_burst};
use super::{DEFAULT_REORDER_HOLD, Distribution, Fault, FaultKind, Faults, Peer};
use crate::addr::{Address, UnixAddr};
use crate::error::Error;
use crate::transport::{BadCertificate, HandshakeStall};
use crate::units::{parse_duration, parse_rate, parse_size};

const KINDS: &str = "delay, slice, rate, shared-rate, stall-after, close-after, reset-after, \
                     close-in, reset-in, slow-close, blackhole, accept-close, accept-delay, \
                     drop, duplicate, reorder, truncate, corrupt, tls-stall, tls-reset, tls-cert, \
                     tls-truncate";

fn wrong(part: &str, reason: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::InvalidFault {
        fault: part.to_owned(),
        reason: reason.into(),
    }
}

/// Parses a duration with its unit, in the crate's one grammar of values (the tool's
/// flags take the same): `50ms`, `1.5s`, `200us`, `2m`.
fn duration(part: &str, text: &str) -> Result<Duration, Error> {
    parse_duration(text).map_err(|error| wrong(part, error.to_string()))
}

/// True if `text` is written as a duration (ends with a unit of time), not a byte count.
fn is_duration(text: &str) -> bool {
    ["ns", "us", "µs", "ms", "s", "m", "h"]
        .iter()
        .any(|unit| text.ends_with(unit))
        && text.starts_with(|c: char| c.is_ascii_digit() || c == '.')
}

/// Parses a byte count, in the crate's one grammar of values: `1000`, `64KiB`, `1.5MB`
/// (and `64KiB/s` when `rate`).
fn bytes(part: &str, text: &str, rate: bool) -> Result<u64, Error> {
    let parsed = if rate {
        parse_rate(text)
    } else {
        parse_size(text)
    };
    parsed.map_err(|error| wrong(part, error.to_string()))
}

fn count(part: &str, text: &str) -> Result<u64, Error> {
    text.parse()
        .map_err(|_| wrong(part, "not a whole number like 1000"))
}

/// Parses a probability: `0.3` or `30%`, from 0 to 1.
fn probability(part: &str, text: &str) -> Result<f64, Error> {
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    }
    .map_err(|_| wrong(part, "not a probability like 0.3 or 30%"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(wrong(part, "a probability is between 0 and 1"));
    }
    Ok(value)
}

/// Parses a peer: `IP:PORT`, `[IPv6]:PORT`, `IP` (any port), `/path` or `@name`.
fn peer(part: &str, text: &str) -> Result<Peer, Error> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(Peer::Exact(addr.into()));
    }
    if let Ok(ip) = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(Peer::Ip(ip));
    }
    let unix = if let Some(name) = text.strip_prefix('@') {
        UnixAddr::from_abstract_name(name)
    } else if text.starts_with('/') || text.starts_with('.') {
        UnixAddr::from_pathname(text)
    } else {
        return Err(wrong(
            part,
            "not a peer like 127.0.0.1:4000, 127.0.0.1, /path or @name",
        ));
    };
    unix.map(|addr| Peer::Exact(addr.into()))
        .map_err(|e| wrong(part, format!("not a Unix socket address: {e}")))
}

impl FromStr for Fault {
    type Err = Error;

    /// Parses one SPEC, `KIND[=VALUE][,KEY=VALUE...]`.
    fn from_str(spec: &str) -> Result<Self, Error> {
        let mut parts = spec.split(',').map(str::trim);
        let head = parts.next().unwrap_or_default();
        let (name, value) = match head.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (head, None),
        };
        let need = |what: &'static str| -> Result<&str, Error> {
            value.ok_or_else(|| wrong(head, format!("`{name}` needs a value: {name}={what}")))
        };
        let none = |fault: Fault| -> Result<Fault, Error> {
            match value {
                Some(_) => Err(wrong(head, format!("`{name}` takes no value"))),
                None => Ok(fault),
            }
        };
        let chance = || value.map_or(Ok(1.0), |v| probability(head, v));
        let mut fault = match name {
            "delay" => Fault::delay(duration(head, need("50ms")?)?, Duration::ZERO),
            "slice" => {
                let size = count(head, need("16")?)?;
                let size = usize::try_from(size).map_err(|_| wrong(head, "slice too large"))?;
                Fault::slice(size, Duration::ZERO)
            }
            "rate" => Fault::rate(bytes(head, need("64KiB")?, true)?),
            "shared-rate" => Fault::shared_rate(bytes(head, need("1MiB")?, true)?),
            "stall-after" => Fault::stall_after(bytes(head, need("1000")?, false)?),
            "close-after" => Fault::close_after(bytes(head, need("1000")?, false)?),
            "reset-after" => {
                let value = need("1000 or 2s")?;
                if is_duration(value) {
                    Fault::reset_after_time(duration(head, value)?)
                } else {
                    Fault::reset_after(bytes(head, value, false)?)
                }
            }
            "close-in" => Fault::close_in(duration(head, need("2s")?)?),
            "reset-in" => Fault::reset_in(duration(head, need("2s")?)?),
            "slow-close" => Fault::slow_close(duration(head, need("500ms")?)?),
            "blackhole" => none(Fault::blackhole())?,
            "accept-close" => none(Fault::accept_close())?,
            "accept-delay" => Fault::accept_delay(duration(head, need("200ms")?)?),
            "drop" => Fault::drop(chance()?),
            "duplicate" => Fault::duplicate(chance()?),
            "reorder" => Fault::reorder(chance()?),
            "truncate" => {
                let len = bytes(head, need("100")?, false)?;
                let len = usize::try_from(len).map_err(|_| wrong(head, "length too large"))?;
                Fault::truncate(len)
            }
            "corrupt" => Fault::corrupt(chance()?),
            "tls-stall" => {
                let at = need("hello or finished")?;
                Fault::tls_stall(
                    HandshakeStall::from_name(at)
                        .ok_or_else(|| wrong(head, "a handshake stalls at hello or finished"))?,
                )
            }
            "tls-reset" => match need("handshake")? {
                "handshake" => Fault::tls_reset(),
                _ => {
                    return Err(wrong(
                        head,
                        "a TLS reset comes at the handshake: tls-reset=handshake",
                    ));
                }
            },
            "tls-cert" => {
                let which = need("expired")?;
                Fault::tls_certificate(BadCertificate::from_name(which).ok_or_else(|| {
                    wrong(
                        head,
                        "a bad certificate is expired, not-yet-valid, wrong-name or untrusted",
                    )
                })?)
            }
            "tls-truncate" => match value {
                Some(value) => Fault::tls_truncate_after(bytes(head, value, false)?),
                None => Fault::tls_truncate(),
            },
            "" => {
                return Err(wrong(
                    spec,
                    "empty fault: expected KIND[=VALUE][,KEY=VALUE...]",
                ));
            }
            _ => return Err(wrong(head, format!("unknown fault (one of {KINDS})"))),
        };
        // The value of these kinds is their probability: a second one would contradict it.
        let probability_in_value =
            value.is_some() && matches!(name, "drop" | "duplicate" | "reorder" | "corrupt");
        let mut seen: Vec<&str> = Vec::new();
        for part in parts {
            let Some((key, text)) = part.split_once('=') else {
                return Err(wrong(part, "expected KEY=VALUE"));
            };
            let (key, text) = (key.trim(), text.trim());
            if seen.contains(&key) {
                return Err(wrong(part, format!("`{key}` given twice")));
            }
            seen.push(key);
            match (key, &mut fault.kind) {
                ("jitter", FaultKind::Delay { jitter, .. }) => *jitter = duration(part, text)?,
                ("dist", FaultKind::Delay { distribution, .. }) => {
                    *distribution = Distribution::from_name(text).ok_or_else(|| {
                        wrong(
                            part,
                            "unknown distribution (one of uniform, normal, pareto, paretonormal)",
                        )
                    })?;
                }
                ("correlation", FaultKind::Delay { correlation, .. }) => {
                    *correlation = probability(part, text)
                        .map_err(|_| wrong(part, "not a correlation like 0.25 or 25%"))?;
                }
                ("pause", FaultKind::Slice { pause, .. }) => *pause = duration(part, text)?,
                ("burst", FaultKind::Drop { burst }) => {
                    let mean: f64 = text
                        .parse()
                        .map_err(|_| wrong(part, "not a mean burst length like 4"))?;
                    if !is_mean_burst(mean) {
                        return Err(wrong(part, BURST_TOO_SHORT));
                    }
                    *burst = Some(mean);
                }
                ("hold", FaultKind::Reorder { hold }) => *hold = duration(part, text)?,
                ("probability", _) if probability_in_value => {
                    return Err(wrong(
                        part,
                        format!("`{head}` already gives the probability"),
                    ));
                }
                ("probability", _) => fault.probability = probability(part, text)?,
                ("connections" | "datagrams", _) => fault.connections = Some(count(part, text)?),
                ("after", _) => fault.after = count(part, text)?,
                ("peer", _) => fault.peer = Some(peer(part, text)?),
                _ => {
                    let own = match fault.kind {
                        FaultKind::Delay { .. } => "jitter, dist, correlation, ",
                        FaultKind::Slice { .. } => "pause, ",
                        FaultKind::Drop { .. } => "burst, ",
                        FaultKind::Reorder { .. } => "hold, ",
                        _ => "",
                    };
                    return Err(wrong(
                        part,
                        format!(
                            "unknown key for `{name}` (keys: {own}probability, connections, after, peer)"
                        ),
                    ));
                }
            }
        }
        // What each part allows, the whole may not (a `drop` probability its bursts cannot
        // reach): refused now, naming the whole SPEC, rather than when a server is given it.
        fault.validate()?;
        Ok(fault)
    }
}

impl FromStr for Faults {
    type Err = Error;

    /// Parses SPECs separated by `;` (an empty text is no fault); the seed stays 0.
    fn from_str(text: &str) -> Result<Self, Error> {
        text.split(';')
            .map(str::trim)
            .filter(|spec| !spec.is_empty())
            .try_fold(Faults::new(), |faults, spec| Ok(faults.with(spec.parse()?)))
    }
}

/// A duration in the largest unit that writes it exactly.
struct Time(Duration);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        for (unit, scale) in [("h", 3_600_000_000_000), ("m", 60_000_000_000)] {
            if nanos >= scale && nanos.is_multiple_of(scale) {
                return write!(f, "{}{unit}", nanos / scale);
            }
        }
        for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
            if nanos.is_multiple_of(scale) {
                return write!(f, "{}{unit}", nanos / scale);
            }
        }
        write!(f, "{nanos}ns")
    }
}

impl fmt::Display for Fault {
    /// Writes the fault as its SPEC, which parses back to an equal fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut probability_written = false;
        match self.kind {
            FaultKind::Delay {
                delay,
                jitter,
                distribution,
                correlation,
            } => {
                write!(f, "delay={}", Time(delay))?;
                if !jitter.is_zero() {
                    write!(f, ",jitter={}", Time(jitter))?;
                }
                if distribution != Distribution::Uniform {
                    write!(f, ",dist={}", distribution.name())?;
                }
                if correlation != 0.0 {
                    write!(f, ",correlation={correlation}")?;
                }
            }
            FaultKind::Slice { size, pause } => {
                write!(f, "slice={size}")?;
                if !pause.is_zero() {
                    write!(f, ",pause={}", Time(pause))?;
                }
            }
            FaultKind::Rate { bytes_per_second } => write!(f, "rate={bytes_per_second}")?,
            FaultKind::SharedRate { bytes_per_second } => {
                write!(f, "shared-rate={bytes_per_second}")?
            }
            FaultKind::StallAfter { bytes } => write!(f, "stall-after={bytes}")?,
            FaultKind::CloseAfter { bytes } => write!(f, "close-after={bytes}")?,
            FaultKind::ResetAfter { bytes } => write!(f, "reset-after={bytes}")?,
            FaultKind::ResetAfterTime { time } => write!(f, "reset-in={}", Time(time))?,
            FaultKind::CloseAfterTime { time } => write!(f, "close-in={}", Time(time))?,
            FaultKind::SlowClose { delay } => write!(f, "slow-close={}", Time(delay))?,
            FaultKind::Blackhole => write!(f, "blackhole")?,
            FaultKind::AcceptClose => write!(f, "accept-close")?,
            FaultKind::AcceptDelay { delay } => write!(f, "accept-delay={}", Time(delay))?,
            FaultKind::Drop { burst } => {
                write!(f, "drop={}", self.probability)?;
                if let Some(burst) = burst {
                    write!(f, ",burst={burst}")?;
                }
                probability_written = true;
            }
            FaultKind::Duplicate | FaultKind::Corrupt => {
                write!(f, "{}={}", self.kind.name(), self.probability)?;
                probability_written = true;
            }
            FaultKind::Reorder { hold } => {
                write!(f, "reorder={}", self.probability)?;
                if hold != DEFAULT_REORDER_HOLD {
                    write!(f, ",hold={}", Time(hold))?;
                }
                probability_written = true;
            }
            FaultKind::Truncate { len } => write!(f, "truncate={len}")?,
            FaultKind::TlsStall { at } => write!(f, "tls-stall={}", at.name())?,
            FaultKind::TlsReset => write!(f, "tls-reset=handshake")?,
            FaultKind::TlsCertificate { certificate } => {
                write!(f, "tls-cert={}", certificate.name())?
            }
            FaultKind::TlsTruncate { bytes: None } => write!(f, "tls-truncate")?,
            FaultKind::TlsTruncate { bytes: Some(bytes) } => write!(f, "tls-truncate={bytes}")?,
        }
        if !probability_written && self.probability != 1.0 {
            write!(f, ",probability={}", self.probability)?;
        }
        if let Some(connections) = self.connections {
            write!(f, ",connections={connections}")?;
        }
        if self.after != 0 {
            write!(f, ",after={}", self.after)?;
        }
        match &self.peer {
            Some(Peer::Exact(Address::Ip(addr))) => write!(f, ",peer={addr}")?,
            Some(Peer::Exact(addr)) => write!(f, ",peer={addr}")?,
            Some(Peer::Ip(ip)) => write!(f, ",peer={ip}")?,
            None => {}
        }
        Ok(())
    }
}

impl fmt::Display for Faults {
    /// Writes the SPECs separated by `; ` (the seed is not part of the text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.faults.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            fault.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
