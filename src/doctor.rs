//! `vault doctor`'s checks, as pure functions over facts the command gathers (files, modes,
//! the store, profiles, SSO tokens, and, unless `--offline`, one STS and two IAM answers per
//! base profile). Each check says ok, warn, fail or not checked, why in one line, and the
//! exact command that fixes it. `render_text` and `render_json` (stable, `version` 1) show
//! them.
//!
//! Must not: do I/O, read the clock (the caller passes `now`), or hold a secret: access keys
//! are named by masked ids only.

use std::time::{Duration, SystemTime};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    /// The check could not be made (no network, a call refused without MFA).
    NotChecked,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::NotChecked => "skip",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Stable name: `plaintext-keys`, `aws-vault-store`, `file-mode`, `backend`, `profile`,
    /// `unknown-key`, `sso-session`, `vault-full`, `clock`, `key-age`, `mfa-device`.
    pub check: &'static str,
    pub status: Status,
    /// What it is about: a profile, a path, a session; empty for the whole setup.
    pub subject: String,
    /// Why, in one line.
    pub message: String,
    /// The command that fixes it, when there is one.
    pub fix: Option<String>,
}

fn check(
    name: &'static str,
    status: Status,
    subject: impl Into<String>,
    message: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        check: name,
        status,
        subject: subject.into(),
        message: message.into(),
        fix,
    }
}

/// Days after which an access key should be rotated (AWS's own advice, and CIS 1.14).
pub const KEY_AGE_DAYS: u64 = 90;
/// Seconds of clock difference past which TOTP codes and signatures start to fail.
pub const MAX_SKEW_SECONDS: i64 = 60;
/// An SSO sign-in ending sooner than this is reported.
pub const SSO_WARN: Duration = Duration::from_secs(24 * 3600);

/// `****************ABCD`.
pub fn mask(id: &str) -> String {
    let keep = id.len().saturating_sub(4);
    format!("{}{}", "*".repeat(keep), id.get(keep..).unwrap_or_default())
}

/// Profiles whose keys sit in plaintext in the credentials file (`path` as shown).
pub fn plaintext_keys(path: &str, profiles: &[String]) -> Vec<Check> {
    if profiles.is_empty() {
        return vec![check(
            "plaintext-keys",
            Status::Ok,
            path,
            format!("no long-lived keys in plaintext in `{path}`"),
            None,
        )];
    }
    profiles
        .iter()
        .map(|profile| {
            check(
                "plaintext-keys",
                Status::Warn,
                profile.as_str(),
                format!("profile `{profile}` keeps long-lived keys in plaintext in `{path}`"),
                Some(format!("vault import credentials-file --profile {profile}")),
            )
        })
        .collect()
}

/// An aws-vault store found here, and what of it vault lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsVaultStore {
    /// aws-vault's backend name, as `--from` takes it (`file`, `secret-service`, `pass`, ...).
    pub backend: String,
    /// What and where it is, as shown: "file store `~/.awsvault/keys`".
    pub location: String,
    /// What `--from BACKEND` also needs to find it (` --dir …`), or nothing.
    pub flags: String,
    /// Profiles with keys there and none in vault; or why its names cannot be read without
    /// unlocking it.
    pub missing: Result<Vec<String>, String>,
}

