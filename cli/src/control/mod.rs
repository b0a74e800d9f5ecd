//! `serve --control ADDR`: an HTTP/1.1 endpoint that reads the statistics (`/stats`,
//! `/metrics`) and reads and changes the faults (`/faults`) of the servers while they run,
//! so that a test written in any language can drive them (docs/cli.md).
//!
//! It listens on loopback or a Unix socket path only, unless `--control-allow-remote`
//! says otherwise. Each connection gets a thread of its own, at most [`MAX_CLIENTS`] at
//! once, and one request under the deadline and caps of `http`; the echo servers never wait
//! for it. This and `ctl` are the only sockets the tool opens without the library: HTTP is
//! not the library's business.

mod http;
mod metrics;
mod routes;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

pub use routes::State;

use crate::flags::Failure;
use http::{Conn, Response, Unread};

/// The most connections served at once; more get a 503 at once.
pub const MAX_CLIENTS: usize = 16;

/// Where the endpoint listens, as given to `--control`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `HOST:PORT` or `http://HOST:PORT`.
    Tcp(String),
    /// `unix:PATH`.
    Unix(PathBuf),
}

impl Place {
    /// Reads `--control` (and `ctl`'s address): `HOST:PORT`, `http://HOST:PORT[/]` or
    /// `unix:PATH`.
    pub fn parse(text: &str) -> Result<Place, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() || path.starts_with('@') {
                return Err(format!(
                    "{text:?}: the control endpoint takes a Unix socket path (unix:/run/echo.ctl)"
                ));
            }
            return Ok(Place::Unix(PathBuf::from(path)));
        }
        let host_port = text.strip_prefix("http://").unwrap_or(text);
        let host_port = host_port.strip_suffix('/').unwrap_or(host_port);
        if host_port.contains('/') || !host_port.contains(':') {
            return Err(format!(
                "{text:?} is not HOST:PORT, http://HOST:PORT or unix:PATH"
            ));
        }
        Ok(Place::Tcp(host_port.to_owned()))
    }
}

/// A running control endpoint; stops accepting, and removes its socket file, when dropped.
pub struct Control {
    /// Where it listens, as printed: `http://127.0.0.1:PORT` or `unix:PATH`.
    address: String,
    stop: Arc<AtomicBool>,
    wake: Wake,
}

/// How the accept loop is woken to see the stop flag: a connection to itself.
enum Wake {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Control {
    /// Binds `place` and starts serving `state` on a thread of its own. A place off
    /// loopback is refused unless `allow_remote`, and then warned about.
    pub fn start(place: &Place, allow_remote: bool, state: State) -> Result<Control, Failure> {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(state);
        let (address, wake) = match place {
            Place::Tcp(host_port) => {
                let listener = bind_tcp(host_port, allow_remote)?;
                let local = listener.local_addr().map_err(|error| {
                    Failure::failed("bind", format!("--control {host_port}: {error}"))
                })?;
                spawn_accept(listener, Arc::clone(&stop), state);
                (format!("http://{local}"), Wake::Tcp(loopback_of(local)))
            }
            Place::Unix(path) => {
                let listener = bind_unix(path)?;
                spawn_accept(listener, Arc::clone(&stop), state);
                (format!("unix:{}", path.display()), Wake::Unix(path.clone()))
            }
        };
        Ok(Control {
            address,
            stop,
            wake,
        })
    }

