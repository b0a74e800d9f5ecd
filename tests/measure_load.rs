//! `Load` over every transport (TCP, UDP, Unix streams, Unix datagrams), each test written
//! once: against plain echo servers written here, against faulty ones (corrupting, silent on
//! one connection, late), and against this crate's `serve_once`; and the `bench` example end
//! to end.

mod transports;
mod util;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socket_echo::{EchoServer, Error, Load, LoadReport};
use socket2::Socket;
use transports::{
    DatagramKind, Kind, Site, StreamKind, datagram_server, echo_server, is_datagram, stream_server,
};
use util::GENEROUS;
use util::process::{example, run};

/// Asserts what every run that met no fault reports: `expected` messages in all, each
/// answered (or, over datagrams, lost), every byte counted, and no error.
fn assert_clean<T: Kind>(report: &LoadReport, expected: u64, size: u64) {
    if is_datagram::<T>() {
        assert_eq!(report.messages() + report.lost(), expected, "{report:?}");
    } else {
        assert_eq!(
            (report.messages(), report.lost()),
            (expected, 0),
            "{report:?}"
        );
    }
    assert_eq!(report.bytes(), report.messages() * size);
    assert_eq!(report.errors(), 0, "{report:?}");
    assert_eq!(report.latency().count(), report.messages());
}

fn the_totals_are_consistent_and_error_free<T: Kind>(site: &Site<T>) {
    let report = Load::new()
        .with_connections(4)
        .with_size(64)
        .with_duration(Duration::from_secs(60))
        .with_messages(200)
        .run(site.transport, echo_server(site))
        .unwrap();
    assert_clean::<T>(&report, 800, 64);
    assert_eq!(
        (report.transport(), report.connections()),
        (T::TRANSPORT, 4)
    );
}

fn a_run_bounded_by_time_stops_by_itself<T: Kind>(site: &Site<T>) {
    let report = Load::new()
        .with_connections(3)
        .with_size(64)
        .with_duration(Duration::from_millis(300))
        .run(site.transport, echo_server(site))
        .unwrap();
    assert!(report.messages() > 0);
    assert_eq!(report.bytes(), report.messages() * 64);
    assert_eq!(report.errors(), 0);
}

fn answered_by_serve_once<T: StreamKind>(site: &Site<T>) {
    let server = EchoServer::bind_on(site.transport, site.addr()).unwrap();
    let addr = server.local_addr();
    let served = thread::spawn(move || server.serve_once());
    let report = Load::new()
        .with_connections(1)
        .with_messages(50)
        .run(site.transport, addr)
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (50, 0));
    assert_eq!(served.join().unwrap().unwrap().bytes_echoed(), 50 * 512);
}

