//! The tutorial's `client.py`, with this crate: connect, send a greeting, print the answer.
//!
//! Start the server first, in another terminal:
//!
//! ```text
//! cargo run --example server
//! ```
//!
//! then:
//!
//! ```text
//! cargo run --example client
//! ```
//!
//! Options:
//!
//! ```text
//! cargo run --example client -- [--udp] [ADDRESS [MESSAGE]]
//! ```
//!
//! ADDRESS (`HOST:PORT`, `udp://HOST:PORT`, `unix:/path`, `unix:@name`, `unixgram:/path`,
//! `unixgram:@name`) defaults to `localhost:9999` and MESSAGE to `Hola, soy el cliente`. The reply is
//! printed only if it is exactly the message sent; anything else (nothing listening, a short
//! or different echo, no answer in time) is reported as an error with a non-zero exit status.

use std::process::ExitCode;

use socket_echo::{EchoClient, Endpoint, EndpointVisitor, ToAddrs, Transport};

mod support;
use support::report;

/// The tutorial's address and greeting.
const ADDRESS: &str = "localhost:9999";
const MESSAGE: &str = "Hola, soy el cliente";

fn main() -> ExitCode {
    let mut udp = false;
    let mut positional = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--udp" => udp = true,
            "-h" | "--help" => {
                println!(
                    "usage: client [--udp] [ADDRESS [MESSAGE]]   (default {ADDRESS} {MESSAGE:?})"
                );
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with('-') && flag.len() > 1 => {
                eprintln!("unknown option {flag}; usage: client [--udp] [ADDRESS [MESSAGE]]");
                return ExitCode::FAILURE;
            }
            _ => positional.push(arg),
        }
    }
    if positional.len() > 2 {
        eprintln!("too many arguments; usage: client [--udp] [ADDRESS [MESSAGE]]");
        return ExitCode::FAILURE;
    }
    let address = positional.first().map_or(ADDRESS, String::as_str);
    let message = positional.get(1).map_or(MESSAGE, String::as_str);
    let result = address.parse::<Endpoint>().and_then(|endpoint| {
        let endpoint = if udp { endpoint.datagram() } else { endpoint };
        endpoint.visit(Greet { message })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

/// The tutorial's three steps, written once for every transport.
struct Greet<'a> {
    message: &'a str,
}

impl EndpointVisitor for Greet<'_> {
    type Output = socket_echo::Result<()>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        // 1. Connect to the server.
        let mut client = EchoClient::connect_on(transport, address)?;
        // 2. Send the message and wait for the echo; it is returned only if it matches.
        let reply = client.echo(self.message.as_bytes())?;
        println!(
            "Respuesta del servidor: {}",
            String::from_utf8_lossy(&reply)
        );
        // 3. Dropping the client closes the connection, which ends the server's exchange.
        Ok(())
    }
}
