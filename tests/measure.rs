//! `EchoClient::ping`, `Load` and `Bulk` against plain std echo servers written here, against
//! faulty ones (silent, late, corrupting), and against this crate's `serve_once`; and the
//! `ping` and `bench` examples run end to end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use socket_echo::{
    Bulk, EchoClient, EchoServer, Error, Load, Options, Outcome, Ping, Probe, Tcp, Udp,
};

const LOCAL: &str = "127.0.0.1:0";

/// A std TCP echo server, one thread per connection; it runs until the test process ends.
fn tcp_echo_server() -> SocketAddr {
    tcp_server(|mut conn| {
        let mut buffer = [0u8; 65536];
        loop {
            match conn.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if conn.write_all(&buffer[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

fn tcp_server(handle: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind(LOCAL).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            thread::spawn(move || handle(conn));
        }
    });
    addr
}

/// A UDP server that answers each datagram with what `reply` makes of it (nothing for None).
fn udp_server(mut reply: impl FnMut(&[u8]) -> Vec<Vec<u8>> + Send + 'static) -> SocketAddr {
    let socket = UdpSocket::bind(LOCAL).unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buffer = [0u8; 65536];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buffer) else {
                return;
            };
            for datagram in reply(&buffer[..n]) {
                let _ = socket.send_to(&datagram, peer);
            }
        }
    });
    addr
}

fn udp_echo_server() -> SocketAddr {
    udp_server(|datagram| vec![datagram.to_vec()])
}

fn fast(count: u64) -> Ping {
    Ping::new()
        .with_count(count)
        .with_interval(Duration::ZERO)
        .with_timeout(Duration::from_secs(5))
}

fn collect<T: socket_echo::Transport>(
    client: &mut EchoClient<T>,
    ping: &Ping,
) -> (Vec<Probe>, socket_echo::PingSummary) {
    let mut probes = Vec::new();
    let summary = client.ping(ping, |probe| probes.push(*probe)).unwrap();
    (probes, summary)
}

#[test]
fn tcp_ping_against_std_server_answers_every_probe_in_order() {
    let mut client = EchoClient::connect(tcp_echo_server()).unwrap();
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
    let rtt = summary.latency();
    assert_eq!(rtt.count(), 20);
    assert!(rtt.min() <= rtt.p50() && rtt.p50() <= rtt.p90());
    assert!(rtt.p90() <= rtt.p99() && rtt.p99() <= rtt.max());
    assert!(rtt.min() <= rtt.mean() && rtt.mean() <= rtt.max());
    // The client still echoes afterwards, with its own read timeout back.
    assert_eq!(&client.echo(b"after").unwrap()[..], b"after");
}

#[test]
fn udp_ping_against_std_server_answers_every_probe() {
    let mut client = EchoClient::connect_on(Udp, udp_echo_server()).unwrap();
    let (probes, summary) = collect(&mut client, &fast(20));
    assert!(probes.iter().all(|p| p.outcome().is_reply()));
    assert_eq!(
        (summary.sent(), summary.received(), summary.errors()),
        (20, 20, 0)
    );
    assert_eq!(summary.loss_percent(), 0.0);
}

#[test]
fn ping_against_serve_once_tcp_and_udp() {
    let server = EchoServer::bind(LOCAL).unwrap();
    let mut client = EchoClient::connect(server.local_addr()).unwrap();
    let served = thread::spawn(move || server.serve_once());
    let (_, summary) = collect(&mut client, &fast(5));
    assert_eq!(summary.received(), 5);
    drop(client);
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 5 * 64);

    let server = EchoServer::bind_on(Udp, LOCAL).unwrap();
    let mut client = EchoClient::connect_on(Udp, server.local_addr()).unwrap();
    let served = thread::spawn(move || {
        for _ in 0..5 {
            server.serve_once()?;
        }
        Ok::<_, Error>(())
    });
    let (_, summary) = collect(&mut client, &fast(5));
    assert_eq!(summary.received(), 5);
    served.join().unwrap().unwrap();
}

