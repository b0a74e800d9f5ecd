//! `stop`: how long dropping a running server's handle takes, with idle clients connected.
//!
//! ```sh
//! cargo run --release -p socket-echo-bench --bin stop                  # 200 drops per case
//! cargo run --release -p socket-echo-bench --bin stop -- --drops 50 --idle 0,1,100
//! ```
//!
//! Each drop is of a fresh TCP server on loopback (default options) whose idle clients have
//! each had one echo just before: the handle of a test that checked its client and ends. The
//! figures are the median, the 90th percentile and the largest of the drops of each case.

use std::time::{Duration, Instant};

use clap::Parser;
use socket_echo::{EchoClient, EchoServer};

/// Time the drop of a `ServerHandle` with idle clients connected.
#[derive(Debug, Parser)]
#[command(name = "stop")]
struct Cli {
    /// Drops measured per case.
    #[arg(long, default_value_t = 200)]
    drops: usize,
    /// Idle clients connected at each drop, one case per number, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,10,100")]
    idle: Vec<usize>,
}

fn main() -> socket_echo::Result<()> {
    let cli = Cli::parse();
    println!(
        "drop of a ServerHandle (tcp, loopback), {} drops per case",
        cli.drops
    );
    println!(
        "{:>5} {:>10} {:>10} {:>10}",
        "idle", "p50 ms", "p90 ms", "max ms"
    );
    for &idle in &cli.idle {
        let mut times = Vec::with_capacity(cli.drops);
        for _ in 0..cli.drops {
            let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
            let mut clients = Vec::with_capacity(idle);
            for _ in 0..idle {
                let mut client = EchoClient::connect(handle.local_addr())?;
                client.echo(b"idle after this")?;
                clients.push(client);
            }
            let start = Instant::now();
            drop(handle);
            times.push(start.elapsed());
            drop(clients);
        }
        times.sort();
        let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
        println!(
            "{idle:>5} {:>10.3} {:>10.3} {:>10.3}",
            at(0.5),
            at(0.9),
            at(1.0)
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
