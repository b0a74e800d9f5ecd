//! `EchoClient::ping`: probes one after another, each timed and verified, with a callback
//! per event and the totals at the end.
//!
//! ```text
//! cargo run --features measure --example ping
//! ```
//!
//! It pings a server it starts itself. To ping any echo server from a shell, install the
//! tool: `cargo install --path cli`, then `socket-echo ping localhost:9999 --count 5`.

use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Outcome, Ping};

fn main() -> socket_echo::Result<()> {
    let server = EchoServer::bind("127.0.0.1:0")?.spawn()?;
    let addr = server.local_addr();

    let mut client = EchoClient::connect(addr)?;
    let ping = Ping::new()
        .with_count(5)
        .with_size(64)
        .with_interval(Duration::from_millis(100))
        .with_timeout(Duration::from_secs(1));
    // The callback sees every event as it happens: replies, losses, late or bad echoes.
    let summary = client.ping(&ping, |probe| match probe.outcome() {
        Outcome::Reply { rtt } => println!(
            "{} bytes from {addr}: seq={} time={:.3} ms",
            probe.size(),
            probe.seq(),
            rtt.as_secs_f64() * 1e3
        ),
        other => println!("seq={}: {other:?}", probe.seq()),
    })?;

    println!(
        "{} sent, {} received, {}% lost",
        summary.sent(),
        summary.received(),
        summary.loss_percent()
    );
    println!("rtt {}", summary.latency());
    Ok(())
}
