//! The README's commands for the tool: every `ping`, `bench` and `send` is pointed at an
//! address a `socket-echo serve` of the README serves (the tutorial's server example
//! answers one client and exits, so it cannot be measured), and every flag they use exists.

mod support;

use std::collections::BTreeSet;

use support::{run, socket_echo};

/// The README's shell lines that run `socket-echo`, split into words.
fn commands() -> Vec<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let mut in_shell = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_shell = line == "```sh";
            continue;
        }
        // The command alone: no comment, no pipe or redirection, no quoted message.
        let line = line.split(['#', '|', '>']).next().unwrap_or_default();
        let unquoted: String = line.split('\'').step_by(2).collect();
        if in_shell && unquoted.starts_with("socket-echo ") {
            commands.push(unquoted.split_whitespace().map(str::to_owned).collect());
        }
    }
    commands
}

#[test]
fn measuring_commands_point_at_a_socket_echo_serve() {
    let commands = commands();
    let served: BTreeSet<&str> = commands
        .iter()
        .filter(|words| words[1] == "serve")
        .flat_map(|words| words[2..].iter())
        .filter(|word| !word.starts_with('-') && word.contains(':'))
        .map(String::as_str)
        .collect();
    assert!(
        !served.is_empty(),
        "no `socket-echo serve ADDRESS` in the README"
    );
    let mut seen = BTreeSet::new();
    for words in &commands {
        let subcommand = words[1].as_str();
        if ["ping", "bench", "send"].contains(&subcommand) {
            let address = words[2].as_str();
            assert!(
                served.contains(address),
                "`{}` is pointed at {address}, which no `socket-echo serve` in the README serves",
                words.join(" ")
            );
            seen.insert(subcommand);
        }
    }
    assert_eq!(
        seen.len(),
        3,
        "the README shows ping, bench and send: {seen:?}"
    );
}

/// Every README command parses: `--help` appended, each exits 0.
#[test]
fn every_readme_command_parses() {
    for words in commands() {
        let mut args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        args.push("--help");
        let output = run(socket_echo(&args));
        assert_eq!(output.code(), Some(0), "{words:?}: {}", output.stderr);
    }
}

/// The README's dependency lines are ones cargo takes: the published name and version of
/// the library's Cargo.toml, and its repository for the git form.
#[test]
fn the_dependency_lines_name_the_published_crate_and_its_repository() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let manifest = std::fs::read_to_string(format!("{root}/Cargo.toml")).expect("Cargo.toml");
    let field = |name: &str| {
        manifest
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} = \"")))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("no {name} in Cargo.toml"))
            .to_owned()
    };
    let (name, version, repository) = (field("name"), field("version"), field("repository"));
    let major_minor: Vec<&str> = version.split('.').take(2).collect();
    let published = format!("{name} = \"{}\"", major_minor.join("."));
    assert!(
        readme.contains(&published),
        "the README lacks `{published}`"
    );
    let git = format!("{name} = {{ git = \"{repository}\" }}");
    assert!(readme.contains(&git), "the README lacks `{git}`");
    assert!(
        field("documentation").starts_with("https://docs.rs/"),
        "Cargo.toml's documentation is not the docs.rs page"
    );
}
