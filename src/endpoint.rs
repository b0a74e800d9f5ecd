//! [`Endpoint`]: a transport and an address in one piece of text, the syntax every tool and
//! example of the crate accepts, parsed here and nowhere else.

use std::fmt;
use std::str::FromStr;

use crate::addr::{UnixAddr, parse_unix};
use crate::error::Error;
use crate::transport::ToAddrs;
use crate::transport::{Tcp, Transport, Udp, Unix, UnixDatagram};

/// A transport and an address, as written on a command line:
///
/// | text | transport | address |
/// |---|---|---|
/// | `HOST:PORT`, `tcp://HOST:PORT` | [`Tcp`] | host name or IP and port (`[::1]:7` for IPv6) |
/// | `udp://HOST:PORT` | [`Udp`] | the same |
/// | `unix:/path`, `unix:./rel.sock` | [`Unix`] | a socket file |
/// | `unix:@name` | [`Unix`] | a Linux abstract name |
/// | `unixgram:/path`, `unixgram:@name` | [`UnixDatagram`] | the same |
/// | `tls://HOST:PORT` | `Tls<Tcp>` (feature `tls`) | as TCP |
/// | `tls+unix:/path`, `tls+unix:@name` | `Tls<Unix>` (feature `tls`) | as Unix |
///
/// Without the `tls` feature the TLS forms are refused, saying so.
///
/// Host names are resolved when the endpoint is used, not when it is parsed.
/// [`visit`](Self::visit) hands the transport and the address, typed, to code written once
/// for every transport.
///
/// # Examples
///
/// ```
/// use socket_echo::Endpoint;
///
/// let tcp: Endpoint = "localhost:9999".parse()?;
/// assert_eq!(tcp.transport(), "tcp");
/// let udp: Endpoint = "udp://127.0.0.1:7".parse()?;
/// assert_eq!(udp.to_string(), "udp://127.0.0.1:7");
/// let unix: Endpoint = "unix:/run/echo.sock".parse()?;
/// assert_eq!(unix.transport(), "unix");
/// assert!("ftp://example.com:21".parse::<Endpoint>().is_err());
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP to or on `HOST:PORT`.
    Tcp(String),
    /// UDP to or on `HOST:PORT`.
    Udp(String),
    /// A Unix stream socket.
    Unix(UnixAddr),
    /// A Unix datagram socket.
    UnixDatagram(UnixAddr),
    /// TLS over TCP to or on `HOST:PORT`.
    #[cfg(feature = "tls")]
    Tls(String),
    /// TLS over a Unix stream socket.
    #[cfg(feature = "tls")]
    TlsUnix(UnixAddr),
}

/// Code written once for every transport, run by [`Endpoint::visit`] with the endpoint's
/// transport and address.
///
/// # Examples
///
/// ```
/// use socket_echo::{Endpoint, EndpointVisitor, ToAddrs, Transport};
///
/// struct Name;
/// impl EndpointVisitor for Name {
///     type Output = String;
///     fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, _: T, addr: A) -> String {
///         addr.describe()
///     }
/// }
/// let endpoint: Endpoint = "unixgram:@echo".parse()?;
/// assert_eq!(endpoint.visit(Name), "@echo");
/// # Ok::<(), socket_echo::Error>(())
/// ```
pub trait EndpointVisitor {
    /// What the visit returns.
    type Output;
    /// Runs with the endpoint's transport and its address.
    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, addr: A) -> Self::Output;
}

