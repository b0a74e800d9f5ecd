//! `socket-echo ping` against `serve` over every transport, and against a server that
//! answers nothing.

mod support;

use support::{Server, every_transport, run, socket_echo};

#[test]
fn probes_over_every_transport() {
    let server = Server::start(&every_transport("ping"));
    for address in &server.addresses {
        let output = run(socket_echo([
            "ping",
            address,
            "--count",
            "3",
            "--interval",
            "10ms",
        ]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        assert!(
            output.stdout.contains("3 probes sent, 3 received, 0% lost"),
            "{address}: {output:?}"
        );
        assert_eq!(output.stdout.matches("seq=").count(), 3, "{output:?}");
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn every_probe_lost_exits_1() {
    // A UDP port with nothing bound: every probe is refused.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let address = format!("udp://{port}");
    let output = run(socket_echo([
        "ping",
        &address,
        "--count",
        "2",
        "--interval",
        "10ms",
        "--timeout",
        "200ms",
    ]));
    assert_eq!(output.code(), Some(1), "{output:?}");
    assert!(
        output
            .stdout
            .contains("2 probes sent, 0 received, 100% lost")
    );
}

/// A TCP echo server whose answers wait `delays[i % len]` each, in turn.
fn delaying_server(delays: &'static [u64]) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut probe = [0u8; 64];
        for i in 0.. {
            if conn.read_exact(&mut probe).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(delays[i % delays.len()]));
            if conn.write_all(&probe).is_err() {
                return;
            }
        }
    });
    addr.to_string()
}

/// RFC 3550's interarrival jitter over the round trips, as the summary should give it.
fn rfc3550_jitter(rtts: &[f64]) -> f64 {
    let mut jitter = 0.0;
    for pair in rtts.windows(2) {
        jitter += ((pair[1] - pair[0]).abs() - jitter) / 16.0;
    }
    jitter
}

/// Delays of 10 and 30 ms in turn: every round trip at least its delay, the percentiles
/// at least what half the probes waited, and the jitter and mean deviation those of the
/// round trips printed per probe.
#[test]
fn jitter_and_percentiles_against_a_server_with_known_delays() {
    let address = delaying_server(&[10, 30]);
    let output = run(socket_echo([
        "ping",
        &address,
        "--count",
        "10",
        "--interval",
        "1ms",
        "--timeout",
        "5s",
        "--json",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    let lines = output.json_lines();
    assert_eq!(lines.len(), 11, "{output:?}");
    let mut rtts = Vec::new();
    for (seq, probe) in lines[..10].iter().enumerate() {
        assert_eq!(probe["type"], "probe", "{probe}");
        assert_eq!(probe["seq"], seq as u64);
        assert_eq!(probe["size"], 64);
        assert_eq!(probe["outcome"], "reply", "{probe}");
        let rtt = probe["rtt_ms"].as_f64().expect("rtt_ms");
        let delay = if seq % 2 == 0 { 10.0 } else { 30.0 };
        assert!(rtt >= delay, "seq {seq}: {rtt} ms < {delay} ms");
        rtts.push(rtt);
    }
    let summary = &lines[10];
    assert_eq!(summary["type"], "summary", "{summary}");
    assert_eq!(summary["sent"], 10);
    assert_eq!(summary["received"], 10);
    for count in ["lost", "late", "duplicated", "reordered", "corrupted"] {
        assert_eq!(summary[count], 0, "{count}: {summary}");
    }
    let rtt = &summary["rtt_ms"];
    assert_eq!(rtt["count"], 10);
    assert!(rtt["min"].as_f64().unwrap() >= 10.0, "{rtt}");
    assert!(rtt["p90"].as_f64().unwrap() >= 30.0, "{rtt}");
    assert!(rtt["max"].as_f64().unwrap() >= 30.0, "{rtt}");

    let jitter = summary["jitter_ms"].as_f64().expect("jitter_ms");
    let expected = rfc3550_jitter(&rtts);
    assert!((jitter - expected).abs() < 0.01, "{jitter} vs {expected}");
    // Consecutive round trips differ by at least 20 ms less the noise: the jitter has grown.
    assert!(jitter >= 2.0, "{jitter}");
    let mean = rtts.iter().sum::<f64>() / rtts.len() as f64;
    let mdev = (rtts.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rtts.len() as f64).sqrt();
    let reported = summary["mdev_ms"].as_f64().expect("mdev_ms");
    assert!((reported - mdev).abs() < 0.01, "{reported} vs {mdev}");
}

#[test]
fn json_over_every_transport() {
    let server = Server::start(&every_transport("ping-json"));
    for (address, transport) in server.addresses.iter().zip(["tcp", "udp", "unix"]) {
        let output = run(socket_echo([
            "ping",
            address,
            "--count",
            "3",
            "--interval",
            "5ms",
            "--json",
        ]));
        assert_eq!(output.code(), Some(0), "{address}: {output:?}");
        let lines = output.json_lines();
        assert_eq!(lines.len(), 4, "{output:?}");
        assert!(lines[..3].iter().all(|probe| probe["outcome"] == "reply"));
        let summary = &lines[3];
        assert_eq!(summary["transport"], transport);
        assert_eq!(summary["address"], address.as_str());
        assert_eq!(summary["received"], 3);
        assert_eq!(summary["loss_percent"], 0.0);
        assert!(summary["elapsed_ms"].is_f64() || summary["elapsed_ms"].is_u64());
        assert!(summary["error"].is_null());
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn the_text_summary_shows_jitter_and_mean_deviation() {
    let address = delaying_server(&[1]);
    let output = run(socket_echo([
        "ping",
        &address,
        "--count",
        "3",
        "--interval",
        "1ms",
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert!(
        output.stdout.contains("rtt min/mean/p50/p90/p99/max = "),
        "{output:?}"
    );
    assert!(output.stdout.contains("jitter "), "{output:?}");
    assert!(output.stdout.contains(" ms, mdev "), "{output:?}");
}
