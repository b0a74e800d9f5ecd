//! `Bulk` over every stream transport (TCP, Unix streams), each test written once: against
//! a plain echo server written here and a corrupting one. A bulk transfer is a stream; a
//! datagram transport is refused.

mod transports;
mod util;

use std::io::{Read, Write};
use std::time::Duration;

use socket_echo::{Bulk, Error};
use socket2::Socket;
use transports::{DatagramKind, Site, StreamKind, echo_server, stream_server};

fn every_byte_sent_is_echoed<T: StreamKind>(site: &Site<T>) {
    let report = Bulk::new()
        .with_duration(Duration::from_secs(60))
        .with_bytes(8 << 20)
        .run_on(site.transport, echo_server(site))
        .unwrap();
    assert_eq!(report.bytes(), 8 << 20);
    assert_eq!(report.messages(), 128);
    assert_eq!(report.errors(), 0);

    let timed = Bulk::new()
        .with_duration(Duration::from_millis(300))
        .with_write_size(1000)
        .run_on(site.transport, echo_server(site))
        .unwrap();
    assert!(timed.bytes() > 0);
    assert_eq!(timed.bytes(), timed.messages() * 1000);
    assert_eq!(timed.errors(), 0);
}

fn a_corrupting_server_is_an_error<T: StreamKind>(site: &Site<T>) {
    let server = stream_server(site, |mut conn: Socket| {
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
        .run_on(site.transport, server)
        .unwrap();
    assert!(report.errors() >= 1);
    assert!(report.bytes() < 100_000);
}

fn a_datagram_transport_is_refused<T: DatagramKind>(site: &Site<T>) {
    let refused = Bulk::new().run_on(site.transport, echo_server(site));
    assert!(
        matches!(refused, Err(Error::InvalidOption { .. })),
        "{refused:?}"
    );
}

over_stream_transports!(every_byte_sent_is_echoed, a_corrupting_server_is_an_error);
over_datagram_transports!(a_datagram_transport_is_refused);