#[test]
fn udp_reply_held_past_its_timeout_is_late_not_the_next_answer() {
    // The server answers probe 0 at once, keeps probe 1's echo, and sends it only when
    // probe 2 arrives, which the client sends only after probe 1 timed out.
    let mut held: Option<Vec<u8>> = None;
    let addr = udp_server(move |datagram| {
        let seq = u64::from_be_bytes(datagram[..8].try_into().unwrap());
        match seq {
            1 => {
                held = Some(datagram.to_vec());
                vec![]
            }
            _ => held.take().into_iter().chain([datagram.to_vec()]).collect(),
        }
    });
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
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

#[test]
fn tcp_reply_after_its_timeout_is_read_as_late_before_the_next() {
    // Holds the echo of the second probe until the third arrives.
    let addr = tcp_server(|mut conn| {
        let mut probe = [0u8; 64];
        let mut held = None;
        while conn.read_exact(&mut probe).is_ok() {
            let seq = u64::from_be_bytes(probe[..8].try_into().unwrap());
            if seq == 1 {
                held = Some(probe);
                continue;
            }
            if let Some(earlier) = held.take() {
                conn.write_all(&earlier).unwrap();
            }
            conn.write_all(&probe).unwrap();
        }
    });
    let mut client = EchoClient::connect(addr).unwrap();
    let ping = fast(3).with_timeout(Duration::from_millis(200));
    let (probes, summary) = collect(&mut client, &ping);
    let kinds: Vec<(u64, bool, bool)> = probes
        .iter()
        .map(|p| {
            (
                p.seq(),
                p.outcome().is_reply(),
                matches!(p.outcome(), Outcome::Late { .. }),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (0, true, false),
            (1, false, false),
            (1, false, true),
            (2, true, false)
        ]
    );
    assert_eq!(
        (summary.received(), summary.lost(), summary.late()),
        (2, 1, 1)
    );
}

#[test]
fn udp_server_that_drops_every_reply_loses_every_probe() {
    let addr = udp_server(|_| vec![]);
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
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
fn udp_port_with_nothing_bound_is_refused_or_lost() {
    let addr = UdpSocket::bind(LOCAL).unwrap().local_addr().unwrap();
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
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

#[test]
fn udp_corrupted_byte_is_an_error_never_a_reply() {
    let addr = udp_server(|datagram| {
        let mut reply = datagram.to_vec();
        reply[20] ^= 0xff;
        vec![reply]
    });
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
    let (probes, summary) = collect(&mut client, &fast(4));
    assert!(
        probes
            .iter()
            .all(|p| p.outcome() == Outcome::Mismatch { offset: 20 })
    );
    assert_eq!((summary.received(), summary.errors()), (0, 4));
}

#[test]
fn udp_damaged_sequence_number_is_unexpected_and_the_probe_lost() {
    let addr = udp_server(|datagram| {
        let mut reply = datagram.to_vec();
        reply[0] ^= 0x80;
        vec![reply]
    });
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
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

#[test]
fn udp_short_reply_is_a_mismatch() {
    let addr = udp_server(|datagram| vec![datagram[..40].to_vec()]);
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
    let (probes, summary) = collect(&mut client, &fast(2));
    assert!(
        probes
            .iter()
            .all(|p| p.outcome() == Outcome::Mismatch { offset: 40 })
    );
    assert_eq!(summary.received(), 0);
}

#[test]
fn udp_duplicate_reply_is_counted_once_as_reply() {
    let addr = udp_server(|datagram| vec![datagram.to_vec(), datagram.to_vec()]);
    let mut client = EchoClient::connect_on(Udp, addr).unwrap();
    let (_, summary) = collect(&mut client, &fast(3));
    assert_eq!(summary.received(), 3);
    // The copy of the last probe may still be on its way when the run ends.
    assert!((2..=3).contains(&summary.duplicates()), "{summary:?}");
}

#[test]
fn tcp_corrupted_byte_is_an_error_never_a_reply() {
    let addr = tcp_server(|mut conn| {
        let mut probe = [0u8; 64];
        while conn.read_exact(&mut probe).is_ok() {
            probe[33] = probe[33].wrapping_add(1);
            conn.write_all(&probe).unwrap();
        }
    });
    let mut client = EchoClient::connect(addr).unwrap();
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

#[test]
fn tcp_server_that_closes_ends_the_run_with_the_error_and_the_counts() {
    let addr = tcp_server(|mut conn| {
        let mut probe = [0u8; 64];
        for _ in 0..2 {
            if conn.read_exact(&mut probe).is_err() {
                return;
            }
            conn.write_all(&probe).unwrap();
        }
    });
    let mut client = EchoClient::connect(addr).unwrap();
    let (_, mut summary) = collect(&mut client, &fast(10));
    assert_eq!(summary.received(), 2);
    assert!(summary.sent() >= 3);
    assert!(matches!(
        summary.take_error(),
        Some(Error::ShortEcho { .. } | Error::Send { .. } | Error::Receive { .. })
    ));
}

#[test]
fn stop_flag_ends_the_run_early_with_the_summary_so_far() {
    let mut client = EchoClient::connect(tcp_echo_server()).unwrap();
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

#[test]
fn stop_flag_interrupts_the_pause_between_probes() {
    let mut client = EchoClient::connect(tcp_echo_server()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // An hour between probes: only the stop flag can end this run.
    let ping = Ping::new()
        .with_count(2)
        .with_interval(Duration::from_secs(3600))
        .with_stop(Arc::clone(&stop));
    let summary = client
        .ping(&ping, |_| stop.store(true, Ordering::Relaxed))
        .unwrap();
    assert!(summary.stopped());
    assert_eq!(summary.sent(), 1);
}

#[test]
fn ping_refuses_bad_settings() {
    let mut client = EchoClient::connect(tcp_echo_server()).unwrap();
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
    let mut udp = EchoClient::connect_on(Udp, udp_echo_server()).unwrap();
    let huge = udp.ping(&Ping::new().with_size(70_000), |_| {});
    assert!(matches!(
        huge,
        Err(Error::DatagramTooLarge { len: 70_000, .. })
    ));
}

#[test]
fn tcp_load_totals_are_consistent_and_error_free() {
    let addr = tcp_echo_server();
    let load = Load::new()
        .with_connections(4)
        .with_size(100)
        .with_duration(Duration::from_secs(60))
        .with_messages(250);
    let report = load.run(Tcp, addr).unwrap();
    assert_eq!(report.messages(), 1000);
    assert_eq!(report.bytes(), report.messages() * 100);
    assert_eq!((report.errors(), report.lost()), (0, 0));
    assert_eq!(report.latency().count(), 1000);
    assert_eq!((report.transport(), report.connections()), ("tcp", 4));
}

#[test]
fn tcp_load_bounded_by_time_stops_by_itself() {
    let report = Load::new()
        .with_connections(3)
        .with_size(64)
        .with_duration(Duration::from_millis(300))
        .run(Tcp, tcp_echo_server())
        .unwrap();
    assert!(report.messages() > 0);
    assert_eq!(report.bytes(), report.messages() * 64);
    assert_eq!(report.errors(), 0);
}

#[test]
fn udp_load_totals_are_consistent() {
    let report = Load::new()
        .with_connections(4)
        .with_size(64)
        .with_duration(Duration::from_secs(60))
        .with_messages(200)
        .run(Udp, udp_echo_server())
        .unwrap();
    assert_eq!(report.messages() + report.lost(), 800);
    assert_eq!(report.bytes(), report.messages() * 64);
    assert_eq!(report.errors(), 0);
}

#[test]
fn load_against_serve_once() {
    let server = EchoServer::bind(LOCAL).unwrap();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let report = Load::new()
        .with_connections(1)
        .with_messages(50)
        .run(Tcp, addr)
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (50, 0));
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 50 * 512);
}

#[test]
fn load_against_corrupting_server_counts_errors_not_messages() {
    let addr = tcp_server(|mut conn| {
        let mut message = [0u8; 16];
        while conn.read_exact(&mut message).is_ok() {
            message[3] ^= 1;
            if conn.write_all(&message).is_err() {
                return;
            }
        }
    });
    let report = Load::new()
        .with_connections(2)
        .with_size(16)
        .with_messages(20)
        .run(Tcp, addr)
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (0, 40));

    let addr = udp_server(|datagram| {
        let mut reply = datagram.to_vec();
        reply[10] ^= 1;
        vec![reply]
    });
    let report = Load::new()
        .with_connections(1)
        .with_size(16)
        .with_messages(3)
        .with_timeout(Duration::from_millis(100))
        .run(Udp, addr)
        .unwrap();
    assert_eq!(
        (report.messages(), report.errors(), report.lost()),
        (0, 3, 3)
    );
}

#[test]
fn load_progress_reports_are_consistent() {
    let mut reports = Vec::new();
    let report = Load::new()
        .with_connections(2)
        .with_size(64)
        .with_duration(Duration::from_millis(500))
        .run_with_progress(Tcp, tcp_echo_server(), |p| reports.push(*p))
        .unwrap();
    assert!(!reports.is_empty());
    for pair in reports.windows(2) {
        assert!(pair[0].messages() <= pair[1].messages());
    }
    for p in &reports {
        assert_eq!(p.bytes(), p.messages() * 64);
        assert!(p.messages() <= report.messages());
    }
}

#[test]
fn load_refuses_bad_settings_and_unreachable_servers() {
    let zero = Load::new().with_connections(0).run(Tcp, tcp_echo_server());
    assert!(matches!(
        zero,
        Err(Error::InvalidOption {
            option: "connections",
            ..
        })
    ));
    let free = TcpListener::bind(LOCAL).unwrap().local_addr().unwrap();
    let refused = Load::new().with_connections(2).run(Tcp, free);
    assert!(matches!(refused, Err(Error::Connect { .. })));
}

#[test]
fn many_connections_on_few_threads_are_each_verified() {
    for threads in [1, 2, 3] {
        let report = Load::new()
            .with_connections(40)
            .with_threads(threads)
            .with_size(200)
            .with_duration(Duration::from_secs(60))
            .with_messages(50)
            .run(Tcp, tcp_echo_server())
            .unwrap();
        assert_eq!(report.messages(), 40 * 50, "{threads} thread(s)");
        assert_eq!((report.errors(), report.lost()), (0, 0));
        assert_eq!(report.latency().count(), 40 * 50);
        assert_eq!(report.connections(), 40);

        let report = Load::new()
            .with_connections(40)
            .with_threads(threads)
            .with_size(64)
            .with_duration(Duration::from_secs(60))
            .with_messages(50)
            .run(Udp, udp_echo_server())
            .unwrap();
        assert_eq!(
            report.messages() + report.lost(),
            40 * 50,
            "{threads} thread(s)"
        );
        assert_eq!(report.errors(), 0);
        assert_eq!(report.latency().count(), report.messages());
    }
}

#[test]
fn more_threads_than_connections_and_zero_threads() {
    let report = Load::new()
        .with_connections(2)
        .with_threads(16)
        .with_size(32)
        .with_messages(100)
        .run(Tcp, tcp_echo_server())
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (200, 0));
    let zero = Load::new().with_threads(0).run(Tcp, tcp_echo_server());
    assert!(matches!(
        zero,
        Err(Error::InvalidOption {
            option: "threads",
            ..
        })
    ));
    assert_eq!(Load::new().threads(), None);
    assert_eq!(Load::new().with_threads(3).threads(), Some(3));
}

/// Connections accepted by [`silent_after_five`] so far.
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Echoes 16-byte messages; the first connection it accepts goes silent after five of them
/// (it still reads, so the client's sends never block).
fn silent_after_five(mut conn: TcpStream) {
    let first = ACCEPTED.fetch_add(1, Ordering::SeqCst) == 0;
    let mut message = [0u8; 16];
    let mut echoed = 0;
    while conn.read_exact(&mut message).is_ok() {
        if first && echoed == 5 {
            continue;
        }
        if conn.write_all(&message).is_err() {
            return;
        }
        echoed += 1;
    }
}

#[test]
fn tcp_connection_the_server_stops_answering_times_out_while_the_others_go_on() {
    let addr = tcp_server(silent_after_five);
    // Four connections on two threads: the silent one shares its thread with another.
    let report = Load::new()
        .with_connections(4)
        .with_threads(2)
        .with_size(16)
        .with_duration(Duration::from_secs(60))
        .with_messages(200)
        .with_timeout(Duration::from_millis(200))
        .run(Tcp, addr)
        .unwrap();
    assert_eq!(report.messages(), 3 * 200 + 5);
    assert_eq!(report.errors(), 1);
    assert_eq!(report.lost(), 0);
}

#[test]
fn udp_socket_the_server_stops_answering_loses_its_messages_while_the_others_go_on() {
    let socket = UdpSocket::bind(LOCAL).unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buffer = [0u8; 65536];
        let mut silent = None;
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buffer) else {
                return;
            };
            // The first peer heard from gets no answer.
            if *silent.get_or_insert(peer) != peer {
                let _ = socket.send_to(&buffer[..n], peer);
            }
        }
    });
    let report = Load::new()
        .with_connections(4)
        .with_threads(2)
        .with_size(32)
        .with_duration(Duration::from_secs(60))
        .with_messages(10)
        .with_timeout(Duration::from_millis(50))
        .run(Udp, addr)
        .unwrap();
    assert_eq!((report.messages(), report.lost()), (30, 10));
    assert_eq!(report.errors(), 0);
}

