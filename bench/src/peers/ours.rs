//! This crate's production server, `EchoServer::serve()`, with its default settings.

use std::io;
use std::net::SocketAddr;

use socket_echo::{EchoServer, Udp};

/// Binds `EchoServer` for TCP and runs `serve()`.
///
/// # Errors
///
/// Binding failed, or `serve()` returned an error.
pub fn serve_tcp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let server = EchoServer::bind(addr).map_err(io::Error::other)?;
    on_bound(server.local_addr());
    server.serve().map_err(io::Error::other)?;
    Ok(())
}

/// Binds `EchoServer` for UDP and runs `serve()`.
///
/// # Errors
///
/// Binding failed, or `serve()` returned an error.
pub fn serve_udp(addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let server = EchoServer::bind_on(Udp, addr).map_err(io::Error::other)?;
    on_bound(server.local_addr());
    server.serve().map_err(io::Error::other)?;
    Ok(())
}
