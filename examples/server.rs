//! The tutorial's `server.py`, with this crate: wait for one client, echo what it sends, close.
//!
//! Run it in one terminal:
//!
//! ```text
//! cargo run --example server
//! ```
//!
//! and the client in a second one:
//!
//! ```text
//! cargo run --example client
//! ```
//!
//! (or `nc localhost 9999`, type a line, then Ctrl-D). Options:
//!
//! ```text
//! cargo run --example server -- [--udp] [ADDRESS]     # ADDRESS defaults to localhost:9999
//! ```
//!
//! ADDRESS is `HOST:PORT` (TCP), `udp://HOST:PORT`, `unix:/path/echo.sock`, `unix:@name`,
//! `unixgram:/path` or `unixgram:@name`; `--udp` turns a stream address into its datagram
//! sibling.
//!
//! The server binds loopback only. Binding `0.0.0.0` or `[::]` instead would let any machine
//! that can reach this one use it: do that only on a network you trust.

use std::process::ExitCode;

use socket_echo::{EchoServer, Endpoint, EndpointVisitor, ToAddrs, Transport};

mod support;
use support::report;

/// The tutorial's address.
const ADDRESS: &str = "localhost:9999";

fn main() -> ExitCode {
    let mut udp = false;
    let mut address = ADDRESS.to_string();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--udp" => udp = true,
            "-h" | "--help" => {
                println!("usage: server [--udp] [ADDRESS]   (default {ADDRESS})");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with('-') => {
                eprintln!("unknown option {flag}; usage: server [--udp] [ADDRESS]");
                return ExitCode::FAILURE;
            }
            _ => address = arg,
        }
    }
    let result = address.parse::<Endpoint>().and_then(|endpoint| {
        let endpoint = if udp { endpoint.datagram() } else { endpoint };
        endpoint.visit(ServeOne)
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
struct ServeOne;

impl EndpointVisitor for ServeOne {
    type Output = socket_echo::Result<()>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        // 1. Bind and listen: once this returns, clients can connect.
        let server = EchoServer::bind_on(transport, address)?;
        println!("Esperando conexión...");
        // 2. Accept one client and echo everything it sends until it closes.
        let exchange = server.serve_once()?;
        println!("Conexión establecida desde: {}", exchange.peer());
        println!(
            "Mensaje recibido: {}",
            String::from_utf8_lossy(exchange.first_message())
        );
        // 3. Dropping the server closes its socket (and removes a Unix socket file).
        Ok(())
    }
}
