//! Turning what the caller wrote (`"localhost:9999"`, a `SocketAddr`, a tuple) into socket
//! addresses, with errors that repeat the caller's own spelling.

use std::fmt::Debug;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::error::{Error, Result};

/// Resolves `addr`, refusing an address that resolves to nothing.
pub(crate) fn resolve<A: ToSocketAddrs + Debug>(addr: &A) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| Error::Resolve {
            addr: format!("{addr:?}"),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::NoAddress {
            addr: format!("{addr:?}"),
        });
    }
    Ok(addrs)
}

/// Tries `attempt` on each resolved address in turn, returning the first success or the last
/// error.
pub(crate) fn first_ok<A, T>(
    addr: &A,
    mut attempt: impl FnMut(SocketAddr) -> Result<T>,
) -> Result<T>
where
    A: ToSocketAddrs + Debug,
{
    let mut last = None;
    for candidate in resolve(addr)? {
        match attempt(candidate) {
            Ok(value) => return Ok(value),
            Err(error) => last = Some(error),
        }
    }
    // `resolve` never returns an empty list, so `last` is set here.
    Err(last.unwrap_or_else(|| Error::NoAddress {
        addr: format!("{addr:?}"),
    }))
}
