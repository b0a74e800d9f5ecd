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

#[cfg(target_os = "linux")]
#[test]
fn ping_and_load_over_tls_on_an_abstract_unix_name() {
    use socket_echo::Unix;
    let name = format!("@socket-echo-tls-measure-{}", std::process::id());
    let server = EchoServer::bind_on(Tls::over(Unix), name.as_str()).unwrap();
    let trust =
        Options::new().with_tls(TlsOptions::new().with_trusted(server.certificate().clone()));
    let server = server.spawn().unwrap();
    let mut client =
        EchoClient::connect_on_with(Tls::over(Unix), server.local_addr(), trust.clone()).unwrap();
    let ping = Ping::new()
        .with_count(3)
        .with_interval(Duration::from_millis(1));
    assert_eq!(client.ping(&ping, |_| {}).unwrap().received(), 3);
    drop(client);
    let report = Load::new()
        .with_connections(2)
        .with_threads(1)
        .with_size(64)
        .with_messages(20)
        .with_options(trust)
        .run(Tls::over(Unix), server.local_addr())
        .unwrap();
    assert_eq!((report.messages(), report.errors()), (40, 0));
    server.shutdown();
    assert_eq!(server.join().unwrap().tls.handshakes, 3);
}
