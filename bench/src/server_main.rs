//! The `peer-server` command: one peer server in the foreground of its process.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;

use crate::child::raise_file_limit;
use crate::peers::{self, Kind, Proto};

/// The usage line.
pub const USAGE: &str = "usage: peer-server <raw|naive|tokio|epoll|uring|ours> <tcp|udp> <addr>\n       \
                         peer-server <epoll|ours> <unix|unixgram> <path>\n       \
                         peer-server --tls <dir> <tokio-rustls|ours> tls <addr>";

/// Where to bind: an IP address for TCP and UDP, a path for the Unix transports, an IP
/// address and the directory of a certificate and key for TLS.
enum Bind {
    Ip(SocketAddr),
    Path(PathBuf),
    Tls(SocketAddr, PathBuf),
}

fn parse(args: &[String]) -> Result<(Kind, Proto, Bind), String> {
    let (identity, args) = match args {
        [flag, dir, rest @ ..] if flag == "--tls" => (Some(PathBuf::from(dir)), rest),
        _ => (None, args),
    };
    let [kind, proto, addr] = args else {
        return Err(USAGE.to_string());
    };
    let kind = kind.parse::<Kind>()?;
    let proto = proto.parse::<Proto>()?;
    let ip = || -> Result<SocketAddr, String> {
        addr.parse()
            .map_err(|e| format!("bad address `{addr}`: {e}"))
    };
    let bind = match (proto, identity) {
        (Proto::Tls, Some(dir)) => Bind::Tls(ip()?, dir),
        (Proto::Tls, None) => return Err(format!("tls needs `--tls <dir>`\n{USAGE}")),
        (_, Some(_)) => return Err(format!("`--tls` is for tls only\n{USAGE}")),
        (proto, None) if proto.is_unix() => Bind::Path(PathBuf::from(addr)),
        (_, None) => Bind::Ip(ip()?),
    };
    Ok((kind, proto, bind))
}

/// Runs `peer-server <kind> <tcp|udp> <addr>`, `peer-server <kind> <unix|unixgram> <path>` or
/// `peer-server --tls <dir> <kind> tls <addr>` with `args` (the program name excluded): binds,
/// prints the bound address (or the path) on a line of stdout, and serves until killed or
/// until stdin closes.
pub fn run(args: &[String]) -> ExitCode {
    let (kind, proto, bind) = match parse(args) {
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
    let print = |bound: &dyn Display| {
        let mut stdout = io::stdout();
        let _ = writeln!(stdout, "{bound}");
        let _ = stdout.flush();
    };
    let result = match &bind {
        Bind::Ip(addr) => peers::serve(kind, proto, *addr, |bound| print(&bound)),
        Bind::Path(path) => peers::serve_unix(kind, proto, path, |bound| print(&bound.display())),
        Bind::Tls(addr, dir) => peers::serve_tls(kind, *addr, dir, |bound| print(&bound)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let at = args.last().map_or("", String::as_str);
            eprintln!("peer-server: {kind} {} on {at}: {e}", proto.name());
            ExitCode::FAILURE
        }
    }
}
