//! Getting a profile's credentials, shared by `exec`, `export`, `login` and `rotate`: resolve
//! the chain, plan the calls, then read the cache or call STS.

use std::time::Duration;

use crate::cli::SessionArgs;
use crate::config::resolve::{Chain, Overrides, Resolver};
use crate::error::{Error, Result};
use crate::mfa::MfaSource;
use crate::prompt::Prompt;
pub use crate::settings::ttls;
use crate::settings::{Settings, default_file_dir, parse_duration};
use crate::store::{Credentials, Store};
use crate::sts::plan::{self, Options};
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
    let mut prepared = prepare(context, request.profile, request.region.as_deref())?;
    let options = Options {
        duration: request.duration,
        no_session: request.no_session,
    };
    let credentials = prepared.credentials(request.profile, options, request.mfa_token.clone())?;
    Ok(Obtained {
        credentials,
        region: prepared.region(),
    })
}

/// A profile's chain, resolved against the config and the vault, and the open store.
pub struct Prepared {
    pub settings: Settings,
    pub store: Box<dyn Store>,
    pub chain: Chain,
    /// Who asks for MFA codes.
    pub asker: Box<dyn Prompt>,
}

/// Resolves `profile` (with `--region` when given) and opens the store.
pub fn prepare(context: &super::Context, profile: &str, region: Option<&str>) -> Result<Prepared> {
    let config = super::load_config()?;
    let settings = context.settings()?;
    let store = crate::store::open(&settings, context.asker(&settings))?;
    let listing = store.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    let mut overrides = Overrides::from_env(super::var);
    if let Some(region) = region {
        overrides.flag("region", region.to_string(), "--region");
    }
    let chain = resolver.chain(profile, &overrides)?;
    config.check_credential_source(&chain)?;
    super::warn_plaintext_keys(&config, &chain);
    let asker = context.asker(&settings);
    Ok(Prepared {
        settings,
        store,
        chain,
        asker,
    })
}

impl Prepared {
    /// The region of the profile whose credentials come last in the chain.
    pub fn region(&self) -> Option<String> {
        self.chain.last().region().map(str::to_string)
    }

    /// Plans the chain and gets its final credentials: fresh cached sessions, else calls.
    pub fn credentials(
        &mut self,
        selected: &str,
        options: Options,
        mfa_token: Option<String>,
    ) -> Result<Credentials> {
        let ttls = ttls(super::var)?;
        let plan = plan::plan(&self.chain, options, ttls)?;
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
        let mut sessions = Sessions {
            store: self.store.as_mut(),
            chain: &self.chain,
            plan: &plan,
            selected,
            min_ttl: ttls.min,
            mfa: MfaSource {
                token: mfa_token,
                named: self.settings.prompt,
                prompt: self.asker.as_mut(),
            },
            locks: default_file_dir().join("locks"),
            var: &super::var,
            sso_shared_cache: self.settings.sso_shared_cache,
            login_shared_cache: self.settings.login_shared_cache,
        };
        sessions.credentials()
    }
}