pub fn aws_vault_stores(stores: &[AwsVaultStore]) -> Vec<Check> {
    let waiting: Vec<_> = stores
        .iter()
        .filter(|s| s.missing.as_ref().map_or(true, |m| !m.is_empty()))
        .collect();
    if waiting.is_empty() {
        let message = if stores.is_empty() {
            "no aws-vault store holds keys that vault lacks (none found)".to_string()
        } else {
            let looked: Vec<&str> = stores.iter().map(|s| s.location.as_str()).collect();
            format!(
                "no aws-vault store holds keys that vault lacks (looked in aws-vault's {})",
                looked.join(", ")
            )
        };
        return vec![check("aws-vault-store", Status::Ok, "", message, None)];
    }
    waiting
        .iter()
        .map(|store| {
            let import = format!(
                "vault import aws-vault --from {}{}",
                store.backend, store.flags
            );
            match &store.missing {
                Ok(missing) => check(
                    "aws-vault-store",
                    Status::Warn,
                    store.location.as_str(),
                    format!(
                        "aws-vault's {} has keys not imported: {}",
                        store.location,
                        list(missing)
                    ),
                    Some(import),
                ),
                Err(why) => check(
                    "aws-vault-store",
                    Status::NotChecked,
                    store.location.as_str(),
                    format!("aws-vault's {} was not looked into: {why}", store.location),
                    Some(format!("{import} --dry-run")),
                ),
            }
        })
        .collect()
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a file or folder vault cares about is, and how it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMode {
    /// As shown.
    pub path: String,
    pub is_dir: bool,
    /// Permission bits.
    pub mode: u32,
    pub owned_by_me: bool,
    pub kind: PathKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// `~/.aws` and the config: whoever can write them can make vault run a program.
    AwsConfig,
    /// The credentials file: it may hold keys.
    Credentials,
    /// Vault's store folder: must be the person's own and 0700.
    Store,
}

pub fn modes(paths: &[PathMode]) -> Vec<Check> {
    let mut out = Vec::new();
    for p in paths {
        let want = match (p.kind, p.is_dir) {
            (PathKind::Store, _) | (_, true) => 0o700,
            _ => 0o600,
        };
        let (status, problem) = if !p.owned_by_me {
            (Status::Fail, Some("is owned by another user"))
        } else if p.mode & 0o022 != 0 {
            (
                Status::Fail,
                Some("can be written by others, who could make vault run a program"),
            )
        } else if p.kind == PathKind::Store && p.mode & 0o077 != 0 {
            (
                Status::Fail,
                Some("is open to others, so vault will not use it"),
            )
        } else if p.kind == PathKind::Credentials && p.mode & 0o044 != 0 {
            (Status::Warn, Some("can be read by others"))
        } else {
            (Status::Ok, None)
        };
        let shown_mode = format!("{:o}", p.mode & 0o7777);
        out.push(match problem {
            None => check(
                "file-mode",
                Status::Ok,
                p.path.as_str(),
                format!("`{}` is {shown_mode}", p.path),
                None,
            ),
            Some(problem) => check(
                "file-mode",
                status,
                p.path.as_str(),
                format!("`{}` ({shown_mode}) {problem}", p.path),
                Some(if p.owned_by_me {
                    format!("chmod {want:o} {}", p.path)
                } else {
                    format!("sudo chown \"$USER\" {}", p.path)
                }),
            ),
        });
    }
    out
}

/// How the store answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Answers,
    /// It answers, but asks for a passphrase (or an unlock) before it gives an entry.
    Locked,
    Unavailable(String),
}

pub fn backend(name: &str, state: &Backend) -> Check {
    match state {
        Backend::Answers => check(
            "backend",
            Status::Ok,
            name,
            format!("the `{name}` backend answers"),
            None,
        ),
        Backend::Locked => check(
            "backend",
            Status::Ok,
            name,
            format!(
                "the `{name}` backend answers; it is locked, so the next command that needs a key asks to unlock it"
            ),
            None,
        ),
        Backend::Unavailable(problem) => check(
            "backend",
            Status::Fail,
            name,
            format!("the `{name}` backend does not answer: {problem}"),
            Some("vault --backend file list".to_string()),
        ),
    }
}

/// A profile, and what resolving it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFacts {
    pub name: String,
    /// The resolver's error, on one line.
    pub problem: Option<String>,
    /// Keys neither vault nor the AWS CLI reads: `(key, where, a known key it may mean)`.
    pub unknown: Vec<(String, String, Option<String>)>,
}

