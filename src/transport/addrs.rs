//! [`ToAddrs`]: what a caller may write where a transport's address is expected, resolved
//! into that transport's addresses, and the loop that tries each in turn.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use super::{Tcp, Transport, Udp, Unix, UnixDatagram};
use crate::addr::{UnixAddr, parse_unix, text};
use crate::error::{Error, Result};

/// What may be written where an address of transport `T` is expected: for [`Tcp`] and
/// [`Udp`], anything [`ToSocketAddrs`] takes (`"127.0.0.1:0"`, `"localhost:9999"`, a
/// [`SocketAddr`], a `(host, port)` tuple); for [`Unix`] and [`UnixDatagram`], a
/// [`UnixAddr`](crate::UnixAddr), a path (`&Path`, `PathBuf`), or a string: a path, or `@name` for a Linux
/// abstract name.
///
/// # Examples
///
/// ```
/// use socket_echo::{ToAddrs, Udp, Unix};
///
/// let ip = ToAddrs::<Udp>::to_addrs(&"127.0.0.1:7")?;
/// assert_eq!(ip[0].port(), 7);
/// let unix = ToAddrs::<Unix>::to_addrs(&"/run/echo.sock")?;
/// assert_eq!(unix[0].to_string(), "/run/echo.sock");
/// # Ok::<(), socket_echo::Error>(())
/// ```
pub trait ToAddrs<T: Transport> {
    /// The addresses to try, in order.
    ///
    /// # Errors
    ///
    /// [`Error::Resolve`] if the text does not name an address, [`Error::NoAddress`] if it
    /// resolves to none.
    fn to_addrs(&self) -> Result<Vec<T::Addr>>;

    /// The address as the caller wrote it, for errors.
    fn describe(&self) -> String;
}

macro_rules! ip_addrs {
    ($($transport:ty),*) => {$(
        impl<A: ToSocketAddrs + fmt::Debug + ?Sized> ToAddrs<$transport> for A {
            fn to_addrs(&self) -> Result<Vec<SocketAddr>> {
                resolve_ip(self)
            }

            fn describe(&self) -> String {
                text(self)
            }
        }
    )*};
}

ip_addrs!(Tcp, Udp);

/// Resolves `addr`, refusing an address that resolves to nothing.
fn resolve_ip<A: ToSocketAddrs + fmt::Debug + ?Sized>(addr: &A) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| Error::Resolve {
            addr: text(addr),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::NoAddress { addr: text(addr) });
    }
    Ok(addrs)
}

fn unix_result(text: String, parsed: io::Result<UnixAddr>) -> Result<Vec<UnixAddr>> {
    parsed
        .map(|addr| vec![addr])
        .map_err(|source| Error::Resolve { addr: text, source })
}

macro_rules! unix_addrs {
    ($($transport:ty),*) => {$(
        impl ToAddrs<$transport> for UnixAddr {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                Ok(vec![self.clone()])
            }
            fn describe(&self) -> String {
                self.to_string()
            }
        }
        impl ToAddrs<$transport> for &UnixAddr {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                Ok(vec![(*self).clone()])
            }
            fn describe(&self) -> String {
                self.to_string()
            }
        }
        impl ToAddrs<$transport> for str {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                unix_result(self.to_owned(), parse_unix(self))
            }
            fn describe(&self) -> String {
                self.to_owned()
            }
        }
        impl ToAddrs<$transport> for &str {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                ToAddrs::<$transport>::to_addrs(*self)
            }
            fn describe(&self) -> String {
                (*self).to_owned()
            }
        }
        impl ToAddrs<$transport> for String {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                ToAddrs::<$transport>::to_addrs(self.as_str())
            }
            fn describe(&self) -> String {
                self.clone()
            }
        }
        impl ToAddrs<$transport> for Path {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                unix_result(self.display().to_string(), UnixAddr::from_pathname(self))
            }
            fn describe(&self) -> String {
                self.display().to_string()
            }
        }
        impl ToAddrs<$transport> for &Path {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                ToAddrs::<$transport>::to_addrs(*self)
            }
            fn describe(&self) -> String {
                self.display().to_string()
            }
        }
        impl ToAddrs<$transport> for PathBuf {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                ToAddrs::<$transport>::to_addrs(self.as_path())
            }
            fn describe(&self) -> String {
                self.display().to_string()
            }
        }
        impl ToAddrs<$transport> for &PathBuf {
            fn to_addrs(&self) -> Result<Vec<UnixAddr>> {
                ToAddrs::<$transport>::to_addrs(self.as_path())
            }
            fn describe(&self) -> String {
                self.display().to_string()
            }
        }
    )*};
}

unix_addrs!(Unix, UnixDatagram);

/// Tries `attempt` on each address `addr` names in turn, returning the first success or the
/// last error.
pub(crate) fn first_ok<T, A, R>(
    addr: &A,
    mut attempt: impl FnMut(T::Addr) -> Result<R>,
) -> Result<R>
where
    T: Transport,
    A: ToAddrs<T> + ?Sized,
{
    let mut last = None;
    for candidate in addr.to_addrs()? {
        match attempt(candidate) {
            Ok(value) => return Ok(value),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| Error::NoAddress {
        addr: addr.describe(),
    }))
}
