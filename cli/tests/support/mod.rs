//! Running the built `socket-echo` in tests: every child is killed at a deadline, and a
//! `serve` is started on port 0 and asked where it listens.
#![allow(dead_code)] // each test file uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

// The library's tests and the tool's check for an external program the same way.
#[path = "../../../tests/util/tools.rs"]
mod tools;
#[allow(unused_imports)] // each test file uses only part of it
pub use tools::tool_available;

/// The longest any child may run: only a broken build ever waits this long.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The built binary, with the given arguments.
pub fn socket_echo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_socket-echo"));
    command.args(args);
    command
}

/// What a finished child printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Each line of standard output parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
            })
            .collect()
    }
}

/// Runs `command` with `input` on its standard input; killed if it outlives [`DEADLINE`].
pub fn run_with_input(mut command: Command, input: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn socket-echo");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = finish(child, DEADLINE);
    let _ = writer.join();
    output
}

/// Runs `command` with nothing on its standard input; killed if it outlives [`DEADLINE`].
pub fn run(command: Command) -> Output {
    run_with_input(command, b"")
}

/// Runs `command` with nothing on its standard input; `None` if it was still running at
/// `deadline` (it is killed then).
pub fn run_for(mut command: Command, deadline: Duration) -> Option<Output> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn socket-echo");
    // Only the first bytes are kept: a runaway child may print without end.
    let stdout = child.stdout.take().map(|out| gather(out.take(1 << 20)));
    let stderr = child.stderr.take().map(|err| gather(err.take(1 << 20)));
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for socket-echo") {
            break Some(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.map(|t| t.join().unwrap()).unwrap_or_default();
    let stderr = stderr.map(|t| t.join().unwrap()).unwrap_or_default();
    status.map(|status| Output {
        status,
        stdout,
        stderr,
    })
}

/// Waits for `child` to end, killing it at `deadline`, and gathers what it printed.
fn finish(mut child: Child, deadline: Duration) -> Output {
    let stdout = child.stdout.take().map(gather);
    let stderr = child.stderr.take().map(gather);
    let status = wait_or_kill(&mut child, deadline);
    Output {
        status,
        stdout: stdout.map(|t| t.join().unwrap()).unwrap_or_default(),
        stderr: stderr.map(|t| t.join().unwrap()).unwrap_or_default(),
    }
}

