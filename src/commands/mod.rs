//! One module per verb. Each takes its parsed arguments and returns `Ok(())` or the error
//! for `run` to print; output goes through `print`.

mod add;
mod alias;
mod clear;
pub mod compat;
mod completion;
mod config;
mod credentials;
mod doctor;
mod exec;
mod export;
mod import;
mod list;
mod login;
mod pick;
mod remove;
mod rotate;
mod setup;
mod show;
mod signin;
mod sso;

use crate::cli::{Cli, Command};
use crate::config::Config;
pub(crate) use crate::config::load_from_env as load_config;
use crate::config::resolve::{Base, Chain, From};
pub(crate) use crate::env::var;
use crate::error::Result;
pub(crate) use crate::list::{listed_profiles, sso_role_sessions};
pub(crate) use crate::output::print;
pub(crate) use crate::paths::display_path;
use crate::settings::Settings;
use crate::store::{self, Store};
pub use pick::pick_missing_profile;

/// Runs one command; `Ok` holds the exit status (a command run under `exec --server` gives
/// its own).
pub fn run(cli: Cli) -> Result<u8> {
    if let Some(done) = compat::run(&cli) {
        return done.map(|()| 0);
    }
    // Missing keys that aws-vault's store holds: the error names the import command.
    run_command(cli).map_err(crate::import::hint_import)
}

fn run_command(cli: Cli) -> Result<u8> {
    let context = Context {
        backend: cli.backend,
        prompt: cli.prompt.and_then(|named| named.0),
        terminal: true,
        file_dir: cli.compat.file_dir,
        collection: cli.compat.secret_service_collection,
        pass_dir: cli.pass_dir,
        pass_cmd: cli.pass_cmd,
        pass_prefix: cli.pass_prefix,
    };
    // `lib::run` has refused a command line with neither a command nor a compat action.
    let Some(command) = cli.command else {
        return Ok(2);
    };
    let done = match command {
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
        Command::Version => compat::version(),
        Command::Import(args) => return import::run(&context, &args),
        Command::Sso(command) => sso::run(&context, &command),
        Command::Signin(args) => signin::run_signin(&context, &args),
        Command::Signout(args) => signin::run_signout(&context, &args),
        Command::Setup(args) => setup::run(&context, &args),
        Command::Config(command) => config::run(&context, &command),
        Command::Doctor(args) => return doctor::run(&context, &args),
    };
    done.map(|()| 0)
}

/// What every command may need beyond its own arguments.
#[derive(Clone)]
pub(crate) struct Context {
    /// `--backend`, before it is checked.
    backend: Option<String>,
    /// `--prompt` (or `AWS_VAULT_PROMPT`, which clap reads for it).
    prompt: Option<crate::prompt::Driver>,
    /// Whether questions may go to the terminal: not in `exec --server` refreshes, where the
    /// command owns it.
    pub(crate) terminal: bool,
    /// `--file-dir`, which beats AWS_VAULT_FILE_DIR.
    file_dir: Option<String>,
    /// `--secret-service-collection` or AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME.
    collection: Option<String>,
    /// `--pass-dir`, `--pass-cmd`, `--pass-prefix`: beat their variables.
    pass_dir: Option<std::path::PathBuf>,
    pass_cmd: Option<String>,
    pub(crate) pass_prefix: Option<String>,
}

impl Context {
    pub(crate) fn settings(&self) -> Result<Settings> {
        let mut settings = Settings::load(self.backend.as_deref(), var)?;
        if self.prompt.is_some() {
            settings.prompt = self.prompt;
        }
        if let Some(dir) = &self.pass_dir {
            settings.pass_dir = dir.clone();
        }
        if let Some(cmd) = &self.pass_cmd {
            settings.pass_cmd = cmd.clone();
        }
        if let Some(prefix) = &self.pass_prefix {
            settings.pass_prefix = prefix.clone();
        }
        Ok(settings.with_flags(self.file_dir.as_deref(), self.collection.as_deref()))
    }

    /// The store, asking through the prompt driver when it must be unlocked.
    pub(crate) fn store(&self) -> Result<Box<dyn Store>> {
        let settings = self.settings()?;
        store::open(&settings, self.asker(&settings))
    }

    /// Who asks questions (passphrases, MFA codes): `prompt::asker`'s choice.
    pub(crate) fn asker(&self, settings: &Settings) -> Box<dyn crate::prompt::Prompt> {
        crate::prompt::asker(settings.prompt, self.terminal)
    }
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
        "hint: move them into the vault with `vault import credentials-file --profile {}`",
        crate::text::printable(&profile.name)
    );
}

/// Removes `profile`'s cached sessions: those made for it, and the SSO role session it is
/// served by (shared with any profile naming the same sign-in, account and role). The
/// sign-in itself (token, registration) stays: `vault sso logout` ends it.
pub(crate) fn remove_profile_sessions(store: &mut dyn Store, profile: &str) -> Result<usize> {
    let shared: Vec<store::SessionKey> = match load_config() {
        Ok(config) => {
            let listing = store.list()?;
            let stored = |name: &str| listing.has_keys(name);
            sso_role_sessions(&config.profiles, &stored)
                .into_iter()
                .filter(|(_, names)| names.contains(&profile))
                .map(|(key, _)| key)
                .collect()
        }
        Err(e) => {
            // Without the config, the sessions made for the profile by name still go.
            crate::debug!("no SSO role sessions looked up: {e}");
            Vec::new()
        }
    };
    store::remove_sessions(store, |key| {
        key.source != crate::sso::cache::SIGN_IN_SOURCE
            && (key.profile == profile || shared.contains(key))
    })
}
