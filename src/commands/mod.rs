//! One module per verb. Each takes its parsed arguments and returns `Ok(())` or the error
//! for `run` to print; output goes through `print`.

mod add;
mod alias;
mod clear;
mod completion;
pub(crate) mod credentials;
mod exec;
mod export;
mod list;
mod login;
mod remove;
mod rotate;
mod show;
mod sso;

use std::io::{self, Write};
use std::path::Path;

use crate::cli::{Cli, Command};
use crate::config::resolve::{Base, Chain, From};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::prompt::Terminal;
use crate::settings::Settings;
use crate::store::{self, Store};

/// Runs one command; `Ok` holds the exit status (a command run under `exec --server` gives
/// its own).
pub fn run(cli: Cli) -> Result<u8> {
    let context = Context {
        backend: cli.backend,
    };
    let done = match cli.command {
        Command::Add(args) => add::run(&context, &args),
        Command::Remove(args) => remove::run(&context, &args),
        Command::Rotate(args) => rotate::run(&context, &args),
        Command::Exec(args) => return exec::run(&context, &args),
        Command::Clear(args) => clear::run(&context, &args),
        Command::Export(args) => export::run(&context, &args),
        Command::Login(args) => login::run(&context, &args),
        Command::Alias(args) => alias::run(&args),
        Command::Completion(args) => completion::run(&args),
        Command::List(args) => list::run(&context, &args),
        Command::Show(args) => show::run(&context, &args),
        Command::Sso(command) => sso::run(&context, &command),
    };
    done.map(|()| 0)
}

/// What every command may need beyond its own arguments.
#[derive(Clone)]
pub(crate) struct Context {
    /// `--backend`, before it is checked.
    backend: Option<String>,
}

impl Context {
    pub(crate) fn settings(&self) -> Result<Settings> {
        Settings::load(self.backend.as_deref(), var)
    }

    /// The store, asking on the terminal when it must be unlocked.
    pub(crate) fn store(&self) -> Result<Box<dyn Store>> {
        store::open(&self.settings()?, Box::new(Terminal))
    }
}

/// An environment variable, empty treated as unset.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub(crate) fn load_config() -> Result<Config> {
    config::load(var)
}

/// Keys in a plaintext file work, but the person should move them into the vault.
pub(crate) fn warn_plaintext_keys(config: &Config, chain: &Chain) {
    let Base::PlaintextKeys { profile, .. } = &chain.base else {
        return;
    };
    let file = match profile.settings.get("aws_access_key_id").map(|v| &v.from) {
        Some(From::File { file, .. }) => display_path(config.path(*file)),
        _ => "a plaintext file".to_string(),
    };
    crate::text::warn(format_args!(
        "profile `{}` keeps long-lived keys in plaintext in `{file}`",
        profile.name
    ));
    eprintln!(
        "hint: move them into the vault with `vault add {}` and delete them from the file",
        profile.name
    );
}

/// Profiles worth listing, in file order: all but an empty `[default]`.
pub(crate) fn listed_profiles(profiles: &config::ProfileSet) -> impl Iterator<Item = &str> {
    profiles
        .profiles()
        .iter()
        .filter(|p| !(p.name == "default" && p.is_empty()))
        .map(|p| p.name.as_str())
}

/// A path for people: under HOME it starts with `~`.
pub(crate) fn display_path(path: &Path) -> String {
    if let Some(home) = dirs::home_dir()
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

/// Writes a command's whole output to stdout at once.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Output)
}
