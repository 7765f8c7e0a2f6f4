//! `vault signin PROFILE [--region R] [--remote]` and `vault signout PROFILE`: sign-in
//! sessions made and ended by hand. Which profile is signed in (the chain's `login_session`
//! base, or a profile with no credentials yet) comes from the config here; the sign-in, the
//! token's home and the token call are `crate::signin`'s. Must not: print a token, change a
//! config byte other than the profile's `login_session` line, or keep anything of a sign-in
//! that did not finish.

use crate::cli::{SigninArgs, SignoutArgs};
use crate::config::resolve::{Base, Overrides, Resolver};
use crate::error::{Error, Result};
use crate::settings::default_file_dir;
use crate::signin::session::{Context, Home, refresh_call};
use crate::signin::{self, cache, login};
use crate::store;

/// The profile `login_session` goes into, and the session it names now (if any).
struct Target {
    profile: String,
    session: Option<String>,
    region: Option<String>,
    /// The profile has no section yet: one is added.
    new: bool,
}

fn target(
    config: &crate::config::Config,
    stored: &dyn Fn(&str) -> bool,
    profile: &str,
) -> Result<Target> {
    let resolver = Resolver::new(&config.profiles, stored);
    let overrides = Overrides::from_env(super::var);
    match resolver.chain(profile, &overrides) {
        Ok(chain) => match &chain.base {
            Base::LoginSession {
                profile: base,
                session,
            } => Ok(Target {
                profile: base.name.clone(),
                session: Some(session.clone()),
                region: base.region().map(str::to_string),
                new: false,
            }),
            other => Err(Error::LoginSession {
                problem: format!(
                    "profile `{profile}` already gets its credentials from `{}` ({}), so it cannot hold a sign-in session",
                    other.profile().name,
                    what(other)
                ),
                hint: "sign in a profile of its own (`vault signin NEW-NAME`), and point `source_profile` at it".to_string(),
            }),
        },
        // A profile with no credentials yet: it becomes the sign-in's, as with `aws login`.
        Err(Error::NoCredentials { profile: none, .. }) if none == profile => {
            let resolved = resolver.profile(profile, &overrides)?;
            Ok(Target {
                profile: profile.to_string(),
                session: None,
                region: resolved.region().map(str::to_string),
                new: false,
            })
        }
        Err(Error::ProfileNotFound {
            profile: missing, ..
        }) if missing == profile => Ok(Target {
            profile: profile.to_string(),
            session: None,
            region: overrides
                .settings
                .iter()
                .rev()
                .find(|(key, _, _)| *key == "region")
                .map(|(_, value, _)| value.clone()),
            new: true,
        }),
        Err(e) => Err(e),
    }
}

fn what(base: &Base) -> &'static str {
    match base {
        Base::StoredKeys { .. } => "keys stored in the vault",
        Base::PlaintextKeys { .. } => "keys in a plaintext file",
        Base::NamedSource { .. } => "`credential_source`",
        Base::WebIdentity { .. } => "a web identity token",
        Base::Sso { .. } => "IAM Identity Center",
        Base::CredentialProcess { .. } => "`credential_process`",
        Base::LoginSession { .. } => "a sign-in session",
    }
}

