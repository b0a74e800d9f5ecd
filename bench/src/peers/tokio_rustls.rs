//! The TLS reference: tokio + tokio-rustls, a multi-thread runtime, a task per connection
//! that makes the handshake then runs a read / `write_all` / `flush` loop (8 KiB buffer, as
//! the `tokio` peer), over the ring provider and the run's certificate (see [`crate::tls`]).
//!
//! The `flush` is what makes it an echo: tokio-rustls's `write` returns once the session has
//! taken the bytes, leaving records it could not send yet in the session, and its `read`
//! does not send them, so without it a client that waits for its last echo before it sends
//! more waits forever (tls-bulk's end, after its last write).

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Accepts forever, making each connection's handshake and echo in a task of its own.
///
/// # Errors
///
/// Reading the identity, building the runtime or binding failed.
pub fn serve_tls(
    addr: SocketAddr,
    identity: &Path,
    on_bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(crate::tls::server_config(identity)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        on_bound(listener.local_addr()?);
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if stream.write_all(&buf[..n]).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}