pub fn profiles(facts: &[ProfileFacts]) -> Vec<Check> {
    let mut out = Vec::new();
    for p in facts {
        out.push(match &p.problem {
            None => check(
                "profile",
                Status::Ok,
                p.name.as_str(),
                format!("profile `{}` resolves", p.name),
                None,
            ),
            Some(problem) => check(
                "profile",
                Status::Fail,
                p.name.as_str(),
                format!("profile `{}` does not resolve: {problem}", p.name),
                Some(format!("vault show {}", p.name)),
            ),
        });
        for (key, place, meant) in &p.unknown {
            let meant = meant
                .as_ref()
                .map(|m| format!("; did you mean `{m}`?"))
                .unwrap_or_default();
            out.push(check(
                "unknown-key",
                Status::Warn,
                p.name.as_str(),
                format!(
                    "profile `{}` sets `{key}` ({place}), which vault and the AWS CLI ignore{meant}",
                    p.name
                ),
                Some(format!("edit {place}")),
            ));
        }
    }
    out
}

/// Keys of the shared config that vault or the AWS CLI read: any other is likely a typo.
pub const KNOWN_KEYS: &[&str] = &[
    // vault (SPEC, "Files and settings"), sign-in and SSO.
    "source_profile",
    "role_arn",
    "mfa_serial",
    "mfa_process",
    "external_id",
    "role_session_name",
    "duration_seconds",
    "region",
    "include_profile",
    "credential_process",
    "credential_source",
    "web_identity_token_file",
    "session_tags",
    "transitive_session_tags",
    "source_identity",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "sso_registration_scopes",
    "sso_token_cache",
    "endpoint_url",
    "sts_regional_endpoints",
    "login_session",
    "login_token_cache",
    "parent_profile",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_account_id",
    // The AWS CLI and SDKs.
    "output",
    "cli_pager",
    "cli_timestamp_format",
    "cli_follow_urlparam",
    "cli_binary_format",
    "cli_auto_prompt",
    "cli_history",
    "ca_bundle",
    "parameter_validation",
    "tcp_keepalive",
    "max_attempts",
    "retry_mode",
    "use_dualstack_endpoint",
    "use_fips_endpoint",
    "ignore_configured_endpoint_urls",
    "services",
    "s3",
    "defaults_mode",
    "account_id_endpoint_mode",
    "request_checksum_calculation",
    "response_checksum_validation",
    "sigv4a_signing_region_set",
    "disable_request_compression",
    "request_min_compression_size_bytes",
    "metadata_service_timeout",
    "metadata_service_num_attempts",
    "ec2_metadata_service_endpoint",
    "ec2_metadata_service_endpoint_mode",
    "ec2_metadata_v1_disabled",
    "auth_scheme_preference",
    "sdk_ua_app_id",
    "role_arn_session_name",
    "aws_session_expiration",
    "aws_credential_expiration",
];

/// An SSO sign-in (`[sso-session]` or a legacy start URL) and its token's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoFacts {
    pub name: String,
    /// The option `vault sso login` takes for it (`--sso-session NAME` or a profile).
    pub login: String,
    pub ends: Option<SystemTime>,
}

pub fn sso_sessions(facts: &[SsoFacts], now: SystemTime) -> Vec<Check> {
    facts
        .iter()
        .map(|s| {
            let fix = Some(format!("vault sso login {}", s.login));
            match s.ends.map(|end| end.duration_since(now)) {
                None => check(
                    "sso-session",
                    Status::Ok,
                    s.name.as_str(),
                    format!(
                        "`{}`: not signed in; the first command that needs it signs in",
                        s.name
                    ),
                    None,
                ),
                Some(Err(_)) => check(
                    "sso-session",
                    Status::Warn,
                    s.name.as_str(),
                    format!("`{}`: the sign-in has ended", s.name),
                    fix,
                ),
                Some(Ok(left)) if left < SSO_WARN => check(
                    "sso-session",
                    Status::Warn,
                    s.name.as_str(),
                    format!("`{}`: the sign-in ends in {}", s.name, short(left)),
                    fix,
                ),
                Some(Ok(left)) => check(
                    "sso-session",
                    Status::Ok,
                    s.name.as_str(),
                    format!("`{}`: signed in for {}", s.name, short(left)),
                    None,
                ),
            }
        })
        .collect()
}

