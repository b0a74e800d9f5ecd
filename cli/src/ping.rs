//! `socket-echo ping`: probes sent one after another, one line per reply, statistics at the
//! end, like ping(8) and echoping.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use socket_echo::{
    EchoClient, EndpointVisitor, Options, Outcome, Ping, PingSummary, Probe, ToAddrs, Transport,
};

use crate::Exit;
use crate::flags::{
    self, DEFAULT_ADDRESS, Failure, MIN_DURATION, at_least, duration, size_at_least,
};
use crate::json::{RttJson, ms as millis, round};
use crate::out::Out;
use crate::tally::Tally;

/// Measure round trips to an echo server, like ping.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  socket-echo ping localhost:9999                       # until Ctrl-C
  socket-echo ping localhost:9999 --count 5 --interval 200ms
  socket-echo ping udp://localhost:9999 --count 10 --timeout 500ms
  socket-echo ping unix:/tmp/echo.sock --count 3
  socket-echo ping tls://localhost:9443 --ca cert.pem --count 3

Ctrl-C stops after the probe in flight and prints the statistics so far: sent, received,
lost, late (answered after the timeout), reordered (answered after a later probe),
duplicated and corrupted (an echo that differs) probes, the round-trip percentiles, the
RFC 3550 interarrival jitter and the mean deviation (mdev, as ping(8)). Exit status 1 if
every probe was lost.", exit_status!()))]
pub struct Args {
    /// The echo server: HOST:PORT, udp://HOST:PORT, unix:PATH, unix:@NAME, unixgram:PATH,
    /// unixgram:@NAME, tls://HOST:PORT or tls+unix:PATH.
    #[arg(value_name = "ADDRESS", default_value = DEFAULT_ADDRESS)]
    pub address: String,
    /// How many probes to send [default: until Ctrl-C].
    #[arg(short, long, value_name = "N", value_parser = at_least(1u64), allow_hyphen_values = true)]
    count: Option<u64>,
    /// The size of each probe in bytes (64, 1KiB; at least 8: the sequence number).
    #[arg(short, long, value_name = "BYTES", default_value = "64", value_parser = size_at_least(8), allow_hyphen_values = true)]
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
    /// Print JSON: one object per probe as it happens, then a summary object (or an error
    /// object if no probe could be sent).
    #[arg(short, long)]
    pub json: bool,
    #[command(flatten)]
    tls: crate::tls::ClientArgs,
}

pub fn run(args: &Args) -> Result<Exit, Failure> {
    let endpoint = flags::endpoint(&args.address, args.udp)?;
    let mut options = args.tls.apply(&endpoint, Options::new())?;
    let stop = flags::stop_on_ctrl_c();
    let ping = Ping::new()
        .with_count(args.count.unwrap_or(u64::MAX))
        .with_size(args.size)
        .with_interval(args.interval)
        .with_timeout(args.timeout)
        .with_stop(Arc::clone(&stop));
    if !endpoint.is_datagram() {
        options = options.with_connect_timeout(Some(args.timeout.max(Duration::from_secs(1))));
    }
    let mut report = Report {
        json: args.json,
        out: Out::new(),
        tally: Tally::default(),
        stop: &stop,
    };
    match endpoint.visit(Run {
        ping: &ping,
        options,
        report: &mut report,
    }) {
        Ok(summary) => Ok(report.finish(args, endpoint.transport(), summary)),
        Err(error) => Err(flags::failed(&error)),
    }
}

/// Pings over any transport.
struct Run<'a, 'r> {
    ping: &'a Ping,
    options: Options,
    report: &'a mut Report<'r>,
}

impl EndpointVisitor for Run<'_, '_> {
    type Output = socket_echo::Result<PingSummary>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let mut client = EchoClient::connect_on_with(transport, address, self.options)?;
        let peer = client.peer_addr();
        client.ping(self.ping, |probe| self.report.probe(&peer, probe))
    }
}

/// Where the events of the run go, and what is counted from them.
struct Report<'r> {
    json: bool,
    out: Out,
    tally: Tally,
    stop: &'r AtomicBool,
}

