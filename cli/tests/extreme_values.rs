//! RELIABILITY 38, the tool: every duration, size and count a flag takes, at the top of its
//! type's range, is refused with the flag's name (exit status 2) or honoured; never a panic
//! (exit status 101) and never a server that listens and answers no one. Values drawn by
//! proptest from the top of each range.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use proptest::prelude::*;
use socket_echo::MAX_DURATION;
use support::{DEADLINE, Server, run, signal, socket_echo};

/// `cases` cases, and no file of past failures written into the source tree.
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A duration beyond `MAX_DURATION`, written in one of the tool's units.
fn too_long() -> impl Strategy<Value = String> {
    (MAX_DURATION.as_secs() + 3600..=u64::MAX, 0usize..5).prop_map(|(secs, unit)| match unit {
        0 => format!("{}ms", u128::from(secs) * 1000),
        1 => format!("{secs}s"),
        2 => format!("{}m", secs / 60),
        3 => format!("{}h", secs / 3600),
        _ => format!("{secs}.5s"),
    })
}

/// A duration within the last day up to `MAX_DURATION`, in seconds.
fn longest() -> impl Strategy<Value = String> {
    (MAX_DURATION.as_secs() - 86_400..=MAX_DURATION.as_secs()).prop_map(|secs| format!("{secs}s"))
}

/// A whole number at the top of a type's range: from `max - 1000` to `max`, or past it.
fn top_of(max: u64) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        (max.saturating_sub(1000)..=max).prop_map(|n| n.to_string()),
        (0u64..1000).prop_map(move |n| (u128::from(max) + 1 + u128::from(n)).to_string()),
    ]
}

/// The flags of the client subcommands that take a duration, as (arguments before the
/// value, the flag's name as an error shows it).
const CLIENT_DURATIONS: [(&[&str], &str); 6] = [
    (&["ping", "127.0.0.1:1", "-c", "1", "-W"], "--timeout"),
    (&["ping", "127.0.0.1:1", "-c", "1", "-i"], "--interval"),
    (&["send", "udp://127.0.0.1:1", "x", "-W"], "--timeout"),
    (&["send", "127.0.0.1:1", "x", "-W"], "--timeout"),
    (&["bench", "127.0.0.1:1", "-d"], "--duration"),
    (&["bench", "127.0.0.1:1", "--bulk", "-d"], "--duration"),
];

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn a_client_duration_beyond_the_longest_is_refused_with_the_flag(
        which in 0..CLIENT_DURATIONS.len(),
        value in too_long(),
    ) {
        let (args, flag) = CLIENT_DURATIONS[which];
        let output = run(socket_echo(args.iter().copied().chain([value.as_str()])));
        prop_assert_eq!(output.code(), Some(2), "{:?} {}: {:?}", args, value, output);
        prop_assert!(output.stderr.contains(flag), "{:?} {}: {}", args, value, output.stderr);
        prop_assert!(output.stderr.contains("100 years"), "{}", output.stderr);
    }
}

/// What `serve` did with one flag: refused it (its standard error), or served with it.
enum Served {
    Refused { code: Option<i32>, stderr: String },
    Served,
}