#[test]
fn udp_load_counts_a_late_echo_neither_as_an_answer_nor_as_an_error() {
    // Holds the echo of message 1 until message 2 arrives, then sends both.
    let mut held = None;
    let addr =
        udp_server(
            move |datagram| match u64::from_be_bytes(datagram[..8].try_into().unwrap()) {
                1 => {
                    held = Some(datagram.to_vec());
                    Vec::new()
                }
                2 => vec![held.take().unwrap_or_default(), datagram.to_vec()],
                _ => vec![datagram.to_vec()],
            },
        );
    let report = Load::new()
        .with_connections(1)
        .with_size(32)
        .with_duration(Duration::from_secs(60))
        .with_messages(5)
        .with_timeout(Duration::from_millis(100))
        .run(Udp, addr)
        .unwrap();
    assert_eq!(
        (report.messages(), report.lost(), report.errors()),
        (4, 1, 0)
    );
}

#[test]
fn load_stop_flag_ends_a_many_connection_run() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        flag.store(true, Ordering::Relaxed);
    });
    // Bounded anyway: were the flag not honoured, the run would end after a minute.
    let report = Load::new()
        .with_connections(20)
        .with_threads(2)
        .with_size(64)
        .with_duration(Duration::from_secs(60))
        .with_stop(stop)
        .run(Tcp, tcp_echo_server())
        .unwrap();
    setter.join().unwrap();
    assert!(report.messages() > 0);
    assert_eq!(report.errors(), 0);
}

