//! The manual pages: one per subcommand, each showing every flag of that subcommand's
//! `--help`, read through `man` itself (man-db) so a page that does not format fails.

mod support;

use std::path::Path;
use std::process::Command;

use support::{run, socket_echo, temp_dir, tool_available};

/// The subcommands whose pages the top-level page lists.
const SUBCOMMANDS: [&str; 6] = ["serve", "ping", "bench", "send", "completions", "man"];

/// The long flags (and their aliases) of `socket-echo SUBCOMMAND --help`, as its option lines
/// name them.
fn flags_of(subcommand: &str) -> Vec<String> {
    let mut command = socket_echo([subcommand, "--help"]);
    // One line per option, so an alias is not wrapped onto a line of its own.
    command.env("COLUMNS", "1000");
    let help = run(command);
    assert_eq!(help.code(), Some(0), "{help:?}");
    let mut flags = Vec::new();
    for line in help.stdout.lines().map(str::trim_start) {
        if !line.starts_with('-') {
            continue;
        }
        for word in line.split([' ', ',', '[', ']']) {
            let flag: String = word
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag.starts_with("--") && flag.len() > 2 && !flags.contains(&flag) {
                flags.push(flag);
            }
        }
    }
    assert!(
        flags.contains(&"--help".to_owned()),
        "{subcommand}: {flags:?}"
    );
    flags
}

/// `man ARGS` as text, wide enough that no flag is hyphenated across lines; fails on any
/// warning of the formatter.
fn man(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new("man")
        .arg("--warnings")
        .args(args)
        .env("MANWIDTH", "250")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .expect("run man");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "man {args:?}: {stderr}");
    assert!(stderr.trim().is_empty(), "man {args:?} warns: {stderr}");
    String::from_utf8(output.stdout).expect("text")
}

fn man_file(path: &Path) -> String {
    man(&["-l".as_ref(), path.as_os_str()])
}

#[test]
fn each_subcommand_page_shows_every_flag_of_its_help() {
    if !tool_available("man", "each_subcommand_page_shows_every_flag_of_its_help") {
        return;
    }
    let dir = temp_dir("man-pages");
    for subcommand in SUBCOMMANDS {
        let output = run(socket_echo(["man", subcommand]));
        assert_eq!(output.code(), Some(0), "{output:?}");
        let path = dir.join(format!("socket-echo-{subcommand}.1"));
        std::fs::write(&path, &output.stdout).unwrap();
        let text = man_file(&path);
        assert!(
            text.contains(&format!("socket-echo-{subcommand} - ")),
            "the page names itself socket-echo-{subcommand}: {text}"
        );
        for flag in flags_of(subcommand) {
            assert!(
                text.contains(&flag),
                "socket-echo-{subcommand}(1) does not show {flag}:\n{text}"
            );
        }
        assert!(text.contains("Exit status"), "{subcommand}: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn man_dir_writes_every_page_and_man_finds_them() {
    if !tool_available("man", "man_dir_writes_every_page_and_man_finds_them") {
        return;
    }
    let root = temp_dir("man-dir");
    let man1 = root.join("man1");
    let output = run(socket_echo([
        "man".as_ref(),
        "--dir".as_ref(),
        man1.as_os_str(),
    ]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    let top = man_file(&man1.join("socket-echo.1"));
    for subcommand in SUBCOMMANDS {
        // Every page the top-level page points at exists and formats.
        assert!(
            top.contains(&format!("socket-echo-{subcommand}(1)")),
            "{top}"
        );
        let page = man1.join(format!("socket-echo-{subcommand}.1"));
        assert!(page.is_file(), "no {}", page.display());
        man_file(&page);
    }
    // `man socket-echo-serve`, as a user with the directory on their MANPATH types it.
    let serve = man(&[
        "-M".as_ref(),
        root.as_os_str(),
        "socket-echo-serve".as_ref(),
    ]);
    for flag in flags_of("serve") {
        assert!(serve.contains(&flag), "man socket-echo-serve lacks {flag}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_unknown_page_is_a_usage_error_naming_the_pages() {
    let output = run(socket_echo(["man", "serv"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    assert!(
        output.stderr.contains("serve, ping, bench, send"),
        "{}",
        output.stderr
    );
}