/// Starts `serve` on `address` with `args`; if it listens, echoes one message through it with
/// `send` and stops it with SIGTERM, which must end it with status 0.
fn serve_with(address: &str, args: &[String]) -> Served {
    let mut command = socket_echo(["serve", address]);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn socket-echo serve");
    let first = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .next()
        .and_then(Result::ok);
    let Some(listening) = first
        .as_deref()
        .and_then(|line| line.strip_prefix("listening on "))
    else {
        let output = child.wait_with_output().expect("wait for serve");
        return Served::Refused {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
    };
    let sent = run(socket_echo(["send", listening, "-W", "10s", "hello"]));
    signal(&child, "TERM");
    let status = support::wait_or_kill(&mut child, DEADLINE);
    assert_eq!(sent.code(), Some(0), "{args:?}: the echo failed: {sent:?}");
    assert_eq!(
        status.code(),
        Some(0),
        "{args:?}: serve ended with {status}"
    );
    Served::Served
}

/// Every `serve` flag that takes a number, with the largest value of its type.
fn serve_numbers() -> impl Strategy<Value = (String, String)> {
    let usize_max = usize::MAX as u64;
    prop_oneof![
        top_of(usize_max).prop_map(|v| ("--workers".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--max-connections".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--max-pending".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--buffer-size".to_owned(), v)),
        top_of(u64::from(u32::MAX)).prop_map(|v| ("--backlog".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--recv-buffer".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--send-buffer".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--max-connections-per-source".to_owned(), v)),
        top_of(usize_max).prop_map(|v| ("--connection-buffers".to_owned(), v)),
        top_of(1 << 32).prop_map(|v| ("--connection-buffers".to_owned(), v)),
        top_of(u64::from(u32::MAX))
            .prop_map(|v| ("--source-rate-limit".to_owned(), format!("{v}/{v}"))),
        top_of(u64::MAX).prop_map(|v| ("--seed".to_owned(), v)),
        too_long().prop_map(|v| ("--idle-timeout".to_owned(), v)),
        too_long().prop_map(|v| ("--shutdown-grace".to_owned(), v)),
        too_long().prop_map(|v| ("--stats-every".to_owned(), v)),
        longest().prop_map(|v| ("--idle-timeout".to_owned(), v)),
        longest().prop_map(|v| ("--stats-every".to_owned(), v)),
    ]
}

/// Every stream fault's number or duration at the top of its range.
fn stream_faults() -> impl Strategy<Value = String> {
    let big = top_of(u64::MAX);
    prop_oneof![
        big.clone().prop_map(|v| format!("slice={v}")),
        big.clone().prop_map(|v| format!("rate={v}")),
        big.clone().prop_map(|v| format!("shared-rate={v}")),
        big.clone().prop_map(|v| format!("stall-after={v}")),
        big.clone().prop_map(|v| format!("close-after={v}")),
        big.clone().prop_map(|v| format!("reset-after={v}")),
        big.clone()
            .prop_map(|v| format!("delay=1ms,connections={v}")),
        big.clone().prop_map(|v| format!("delay=1ms,after={v}")),
        longest().prop_map(|v| format!("reset-after={v}")),
        too_long().prop_map(|v| format!("delay={v}")),
        too_long().prop_map(|v| format!("delay=1ms,jitter={v}")),
        too_long().prop_map(|v| format!("slice=1,pause={v}")),
        too_long().prop_map(|v| format!("reset-after={v}")),
        too_long().prop_map(|v| format!("accept-delay={v}")),
    ]
}

/// Every datagram fault's number or duration at the top of its range.
fn datagram_faults() -> impl Strategy<Value = String> {
    let big = top_of(u64::MAX);
    prop_oneof![
        big.clone().prop_map(|v| format!("truncate={v}")),
        big.clone()
            .prop_map(|v| format!("duplicate=1,datagrams={v}")),
        big.clone().prop_map(|v| format!("drop=0.5,after={v}")),
        too_long().prop_map(|v| format!("delay={v}")),
        too_long().prop_map(|v| format!("reorder=0.5,hold={v}")),
        (0u32..4).prop_map(|b| format!("drop=1,burst={}", b + 1)),
    ]
}

fn refused_or_served(address: &str, args: &[String], flag: &str) -> Result<(), TestCaseError> {
    match serve_with(address, args) {
        Served::Served => Ok(()),
        Served::Refused { code, stderr } => {
            prop_assert_eq!(code, Some(2), "{:?}: {}", args, stderr);
            prop_assert!(stderr.contains(flag), "{:?}: {}", args, stderr);
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn a_serve_number_at_the_top_of_its_range_is_refused_with_the_flag_or_served(
        (flag, value) in serve_numbers(),
    ) {
        refused_or_served("127.0.0.1:0", &[flag.clone(), value], &flag)?;
    }

    #[test]
    fn a_fault_value_at_the_top_of_its_range_is_refused_with_the_flag_or_served(
        stream in stream_faults(),
        datagram in datagram_faults(),
    ) {
        refused_or_served("127.0.0.1:0", &["--fault".to_owned(), stream], "--fault")?;
        refused_or_served("udp://127.0.0.1:0", &["--fault".to_owned(), datagram], "--fault")?;
    }
}

proptest! {
    #![proptest_config(cases(6))]

    /// The longest durations the client flags take are honoured against a live server.
    #[test]
    fn a_client_duration_at_the_longest_is_honoured(value in longest()) {
        let server = Server::start(&["127.0.0.1:0", "udp://127.0.0.1:0"]);
        let (tcp, udp) = (server.addresses[0].as_str(), server.addresses[1].as_str());
        let value = value.as_str();
        for args in [
            ["ping", tcp, "-c", "1", "-W", value],
            ["ping", udp, "-c", "1", "-W", value],
            ["ping", tcp, "-c", "1", "-i", value],
            ["send", udp, "-W", value, "x", "--"],
            ["send", tcp, "-W", value, "x", "--"],
        ] {
            let output = run(socket_echo(args));
            prop_assert_eq!(output.code(), Some(0), "{:?}: {:?}", args, output);
        }
        let bench = bench_until_sigint(&["bench", tcp, "-c", "1", "-d", value]);
        prop_assert_eq!(bench.code(), Some(0), "{:?}", bench);
        drop(server);
    }
}

/// Runs `bench` until its first progress line, then stops it with SIGINT.
fn bench_until_sigint(args: &[&str]) -> std::process::ExitStatus {
    let mut child = socket_echo(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bench");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    let _ = stderr.read_line(&mut first);
    signal(&child, "INT");
    support::wait_or_kill(&mut child, DEADLINE)
}
