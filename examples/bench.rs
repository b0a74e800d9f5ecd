//! `bench`: load an echo server and report messages/s, MB/s and round-trip percentiles.
//!
//! Start a server in another terminal (`cargo run --release --example server`), then:
//!
//! ```text
//! cargo run --release --features measure --example bench -- --conns 50 --size 512 --secs 5
//! cargo run --release --features measure --example bench -- --udp --conns 50 --size 512
//! cargo run --release --features measure --example bench -- --bulk --secs 5
//! cargo run --release --features measure --example bench -- --conns 1000 --threads 4
//! cargo run --release --features measure --example bench -- --conns 4 --secs 1 --json
//! ```
//!
//! ADDRESS defaults to `localhost:9999`, the address of this crate's server example. Each
//! connection sends a message, reads the whole echo back and checks it before the next
//! (closed loop), the connections shared among a few threads (`--threads`, one per CPU by
//! default); `--bulk` instead streams 64 KiB writes both ways on one connection. While
//! it runs, a progress line is shown if stdout is a terminal; at the end, a table, or with
//! `--json` one JSON object. Ctrl-C ends the run early and still reports. The exit status is
//! 1 if any error was counted or nothing was echoed, 2 if the run could not start.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use socket_echo::{
    Bulk, Endpoint, EndpointVisitor, Load, LoadReport, Progress, ToAddrs, Transport,
};

mod support;
use support::report;

/// Load an echo server (RFC 862) and measure it.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH or
    /// unixgram:@NAME.
    #[arg(default_value = "localhost:9999")]
    address: String,
    /// Concurrent connections (TCP) or sockets (UDP).
    #[arg(short, long, default_value_t = 50)]
    conns: usize,
    /// Threads driving the connections (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Message size in bytes (at least 8); with --bulk, the write size.
    #[arg(short, long)]
    size: Option<usize>,
    /// How long to run, in seconds.
    #[arg(short = 't', long, default_value_t = 5.0)]
    secs: f64,
    /// Use datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(short, long, conflicts_with = "bulk")]
    udp: bool,
    /// One stream connection (TCP or Unix) streaming both ways with 64 KiB writes.
    #[arg(short, long)]
    bulk: bool,
    /// Print one JSON object instead of a table.
    #[arg(short, long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Ok(duration) = Duration::try_from_secs_f64(args.secs) else {
        eprintln!("bench: --secs must be a non-negative number");
        return ExitCode::from(2);
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(error) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("bench: cannot handle Ctrl-C: {error}");
    }

    let live = std::io::stdout().is_terminal() && !args.json;
    let mut progress = |p: &Progress| {
        if live {
            let secs = p.elapsed().as_secs_f64().max(1e-9);
            print!(
                "\r{:6.1} s  {:>12} msgs  {:>12.0} msg/s  {:>9.1} MB/s  {} errors  {} lost   ",
                p.elapsed().as_secs_f64(),
                p.messages(),
                p.messages() as f64 / secs,
                p.bytes() as f64 / secs / 1e6,
                p.errors(),
                p.lost()
            );
            let _ = std::io::stdout().flush();
        }
    };
    let address = args.address.as_str();
    let run = Run {
        args: &args,
        duration,
        stop,
        progress: &mut progress,
    };
    let result = address.parse::<Endpoint>().and_then(|endpoint| {
        let endpoint = if args.udp {
            endpoint.datagram()
        } else {
            endpoint
        };
        endpoint.visit(run)
    });
    if live {
        print!("\r{:100}\r", "");
    }
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            eprintln!("bench: {}", report(&error));
            return ExitCode::from(2);
        }
    };
    let mode = if args.bulk { "bulk" } else { "closed-loop" };
    if args.json {
        println!("{}", json(address, mode, &report));
    } else {
        table(address, mode, &report);
    }
    if report.errors() > 0 || report.messages() == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A load or bulk run over any transport.
struct Run<'a, F> {
    args: &'a Args,
    duration: Duration,
    stop: Arc<AtomicBool>,
    progress: &'a mut F,
}

impl<F: FnMut(&Progress)> EndpointVisitor for Run<'_, F> {
    type Output = socket_echo::Result<LoadReport>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let args = self.args;
        if args.bulk {
            let bulk = Bulk::new()
                .with_duration(self.duration)
                .with_write_size(args.size.unwrap_or(64 * 1024))
                .with_stop(self.stop);
            return bulk.run_on_with_progress(transport, address, self.progress);
        }
        let mut load = Load::new()
            .with_connections(args.conns)
            .with_size(args.size.unwrap_or(512))
            .with_duration(self.duration)
            .with_stop(self.stop);
        if let Some(threads) = args.threads {
            load = load.with_threads(threads);
        }
        load.run_with_progress(transport, address, self.progress)
    }
}

fn table(address: &str, mode: &str, r: &LoadReport) {
    let l = r.latency();
    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1e3);
    println!("echo benchmark of {address} ({}, {mode})", r.transport());
    println!(
        "{:>5} {:>7} {:>7} {:>11} {:>11} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6}",
        "conns",
        "size",
        "secs",
        "messages",
        "msg/s",
        "MB/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "lost"
    );
    println!(
        "{:>5} {:>7} {:>7.2} {:>11} {:>11.0} {:>9.1} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6}",
        r.connections(),
        r.size(),
        r.elapsed().as_secs_f64(),
        r.messages(),
        r.messages_per_sec(),
        r.megabytes_per_sec(),
        ms(l.p50()),
        ms(l.p90()),
        ms(l.p99()),
        ms(l.max()),
        r.errors(),
        r.lost()
    );
}

fn json(address: &str, mode: &str, r: &LoadReport) -> String {
    let l = r.latency();
    let us = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1e6);
    format!(
        concat!(
            "{{\"address\":{},\"transport\":\"{}\",\"mode\":\"{}\",\"connections\":{},",
            "\"size\":{},\"seconds\":{:.6},\"messages\":{},\"bytes\":{},",
            "\"messages_per_sec\":{:.1},\"mb_per_sec\":{:.3},\"errors\":{},\"lost\":{},",
            "\"rtt_us\":{{\"count\":{},\"min\":{},\"mean\":{},\"p50\":{},\"p90\":{},",
            "\"p99\":{},\"max\":{}}}}}"
        ),
        json_string(address),
        r.transport(),
        mode,
        r.connections(),
        r.size(),
        r.elapsed().as_secs_f64(),
        r.messages(),
        r.bytes(),
        r.messages_per_sec(),
        r.megabytes_per_sec(),
        r.errors(),
        r.lost(),
        l.count(),
        us(l.min()),
        us(l.mean()),
        us(l.p50()),
        us(l.p90()),
        us(l.p99()),
        us(l.max())
    )
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
