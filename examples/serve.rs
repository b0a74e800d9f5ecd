//! `EchoServer::spawn`: the production server (`serve()`: an event loop per core, limits,
//! graceful shutdown, statistics) on a background thread, as a program embeds it.
//!
//! ```text
//! cargo run --example serve
//! ```
//!
//! To leave a server running, install the tool instead: `cargo install --path cli`, then
//! `socket-echo serve localhost:9999 udp://localhost:9999` (every limit and option is a flag;
//! see `socket-echo serve --help`).

use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Options, Udp};

fn main() -> socket_echo::Result<()> {
    // 1. Bind with a few limits: the socket listens as soon as `bind_with` returns.
    let options = Options::new()
        .with_max_connections(1000)
        .with_idle_timeout(Some(Duration::from_secs(60)));
    let tcp = EchoServer::bind_with("127.0.0.1:0", options)?.spawn()?;
    // The same server over UDP: the transport is a value.
    let udp = EchoServer::bind_on(Udp, "127.0.0.1:0")?.spawn()?;
    println!(
        "listening on {} and udp://{}",
        tcp.local_addr(),
        udp.local_addr()
    );

    // 2. Talk to them; the statistics are live.
    let mut client = EchoClient::connect(tcp.local_addr())?;
    client.echo(b"over tcp")?;
    drop(client);
    EchoClient::connect_on(Udp, udp.local_addr())?.echo(b"over udp")?;
    println!("tcp so far: {} bytes echoed", tcp.stats().bytes_out);

    // 3. A graceful stop: accepting ends, live connections get their pending bytes, and
    //    `join` returns the final statistics. (Dropping a handle stops its server too.)
    tcp.shutdown();
    udp.shutdown();
    let (tcp, udp) = (tcp.join()?, udp.join()?);
    println!(
        "stopped: {} connection(s), {} datagram(s), {} bytes echoed",
        tcp.accepted,
        udp.datagrams_echoed,
        tcp.bytes_out + udp.bytes_out
    );
    Ok(())
}
