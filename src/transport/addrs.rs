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
#[cfg(feature = "tls")]
ip_addrs!(super::Tls<Tcp>);

/// Resolves `addr`, refusing an address that resolves to nothing.
fn resolve_ip<A: ToSocketAddrs + fmt::Debug + ?Sized>(addr: &A) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = match addr.to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        // std takes only a numeric IPv6 scope (`[fe80::1%2]:7`); an interface's name
        // (`[fe80::1%eth0]:7`) is looked up here, and an unknown one named in the error.
        Err(source) => {
            let named = named_scope(&text(addr), interface_index).unwrap_or(Err(source));
            vec![named.map_err(|source| Error::Resolve {
                addr: text(addr),
                source,
            })?]
        }
    };
    if addrs.is_empty() {
        return Err(Error::NoAddress { addr: text(addr) });
    }
    Ok(addrs)
}

/// `[IPV6%NAME]:PORT` with the interface `NAME` turned into its index by `index_of`, or
/// `None` if `text` is not of that form (a numeric scope, or no scope, is std's to parse).
fn named_scope(
    text: &str,
    index_of: impl Fn(&str) -> io::Result<u32>,
) -> Option<io::Result<SocketAddr>> {
    let (host, port) = text.strip_prefix('[')?.rsplit_once("]:")?;
    let (ip, name) = host.split_once('%')?;
    let ip: std::net::Ipv6Addr = ip.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        index_of(name).map(|scope| SocketAddr::V6(std::net::SocketAddrV6::new(ip, port, 0, scope))),
    )
}

/// The index of the network interface called `name`.
fn interface_index(name: &str) -> io::Result<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        nix::net::if_::if_nametoindex(name).map_err(|errno| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no network interface called {name:?} ({errno})"),
            )
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "interface names as IPv6 scopes ({name:?}) are looked up on Linux only: write the interface's index"
            ),
        ))
    }
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
#[cfg(feature = "tls")]
unix_addrs!(super::Tls<Unix>);

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

#[cfg(test)]
mod scope_tests {
    use std::net::{Ipv6Addr, SocketAddrV6};

    use super::*;

    fn index(name: &str) -> io::Result<u32> {
        match name {
            "eth0" => Ok(7),
            other => Err(io::Error::new(io::ErrorKind::NotFound, other.to_owned())),
        }
    }

    #[test]
    fn an_interface_name_as_a_scope_is_its_index() {
        let addr = named_scope("[fe80::1%eth0]:9999", index).unwrap().unwrap();
        let ip: Ipv6Addr = "fe80::1".parse().unwrap();
        assert_eq!(addr, SocketAddr::V6(SocketAddrV6::new(ip, 9999, 0, 7)));
        let unknown = named_scope("[fe80::1%wlan9]:9999", index)
            .unwrap()
            .unwrap_err();
        assert_eq!(unknown.kind(), io::ErrorKind::NotFound);
        // Numeric scopes, no scope and other forms are std's.
        for text in [
            "[fe80::1%2]:9",
            "[::1]:9",
            "localhost:9",
            "[fe80::1%eth0]",
            "[x%eth0]:9",
        ] {
            assert!(named_scope(text, index).is_none(), "{text}");
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_loopback_interface_is_found_by_name() {
        let by_name = resolve_ip("[::1%lo]:9").unwrap();
        let index = interface_index("lo").unwrap();
        let ip = Ipv6Addr::LOCALHOST;
        assert_eq!(
            by_name,
            vec![SocketAddr::V6(SocketAddrV6::new(ip, 9, 0, index))]
        );
        match resolve_ip("[::1%no-such-if0]:9") {
            Err(Error::Resolve { addr, source }) => {
                assert_eq!(addr, "[::1%no-such-if0]:9");
                assert!(source.to_string().contains("no-such-if0"), "{source}");
            }
            other => panic!("expected a resolve error naming the interface, got {other:?}"),
        }
    }
}
