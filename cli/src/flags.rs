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

/// Parses a duration with its unit, in the crate's one grammar of values
/// ([`socket_echo::parse_duration`], the fault SPEC's too): `1h`, `2m`, `1s`, `0.5s`,
/// `200ms`, `500us`, `100ns`. A plain number is refused, since `--timeout 5` could mean
/// seconds or milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    socket_echo::parse_duration(text).map_err(|error| format!("`{}`: {error}", text.trim()))
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

/// A parser of sizes in bytes of at least `min`, in the crate's one grammar of values
/// ([`socket_echo::parse_size`]): `1000`, `64KiB`, `1.5MB`.
pub fn size_at_least(
    min: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text| {
        let bytes =
            socket_echo::parse_size(text).map_err(|error| format!("`{}`: {error}", text.trim()))?;
        match usize::try_from(bytes) {
            Ok(size) if size >= min => Ok(size),
            Ok(_) => Err(format!("must be at least {min} bytes")),
            Err(_) => Err(format!(
                "`{}` is more than this machine can address",
                text.trim()
            )),
        }
    }
}

/// The address every subcommand takes when given none: where `serve` listens by default
/// and where `ping`, `bench` and `send` look for it.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9999";

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
pub fn endpoint(text: &str, udp: bool) -> Result<Endpoint, Failure> {
    match text.parse::<Endpoint>() {
        Ok(endpoint) if udp => Ok(endpoint.datagram()),
        Ok(endpoint) => Ok(endpoint),
        // What was wrong with the text, not "failed to resolve": nothing was resolved.
        Err(error) => Err(Failure::usage(match std::error::Error::source(&error) {
            Some(reason) => format!("invalid address `{text}`: {reason}"),
            None => report(&error),
        })),
    }
}

/// Why a run ended without the result it was asked for: the message for standard error
/// (and `--json`'s `error`), its kind (`error_kind`) and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub exit: Exit,
    pub kind: &'static str,
    pub message: String,
    /// The address it concerns, where the command has several (`serve`).
    pub address: Option<String>,
}

impl Failure {
    /// A command line the tool refuses (exit status 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::Usage,
            kind: "usage",
            message: message.into(),
            address: None,
        }
    }

    /// What was run failed (exit status 1), for a reason the library did not report.
    pub fn failed(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::Failed,
            kind,
            message: message.into(),
            address: None,
        }
    }

    /// The same failure, naming the address it concerns.
    pub fn at(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// Writes the message on standard error.
    pub fn log(&self) {
        log::error!("{}", self.message);
    }
}

/// A library error as a failure: a value the library refused is a usage error, named by its
/// flag, anything else a failure of what was run, of the kind docs/cli.md lists.
pub fn failed(error: &Error) -> Failure {
    match error {
        Error::InvalidOption { option, reason } => {
            Failure::usage(format!("invalid value for {}: {reason}", flag_of(option)))
        }
        Error::DatagramTooLarge { .. } => Failure::usage(format!("--size: {}", report(error))),
        Error::InvalidFault { .. } => Failure::usage(format!("--fault: {}", report(error))),
        _ => Failure::failed(kind_of(error), report(error)),
    }
}

/// The kind of a failure of what was run, as `error_kind` names it (docs/cli.md).
fn kind_of(error: &Error) -> &'static str {
    use std::io::ErrorKind as Io;
    match (error, error.io_kind()) {
        (Error::Resolve { .. } | Error::NoAddress { .. }, _) => "resolve",
        (Error::Bind { .. }, Some(Io::AddrInUse)) => "address_in_use",
        (Error::Bind { .. }, Some(Io::PermissionDenied)) => "permission_denied",
        (Error::Bind { .. }, _) => "bind",
        (Error::Timeout { .. } | Error::Deadline { .. }, _) => "timeout",
        // Standard input or output, before the kinds of its io::Error (a closed pipe).
        (Error::Pipe { .. }, _) => "io",
        (Error::Mismatch { .. } | Error::Surplus { .. }, _) => "mismatch",
        (Error::Excess { .. }, _) => "excess",
        (Error::ShortEcho { .. } | Error::Truncated { .. }, _) => "short",
        (Error::Accept { .. } | Error::Serve { .. } | Error::WorkerPanicked { .. }, _) => "server",
        // Before the kinds of an io::Error: a handshake timeout is a TLS failure first.
        (Error::Tls { .. }, _) => "tls",
        (Error::Certificate { .. }, _) => "certificate",
        (_, Some(Io::ConnectionRefused)) => "refused",
        (_, Some(Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe)) => "reset",
        (_, Some(Io::TimedOut | Io::WouldBlock)) => "timeout",
        (Error::Connect { .. }, _) => "connect",
        _ => "system",
    }
}

/// The flag that sets a library option.
fn flag_of(option: &str) -> String {
    match option {
        "connections" => "--conns".to_owned(),
        "size" | "write_size" => "--size".to_owned(),
        "recv_buffer_size" => "--recv-buffer".to_owned(),
        "connection_socket_buffers" => "--connection-buffers".to_owned(),
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
