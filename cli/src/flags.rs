//! What the subcommands share: reading values from the command line, turning the library's
//! errors into messages and exit codes.

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

/// Parses `1s`, `200ms`, `500us`, `2m` or plain seconds (`0.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 1s, 200ms or 0.5"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit `{unit}`: use s, ms, us or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
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
/// is a usage error, anything else a failure of what was run.
pub fn failed(error: &Error) -> Exit {
    log::error!("{}", report(error));
    match error {
        Error::InvalidOption { .. } | Error::DatagramTooLarge { .. } => Exit::Usage,
        _ => Exit::Failed,
    }
}
