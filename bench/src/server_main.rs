//! The `peer-server` command: one peer server in the foreground of its process.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::thread;

use crate::child::raise_file_limit;
use crate::peers::{self, Kind, Proto};

/// The usage line.
pub const USAGE: &str = "usage: peer-server <raw|naive|tokio|epoll|ours> <tcp|udp> <addr>";

/// Runs `peer-server <kind> <tcp|udp> <addr>` with `args` (the program name excluded):
/// binds, prints the bound address on a line of stdout, and serves until killed or until
/// stdin closes.
pub fn run(args: &[String]) -> ExitCode {
    let parsed = match args {
        [kind, proto, addr] => kind
            .parse::<Kind>()
            .and_then(|kind| Ok((kind, proto.parse::<Proto>()?)))
            .and_then(|(kind, proto)| {
                let addr = addr
                    .parse::<SocketAddr>()
                    .map_err(|e| format!("bad address `{addr}`: {e}"))?;
                Ok((kind, proto, addr))
            }),
        _ => Err(USAGE.to_string()),
    };
    let (kind, proto, addr) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("peer-server: {message}");
            return ExitCode::from(2);
        }
    };
    // Best effort: the idle workload needs more than the default 1024 descriptors.
    let _ = raise_file_limit();
    // The harness holds our stdin: when it goes away, so do we.
    thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    let result = peers::serve(kind, proto, addr, |bound| {
        let mut stdout = io::stdout();
        let _ = writeln!(stdout, "{bound}");
        let _ = stdout.flush();
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peer-server: {kind} {} on {addr}: {e}", proto.name());
            ExitCode::FAILURE
        }
    }
}
