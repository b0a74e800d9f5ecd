//! Helpers shared by the fault tests: servers with faults on port 0 or an abstract Unix name,
//! clients that give up soon, and the macros that run one generic test over every transport
//! of a kind.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use socket_echo::{EchoClient, EchoServer, Faults, Options, ServerHandle, Transport};

/// The longest any wait here lasts; only a broken build waits this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A fresh Linux abstract name, so Unix tests leave no file behind and never collide.
pub fn unix_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "@socket-echo-faults-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Parses the SPECs of `specs` (separated by `;`) with `seed`.
pub fn faults(specs: &str, seed: u64) -> Faults {
    specs
        .parse::<Faults>()
        .unwrap_or_else(|e| panic!("{specs}: {e}"))
        .with_seed(seed)
}

/// A server of transport `T` on `addr`, with `specs` as its faults, run by `serve()` in the
/// background with two workers (so faults are seen across workers).
pub fn spawn<T: Transport>(
    transport: T,
    addr: &str,
    specs: &str,
    options: Options,
) -> ServerHandle<T>
where
    for<'a> &'a str: socket_echo::ToAddrs<T>,
{
    EchoServer::bind_on_with(
        transport,
        addr,
        options.with_workers(std::num::NonZeroUsize::new(2)),
    )
    .expect("bind")
    .with_faults(faults(specs, 0))
    .expect("faults")
    .spawn()
    .expect("spawn")
}

/// A client whose every wait is `timeout`; a datagram client (`resends` given) sends again
/// that many times.
pub fn client<T: Transport>(
    transport: T,
    addr: T::Addr,
    timeout: Duration,
    resends: Option<u32>,
) -> EchoClient<T> {
    let mut options = Options::new()
        .with_read_timeout(Some(timeout))
        .with_write_timeout(Some(timeout));
    if let Some(resends) = resends {
        options = options.with_resends(resends);
    }
    EchoClient::connect_on_with(transport, addr, options).expect("connect")
}

/// Generates, for each listed generic `fn name<T: Transport>(transport: T, addr: &str)`, a
/// module with one test per stream transport: `tcp` and `unix`.
#[macro_export]
macro_rules! for_streams {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn tcp() {
                    super::$name(socket_echo::Tcp, "127.0.0.1:0");
                }

                #[test]
                fn unix() {
                    super::$name(socket_echo::Unix, &$crate::faults_support::unix_name());
                }
            }
        )*
    };
}

/// Generates, for each listed generic `fn name<T: Transport>(transport: T, addr: &str)`, a
/// module with one test per datagram transport: `udp` and `unixgram`.
#[macro_export]
macro_rules! for_datagrams {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn udp() {
                    super::$name(socket_echo::Udp, "127.0.0.1:0");
                }

                #[test]
                fn unixgram() {
                    super::$name(socket_echo::UnixDatagram, &$crate::faults_support::unix_name());
                }
            }
        )*
    };
}
