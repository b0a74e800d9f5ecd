//! Many idle connections, each proven with one echo: the memory workload.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::SockRef;

use super::pattern::{fill, first_difference};
use super::{LoadError, Result, STALL_TIMEOUT};

/// Open connections that have each echoed one message; closed (with a reset, so no
/// TIME_WAIT is left behind) when dropped.
#[derive(Debug)]
pub struct IdleConnections {
    streams: Vec<TcpStream>,
}

impl IdleConnections {
    /// How many are open.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

/// Opens `count` connections and echoes one `size`-byte message on each, one after the
/// other, leaving them open.
///
/// # Errors
///
/// Connecting or a socket call failed (EMFILE if the file limit is too low), the server
/// closed, or an echo was wrong.
pub fn idle(addr: SocketAddr, count: usize, size: usize) -> Result<IdleConnections> {
    let mut streams = Vec::with_capacity(count);
    let mut msg = vec![0u8; size];
    let mut back = vec![0u8; size];
    for id in 0..count {
        let mut stream = TcpStream::connect_timeout(&addr, STALL_TIMEOUT)
            .map_err(LoadError::io(format!("connect connection {id} to {addr}")))?;
        SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| stream.set_read_timeout(Some(STALL_TIMEOUT)))
            .map_err(LoadError::io(format!("set options of connection {id}")))?;
        echo_once(&mut stream, id, 0, &mut msg, &mut back)?;
        streams.push(stream);
    }
    Ok(IdleConnections { streams })
}

/// Sends message `seq` of connection `id` (as long as `msg`) and checks its echo, read into
/// `back`, on a blocking `stream` with a read timeout.
pub(super) fn echo_once(
    stream: &mut (impl Read + Write),
    id: usize,
    seq: u64,
    msg: &mut [u8],
    back: &mut [u8],
) -> Result<()> {
    fill(msg, id, seq);
    stream
        .write_all(msg)
        .and_then(|()| stream.read_exact(back))
        .map_err(LoadError::io(format!("echo on connection {id}")))?;
    match first_difference(msg, back) {
        Some(offset) => Err(LoadError::Mismatch {
            conn: id,
            seq,
            offset,
        }),
        None => Ok(()),
    }
}
