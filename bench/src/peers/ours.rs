//! This crate's production server, `EchoServer::serve()`, with its default settings, over
//! TCP, UDP and Unix stream and datagram sockets, and (with the `tls` feature) TLS over TCP.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use socket_echo::{EchoServer, Udp, Unix, UnixDatagram};

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
pub fn serve_unix(path: &Path, on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    let server = EchoServer::bind_on(Unix, path).map_err(io::Error::other)?;
    on_bound(path);
    server.serve().map_err(io::Error::other)?;
    Ok(())
}

/// Binds `EchoServer` for Unix datagrams at `path` and runs `serve()`.
///
/// # Errors
///
/// Binding failed, or `serve()` returned an error.
pub fn serve_unixgram(path: &Path, on_bound: impl FnOnce(&Path)) -> io::Result<()> {
    let server = EchoServer::bind_on(UnixDatagram, path).map_err(io::Error::other)?;
    on_bound(path);
    server.serve().map_err(io::Error::other)?;
    Ok(())
}

/// Binds `EchoServer` for TLS over TCP with the identity in directory `identity` (see
/// [`crate::tls`]) and runs `serve()`.
///
/// # Errors
///
/// Reading the identity or binding failed, or `serve()` returned an error.
#[cfg(feature = "tls")]
pub fn serve_tls(
    addr: SocketAddr,
    identity: &Path,
    on_bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    use socket_echo::{Identity, Options, Tcp, Tls, TlsOptions};
    let (cert, key) = crate::tls::files(identity);
    let identity = Identity::from_pem_files(cert, key).map_err(io::Error::other)?;
    let options = Options::new().with_tls(TlsOptions::new().with_identity(identity));
    let server =
        EchoServer::bind_on_with(Tls::over(Tcp), addr, options).map_err(io::Error::other)?;
    on_bound(server.local_addr());
    server.serve().map_err(io::Error::other)?;
    Ok(())
}
