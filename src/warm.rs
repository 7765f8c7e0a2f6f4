//! The warm path, in the `vault` binary: the commands that run before nearly every command
//! a person types, done without clap, the SDK, TLS, tokio or D-Bus linked in.
//!
//! `run` serves a command line only when it is one of a few plain forms and everything it
//! needs is at hand:
//!
//! - `vault --version`, `vault version`;
//! - `vault exec PROFILE [-- CMD...]` and `vault export [--format F] PROFILE`, with no other
//!   option, from a fresh cached session in the file store;
//! - `vault list`, `list --profiles`, `list --credentials`, `list --sessions` on the file
//!   store.
//!
//! Anything else, and anything that goes differently from that (no cached session, a
//! session near expiry, a locked store, an error, another backend, an option, a variable
//! that changes the answer), is not served here: `run` returns `None` having printed
//! nothing, and the caller hands the same command line to `vault-full`, which does the
//! whole job. So the answers are the same as `vault-full`'s by construction: this module
//! calls the same code, and where its path differs it steps aside.
//!
//! What must not be reached from here: `crate::run` and clap's parser, `sts::aws`, `sso`,
//! the keychain backends, the prompt drivers. Reaching them would link them into `vault`,
//! and their relocations and page faults are what this binary exists to avoid
//! (README, Performance). Nor does it reach up into `commands/` or `cli.rs`: what it shares
//! with `vault-full` (config loading, `export::render`, `list::show`, `settings::ttls`,
//! `output::print`) lives below them.

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;

use crate::config::Config;
use crate::config::resolve::{Base, Overrides, Resolver};
use crate::env::var;
use crate::error::{Error, Result};
use crate::export::ExportFormat;
use crate::list::View;
use crate::settings::Settings;
use crate::store::{Backend, Credentials, EntryId, Store, file::FileStore};
use crate::sts::plan::{Options, plan};

/// The program `vault` hands every other command line to: in the same folder as `vault`.
pub const FULL_PROGRAM: &str = "vault-full";

/// Variables that give an option a value (clap reads them in
/// `vault-full`): with one set, the command is not the plain form served here.
const OPTION_VARS: &[&str] = &[
    "AWS_VAULT_DURATION",
    "AWS_VAULT_PROFILE_ENV",
    "AWS_VAULT_STDOUT",
    "AWS_VAULT_BIOMETRICS",
];

/// Serves `args` (the first is the program name) when it can: `Some` holds the exit status.
/// `None`: nothing was printed and nothing changed; `vault-full` must run the command.
pub fn run(args: &[OsString]) -> Option<u8> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    if let Some(verbose) = crate::version::version_words(&words) {
        return done(print(&crate::version::version_text(verbose)));
    }
    match words.as_slice() {
        _ if !usual_environment() => None,
        ["exec", profile, rest @ ..] if plain(profile) => {
            let command = match rest {
                ["--", command @ ..] => command,
                [first, ..] if first.starts_with('-') => return None,
                command => command,
            };
            let skip = args.len() - command.len();
            exec(profile, &args[skip..])
        }
        ["export", rest @ ..] => {
            let (format, profile) = match rest {
                [profile] => ("env", *profile),
                ["--format", format, profile] | [profile, "--format", format] => {
                    (*format, *profile)
                }
                _ => return None,
            };
            let format = <ExportFormat as clap::ValueEnum>::from_str(format, false).ok()?;
            plain(profile).then_some(())?;
            export(profile, format)
        }
        ["list", rest @ ..] => {
            let view = match rest {
                [] => Some(View::Table),
                ["--profiles"] => None,
                ["--credentials"] => Some(View::Credentials),
                ["--sessions"] => Some(View::Sessions),
                _ => return None,
            };
            list_store(view)
        }
        _ => None,
    }
}

