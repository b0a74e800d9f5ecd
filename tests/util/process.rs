//! Child processes for the end-to-end tests: the compiled examples and the Python scripts.
//!
//! Every child is killed and reaped when its guard drops, and every wait is bounded by
//! [`GENEROUS`](super::GENEROUS), so a broken example fails the test instead of hanging it.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::GENEROUS;

/// The directory of the compiled examples, built once per test binary.
///
/// Integration tests do not build examples, so this runs `cargo build --examples` (a no-op when
/// they are up to date) and finds them next to the test binary: `target/<profile>/deps/<test>`
/// -> `target/<profile>/examples/`.
pub fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in target/<profile>/deps");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--examples", "-q"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // The measuring examples (ping, bench) need the feature the test was built with.
        if cfg!(feature = "measure") {
            build.args(["--features", "measure"]);
        }
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build --examples");
        assert!(status.success(), "cargo build --examples failed");
        profile_dir.join("examples")
    })
}

/// The path of the compiled example `name`.
pub fn example_path(name: &str) -> PathBuf {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "example binary {} not found", path.display());
    path
}

/// A command running the example `name`.
pub fn example(name: &str) -> Command {
    Command::new(example_path(name))
}

/// True if `python3` runs and the scripts are here; where python3 is missing, see
/// [`tool_available`](super::tools::tool_available).
pub fn python3_available(test: &str) -> bool {
    if !super::tools::tool_available("python3", test) {
        return false;
    }
    // The published package leaves the scripts out (Cargo.toml's `include`).
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    if !scripts.is_dir() {
        eprintln!(
            "skipped {test}: {} is not in this copy of the crate",
            scripts.display()
        );
        return false;
    }
    true
}

/// A command running `tests/python/<script>` with unbuffered output.
pub fn python(script: &str) -> Command {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut command = Command::new("python3");
    command.arg("-u").arg(path);
    command
}

/// A loopback address whose port was free a moment ago: bound with port 0, then released.
/// Another process may take it in between; callers retry on "address in use".
pub fn free_address(udp: bool) -> SocketAddr {
    if udp {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    } else {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }
}

/// What a child printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Finished {
    /// True if some stdout line starts with `prefix`.
    pub fn printed(&self, prefix: &str) -> bool {
        self.stdout.iter().any(|line| line.starts_with(prefix))
    }
}

/// A running child whose stdout lines arrive on a channel. Killed and reaped on drop.
#[derive(Debug)]
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    /// Starts `command` with piped stdout and stderr.
    pub fn spawn(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Reads stdout until a line starts with `prefix`. Returns `false` if the child closed its
    /// stdout first (it exited); panics after [`GENEROUS`].
    pub fn wait_for_line(&mut self, prefix: &str) -> bool {
        let deadline = Instant::now() + GENEROUS;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line starting with {prefix:?} within {GENEROUS:?}: {self:?}")
                }
            }
        }
    }

    /// The last stdout line read, such as the one [`wait_for_line`](Self::wait_for_line)
    /// just found.
    pub fn last_line(&self) -> Option<&str> {
        self.seen.last().map(String::as_str)
    }

    /// Waits for the child to exit (at most [`GENEROUS`], then kills it and panics) and
    /// collects everything it printed.
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + GENEROUS;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("child did not exit within {GENEROUS:?}: {:?}", self.seen);
            }
            // Polling an exit status, not waiting for readiness: there is no portable way to
            // wait for a child with a time limit in std.
            thread::sleep(Duration::from_millis(10));
        };
        let mut stdout = std::mem::take(&mut self.seen);
        // The child has exited, so its stdout is closed and the reader thread ends.
        stdout.extend(self.lines.iter());
        let stderr = self.stderr.take().unwrap().join().unwrap_or_default();
        Finished {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs `command` to completion (bounded) and returns what it printed.
pub fn run(command: Command) -> Finished {
    Running::spawn(command).finish()
}
