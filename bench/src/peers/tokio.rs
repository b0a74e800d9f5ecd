//! The canonical tokio echo: a multi-thread runtime, a task per connection, a read /
//! `write_all` loop; for UDP, `recv_from` / `send_to` in one task.
//!
//! It follows tokio's own `echo-tcp` and `echo-udp` examples, with an 8 KiB buffer (the size
//! `tokio::io::copy` uses) instead of the examples' 1 KiB.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
}

/// Accepts forever, echoing each connection in a task of its own.
///
/// # Errors
///
/// Building the runtime or binding failed.
pub fn serve_tcp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    runtime()?.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        on_bound(listener.local_addr()?);
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if socket.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

/// Echoes each datagram to its source from one task.
///
/// # Errors
///
/// Building the runtime or binding failed.
pub fn serve_udp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    runtime()?.block_on(async move {
        let socket = UdpSocket::bind(addr).await?;
        on_bound(socket.local_addr()?);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let _ = socket.send_to(&buf[..n], peer).await;
            }
        }
    })
}