impl Endpoint {
    /// The transport's name: `"tcp"`, `"udp"`, `"unix"`, `"unixgram"`, `"tls"` or
    /// `"tls+unix"`.
    pub fn transport(&self) -> &'static str {
        match self {
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Udp(_) => "udp",
            Endpoint::Unix(_) => "unix",
            Endpoint::UnixDatagram(_) => "unixgram",
            #[cfg(feature = "tls")]
            Endpoint::Tls(_) => "tls",
            #[cfg(feature = "tls")]
            Endpoint::TlsUnix(_) => "tls+unix",
        }
    }

    /// Whether the transport is TLS.
    pub fn is_tls(&self) -> bool {
        self.transport().starts_with("tls")
    }

    /// The datagram sibling of a stream endpoint (TCP to UDP, Unix to Unix datagram), the
    /// meaning of the tools' `--udp` flag; a datagram endpoint is returned as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use socket_echo::Endpoint;
    ///
    /// let tcp: Endpoint = "localhost:9999".parse()?;
    /// assert_eq!(tcp.datagram().to_string(), "udp://localhost:9999");
    /// # Ok::<(), socket_echo::Error>(())
    /// ```
    pub fn datagram(self) -> Self {
        match self {
            Endpoint::Tcp(addr) => Endpoint::Udp(addr),
            Endpoint::Unix(addr) => Endpoint::UnixDatagram(addr),
            other => other,
        }
    }

    /// Whether the transport is a datagram one.
    pub fn is_datagram(&self) -> bool {
        matches!(self, Endpoint::Udp(_) | Endpoint::UnixDatagram(_))
    }

    /// Runs `visitor` with the endpoint's transport and address.
    pub fn visit<V: EndpointVisitor>(&self, visitor: V) -> V::Output {
        match self {
            Endpoint::Tcp(addr) => visitor.visit(Tcp, addr.as_str()),
            Endpoint::Udp(addr) => visitor.visit(Udp, addr.as_str()),
            Endpoint::Unix(addr) => visitor.visit(Unix, addr),
            Endpoint::UnixDatagram(addr) => visitor.visit(UnixDatagram, addr),
            #[cfg(feature = "tls")]
            Endpoint::Tls(addr) => visitor.visit(crate::transport::Tls::over(Tcp), addr.as_str()),
            #[cfg(feature = "tls")]
            Endpoint::TlsUnix(addr) => visitor.visit(crate::transport::Tls::over(Unix), addr),
        }
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    /// Parses the syntax in the table above.
    ///
    /// # Errors
    ///
    /// [`Error::Resolve`] naming the text, with what was wrong as its source: an unknown
    /// scheme, an empty address, a `HOST:PORT` without a port or with a port that is not a
    /// number from 0 to 65535, a Unix path too long. A host name that does not resolve is
    /// found only when the endpoint is used.
    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Resolve {
            addr: text.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason.to_owned()),
        };
        let unix = |rest: &str| {
            if rest.is_empty() {
                return Err(bad("a Unix address needs a path or an @name"));
            }
            parse_unix(rest).map_err(|source| Error::Resolve {
                addr: text.to_owned(),
                source,
            })
        };
        let ip = |rest: &str| match check_host_port(rest) {
            Ok(()) => Ok(rest.to_owned()),
            Err(reason) => Err(bad(&reason)),
        };
        if let Some(rest) = text
            .strip_prefix("tls://")
            .or_else(|| text.strip_prefix("tls+unix:"))
        {
            #[cfg(feature = "tls")]
            return if text.starts_with("tls://") {
                Ok(Endpoint::Tls(ip(rest)?))
            } else {
                Ok(Endpoint::TlsUnix(unix(rest)?))
            };
            #[cfg(not(feature = "tls"))]
            return Err(bad(&format!(
                "TLS needs the crate's `tls` feature, which this build lacks (address `{rest}`)"
            )));
        }
        if let Some(rest) = text.strip_prefix("tcp://") {
            Ok(Endpoint::Tcp(ip(rest)?))
        } else if let Some(rest) = text.strip_prefix("udp://") {
            Ok(Endpoint::Udp(ip(rest)?))
        } else if let Some(rest) = text.strip_prefix("unixgram:") {
            Ok(Endpoint::UnixDatagram(unix(rest)?))
        } else if let Some(rest) = text.strip_prefix("unix:") {
            Ok(Endpoint::Unix(unix(rest)?))
        } else if let Some((scheme, _)) = text.split_once("://") {
            Err(bad(&format!(
                "unknown scheme `{scheme}://`: use tcp://, udp://, tls://, unix:, unixgram: or tls+unix:"
            )))
        } else {
            Ok(Endpoint::Tcp(ip(text)?))
        }
    }
}

