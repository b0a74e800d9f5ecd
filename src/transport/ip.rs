//! The one setup of an IP socket, TCP's and UDP's alike: made for the address's family, the
//! IP and buffer options applied (and TCP's own), then bound (and, for TCP, listening) or
//! connected, with every failure naming the address.

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};
use crate::options::Options;

/// An IP transport: TCP or UDP.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ip {
    name: &'static str,
    stream: bool,
}

/// TCP: streams, listening once bound.
pub(super) const TCP: Ip = Ip {
    name: "tcp",
    stream: true,
};

/// UDP: datagrams.
pub(super) const UDP: Ip = Ip {
    name: "udp",
    stream: false,
};

impl Ip {
    fn socket(self, addr: SocketAddr) -> std::io::Result<Socket> {
        let (kind, protocol) = if self.stream {
            (Type::STREAM, Protocol::TCP)
        } else {
            (Type::DGRAM, Protocol::UDP)
        };
        Socket::new(Domain::for_address(addr), kind, Some(protocol))
    }

    /// A server socket bound to exactly `addr`, tuned by `options` (and listening, for TCP).
    pub(super) fn bind(self, addr: SocketAddr, options: &Options) -> Result<Socket> {
        let bind_error = |source| Error::Bind {
            transport: self.name,
            addr: addr.into(),
            source,
        };
        let socket = self.socket(addr).map_err(bind_error)?;
        options.apply_reuse(&socket, self.stream)?;
        options.apply_ip(&socket, addr.is_ipv6())?;
        options.apply_buffers(&socket)?;
        if self.stream {
            // Accepted connections inherit these on Linux; they are set again on each anyway.
            options.apply_tcp(&socket)?;
        }
        socket.bind(&addr.into()).map_err(bind_error)?;
        if self.stream {
            let backlog = i32::try_from(options.backlog()).unwrap_or(i32::MAX);
            socket.listen(backlog).map_err(bind_error)?;
        }
        Ok(socket)
    }

    /// A client socket connected to exactly `addr`, tuned by `options`; a TCP connect waits
    /// at most the connect timeout.
    pub(super) fn connect(self, addr: SocketAddr, options: &Options) -> Result<Socket> {
        let connect_error = |source| Error::Connect {
            addr: addr.into(),
            source,
        };
        let socket = self.socket(addr).map_err(connect_error)?;
        options.apply_ip(&socket, addr.is_ipv6())?;
        options.apply_buffers(&socket)?;
        if self.stream {
            options.apply_tcp(&socket)?;
        }
        options.apply_timeouts(&socket)?;
        match options.connect_timeout() {
            Some(limit) if self.stream => socket.connect_timeout(&addr.into(), limit),
            _ => socket.connect(&addr.into()),
        }
        .map_err(connect_error)?;
        Ok(socket)
    }
}
