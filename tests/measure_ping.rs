//! `EchoClient::ping` over every transport (TCP, UDP, Unix streams, Unix datagrams), each
//! test written once: against plain echo servers written here, against faulty ones (silent,
//! late, corrupting, closing), and against this crate's `serve_once`; and the `ping` example
//! end to end.

mod transports;
mod util;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socket_echo::{EchoClient, EchoServer, Error, Outcome, Ping, PingSummary, Probe, Udp};
use socket2::Socket;
use transports::{DatagramKind, Kind, Site, StreamKind, datagram_server, echo_server};
use util::GENEROUS;
use util::process::{example, run};

/// A ping of `count` probes, one right after the other.
fn fast(count: u64) -> Ping {
    Ping::new()
        .with_count(count)
        .with_interval(Duration::ZERO)
        .with_timeout(Duration::from_secs(5))
}

/// A client of `site`'s transport connected to `server`.
fn client<T: Kind>(site: &Site<T>, server: T::Addr) -> EchoClient<T> {
    EchoClient::connect_on(site.transport, server).expect("connect")
}

/// Every probe of `ping` from `client`, and the summary.
fn collect<T: Kind>(client: &mut EchoClient<T>, ping: &Ping) -> (Vec<Probe>, PingSummary) {
    let mut probes = Vec::new();
    let summary = client.ping(ping, |probe| probes.push(*probe)).unwrap();
    (probes, summary)
}

/// The sequence number a probe starts with.
fn seq(probe: &[u8]) -> u64 {
    u64::from_be_bytes(probe[..8].try_into().unwrap())
}

fn answers_every_probe_in_order<T: Kind>(site: &Site<T>) {
    let mut client = client(site, echo_server(site));
    let (probes, summary) = collect(&mut client, &fast(20).with_size(100));
    assert_eq!(probes.len(), 20);
    for (i, probe) in probes.iter().enumerate() {
        assert_eq!(probe.seq(), i as u64);
        assert_eq!(probe.size(), 100);
        assert!(probe.outcome().is_reply(), "{probe:?}");
    }
    assert_eq!(
        (summary.sent(), summary.received(), summary.lost()),
        (20, 20, 0)
    );
    assert_eq!(summary.errors(), 0);
    assert_eq!(summary.loss_percent(), 0.0);
    let rtt = summary.latency();
    assert_eq!(rtt.count(), 20);
    assert!(rtt.min() <= rtt.p50() && rtt.p50() <= rtt.p90());
    assert!(rtt.p90() <= rtt.p99() && rtt.p99() <= rtt.max());
    assert!(rtt.min() <= rtt.mean() && rtt.mean() <= rtt.max());
    // The client still echoes afterwards, with its own read timeout back.
    assert_eq!(&client.echo(b"after").unwrap()[..], b"after");
}

/// `serve_once` serves a whole stream connection, or one datagram.
fn answered_by_serve_once<T: Kind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let mut client = client(site, server.local_addr());
    let exchanges = if transports::is_datagram::<T>() { 5 } else { 1 };
    let served = thread::spawn(move || {
        (0..exchanges)
            .map(|_| server.serve_once().map(|exchange| exchange.bytes_echoed()))
            .sum::<Result<u64, Error>>()
    });
    let (_, summary) = collect(&mut client, &fast(5));
    assert_eq!(summary.received(), 5);
    drop(client);
    assert_eq!(served.join().unwrap().unwrap(), 5 * 64);
}

