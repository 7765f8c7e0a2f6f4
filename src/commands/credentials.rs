//! Getting a profile's credentials, shared by `exec` and `export`: resolve the chain, plan
//! the calls, then read the cache or call STS.

use std::time::Duration;

use crate::cli::SessionArgs;
use crate::config::resolve::{Overrides, Resolver};
use crate::error::{Error, Result};
use crate::mfa::MfaSource;
use crate::prompt::Terminal;
use crate::settings::{default_file_dir, parse_duration};
use crate::store::Credentials;
use crate::sts::plan::{self, Options, Ttls};
use crate::sts::session::{RECURSION_VAR, Sessions};

/// What the person asked for with `exec`/`export` options.
pub struct Request<'a> {
    pub profile: &'a str,
    pub duration: Option<Duration>,
    pub no_session: bool,
    pub mfa_token: Option<String>,
    pub region: Option<String>,
}

impl Request<'_> {
    /// From `exec`/`export` options, checked: a code must be 6 digits before any call.
    pub fn new<'a>(profile: &'a str, args: &SessionArgs) -> Result<Request<'a>> {
        if let Some(code) = &args.mfa_token {
            crate::mfa::check(code, "--mfa-token")?;
        }
        let duration = args
            .duration
            .as_deref()
            .map(|d| parse_duration(d, "--duration"))
            .transpose()?;
        Ok(Request {
            profile,
            duration,
            no_session: args.no_session,
            mfa_token: args.mfa_token.clone(),
            region: args.region.clone(),
        })
    }
}

pub struct Obtained {
    pub credentials: Credentials,
    pub region: Option<String>,
}

/// aws-vault's duration variables, defaults where unset.
pub fn ttls(var: impl Fn(&str) -> Option<String>) -> Result<Ttls> {
    let mut ttls = Ttls::default();
    for (name, slot) in [
        ("AWS_SESSION_TOKEN_TTL", &mut ttls.session_token),
        (
            "AWS_CHAINED_SESSION_TOKEN_TTL",
            &mut ttls.chained_session_token,
        ),
        ("AWS_ASSUME_ROLE_TTL", &mut ttls.assume_role),
        ("AWS_MIN_TTL", &mut ttls.min),
    ] {
        if let Some(text) = var(name) {
            *slot = parse_duration(&text, name)?;
        }
    }
    Ok(ttls)
}

/// Refuses to run inside a vault subshell, as aws-vault does.
pub fn refuse_nested() -> Result<()> {
    match super::var("AWS_VAULT") {
        Some(profile) => Err(Error::Nested { profile }),
        None => Ok(()),
    }
}

pub fn obtain(context: &super::Context, request: &Request) -> Result<Obtained> {
    if let Some(chain) = super::var(RECURSION_VAR)
        && chain.split('\n').any(|p| p == request.profile)
    {
        return Err(Error::Recursion {
            profile: request.profile.to_string(),
        });
    }
    let config = super::load_config()?;
    let settings = context.settings()?;
    let mut store = crate::store::open(&settings, Box::new(Terminal))?;
    let listing = store.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    let mut overrides = Overrides::from_env(super::var);
    if let Some(region) = &request.region {
        overrides.flag("region", region.clone(), "--region");
    }
    let chain = resolver.chain(request.profile, &overrides)?;
    super::warn_plaintext_keys(&config, &chain);
    let options = Options {
        duration: request.duration,
        no_session: request.no_session,
    };
    let ttls = ttls(super::var)?;
    let plan = plan::plan(&chain, options, ttls)?;
    for note in &plan.notes {
        crate::debug!("plan: {note}");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        crate::debug!(
            "plan: {}. {} for `{}`",
            i + 1,
            step.call.kind(),
            step.profile
        );
    }
    let region = chain
        .roles
        .last()
        .unwrap_or(chain.base.profile())
        .region()
        .map(str::to_string);
    let mut terminal = Terminal;
    let mut sessions = Sessions {
        store: store.as_mut(),
        chain: &chain,
        plan: &plan,
        selected: request.profile,
        min_ttl: ttls.min,
        mfa: MfaSource {
            token: request.mfa_token.clone(),
            driver: settings.prompt.clone(),
            prompt: &mut terminal,
        },
        locks: default_file_dir().join("locks"),
        var: &super::var,
    };
    let credentials = sessions.credentials()?;
    Ok(Obtained {
        credentials,
        region,
    })
}
