//! `vault sso login | logout | populate`: the explicit IAM Identity Center commands. Which
//! session a profile or `--sso-session` names comes from the config here; tokens, logins
//! and portal calls are `crate::sso`'s. Must not: print a token, or change a byte of the
//! config other than appending (populate --write).

mod populate;

use crate::cli::{SsoCommand, SsoLoginArgs, SsoLogoutArgs};
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
        SsoCommand::Populate(args) => populate::run(context, args),
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
