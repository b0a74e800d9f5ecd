//! A server in a child process, and what /proc says about it.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::peers::{Kind, Proto};

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What a peer server is told to bind and prints back once bound: an IP address and port
/// (TCP, UDP), or the path of a Unix socket.
pub trait Endpoint: Sized {
    /// The server's command-line argument.
    fn to_arg(&self) -> OsString;

    /// The endpoint a line the server printed names, if it names one.
    fn from_line(line: &str) -> Option<Self>;
}

impl Endpoint for SocketAddr {
    fn to_arg(&self) -> OsString {
        self.to_string().into()
    }

    fn from_line(line: &str) -> Option<Self> {
        line.trim().parse().ok()
    }
}

impl Endpoint for PathBuf {
    fn to_arg(&self) -> OsString {
        self.clone().into_os_string()
    }

    fn from_line(line: &str) -> Option<Self> {
        let line = line.trim_end_matches('\n');
        (!line.is_empty()).then(|| PathBuf::from(line))
    }
}

/// A peer server running in its own process; killed when dropped. `A` is what it bound: a
/// [`SocketAddr`], or a [`PathBuf`] for a Unix socket.
#[derive(Debug)]
pub struct ServerChild<A = SocketAddr> {
    child: Child,
    // Held so that the child, which exits when its stdin closes, outlives no harness.
    _stdin: Option<ChildStdin>,
    addr: A,
}

impl<A: Endpoint> ServerChild<A> {
    /// Starts `program args.. <kind> <proto> <bind>` and waits for the address it prints.
    ///
    /// # Errors
    ///
    /// The program could not start, or exited (or printed something else, or nothing for
    /// ten seconds) before printing its address.
    pub fn spawn(
        program: &Path,
        args: &[&str],
        kind: Kind,
        proto: Proto,
        bind: A,
    ) -> io::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .args([kind.name(), proto.name()])
            .arg(bind.to_arg())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        // Read on a thread so that a server that neither prints nor exits cannot hang us.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let addr = match A::from_line(&line) {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                let status = child.wait()?;
                return Err(io::Error::other(format!(
                    "{kind} {} server did not start ({status}), printed {line:?}",
                    proto.name()
                )));
            }
        };
        Ok(ServerChild {
            child,
            _stdin: stdin,
            addr,
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl ServerChild<SocketAddr> {
    /// The address the server bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl ServerChild<PathBuf> {
    /// The path of the server's Unix socket.
    pub fn path(&self) -> &Path {
        &self.addr
    }
}

impl<A> Drop for ServerChild<A> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident set size of process `pid`, in bytes (VmRSS of /proc/<pid>/status).
///
/// # Errors
///
/// The file could not be read or has no VmRSS line.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// Clock ticks per second of the times in /proc/<pid>/stat: USER_HZ, which Linux fixes at
/// 100 for this interface on every architecture it exports it.
const USER_HZ: u64 = 100;

/// The CPU time (user + system, all threads, dead ones included) that process `pid` has
/// used so far, from fields 14 and 15 of /proc/<pid>/stat (10 ms resolution).
///
/// # Errors
///
/// The file could not be read or parsed.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces and parentheses: fields are counted from
    // the last ')'. After it come field 3 (state) onwards, so utime is the 12th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(sys)) => Ok(Duration::from_millis((user + sys) * 1000 / USER_HZ)),
        _ => Err(io::Error::other(format!("cannot parse /proc/{pid}/stat"))),
    }
}

/// CPU time (user + system) used so far by this process and its waited-for children, from
/// fields 14 to 17 of /proc/self/stat.
///
/// # Errors
///
/// The file could not be read or parsed.
pub fn own_cpu_time() -> io::Result<Duration> {
    let stat = fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if fields.len() != 4 {
        return Err(io::Error::other("cannot parse /proc/self/stat"));
    }
    Ok(Duration::from_millis(
        fields.iter().sum::<u64>() * 1000 / USER_HZ,
    ))
}

/// CPU time (everything but idle and iowait) that the whole machine has used since boot,
/// from the first line of /proc/stat.
///
/// # Errors
///
/// The file could not be read or parsed.
pub fn machine_cpu_time() -> io::Result<Duration> {
    let stat = fs::read_to_string("/proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if ticks.len() < 8 {
        return Err(io::Error::other("cannot parse /proc/stat"));
    }
    // user nice system idle iowait irq softirq steal: guest time is already in user.
    let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
    Ok(Duration::from_millis(busy * 1000 / USER_HZ))
}

/// Raises this process's open-file limit to its hard limit (children inherit it).
///
/// # Errors
///
/// The limit could not be read or set.
pub fn raise_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}
