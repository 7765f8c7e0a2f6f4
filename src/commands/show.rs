//! `vault show PROFILE [--json]`: the resolved settings and the chain, without calling AWS.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::cli::ShowArgs;
use crate::config::Config;
use crate::config::parse::is_secret_key;
use crate::config::resolve::{Base, Chain, From, Overrides, ResolvedProfile, Resolver};
use crate::error::Result;
use crate::store::Listing;
use crate::sts::plan::{self, Call, Options, Plan, Ttls};

pub fn run(context: &super::Context, args: &ShowArgs) -> Result<()> {
    let config = super::load_config()?;
    let listing = context.store()?.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    let overrides = Overrides::from_env(super::var);
    let profile = resolver.profile(&args.profile, &overrides)?;
    let chain = resolver.chain(&args.profile, &overrides)?;
    super::warn_plaintext_keys(&config, &chain);
    let ttls = super::credentials::ttls(super::var)?;
    let plan = match plan::plan(&chain, Options::default(), ttls) {
        Ok(plan) => PlanView::new(&plan, &listing, ttls),
        Err(e) => PlanView {
            steps: Vec::new(),
            notes: Vec::new(),
            error: Some(e.to_string()),
        },
    };
    if args.json {
        let report = Report {
            profile: &profile,
            chain: &chain,
            plan: &plan,
        };
        let mut text = serde_json::to_string_pretty(&report).expect("a report serializes");
        text.push('\n');
        return super::print(&text);
    }
    let mut text = render(&config, &profile, &chain);
    render_plan(&mut text, &plan);
    if let Ok(plan) = plan::plan(&chain, Options::default(), ttls)
        && let Some(session) = plan
            .steps
            .first()
            .and_then(|s| crate::sso::Session::of(&s.call))
    {
        let _ = writeln!(
            text,
            "SSO sign-in ({}): {}",
            session.label(),
            crate::sso::cache::describe(&session, &listing, crate::store::now())
        );
    }
    if let Base::LoginSession { session, .. } = &chain.base {
        let var = super::var;
        let shared =
            crate::signin::cache::shared_path(&var, &crate::signin::cache::home(&var), session);
        let _ = writeln!(
            text,
            "Sign-in session ({session}): {}",
            crate::signin::cache::describe(
                session,
                &listing,
                &shared,
                &chain.base.profile().name,
                crate::store::now()
            )
        );
    }
    // Values come from files someone may have written to deceive: shown escaped.
    super::print(&crate::text::printable(&text))
}

#[derive(Serialize)]
struct Report<'a> {
    profile: &'a ResolvedProfile,
    chain: &'a Chain,
    plan: &'a PlanView,
}

/// The calls `exec` would make now: each step, and whether its session is cached.
#[derive(Serialize)]
struct PlanView {
    steps: Vec<StepView>,
    notes: Vec<String>,
    /// Why no plan could be made (an unsupported source, a bad setting).
    error: Option<String>,
}

#[derive(Serialize)]
struct StepView {
    profile: String,
    #[serde(skip)]
    call: &'static str,
    #[serde(flatten)]
    detail: Call,
    /// Seconds left on a cached session that `exec` would use now.
    cached_seconds_left: Option<u64>,
}

impl PlanView {
    fn new(plan: &Plan, listing: &Listing, ttls: Ttls) -> PlanView {
        let now = crate::store::now();
        let steps = plan
            .steps
            .iter()
            .map(|step| {
                let cached_seconds_left = listing
                    .sessions()
                    .find(|(key, _)| **key == step.cache_key)
                    .and_then(|(_, expiration)| expiration)
                    .map(|e| e.saturating_sub(now))
                    .filter(|&left| left > ttls.min.as_secs());
                StepView {
                    profile: step.profile.clone(),
                    call: step.call.kind(),
                    detail: step.call.clone(),
                    cached_seconds_left,
                }
            })
            .collect();
        PlanView {
            steps,
            notes: plan.notes.clone(),
            error: None,
        }
    }
}