/// No variable gives an option a value (clap reads them in `vault-full`, and may refuse
/// them), AWS_VAULT_PROMPT names a driver, and HOME is set. Without HOME the home folder
/// comes from the user database, which a static `vault` (build.rs) would read by loading
/// glibc's NSS modules at run time; `vault-full` does that the usual way. A static `vault`
/// also cannot load what LD_PRELOAD names (libfaketime's clock, say), so with it set
/// `vault-full`, which does, answers.
fn usual_environment() -> bool {
    std::env::var_os("HOME").is_some_and(|h| !h.is_empty())
        && (env!("VAULT_LINKED") == "dynamic" || std::env::var_os("LD_PRELOAD").is_none())
        && !OPTION_VARS.iter().any(|v| std::env::var_os(v).is_some())
        && std::env::var_os("AWS_VAULT_PROMPT").is_none_or(|p| {
            p.to_str()
                .is_some_and(|p| crate::prompt::Named::parse(p).is_ok())
        })
}

/// A profile name given as a word, not an option.
fn plain(profile: &str) -> bool {
    !profile.is_empty() && !profile.starts_with('-')
}

/// The exit status of a command whose output was written (or not).
fn done(printed: Result<()>) -> Option<u8> {
    match printed {
        Ok(()) => Some(0),
        Err(Error::Output(e)) if e.kind() == ErrorKind::BrokenPipe => Some(0),
        // Output may have been written in part: it is too late to hand over.
        Err(e) => {
            eprintln!("error: {}", crate::text::printable(&output_error(&e)));
            Some(1)
        }
    }
}

fn output_error(e: &Error) -> String {
    match e {
        Error::Output(e) => format!("could not write the output: {e}"),
        _ => "could not write the output".to_string(),
    }
}

fn print(text: &str) -> Result<()> {
    crate::output::print(text)
}

/// `vault exec PROFILE -- CMD`: replaces this process with CMD, or returns `None`.
fn exec(profile: &str, command: &[OsString]) -> Option<u8> {
    let (credentials, region) = cached(profile)?;
    let env = crate::exec::child_env(
        std::env::vars_os(),
        profile,
        &credentials,
        region.as_deref(),
    );
    let (program, program_args) = crate::exec::command_line(command, std::env::var_os("SHELL"));
    // Returns only when the command could not be started: `vault-full` says why.
    let _ = crate::exec::replace_with(&program, &program_args, env);
    None
}

/// `vault export --format F PROFILE`.
fn export(profile: &str, format: ExportFormat) -> Option<u8> {
    let (credentials, region) = cached(profile)?;
    let text = crate::export::render(format, profile, &credentials, region.as_deref());
    done(print(&text))
}

/// `vault list` and its three one-column forms, on the file store: `None` is `--profiles`.
fn list_store(view: Option<View>) -> Option<u8> {
    let config = crate::config::load_from_env().ok()?;
    let Some(view) = view else {
        // Reads no store at all: the same in `vault-full` whatever the backend.
        return done(crate::list::show_profiles(&config.profiles));
    };
    let store = file_store()?;
    let listing = store.list().ok()?;
    done(crate::list::show(&config.profiles, &listing, view))
}

/// The file store, when it is the store in use and `vault-full` would open it the same way.
fn file_store() -> Option<FileStore> {
    let settings = Settings::load(None, var).ok()?.with_flags(None, None);
    let backend = settings
        .backend
        .or_else(crate::store::default_backend_unasked)?;
    if backend != Backend::File {
        return None;
    }
    // A passphrase the cache does not hold is asked for by `vault-full`.
    Some(crate::store::open_file(
        (&settings).into(),
        Box::new(HandOver),
    ))
}

