//! `ping` for echo servers: probes sent one after another, one line per reply, statistics at
//! the end, like ping(8) and echoping.
//!
//! Start a server in another terminal (`cargo run --example server`), then:
//!
//! ```text
//! cargo run --features measure --example ping -- --count 5
//! ```
//!
//! ```text
//! 64 bytes from 127.0.0.1:9999: seq=0 time=0.071 ms
//! ...
//! --- localhost:9999 echo statistics ---
//! 5 probes sent, 5 received, 0% lost
//! rtt min/mean/p50/p90/p99/max = 0.052/0.063/0.061/0.071/0.071/0.071 ms
//! ```
//!
//! ADDRESS defaults to `localhost:9999`, the address of this crate's server example (the
//! standard echo port is 7: `ping localhost:7`). Ctrl-C stops within about 100 ms, even in
//! the middle of a probe, and prints the statistics so far. The exit status is 0 if any
//! probe was answered, 1 if every probe was lost, 2 on an error that ended the run.

use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use socket_echo::{
    EchoClient, Endpoint, EndpointVisitor, Options, Outcome, Ping, Probe, ToAddrs, Transport,
};

mod support;
use support::{parse_duration, report};

/// Measure round trips to an echo server (RFC 862), like ping.
#[derive(Debug, Parser)]
#[command(name = "ping", version)]
struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH or
    /// unixgram:@NAME.
    #[arg(default_value = "localhost:9999")]
    address: String,
    /// How many probes to send.
    #[arg(short, long, default_value_t = 5)]
    count: u64,
    /// The size of each probe in bytes (at least 8: the sequence number).
    #[arg(short, long, default_value_t = 64)]
    size: usize,
    /// Time between sends: 1s, 200ms, 500us, or plain seconds (0.5).
    #[arg(short, long, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,
    /// How long each probe waits for its echo (same forms as --interval).
    #[arg(short = 'W', long, default_value = "1s", value_parser = parse_duration)]
    timeout: Duration,
    /// Use datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(short, long)]
    udp: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(error) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("ping: cannot handle Ctrl-C: {error}");
    }
    let ping = Ping::new()
        .with_count(args.count)
        .with_size(args.size)
        .with_interval(args.interval)
        .with_timeout(args.timeout)
        .with_stop(stop);
    let result = args.address.parse::<Endpoint>().and_then(|endpoint| {
        let endpoint = if args.udp {
            endpoint.datagram()
        } else {
            endpoint
        };
        let mut options = Options::new();
        if !endpoint.is_datagram() {
            options = options.with_connect_timeout(Some(args.timeout.max(Duration::from_secs(1))));
        }
        endpoint.visit(Run {
            args: &args,
            ping: &ping,
            options,
        })
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ping: {}", report(&error));
            ExitCode::from(2)
        }
    }
}

/// Pings over any transport.
struct Run<'a> {
    args: &'a Args,
    ping: &'a Ping,
    options: Options,
}

impl EndpointVisitor for Run<'_> {
    type Output = socket_echo::Result<ExitCode>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let mut client = EchoClient::connect_on_with(transport, address, self.options)?;
        let peer = client.peer_addr();
        let summary = client.ping(self.ping, |probe| print_probe(&peer, probe))?;
        Ok(finish(self.args, summary))
    }
}

fn finish(args: &Args, mut summary: socket_echo::PingSummary) -> ExitCode {
    println!("--- {} echo statistics ---", args.address);
    let mut line = format!(
        "{} probes sent, {} received, {}% lost",
        summary.sent(),
        summary.received(),
        percent(summary.loss_percent())
    );
    if summary.late() > 0 {
        line.push_str(&format!(", {} late", summary.late()));
    }
    if summary.errors() > 0 {
        line.push_str(&format!(", {} errors", summary.errors()));
    }
    if summary.duplicates() > 0 {
        line.push_str(&format!(", {} duplicates", summary.duplicates()));
    }
    println!("{line}, time {} ms", summary.elapsed().as_millis());
    if summary.received() > 0 {
        println!("rtt {}", summary.latency());
    }
    if let Some(error) = summary.take_error() {
        eprintln!("ping: {}", report(&error));
        return ExitCode::from(2);
    }
    if summary.sent() > 0 && summary.received() == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_probe(peer: &impl Display, probe: &Probe) {
    let (size, seq) = (probe.size(), probe.seq());
    match probe.outcome() {
        Outcome::Reply { rtt } => {
            println!("{size} bytes from {peer}: seq={seq} time={} ms", ms(rtt))
        }
        Outcome::Late { rtt } => {
            println!(
                "{size} bytes from {peer}: seq={seq} time={} ms (late)",
                ms(rtt)
            )
        }
        Outcome::Lost => println!("no reply from {peer}: seq={seq} (timed out)"),
        Outcome::Mismatch { offset } => {
            println!("bad reply from {peer}: seq={seq} differs at byte {offset}")
        }
        Outcome::Duplicate => println!("{size} bytes from {peer}: seq={seq} (duplicate)"),
        Outcome::Unexpected { len } => {
            println!("unexpected {len}-byte datagram from {peer} while waiting for seq={seq}")
        }
        Outcome::Refused => println!("port unreachable at {peer}: seq={seq}"),
        _ => println!("seq={seq}: {:?}", probe.outcome()),
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1e3)
}

/// A percentage without trailing zeros: `0`, `33.3`, `100`.
fn percent(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}
