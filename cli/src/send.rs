//! `socket-echo send`: the tutorial's client for any transport: send a message, print the
//! verified echo.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde::Serialize;
use socket_echo::{EchoClient, EndpointVisitor, Options, ToAddrs, Transport};

use crate::Exit;
use crate::flags::{self, DEFAULT_ADDRESS, Failure, MIN_DURATION, duration};
use crate::json::ms;
use crate::out::Out;

/// Send one message (or standard input) and print its echo, verified byte for byte.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo send localhost:9999 'Hola, soy el cliente'
  echo hello | socket-echo send udp://localhost:9999
  socket-echo send unix:/tmp/echo.sock - < message.bin > echo.bin
  socket-echo send localhost:9999 hello --json
  socket-echo send tls://localhost:9443 hello --ca cert.pem

The echo is written to standard output exactly as it came back, as it is verified: over a
stream, standard input is sent as it is read, in bounded memory whatever its size, and the
write side is then shut; a short or different echo, bytes after the echo, no answer in
time, or nothing listening is an error (exit status 1), and the output stops where the echo
went wrong. Over datagrams the message is one datagram. With --json the echo is verified
but not printed: one object says how many bytes came back, and how long it took.", exit_status!()))]
pub struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH,
    /// unixgram:@NAME, tls://HOST:PORT or tls+unix:PATH.
    #[arg(value_name = "ADDRESS", default_value = DEFAULT_ADDRESS)]
    pub address: String,
    /// The message; `-` (the default) reads standard input, to its end.
    #[arg(default_value = "-", allow_hyphen_values = true)]
    message: String,
    /// Use datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(short, long)]
    udp: bool,
    /// How long to wait for the connection and for each read of the echo.
    #[arg(short = 'W', long, value_name = "DURATION", default_value = "5s", value_parser = duration(MIN_DURATION), allow_hyphen_values = true)]
    timeout: Duration,
    /// Print one JSON object (bytes echoed, time taken) instead of the echo, or an error
    /// object.
    #[arg(short, long)]
    pub json: bool,
    #[command(flatten)]
    tls: crate::tls::ClientArgs,
}

/// The most standard input read for a datagram, which carries one message: far more than
/// any datagram holds, so the library names the real limit, and never more than this in
/// memory.
const DATAGRAM_INPUT: u64 = 16 << 20;

pub fn run(args: &Args) -> Result<Exit, Failure> {
    let endpoint = flags::endpoint(&args.address, args.udp)?;
    let mut options = args
        .tls
        .apply(&endpoint, Options::new())?
        .with_read_timeout(Some(args.timeout))
        .with_write_timeout(Some(args.timeout));
    if !endpoint.is_datagram() {
        options = options.with_connect_timeout(Some(args.timeout));
    }
    // `-` is standard input, as everywhere on a command line.
    let message = Some(args.message.as_str()).filter(|message| *message != "-");
    let input: Input = match (message, endpoint.is_datagram()) {
        (Some(message), false) => Input::Stream(Box::new(message.as_bytes())),
        (Some(message), true) => Input::Datagram(message.as_bytes().to_vec()),
        (None, false) => Input::Stream(Box::new(std::io::stdin().lock())),
        (None, true) => {
            let mut message = Vec::new();
            let read = std::io::stdin()
                .lock()
                .take(DATAGRAM_INPUT + 1)
                .read_to_end(&mut message);
            if let Err(error) = read {
                return Err(Failure::failed(
                    "io",
                    format!("cannot read standard input: {error}"),
                ));
            }
            if message.len() as u64 > DATAGRAM_INPUT {
                return Err(Failure::usage(format!(
                    "standard input holds more than {DATAGRAM_INPUT} bytes: a datagram carries one message, far smaller"
                )));
            }
            Input::Datagram(message)
        }
    };
    let start = Instant::now();
    if args.json {
        // Verified as always, but only counted: standard output is for the JSON.
        let bytes = endpoint
            .visit(Send {
                input,
                options,
                output: &mut std::io::sink(),
            })
            .map_err(|error| flags::failed(&error))?;
        let json = Json {
            address: &args.address,
            transport: endpoint.transport(),
            bytes,
            elapsed_ms: ms(start.elapsed()),
            error: None,
            error_kind: None,
        };
        Out::new().line(serde_json::to_string(&json).unwrap_or_default());
        return Ok(Exit::Success);
    }
    let mut stdout = std::io::stdout().lock();
    let sent = endpoint.visit(Send {
        input,
        options,
        output: &mut stdout,
    });
    match sent.and_then(|_| {
        stdout.flush().map_err(|source| socket_echo::Error::Pipe {
            action: "write the echo",
            source,
        })
    }) {
        Ok(()) => Ok(Exit::Success),
        Err(error) => Err(flags::failed(&error)),
    }
}

/// `send --json`: one object, documented in docs/cli.md.
#[derive(Serialize)]
struct Json<'a> {
    address: &'a str,
    transport: &'static str,
    /// Bytes echoed and verified.
    bytes: u64,
    /// From the start of the connection to the end of the echo.
    elapsed_ms: f64,
    /// Always `null` here: a failed echo prints the error object instead.
    error: Option<&'a str>,
    error_kind: Option<&'static str>,
}

/// What `send` sends: streamed to a stream transport, one message to a datagram one.
enum Input<'a> {
    Stream(Box<dyn Read + 'a>),
    Datagram(Vec<u8>),
}

/// One echo over any transport, written out as it is verified.
struct Send<'a, 'o> {
    input: Input<'a>,
    options: Options,
    output: &'o mut dyn Write,
}

impl EndpointVisitor for Send<'_, '_> {
    /// The bytes echoed and verified.
    type Output = socket_echo::Result<u64>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let mut client = EchoClient::connect_on_with(transport, address, self.options)?;
        match self.input {
            Input::Stream(input) => client.echo_from(input, self.output),
            Input::Datagram(message) => {
                let echo = client.echo(&message)?;
                self.output
                    .write_all(&echo)
                    .map(|()| echo.len() as u64)
                    .map_err(|source| socket_echo::Error::Pipe {
                        action: "write the echo",
                        source,
                    })
            }
        }
    }
}
