//! The raw floor: one thread, blocking calls, one client at a time.
//!
//! It stands for what a single ping-pong costs on this machine with no server design at
//! all, so it only serves the latency workloads (one connection, one socket).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};

/// Accepts one connection at a time (TCP_NODELAY on) and echoes it until it closes.
///
/// # Errors
///
/// Binding or accepting failed.
pub fn serve_tcp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    on_bound(listener.local_addr()?);
    let mut buf = [0u8; 64 * 1024];
    loop {
        let (mut stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
    }
}

/// Echoes each datagram to its source from one blocking loop.
///
/// # Errors
///
/// Binding failed.
pub fn serve_udp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let socket = UdpSocket::bind(addr)?;
    on_bound(socket.local_addr()?);
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], peer);
        }
    }
}
