//! Helpers shared by the integration tests: addresses, payloads, servers on threads, and
//! child processes that are always reaped.
//!
//! Each test file includes this module with `mod util;` and uses only part of it.
#![allow(dead_code)]

pub mod process;
pub mod stream;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tools;

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use socket_echo::{EchoServer, Exchange, Options, Transport};

/// How long any test waits for something that should happen at once on loopback. Only a
/// broken build ever waits this long; it exists so that no test can hang.
pub const GENEROUS: Duration = Duration::from_secs(30);

/// A short wait for things that must *not* happen (a reply that should never come).
pub const SHORT: Duration = Duration::from_millis(200);

/// `127.0.0.1:0`: loopback, any free port.
pub fn any_local_address() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// `[::1]:0`: IPv6 loopback, any free port.
pub fn any_local_ipv6_address() -> SocketAddr {
    "[::1]:0".parse().unwrap()
}

/// True if this machine can bind IPv6 loopback (containers often cannot).
pub fn ipv6_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| TcpListener::bind(any_local_ipv6_address()).is_ok())
}

/// A xorshift64* generator: deterministic, seedable, good enough for test payloads.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (zero is replaced, since xorshift would stay at zero).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }

    /// `len` bytes of its output.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        self.fill(&mut bytes);
        bytes
    }

    pub fn fill(&mut self, buffer: &mut [u8]) {
        for chunk in buffer.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// `len` pseudo-random bytes, the same for the same `len` and `seed`.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; len];
    Rng::new(seed ^ len as u64).fill(&mut bytes);
    bytes
}

/// Runs `serve_once` on a thread; join the handle to get its result.
pub fn serve_once_in_background<T: Transport>(
    server: EchoServer<T>,
) -> JoinHandle<socket_echo::Result<Exchange<T::Addr>>> {
    thread::spawn(move || server.serve_once())
}

/// Options with a short read timeout, for clients that must give up soon.
pub fn impatient() -> Options {
    Options::new().with_read_timeout(Some(SHORT))
}

/// [`impatient`], and no resends: a datagram client that gives up after one wait.
pub fn impatient_datagram() -> Options {
    impatient().with_resends(0)
}

/// Asserts that `error`'s `source()` is an `io::Error` of `kind`.
pub fn assert_io_source(error: &socket_echo::Error, kind: std::io::ErrorKind) {
    let source = std::error::Error::source(error)
        .unwrap_or_else(|| panic!("{error:?} has no source"))
        .downcast_ref::<std::io::Error>()
        .unwrap_or_else(|| panic!("the source of {error:?} is not an io::Error"));
    assert_eq!(source.kind(), kind, "source of {error:?}");
}

/// Asserts that `error` displays `needle` (an address, an option name, a count).
pub fn assert_names(error: &socket_echo::Error, needle: &str) {
    let message = error.to_string();
    assert!(
        message.contains(needle),
        "`{message}` does not mention `{needle}`"
    );
}

/// Runs a future to completion on this thread, parking it between polls: the least executor
/// there is, so a test of a future needs no runtime (which could hide a missed wake-up behind
/// a timer of its own).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        thread::park();
    }
}
