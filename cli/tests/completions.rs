//! Shell completions and the manual page, generated from the command-line definitions.

mod support;

use std::process::Command;

use support::{run, socket_echo};

#[test]
fn bash_accepts_the_bash_script() {
    let output = run(socket_echo(["completions", "bash"]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert!(output.stdout.contains("socket-echo"));
    for word in [
        "ctl",
        "--control",
        "--control-allow-remote",
        "metrics",
        "clear",
    ] {
        assert!(output.stdout.contains(word), "{word}");
    }
    let path = std::env::temp_dir().join(format!("socket-echo-{}.bash", std::process::id()));
    std::fs::write(&path, &output.stdout).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(checked.status.success(), "bash -n: {checked:?}");
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let output = run(socket_echo(["completions", shell]));
        assert_eq!(output.code(), Some(0), "{output:?}");
        for subcommand in ["serve", "ping", "bench", "send", "ctl"] {
            assert!(output.stdout.contains(subcommand), "{shell}: {subcommand}");
        }
        assert!(
            output.stdout.contains("control"),
            "{shell}: serve --control"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = run(socket_echo(["completions", "tcsh"]));
    assert_eq!(output.code(), Some(2), "{output:?}");
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let output = run(socket_echo(["man"]));
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert!(output.stdout.starts_with(".ie"), "{}", &output.stdout[..80]);
    assert!(output.stdout.contains(".TH socket-echo 1"));
    for subcommand in ["serve", "ping", "bench", "send", "ctl", "completions"] {
        assert!(output.stdout.contains(subcommand), "{subcommand}");
    }
}
