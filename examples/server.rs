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
//! The server binds loopback only. Binding `0.0.0.0` or `[::]` instead would let any machine
//! that can reach this one use it: do that only on a network you trust.

use std::process::ExitCode;

use socket_echo::{EchoServer, Exchange, Tcp, Transport, Udp};

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
    let result = if udp {
        serve(Udp, &address)
    } else {
        serve(Tcp, &address)
    };
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

fn serve<T: Transport>(transport: T, address: &str) -> socket_echo::Result<Exchange> {
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
    // 3. Dropping the server closes its socket.
    Ok(exchange)
}