/// Probe 0 answered at once, probe 1's echo held until probe 2 arrives (which the client
/// sends only after probe 1 timed out): 1 is lost, then late, never the answer to 2.
fn assert_held_reply_is_late<T: Kind>(site: &Site<T>, server: T::Addr) {
    let mut client = client(site, server);
    let ping = fast(3).with_timeout(Duration::from_millis(200));
    let (probes, summary) = collect(&mut client, &ping);
    let events: Vec<(u64, &str)> = probes
        .iter()
        .map(|p| {
            let kind = match p.outcome() {
                Outcome::Reply { .. } => "reply",
                Outcome::Lost => "lost",
                Outcome::Late { .. } => "late",
                other => panic!("unexpected {other:?}"),
            };
            (p.seq(), kind)
        })
        .collect();
    assert_eq!(
        events,
        [(0, "reply"), (1, "lost"), (1, "late"), (2, "reply")]
    );
    assert_eq!(
        (
            summary.sent(),
            summary.received(),
            summary.lost(),
            summary.late()
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(summary.errors(), 0);
}

fn a_stream_reply_after_its_timeout_is_late_not_the_next_answer<T: StreamKind>(site: &Site<T>) {
    let server = transports::stream_server(site, |mut conn: Socket| {
        let mut probe = [0u8; 64];
        let mut held = None;
        while conn.read_exact(&mut probe).is_ok() {
            if seq(&probe) == 1 {
                held = Some(probe);
                continue;
            }
            if let Some(earlier) = held.take() {
                conn.write_all(&earlier).unwrap();
            }
            conn.write_all(&probe).unwrap();
        }
    });
    assert_held_reply_is_late(site, server);
}

fn a_datagram_reply_after_its_timeout_is_late_not_the_next_answer<T: DatagramKind>(site: &Site<T>) {
    let mut held: Option<Vec<u8>> = None;
    let server = datagram_server(site, move |datagram, _| match seq(datagram) {
        1 => {
            held = Some(datagram.to_vec());
            vec![]
        }
        _ => held.take().into_iter().chain([datagram.to_vec()]).collect(),
    });
    assert_held_reply_is_late(site, server);
}

fn a_server_that_drops_every_reply_loses_every_probe<T: DatagramKind>(site: &Site<T>) {
    let mut client = client(site, datagram_server(site, |_, _| vec![]));
    let ping = fast(3).with_timeout(Duration::from_millis(100));
    let (probes, summary) = collect(&mut client, &ping);
    assert!(probes.iter().all(|p| p.outcome() == Outcome::Lost));
    assert_eq!(
        (summary.sent(), summary.received(), summary.lost()),
        (3, 0, 3)
    );
    assert_eq!(summary.loss_percent(), 100.0);
    assert_eq!(summary.latency().count(), 0);
}

#[test]
fn a_udp_port_with_nothing_bound_is_refused_or_lost() {
    let site = Site::new(Udp, transports::Place::V4, "udp_v4");
    let mut client = client(&site, transports::nothing_at(&site));
    let ping = fast(2).with_timeout(Duration::from_millis(200));
    let (probes, summary) = collect(&mut client, &ping);
    assert!(
        probes
            .iter()
            .all(|p| matches!(p.outcome(), Outcome::Refused | Outcome::Lost))
    );
    assert_eq!(
        (summary.sent(), summary.received(), summary.lost()),
        (2, 0, 2)
    );
}

fn a_corrupted_datagram_is_an_error_never_a_reply<T: DatagramKind>(site: &Site<T>) {
    let server = datagram_server(site, |datagram, _| {
        let mut reply = datagram.to_vec();
        reply[20] ^= 0xff;
        vec![reply]
    });
    let mut client = client(site, server);
    let (probes, summary) = collect(&mut client, &fast(4));
    assert!(
        probes
            .iter()
            .all(|p| p.outcome() == Outcome::Mismatch { offset: 20 })
    );
    assert_eq!((summary.received(), summary.errors()), (0, 4));
}

fn a_damaged_sequence_number_is_unexpected_and_the_probe_lost<T: DatagramKind>(site: &Site<T>) {
    let server = datagram_server(site, |datagram, _| {
        let mut reply = datagram.to_vec();
        reply[0] ^= 0x80;
        vec![reply]
    });
    let mut client = client(site, server);
    let ping = fast(2).with_timeout(Duration::from_millis(100));
    let (probes, summary) = collect(&mut client, &ping);
    assert!(!probes.iter().any(|p| p.outcome().is_reply()));
    assert!(
        probes
            .iter()
            .any(|p| matches!(p.outcome(), Outcome::Unexpected { len: 64 }))
    );
    assert_eq!(
        (summary.received(), summary.lost(), summary.errors()),
        (0, 2, 2)
    );
}

fn a_short_datagram_reply_is_a_mismatch<T: DatagramKind>(site: &Site<T>) {
    let server = datagram_server(site, |datagram, _| vec![datagram[..40].to_vec()]);
    let mut client = client(site, server);
    let (probes, summary) = collect(&mut client, &fast(2));
    assert!(
        probes
            .iter()
            .all(|p| p.outcome() == Outcome::Mismatch { offset: 40 })
    );
    assert_eq!(summary.received(), 0);
}

fn a_duplicate_reply_is_counted_once_as_a_reply<T: DatagramKind>(site: &Site<T>) {
    let server = datagram_server(site, |datagram, _| {
        vec![datagram.to_vec(), datagram.to_vec()]
    });
    let mut client = client(site, server);
    let (_, summary) = collect(&mut client, &fast(3));
    assert_eq!(summary.received(), 3);
    // The copy of the last probe may still be on its way when the run ends.
    assert!((2..=3).contains(&summary.duplicates()), "{summary:?}");
}

fn a_corrupted_stream_byte_is_an_error_never_a_reply<T: StreamKind>(site: &Site<T>) {
    let server = transports::stream_server(site, |mut conn: Socket| {
        let mut probe = [0u8; 64];
        while conn.read_exact(&mut probe).is_ok() {
            probe[33] = probe[33].wrapping_add(1);
            conn.write_all(&probe).unwrap();
        }
    });
    let mut client = client(site, server);
    let (probes, summary) = collect(&mut client, &fast(3));
    assert!(
        probes
            .iter()
            .all(|p| p.outcome() == Outcome::Mismatch { offset: 33 })
    );
    assert_eq!(
        (summary.sent(), summary.received(), summary.errors()),
        (3, 0, 3)
    );
}

fn a_server_that_closes_ends_the_run_with_the_error_and_the_counts<T: StreamKind>(site: &Site<T>) {
    let server = transports::stream_server(site, |mut conn: Socket| {
        let mut probe = [0u8; 64];
        for _ in 0..2 {
            if conn.read_exact(&mut probe).is_err() {
                return;
            }
            conn.write_all(&probe).unwrap();
        }
    });
    let mut client = client(site, server);
    let (_, mut summary) = collect(&mut client, &fast(10));
    assert_eq!(summary.received(), 2);
    // The third probe is sent and its echo cut short, or (a Unix socket whose peer has
    // closed refuses at once) its send fails.
    match summary.take_error() {
        Some(Error::ShortEcho { .. } | Error::Receive { .. }) => assert!(summary.sent() >= 3),
        Some(Error::Send { .. }) => assert!(summary.sent() >= 2),
        other => panic!("expected the run to end with the close, got {other:?}"),
    }
}

fn the_stop_flag_ends_the_run_early_with_the_summary_so_far<T: Kind>(site: &Site<T>) {
    let mut client = client(site, echo_server(site));
    let stop = Arc::new(AtomicBool::new(false));
    let ping = fast(1_000_000).with_stop(Arc::clone(&stop));
    let mut seen = 0;
    let summary = client
        .ping(&ping, |_| {
            seen += 1;
            if seen == 5 {
                stop.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert!(summary.stopped());
    assert_eq!((summary.sent(), summary.received()), (5, 5));
}

fn the_stop_flag_interrupts_the_pause_between_probes<T: Kind>(site: &Site<T>) {
    let mut client = client(site, echo_server(site));
    let stop = Arc::new(AtomicBool::new(false));
    // Twice GENEROUS between probes: only the stop flag can end this run sooner.
    let ping = Ping::new()
        .with_count(2)
        .with_interval(2 * GENEROUS)
        .with_stop(Arc::clone(&stop));
    let start = Instant::now();
    let summary = client
        .ping(&ping, |_| stop.store(true, Ordering::Relaxed))
        .unwrap();
    // Not a timing: ignored, the flag would leave the run in its pause, twice as long.
    assert!(
        start.elapsed() < GENEROUS,
        "a stopped ping took {:?}",
        start.elapsed()
    );
    assert!(summary.stopped());
    assert_eq!(summary.sent(), 1);
}

fn bad_settings_are_refused<T: Kind>(site: &Site<T>) {
    let mut client = client(site, echo_server(site));
    let small = client.ping(&Ping::new().with_size(7), |_| {});
    assert!(matches!(
        small,
        Err(Error::InvalidOption { option: "size", .. })
    ));
    let zero = client.ping(&Ping::new().with_timeout(Duration::ZERO), |_| {});
    assert!(matches!(
        zero,
        Err(Error::InvalidOption {
            option: "timeout",
            ..
        })
    ));
}

#[test]
fn a_probe_larger_than_a_udp_datagram_is_refused() {
    let site = Site::new(Udp, transports::Place::V4, "udp_v4");
    let mut udp = client(&site, echo_server(&site));
    let huge = udp.ping(&Ping::new().with_size(70_000), |_| {});
    assert!(matches!(
        huge,
        Err(Error::DatagramTooLarge { len: 70_000, .. })
    ));
}

fn the_options_of_the_client_apply_to_ping<T: Kind>(site: &Site<T>) {
    // A client connected with a short read timeout keeps it after a ping with a longer one.
    let options = socket_echo::Options::new().with_read_timeout(Some(Duration::from_millis(300)));
    let mut client =
        EchoClient::connect_on_with(site.transport, echo_server(site), options).unwrap();
    let (_, summary) = collect(&mut client, &fast(2));
    assert_eq!(summary.received(), 2);
    let timeout = socket2::SockRef::from(&client).read_timeout().unwrap();
    assert_eq!(timeout, Some(Duration::from_millis(300)));
}

over_transports!(
    answers_every_probe_in_order,
    answered_by_serve_once,
    the_stop_flag_ends_the_run_early_with_the_summary_so_far,
    the_stop_flag_interrupts_the_pause_between_probes,
    bad_settings_are_refused,
    the_options_of_the_client_apply_to_ping,
);
over_stream_transports!(
    a_stream_reply_after_its_timeout_is_late_not_the_next_answer,
    a_corrupted_stream_byte_is_an_error_never_a_reply,
    a_server_that_closes_ends_the_run_with_the_error_and_the_counts,
);
over_datagram_transports!(
    a_datagram_reply_after_its_timeout_is_late_not_the_next_answer,
    a_server_that_drops_every_reply_loses_every_probe,
    a_corrupted_datagram_is_an_error_never_a_reply,
    a_damaged_sequence_number_is_unexpected_and_the_probe_lost,
    a_short_datagram_reply_is_a_mismatch,
    a_duplicate_reply_is_counted_once_as_a_reply,
);

#[test]
fn the_ping_example_prints_a_line_per_reply_and_a_summary() {
    let finished = run(example("ping"));
    assert!(finished.status.success(), "{finished:?}");
    let out = finished.stdout.join("\n");
    let replies = out.lines().filter(|l| l.contains(" bytes from ")).count();
    assert_eq!(replies, 5, "{out}");
    assert!(out.contains("5 sent, 5 received, 0% lost"), "{out}");
    assert!(out.contains("rtt min/mean/p50/p90/p99/max = "), "{out}");
}
