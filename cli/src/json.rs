//! What every `--json` output shares: times in milliseconds, numbers no finer than what
//! was measured, and the object printed when a run fails (docs/cli.md).

use std::time::Duration;

use serde::Serialize;
use socket_echo::Latency;

use crate::Exit;
use crate::flags::Failure;

/// A duration in milliseconds, the one time unit of every JSON object, to the nanosecond
/// it was measured in. Divided from whole nanoseconds, so a round trip of 73 226 ns prints
/// as `0.073226`, never as `0.07322600000000001`.
pub fn ms(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1e6
}

/// `value` rounded to `decimals` places (a rate or a share computed from counts, whose
/// further digits say nothing).
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Round trips (`rtt_ms` of `ping` and `bench`), in milliseconds.
#[derive(Debug, Serialize)]
pub struct RttJson {
    count: u64,
    min: f64,
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl RttJson {
    /// `None` for a run without round trips (bulk, or nothing echoed): not zero ones.
    pub fn new(l: &Latency) -> Option<Self> {
        (l.count() > 0).then(|| RttJson {
            count: l.count(),
            min: ms(l.min()),
            mean: ms(l.mean()),
            p50: ms(l.p50()),
            p90: ms(l.p90()),
            p99: ms(l.p99()),
            max: ms(l.max()),
        })
    }
}

/// The object every subcommand prints with `--json` when it ends without a result: the
/// address it was given cannot be served or reached, a flag was refused.
#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    r#type: &'static str,
    command: &'a str,
    address: Option<&'a str>,
    error: &'a str,
    error_kind: &'static str,
    exit_status: u8,
}

impl<'a> ErrorJson<'a> {
    pub fn new(command: &'a str, address: Option<&'a str>, failure: &'a Failure) -> Self {
        ErrorJson {
            r#type: "error",
            command,
            address,
            error: &failure.message,
            error_kind: failure.kind,
            exit_status: match failure.exit {
                Exit::Success => 0,
                Exit::Failed => 1,
                Exit::Usage => 2,
            },
        }
    }

    /// The object as one line of JSON.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_print_as_measured() {
        let rtt = Duration::from_nanos(73_226);
        assert_eq!(serde_json::to_string(&ms(rtt)).unwrap(), "0.073226");
        assert_eq!(
            serde_json::to_string(&ms(Duration::from_micros(4_095_999))).unwrap(),
            "4095.999"
        );
        assert_eq!(ms(Duration::ZERO), 0.0);
    }

    #[test]
    fn rounding_keeps_the_digits_asked_for() {
        assert_eq!(
            serde_json::to_string(&round(100.0 / 3.0, 2)).unwrap(),
            "33.33"
        );
        assert_eq!(round(71_454.957_647, 1), 71_455.0);
        assert_eq!(round(36.584_938, 3), 36.585);
    }
}
