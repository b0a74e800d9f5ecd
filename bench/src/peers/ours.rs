//! This crate's production server, `EchoServer::serve()`, with its default settings, except
//! that UDP's per-source rate limit is lifted: udp-lat sends flat out from one socket, which
//! is exactly what that limit refuses (it ends loops between servers), and no other peer has
//! one.

use std::io;
use std::net::SocketAddr;

use socket_echo::{EchoServer, Options, Udp};

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
    let options = Options::new().with_source_rate_limit(None);
    let server = EchoServer::bind_on_with(Udp, addr, options).map_err(io::Error::other)?;
    on_bound(server.local_addr());
    server.serve().map_err(io::Error::other)?;
    Ok(())
}
