//! `socket-echo serve`: the library's `EchoServer::serve()` on one or more addresses, with
//! every limit and the main socket options as flags, one set of statistics, and a graceful
//! stop on SIGINT or SIGTERM.
//!
//! The flags and what they make are in `args`, the report of the statistics in `report`;
//! this file runs the servers.

use std::net::ToSocketAddrs;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use socket_echo::{
    Certificate, EchoServer, Endpoint, EndpointVisitor, Faults, Options, Stats, ToAddrs, Transport,
};

use crate::Exit;
use crate::control::{self, Control};
use crate::flags::{self, Failure};
use crate::json::ErrorJson;
use crate::out::Out;
use crate::running::{self, Running, Served, Wake, fault_kind, takes};

mod args;
mod report;

pub use args::Args;
use report::{announce, print_stats, sum};

/// Whether an IP endpoint names IPv4 addresses only.
fn is_ipv4(endpoint: &Endpoint) -> bool {
    let (Endpoint::Tcp(address) | Endpoint::Udp(address)) = endpoint else {
        return false;
    };
    match address.to_socket_addrs() {
        Ok(mut addrs) => addrs.all(|addr| addr.is_ipv4()),
        // Left to the bind, which names what is wrong with it.
        Err(_) => false,
    }
}

/// Binds and starts a server over any transport: the server, and the certificate it
/// presents if it speaks TLS.
struct Spawn {
    options: Options,
    faults: Faults,
}

impl EndpointVisitor for Spawn {
    type Output = socket_echo::Result<(Box<dyn Running>, Option<Certificate>)>;

    fn visit<T: Transport, A: ToAddrs<T> + Clone>(self, transport: T, address: A) -> Self::Output {
        let mut server = EchoServer::bind_on_with(transport, address, self.options)?;
        if !self.faults.is_empty() {
            server = server.with_faults(self.faults)?;
        }
        let certificate = server.tls_certificate().cloned();
        Ok((Box::new(Served::new(server.spawn()?)), certificate))
    }
}

/// How often a graceful shutdown looks whether every server has stopped, while it waits
/// for a second signal.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);

pub fn run(args: &Args) -> Result<Exit, Failure> {
    let mut endpoints = Vec::new();
    for address in &args.addresses {
        endpoints.push(flags::endpoint(address, args.udp).map_err(|f| f.at(address))?);
    }
    for fault in &args.faults {
        let fits = endpoints
            .iter()
            .any(|endpoint| takes(endpoint.transport(), fault));
        if !fits {
            return Err(Failure::usage(format!(
                "--fault {fault}: a {} fault applies to none of these addresses",
                fault_kind(fault)
            )));
        }
    }
    for (flag, option) in args.given() {
        let applies = |endpoint: &Endpoint| Options::applies_to(option, endpoint.transport());
        if !endpoints.iter().any(applies) {
            let transports: Vec<&str> = endpoints.iter().map(Endpoint::transport).collect();
            return Err(Failure::usage(format!(
                "{flag} does not apply to {}: nothing would use it",
                transports.join(", ")
            )));
        }
    }
    if args.dual_stack
        && let Some(ipv4) = endpoints.iter().find(|endpoint| is_ipv4(endpoint))
    {
        return Err(Failure::usage(format!(
            "--dual-stack lets an IPv6 socket take IPv4 clients too: {ipv4} is IPv4 \
             (bind [::]:PORT instead)"
        ))
        .at(ipv4.to_string()));
    }
    let tls = args.tls()?;
    let mut servers: Vec<Box<dyn Running>> = Vec::new();
    let mut certificates = Vec::new();
    for (endpoint, address) in endpoints.iter().zip(&args.addresses) {
        match endpoint.visit(Spawn {
            options: args.options(endpoint, tls.as_ref()),
            faults: args.faults(endpoint),
        }) {
            Ok((server, certificate)) => {
                certificates.push(certificate);
                servers.push(server);
            }
            Err(error) => {
                // The servers already started stop when dropped.
                return Err(flags::failed(&error).at(address));
            }
        }
    }
    // Written before the addresses are printed, so whoever reads them finds the file.
    if let Some(path) = &args.cert_out {
        report::write_certificates(path, certificates.iter().flatten())?;
    }
    let servers: Arc<[Box<dyn Running>]> = servers.into();
    let start = Instant::now();
    let control = match &args.control {
        Some(place) => {
            let state = control::State {
                servers: Arc::clone(&servers),
                seed: args.seed.unwrap_or(0),
                start,
            };
            Some(Control::start(place, args.control_allow_remote, state)?)
        }
        None => None,
    };
    // The signal handler only wakes the main thread, which does the shutdown. It is in place
    // before the addresses are printed, so a SIGTERM sent by whoever read them stops the
    // servers gracefully rather than killing the process.
    let (stop, stopped) = mpsc::channel();
    if let Err(error) = ctrlc::set_handler(move || {
        let _ = stop.send(());
    }) {
        log::warn!("no Ctrl-C handler ({error}); stop the server with SIGKILL");
    }
    // From here on standard output may close (`| head`): the servers go on regardless.
    let mut out = Out::new();
    for (server, certificate) in servers.iter().zip(&certificates) {
        announce(
            &mut out,
            args.json,
            "listening",
            server.address(),
            certificate.as_ref(),
        );
    }
    if let Some(control) = &control {
        announce(&mut out, args.json, "control", control.address(), None);
    }
    if !args.faults.is_empty() {
        let specs: Vec<String> = args.faults.iter().map(ToString::to_string).collect();
        log::info!(
            "injecting faults: {} (seed {})",
            specs.join("; "),
            args.seed.unwrap_or(0)
        );
    }
    log::info!("Ctrl-C or SIGTERM stops the server");

    let wake = running::wait(&servers, &stopped, args.stats_every.0, || {
        let stats = sum(&servers);
        print_stats(&mut out, args.json, "stats", start.elapsed(), &stats);
    });
    match wake {
        Wake::Signal => log::info!("shutting down (Ctrl-C or SIGTERM again exits at once)"),
        Wake::Finished => log::error!("a server stopped by itself: shutting down the others"),
    }
    drop(control);
    for server in servers.iter() {
        server.shutdown();
    }
    // A second signal during the grace exits at once, as servers commonly do: the
    // statistics so far are printed, and the connections still open are closed by the
    // system as the process ends.
    while !servers.iter().all(|server| server.is_finished()) {
        match stopped.recv_timeout(SHUTDOWN_POLL) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            // No signal handler: nothing can come; wait for the servers.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(()) => {}
        }
        let stats = sum(&servers);
        let open = stats.active;
        log::warn!(
            "stopped again: exiting without waiting for {open} connection{}",
            if open == 1 { "" } else { "s" }
        );
        print_stats(&mut out, args.json, "stopped", start.elapsed(), &stats);
        std::process::exit(1);
    }
    let mut total = Stats::default();
    let mut exit = Exit::Success;
    for server in servers.iter() {
        let address = server.address();
        match server.join() {
            Ok(stats) => total += stats,
            Err(error) => {
                let mut failure = flags::failed(&error);
                failure.message = format!("the server on {address} failed: {}", failure.message);
                failure.log();
                if args.json {
                    out.line(ErrorJson::new("serve", Some(address), &failure).line());
                }
                exit = failure.exit;
            }
        }
    }
    print_stats(&mut out, args.json, "stopped", start.elapsed(), &total);
    Ok(exit)
}
