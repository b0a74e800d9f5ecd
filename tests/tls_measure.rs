//! `ping`, `Load` and `Bulk` over TLS: the measuring clients run over the TLS transport as
//! over any stream transport, every echo verified.

use std::time::Duration;

use socket_echo::{Bulk, EchoClient, EchoServer, Load, Options, Ping, Tcp, Tls, TlsOptions};

fn tls_server() -> (socket_echo::ServerHandle<Tls<Tcp>>, Options) {
    let server = EchoServer::bind_on(Tls::over(Tcp), "127.0.0.1:0").unwrap();
    let trust =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    (server.spawn().unwrap(), trust)
}

#[test]
fn ping_over_tls() {
    let (server, trust) = tls_server();
    let mut client =
        EchoClient::connect_on_with(Tls::over(Tcp), server.local_addr(), trust).unwrap();
    let ping = Ping::new()
        .with_count(5)
        .with_interval(Duration::from_millis(1));
    let summary = client.ping(&ping, |_| {}).unwrap();
    assert_eq!(summary.received(), 5);
}

#[test]
fn load_over_tls() {
    let (server, trust) = tls_server();
    let report = Load::new()
        .with_connections(4)
        .with_threads(2)
        .with_size(256)
        .with_messages(50)
        .with_options(trust)
        .run(Tls::over(Tcp), server.local_addr())
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (200, 0));
    server.shutdown();
    assert_eq!(server.join().unwrap().tls.handshakes, 4);
}

#[test]
fn bulk_over_tls() {
    let (server, trust) = tls_server();
    let report = Bulk::new()
        .with_bytes(8 << 20)
        .with_options(trust)
        .run_on(Tls::over(Tcp), server.local_addr())
        .unwrap();
    assert_eq!(report.bytes(), 8 << 20);
}
