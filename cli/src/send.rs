//! `socket-echo send`: the tutorial's client for any transport: send a message, print the
//! verified echo.

use std::io::{Read, Write};
use std::time::Duration;

use socket_echo::{EchoClient, EndpointVisitor, Options, ToAddrs, Transport};

use crate::Exit;
use crate::flags::{self, MIN_DURATION, duration};

/// Send one message (or standard input) and print its echo, verified byte for byte.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo send localhost:9999 'Hola, soy el cliente'
  echo hello | socket-echo send udp://localhost:9999
  socket-echo send unix:/tmp/echo.sock < message.bin > echo.bin

The echo is written to standard output exactly as it came back, and only if it equals what
was sent; a short or different echo, no answer in time, or nothing listening is an error
(exit status 1).", exit_status!()))]
pub struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH or
    /// unixgram:@NAME.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// The message [default: standard input, to its end].
    message: Option<String>,
    /// Use datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(short, long)]
    udp: bool,
    /// How long to wait for the connection and for each read of the echo.
    #[arg(short = 'W', long, value_name = "DURATION", default_value = "5s", value_parser = duration(MIN_DURATION), allow_hyphen_values = true)]
    timeout: Duration,
}

pub fn run(args: &Args) -> Exit {
    let endpoint = match flags::endpoint(&args.address, args.udp) {
        Ok(endpoint) => endpoint,
        Err(exit) => return exit,
    };
    let message = match &args.message {
        Some(message) => message.clone().into_bytes(),
        None => {
            let mut input = Vec::new();
            if let Err(error) = std::io::stdin().read_to_end(&mut input) {
                log::error!("cannot read standard input: {error}");
                return Exit::Failed;
            }
            input
        }
    };
    let mut options = Options::new()
        .with_read_timeout(Some(args.timeout))
        .with_write_timeout(Some(args.timeout));
    if !endpoint.is_datagram() {
        options = options.with_connect_timeout(Some(args.timeout));
    }
    match endpoint.visit(Send {
        message: &message,
        options,
    }) {
        Ok(echo) => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&echo).and_then(|()| stdout.flush()) {
                Ok(()) => Exit::Success,
                Err(error) => {
                    log::error!("cannot write the echo: {error}");
                    Exit::Failed
                }
            }
        }
        Err(error) => flags::failed(&error),
    }
}

/// One echo over any transport.
struct Send<'a> {
    message: &'a [u8],
    options: Options,
}

impl EndpointVisitor for Send<'_> {
    type Output = socket_echo::Result<Vec<u8>>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let mut client = EchoClient::connect_on_with(transport, address, self.options)?;
        client.echo(self.message).map(|echo| echo.to_vec())
    }
}