pub fn run_signin(context: &super::Context, args: &SigninArgs) -> Result<()> {
    let config = super::load_config()?;
    let settings = context.settings()?;
    let mut store = context.store()?;
    let listing = store.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let target = target(&config, &stored, &args.profile)?;
    if target.session.is_none() {
        // `login_session` will be written: a config vault will not edit is refused before
        // the browser opens.
        crate::config::edit::check(&config.config_path)?;
    }
    let region = args
        .region
        .clone()
        .or(target.region.clone())
        .unwrap_or_else(|| "us-east-1".to_string());
    let endpoint = signin::endpoint(&region, &super::var).map_err(|problem| Error::BadValue {
        name: if args.region.is_some() {
            "--region"
        } else {
            signin::ENDPOINT_VARIABLE
        },
        problem,
    })?;
    let locks = default_file_dir().join("locks");
    // One sign-in at a time for this session (or profile, before it has one).
    let _held = cache::lock(&locks, target.session.as_deref().unwrap_or(&target.profile))?;
    let mut asker = context.asker(&settings);
    let mut ask = |question: &str| asker.ask(question, false);
    let options = login::Options {
        remote: args.remote,
    };
    let (session, token) = login::sign_in(
        &endpoint,
        &region,
        &options,
        &target.profile,
        &super::var,
        &mut ask,
    )?;
    let var = super::var;
    let mut signin = Context {
        store: store.as_mut(),
        var: &var,
        home: cache::home(&var),
        locks: locks.clone(),
        profile: target.profile.clone(),
        region: Some(region.clone()),
        refresher: &refresh_call,
    };
    // A session's token has one home: the AWS CLI's file when asked for (or when the same
    // session's token is already there), else vault's store.
    let shared_path = cache::shared_path(&var, &signin.home, &session);
    let home = if settings.login_shared_cache
        || (target.session.as_deref() == Some(session.as_str()) && shared_path.exists())
    {
        Home::Shared(shared_path)
    } else {
        Home::Store
    };
    signin.save(&session, &home, &token)?;
    if target.session.as_deref() != Some(session.as_str()) {
        write_login_session(&config, &target, &session)?;
    }
    let kept = match &home {
        Home::Shared(path) => format!(
            "`{}` (plaintext, as the AWS CLI keeps it)",
            crate::paths::display_path(path)
        ),
        Home::Store => "vault's store".to_string(),
    };
    let done = format!(
        "Profile `{}` is signed in as {session} (`login_session`); the session's token is in {kept}.",
        target.profile
    );
    eprintln!("{}", crate::text::printable(&done));
    Ok(())
}

pub fn run_signout(context: &super::Context, args: &SignoutArgs) -> Result<()> {
    let config = super::load_config()?;
    let mut store = context.store()?;
    let listing = store.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let target = target(&config, &stored, &args.profile)?;
    let Some(session) = target.session else {
        return Err(Error::LoginSession {
            problem: format!(
                "profile `{}` has no sign-in session (`login_session`)",
                args.profile
            ),
            hint: format!("`vault signin {}` makes one", args.profile),
        });
    };
    let var = super::var;
    let mut signin = Context {
        store: store.as_mut(),
        var: &var,
        home: cache::home(&var),
        locks: default_file_dir().join("locks"),
        profile: target.profile.clone(),
        region: target.region.clone(),
        refresher: &refresh_call,
    };
    let removed = signin.remove(&session)?;
    let label = cache::store_label(&session);
    let sessions = store::remove_sessions(store.as_mut(), |key| key.source == label)?;
    let what = if removed {
        "Removed the sign-in session's token"
    } else {
        "There was no sign-in session token"
    };
    let done = format!(
        "{what} for `{}` ({session}), and {sessions} cached session(s) made from it. Nothing is revoked at AWS: credentials already handed out keep working until they expire (15 minutes; role sessions made from them, until theirs).",
        target.profile
    );
    eprintln!("{}", crate::text::printable(&done));
    Ok(())
}

/// Sets `login_session = <session>` in the target's section of the config file, every
/// other byte as it was (a new `[profile NAME]` section is appended when there is none).
fn write_login_session(
    config: &crate::config::Config,
    target: &Target,
    session: &str,
) -> Result<()> {
    crate::config::edit::set_key(
        &config.config_path,
        &target.profile,
        "login_session",
        session,
    )?;
    if target.new {
        let added = format!(
            "Added `[profile {}]` to `{}`.",
            target.profile,
            crate::paths::display_path(&config.config_path)
        );
        eprintln!("{}", crate::text::printable(&added));
    }
    Ok(())
}
