//! Addresses: [`Address`], the address of a socket of any transport (what errors name), and
//! [`UnixAddr`], the address of a Unix-domain socket, with the text forms of both. This module
//! depends on no other of the crate.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::SocketAddr;
use std::path::Path;

/// The address of a socket of any transport: an IP socket address (TCP, UDP) or a Unix-domain
/// socket address. Errors name the address they concern with it.
///
/// It compares equal to the address it holds, so an error's address can be checked against
/// `local_addr()` directly.
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use socket_echo::Address;
///
/// let ip: SocketAddr = "127.0.0.1:7".parse().unwrap();
/// let address = Address::from(ip);
/// assert_eq!(address, ip);
/// assert_eq!(address.to_string(), "127.0.0.1:7");
/// assert_eq!(address.as_ip(), Some(ip));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// An IPv4 or IPv6 socket address.
    Ip(SocketAddr),
    /// A Unix-domain socket address: a path, an abstract name, or unnamed (boxed, so that an
    /// `Address`, and every error that names one, stays small).
    Unix(Box<UnixAddr>),
}

impl Address {
    /// The IP socket address, if this is one.
    pub fn as_ip(&self) -> Option<SocketAddr> {
        match self {
            Address::Ip(addr) => Some(*addr),
            Address::Unix(_) => None,
        }
    }

    /// The Unix-domain socket address, if this is one.
    pub fn as_unix(&self) -> Option<&UnixAddr> {
        match self {
            Address::Unix(addr) => Some(&**addr),
            Address::Ip(_) => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(addr) => addr.fmt(f),
            Address::Unix(addr) => addr.fmt(f),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Self {
        Address::Ip(addr)
    }
}

impl From<UnixAddr> for Address {
    fn from(addr: UnixAddr) -> Self {
        Address::Unix(Box::new(addr))
    }
}

impl PartialEq<SocketAddr> for Address {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.as_ip() == Some(*other)
    }
}

impl PartialEq<Address> for SocketAddr {
    fn eq(&self, other: &Address) -> bool {
        other == self
    }
}

impl PartialEq<UnixAddr> for Address {
    fn eq(&self, other: &UnixAddr) -> bool {
        self.as_unix() == Some(other)
    }
}

impl PartialEq<Address> for UnixAddr {
    fn eq(&self, other: &Address) -> bool {
        other == self
    }
}

/// The address of a Unix-domain socket: a filesystem path, a Linux abstract name, or unnamed
/// (a client socket that never bound a name).
///
/// It displays as the path, as `@name` for an abstract name, and as `(unnamed)`.
///
/// # Examples
///
/// ```
/// use socket_echo::UnixAddr;
///
/// let path = UnixAddr::from_pathname("/run/echo.sock")?;
/// assert_eq!(path.as_pathname(), Some(std::path::Path::new("/run/echo.sock")));
/// assert_eq!(path.to_string(), "/run/echo.sock");
/// # #[cfg(target_os = "linux")] {
/// let name = UnixAddr::from_abstract_name("echo")?;
/// assert_eq!(name.as_abstract_name(), Some(&b"echo"[..]));
/// assert_eq!(name.to_string(), "@echo");
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct UnixAddr(std::os::unix::net::SocketAddr);

impl UnixAddr {
    /// The address of a socket file at `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path is longer than a Unix socket address holds (about 107
    /// bytes) or contains a NUL byte.
    pub fn from_pathname(path: impl AsRef<Path>) -> io::Result<Self> {
        std::os::unix::net::SocketAddr::from_pathname(path).map(UnixAddr)
    }

    /// The address of a socket in Linux's abstract namespace: a name with no file behind it,
    /// gone when the last socket bound to it closes.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the name is empty (`unix:@` names no socket a peer could find
    /// again) or longer than a Unix socket address holds (107 bytes).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn from_abstract_name(name: impl AsRef<[u8]>) -> io::Result<Self> {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        let name = name.as_ref();
        if name.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an abstract Unix socket name is empty: write a name after `@`",
            ));
        }
        std::os::unix::net::SocketAddr::from_abstract_name(name).map(UnixAddr)
    }

    /// The path, if the address is one.
    pub fn as_pathname(&self) -> Option<&Path> {
        self.0.as_pathname()
    }

    /// The abstract name, if the address is one.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.0.as_abstract_name();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        None
    }

    /// Whether the address has no name at all (a socket that never bound one).
    pub fn is_unnamed(&self) -> bool {
        self.as_pathname().is_none() && self.as_abstract_name().is_none()
    }

    /// The standard library's form of the address.
    pub fn as_std(&self) -> &std::os::unix::net::SocketAddr {
        &self.0
    }

    /// What identifies the address: its kind and its bytes.
    fn key(&self) -> (u8, &[u8]) {
        use std::os::unix::ffi::OsStrExt;
        if let Some(path) = self.as_pathname() {
            (0, path.as_os_str().as_bytes())
        } else if let Some(name) = self.as_abstract_name() {
            (1, name)
        } else {
            (2, &[])
        }
    }
}