/// `3h12m`, `45m`, `2d3h`: a duration the way `list` shows time left.
pub fn short(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h{minutes:02}m"),
        _ => format!("{days}d{hours}h"),
    }
}

/// `vault-full` beside `vault` (`None`: this program is `vault-full` run on its own, which
/// needs nothing beside it).
pub fn vault_full(beside: Option<(&str, bool)>) -> Check {
    match beside {
        None | Some((_, true)) => check(
            "vault-full",
            Status::Ok,
            beside.map_or("", |(path, _)| path),
            "`vault-full` is installed beside `vault`",
            None,
        ),
        Some((path, false)) => check(
            "vault-full",
            Status::Fail,
            path,
            format!("`{path}` is missing: `vault` hands every command but the warm path to it"),
            Some(
                "cargo install --locked --path . (installs `vault` and `vault-full` together)"
                    .to_string(),
            ),
        ),
    }
}

/// How an online call went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Got(T),
    /// Refused (AccessDenied) with keys used without MFA: the account asks for MFA first.
    NeedsMfa,
    /// AWS refused the keys themselves.
    KeysRefused(String),
    /// Anything else, on one line (unreachable, throttled, ...).
    Failed(String),
}

/// An active access key: its id and when it was created.
pub type KeyFacts = (String, Option<SystemTime>);

/// What the online checks learned about one base profile (a profile with stored keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Online {
    pub profile: String,
    /// The stored access key id (only shown masked).
    pub key_id: String,
    /// The profile's `mfa_serial`, if set.
    pub mfa_serial: Option<String>,
    /// GetCallerIdentity: the caller's ARN and STS's `Date`.
    pub identity: Answer<(String, Option<SystemTime>)>,
    /// ListAccessKeys: `(id, created)` of each active key.
    pub keys: Option<Answer<Vec<KeyFacts>>>,
    /// ListMFADevices: serials.
    pub devices: Option<Answer<Vec<String>>>,
}

fn not_checked<T>(name: &'static str, profile: &str, answer: &Answer<T>) -> Option<Check> {
    let (status, message, fix) = match answer {
        Answer::Got(_) => return None,
        Answer::NeedsMfa => (
            Status::NotChecked,
            format!(
                "`{profile}`: not checked (needs MFA): the account refuses this call without MFA"
            ),
            None,
        ),
        Answer::KeysRefused(code) => (
            Status::Fail,
            format!("`{profile}`: AWS refused the stored keys ({code})"),
            Some(format!("vault add {profile}")),
        ),
        Answer::Failed(problem) => (
            Status::NotChecked,
            format!("`{profile}`: not checked: {problem}"),
            None,
        ),
    };
    Some(check(name, status, profile, message, fix))
}

/// The clock, key-age and MFA checks of one base profile. `now` is the local clock when the
/// answer came.
pub fn online(facts: &Online, now: SystemTime) -> Vec<Check> {
    let p = facts.profile.as_str();
    let mut out = Vec::new();
    match &facts.identity {
        Answer::Got((arn, date)) => {
            out.push(clock(p, *date, now));
            if !arn.contains(":user/") {
                let what = if arn.ends_with(":root") {
                    "the account's root user"
                } else {
                    "not an IAM user"
                };
                out.push(check(
                    "key-age",
                    Status::Fail,
                    p,
                    format!("`{p}`: the stored keys are {what}'s (`{arn}`)"),
                    // Replaced with an IAM user's keys, which setup asks for.
                    Some(format!("vault remove {p} && vault setup {p}")),
                ));
                return out;
            }
        }
        other => {
            out.extend(not_checked("clock", p, other));
            return out;
        }
    }
    if let Some(keys) = &facts.keys {
        out.extend(not_checked("key-age", p, keys));
        if let Answer::Got(keys) = keys {
            out.push(key_age(p, &facts.key_id, keys, now));
        }
    }
    if let Some(devices) = &facts.devices {
        out.extend(not_checked("mfa-device", p, devices));
        if let Answer::Got(devices) = devices {
            out.push(mfa_device(p, facts.mfa_serial.as_deref(), devices));
        }
    }
    out
}

