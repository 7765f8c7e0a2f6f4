//! The profile picker's place in the command line: `exec`, `export`, `login` and `rotate`
//! with no profile (and `AWS_PROFILE` unset), at a terminal, ask which with
//! `prompt::picker`, then run as if it had been typed. Elsewhere the command line is left
//! alone, and its usage error is the one it always was.
//! Must not: ask when there is no terminal, or print to stdout.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::config::resolve::{Base, Overrides, Resolver};
use crate::error::Result;
use crate::prompt::picker::{self, Row};

/// The commands that offer the picker.
const PICKING: &[&str] = &["exec", "export", "login", "rotate"];

/// When clap found no profile for a picking command and a person is at a terminal: the
/// command line with the profile they picked. `None`: not a case for the picker.
pub fn pick_missing_profile(
    args: &[OsString],
    error: &clap::Error,
) -> Option<Result<Vec<OsString>>> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::MissingRequiredArgument {
        return None;
    }
    let missing_profile = matches!(
        error.get(ContextKind::InvalidArg),
        Some(ContextValue::Strings(names)) if names.iter().any(|n| n == "<PROFILE>")
    );
    let at = args
        .iter()
        .skip(1)
        .position(|a| a.to_str().is_some_and(|a| PICKING.contains(&a)))?
        + 1;
    if !missing_profile
        || super::var("AWS_PROFILE").is_some()
        || !std::io::stdin().is_terminal()
        || !crate::prompt::terminal_available()
    {
        return None;
    }
    Some(pick().map(|profile| {
        let mut args = args.to_vec();
        // Before `--` (what follows is the command), else at the end.
        let end = args[at..]
            .iter()
            .position(|a| a == "--")
            .map_or(args.len(), |i| at + i);
        args.insert(end, OsString::from(profile));
        args
    }))
}

/// Where the last pick is kept: `$XDG_STATE_HOME/vault/last-profile` (not a secret).
fn last_path() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .map(|dir| dir.join("vault").join("last-profile"))
}

fn pick() -> Result<String> {
    let rows = rows()?;
    if rows.is_empty() {
        return Err(crate::error::Error::ProfileNotFound {
            profile: String::new(),
            referenced_from: None,
            suggestion: None,
            none_defined: true,
        });
    }
    let last = last_path().and_then(|p| std::fs::read_to_string(p).ok());
    let rows = picker::order(rows, last.as_deref().map(str::trim));
    let picked = picker::pick(&rows)?;
    if let Some(path) = last_path() {
        // Best effort: a pick not remembered only changes the order next time.
        if let Some(dir) = path.parent()
            && crate::store::fs::private_dir(dir).is_ok()
        {
            let _ = crate::store::fs::write_atomic(&path, picked.as_bytes());
        }
    }
    Ok(picked)
}

/// One row a profile: its name, what it is, its freshest session's time left. Read from the
/// config and the store's listing: no passphrase, no network.
fn rows() -> Result<Vec<Row>> {
    let config = super::load_config()?;
    let settings = crate::settings::Settings::load(None, super::var)?;
    let store = crate::store::open(&settings, Box::new(crate::prompt::Scripted::new(&[])));
    let listing = store.and_then(|s| s.list()).unwrap_or_default();
    let now = crate::store::now();
    let mut left: HashMap<&str, u64> = HashMap::new();
    for (key, expiration) in listing.sessions() {
        if let Some(until) = expiration.filter(|&e| e > now) {
            let entry = left.entry(key.profile.as_str()).or_default();
            *entry = (*entry).max(until - now);
        }
    }
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    Ok(super::listed_profiles(&config.profiles)
        .map(|name| {
            let kind = match resolver.chain(name, &Overrides::default()) {
                Ok(chain) if !chain.roles.is_empty() => "role",
                Ok(chain) => match chain.base {
                    Base::StoredKeys { .. } | Base::PlaintextKeys { .. } => "keys",
                    Base::Sso { .. } => "sso",
                    Base::CredentialProcess { .. } => "process",
                    _ => "other",
                },
                Err(_) => "?",
            };
            Row {
                profile: name.to_string(),
                kind: kind.to_string(),
                session: left
                    .get(name)
                    .map(|&s| crate::doctor::short(std::time::Duration::from_secs(s))),
            }
        })
        .collect())
}
