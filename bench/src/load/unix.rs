//! The load clients over Unix-domain sockets: the closed loops of the TCP and UDP clients,
//! run on sockets connected to a path.
//!
//! A Unix datagram client binds an abstract name of its own (Linux), so that the server has
//! an address to answer; the name goes with the socket, leaving nothing in the file system.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::bulk::stream_bulk;
use super::lat::{UDP_LOSS_TIMEOUT, datagram_lat, stream_lat};
use super::tcp_many::{self, Conn};
use super::udp_many::{self, Sock};
use super::{Limits, LoadError, Outcome, Result, STALL_TIMEOUT, spread};

/// One Unix stream connection, one `size`-byte message at a time: [`tcp_lat`] at a path.
///
/// # Errors
///
/// Connecting or a socket call failed, the server closed, or an echo was wrong.
///
/// [`tcp_lat`]: super::tcp_lat
pub fn unix_lat(path: &Path, size: usize, limits: Limits) -> Result<Outcome> {
    let stream = connect(path, "")?;
    stream
        .set_read_timeout(Some(STALL_TIMEOUT))
        .map_err(LoadError::io("set the read timeout"))?;
    stream_lat(stream, &path.display().to_string(), size, limits)
}

/// `conns` Unix stream connections, each echoing `size`-byte messages one at a time, spread
/// over `threads` client threads: [`tcp_many`] at a path.
///
/// # Errors
///
/// Connecting or a socket call failed, the server closed a connection, an echo was wrong,
/// or no echo came back for [`STALL_TIMEOUT`].
///
/// [`tcp_many`]: fn@super::tcp_many
pub fn unix_many(
    path: &Path,
    conns: usize,
    size: usize,
    threads: usize,
    limits: Limits,
) -> Result<Outcome> {
    let open = |ids: &[usize]| {
        ids.iter()
            .map(|&id| {
                let stream = connect(path, &format!("connection {id} "))?;
                stream
                    .set_nonblocking(true)
                    .map_err(LoadError::io(format!("set options of connection {id}")))?;
                Ok(Conn::new(id, mio::net::UnixStream::from_std(stream), size))
            })
            .collect()
    };
    spread(conns, threads, limits, open, tcp_many::drive)
}

/// One Unix stream connection streaming both ways in `chunk`-byte writes: [`bulk`] at a
/// path.
///
/// # Errors
///
/// Connecting or a socket call failed, an echoed byte was wrong, the echo ended short, or
/// nothing came back for [`STALL_TIMEOUT`].
///
/// [`bulk`]: fn@super::bulk
pub fn unix_bulk(path: &Path, chunk: usize, limits: Limits) -> Result<Outcome> {
    let stream = connect(path, "")?;
    stream
        .set_read_timeout(Some(STALL_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(STALL_TIMEOUT)))
        .map_err(LoadError::io("set timeouts"))?;
    stream_bulk(stream, &path.display().to_string(), chunk, limits)
}

/// One named Unix datagram socket, one `size`-byte datagram at a time (at least 12 bytes),
/// with [`UDP_LOSS_TIMEOUT`] before a datagram counts lost: [`udp_lat`] at a path.
///
/// # Errors
///
/// A socket call failed, an echo was wrong, or nothing came back for [`STALL_TIMEOUT`].
///
/// [`udp_lat`]: super::udp_lat
pub fn unixgram_lat(path: &Path, size: usize, limits: Limits) -> Result<Outcome> {
    let socket = named_socket(path, 0)?;
    socket
        .set_read_timeout(Some(UDP_LOSS_TIMEOUT))
        .map_err(LoadError::io("set the read timeout"))?;
    datagram_lat(&socket, &path.display().to_string(), size, limits)
}

/// `sockets` named Unix datagram sockets, each echoing `size`-byte datagrams (at least 12
/// bytes) one at a time, spread over `threads` client threads, with [`UDP_LOSS_TIMEOUT`]
/// before a datagram counts lost: [`udp_many`] at a path.
///
/// # Errors
///
/// A socket call failed, an echo was wrong, or nothing came back for [`STALL_TIMEOUT`].
///
/// [`udp_many`]: fn@super::udp_many
pub fn unixgram_many(
    path: &Path,
    sockets: usize,
    size: usize,
    threads: usize,
    limits: Limits,
) -> Result<Outcome> {
    let open = |ids: &[usize]| {
        ids.iter()
            .map(|&id| {
                let socket = named_socket(path, id)?;
                socket
                    .set_nonblocking(true)
                    .map_err(LoadError::io(format!("set options of socket {id}")))?;
                Ok(Sock::new(
                    id,
                    mio::net::UnixDatagram::from_std(socket),
                    size,
                ))
            })
            .collect()
    };
    spread(sockets, threads, limits, open, udp_many::drive)
}

/// A blocking connection to `path`. A Unix connect completes at once while the listener's
/// backlog has room, far more than the connections of a run.
fn connect(path: &Path, which: &str) -> Result<UnixStream> {
    UnixStream::connect(path).map_err(LoadError::io(format!(
        "connect {which}to {}",
        path.display()
    )))
}

/// Datagram socket `id`, bound to an abstract name no other socket of this process has had,
/// and connected to `path`.
fn named_socket(path: &Path, id: usize) -> Result<UnixDatagram> {
    static NAMES: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "socket-echo-bench-{}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::Relaxed)
    );
    let socket = SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|addr| UnixDatagram::bind_addr(&addr))
        .map_err(LoadError::io(format!("bind socket {id} to @{name}")))?;
    socket.connect(path).map_err(LoadError::io(format!(
        "connect socket {id} to {}",
        path.display()
    )))?;
    Ok(socket)
}