fn gather(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` to end; kills it and fails the test if it outlives `deadline`.
pub fn wait_or_kill(child: &mut Child, deadline: Duration) -> ExitStatus {
    let end = Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().expect("wait for socket-echo") {
            return status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let status = child.wait().expect("wait for killed socket-echo");
            panic!("socket-echo ran past its {deadline:?} deadline and was killed ({status})");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Sends SIGTERM (or another signal) to a child.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} failed");
}

/// A running `socket-echo serve`, killed when dropped.
pub struct Server {
    pub child: Option<Child>,
    /// Its standard output, line by line, read on a thread of its own.
    pub lines: Receiver<String>,
    /// Where it listens, as the other subcommands take the address.
    pub addresses: Vec<String>,
    /// Where its control endpoint listens, with `--control` (`http://127.0.0.1:PORT`).
    pub control: Option<String>,
    /// Everything read from standard output so far.
    pub seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Server {
    /// Starts `serve` with `args`, and reads one "listening on" line per address (or
    /// `listening` object with `--json`), and with `--control` the "control on" line.
    pub fn start<S: AsRef<str>>(args: &[S]) -> Server {
        let mut command = socket_echo(["serve"]);
        command
            .args(args.iter().map(AsRef::as_ref))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn socket-echo serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().map(gather);
        let lines = lines_of(stdout);
        let mut server = Server {
            child: Some(child),
            lines,
            addresses: Vec::new(),
            control: None,
            seen: Vec::new(),
            stderr,
        };
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        let wants_control = args.contains(&"--control");
        let expected = args
            .iter()
            .enumerate()
            .filter(|&(i, arg)| {
                arg.contains(':') && !arg.starts_with('-') && (i == 0 || args[i - 1] != "--control")
            })
            .count()
            .max(1);
        while server.addresses.len() < expected || (wants_control && server.control.is_none()) {
            let Some(line) = server.next_line() else {
                let finished = server.stop_now();
                panic!("serve did not start: {finished:?}");
            };
            if let Some(address) = line.strip_prefix("listening on ") {
                server.addresses.push(address.to_owned());
            } else if let Some(address) = line.strip_prefix("control on ") {
                server.control = Some(address.to_owned());
            } else if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) {
                let address = json["address"].as_str().unwrap_or_default().to_owned();
                match json["type"].as_str() {
                    Some("listening") => server.addresses.push(address),
                    Some("control") => server.control = Some(address),
                    _ => {}
                }
            }
        }
        server
    }

    /// The next line of standard output, or `None` at its end or after [`DEADLINE`].
    pub fn next_line(&mut self) -> Option<String> {
        let line = self.lines.recv_timeout(DEADLINE).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    pub fn child(&self) -> &Child {
        self.child.as_ref().expect("running")
    }

    /// SIGTERM, then waits for the end and gathers the rest of the output.
    pub fn stop(mut self) -> Output {
        signal(self.child(), "TERM");
        self.finish()
    }

    /// Kills it and gathers its output.
    fn stop_now(&mut self) -> Output {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
        }
        self.finish()
    }

    fn finish(&mut self) -> Output {
        let mut child = self.child.take().expect("running");
        let status = wait_or_kill(&mut child, DEADLINE);
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.seen.push(line);
        }
        let mut stdout = self.seen.join("\n");
        stdout.push('\n');
        Output {
            status,
            stdout,
            stderr: self
                .stderr
                .take()
                .map(|t| t.join().unwrap())
                .unwrap_or_default(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The lines of `stdout` (or of any pipe), sent as they come; the channel closes at its end.
pub fn lines_of(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (send, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if send.send(line).is_err() {
                return;
            }
        }
    });
    lines
}

/// A fresh Unix socket path for this test.
pub fn unix_path(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("socket-echo-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{name}.sock")).display().to_string()
}

/// The three transports a test runs over: a TCP, a UDP and a Unix address for `serve`.
pub fn every_transport(name: &str) -> [String; 3] {
    [
        "127.0.0.1:0".to_owned(),
        "udp://127.0.0.1:0".to_owned(),
        format!("unix:{}", unix_path(name)),
    ]
}

/// A fresh, empty directory for this test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("socket-echo-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A loopback TCP address nothing listens on: bound on port 0, then released.
pub fn nothing_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local_addr").to_string()
}

/// One HTTP/1.1 request to a control endpoint (`http://HOST:PORT` or `unix:PATH`): the
/// status and the body of the answer.
pub fn http(control: &str, method: &str, target: &str, body: &str) -> (u16, String) {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = exchange(control, request.as_bytes());
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head:?}"));
    (status, body.to_owned())
}

/// Writes `request` as it is to a control endpoint and reads until it closes.
pub fn exchange(control: &str, request: &[u8]) -> String {
    let mut answer = Vec::new();
    if let Some(path) = control.strip_prefix("unix:") {
        let mut conn = std::os::unix::net::UnixStream::connect(path).expect("connect");
        conn.set_read_timeout(Some(DEADLINE)).unwrap();
        conn.write_all(request).expect("send the request");
        conn.read_to_end(&mut answer).expect("read the answer");
    } else {
        let address = control.strip_prefix("http://").unwrap_or(control);
        let mut conn = std::net::TcpStream::connect(address).expect("connect");
        conn.set_read_timeout(Some(DEADLINE)).unwrap();
        conn.write_all(request).expect("send the request");
        conn.read_to_end(&mut answer).expect("read the answer");
    }
    String::from_utf8_lossy(&answer).into_owned()
}