fn render_plan(out: &mut String, plan: &PlanView) {
    out.push_str("Plan (what `vault exec` would do now):\n");
    if let Some(error) = &plan.error {
        let _ = writeln!(out, "  cannot plan: {error}");
        return;
    }
    // The last cached step is where exec starts; the steps before it are not needed.
    let start = plan
        .steps
        .iter()
        .rposition(|s| s.cached_seconds_left.is_some());
    if plan.steps.is_empty() {
        out.push_str("  use the long-lived keys as they are (no STS call)\n");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let state = match (step.cached_seconds_left, start) {
            (Some(left), _) => format!(
                "cached, {} left",
                humantime::format_duration(Duration::from_secs(left))
            ),
            (None, Some(start)) if i < start => "not needed".to_string(),
            (None, _) if matches!(step.detail, Call::SsoGetRoleCredentials { .. }) => {
                "calls IAM Identity Center".to_string()
            }
            (None, _) if matches!(step.detail, Call::SignIn { .. }) => {
                "uses the sign-in session (refreshed when 5 minutes or less are left)".to_string()
            }
            (None, _) => match step.detail.mfa_serial() {
                Some(serial) => format!("calls STS, needs an MFA code for {serial}"),
                None => "calls STS".to_string(),
            },
        };
        let what = match &step.detail {
            Call::AssumeRole {
                role_arn, duration, ..
            } => format!("{} {role_arn} for {}s", step.call, duration),
            Call::AssumeRoleWithWebIdentity {
                role_arn, duration, ..
            } => format!("{} {role_arn} for {}s", step.call, duration),
            Call::GetSessionToken { duration, .. } => format!("{} for {}s", step.call, duration),
            Call::CredentialProcess { .. } => step.call.to_string(),
            Call::SsoGetRoleCredentials {
                account_id,
                role_name,
                ..
            } => format!("{} account {account_id} role {role_name}", step.call),
            Call::SignIn { session } => format!("sign-in session {session}"),
        };
        let _ = writeln!(out, "  {}. {}: {what}: {state}", i + 1, step.profile);
    }
    for note in &plan.notes {
        let _ = writeln!(out, "  note: {note}");
    }
}

/// Settings with secret values hidden.
fn shown_settings(profile: &ResolvedProfile) -> Vec<(&str, &str, &From)> {
    profile
        .settings
        .iter()
        .map(|(key, value)| {
            let shown = if is_secret_key(key) {
                "<hidden>"
            } else {
                value.value.as_str()
            };
            (key.as_str(), shown, &value.from)
        })
        .collect()
}

fn render(config: &Config, profile: &ResolvedProfile, chain: &Chain) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Profile: {}", profile.name);
    let settings = shown_settings(profile);
    let width = settings.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let value_width = settings.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    if !settings.is_empty() {
        out.push_str("Settings:\n");
    }
    for (key, value, from) in settings {
        let from = describe_from(config, &profile.name, from);
        let _ = writeln!(out, "  {key:width$}  {value:value_width$}  {from}");
    }
    out.push_str("Chain:\n");
    let _ = writeln!(out, "  1. {}", describe_base(&chain.base));
    for (i, role) in chain.roles.iter().enumerate() {
        let _ = write!(
            out,
            "  {}. {}: AssumeRole {}",
            i + 2,
            role.name,
            role.role_arn().unwrap_or("")
        );
        if let Some(serial) = role.mfa_serial() {
            let _ = write!(out, " (MFA {serial})");
        }
        out.push('\n');
    }
    out
}

fn describe_from(config: &Config, profile: &str, from: &From) -> String {
    match from {
        From::File {
            profile: owner,
            file,
            line,
        } => {
            let name = super::display_path(config.path(*file));
            if owner == profile {
                format!("{name}:{line}")
            } else {
                format!("{name}:{line} via `{owner}`")
            }
        }
        From::Env { variable } => format!("${variable}"),
        From::Flag { flag } => flag.to_string(),
    }
}

fn describe_base(base: &Base) -> String {
    match base {
        Base::StoredKeys { profile } => {
            format!("{}: long-lived keys stored in the vault", profile.name)
        }
        Base::PlaintextKeys {
            profile,
            access_key_id,
        } => format!(
            "{}: long-lived keys {} written in a plaintext file",
            profile.name,
            mask(access_key_id)
        ),
        Base::NamedSource { profile, source } => {
            format!("{}: credential_source {source}", profile.name)
        }
        Base::WebIdentity {
            profile,
            role_arn,
            token_file,
            ..
        } => format!(
            "{}: AssumeRoleWithWebIdentity {role_arn} with the token in {token_file}",
            profile.name
        ),
        Base::Sso {
            profile,
            session,
            start_url,
            account_id,
            role_name,
            ..
        } => format!(
            "{}: SSO {}{} account {} role {}",
            profile.name,
            start_url.as_deref().unwrap_or("-"),
            session
                .as_deref()
                .map(|s| format!(" (sso-session {s})"))
                .unwrap_or_default(),
            account_id.as_deref().unwrap_or("-"),
            role_name.as_deref().unwrap_or("-"),
        ),
        Base::CredentialProcess { profile, command } => {
            format!("{}: credential_process `{command}`", profile.name)
        }
        Base::LoginSession { profile, session } => {
            format!(
                "{}: sign-in session {session} (`login_session`)",
                profile.name
            )
        }
    }
}

/// `AKIAIOSFODNN7EXAMPLE` -> `****************MPLE`, as aws-vault shows key ids.
pub fn mask(id: &str) -> String {
    let keep = id.len().saturating_sub(4);
    let tail: String = id.chars().skip(keep).collect();
    format!("{}{tail}", "*".repeat(keep))
}
