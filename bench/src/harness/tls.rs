//! The TLS workloads: the shapes of tcp-lat, tcp-50 (with cpu), bulk and idle over TLS, and
//! tls-hs, a full handshake per message.
//!
//! One certificate and key serve the whole series (see [`crate::tls`]): every TLS server is
//! started with `--tls <dir>` before its name, and every client trusts that certificate only
//! and never resumes a session. The clients are rustls itself for both servers.

use super::{Config, Measure, Workload};
use crate::peers::Kind;

/// What the TLS runs of a series share: the identity directory, made once (when a TLS
/// workload is selected) and removed when the series ends.
pub(super) struct TlsRuns {
    #[cfg(feature = "tls")]
    identity: Option<Result<crate::tls::IdentityDir, String>>,
}

/// Idle TLS connections opened by tls-idle: fewer than idle-10k's 10,000, because each costs
/// a handshake made one after the other and a descriptor on each side.
#[cfg(feature = "tls")]
const IDLE_TLS_CONNS: usize = 5_000;

impl TlsRuns {
    /// Makes the identity if `workloads` has a TLS one.
    pub(super) fn new(workloads: &[Workload]) -> Self {
        let _ = workloads;
        TlsRuns {
            #[cfg(feature = "tls")]
            identity: workloads.iter().any(|w| w.is_tls()).then(|| {
                crate::tls::IdentityDir::new().map_err(|e| format!("making the certificate: {e}"))
            }),
        }
    }

    /// One run of TLS workload `run` against a fresh server `kind`.
    #[cfg(not(feature = "tls"))]
    pub(super) fn run_one(
        &self,
        _config: &Config,
        run: Workload,
        _kind: Kind,
    ) -> Result<Vec<Measure>, String> {
        Err(format!(
            "{run} needs the bench's `tls` feature (cargo run --release -p socket-echo-bench \
             --features tls --bin peers -- --only tls)"
        ))
    }

    /// One run of TLS workload `run` against a fresh server `kind`.
    #[cfg(feature = "tls")]
    pub(super) fn run_one(
        &self,
        config: &Config,
        run: Workload,
        kind: Kind,
    ) -> Result<Vec<Measure>, String> {
        use std::net::SocketAddr;
        use std::thread;
        use std::time::Duration;

        use super::{Better, error_chain, with_server_cpu};
        use crate::child::{ServerChild, rss_bytes};
        use crate::load::{self, Limits};

        use Better::{Higher, Lower};
        let identity = match &self.identity {
            Some(Ok(identity)) => identity,
            Some(Err(e)) => return Err(e.clone()),
            None => return Err(format!("{run}: no certificate was made for this series")),
        };
        let (program, args) = &config.server_program;
        let dir = identity.path().to_string_lossy().into_owned();
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--tls", &dir]);
        let bind = SocketAddr::new(config.ip, 0);
        let mut server = ServerChild::spawn(program, &args, kind, run.proto(), bind)
            .map_err(|e| format!("starting the server: {e}"))?;
        let addr = server.addr();
        let pid = server.pid();
        let client = identity
            .client(addr.ip())
            .map_err(|e| format!("the TLS client configuration: {e}"))?;
        let limits = Limits::secs(config.secs);
        let threads = config.client_threads;
        let err = error_chain;
        let measures = match run {
            Workload::TlsLat => {
                let out = load::tls_lat(&client, addr, 64, limits).map_err(err)?;
                vec![
                    (run, "p50 µs", Lower, out.rtt_micros(0.5)),
                    (run, "p99 µs", Lower, out.rtt_micros(0.99)),
                ]
            }
            Workload::Tls50 => {
                let (out, per_msg) = with_server_cpu(pid, || {
                    load::tls_many(&client, addr, 50, 512, threads, limits)
                })?;
                vec![
                    (run, "msgs/s", Higher, out.rate()),
                    (run, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
                    (run, "server CPU µs/msg", Lower, per_msg),
                ]
            }
            Workload::TlsBulk => {
                let out = load::tls_bulk(&client, addr, 64 * 1024, limits).map_err(err)?;
                vec![(run, "MB/s", Higher, out.megabytes_per_sec())]
            }
            Workload::TlsHs => {
                let (out, per_hs) =
                    with_server_cpu(pid, || load::tls_hs(&client, addr, 50, 64, limits))?;
                vec![
                    (run, "handshakes/s", Higher, out.rate()),
                    (run, "p99 ms", Lower, out.rtt_micros(0.99) / 1e3),
                    (run, "server CPU µs/handshake", Lower, per_hs),
                ]
            }
            Workload::TlsIdle => {
                let proc_err = |e: std::io::Error| format!("reading /proc/{pid}: {e}");
                let before = rss_bytes(pid).map_err(proc_err)?;
                let conns = load::tls_idle(&client, addr, IDLE_TLS_CONNS, 64).map_err(err)?;
                // Lets a server that frees or grows memory after the echo settle.
                thread::sleep(Duration::from_millis(200));
                let after = rss_bytes(pid).map_err(proc_err)?;
                drop(conns);
                let per_conn = (after as f64 - before as f64) / IDLE_TLS_CONNS as f64;
                vec![(run, "RSS bytes/conn", Lower, per_conn)]
            }
            other => return Err(format!("{other} is not a TLS workload")),
        };
        if !server.is_running() {
            return Err("the server exited during the run".to_string());
        }
        Ok(measures)
    }
}
