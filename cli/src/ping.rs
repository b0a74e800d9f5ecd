//! `socket-echo ping`: probes sent one after another, one line per reply, statistics at the
//! end, like ping(8) and echoping.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socket_echo::{
    EchoClient, EndpointVisitor, Options, Outcome, Ping, PingSummary, Probe, ToAddrs, Transport,
};

use crate::Exit;
use crate::flags::{self, MIN_DURATION, at_least, duration};
use crate::out::Out;

/// Measure round trips to an echo server, like ping.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo ping localhost:9999                       # until Ctrl-C
  socket-echo ping localhost:9999 --count 5 --interval 200ms
  socket-echo ping udp://localhost:9999 --count 10 --timeout 500ms
  socket-echo ping unix:/tmp/echo.sock --count 3

Ctrl-C stops after the probe in flight and prints the statistics so far.", exit_status!()))]
pub struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH or
    /// unixgram:@NAME.
    #[arg(value_name = "ADDRESS", default_value = "localhost:9999")]
    address: String,
    /// How many probes to send [default: until Ctrl-C].
    #[arg(short, long, value_name = "N", value_parser = at_least(1u64), allow_hyphen_values = true)]
    count: Option<u64>,
    /// The size of each probe in bytes (at least 8: the sequence number).
    #[arg(short, long, value_name = "BYTES", default_value = "64", value_parser = at_least(8usize), allow_hyphen_values = true)]
    size: usize,
    /// Time from one send to the next (1s, 200ms, 500us; at least 1ms).
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = duration(MIN_DURATION), allow_hyphen_values = true)]
    interval: Duration,
    /// How long each probe waits for its echo (at least 1ms).
    #[arg(short = 'W', long, value_name = "DURATION", default_value = "1s", value_parser = duration(MIN_DURATION), allow_hyphen_values = true)]
    timeout: Duration,
    /// Use datagrams: UDP for HOST:PORT, Unix datagrams for unix:PATH.
    #[arg(short, long)]
    udp: bool,
}

pub fn run(args: &Args) -> Exit {
    let endpoint = match flags::endpoint(&args.address, args.udp) {
        Ok(endpoint) => endpoint,
        Err(exit) => return exit,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(error) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        log::warn!("cannot handle Ctrl-C: {error}");
    }
    let ping = Ping::new()
        .with_count(args.count.unwrap_or(u64::MAX))
        .with_size(args.size)
        .with_interval(args.interval)
        .with_timeout(args.timeout)
        .with_stop(Arc::clone(&stop));
    let mut options = Options::new();
    if !endpoint.is_datagram() {
        options = options.with_connect_timeout(Some(args.timeout.max(Duration::from_secs(1))));
    }
    let mut out = Out::new();
    match endpoint.visit(Run {
        ping: &ping,
        options,
        out: &mut out,
        stop: &stop,
    }) {
        Ok(summary) => finish(args, &mut out, summary),
        Err(error) => flags::failed(&error),
    }
}

/// Pings over any transport.
struct Run<'a> {
    ping: &'a Ping,
    options: Options,
    out: &'a mut Out,
    stop: &'a AtomicBool,
}

impl EndpointVisitor for Run<'_> {
    type Output = socket_echo::Result<PingSummary>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let mut client = EchoClient::connect_on_with(transport, address, self.options)?;
        let peer = client.peer_addr();
        client.ping(self.ping, |probe| {
            // Nobody reads any more (`| head`): stop, as ping(8) does.
            if !self.out.line(probe_line(&peer, probe)) {
                self.stop.store(true, Ordering::Relaxed);
            }
        })
    }
}

fn finish(args: &Args, out: &mut Out, mut summary: PingSummary) -> Exit {
    out.line(format_args!("--- {} echo statistics ---", args.address));
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
    out.line(format_args!(
        "{line}, time {} ms",
        summary.elapsed().as_millis()
    ));
    if summary.received() > 0 {
        out.line(format_args!("rtt {}", summary.latency()));
    }
    if let Some(error) = summary.take_error() {
        return flags::failed(&error);
    }
    if summary.sent() > 0 && summary.received() == 0 {
        Exit::Failed
    } else {
        Exit::Success
    }
}

fn probe_line(peer: &impl Display, probe: &Probe) -> String {
    let (size, seq) = (probe.size(), probe.seq());
    match probe.outcome() {
        Outcome::Reply { rtt } => {
            format!("{size} bytes from {peer}: seq={seq} time={} ms", ms(rtt))
        }
        Outcome::Late { rtt } => {
            format!(
                "{size} bytes from {peer}: seq={seq} time={} ms (late)",
                ms(rtt)
            )
        }
        Outcome::Lost => format!("no reply from {peer}: seq={seq} (timed out)"),
        Outcome::Mismatch { offset } => {
            format!("bad reply from {peer}: seq={seq} differs at byte {offset}")
        }
        Outcome::Duplicate => format!("{size} bytes from {peer}: seq={seq} (duplicate)"),
        Outcome::Unexpected { len } => {
            format!("unexpected {len}-byte datagram from {peer} while waiting for seq={seq}")
        }
        Outcome::Refused => format!("port unreachable at {peer}: seq={seq}"),
        other => format!("seq={seq}: {other:?}"),
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
