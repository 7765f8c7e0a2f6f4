//! `vault sso login | logout | populate`: the explicit IAM Identity Center commands. Which
//! session a profile or `--sso-session` names comes from the config here; tokens, logins
//! and portal calls are `crate::sso`'s. Must not: print a token, or change a byte of the
//! config other than appending (populate --write).

use std::io::Write as _;

use crate::cli::{SsoCommand, SsoLoginArgs, SsoLogoutArgs, SsoPopulateArgs};
use crate::config::Config;
use crate::config::resolve::{Base, Overrides, Resolver, place};
use crate::error::{Error, Result};
use crate::settings::default_file_dir;
use crate::sso::{self, Session, aws, cache, login};
use crate::store::{self, Store};

pub fn run(context: &super::Context, command: &SsoCommand) -> Result<()> {
    match command {
        SsoCommand::Login(args) => run_login(context, args),
        SsoCommand::Logout(args) => run_logout(context, args),
        SsoCommand::Populate(args) => run_populate(context, args),
    }
}

/// `[sso-session NAME]` as a session: its start URL (https) and region are required.
fn named(config: &Config, name: &str) -> Result<Session> {
    let bad = |problem: String| Error::BadValue {
        name: "--sso-session",
        problem,
    };
    let Some(section) = config.profiles.sso_session(name) else {
        return Err(bad(format!(
            "there is no `[sso-session {name}]` in `{}`",
            super::display_path(&config.config_path)
        )));
    };
    let at = place(section.origin.file, section.origin.line);
    let get = |key: &str| {
        section
            .get(key)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("`[sso-session {name}]` ({at}) is missing `{key}`")))
    };
    let start_url = get("sso_start_url")?;
    let region = get("sso_region")?;
    check_https(&start_url, || {
        section
            .setting("sso_start_url")
            .map(|s| place(s.origin.file, s.origin.line))
            .unwrap_or(at.clone())
    })
    .map_err(bad)?;
    Ok(Session {
        name: Some(name.to_string()),
        start_url,
        region,
        scopes: sso::parse_scopes(section.get("sso_registration_scopes")),
    })
}

fn check_https(url: &str, at: impl FnOnce() -> String) -> std::result::Result<(), String> {
    if url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "`sso_start_url` must use https: `{url}` ({})",
            at()
        ))
    }
}

/// The session a profile signs in with (its chain's SSO base).
fn of_profile(config: &Config, store: &dyn Store, profile: &str) -> Result<Session> {
    let listing = store.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    let chain = resolver.chain(profile, &Overrides::from_env(super::var))?;
    let Base::Sso {
        profile: base,
        session,
        region,
        start_url,
        places,
        ..
    } = &chain.base
    else {
        return Err(Error::SsoSetting {
            profile: profile.to_string(),
            problem: "its credentials do not come from IAM Identity Center (no `sso_session` or `sso_start_url` in its chain)".to_string(),
        });
    };
    if let Some(name) = session {
        return named(config, name);
    }
    let missing: Vec<&str> = [("sso_start_url", start_url), ("sso_region", region)]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    let (Some(start_url), Some(region)) = (start_url, region) else {
        return Err(Error::SsoSetting {
            profile: base.name.clone(),
            problem: format!(
                "it is configured to use SSO but is missing required configuration: {}",
                missing.join(", ")
            ),
        });
    };
    check_https(start_url, || {
        places.get("sso_start_url").cloned().unwrap_or_default()
    })
    .map_err(|problem| Error::SsoSetting {
        profile: base.name.clone(),
        problem,
    })?;
    Ok(Session {
        name: None,
        start_url: start_url.clone(),
        region: region.clone(),
        scopes: sso::parse_scopes(None),
    })
}

fn sso_context<'a>(
    store: &'a mut dyn Store,
    shared_cache: bool,
    profile: String,
    login: Option<login::Options>,
) -> sso::Context<'a> {
    sso::Context {
        store,
        var: &super::var,
        shared_cache,
        locks: default_file_dir().join("locks"),
        profile,
        login,
    }
}

fn run_login(context: &super::Context, args: &SsoLoginArgs) -> Result<()> {
    let config = super::load_config()?;
    let settings = context.settings()?;
    let mut store = context.store()?;
    let session = match (&args.sso_session, &args.profile) {
        (Some(name), _) => named(&config, name)?,
        (None, Some(profile)) => of_profile(&config, store.as_ref(), profile)?,
        (None, None) => unreachable!("clap requires one"),
    };
    let options = login::Options {
        device_code: args.use_device_code,
        no_browser: args.no_browser,
    };
    let hint = args
        .profile
        .clone()
        .unwrap_or_else(|| format!("--sso-session {}", session.key()));
    let mut sso = sso_context(
        store.as_mut(),
        settings.sso_shared_cache,
        hint,
        Some(options),
    );
    sso.login_now(&session)
}

/// Every sign-in the config names: its `[sso-session]`s and legacy start URLs.
fn all_sessions(config: &Config) -> Vec<Session> {
    let mut sessions: Vec<Session> = config
        .profiles
        .sso_sessions()
        .iter()
        .filter_map(|s| named(config, &s.name).ok())
        .collect();
    for profile in config.profiles.profiles() {
        if profile.get("sso_session").is_none()
            && let (Some(url), Some(region)) =
                (profile.get("sso_start_url"), profile.get("sso_region"))
            && !sessions
                .iter()
                .any(|s| s.name.is_none() && s.start_url == url)
        {
            sessions.push(Session {
                name: None,
                start_url: url.to_string(),
                region: region.to_string(),
                scopes: sso::parse_scopes(None),
            });
        }
    }
    sessions
}

