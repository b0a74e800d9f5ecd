//! `echo-probe <server> <tcp|tls> <count> [strace|perf]`: a fixed count of echoes against a
//! fresh `peer-server`, for the measures that do not depend on the machine's load: what the
//! server spends per echoed message, not how fast the run went.
//!
//! It starts `peer-server <server> <tcp|tls> 127.0.0.1:0` (for TLS with a fresh self-signed
//! identity, as the `peers` harness does), opens the connections of the workload and makes
//! 2,000 echoes on them first (handshakes, the threads, the first allocations), then runs
//! exactly `count` more on a second set of connections, and prints the server's CPU time
//! (user + system, /proc/<pid>/stat) and context switches (voluntary and not, summed over its
//! threads from /proc/<pid>/task/*/status) per echoed message. With `strace` it attaches
//! `strace -f -c` to every thread of the server for the counted run and prints its table
//! (system calls per message: divide by `count`); with `perf`, `perf stat -e $EVENTS`
//! (default `task-clock,context-switches`), for instance uprobes on malloc and free.
//!
//! The workload is `$MODE`: `many` (default: 50 connections of 512-byte messages on 2 client
//! threads, tcp-50 / tls-50), `bulk` (one connection, 64 KiB writes both ways; `count` is in
//! bytes) or `hs` (TLS only: a new connection and full handshake per 64-byte message, 50
//! client threads, as tls-hs). The connection opens of the counted run are in its counts:
//! 50 handshakes, against the `count` echoes.
//!
//! ```sh
//! cargo build --release -p socket-echo-bench --features tls --bin echo-probe --bin peer-server
//! target/release/echo-probe ours tls 20000 strace
//! target/release/echo-probe tokio-rustls tls 20000 strace
//! MODE=hs target/release/echo-probe ours tls 2000 strace
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use socket_echo_bench::child::cpu_time;
use socket_echo_bench::load::{self, Limits, Outcome};

const USAGE: &str = "usage: echo-probe <server> <tcp|tls> <count> [strace|perf]";

/// Voluntary and involuntary context switches of every thread of `pid` so far.
fn context_switches(pid: u32) -> Result<(u64, u64), String> {
    let (mut voluntary, mut involuntary) = (0, 0);
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            let count = |rest: &str| rest.trim().parse::<u64>().unwrap_or(0);
            if let Some(rest) = line.strip_prefix("voluntary_ctxt_switches:") {
                voluntary += count(rest);
            } else if let Some(rest) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
                involuntary += count(rest);
            }
        }
    }
    Ok((voluntary, involuntary))
}

/// Starts the tracer `tool` on server `pid`, writing its summary to `out`.
fn trace(tool: &str, pid: u32, out: &str) -> Result<Option<Child>, String> {
    let mut command = match tool {
        "strace" => {
            let mut command = Command::new("strace");
            command.args(["-f", "-c", "-o", out]);
            let tasks =
                std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
            for task in tasks.flatten() {
                command.arg("-p").arg(task.file_name());
            }
            command
        }
        "perf" => {
            let events = std::env::var("EVENTS")
                .unwrap_or_else(|_| "task-clock,context-switches".to_string());
            let mut command = Command::new("perf");
            command.args(["stat", "-e", &events, "-o", out, "-p", &pid.to_string()]);
            command
        }
        "" => return Ok(None),
        other => return Err(format!("unknown tool {other}\n{USAGE}")),
    };
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {tool}: {e}"))?;
    // Both attach in well under a second; the counted run must not start before.
    std::thread::sleep(Duration::from_millis(1500));
    Ok(Some(child))
}

fn run(args: &[String]) -> Result<(), String> {
    let [server, proto, count, rest @ ..] = args else {
        return Err(USAGE.to_string());
    };
    let count: u64 = count.parse().map_err(|e| format!("count: {e}\n{USAGE}"))?;
    let tool = rest.first().map_or("", String::as_str);
    let mode = std::env::var("MODE").unwrap_or_else(|_| "many".to_string());
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let identity = socket_echo_bench::tls::IdentityDir::new().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe.with_file_name("peer-server"));
    if proto == "tls" {
        command.arg("--tls").arg(identity.path());
    }
    let mut child = command
        .args([server.as_str(), proto.as_str(), "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting peer-server: {e}"))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let addr: SocketAddr = line
        .trim()
        .parse()
        .map_err(|e| format!("peer-server printed {line:?}: {e}"))?;
    let pid = child.id();
    let client = identity.client(addr.ip()).map_err(|e| e.to_string())?;
    let workload = |limits: Limits| -> Result<Outcome, String> {
        let out = match (proto.as_str(), mode.as_str()) {
            ("tls", "many") => load::tls_many(&client, addr, 50, 512, 2, limits),
            ("tls", "bulk") => load::tls_bulk(&client, addr, 64 * 1024, limits),
            ("tls", "hs") => load::tls_hs(&client, addr, 50, 64, limits),
            ("tcp", "many") => load::tcp_many(addr, 50, 512, 2, limits),
            ("tcp", "bulk") => load::bulk(addr, 64 * 1024, limits),
            _ => return Err(format!("no workload {mode} over {proto}\n{USAGE}")),
        };
        out.map_err(|e| e.to_string())
    };
    workload(Limits::count(2000))?;
    let out_file = format!(
        "/tmp/echo-probe-{}-{server}-{proto}-{mode}.txt",
        std::process::id()
    );
    let mut tracer = trace(tool, pid, &out_file)?;
    let proc_err = |e: std::io::Error| format!("reading /proc/{pid}: {e}");
    let cpu_before = cpu_time(pid).map_err(proc_err)?;
    let (voluntary_before, involuntary_before) = context_switches(pid)?;
    let out = workload(Limits::count(count))?;
    let cpu_after = cpu_time(pid).map_err(proc_err)?;
    let (voluntary_after, involuntary_after) = context_switches(pid)?;
    if let Some(tracer) = tracer.as_mut() {
        // Both print their summary when interrupted.
        let _ = Command::new("kill")
            .args(["-INT", &tracer.id().to_string()])
            .status();
        let _ = tracer.wait();
    }
    let messages = out.messages.max(1) as f64;
    println!(
        "{server} {proto} {mode}: {} messages in {:.2} s ({:.0}/s, p50 {:.0} µs, p99 {:.0} µs); \
         server CPU {:.2} µs/msg, context switches/msg {:.3} voluntary, {:.3} involuntary",
        out.messages,
        out.elapsed.as_secs_f64(),
        out.rate(),
        out.rtt_micros(0.5),
        out.rtt_micros(0.99),
        (cpu_after - cpu_before).as_secs_f64() * 1e6 / messages,
        (voluntary_after - voluntary_before) as f64 / messages,
        (involuntary_after - involuntary_before) as f64 / messages,
    );
    if tracer.is_some() {
        let summary = std::fs::read_to_string(&out_file).unwrap_or_default();
        let _ = std::fs::remove_file(&out_file);
        println!("{summary}");
    }
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("echo-probe: {message}");
            ExitCode::from(2)
        }
    }
}
