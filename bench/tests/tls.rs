//! Both TLS servers (the library's over `Tls::over(Tcp)` and the tokio-rustls reference),
//! started as child processes with one certificate, echo correctly under every TLS client.

use std::path::Path;

use socket_echo_bench::child::ServerChild;
use socket_echo_bench::load::{self, Limits};
use socket_echo_bench::peers::{Kind, Proto};
use socket_echo_bench::tls::IdentityDir;

fn program() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_peer-server"))
}

fn check(kind: Kind) {
    let identity = IdentityDir::new().unwrap();
    let dir = identity.path().to_str().unwrap().to_owned();
    let server = ServerChild::spawn(
        program(),
        &["--tls", &dir],
        kind,
        Proto::Tls,
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap_or_else(|e| panic!("{kind} tls server: {e}"));
    let addr = server.addr();
    let client = identity.client(addr.ip()).unwrap();
    let out = load::tls_lat(&client, addr, 64, Limits::count(200)).unwrap();
    assert_eq!((out.messages, out.bytes), (200, 200 * 64));
    let out = load::tls_many(&client, addr, 8, 512, 2, Limits::count(400)).unwrap();
    assert!(out.messages >= 400, "{} messages", out.messages);
    assert_eq!(out.bytes, out.messages * 512);
    let bulk = Limits {
        max_count: 4 << 20,
        ..Limits::count(0)
    };
    let out = load::tls_bulk(&client, addr, 64 * 1024, bulk).unwrap();
    assert_eq!(out.bytes, 4 << 20);
    let out = load::tls_hs(&client, addr, 4, 64, Limits::count(40)).unwrap();
    assert_eq!((out.messages, out.bytes), (40, 40 * 64));
    let idle = load::tls_idle(&client, addr, 20, 64).unwrap();
    assert_eq!(idle.len(), 20);
}

#[test]
fn ours_echoes_tls() {
    check(Kind::Ours);
}

#[test]
fn tokio_rustls_echoes_tls() {
    check(Kind::TokioRustls);
}

#[test]
fn a_client_refuses_a_server_with_another_certificate() {
    let served = IdentityDir::new().unwrap();
    let other = IdentityDir::new().unwrap();
    let dir = served.path().to_str().unwrap().to_owned();
    let server = ServerChild::spawn(
        program(),
        &["--tls", &dir],
        Kind::TokioRustls,
        Proto::Tls,
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let client = other.client(server.addr().ip()).unwrap();
    let refused = load::tls_lat(&client, server.addr(), 64, Limits::count(1));
    assert!(
        refused.is_err(),
        "a certificate the client does not trust was accepted"
    );
}