fn clock(p: &str, date: Option<SystemTime>, now: SystemTime) -> Check {
    let Some(date) = date else {
        return check(
            "clock",
            Status::NotChecked,
            p,
            "not checked: STS's answer had no `Date`",
            None,
        );
    };
    let skew = match now.duration_since(date) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    };
    // `Date` has whole seconds: a second either way is the header's rounding.
    if skew.abs() <= MAX_SKEW_SECONDS {
        return check(
            "clock",
            Status::Ok,
            p,
            format!("the clock agrees with AWS's (within {MAX_SKEW_SECONDS} s)"),
            None,
        );
    }
    let way = if skew > 0 { "ahead of" } else { "behind" };
    check(
        "clock",
        Status::Warn,
        p,
        format!(
            "the clock is {} s {way} AWS's: MFA codes and request signatures fail past a few minutes",
            skew.abs()
        ),
        Some(if cfg!(target_os = "macos") {
            "sudo sntp -sS time.apple.com".to_string()
        } else {
            "sudo timedatectl set-ntp true".to_string()
        }),
    )
}

fn key_age(p: &str, key_id: &str, keys: &[KeyFacts], now: SystemTime) -> Check {
    let masked = mask(key_id);
    let Some((_, created)) = keys.iter().find(|(id, _)| id == key_id) else {
        return check(
            "key-age",
            Status::Warn,
            p,
            format!("`{p}`: the stored key {masked} is not an active key of its user"),
            Some(format!("vault rotate {p}")),
        );
    };
    let Some(age) = created.and_then(|c| now.duration_since(c).ok()) else {
        return check(
            "key-age",
            Status::NotChecked,
            p,
            format!("`{p}`: IAM gave no creation date for {masked}"),
            None,
        );
    };
    let days = age.as_secs() / 86400;
    if days > KEY_AGE_DAYS {
        check(
            "key-age",
            Status::Warn,
            p,
            format!("`{p}`: the access key {masked} is {days} days old (over {KEY_AGE_DAYS})"),
            Some(format!("vault rotate {p}")),
        )
    } else {
        check(
            "key-age",
            Status::Ok,
            p,
            format!("`{p}`: the access key {masked} is {days} days old"),
            None,
        )
    }
}

fn mfa_device(p: &str, serial: Option<&str>, devices: &[String]) -> Check {
    match (serial, devices) {
        (_, []) => check(
            "mfa-device",
            Status::Warn,
            p,
            format!(
                "`{p}`: no MFA device is assigned to the user: IAM console, Users, the user, Security credentials, Assign MFA device"
            ),
            Some(format!("vault setup {p}")),
        ),
        (None, [device, ..]) => check(
            "mfa-device",
            Status::Warn,
            p,
            format!(
                "`{p}`: the user has the MFA device `{device}` but the profile sets no `mfa_serial`"
            ),
            Some(format!("vault setup {p}")),
        ),
        (Some(serial), devices) if !devices.iter().any(|d| d == serial) => check(
            "mfa-device",
            Status::Fail,
            p,
            format!(
                "`{p}`: `mfa_serial` is `{serial}`, which is not a device of the user ({})",
                list(devices)
            ),
            Some(format!("vault setup {p} --mfa-serial {}", devices[0])),
        ),
        (Some(serial), _) => check(
            "mfa-device",
            Status::Ok,
            p,
            format!("`{p}`: the MFA device `{serial}` is assigned to the user"),
            None,
        ),
    }
}

/// Whether the whole report passes: nothing failed.
pub fn passed(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == Status::Fail)
}

/// `ok    check         message` lines, each problem followed by `      fix: COMMAND`, then a
/// summary line. Outside text goes through `text::printable`.
pub fn render_text(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{:<5} {:<15} {}\n",
            c.status.word(),
            c.check,
            crate::text::printable(&c.message)
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("      fix: {}\n", crate::text::printable(fix)));
        }
    }
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "{} ok, {} warn, {} fail, {} not checked\n",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::NotChecked)
    ));
    out
}

