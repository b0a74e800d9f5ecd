//! What an `Error` tells its caller without walking `source()`: the address exactly as it
//! was written, and the kind of the operating-system error behind it.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};

use socket_echo::{EchoClient, EchoServer, Error, Udp};

/// An address with a port out of range fails to resolve without asking any name server.
const BAD_PORT: &str = "localhost:99999";

/// RELIABILITY 22: the address in `Resolve` is the caller's own text, not its Debug form
/// (`"\"localhost:99999\""`), for `&str` and `String` alike.
#[test]
fn resolve_error_holds_the_address_as_written() {
    let errors = [
        EchoClient::connect(BAD_PORT).err(),
        EchoClient::connect(BAD_PORT.to_string()).err(),
        EchoClient::connect_on(Udp, BAD_PORT).err(),
        EchoServer::bind(BAD_PORT).err(),
        EchoServer::bind(BAD_PORT.to_string()).err(),
    ];
    for error in errors {
        match error {
            Some(Error::Resolve { addr, .. }) => assert_eq!(addr, BAD_PORT),
            other => panic!("expected Resolve, got {other:?}"),
        }
    }
}

/// A resolve error of a host and port given apart names them as `host:port`.
#[test]
fn resolve_error_of_a_tuple_reads_as_host_and_port() {
    match EchoClient::connect(("echo.nonexistent.invalid", 7)) {
        Err(Error::Resolve { addr, .. }) => assert_eq!(addr, "echo.nonexistent.invalid:7"),
        other => panic!("expected Resolve, got {other:?}"),
    }
}

/// `io_kind` gives the kind of the system's error, and `None` where there is none.
#[test]
fn io_kind_names_the_system_error() {
    // Bind a port, then free it: nothing listens there any more.
    let addr: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = EchoClient::connect(addr).unwrap_err();
    assert_eq!(refused.io_kind(), Some(ErrorKind::ConnectionRefused));

    let first = EchoServer::bind("127.0.0.1:0").unwrap();
    let in_use = EchoServer::bind(first.local_addr()).unwrap_err();
    assert_eq!(in_use.io_kind(), Some(ErrorKind::AddrInUse));

    let invalid = EchoServer::bind_with(
        "127.0.0.1:0",
        socket_echo::Options::new().with_buffer_size(0),
    )
    .unwrap_err();
    assert_eq!(invalid.io_kind(), None);
}
