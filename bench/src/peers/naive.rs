//! The naive server: std, one thread per connection, `read` then `write_all`.
//!
//! What someone who just finished a sockets tutorial writes. The 8 KiB buffer is std's
//! `BufReader` default; no socket option is touched.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;

/// Accepts forever, echoing each connection on a thread of its own.
///
/// # Errors
///
/// Binding failed.
pub fn serve_tcp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    on_bound(listener.local_addr()?);
    // An accept error (EMFILE, a reset before accept) skips that one connection only.
    for stream in listener.incoming().flatten() {
        thread::spawn(move || echo(stream));
    }
    Ok(())
}

fn echo(mut stream: TcpStream) {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// Echoes each datagram to its source, `recv_from` then `send_to` on one thread.
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
