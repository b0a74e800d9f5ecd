//! `socket-echo bench`: load an echo server and report messages/s, MB/s and round-trip
//! percentiles.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use std::time::Instant;

use serde::Serialize;
use socket_echo::{
    Bulk, EndpointVisitor, Load, LoadErrorKind, LoadReport, Options, Progress, ToAddrs, Transport,
};

use crate::Exit;
use crate::flags::{
    self, DEFAULT_ADDRESS, Failure, MIN_DURATION, at_least, duration, size_at_least,
};
use crate::json::{RttJson, ms, round};
use crate::out::Out;

/// Load an echo server and measure it.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo bench localhost:9999 --conns 50 --size 512 --duration 5s
  socket-echo bench udp://localhost:9999 --conns 50 --size 512
  socket-echo bench localhost:9999 --bulk --duration 5s
  socket-echo bench localhost:9999 --conns 4 --duration 1s --json
  socket-echo bench localhost:9999 --conns 10 --rate 20000
  socket-echo bench tls://localhost:9443 --ca cert.pem --conns 10 --duration 5s

Each connection sends a message, reads the whole echo back and checks it before the next
(closed loop), the connections shared among a few threads (--threads, one per CPU by
default). With --rate, the messages go on a fixed schedule instead (open loop), and each
round trip counts from the time its message was due: a server that stalls shows the queue
behind the stall (the coordinated-omission correction of wrk2). --bulk streams 64 KiB
writes both ways on one connection. A progress bar is shown on a terminal, plain lines on
standard error otherwise. Ctrl-C ends the run at once and still reports, the messages still
in flight counted lost. However slowly the server echoes, the run is over one timeout (1 s)
after its duration.", exit_status!()))]
pub struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH,
    /// unixgram:@NAME, tls://HOST:PORT or tls+unix:PATH.
    #[arg(value_name = "ADDRESS", default_value = DEFAULT_ADDRESS)]
    pub address: String,
    /// Concurrent connections (TCP) or sockets (UDP).
    #[arg(short, long, value_name = "N", default_value = "50", value_parser = at_least(1usize), allow_hyphen_values = true)]
    conns: usize,
    /// Threads driving the connections [default: one per CPU].
    #[arg(long, value_name = "N", value_parser = at_least(1usize), allow_hyphen_values = true)]
    threads: Option<usize>,
    /// Message size in bytes, at least 8 [default: 512]; with --bulk, the write size
    /// [default: 65536].
    #[arg(short, long, value_name = "BYTES", value_parser = size_at_least(8), allow_hyphen_values = true)]
    size: Option<usize>,
    /// How long to run (5s, 500ms, 1m; at least 1ms); --secs and -t are other names for it.
    #[arg(short, long, visible_alias = "secs", short_alias = 't', value_name = "DURATION", default_value = "5s", value_parser = duration(MIN_DURATION), allow_hyphen_values = true)]
    duration: Duration,
    /// Use datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(short, long)]
    udp: bool,
    /// Open loop: this many messages a second across all connections, each round trip
    /// measured from the time its message was due, so a stalled server shows its queue.
    #[arg(short, long, value_name = "N", value_parser = at_least(1u64), allow_hyphen_values = true)]
    rate: Option<u64>,
    /// One stream connection (TCP or Unix) streaming both ways with 64 KiB writes; refused
    /// with --conns, --threads, --rate or --udp, which it would not use.
    #[arg(short, long, conflicts_with_all = ["conns", "threads", "rate", "udp"])]
    bulk: bool,
    /// Print one JSON object instead of a table (an error object if the run could not
    /// start).
    #[arg(short, long)]
    pub json: bool,
    #[command(flatten)]
    tls: crate::tls::ClientArgs,
}

pub fn run(args: &Args) -> Result<Exit, Failure> {
    let duration = args.duration;
    let endpoint = flags::endpoint(&args.address, args.udp)?;
    // The plain transports keep the defaults of `Load` and `Bulk`.
    let options = args.tls.apply(&endpoint, Options::new())?;
    let options = endpoint.is_tls().then_some(options);
    let stop = flags::stop_on_ctrl_c();

    let mut shown = Shown::new(duration);
    let mut progress = |p: &Progress| shown.update(p);
    let result = endpoint.visit(Run {
        args,
        duration,
        stop,
        options,
        progress: &mut progress,
    });
    shown.finish();
    let report = result.map_err(|error| flags::failed(&error))?;
    let mode = match (args.bulk, args.rate) {
        (true, _) => "bulk",
        (false, Some(_)) => "open-loop",
        (false, None) => "closed-loop",
    };
    let failure = measured_failure(&report);
    let mut out = Out::new();
    if args.json {
        let json = Json::new(&args.address, mode, args.rate, &report, failure.as_ref());
        out.line(serde_json::to_string(&json).unwrap_or_default());
    } else {
        out.write(table(&args.address, mode, &report));
    }
    Ok(match failure {
        Some(failure) => {
            failure.log();
            failure.exit
        }
        None => Exit::Success,
    })
}

/// Why a run that went to its end failed: errors (of the kind seen most, in
/// `error_kind`), or no message echoed at all.
fn measured_failure(report: &LoadReport) -> Option<Failure> {
    if report.errors() > 0 {
        let worst = LoadErrorKind::ALL
            .into_iter()
            .max_by_key(|kind| report.errors_of(*kind))
            .unwrap_or(LoadErrorKind::Other);
        let kinds: Vec<String> = LoadErrorKind::ALL
            .into_iter()
            .filter(|kind| report.errors_of(*kind) > 0)
            .map(|kind| format!("{} {}", report.errors_of(kind), kind.name()))
            .collect();
        return Some(Failure::failed(
            worst.name(),
            format!("{} errors: {}", report.errors(), kinds.join(", ")),
        ));
    }
    if report.messages() == 0 {
        return Some(Failure::failed(
            "lost",
            format!("no message was echoed ({} lost)", report.lost()),
        ));
    }
    None
}

