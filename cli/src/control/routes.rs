//! What each route of the control endpoint does: `/stats`, `/metrics` and `/faults`, over
//! the servers `serve` runs.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use socket_echo::{Down, Faults};

use super::http::{Request, Response};
use super::metrics;
use crate::flags;
use crate::running::Running;
use crate::stats_line::StatsLine;

/// What the routes read and change.
pub struct State {
    pub servers: Arc<[Box<dyn Running>]>,
    /// The seed of faults set without `?seed=` (`serve --seed`).
    pub seed: u64,
    /// When the servers started, for `elapsed_ms`.
    pub start: Instant,
}

/// The routes and what each takes, as a 404 lists them.
const ROUTES: &str =
    "GET /stats, GET /metrics, GET|PUT|DELETE /faults, GET /down, POST /down, POST /up";

/// The answer to `request`.
pub fn handle(request: &Request, state: &State) -> Response {
    let allow = match request.path.as_str() {
        "/stats" | "/metrics" => "GET",
        "/faults" => "GET, PUT, DELETE",
        "/down" => "GET, POST",
        "/up" => "POST",
        other => {
            return Response::error(404, format!("no route {other:?}: the routes are {ROUTES}"));
        }
    };
    let answer = match (request.path.as_str(), request.method.as_str()) {
        ("/stats", "GET") => stats(request, state),
        ("/metrics", "GET") => params(request, &[]).map(|()| {
            let text = metrics::render(&state.servers, state.start.elapsed());
            Response::new(200, metrics::CONTENT_TYPE, text)
        }),
        ("/faults", "GET") => params(request, &["address"])
            .and_then(|()| selected(request, state))
            .map(|servers| faults_of(&servers)),
        ("/faults", "PUT") => put_faults(request, state),
        ("/faults", "DELETE") => delete_faults(request, state),
        ("/down", "GET") => params(request, &["address"])
            .and_then(|()| selected(request, state))
            .map(|servers| availability_of(&servers)),
        ("/down", "POST") => down(request, state),
        ("/up", "POST") => up(request, state),
        (path, method) => Err(Response {
            allow: Some(allow),
            ..Response::error(405, format!("{path} takes {allow}, not {method}"))
        }),
    };
    answer.unwrap_or_else(|refused| refused)
}

/// Refuses a query parameter the route does not take (a typo would otherwise be ignored).
fn params(request: &Request, known: &[&str]) -> Result<(), Response> {
    for (key, _) in &request.query {
        if !known.contains(&key.as_str()) {
            let takes = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(Response::error(
                400,
                format!("unknown parameter {key:?} (this route takes: {takes})"),
            ));
        }
    }
    Ok(())
}

fn param<'a>(request: &'a Request, key: &str) -> Option<&'a str> {
    request
        .query
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

/// The servers `?address=` names (written as `serve` printed it), or all of them.
fn selected<'a>(request: &Request, state: &'a State) -> Result<Vec<&'a dyn Running>, Response> {
    let all = state.servers.iter().map(AsRef::as_ref);
    let Some(wanted) = param(request, "address") else {
        return Ok(all.collect());
    };
    let wanted = wanted.strip_prefix("tcp://").unwrap_or(wanted);
    let chosen: Vec<&dyn Running> = all.filter(|s| s.address() == wanted).collect();
    if chosen.is_empty() {
        let known: Vec<&str> = state.servers.iter().map(|s| s.address()).collect();
        return Err(Response::error(
            404,
            format!(
                "no server on {wanted:?}: the addresses are {}",
                known.join(", ")
            ),
        ));
    }
    Ok(chosen)
}

/// `GET /stats[?address=A]`: the object `serve --stats-every --json` prints, summed over the
/// servers chosen.
fn stats(request: &Request, state: &State) -> Result<Response, Response> {
    params(request, &["address"])?;
    let servers = selected(request, state)?;
    let mut total = socket_echo::Stats::default();
    for server in servers {
        total += server.stats();
    }
    let line = StatsLine::new("stats", state.start.elapsed(), &total);
    Ok(Response::json(200, &line))
}

/// The faults of one server, as `/faults` answers them.
#[derive(Serialize)]
struct FaultsOf {
    address: String,
    /// One SPEC per fault, as `--fault` takes them.
    specs: Vec<String>,
    seed: u64,
}

#[derive(Serialize)]
struct FaultsBody {
    faults: Vec<FaultsOf>,
}

fn faults_of(servers: &[&dyn Running]) -> Response {
    let faults = servers
        .iter()
        .map(|server| {
            let faults = server.faults();
            FaultsOf {
                address: server.address().to_owned(),
                specs: faults.faults().iter().map(ToString::to_string).collect(),
                seed: faults.seed(),
            }
        })
        .collect();
    Response::json(200, &FaultsBody { faults })
}