    /// Where it listens: `http://127.0.0.1:PORT` or `unix:PATH`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        match &self.wake {
            Wake::Tcp(addr) => {
                let _ = TcpStream::connect(addr);
            }
            Wake::Unix(path) => {
                let _ = UnixStream::connect(path);
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// The address a connection to itself goes to: loopback where it listens on every address.
fn loopback_of(mut local: SocketAddr) -> SocketAddr {
    if local.ip().is_unspecified() {
        local.set_ip(match local {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    local
}

fn bind_tcp(host_port: &str, allow_remote: bool) -> Result<TcpListener, Failure> {
    let addrs: Vec<SocketAddr> = host_port
        .to_socket_addrs()
        .map_err(|error| Failure::failed("resolve", format!("--control {host_port}: {error}")))?
        .collect();
    let Some(&first) = addrs.first() else {
        return Err(Failure::failed(
            "resolve",
            format!("--control {host_port}: resolves to no address"),
        ));
    };
    if !first.ip().is_loopback() {
        if !allow_remote {
            return Err(Failure::usage(format!(
                "--control {host_port}: {} is not a loopback address; anyone who reaches it \
                 could change the faults. Use 127.0.0.1, [::1] or unix:PATH, or add \
                 --control-allow-remote if you mean it",
                first.ip()
            )));
        }
        log::warn!(
            "WARNING: the control endpoint on {first} is reachable from other machines, with \
             no authentication: anyone who reaches it can read the statistics and change the \
             faults"
        );
    }
    TcpListener::bind(first).map_err(|error| bind_failed(&format!("--control {first}"), &error))
}

/// A failed bind, of the kind `--json`'s `error_kind` gives it (docs/cli.md).
fn bind_failed(what: &str, error: &io::Error) -> Failure {
    let kind = match error.kind() {
        io::ErrorKind::AddrInUse => "address_in_use",
        io::ErrorKind::PermissionDenied => "permission_denied",
        _ => "bind",
    };
    Failure::failed(kind, format!("{what}: {error}"))
}

/// Binds a Unix socket path, readable and writable by its owner only; a stale socket file
/// (nobody listening) is replaced, a live one or another kind of file refused.
fn bind_unix(path: &Path) -> Result<UnixListener, Failure> {
    let failed =
        |error: io::Error| bind_failed(&format!("--control unix:{}", path.display()), &error);
    let listener = match UnixListener::bind(path) {
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
            let is_socket = std::fs::symlink_metadata(path)
                .map(|meta| meta.file_type().is_socket())
                .unwrap_or(false);
            if !is_socket || UnixStream::connect(path).is_ok() {
                return Err(failed(error));
            }
            std::fs::remove_file(path).map_err(failed)?;
            UnixListener::bind(path).map_err(failed)?
        }
        other => other.map_err(failed)?,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    Ok(listener)
}

/// A listener of either kind.
trait Accept: Send + 'static {
    type Conn: Conn + Send + 'static;
    fn accept_one(&self) -> io::Result<Self::Conn>;
}

impl Accept for TcpListener {
    type Conn = TcpStream;
    fn accept_one(&self) -> io::Result<TcpStream> {
        self.accept().map(|(conn, _)| conn)
    }
}

impl Accept for UnixListener {
    type Conn = UnixStream;
    fn accept_one(&self) -> io::Result<UnixStream> {
        self.accept().map(|(conn, _)| conn)
    }
}

/// Accepts until `stop`, each connection on a thread of its own.
fn spawn_accept<L: Accept>(listener: L, stop: Arc<AtomicBool>, state: Arc<State>) {
    let clients = Arc::new(AtomicUsize::new(0));
    let spawned = thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            let mut failures = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut conn = match listener.accept_one() {
                    Ok(conn) => conn,
                    Err(error) => {
                        // Out of descriptors, an aborted connection: never the end of the
                        // endpoint, but no busy loop either.
                        failures += 1;
                        if failures.is_power_of_two() {
                            log::warn!("control endpoint: accept failed ({error})");
                        }
                        thread::sleep(std::time::Duration::from_millis(10));
                        continue;
                    }
                };
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let start = Instant::now();
                if clients.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
                    clients.fetch_sub(1, Ordering::AcqRel);
                    let busy = Response::error(503, "too many control connections at once");
                    http::respond_at_once(&mut conn, &busy);
                    continue;
                }
                let done = Arc::clone(&clients);
                let state = Arc::clone(&state);
                let served =
                    thread::Builder::new()
                        .name("control client".into())
                        .spawn(move || {
                            serve_one(&mut conn, &state, start);
                            done.fetch_sub(1, Ordering::AcqRel);
                        });
                if let Err(error) = served {
                    clients.fetch_sub(1, Ordering::AcqRel);
                    log::warn!("control endpoint: no thread for a client ({error})");
                }
            }
        });
    if let Err(error) = spawned {
        log::error!("control endpoint: no thread to accept on ({error})");
    }
}

/// Reads one request and answers it.
fn serve_one(conn: &mut impl Conn, state: &State, start: Instant) {
    let response = match http::read_request(conn, start) {
        Ok(request) => {
            let response = routes::handle(&request, state);
            log::debug!(
                "control: {} {} -> {}",
                request.method,
                request.path,
                response.status
            );
            response
        }
        Err(Unread::Answer(response)) => response,
        Err(Unread::Gone) => return,
    };
    http::respond(conn, &response);
}