impl Report<'_> {
    fn probe(&mut self, peer: &impl Display, probe: &Probe) {
        self.tally.add(probe);
        let printed = if self.json {
            self.out
                .line(serde_json::to_string(&ProbeJson::new(probe)).unwrap_or_default())
        } else {
            self.out.line(probe_line(peer, probe))
        };
        // Nobody reads any more (`| head`): stop, as ping(8) does.
        if !printed {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn finish(&mut self, args: &Args, transport: &'static str, mut summary: PingSummary) -> Exit {
        let failure = match summary.take_error() {
            Some(error) => Some(flags::failed(&error)),
            None if summary.sent() > 0 && summary.received() == 0 => Some(Failure::failed(
                "lost",
                format!("every probe was lost ({} sent)", summary.sent()),
            )),
            None => None,
        };
        if self.json {
            let json = SummaryJson::new(args, transport, &summary, &self.tally, failure.as_ref());
            self.out
                .line(serde_json::to_string(&json).unwrap_or_default());
        } else {
            self.text(args, &summary);
        }
        match failure {
            Some(failure) => {
                failure.log();
                failure.exit
            }
            None => Exit::Success,
        }
    }

    fn text(&mut self, args: &Args, summary: &PingSummary) {
        let tally = &self.tally;
        self.out
            .line(format_args!("--- {} echo statistics ---", args.address));
        let mut line = format!(
            "{} probes sent, {} received, {}% lost",
            summary.sent(),
            summary.received(),
            percent(summary.loss_percent())
        );
        for (count, what) in [
            (tally.late, "late"),
            (tally.reordered, "reordered"),
            (tally.duplicated, "duplicated"),
            (tally.corrupted, "corrupted"),
        ] {
            if count > 0 {
                line.push_str(&format!(", {count} {what}"));
            }
        }
        self.out.line(format_args!(
            "{line}, time {} ms",
            summary.elapsed().as_millis()
        ));
        if summary.received() > 0 {
            self.out.line(format_args!("rtt {}", summary.latency()));
        }
        if let (Some(jitter), Some(mdev)) = (tally.jitter(), tally.mdev()) {
            self.out.line(format_args!(
                "jitter {} ms, mdev {} ms",
                ms(jitter),
                ms(mdev)
            ));
        }
    }
}

/// `ping --json`: one per event, as docs/cli.md describes.
#[derive(Serialize)]
struct ProbeJson {
    r#type: &'static str,
    seq: u64,
    size: usize,
    outcome: &'static str,
    /// The round trip of a reply or a late one.
    rtt_ms: Option<f64>,
    /// The first differing byte of a mismatch.
    offset: Option<usize>,
    /// The length of an unexpected datagram.
    len: Option<usize>,
}

impl ProbeJson {
    fn new(probe: &Probe) -> Self {
        let (outcome, rtt, offset, len) = match probe.outcome() {
            Outcome::Reply { rtt } => ("reply", Some(rtt), None, None),
            Outcome::Late { rtt } => ("late", Some(rtt), None, None),
            Outcome::Lost => ("lost", None, None, None),
            Outcome::Mismatch { offset } => ("mismatch", None, Some(offset), None),
            Outcome::Duplicate => ("duplicate", None, None, None),
            Outcome::Unexpected { len } => ("unexpected", None, None, Some(len)),
            Outcome::Refused => ("refused", None, None, None),
            _ => ("other", None, None, None),
        };
        ProbeJson {
            r#type: "probe",
            seq: probe.seq(),
            size: probe.size(),
            outcome,
            rtt_ms: rtt.map(millis),
            offset,
            len,
        }
    }
}

/// `ping --json`: the last object.
#[derive(Serialize)]
struct SummaryJson<'a> {
    r#type: &'static str,
    address: &'a str,
    transport: &'static str,
    sent: u64,
    received: u64,
    lost: u64,
    late: u64,
    reordered: u64,
    duplicated: u64,
    corrupted: u64,
    loss_percent: f64,
    elapsed_ms: f64,
    rtt_ms: Option<RttJson>,
    jitter_ms: Option<f64>,
    mdev_ms: Option<f64>,
    error: Option<&'a str>,
    error_kind: Option<&'static str>,
}

impl<'a> SummaryJson<'a> {
    fn new(
        args: &'a Args,
        transport: &'static str,
        summary: &PingSummary,
        tally: &Tally,
        failure: Option<&'a Failure>,
    ) -> Self {
        SummaryJson {
            r#type: "summary",
            address: &args.address,
            transport,
            sent: summary.sent(),
            received: summary.received(),
            // Every probe sent without its exact echo in time: timed out, refused, corrupted,
            // or cut off by the error that ended the run; the ones after are counted apart.
            lost: summary.sent().saturating_sub(summary.received()),
            late: tally.late,
            reordered: tally.reordered,
            duplicated: tally.duplicated,
            corrupted: tally.corrupted,
            loss_percent: round(summary.loss_percent(), 2),
            elapsed_ms: millis(summary.elapsed()),
            rtt_ms: RttJson::new(&summary.latency()),
            jitter_ms: tally.jitter().map(millis),
            mdev_ms: tally.mdev().map(millis),
            error: failure.map(|failure| failure.message.as_str()),
            error_kind: failure.map(|failure| failure.kind),
        }
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
