//! `Load` and `Bulk`: many connections in a closed loop, the same at a fixed rate (open
//! loop), and one connection streaming both ways.
//!
//! ```text
//! cargo run --release --features measure --example bench
//! ```
//!
//! It loads a server it starts itself. To load any echo server from a shell, install the
//! tool: `cargo install --path cli`, then `socket-echo bench localhost:9999`.

use std::time::Duration;

use socket_echo::{Bulk, EchoServer, Load, LoadReport, Tcp};

fn main() -> socket_echo::Result<()> {
    let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    let addr = server.local_addr();

    // Closed loop: each connection sends its next message once the last echo is verified.
    let closed = Load::new()
        .with_connections(8)
        .with_size(512)
        .with_duration(Duration::from_secs(1))
        .run(Tcp, addr)?;
    show("closed loop", &closed);

    // Open loop: 5,000 messages a second on a fixed schedule, each round trip measured
    // from when its message was due.
    let open = Load::new()
        .with_connections(8)
        .with_rate(5000)
        .with_duration(Duration::from_secs(1))
        .run(Tcp, addr)?;
    show("open loop", &open);

    // Bulk: one connection writing 64 KiB chunks while it reads and checks the echo.
    let bulk = Bulk::new()
        .with_duration(Duration::from_secs(1))
        .run(addr)?;
    println!(
        "bulk: {:.1} MB/s, {} errors",
        bulk.megabytes_per_sec(),
        bulk.errors()
    );
    Ok(())
}

fn show(name: &str, report: &LoadReport) {
    println!(
        "{name}: {:.0} msg/s, {} errors, rtt {}",
        report.messages_per_sec(),
        report.errors(),
        report.latency()
    );
}