fn run_logout(context: &super::Context, args: &SsoLogoutArgs) -> Result<()> {
    let config = super::load_config()?;
    let settings = context.settings()?;
    let mut store = context.store()?;
    let sessions = match &args.sso_session {
        Some(name) => vec![named(&config, name)?],
        None => all_sessions(&config),
    };
    let url = sso::endpoint_url("AWS_ENDPOINT_URL_SSO", &super::var);
    for session in &sessions {
        let mut sso = sso_context(
            store.as_mut(),
            settings.sso_shared_cache,
            String::new(),
            None,
        );
        let tokens = sso.tokens(session)?;
        for token in &tokens {
            let endpoint = aws::Endpoint {
                region: &session.region,
                url: url.as_deref(),
            };
            if let Err(e) = aws::logout(&endpoint, &token.access_token) {
                crate::debug!("Logout at the portal failed ({e:?}); deleting the token anyway");
            }
        }
        let removed_token = cache::remove_stored(store.as_mut(), session)?;
        let removed_file = cache::remove_shared(session)?;
        let label = session.label();
        let source = session.store_label();
        let sessions = store::remove_sessions(store.as_mut(), |key| key.source == source)?;
        if removed_token || removed_file || sessions > 0 {
            eprintln!(
                "Signed out of {}: {} role session{} deleted",
                crate::text::printable(&label),
                sessions,
                if sessions == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

/// `Dev Account` -> `dev-account`: a profile-name-safe form of an account name.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "_.".contains(c) {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The text of the new profiles: one per (account, role) that has no section yet.
pub fn populate_text(
    config: &Config,
    session: &str,
    pairs: &[(String, String, String)],
    prefix: &str,
    region: Option<&str>,
) -> (String, usize) {
    let mut text = String::new();
    let mut added = 0;
    let mut seen = std::collections::HashSet::new();
    for (account_id, account_name, role) in pairs {
        let name_part = match slug(account_name).as_str() {
            "" => account_id.clone(),
            slug => slug.to_string(),
        };
        let name = format!("{prefix}{name_part}-{}", slug(role));
        if config.profiles.get(&name).is_some() || !seen.insert(name.clone()) {
            continue;
        }
        text.push_str(&format!(
            "\n[profile {name}]\nsso_session = {session}\nsso_account_id = {account_id}\nsso_role_name = {role}\n"
        ));
        if let Some(region) = region {
            text.push_str(&format!("region = {region}\n"));
        }
        added += 1;
    }
    (text, added)
}

fn run_populate(context: &super::Context, args: &SsoPopulateArgs) -> Result<()> {
    let config = super::load_config()?;
    let settings = context.settings()?;
    let mut store = context.store()?;
    let session = named(&config, &args.sso_session)?;
    let login = login::person_present(&super::var).then(login::Options::default);
    let hint = format!("--sso-session {}", args.sso_session);
    let mut sso = sso_context(store.as_mut(), settings.sso_shared_cache, hint, login);
    let token = sso.token(&session, None)?;
    let url = sso::endpoint_url("AWS_ENDPOINT_URL_SSO", &super::var);
    let endpoint = aws::Endpoint {
        region: &session.region,
        url: url.as_deref(),
    };
    let failed = |e: aws::Failure| e.into_error("sso.ListAccounts", &endpoint, "portal.sso");
    let mut accounts = aws::accounts(&endpoint, &token.access_token).map_err(failed)?;
    accounts.sort();
    let mut pairs = Vec::new();
    for (account_id, account_name) in accounts {
        let mut roles = aws::roles(&endpoint, &token.access_token, &account_id)
            .map_err(|e| e.into_error("sso.ListAccountRoles", &endpoint, "portal.sso"))?;
        roles.sort();
        for role in roles {
            pairs.push((account_id.clone(), account_name.clone(), role));
        }
    }
    let (text, added) = populate_text(
        &config,
        &args.sso_session,
        &pairs,
        &args.prefix,
        args.region.as_deref(),
    );
    if !args.write {
        return super::print(text.trim_start_matches('\n'));
    }
    if added > 0 {
        append(&config.config_path, &text)?;
    }
    eprintln!(
        "Added {added} profile{} to `{}` ({} already there)",
        if added == 1 { "" } else { "s" },
        crate::text::printable(&super::display_path(&config.config_path)),
        pairs.len() - added
    );
    Ok(())
}

/// Appends `text` to the config file: the existing bytes are not touched (a newline is
/// added first only when the file does not end with one).
fn append(path: &std::path::Path, text: &str) -> Result<()> {
    let existing = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(store::fs::io_error("read", path)(e)),
    };
    let mut text = text.to_string();
    if existing.is_empty() {
        text = text.trim_start_matches('\n').to_string();
    } else if !existing.ends_with(b"\n") {
        text.insert(0, '\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(store::fs::io_error("open", path))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(store::fs::io_error("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Dev Account"), "dev-account");
        assert_eq!(slug("  Prod (EU)! "), "prod-eu");
        assert_eq!(slug("ünï"), "n");
    }
}