/// The run's progress while it goes: a bar on a terminal, a plain line on standard error
/// every second otherwise (`-q` silences it).
enum Shown {
    Bar(indicatif::ProgressBar),
    Lines { next: Instant },
}

impl Shown {
    fn new(duration: Duration) -> Self {
        if !std::io::stderr().is_terminal() {
            return Shown::Lines {
                next: Instant::now() + Duration::from_secs(1),
            };
        }
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let bar = indicatif::ProgressBar::new(millis);
        let style = indicatif::ProgressStyle::with_template("[{bar:30}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        Shown::Bar(bar)
    }

    fn update(&mut self, p: &Progress) {
        let secs = p.elapsed().as_secs_f64().max(1e-9);
        let line = format!(
            "{:.1} s  {} msgs  {:.0} msg/s  {:.1} MB/s  {} errors  {} lost",
            p.elapsed().as_secs_f64(),
            p.messages(),
            p.messages() as f64 / secs,
            p.bytes() as f64 / secs / 1e6,
            p.errors(),
            p.lost()
        );
        match self {
            Shown::Bar(bar) => {
                bar.set_position(u64::try_from(p.elapsed().as_millis()).unwrap_or(u64::MAX));
                bar.set_message(line);
            }
            Shown::Lines { next } => {
                if Instant::now() >= *next {
                    log::info!("{line}");
                    *next += Duration::from_secs(1);
                }
            }
        }
    }

    fn finish(&self) {
        if let Shown::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// A load or bulk run over any transport.
struct Run<'a, F> {
    args: &'a Args,
    duration: Duration,
    stop: Arc<AtomicBool>,
    /// The TLS settings of a TLS address.
    options: Option<Options>,
    progress: &'a mut F,
}

impl<F: FnMut(&Progress)> EndpointVisitor for Run<'_, F> {
    type Output = socket_echo::Result<LoadReport>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let args = self.args;
        if args.bulk {
            let mut bulk = Bulk::new()
                .with_duration(self.duration)
                .with_write_size(args.size.unwrap_or(64 * 1024))
                .with_stop(self.stop);
            if let Some(options) = self.options {
                bulk = bulk.with_options(options);
            }
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
        if let Some(rate) = args.rate {
            load = load.with_rate(rate);
        }
        if let Some(options) = self.options {
            load = load.with_options(options);
        }
        load.run_with_progress(transport, address, self.progress)
    }
}

fn table(address: &str, mode: &str, r: &LoadReport) -> String {
    let l = r.latency();
    // A bulk transfer, or a run with no echo, has no round trips: not zero ones.
    let ms = |d: Duration| {
        if l.count() == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.3}", d.as_secs_f64() * 1e3)
        }
    };
    let mut text = format!("echo benchmark of {address} ({}, {mode})\n", r.transport());
    text += &format!(
        "{:>5} {:>7} {:>7} {:>11} {:>11} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6}\n",
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
    text += &format!(
        "{:>5} {:>7} {:>7.2} {:>11} {:>11.0} {:>9.1} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6}\n",
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
    if r.errors() > 0 {
        let kinds: Vec<String> = LoadErrorKind::ALL
            .into_iter()
            .filter(|kind| r.errors_of(*kind) > 0)
            .map(|kind| format!("{} {}", r.errors_of(kind), kind.name()))
            .collect();
        text += &format!("errors: {}\n", kinds.join(", "));
    }
    text
}

/// `bench --json`: one object, documented in docs/cli.md.
#[derive(Serialize)]
struct Json<'a> {
    address: &'a str,
    transport: &'static str,
    mode: &'a str,
    /// The open loop's messages per second; `null` for a closed loop or bulk.
    rate: Option<u64>,
    connections: usize,
    size: usize,
    elapsed_ms: f64,
    messages: u64,
    bytes: u64,
    messages_per_sec: f64,
    mb_per_sec: f64,
    errors: u64,
    errors_by_kind: serde_json::Map<String, serde_json::Value>,
    lost: u64,
    /// `null` when the run has no round trips (bulk, or nothing echoed).
    rtt_ms: Option<RttJson>,
    /// Why the run failed (exit status 1), or `null`.
    error: Option<&'a str>,
    error_kind: Option<&'static str>,
}

impl<'a> Json<'a> {
    fn new(
        address: &'a str,
        mode: &'a str,
        rate: Option<u64>,
        r: &LoadReport,
        failure: Option<&'a Failure>,
    ) -> Self {
        Json {
            address,
            transport: r.transport(),
            mode,
            rate,
            connections: r.connections(),
            size: r.size(),
            elapsed_ms: ms(r.elapsed()),
            messages: r.messages(),
            bytes: r.bytes(),
            // Counts over a time: a tenth of a message a second, a kilobyte a second.
            messages_per_sec: round(r.messages_per_sec(), 1),
            mb_per_sec: round(r.megabytes_per_sec(), 3),
            errors: r.errors(),
            errors_by_kind: LoadErrorKind::ALL
                .into_iter()
                .map(|kind| (kind.name().to_owned(), r.errors_of(kind).into()))
                .collect(),
            lost: r.lost(),
            rtt_ms: RttJson::new(&r.latency()),
            error: failure.map(|failure| failure.message.as_str()),
            error_kind: failure.map(|failure| failure.kind),
        }
    }
}
