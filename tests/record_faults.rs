//! The record of a server under faults: what it received, whatever its faults do with the
//! echo. A stream fault that delays, reshapes or ends the echo changes nothing in the bytes
//! recorded (every byte the server read, up to the cap, and the cut said beyond it); a
//! datagram fault that drops, repeats, holds or alters a reply changes nothing in the
//! datagrams recorded (each one as it was received).

mod transports;
mod util;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::num::NonZeroUsize;
use std::time::Duration;

use socket_echo::{Address, EchoServer, Faults, Options, Record, Recording, ServerHandle};
use transports::{DatagramKind, Kind, Site, StreamKind};

/// Long enough never to be reached on a working machine: a wait that hits it has failed.
const PATIENCE: Duration = Duration::from_secs(10);
/// The bytes kept of each connection and datagram.
const CAP: usize = 1024;

/// A server of `site`'s transport with `specs` as its faults (none if empty), recording up
/// to [`CAP`] bytes of each entry, with one worker (so datagrams are taken in order).
fn spawn<T: Kind>(site: &Site<T>, specs: &str) -> ServerHandle<T> {
    let options = Options::new().with_workers(NonZeroUsize::new(1));
    let faults: Faults = specs.parse().unwrap_or_else(|e| panic!("{specs}: {e}"));
    EchoServer::bind_on_with(site.transport, site.addr(), options)
        .expect("bind")
        .with_faults(faults.with_seed(16))
        .expect("faults")
        .with_recording(Recording::new(CAP))
        .spawn()
        .expect("spawn")
}

/// A stream fault, and what a client that sends `sent` bytes and shuts its write side sees
/// of it.
struct Case {
    spec: &'static str,
    /// How many bytes the server reads of `sent` (it reads everything unless the fault ends
    /// the connection first without reading on).
    read: fn(usize) -> usize,
    /// How many bytes the client reads back (an exact count, read in full), or `None` if
    /// the fault resets the connection (the client then reads what comes before the reset).
    echoed: fn(usize) -> Option<usize>,
}

const CASES: &[Case] = &[
    Case {
        spec: "delay=2ms",
        read: |sent| sent,
        echoed: Some,
    },
    Case {
        spec: "delay=2ms,jitter=1ms,dist=normal,after=100",
        read: |sent| sent,
        echoed: Some,
    },
    Case {
        spec: "slice=256,pause=1ms",
        read: |sent| sent,
        echoed: Some,
    },
    Case {
        spec: "rate=512KiB",
        read: |sent| sent,
        echoed: Some,
    },
    Case {
        spec: "shared-rate=512KiB",
        read: |sent| sent,
        echoed: Some,
    },
    Case {
        spec: "accept-delay=5ms",
        read: |sent| sent,
        echoed: Some,
    },
    Case {
        spec: "slow-close=5ms",
        read: |sent| sent,
        echoed: Some,
    },
    // What comes past the close is read and dropped: received all the same.
    Case {
        spec: "close-after=1000",
        read: |sent| sent,
        echoed: |sent| Some(sent.min(1000)),
    },
    Case {
        spec: "blackhole",
        read: |sent| sent,
        echoed: |_| Some(0),
    },
    Case {
        spec: "blackhole,after=700",
        read: |sent| sent,
        echoed: |sent| Some(sent.min(700)),
    },
    // These end the connection without reading past their limit.
    Case {
        spec: "stall-after=1000",
        read: |sent| sent.min(1000),
        echoed: |sent| Some(sent.min(1000)),
    },
    Case {
        spec: "reset-after=1000",
        read: |sent| sent.min(1000),
        echoed: |sent| (sent <= 1000).then_some(sent),
    },
];

