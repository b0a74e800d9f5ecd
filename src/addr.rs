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
            addr: text(addr),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::NoAddress { addr: text(addr) });
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
    Err(last.unwrap_or_else(|| Error::NoAddress { addr: text(addr) }))
}

/// The address as the caller wrote it, for error messages.
///
/// `ToSocketAddrs` gives no text of its own, so this starts from the `Debug` form and undoes
/// what `Debug` adds: the quotes around a string (`"localhost:7"` -> `localhost:7`) and the
/// tuple of a host and a port (`("localhost", 7)` -> `localhost:7`, `(::1, 7)` ->
/// `[::1]:7`). A string that `Debug` had to escape (quotes, backslashes, control characters)
/// keeps its escaped, quoted form, which shows those characters better than they would show
/// themselves. Socket addresses and lists of them print as they are.
pub(crate) fn text<A: Debug>(addr: &A) -> String {
    let debug = format!("{addr:?}");
    if let Some(plain) = unquote(&debug) {
        return plain.to_string();
    }
    if let Some((host, port)) = debug
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|pair| pair.rsplit_once(", "))
        .filter(|(_, port)| port.parse::<u16>().is_ok())
    {
        let host = unquote(host).unwrap_or(host);
        return if host.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
    }
    debug
}

/// The text inside `"…"`, if `Debug` escaped nothing in it.
fn unquote(debug: &str) -> Option<&str> {
    debug
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| !inner.contains(['\\', '"']))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr, SocketAddr};

    use super::text;

    #[test]
    fn text_is_the_address_as_written() {
        assert_eq!(text(&"999.1.1.1:1"), "999.1.1.1:1");
        assert_eq!(text(&String::from("localhost:7")), "localhost:7");
        assert_eq!(text(&("localhost", 7)), "localhost:7");
        assert_eq!(text(&(String::from("::1"), 7)), "[::1]:7");
        assert_eq!(text(&(IpAddr::from([127, 0, 0, 1]), 7)), "127.0.0.1:7");
        assert_eq!(text(&(Ipv6Addr::LOCALHOST, 7)), "[::1]:7");
        let socket: SocketAddr = "[::1]:7".parse().unwrap();
        assert_eq!(text(&socket), "[::1]:7");
        let none: &[SocketAddr] = &[];
        assert_eq!(text(&none), "[]");
    }

    #[test]
    fn text_keeps_escapes_visible() {
        assert_eq!(text(&"a\"b:7"), r#""a\"b:7""#);
        assert_eq!(text(&"host\n:7"), r#""host\n:7""#);
        assert_eq!(text(&("a\"b", 7)), r#""a\"b":7"#);
    }
}
