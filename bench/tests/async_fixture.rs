//! socket-echo's server as the peer of a `#[tokio::test]`: what a tokio user writes. The
//! waits are the library's runtime-agnostic `ServerHandle::until`, woken by the server's
//! workers and bounded by tokio's own timer; the server is stopped without blocking the
//! runtime's thread. (In this crate because it already builds tokio; the library's tests
//! never do.)

use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Udp};

const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "current_thread")]
async fn a_tokio_test_awaits_the_servers_progress_and_stops_it_without_blocking() {
    let handle = EchoServer::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let addr = handle.local_addr();
    // A blocking client on tokio's blocking pool, as a client under test would run.
    let client = tokio::task::spawn_blocking(move || -> socket_echo::Result<EchoClient> {
        let mut client = EchoClient::connect(addr)?;
        client.echo(b"from a tokio test")?;
        Ok(client)
    });
    let stats = tokio::time::timeout(PATIENCE, handle.until(|s| s.bytes_out >= 17))
        .await
        .expect("woken before the timeout")
        .expect("the server is running");
    assert_eq!((stats.accepted, stats.bytes_in), (1, 17));
    let _client = client.await.unwrap().unwrap();

    // Nothing more comes: tokio's timeout ends the wait, and the future is dropped.
    let more = tokio::time::timeout(Duration::from_millis(30), handle.until(|s| s.accepted > 1));
    assert!(more.await.is_err(), "timed out");

    // Stop without blocking: `stop` returns at once, `until` is ready once the server has
    // stopped and released its port, and `join` then has nothing to wait for.
    handle.stop();
    let stopped = tokio::time::timeout(PATIENCE, handle.until(|_| false)).await;
    assert_eq!(stopped.expect("stopped before the timeout"), None);
    let stats = handle.join().unwrap();
    assert_eq!((stats.active, stats.bytes_out), (0, 17));
    EchoServer::bind(addr).expect("the port is free");
}

#[tokio::test(flavor = "current_thread")]
async fn a_tokio_test_waits_for_datagrams() {
    let handle = EchoServer::bind_on(Udp, "127.0.0.1:0")
        .unwrap()
        .spawn()
        .unwrap();
    let addr = handle.local_addr();
    let client = tokio::task::spawn_blocking(move || -> socket_echo::Result<()> {
        let mut client = EchoClient::connect_on(Udp, addr)?;
        for message in [&b"one"[..], b"two", b"three"] {
            client.echo(message)?;
        }
        Ok(())
    });
    let three = handle.until(|s| s.datagrams_echoed == 3);
    let stats = tokio::time::timeout(PATIENCE, three)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.bytes_in, 11);
    client.await.unwrap().unwrap();
}