fn a_corrupting_stream_server_counts_errors_not_messages<T: StreamKind>(site: &Site<T>) {
    let server = stream_server(site, |mut conn: Socket| {
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
        .run(site.transport, server)
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (0, 40));
}

fn a_corrupting_datagram_server_counts_errors_not_messages<T: DatagramKind>(site: &Site<T>) {
    let server = datagram_server(site, |datagram, _| {
        let mut reply = datagram.to_vec();
        reply[10] ^= 1;
        vec![reply]
    });
    let report = Load::new()
        .with_connections(1)
        .with_size(16)
        .with_messages(3)
        .with_timeout(Duration::from_millis(100))
        .run(site.transport, server)
        .unwrap();
    assert_eq!(
        (report.messages(), report.errors(), report.lost()),
        (0, 3, 3)
    );
}

fn the_progress_reports_are_consistent<T: Kind>(site: &Site<T>) {
    let mut reports = Vec::new();
    let report = Load::new()
        .with_connections(2)
        .with_size(64)
        .with_duration(Duration::from_millis(500))
        .run_with_progress(site.transport, echo_server(site), |p| reports.push(*p))
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

fn bad_settings_and_unreachable_servers_are_refused<T: StreamKind>(site: &Site<T>) {
    let zero = Load::new()
        .with_connections(0)
        .run(site.transport, echo_server(site));
    assert!(matches!(
        zero,
        Err(Error::InvalidOption {
            option: "connections",
            ..
        })
    ));
    let refused = Load::new()
        .with_connections(2)
        .run(site.transport, transports::nothing_at(site));
    assert!(matches!(refused, Err(Error::Connect { .. })), "{refused:?}");
}

fn many_connections_on_few_threads_are_each_verified<T: Kind>(site: &Site<T>) {
    let server = echo_server(site);
    for threads in [1, 2, 3] {
        let report = Load::new()
            .with_connections(40)
            .with_threads(threads)
            .with_size(64)
            .with_duration(Duration::from_secs(60))
            .with_messages(50)
            .run(site.transport, server.clone())
            .unwrap();
        assert_clean::<T>(&report, 40 * 50, 64);
        assert_eq!(report.connections(), 40, "{threads} thread(s)");
    }
}

fn more_threads_than_connections_and_zero_threads<T: Kind>(site: &Site<T>) {
    let report = Load::new()
        .with_connections(2)
        .with_threads(16)
        .with_size(32)
        .with_messages(100)
        .run(site.transport, echo_server(site))
        .unwrap();
    assert_clean::<T>(&report, 200, 32);
    let zero = Load::new()
        .with_threads(0)
        .run(site.transport, echo_server(site));
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

fn a_connection_the_server_stops_answering_times_out_while_the_others_go_on<T: StreamKind>(
    site: &Site<T>,
) {
    // Echoes 16-byte messages; the first connection it accepts goes silent after five of
    // them (it still reads, so the client's sends never block).
    let accepted = AtomicUsize::new(0);
    let server = stream_server(site, move |mut conn: Socket| {
        let first = accepted.fetch_add(1, Ordering::SeqCst) == 0;
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
    });
    // Four connections on two threads: the silent one shares its thread with another.
    let report = Load::new()
        .with_connections(4)
        .with_threads(2)
        .with_size(16)
        .with_duration(Duration::from_secs(60))
        .with_messages(200)
        .with_timeout(Duration::from_millis(200))
        .run(site.transport, server)
        .unwrap();
    assert_eq!(report.messages(), 3 * 200 + 5);
    assert_eq!(report.errors(), 1);
    assert_eq!(report.lost(), 0);
}

fn a_socket_the_server_stops_answering_loses_its_messages_while_the_others_go_on<
    T: DatagramKind,
>(
    site: &Site<T>,
) {
    // The first peer heard from gets no answer.
    let mut silent = None;
    let server = datagram_server(site, move |datagram, peer: &T::Addr| {
        if silent.get_or_insert_with(|| peer.clone()) == peer {
            vec![]
        } else {
            vec![datagram.to_vec()]
        }
    });
    let report = Load::new()
        .with_connections(4)
        .with_threads(2)
        .with_size(32)
        .with_duration(Duration::from_secs(60))
        .with_messages(10)
        .with_timeout(Duration::from_millis(50))
        .run(site.transport, server)
        .unwrap();
    assert_eq!((report.messages(), report.lost()), (30, 10));
    assert_eq!(report.errors(), 0);
}

fn a_late_echo_is_counted_neither_as_an_answer_nor_as_an_error<T: DatagramKind>(site: &Site<T>) {
    // Holds the echo of message 1 until message 2 arrives, then sends both.
    let mut held = None;
    let server = datagram_server(site, move |datagram, _| {
        match u64::from_be_bytes(datagram[..8].try_into().unwrap()) {
            1 => {
                held = Some(datagram.to_vec());
                Vec::new()
            }
            2 => vec![held.take().unwrap_or_default(), datagram.to_vec()],
            _ => vec![datagram.to_vec()],
        }
    });
    let report = Load::new()
        .with_connections(1)
        .with_size(32)
        .with_duration(Duration::from_secs(60))
        .with_messages(5)
        .with_timeout(Duration::from_millis(100))
        .run(site.transport, server)
        .unwrap();
    assert_eq!(
        (report.messages(), report.lost(), report.errors()),
        (4, 1, 0)
    );
}

fn the_stop_flag_ends_a_many_connection_run<T: Kind>(site: &Site<T>) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    // Twice GENEROUS long unless stopped: the flag is set at the first progress report.
    let report = Load::new()
        .with_connections(20)
        .with_threads(2)
        .with_size(64)
        .with_duration(2 * GENEROUS)
        .with_stop(Arc::clone(&stop))
        .run_with_progress(site.transport, echo_server(site), |_| {
            stop.store(true, Ordering::Relaxed)
        })
        .unwrap();
    // Not a timing: ignored, the flag would leave the run going twice as long.
    assert!(
        start.elapsed() < GENEROUS,
        "a stopped run took {:?}",
        start.elapsed()
    );
    assert!(report.messages() > 0);
    assert_eq!(report.errors(), 0);
}

over_transports!(
    the_totals_are_consistent_and_error_free,
    a_run_bounded_by_time_stops_by_itself,
    the_progress_reports_are_consistent,
    many_connections_on_few_threads_are_each_verified,
    more_threads_than_connections_and_zero_threads,
    the_stop_flag_ends_a_many_connection_run,
);
over_stream_transports!(
    answered_by_serve_once,
    a_corrupting_stream_server_counts_errors_not_messages,
    bad_settings_and_unreachable_servers_are_refused,
    a_connection_the_server_stops_answering_times_out_while_the_others_go_on,
);
over_datagram_transports!(
    a_corrupting_datagram_server_counts_errors_not_messages,
    a_socket_the_server_stops_answering_loses_its_messages_while_the_others_go_on,
    a_late_echo_is_counted_neither_as_an_answer_nor_as_an_error,
);

#[test]
fn the_bench_example_runs_a_closed_loop_an_open_loop_and_bulk() {
    let finished = run(example("bench"));
    assert!(finished.status.success(), "{finished:?}");
    let out = finished.stdout.join("\n");
    for line in ["closed loop: ", "open loop: ", "bulk: "] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert_eq!(out.matches(", 0 errors").count(), 3, "{out}");
}