#[test]
fn bulk_echoes_every_byte_it_sends() {
    let report = Bulk::new()
        .with_duration(Duration::from_secs(60))
        .with_bytes(8 << 20)
        .run(tcp_echo_server())
        .unwrap();
    assert_eq!(report.bytes(), 8 << 20);
    assert_eq!(report.messages(), 128);
    assert_eq!(report.errors(), 0);

    let timed = Bulk::new()
        .with_duration(Duration::from_millis(300))
        .with_write_size(1000)
        .run(tcp_echo_server())
        .unwrap();
    assert!(timed.bytes() > 0);
    assert_eq!(timed.bytes(), timed.messages() * 1000);
    assert_eq!(timed.errors(), 0);
}

#[test]
fn bulk_against_corrupting_server_is_an_error() {
    let addr = tcp_server(|mut conn| {
        let mut buffer = [0u8; 4096];
        let mut total = 0usize;
        loop {
            match conn.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if total < 100_000 && total + n >= 100_000 {
                        buffer[100_000 - total - 1] ^= 0xff;
                    }
                    total += n;
                    if conn.write_all(&buffer[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let report = Bulk::new()
        .with_duration(Duration::from_secs(60))
        .with_bytes(1 << 20)
        .run(addr)
        .unwrap();
    assert!(report.errors() >= 1);
    assert!(report.bytes() < 100_000);
}

// The examples, built and run against servers on free loopback ports.

fn example(name: &str) -> std::path::PathBuf {
    static BUILT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/measure-… → target/<profile>
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--examples", "--features", "measure"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            cargo.arg("--release");
        }
        let status = cargo.status().unwrap();
        assert!(status.success(), "building the examples failed");
        profile_dir.join("examples")
    });
    dir.join(name)
}

/// A running example, killed if the test ends first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs an example to its end (at most 60 s) and returns its exit code and output.
fn run_example(name: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Running(
        Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let text = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the example did not finish in 60 s");
    let status = child.0.wait().unwrap();
    (status.code(), text)
}

#[test]
fn ping_example_prints_a_line_per_reply_and_a_summary() {
    let (code, out) = run_example("ping", &[]);
    assert_eq!(code, Some(0), "{out}");
    let replies = out.lines().filter(|l| l.contains(" bytes from ")).count();
    assert_eq!(replies, 5, "{out}");
    assert!(out.contains("5 sent, 5 received, 0% lost"), "{out}");
    assert!(out.contains("rtt min/mean/p50/p90/p99/max = "), "{out}");
}

#[test]
fn bench_example_runs_a_closed_loop_an_open_loop_and_bulk() {
    let (code, out) = run_example("bench", &[]);
    assert_eq!(code, Some(0), "{out}");
    for line in ["closed loop: ", "open loop: ", "bulk: "] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert_eq!(out.matches(", 0 errors").count(), 3, "{out}");
}

#[test]
fn options_of_the_client_apply_to_ping() {
    // A client connected with a short read timeout keeps it after a ping with a longer one.
    let options = Options::new().with_read_timeout(Some(Duration::from_millis(300)));
    let mut client = EchoClient::connect_with(tcp_echo_server(), options).unwrap();
    let (_, summary) = collect(&mut client, &fast(2));
    assert_eq!(summary.received(), 2);
    let timeout = socket2::SockRef::from(&client).read_timeout().unwrap();
    assert_eq!(timeout, Some(Duration::from_millis(300)));
}