/// Checks the form of `HOST:PORT` without resolving the host: a port is there, a number,
/// in range; an IPv6 address is in brackets.
fn check_host_port(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("expected HOST:PORT".to_owned());
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("no port: expected HOST:PORT, as {text}:9999"));
    };
    if host.is_empty() {
        return Err(format!("no host: expected HOST:PORT, as localhost:{port}"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err("an IPv6 address goes in brackets: [::1]:9999".to_owned());
    }
    if port.is_empty() {
        return Err("no port after the colon: expected HOST:PORT".to_owned());
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the port `{port}` is not a number"));
    }
    if port.parse::<u16>().is_err() {
        return Err(format!("the port {port} is out of range: 0 to 65535"));
    }
    Ok(())
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => f.write_str(addr),
            Endpoint::Udp(addr) => write!(f, "udp://{addr}"),
            Endpoint::Unix(addr) => write!(f, "unix:{addr}"),
            Endpoint::UnixDatagram(addr) => write!(f, "unixgram:{addr}"),
            #[cfg(feature = "tls")]
            Endpoint::Tls(addr) => write!(f, "tls://{addr}"),
            #[cfg(feature = "tls")]
            Endpoint::TlsUnix(addr) => write!(f, "tls+unix:{addr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        for (text, transport) in [
            ("localhost:9999", "tcp"),
            ("[::1]:7", "tcp"),
            ("udp://127.0.0.1:7", "udp"),
            ("unix:/tmp/echo.sock", "unix"),
            ("unix:./echo.sock", "unix"),
            ("unixgram:/tmp/echo.dgram", "unixgram"),
            #[cfg(target_os = "linux")]
            ("unix:@echo", "unix"),
            #[cfg(target_os = "linux")]
            ("unixgram:@echo", "unixgram"),
            #[cfg(feature = "tls")]
            ("tls://localhost:9443", "tls"),
            #[cfg(feature = "tls")]
            ("tls+unix:/tmp/echo.sock", "tls+unix"),
        ] {
            let endpoint: Endpoint = text.parse().unwrap();
            assert_eq!(endpoint.transport(), transport, "{text}");
            assert_eq!(endpoint.to_string(), text);
        }
        let tcp: Endpoint = "tcp://localhost:7".parse().unwrap();
        assert_eq!(tcp, Endpoint::Tcp("localhost:7".into()));
    }

    #[test]
    fn bad_text_is_refused_with_what_was_wrong() {
        for (text, needle) in [
            ("ftp://host:21", "unknown scheme"),
            ("unix:", "needs a path"),
            ("tcp://", "HOST:PORT"),
            ("", "HOST:PORT"),
            ("localhost", "no port"),
            ("udp://localhost", "no port"),
            ("localhost:", "no port after the colon"),
            (":9999", "no host"),
            ("localhost:abc", "`abc` is not a number"),
            ("localhost:-1", "`-1` is not a number"),
            ("localhost:99999", "99999 is out of range"),
            ("::1:7", "in brackets"),
            #[cfg(feature = "tls")]
            ("tls://localhost", "no port"),
            #[cfg(feature = "tls")]
            ("tls+unix:", "needs a path"),
            #[cfg(not(feature = "tls"))]
            ("tls://localhost:9443", "`tls` feature"),
        ] {
            let error = text.parse::<Endpoint>().unwrap_err();
            let source = std::error::Error::source(&error).unwrap().to_string();
            assert!(source.contains(needle), "{text}: {source}");
        }
        let long = format!("unix:/{}", "x".repeat(200));
        assert!(long.parse::<Endpoint>().is_err());
    }

    #[test]
    fn the_udp_shorthand_turns_streams_into_datagrams() {
        let unix: Endpoint = "unix:/tmp/x.sock".parse().unwrap();
        assert_eq!(unix.datagram().transport(), "unixgram");
        let udp: Endpoint = "udp://h:1".parse().unwrap();
        assert_eq!(udp.clone().datagram(), udp);
    }
}
