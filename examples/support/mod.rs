//! Small helpers the examples share: printing an error with its causes, and reading a
//! duration from the command line. Not an example of its own.

#![allow(dead_code)] // each example uses the part it needs

use std::time::Duration;

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
