//! `vault show PROFILE [--json]`: the resolved settings and the chain, without calling AWS.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::ShowArgs;
use crate::config::Config;
use crate::config::parse::is_secret_key;
use crate::config::resolve::{Base, Chain, From, Overrides, ResolvedProfile, Resolver};
use crate::error::Result;

pub fn run(context: &super::Context, args: &ShowArgs) -> Result<()> {
    let config = super::load_config()?;
    let listing = context.store()?.list()?;
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    let overrides = Overrides::from_env(super::var);
    let profile = resolver.profile(&args.profile, &overrides)?;
    let chain = resolver.chain(&args.profile, &overrides)?;
    super::warn_plaintext_keys(&config, &chain);
    if args.json {
        let report = Report {
            profile: &profile,
            chain: &chain,
        };
        let mut text = serde_json::to_string_pretty(&report).expect("a report serializes");
        text.push('\n');
        return super::print(&text);
    }
    super::print(&render(&config, &profile, &chain))
}

#[derive(Serialize)]
struct Report<'a> {
    profile: &'a ResolvedProfile,
    chain: &'a Chain,
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
            start_url,
            account_id,
            role_name,
            ..
        } => format!(
            "{}: SSO {} account {} role {} (SSO login is not supported yet)",
            profile.name,
            start_url.as_deref().unwrap_or("-"),
            account_id.as_deref().unwrap_or("-"),
            role_name.as_deref().unwrap_or("-"),
        ),
        Base::CredentialProcess { profile, command } => {
            format!("{}: credential_process `{command}`", profile.name)
        }
    }
}

/// `AKIAIOSFODNN7EXAMPLE` -> `****************MPLE`, as aws-vault shows key ids.
pub fn mask(id: &str) -> String {
    let keep = id.len().saturating_sub(4);
    let tail: String = id.chars().skip(keep).collect();
    format!("{}{tail}", "*".repeat(keep))
}
