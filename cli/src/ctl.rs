//! `socket-echo ctl CONTROL ...`: the control endpoint of a running `serve --control`, from a
//! shell script with no HTTP client of its own.
//!
//! The client is a few lines over std rather than an HTTP crate: it speaks to one server
//! (ours), on loopback or a Unix socket path, one request per connection, and the HTTP
//! client crates (ureq, attohttpc) speak TCP and TLS but not Unix sockets.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use clap::Subcommand;

use crate::Exit;
use crate::control::Place;
use crate::flags::Failure;
use crate::out::Out;

/// How long connecting, sending the request or reading the answer may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes of an answer read.
const ANSWER_CAP: u64 = 16 << 20;

/// Read the statistics, read or change the faults, and take the servers down and up, of a
/// running `serve --control`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo serve 127.0.0.1:9999 udp://127.0.0.1:9999 --control 127.0.0.1:9998 &
  socket-echo ctl 127.0.0.1:9998 stats
  socket-echo ctl 127.0.0.1:9998 metrics
  socket-echo ctl 127.0.0.1:9998 faults delay=50ms,jitter=10ms
  socket-echo ctl 127.0.0.1:9998 faults drop=0.3 --address udp://127.0.0.1:9999
  socket-echo ctl 127.0.0.1:9998 faults
  socket-echo ctl unix:/run/echo.ctl clear
  socket-echo ctl 127.0.0.1:9998 down --keep
  socket-echo ctl 127.0.0.1:9998 up

Each prints the endpoint's answer on standard output: JSON for stats and faults, the
Prometheus text format for metrics. A request the endpoint refuses (a wrong SPEC, an
address it does not serve) is a usage error, its reason on standard error.", exit_status!()))]
pub struct Args {
    /// The control endpoint, as `serve --control` printed it: http://HOST:PORT, HOST:PORT
    /// or unix:PATH.
    #[arg(value_name = "CONTROL")]
    control: String,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Print the statistics, as JSON (the object of `serve --stats-every --json`).
    Stats {
        /// Of this address only, as `serve` printed it [default: all, summed].
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
    },
    /// Print every counter per address, in the Prometheus text format.
    Metrics,
    /// Print the faults in force; with SPECs, replace them (docs/faults.md).
    Faults {
        /// The faults to set: KIND[=VALUE][,KEY=VALUE...], as `serve --fault` takes them.
        #[arg(value_name = "SPEC")]
        specs: Vec<String>,
        /// Of this address only, as `serve` printed it [default: every address, each
        /// taking the faults of its kind].
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
        /// The seed of the faults' random choices [default: serve's --seed].
        #[arg(long, value_name = "N", requires = "specs")]
        seed: Option<u64>,
    },
    /// Take the servers down on their addresses: connects refused, datagrams unanswered.
    Down {
        /// Keep the open connections echoing [default: reset them].
        #[arg(long)]
        keep: bool,
        /// This address only [default: all].
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
    },
    /// Bring the servers back up on the same addresses.
    Up {
        /// This address only [default: all].
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
    },
    /// Clear the faults: the servers behave again.
    Clear {
        /// Of this address only [default: all].
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
    },
}

pub fn run(args: &Args) -> Result<Exit, Failure> {
    let place = Place::parse(&args.control).map_err(Failure::usage)?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    let (method, path, body) = match &args.action {
        Action::Stats { address } => {
            add(&mut query, "address", address.as_deref());
            ("GET", "/stats", String::new())
        }
        Action::Metrics => ("GET", "/metrics", String::new()),
        Action::Faults {
            specs,
            address,
            seed,
        } => {
            add(&mut query, "address", address.as_deref());
            add(&mut query, "seed", seed.map(|s| s.to_string()).as_deref());
            if specs.is_empty() {
                ("GET", "/faults", String::new())
            } else {
                ("PUT", "/faults", specs.join(";"))
            }
        }
        Action::Down { keep, address } => {
            add(&mut query, "address", address.as_deref());
            add(&mut query, "open", keep.then_some("keep"));
            ("POST", "/down", String::new())
        }
        Action::Up { address } => {
            add(&mut query, "address", address.as_deref());
            ("POST", "/up", String::new())
        }
        Action::Clear { address } => {
            add(&mut query, "address", address.as_deref());
            ("DELETE", "/faults", String::new())
        }
    };
    let query = query.finish();
    let target = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let (status, answer) = request(&place, method, &target, &body).map_err(|error| {
        let kind = match error.kind() {
            io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => "refused",
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timeout",
            _ => "connect",
        };
        Failure::failed(kind, format!("{}: {error}", args.control))
    })?;
    if (200..300).contains(&status) {
        Out::new().write(answer);
        return Ok(Exit::Success);
    }
    let reason = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|json| json["error"].as_str().map(str::to_owned))
        .unwrap_or(answer);
    let message = format!("{method} {target}: {status}: {}", reason.trim_end());
    if (400..500).contains(&status) {
        Err(Failure::usage(message))
    } else {
        Err(Failure::failed("server", message))
    }
}

fn add(query: &mut form_urlencoded::Serializer<'_, String>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        query.append_pair(key, value);
    }
}

/// Sends one request and reads the answer: its status and body.
fn request(place: &Place, method: &str, target: &str, body: &str) -> io::Result<(u16, String)> {
    let (host, bytes) = match place {
        Place::Tcp(host_port) => {
            let conn = connect_tcp(host_port)?;
            (
                host_port.as_str(),
                exchange(conn, method, host_port, target, body)?,
            )
        }
        Place::Unix(path) => {
            let conn = UnixStream::connect(path)?;
            conn.set_read_timeout(Some(TIMEOUT))?;
            conn.set_write_timeout(Some(TIMEOUT))?;
            (
                "localhost",
                exchange(conn, method, "localhost", target, body)?,
            )
        }
    };
    parse_answer(&bytes).map_err(|reason| io::Error::other(format!("{host}: {reason}")))
}

fn connect_tcp(host_port: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::other("resolves to no address");
    for addr in host_port.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(conn) => {
                conn.set_read_timeout(Some(TIMEOUT))?;
                conn.set_write_timeout(Some(TIMEOUT))?;
                return Ok(conn);
            }
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Writes the request and reads everything until the server closes.
fn exchange(
    mut conn: impl Read + Write,
    method: &str,
    host: &str,
    target: &str,
    body: &str,
) -> io::Result<Vec<u8>> {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())?;
    let mut bytes = Vec::new();
    conn.take(ANSWER_CAP).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The status and body of an answer.
fn parse_answer(bytes: &[u8]) -> Result<(u16, String), String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut answer = httparse::Response::new(&mut headers);
    let head = match answer.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Err("the answer ended early".into()),
        Err(error) => return Err(format!("not an HTTP answer: {error}")),
    };
    let status = answer.code.unwrap_or_default();
    let mut body = &bytes[head..];
    let length = answer
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    if let Some(length) = length {
        if body.len() < length {
            return Err(format!(
                "the answer ended after {} of {length} bytes",
                body.len()
            ));
        }
        body = &body[..length];
    }
    Ok((status, String::from_utf8_lossy(body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_cut_at_its_length() {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(parse_answer(answer), Ok((200, "abc".to_owned())));
    }

    #[test]
    fn a_short_answer_is_an_error() {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc";
        assert!(parse_answer(answer).unwrap_err().contains("3 of 9"));
    }
}