impl From<std::os::unix::net::SocketAddr> for UnixAddr {
    fn from(addr: std::os::unix::net::SocketAddr) -> Self {
        UnixAddr(addr)
    }
}

impl PartialEq for UnixAddr {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for UnixAddr {}

impl Hash for UnixAddr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.as_pathname() {
            escaped(&path.to_string_lossy(), f)
        } else if let Some(name) = self.as_abstract_name() {
            f.write_str("@")?;
            escaped(&String::from_utf8_lossy(name), f)
        } else {
            f.write_str("(unnamed)")
        }
    }
}

/// Writes `text` with its control characters escaped (`\n`, `\u{1b}`) and its backslashes
/// doubled, so a name printed in a terminal or a log line shows what it holds and cannot move
/// the cursor or start a new line.
fn escaped(text: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if !text.contains(|c: char| c.is_control() || c == '\\') {
        return f.write_str(text);
    }
    for c in text.chars() {
        if c.is_control() || c == '\\' {
            write!(f, "{}", c.escape_default())?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixAddr({self})")
    }
}

/// The address as the caller wrote it, for error messages.
///
/// `ToSocketAddrs` gives no text of its own, so this starts from the `Debug` form and undoes
/// what `Debug` adds: the quotes around a string (`"localhost:7"` -> `localhost:7`) and the
/// tuple of a host and a port (`("localhost", 7)` -> `localhost:7`, `(::1, 7)` ->
/// `[::1]:7`). A string that `Debug` had to escape (quotes, backslashes, control characters)
/// keeps its escaped, quoted form, which shows those characters better than they would show
/// themselves. Socket addresses and lists of them print as they are.
pub(crate) fn text<A: fmt::Debug + ?Sized>(addr: &A) -> String {
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

/// A Unix address from text: `@name` is an abstract name, anything else a path.
pub(crate) fn parse_unix(text: &str) -> io::Result<UnixAddr> {
    match text.strip_prefix('@') {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Some(name) => UnixAddr::from_abstract_name(name),
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "abstract Unix socket names exist only on Linux",
        )),
        None => UnixAddr::from_pathname(text),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr};

    use super::*;

    #[test]
    fn control_characters_in_a_unix_address_are_shown_escaped() {
        let path = UnixAddr::from_pathname("/tmp/a\nb\x1b[2J\\c.sock").unwrap();
        assert_eq!(path.to_string(), "/tmp/a\\nb\\u{1b}[2J\\\\c.sock");
        let plain = UnixAddr::from_pathname("/tmp/échos/a b.sock").unwrap();
        assert_eq!(plain.to_string(), "/tmp/échos/a b.sock");
        #[cfg(target_os = "linux")]
        assert_eq!(
            UnixAddr::from_abstract_name("x\ty").unwrap().to_string(),
            "@x\\ty"
        );
    }

    #[test]
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn an_empty_abstract_name_is_refused() {
        let refused = UnixAddr::from_abstract_name("").unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidInput);
        assert!(refused.to_string().contains("empty"), "{refused}");
        assert_eq!(
            parse_unix("@").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(parse_unix("@a").is_ok());
    }

    #[test]
    fn unix_addresses_compare_by_kind_and_bytes() {
        let a = UnixAddr::from_pathname("/tmp/a.sock").unwrap();
        assert_eq!(a, UnixAddr::from_pathname("/tmp/a.sock").unwrap());
        assert_ne!(a, UnixAddr::from_pathname("/tmp/b.sock").unwrap());
        #[cfg(target_os = "linux")]
        {
            let name = UnixAddr::from_abstract_name("/tmp/a.sock").unwrap();
            assert_ne!(a, name);
            assert_eq!(parse_unix("@/tmp/a.sock").unwrap(), name);
        }
        assert_eq!(parse_unix("/tmp/a.sock").unwrap(), a);
    }

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
