//! Single-connection ping-pong: the latency workloads.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use super::pattern::{datagram_seq, fill, first_difference};
use super::{Datagram, Limits, LoadError, Outcome, Result, STALL_TIMEOUT, local_for};

/// One TCP connection (TCP_NODELAY), one `size`-byte message at a time.
///
/// # Errors
///
/// Connecting or a socket call failed, the server closed, or an echo was wrong.
pub fn tcp_lat(addr: SocketAddr, size: usize, limits: Limits) -> Result<Outcome> {
    let stream = TcpStream::connect_timeout(&addr, STALL_TIMEOUT)
        .map_err(LoadError::io(format!("connect to {addr}")))?;
    stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(Some(STALL_TIMEOUT)))
        .map_err(LoadError::io("set TCP_NODELAY and read timeout"))?;
    stream_lat(stream, &addr.to_string(), size, limits)
}

/// The ping-pong of [`tcp_lat`] on a connected `stream` to `peer`, which has a read timeout.
pub(super) fn stream_lat(
    mut stream: impl Read + Write,
    peer: &str,
    size: usize,
    limits: Limits,
) -> Result<Outcome> {
    let mut msg = vec![0u8; size];
    let mut back = vec![0u8; size];
    let mut out = Outcome::new();
    let start = Instant::now();
    let deadline = start + limits.duration;
    let mut seq = 0u64;
    while out.messages < limits.max_count && Instant::now() < deadline {
        fill(&mut msg, 0, seq);
        let sent = Instant::now();
        stream
            .write_all(&msg)
            .map_err(LoadError::io(format!("write to {peer}")))?;
        read_echo(&mut stream, &mut back, seq)?;
        let rtt = sent.elapsed();
        if let Some(offset) = first_difference(&msg, &back) {
            return Err(LoadError::Mismatch {
                conn: 0,
                seq,
                offset,
            });
        }
        out.record(rtt, size);
        seq += 1;
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

fn read_echo(stream: &mut impl Read, back: &mut [u8], seq: u64) -> Result<()> {
    let mut got = 0;
    while got < back.len() {
        match stream.read(&mut back[got..]) {
            Ok(0) => {
                return Err(LoadError::Closed {
                    conn: 0,
                    seq,
                    echoed: got,
                });
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(LoadError::Stalled(STALL_TIMEOUT)),
            Err(e) => return Err(LoadError::io("read the echo")(e)),
        }
    }
    Ok(())
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How long a UDP client waits for an echo before it counts the datagram lost.
pub const UDP_LOSS_TIMEOUT: Duration = Duration::from_millis(200);

/// One connected UDP socket, one `size`-byte datagram at a time (at least 12 bytes). A
/// datagram not echoed within [`UDP_LOSS_TIMEOUT`] is counted lost and the next one is sent.
///
/// # Errors
///
/// A socket call failed, an echo was wrong, or nothing came back for [`STALL_TIMEOUT`].
pub fn udp_lat(addr: SocketAddr, size: usize, limits: Limits) -> Result<Outcome> {
    let socket = UdpSocket::bind(local_for(addr)).map_err(LoadError::io("bind a UDP socket"))?;
    socket
        .connect(addr)
        .and_then(|()| socket.set_read_timeout(Some(UDP_LOSS_TIMEOUT)))
        .map_err(LoadError::io(format!("connect to {addr}")))?;
    datagram_lat(&socket, &addr.to_string(), size, limits)
}

/// The ping-pong of [`udp_lat`] on a `socket` connected to `peer`, whose read timeout is
/// [`UDP_LOSS_TIMEOUT`].
pub(super) fn datagram_lat(
    socket: &impl Datagram,
    peer: &str,
    size: usize,
    limits: Limits,
) -> Result<Outcome> {
    let mut msg = vec![0u8; size.max(12)];
    let mut back = vec![0u8; msg.len() + 1];
    let mut scratch = Vec::new();
    let mut out = Outcome::new();
    let start = Instant::now();
    let deadline = start + limits.duration;
    let mut last_echo = start;
    let mut seq = 0u64;
    'messages: while out.messages < limits.max_count && Instant::now() < deadline {
        fill(&mut msg, 0, seq);
        let sent = Instant::now();
        socket
            .send(&msg)
            .map_err(LoadError::io(format!("send to {peer}")))?;
        loop {
            match socket.recv(&mut back) {
                Ok(n) => match datagram_seq(&back[..n], msg.len(), 0, &mut scratch) {
                    Some(s) if s == seq => break,
                    // A late echo of a datagram already counted lost.
                    Some(s) if s < seq => {}
                    _ => {
                        let offset = first_difference(&msg, &back[..n]).unwrap_or(0);
                        return Err(LoadError::Mismatch {
                            conn: 0,
                            seq,
                            offset,
                        });
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    out.lost += 1;
                    if last_echo.elapsed() > STALL_TIMEOUT {
                        return Err(LoadError::Stalled(STALL_TIMEOUT));
                    }
                    seq += 1;
                    continue 'messages;
                }
                // ECONNREFUSED from an ICMP error of an earlier send: the server is gone.
                Err(e) => return Err(LoadError::io(format!("receive from {peer}"))(e)),
            }
        }
        let rtt = sent.elapsed();
        last_echo = Instant::now();
        out.record(rtt, msg.len());
        seq += 1;
    }
    out.elapsed = start.elapsed();
    Ok(out)
}
