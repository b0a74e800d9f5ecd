//! The Unix socket workloads: the shapes of tcp-lat, tcp-50, bulk, udp-lat and udp-50, over
//! Unix stream and datagram sockets.
//!
//! Each run makes a fresh directory for its server's socket file, starts the server at a path
//! in it, and removes the directory (socket file included) once the server is gone, so no
//! run finds another's socket and none is left behind.

use super::{Better, Config, Measure, Workload, error_chain};
use crate::child::ServerChild;
use crate::load::{self, Limits};
use crate::peers::Kind;
use crate::socket_dir::SocketDir;

/// One run of Unix workload `run` against a fresh server `kind`.
pub(super) fn run_one(config: &Config, run: Workload, kind: Kind) -> Result<Vec<Measure>, String> {
    use Better::{Higher, Lower};
    let dir = SocketDir::new().map_err(|e| format!("making a socket directory: {e}"))?;
    let (program, args) = &config.server_program;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = ServerChild::spawn(program, &args, kind, run.proto(), dir.join("echo.sock"))
        .map_err(|e| format!("starting the server: {e}"))?;
    let path = server.path().to_path_buf();
    let limits = Limits::secs(config.secs);
    let threads = config.client_threads;
    let err = error_chain;
    let measures = match run {
        Workload::UnixLat => {
            let out = load::unix_lat(&path, 64, limits).map_err(err)?;
            vec![
                (run, "p50 µs", Lower, out.rtt_micros(0.5)),
                (run, "p99 µs", Lower, out.rtt_micros(0.99)),
            ]
        }
        Workload::Unix50 => {
            let out = load::unix_many(&path, 50, 512, threads, limits).map_err(err)?;
            vec![
                (run, "msgs/s", Higher, out.rate()),
                (run, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
            ]
        }
        Workload::UnixBulk => {
            let out = load::unix_bulk(&path, 64 * 1024, limits).map_err(err)?;
            vec![(run, "MB/s", Higher, out.megabytes_per_sec())]
        }
        Workload::UnixgramLat => {
            let out = load::unixgram_lat(&path, 64, limits).map_err(err)?;
            vec![
                (run, "p50 µs", Lower, out.rtt_micros(0.5)),
                (run, "p99 µs", Lower, out.rtt_micros(0.99)),
                (run, "lost", Lower, out.lost as f64),
            ]
        }
        Workload::Unixgram50 => {
            let out = load::unixgram_many(&path, 50, 512, threads, limits).map_err(err)?;
            vec![
                (run, "msgs/s", Higher, out.rate()),
                (run, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
                (run, "lost", Lower, out.lost as f64),
            ]
        }
        other => return Err(format!("{other} is not a Unix socket workload")),
    };
    if !server.is_running() {
        return Err("the server exited during the run".to_string());
    }
    // The server goes first, then its directory.
    drop(server);
    drop(dir);
    Ok(measures)
}