/// Under each stream fault, a client sends far more than the cap, and another less: the
/// record of each holds exactly the bytes the server read of it, in order, up to the cap,
/// and says it was cut past the cap.
fn a_stream_fault_keeps_the_bytes_received<T: StreamKind>(site: &Site<T>) {
    let sizes = [3000, 600];
    for case in CASES {
        let handle = spawn(site, case.spec);
        for (index, &sent) in sizes.iter().enumerate() {
            let message = util::payload(sent, index as u64 + 16);
            let client = transports::connect::<T>(&handle.local_addr());
            (&client).write_all(&message).expect("write");
            client
                .shutdown(Shutdown::Write)
                .expect("shut the write side");
            match (case.echoed)(sent) {
                Some(n) => {
                    let mut back = vec![0; n];
                    (&client).read_exact(&mut back).expect("read the echo");
                    assert!(back == message[..n], "{}: echo differs", case.spec);
                }
                None => {
                    let (n, _) = transports::read_to_end_or_reset(&client, sent);
                    assert!(n <= sent, "{}: echoed {n} of {sent}", case.spec);
                }
            }
            let read = (case.read)(sent);
            let record = handle
                .wait_for_record(
                    |r| r.connections.get(index).map(|c| c.bytes_received) == Some(read as u64),
                    PATIENCE,
                )
                .unwrap_or_else(|| {
                    panic!(
                        "{}: {read} bytes never recorded: {:?}",
                        case.spec,
                        summary(&handle.record())
                    )
                });
            let connection = &record.connections[index];
            let kept = read.min(CAP);
            assert!(
                connection.received == message[..kept],
                "{}: kept {} bytes, not the first {kept} sent",
                case.spec,
                connection.received.len()
            );
            assert_eq!(connection.is_cut(), read > CAP, "{}", case.spec);
            drop(client);
        }
        let record = handle.record();
        assert_eq!(record.connections.len(), sizes.len(), "{}", case.spec);
        let cut = sizes.iter().any(|&sent| (case.read)(sent) > CAP);
        assert_eq!(record.is_cut(), cut, "{}", case.spec);
    }
}

/// Faults set while a connection is open apply to its next bytes; the record goes on
/// keeping them, after those read before.
fn faults_set_on_an_open_connection_keep_its_bytes<T: StreamKind>(site: &Site<T>) {
    let handle = spawn(site, "");
    let client = transports::connect::<T>(&handle.local_addr());
    let message = util::payload(900, 5);
    transports::echo_once(&client, &message[..300]);
    handle
        .set_faults("slice=64,pause=1ms;delay=1ms".parse().expect("faults"))
        .expect("set faults");
    transports::echo_once(&client, &message[300..]);
    let record = handle
        .wait_for_record(|r| r.connections[0].bytes_received == 900, PATIENCE)
        .unwrap_or_else(|| panic!("{:?}", summary(&handle.record())));
    assert!(
        record.connections[0].received == message[..],
        "not what was sent, in order"
    );
}

over_streams!(
    a_stream_fault_keeps_the_bytes_received,
    faults_set_on_an_open_connection_keep_its_bytes,
);

/// Under each datagram fault, each datagram is recorded as it was received (before the
/// fault drops, repeats, holds, cuts or alters its reply), once, in order, cut to the cap.
fn a_datagram_fault_keeps_each_datagram_as_received<T: DatagramKind>(site: &Site<T>) {
    const SENT: usize = 8;
    for spec in [
        "drop=1",
        "drop=0.5",
        "duplicate=1",
        "delay=2ms,jitter=1ms",
        "reorder=0.5,hold=5ms",
        "truncate=10",
        "corrupt=1",
        "blackhole",
    ] {
        let handle = spawn(site, spec);
        let socket = transports::datagram::<T>(site);
        let messages: Vec<Vec<u8>> = (0..SENT)
            .map(|i| util::payload(if i == 3 { CAP + 100 } else { 20 + i }, i as u64))
            .collect();
        for message in &messages {
            T::send_to(&socket, message, &handle.local_addr()).expect("send");
        }
        let record = handle
            .wait_for_record(|r| r.datagrams.len() == SENT, PATIENCE)
            .unwrap_or_else(|| panic!("{spec}: {:?}", summary(&handle.record())));
        let source: Address = T::addr_of(&socket).into();
        for (datagram, message) in record.datagrams.iter().zip(&messages) {
            let kept = message.len().min(CAP);
            assert!(
                datagram.payload == message[..kept],
                "{spec}: not as received"
            );
            assert_eq!(datagram.len, message.len(), "{spec}");
            assert_eq!(datagram.is_cut(), message.len() > CAP, "{spec}");
            assert_eq!(datagram.source, source, "{spec}");
        }
        assert_eq!(record.unrecorded, 0, "{spec}");
    }
}

over_datagrams!(a_datagram_fault_keeps_each_datagram_as_received);

/// What a record holds, short enough for a failure message.
fn summary(record: &Record) -> Vec<(u64, usize, bool)> {
    record
        .connections
        .iter()
        .map(|c| (c.bytes_received, c.received.len(), c.end.is_some()))
        .chain(
            record
                .datagrams
                .iter()
                .map(|d| (d.len as u64, d.payload.len(), false)),
        )
        .collect()
}