/// `PUT /faults[?address=A][&seed=N]`: the body's SPECs (separated by `;` or new lines)
/// replace the faults in force: of the one server named, or of every server, each taking
/// the faults of its kind (as `serve --fault` gives them). Nothing changes unless every
/// server takes its faults.
fn put_faults(request: &Request, state: &State) -> Result<Response, Response> {
    params(request, &["address", "seed"])?;
    let servers = selected(request, state)?;
    let seed = match param(request, "seed") {
        None => state.seed,
        Some(text) => text
            .parse()
            .map_err(|_| Response::error(400, format!("seed {text:?} is not a whole number")))?,
    };
    let text = std::str::from_utf8(&request.body)
        .map_err(|_| Response::error(400, "the body is not UTF-8 text"))?;
    let parsed: Faults = text
        .replace(['\n', '\r'], ";")
        .parse()
        .map_err(|error: socket_echo::Error| Response::error(400, flags::report(&error)))?;
    if parsed.is_empty() {
        return Err(Response::error(
            400,
            "no SPEC in the body (DELETE /faults clears the faults)",
        ));
    }
    let one = param(request, "address").is_some();
    let mut plans = Vec::new();
    for server in &servers {
        // For one server named, every fault must fit it: `check` says why one does not.
        let chosen = parsed
            .faults()
            .iter()
            .filter(|fault| one || server.takes(fault))
            .cloned();
        let faults = chosen.fold(Faults::new().with_seed(seed), Faults::with);
        server
            .check_faults(&faults)
            .map_err(|error| Response::error(400, flags::report(&error)))?;
        plans.push((*server, faults));
    }
    for fault in parsed.faults() {
        if !servers.iter().any(|server| server.takes(fault)) {
            return Err(Response::error(
                400,
                format!("`{fault}` applies to none of the addresses"),
            ));
        }
    }
    for (server, faults) in &plans {
        server
            .set_faults(faults.clone())
            .map_err(|error| failed_on(*server, 500, &error))?;
    }
    Ok(faults_of(&servers))
}

/// `DELETE /faults[?address=A]`: the servers behave again.
fn delete_faults(request: &Request, state: &State) -> Result<Response, Response> {
    params(request, &["address"])?;
    let servers = selected(request, state)?;
    each(&servers, 500, |server| {
        server.set_faults(Faults::new().with_seed(state.seed))
    })?;
    Ok(faults_of(&servers))
}

/// Whether each server is down, as `/down` and `/up` answer.
#[derive(Serialize)]
struct DownOf {
    address: String,
    down: bool,
}

#[derive(Serialize)]
struct DownBody {
    servers: Vec<DownOf>,
}

fn availability_of(servers: &[&dyn Running]) -> Response {
    let servers = servers
        .iter()
        .map(|server| DownOf {
            address: server.address().to_owned(),
            down: server.is_down(),
        })
        .collect();
    Response::json(200, &DownBody { servers })
}

/// `POST /down[?address=A][&open=reset|keep]`: the servers chosen go down on their
/// addresses (`ServerHandle::down`): a stream server refuses connects, a datagram server
/// answers nothing; open connections are reset (the default) or kept.
fn down(request: &Request, state: &State) -> Result<Response, Response> {
    params(request, &["address", "open"])?;
    let open = match param(request, "open") {
        None | Some("reset") => Down::Reset,
        Some("keep") => Down::Keep,
        Some(other) => {
            return Err(Response::error(
                400,
                format!("open={other:?}: it takes `reset` or `keep`"),
            ));
        }
    };
    let servers = selected(request, state)?;
    each(&servers, 500, |server| server.down(open))?;
    Ok(availability_of(&servers))
}

/// `POST /up[?address=A]`: the servers chosen come back on the same addresses; an address
/// taken meanwhile is a `409` naming it, and that server stays down.
fn up(request: &Request, state: &State) -> Result<Response, Response> {
    params(request, &["address"])?;
    let servers = selected(request, state)?;
    each(&servers, 409, |server| server.up())?;
    Ok(availability_of(&servers))
}

/// Makes `change` on each of `servers` in turn; the first that fails stops the rest, and is
/// answered with `status`, naming its address.
fn each(
    servers: &[&dyn Running],
    status: u16,
    change: impl Fn(&dyn Running) -> socket_echo::Result<()>,
) -> Result<(), Response> {
    for server in servers {
        change(*server).map_err(|error| failed_on(*server, status, &error))?;
    }
    Ok(())
}

/// The answer when a change failed on `server`: `status`, and why, after its address.
fn failed_on(server: &dyn Running, status: u16, error: &socket_echo::Error) -> Response {
    Response::error(
        status,
        format!("{}: {}", server.address(), flags::report(error)),
    )
}
