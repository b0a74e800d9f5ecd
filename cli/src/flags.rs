//! What the subcommands share: reading values from the command line, turning the library's
//! errors into messages and exit codes, and stopping on Ctrl-C.

use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socket_echo::{Endpoint, Error};

use crate::Exit;

/// The error and each of its causes, on one line: `failed to connect to 127.0.0.1:9999:
/// Connection refused (os error 111)`.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The shortest duration any flag takes, except where zero has a meaning of its own
/// (`--shutdown-grace 0s`) or a longer floor makes sense (`--stats-every`).
pub const MIN_DURATION: Duration = Duration::from_millis(1);

/// Parses a duration with its unit: `1h`, `2m`, `1s`, `0.5s`, `200ms`, `500us`. A plain
/// number is refused, since `--timeout 5` could mean seconds or milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("`{text}` is negative: a duration is 0 or more"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 1s, 200ms or 2m"))?;
    let seconds = match unit {
        "" => {
            return Err(format!(
                "`{text}` has no unit: write {number}s, {number}ms, {number}us or {number}m"
            ));
        }
        "h" => value * 3600.0,
        "m" => value * 60.0,
        "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        _ => return Err(format!("unknown unit `{unit}`: use h, m, s, ms or us")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

/// A parser of durations of at least `floor`.
pub fn duration(
    floor: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text| {
        let duration = parse_duration(text)?;
        if duration < floor {
            return Err(format!("must be at least {}", shown(floor)));
        }
        Ok(duration)
    }
}

/// A duration as the flags take it: `100ms`, `1s`, `0s`.
pub fn shown(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// A parser of numbers of at least `min` (a negative one is refused in the same words).
pub fn at_least<T>(min: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |text| match text.trim().parse::<T>() {
        Ok(value) if value >= min => Ok(value),
        Ok(_) => Err(format!("must be at least {min}")),
        Err(_) if text.trim().starts_with('-') => Err(format!("must be at least {min}")),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

/// A command-line address, with `--udp` turning a stream address into its datagram
/// sibling.
pub fn endpoint(text: &str, udp: bool) -> Result<Endpoint, Exit> {
    match text.parse::<Endpoint>() {
        Ok(endpoint) if udp => Ok(endpoint.datagram()),
        Ok(endpoint) => Ok(endpoint),
        Err(error) => {
            log::error!("{}", report(&error));
            Err(Exit::Usage)
        }
    }
}

/// Logs a library error and says which exit status it means: a value the library refused
/// is a usage error, named by its flag, anything else a failure of what was run.
pub fn failed(error: &Error) -> Exit {
    match error {
        Error::InvalidOption { option, reason } => {
            log::error!("invalid value for {}: {reason}", flag_of(option));
            Exit::Usage
        }
        Error::DatagramTooLarge { .. } => {
            log::error!("--size: {}", report(error));
            Exit::Usage
        }
        _ => {
            log::error!("{}", report(error));
            Exit::Failed
        }
    }
}

/// The flag that sets a library option.
fn flag_of(option: &str) -> String {
    match option {
        "connections" => "--conns".to_owned(),
        "size" | "write_size" => "--size".to_owned(),
        "recv_buffer_size" => "--recv-buffer".to_owned(),
        "send_buffer_size" => "--send-buffer".to_owned(),
        "only_v6" => "--dual-stack".to_owned(),
        "nodelay" => "--no-nodelay".to_owned(),
        "denied_ports" => "--deny-ports".to_owned(),
        "transport" => "ADDRESS".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// A flag that Ctrl-C sets, for `ping` and `bench` to stop at and print what they have. Where
/// the handler cannot be installed, a warning says so, and Ctrl-C ends the process as usual.
pub fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(error) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        log::warn!("cannot handle Ctrl-C: {error}");
    }
    stop
}