/// The report as JSON: `{"version": 1, "ok": BOOL, "checks": [{"check", "status", "subject",
/// "message", "fix"}]}`, `status` one of `ok`, `warn`, `fail`, `not-checked`, `fix` a
/// command or null.
pub fn render_json(checks: &[Check]) -> String {
    let report = serde_json::json!({
        "version": 1,
        "ok": passed(checks),
        "checks": checks,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).expect("the report serializes")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86400;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn statuses(checks: &[Check]) -> Vec<(&str, Status)> {
        checks.iter().map(|c| (c.check, c.status)).collect()
    }

    #[test]
    fn plaintext_keys_point_at_the_import() {
        let ok = plaintext_keys("~/.aws/credentials", &[]);
        assert_eq!(statuses(&ok), [("plaintext-keys", Status::Ok)]);
        let warn = plaintext_keys("~/.aws/credentials", &["old".into()]);
        assert_eq!(warn[0].status, Status::Warn);
        assert_eq!(
            warn[0].fix.as_deref(),
            Some("vault import credentials-file --profile old")
        );
    }

    #[test]
    fn aws_vault_stores_with_missing_keys_warn() {
        let store = |missing: Result<&[&str], &str>| AwsVaultStore {
            backend: "pass".into(),
            location: "pass store `~/.password-store` (prefix `aws-vault`)".into(),
            flags: " --pass-prefix aws-vault".into(),
            missing: missing
                .map(|m| m.iter().map(|m| m.to_string()).collect())
                .map_err(str::to_string),
        };
        let ok = &aws_vault_stores(&[store(Ok(&[]))])[0];
        assert_eq!(
            (ok.status, ok.message.as_str()),
            (
                Status::Ok,
                "no aws-vault store holds keys that vault lacks (looked in aws-vault's pass store `~/.password-store` (prefix `aws-vault`))"
            )
        );
        assert_eq!(
            aws_vault_stores(&[])[0].message,
            "no aws-vault store holds keys that vault lacks (none found)"
        );
        let warn = &aws_vault_stores(&[store(Ok(&["a", "b"]))])[0];
        assert_eq!(
            (warn.status, warn.message.as_str(), warn.fix.as_deref()),
            (
                Status::Warn,
                "aws-vault's pass store `~/.password-store` (prefix `aws-vault`) has keys not imported: `a`, `b`",
                Some("vault import aws-vault --from pass --pass-prefix aws-vault")
            )
        );
        let locked = &aws_vault_stores(&[store(Err("it is locked"))])[0];
        assert_eq!(
            (locked.status, locked.fix.as_deref()),
            (
                Status::NotChecked,
                Some("vault import aws-vault --from pass --pass-prefix aws-vault --dry-run")
            )
        );
    }

    #[test]
    fn modes_say_what_is_open_and_the_chmod() {
        let p = |kind, is_dir, mode, mine| PathMode {
            path: "P".into(),
            is_dir,
            mode,
            owned_by_me: mine,
            kind,
        };
        let cases = [
            (p(PathKind::AwsConfig, false, 0o644, true), Status::Ok, None),
            (
                p(PathKind::AwsConfig, false, 0o664, true),
                Status::Fail,
                Some("chmod 600 P"),
            ),
            (
                p(PathKind::AwsConfig, true, 0o777, true),
                Status::Fail,
                Some("chmod 700 P"),
            ),
            (
                p(PathKind::Credentials, false, 0o644, true),
                Status::Warn,
                Some("chmod 600 P"),
            ),
            (
                p(PathKind::Credentials, false, 0o600, true),
                Status::Ok,
                None,
            ),
            (
                p(PathKind::Store, true, 0o750, true),
                Status::Fail,
                Some("chmod 700 P"),
            ),
            (
                p(PathKind::Store, true, 0o700, false),
                Status::Fail,
                Some("sudo chown \"$USER\" P"),
            ),
        ];
        for (facts, status, fix) in cases {
            let got = &modes(std::slice::from_ref(&facts))[0];
            assert_eq!((got.status, got.fix.as_deref()), (status, fix), "{facts:?}");
        }
    }

    #[test]
    fn the_backend_answers_is_locked_or_fails() {
        assert_eq!(backend("file", &Backend::Answers).status, Status::Ok);
        assert_eq!(backend("file", &Backend::Locked).status, Status::Ok);
        let fail = backend("secret-service", &Backend::Unavailable("no bus".into()));
        assert_eq!(fail.status, Status::Fail);
        assert_eq!(
            fail.message,
            "the `secret-service` backend does not answer: no bus"
        );
    }

    #[test]
    fn profiles_that_do_not_resolve_fail_and_unknown_keys_warn() {
        let checks = profiles(&[
            ProfileFacts {
                name: "a".into(),
                problem: Some("profile `a` sources itself".into()),
                unknown: vec![],
            },
            ProfileFacts {
                name: "b".into(),
                problem: None,
                unknown: vec![(
                    "mfa_seriall".into(),
                    "`~/.aws/config` line 4".into(),
                    Some("mfa_serial".into()),
                )],
            },
        ]);
        assert_eq!(
            statuses(&checks),
            [
                ("profile", Status::Fail),
                ("profile", Status::Ok),
                ("unknown-key", Status::Warn)
            ]
        );
        assert_eq!(checks[0].fix.as_deref(), Some("vault show a"));
        assert_eq!(
            checks[2].message,
            "profile `b` sets `mfa_seriall` (`~/.aws/config` line 4), which vault and the AWS CLI ignore; did you mean `mfa_serial`?"
        );
    }

    #[test]
    fn sso_sign_ins_ending_within_a_day_warn() {
        let now = at(10 * DAY);
        let s = |ends| SsoFacts {
            name: "corp".into(),
            login: "--sso-session corp".into(),
            ends,
        };
        let checks = sso_sessions(
            &[
                s(None),
                s(Some(at(9 * DAY))),
                s(Some(at(10 * DAY + 3600 * 3 + 60 * 12))),
                s(Some(at(12 * DAY))),
            ],
            now,
        );
        assert_eq!(
            checks.iter().map(|c| c.status).collect::<Vec<_>>(),
            [Status::Ok, Status::Warn, Status::Warn, Status::Ok]
        );
        assert_eq!(checks[2].message, "`corp`: the sign-in ends in 3h12m");
        assert_eq!(
            checks[2].fix.as_deref(),
            Some("vault sso login --sso-session corp")
        );
    }

    #[test]
    fn vault_full_must_be_beside_vault() {
        assert_eq!(
            vault_full(Some(("/bin/vault-full", true))).status,
            Status::Ok
        );
        assert_eq!(vault_full(None).status, Status::Ok);
        assert_eq!(
            vault_full(Some(("/bin/vault-full", false))).status,
            Status::Fail
        );
    }

    fn online_facts() -> Online {
        Online {
            profile: "gds-users".into(),
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            mfa_serial: Some("arn:aws:iam::1:mfa/jane".into()),
            identity: Answer::Got(("arn:aws:iam::1:user/jane".into(), Some(at(100 * DAY)))),
            keys: Some(Answer::Got(vec![(
                "AKIAIOSFODNN7EXAMPLE".into(),
                Some(at(50 * DAY)),
            )])),
            devices: Some(Answer::Got(vec!["arn:aws:iam::1:mfa/jane".into()])),
        }
    }

    #[test]
    fn online_checks_all_pass() {
        let checks = online(&online_facts(), at(100 * DAY + 30));
        assert_eq!(
            statuses(&checks),
            [
                ("clock", Status::Ok),
                ("key-age", Status::Ok),
                ("mfa-device", Status::Ok)
            ]
        );
        assert_eq!(
            checks[1].message,
            "`gds-users`: the access key ****************MPLE is 50 days old"
        );
    }

    #[test]
    fn a_skewed_clock_an_old_key_and_no_device_warn() {
        let mut facts = online_facts();
        facts.keys = Some(Answer::Got(vec![(
            "AKIAIOSFODNN7EXAMPLE".into(),
            Some(at(DAY)),
        )]));
        facts.devices = Some(Answer::Got(vec![]));
        let checks = online(&facts, at(100 * DAY - 75));
        assert_eq!(
            statuses(&checks),
            [
                ("clock", Status::Warn),
                ("key-age", Status::Warn),
                ("mfa-device", Status::Warn)
            ]
        );
        assert!(
            checks[0]
                .message
                .starts_with("the clock is 75 s behind AWS's"),
            "{}",
            checks[0].message
        );
        assert_eq!(
            checks[1].message,
            "`gds-users`: the access key ****************MPLE is 98 days old (over 90)"
        );
        assert_eq!(checks[1].fix.as_deref(), Some("vault rotate gds-users"));
        assert_eq!(checks[2].fix.as_deref(), Some("vault setup gds-users"));
        // A serial the user does not have fails, naming the one it has.
        let mut facts = online_facts();
        facts.devices = Some(Answer::Got(vec!["arn:aws:iam::1:mfa/other".into()]));
        let check = online(&facts, at(100 * DAY)).pop().unwrap();
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.fix.as_deref(),
            Some("vault setup gds-users --mfa-serial arn:aws:iam::1:mfa/other")
        );
    }

    #[test]
    fn calls_refused_without_mfa_are_not_checked_not_failed() {
        let mut facts = online_facts();
        facts.keys = Some(Answer::NeedsMfa);
        facts.devices = Some(Answer::NeedsMfa);
        let checks = online(&facts, at(100 * DAY));
        assert_eq!(
            statuses(&checks),
            [
                ("clock", Status::Ok),
                ("key-age", Status::NotChecked),
                ("mfa-device", Status::NotChecked)
            ]
        );
        assert!(checks[1].message.contains("not checked (needs MFA)"));
        assert!(passed(&checks));
        // Refused keys fail; an unreachable STS is not checked.
        facts.identity = Answer::KeysRefused("InvalidClientTokenId".into());
        let checks = online(&facts, at(0));
        assert_eq!(statuses(&checks), [("clock", Status::Fail)]);
        assert_eq!(checks[0].fix.as_deref(), Some("vault add gds-users"));
        facts.identity = Answer::Failed("connection refused".into());
        assert_eq!(online(&facts, at(0))[0].status, Status::NotChecked);
        // Root keys fail.
        facts.identity = Answer::Got(("arn:aws:iam::1:root".into(), Some(at(0))));
        let checks = online(&facts, at(0));
        assert_eq!(checks[1].status, Status::Fail);
        assert!(checks[1].message.contains("root user"));
        assert_eq!(
            checks[1].fix.as_deref(),
            Some("vault remove gds-users && vault setup gds-users")
        );
    }

    #[test]
    fn the_text_report_has_fixes_and_a_summary_and_json_is_stable() {
        let checks = vec![
            backend("file", &Backend::Answers),
            plaintext_keys("~/.aws/credentials", &["old".into()]).remove(0),
        ];
        assert_eq!(
            render_text(&checks),
            "ok    backend         the `file` backend answers\n\
             warn  plaintext-keys  profile `old` keeps long-lived keys in plaintext in `~/.aws/credentials`\n\
             \x20     fix: vault import credentials-file --profile old\n\
             1 ok, 1 warn, 0 fail, 0 not checked\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&checks)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": 1,
                "ok": true,
                "checks": [
                    {"check": "backend", "status": "ok", "subject": "file",
                     "message": "the `file` backend answers", "fix": null},
                    {"check": "plaintext-keys", "status": "warn", "subject": "old",
                     "message": "profile `old` keeps long-lived keys in plaintext in `~/.aws/credentials`",
                     "fix": "vault import credentials-file --profile old"},
                ]
            })
        );
        let failed = [backend("x", &Backend::Unavailable("p".into()))];
        assert!(render_json(&failed).contains("\"ok\": false"));
        assert!(
            render_json(&[check("clock", Status::NotChecked, "", "", None)])
                .contains("\"not-checked\"")
        );
    }
}
