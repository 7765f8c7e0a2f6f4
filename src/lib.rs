//! vault: keeps AWS access keys locked away and hands short-lived STS credentials to
//! commands, as a drop-in successor to aws-vault.
//!
//! `run` is the whole program: parse the command line, run one command, and print the
//! error if there is one. It is the only place that prints errors or picks exit codes.
//! `ARCHITECTURE.md` has the map.

#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
#[macro_use]
pub mod debug;
pub mod doctor;
pub mod env;
pub mod error;
pub mod exec;
pub mod export;
pub(crate) mod import;
pub mod list;
pub mod mfa;
pub mod output;
pub mod paths;
pub mod process;
pub mod prompt;
#[cfg(unix)]
pub mod server;
pub mod settings;
pub mod signin;
pub mod sso;
pub mod store;
pub mod sts;
pub mod text;
pub mod version;
pub mod warm;

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

use clap::Parser;

pub use error::{Error, Result};

/// Runs vault with these arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // `--version --verbose`: clap would answer `--version` before it saw `--verbose`.
    if let Some(words) = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<Vec<_>>>()
        && version::version_words(&words) == Some(true)
    {
        return match commands::print(&version::version_text(true)) {
            Err(Error::Output(e)) if e.kind() != io::ErrorKind::BrokenPipe => {
                eprintln!(
                    "error: could not write the output: {}",
                    text::printable(&e.to_string())
                );
                ExitCode::from(1)
            }
            _ => ExitCode::SUCCESS,
        };
    }
    let parsed = cli::Cli::try_parse_from(&args).or_else(|e| {
        // `exec`, `export`, `login`, `rotate` with no profile, at a terminal: the picker.
        match commands::pick_missing_profile(&args, &e) {
            Some(Ok(picked)) => cli::Cli::try_parse_from(picked).map_err(Picked::Usage),
            Some(Err(error)) => Err(Picked::Failed(error)),
            None => Err(Picked::Usage(e)),
        }
    });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(Picked::Failed(e)) => return report(e),
        Err(Picked::Usage(e)) => {
            // `--help` and `--version` print to stdout and succeed; usage errors exit 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.command.is_none() && !cli.compat.acts() {
        use clap::CommandFactory;
        let e = cli::Cli::command().error(
            clap::error::ErrorKind::MissingSubcommand,
            "a command is needed: run `vault --help` for the list",
        );
        let _ = e.print();
        return ExitCode::from(2);
    }
    if let Some(problem) = cli.conflict() {
        use clap::CommandFactory;
        let e = cli::Cli::command().error(clap::error::ErrorKind::ArgumentConflict, problem);
        let _ = e.print();
        return ExitCode::from(2);
    }
    if cli.debug {
        debug::enable();
    }
    // Before any secret is read.
    process::harden();
    match commands::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(e) => report(e),
    }
}

/// How the command line came to be refused: clap's usage error, or the picker's.
enum Picked {
    Usage(clap::Error),
    Failed(Error),
}

/// Prints `error` (and its hint) and gives its exit code.
fn report(e: Error) -> ExitCode {
    match e {
        Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        // The prompt printed the newline; nothing else is said.
        e @ Error::Interrupted { .. } => ExitCode::from(e.exit_code()),
        e => {
            // Errors quote files, the store and AWS: nothing in them reaches the terminal raw.
            eprintln!("error: {}", text::printable(&e.to_string()));
            if let Some(hint) = e.hint() {
                eprintln!("hint: {}", text::printable(&hint));
            }
            ExitCode::from(e.exit_code())
        }
    }
}
