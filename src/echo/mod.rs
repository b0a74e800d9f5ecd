//! The blocking echo loops, written once per kind of transport: [`stream`] (serve one
//! connection; the client's windowed send-and-verify) and [`datagram`] (answer one datagram;
//! the client's retry loop).

pub(crate) mod datagram;
pub(crate) mod limits;
pub(crate) mod stream;
