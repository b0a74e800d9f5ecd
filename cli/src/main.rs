//! `socket-echo`: an echo server (RFC 862) and the tools to measure one, in one command.
//!
//! Each subcommand is a file: `serve`, `ping`, `bench`, `send`, `ctl`; the flags they share
//! and the exit codes are here and in `flags.rs`. Every echo socket is the library's; the
//! HTTP control endpoint of `serve --control` (`control/`) and its client `ctl` are the
//! tool's own.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// The exit statuses, as the end of every subcommand's `--help`.
macro_rules! exit_status {
    () => {
        "\n\nExit status: 0 success, 1 what was run or measured failed, 2 usage error."
    };
}

mod bench;
mod control;
mod ctl;
mod flags;
mod json;
mod out;
mod ping;
mod running;
mod send;
mod serve;
mod stats_line;
mod tally;
mod tls;

/// What `socket-echo --help` shows after the subcommands: addresses, examples, exit codes.
const TOP_HELP: &str = "\
Addresses: HOST:PORT or tcp://HOST:PORT (TCP), udp://HOST:PORT, unix:/path or unix:@name
(Unix stream), unixgram:/path or unixgram:@name (Unix datagram), tls://HOST:PORT and
tls+unix:/path (TLS over TCP and over a Unix stream).

Examples:
  socket-echo serve localhost:9999 udp://localhost:9999
  socket-echo ping localhost:9999 --count 5
  socket-echo bench udp://localhost:9999 --json
  socket-echo send localhost:9999 hello
  socket-echo serve localhost:9999 --control 127.0.0.1:9998
  socket-echo ctl 127.0.0.1:9998 faults delay=50ms
  socket-echo serve tls://localhost:9443 --cert-out cert.pem
  socket-echo ping tls://localhost:9443 --ca cert.pem --count 3

Exit status:
  0  success
  1  the thing run or measured failed (a server could not start or failed, every probe
     was lost, errors in a benchmark, an echo that differs)
  2  usage error (an unknown flag, a value refused, an address that does not parse)";

/// An echo server (RFC 862) over TCP, UDP and Unix sockets, and the tools to measure one.
#[derive(Debug, Parser)]
#[command(
    name = "socket-echo",
    version,
    propagate_version = true,
    after_help = TOP_HELP
)]
struct Cli {
    /// More log output on standard error (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less log output on standard error: errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Serve(Box<serve::Args>),
    Ping(ping::Args),
    Bench(bench::Args),
    Send(send::Args),
    Ctl(ctl::Args),
    /// Print a completion script for a shell.
    #[command(after_help = concat!(
        "Examples:\n",
        "  socket-echo completions bash > ~/.local/share/bash-completion/completions/socket-echo\n",
        "  socket-echo completions zsh > ~/.zfunc/_socket-echo\n",
        "  socket-echo completions fish > ~/.config/fish/completions/socket-echo.fish",
        exit_status!()
    ))]
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print a manual page (roff), or write them all, generated from the same definitions as
    /// --help.
    #[command(after_help = concat!(
        "Examples:\n",
        "  socket-echo man | man -l -                 # socket-echo(1), the subcommands listed\n",
        "  socket-echo man serve | man -l -           # socket-echo-serve(1), every flag of serve\n",
        "  socket-echo man --dir /usr/local/share/man/man1\n",
        "\n",
        "--dir writes socket-echo.1 and one page per subcommand (socket-echo-serve.1, ...).",
        exit_status!()
    ))]
    Man {
        /// The subcommand whose page to print (serve, ping, bench, send, ...) [default: the
        /// top-level page].
        #[arg(value_name = "SUBCOMMAND")]
        page: Option<String>,
        /// Write every page into this directory instead, as NAME.1.
        #[arg(long, value_name = "DIR", conflicts_with = "page")]
        dir: Option<std::path::PathBuf>,
    },
}

/// The shells completions are made for.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// How a run ended, as the process's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0.
    Success,
    /// 1: the thing run or measured failed.
    Failed,
    /// 2: the command line was wrong.
    Usage,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Failed => ExitCode::from(1),
            Exit::Usage => ExitCode::from(2),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return refused(&error),
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .format_timestamp(None)
        .format_target(false)
        .init();
    let result = match &cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Ping(args) => ping::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Send(args) => send::run(args),
        Command::Ctl(args) => ctl::run(args),
        Command::Completions { shell } => Ok(completions(*shell)),
        Command::Man { page, dir } => man(page.as_deref(), dir.as_deref()),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(failure) => {
            failure.log();
            if let Some((name, address)) = cli.command.json() {
                let address = failure.address.as_deref().or(address);
                out::Out::new().line(json::ErrorJson::new(name, address, &failure).line());
            }
            failure.exit.into()
        }
    }
}

impl Command {
    /// With `--json`: the subcommand's name and the address it was given (the first, for
    /// `serve`).
    fn json(&self) -> Option<(&'static str, Option<&str>)> {
        match self {
            Command::Serve(args) => args
                .json
                .then(|| ("serve", args.addresses.first().map(String::as_str))),
            Command::Ping(args) => args.json.then_some(("ping", Some(args.address.as_str()))),
            Command::Bench(args) => args.json.then_some(("bench", Some(args.address.as_str()))),
            Command::Send(args) => args.json.then_some(("send", Some(args.address.as_str()))),
            Command::Ctl(_) | Command::Completions { .. } | Command::Man { .. } => None,
        }
    }
}

/// A command line clap refused (or `--help`, `--version`): clap's message, and with
/// `--json` the error object too, so a program reading standard output sees why.
fn refused(error: &clap::Error) -> ExitCode {
    if error.use_stderr() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|arg| arg == "--json" || arg == "-j") {
            let command = args
                .iter()
                .find(|arg| ["serve", "ping", "bench", "send"].contains(&arg.as_str()))
                .map_or("socket-echo", String::as_str);
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let failure = flags::Failure::usage(first.trim_start_matches("error: "));
            out::Out::new().line(json::ErrorJson::new(command, None, &failure).line());
        }
    }
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

fn completions(shell: Shell) -> Exit {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "socket-echo", &mut std::io::stdout());
    Exit::Success
}

/// `socket-echo man`: the top-level page, one subcommand's (`socket-echo-serve(1)`, named as
/// the top-level page's list of subcommands names it), or every page written to `dir`.
fn man(page: Option<&str>, dir: Option<&std::path::Path>) -> Result<Exit, flags::Failure> {
    // Built as a whole, so each subcommand is named `socket-echo-NAME` in its own page.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    if let Some(dir) = dir {
        return match std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
        {
            Ok(()) => Ok(Exit::Success),
            Err(error) => Err(flags::Failure::failed(
                "io",
                format!(
                    "cannot write the manual pages to {}: {error}",
                    dir.display()
                ),
            )),
        };
    }
    let command = match page {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(subcommand) => subcommand.clone(),
            None => {
                let names: Vec<&str> = command.get_subcommands().map(|s| s.get_name()).collect();
                return Err(flags::Failure::usage(format!(
                    "no manual page for `{name}`: the subcommands are {}",
                    names.join(", ")
                )));
            }
        },
    };
    clap_mangen::Man::new(command)
        .render(&mut std::io::stdout())
        .map(|()| Exit::Success)
        .map_err(|error| {
            flags::Failure::failed("io", format!("cannot write the manual page: {error}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own checks of the definitions: no two flags share a name or a short letter.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
