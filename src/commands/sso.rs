//! `vault sso login | logout | populate`: the explicit IAM Identity Center commands. Which
//! session a profile or `--sso-session` names comes from the config here; tokens, logins
//! and portal calls are `crate::sso`'s. Must not: print a token, or change a byte of the
//! config other than appending (populate --write).

mod populate;

use crate::cli::{SsoCommand, SsoLoginArgs, SsoLogoutArgs};
use crate::config::Config;
use crate::config::resolve::{self, Base, Overrides, Resolver};
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
    let Some(section) = config.profiles.sso_session(name) else {
        return Err(Error::BadValue {
            name: "--sso-session",
            problem: format!(
                "there is no `[sso-session {name}]` in `{}`",
                super::display_path(&config.config_path)
            ),
        });
    };
    let place = |origin| config.profiles.place(origin);
    let url = section
        .setting("sso_start_url")
        .map(|s| (s.value.as_str(), place(s.origin)));
    let (start_url, region) = resolve::sso_start(
        &format!("`[sso-session {name}]`"),
        Some(&place(section.origin)),
        url.as_ref().map(|(url, at)| (*url, Some(at))),
        section.get("sso_region"),
        name,
    )?;
    Ok(Session {
        name: Some(name.to_string()),
        start_url: start_url.to_string(),
        region: region.to_string(),
        scopes: sso::parse_scopes(section.get("sso_registration_scopes")),
    })
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
    let url = start_url
        .as_deref()
        .map(|url| (url, places.get("sso_start_url")));
    let (start_url, region) = resolve::sso_start(
        &format!("`[profile {}]`", base.name),
        places.get(resolve::PROFILE_HEADER),
        url,
        region.as_deref(),
        &base.name,
    )?;
    Ok(Session {
        name: None,
        start_url: start_url.to_string(),
        region: region.to_string(),
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
        device_code: match (args.use_device_code, args.use_authorization_code) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
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
