//! `peer-server <raw|naive|tokio|epoll|uring|ours> <tcp|udp> <addr>`: runs one of the compared
//! servers, prints the address it bound on stdout, and serves until killed or until its
//! stdin closes. `peer-server <epoll|ours> <unix|unixgram> <path>` does the same over a Unix
//! socket at `path` (which it prints), and leaves the socket file behind.
//!
//! ```sh
//! cargo run --release -p socket-echo-bench --bin peer-server -- epoll tcp 127.0.0.1:0
//! cargo run --release -p socket-echo-bench --bin peer-server -- epoll unix /tmp/echo.sock
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    socket_echo_bench::server_main::run(&args)
}