/// The fresh cached session that ends `profile`'s chain, and the region to give with it:
/// what `vault-full` would hand out without a call, or `None`.
fn cached(profile: &str) -> Option<(Credentials, Option<String>)> {
    // `vault-full` refuses these (nested shell, a credential_process loop).
    if var("AWS_VAULT").is_some()
        || var(crate::sts::session::RECURSION_VAR)
            .is_some_and(|chain| chain.split('\n').any(|p| p == profile))
    {
        return None;
    }
    let config: Config = crate::config::load_from_env().ok()?;
    let mut store = file_store()?;
    // Which profiles have stored keys, asked of their entry files alone rather than of a
    // listing of the whole store: the same answers (`keys_stored`), or a hand-over.
    let unsure = std::cell::Cell::new(false);
    let stored = |name: &str| {
        store.keys_stored(name).unwrap_or_else(|| {
            unsure.set(true);
            false
        })
    };
    let resolver = Resolver::new(&config.profiles, &stored);
    let chain = resolver.chain(profile, &Overrides::from_env(var)).ok()?;
    if unsure.get() {
        return None;
    }
    config.check_credential_source(&chain).ok()?;
    // `vault-full` warns about keys in a plaintext file: that and the rest are its job.
    if matches!(chain.base, Base::PlaintextKeys { .. }) {
        return None;
    }
    let ttls = crate::settings::ttls(var).ok()?;
    let plan = plan(&chain, Options::default(), ttls).ok()?;
    let last = plan.steps.last()?;
    // Before any secret is read, as in `vault-full`.
    crate::process::harden();
    let credentials = store
        .get(&EntryId::Session(last.cache_key.clone()))
        .ok()??;
    let left = credentials.seconds_left(crate::store::now())?;
    if left <= ttls.min.as_secs() as i64 {
        return None;
    }
    Some((credentials, chain.last().region().map(str::to_string)))
}

/// The file store's prompt on the warm path: asking is `vault-full`'s job, so the question
/// is not put and the command is handed over.
struct HandOver;

impl crate::prompt::Prompt for HandOver {
    fn ask(&mut self, _: &str, _: bool) -> Result<zeroize::Zeroizing<String>> {
        Err(Error::Unsupported {
            profile: String::new(),
            what: "a question on the warm path".to_string(),
        })
    }
}

/// Replaces this process with `vault-full` from `vault`'s folder, given the same command
/// line (the program name included, so that usage messages still say `vault`). Returns
/// only when that fails, with the message to print.
#[cfg(unix)]
pub fn hand_over(args: &[OsString]) -> String {
    use std::os::unix::process::CommandExt;
    let full = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(FULL_PROGRAM),
        Err(e) => return format!("cannot find vault's own folder: {e}"),
    };
    let mut command = std::process::Command::new(&full);
    command
        .arg0(
            args.first()
                .map_or(OsStr::new("vault"), OsString::as_os_str),
        )
        .args(args.iter().skip(1));
    // The core-file limit the warm path may have lowered goes back up for `vault-full`,
    // which lowers it again and remembers the person's own for the commands it runs.
    let e = crate::process::with_child_limits(|| command.exec());
    let hint = reinstall_hint(&full);
    if e.kind() == ErrorKind::NotFound {
        return format!(
            "`{}` is missing: this install of vault is broken (`vault` alone serves only its \
             warm path, and hands everything else to `{FULL_PROGRAM}`)\n{hint}",
            full.display()
        );
    }
    format!(
        "cannot run `{}`, which does everything but vault's warm path: {e}\n{hint}",
        full.display()
    )
}

/// How to put `vault-full` back: the Debian package when dpkg installed this `vault`
/// (`/var/lib/dpkg/info/vault.list` names it), else cargo.
#[cfg(unix)]
fn reinstall_hint(full: &std::path::Path) -> String {
    let vault = full.with_file_name("vault");
    let packaged = std::fs::read_to_string("/var/lib/dpkg/info/vault.list")
        .is_ok_and(|list| list.lines().any(|l| std::path::Path::new(l) == vault));
    if packaged {
        "hint: reinstall the package: `sudo apt-get install --reinstall vault`".to_string()
    } else {
        "hint: install both programs, with `cargo install --locked --path .`, or build both \
         with `cargo build`"
            .to_string()
    }
}

#[cfg(not(unix))]
pub fn hand_over(args: &[OsString]) -> String {
    let full = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(FULL_PROGRAM),
        Err(e) => return format!("cannot find vault's own folder: {e}"),
    };
    match std::process::Command::new(&full)
        .args(args.iter().skip(1))
        .status()
    {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => format!("cannot run `{}`: {e}", full.display()),
    }
}
