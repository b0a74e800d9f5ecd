//! This crate's production server, `EchoServer::serve()`, with its default settings.
//!
//! Its Unix stream and datagram servers are behind the bench crate's `unix-ours` feature,
//! off by default: they need the library's `Unix` and `UnixDatagram` transports.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

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

/// Binds `EchoServer` for Unix streams at `path` and runs `serve()`.
///
/// # Errors
///
/// Binding failed, or `serve()` returned an error.
#[cfg(feature = "unix-ours")]
pub fn serve_unix(path: &Path, on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    let server = EchoServer::bind_on(socket_echo::Unix, path).map_err(io::Error::other)?;
    on_bound(path);
    server.serve().map_err(io::Error::other)?;
    Ok(())
}

/// Binds `EchoServer` for Unix datagrams at `path` and runs `serve()`.
///
/// # Errors
///
/// Binding failed, or `serve()` returned an error.
#[cfg(feature = "unix-ours")]
pub fn serve_unixgram(path: &Path, on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    let server = EchoServer::bind_on(socket_echo::UnixDatagram, path).map_err(io::Error::other)?;
    on_bound(path);
    server.serve().map_err(io::Error::other)?;
    Ok(())
}

/// Without the `unix-ours` feature there is no Unix stream server to run.
///
/// # Errors
///
/// Always: [`io::ErrorKind::Unsupported`].
#[cfg(not(feature = "unix-ours"))]
pub fn serve_unix(_path: &Path, _on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    Err(without_unix())
}

/// Without the `unix-ours` feature there is no Unix datagram server to run.
///
/// # Errors
///
/// Always: [`io::ErrorKind::Unsupported`].
#[cfg(not(feature = "unix-ours"))]
pub fn serve_unixgram(_path: &Path, _on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    Err(without_unix())
}

#[cfg(not(feature = "unix-ours"))]
fn without_unix() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "built without the `unix-ours` feature of socket-echo-bench",
    )
}
