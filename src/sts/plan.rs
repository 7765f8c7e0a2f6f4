//! A chain of credential sources -> the STS calls that turn it into credentials, each with
//! the cache key its result is stored under. Pure: no I/O, no clock but the one passed in.
//!
//! The rules follow aws-vault's maintained fork:
//! - long-lived keys and no role: GetSessionToken (with MFA when `mfa_serial` is set);
//! - a first role with `mfa_serial`, asked for at most 1h: one MFA GetSessionToken on the
//!   keys (8h by default), shared by every role with that serial sourced from those keys,
//!   then AssumeRole on that session;
//! - a first role asked for more than 1h: AssumeRole with MFA straight from the keys;
//! - every later role: AssumeRole on the previous role's session, capped at 1h (AWS's limit
//!   for role chaining), with no second MFA code for a serial already used;
//! - `--no-session`: no GetSessionToken at all.

use std::time::Duration;

use serde::Serialize;

use crate::config::resolve::{self, Base, Chain, ResolvedProfile};
use crate::error::{Error, Result};
use crate::store::SessionKey;

/// AWS's limit on a role session assumed with another role's (or a session's) credentials.
pub const CHAINING_LIMIT: Duration = Duration::from_secs(3600);

/// Durations from aws-vault's variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    /// `AWS_SESSION_TOKEN_TTL`: GetSessionToken for a profile used on its own.
    pub session_token: Duration,
    /// `AWS_CHAINED_SESSION_TOKEN_TTL`: GetSessionToken that roles are assumed from.
    pub chained_session_token: Duration,
    /// `AWS_ASSUME_ROLE_TTL`.
    pub assume_role: Duration,
    /// `AWS_MIN_TTL`: a cached session this close to expiry is not used.
    pub min: Duration,
}

impl Default for Ttls {
    fn default() -> Ttls {
        Ttls {
            session_token: Duration::from_secs(3600),
            chained_session_token: Duration::from_secs(8 * 3600),
            assume_role: Duration::from_secs(3600),
            min: Duration::from_secs(300),
        }
    }
}

/// What the person asked for on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `-d`: the duration of the final session.
    pub duration: Option<Duration>,
    /// `-n`: no GetSessionToken.
    pub no_session: bool,
}

/// Where the first credentials come from, before any STS call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Keys stored in the vault under this name.
    StoredKeys { entry: String },
    /// Keys written in the plaintext files for this profile.
    PlaintextKeys { profile: String },
    /// `credential_source = Environment`: vault's own AWS_ACCESS_KEY_ID and friends.
    Environment,
    /// `credential_source = Ec2InstanceMetadata`: the instance's role, from IMDS.
    Ec2InstanceMetadata,
    /// `credential_source = EcsContainer`: the container's credentials endpoint.
    EcsContainer,
    /// The first step makes credentials from nothing (web identity, credential_process).
    None,
}

/// One call that makes temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call")]
pub enum Call {
    GetSessionToken {
        duration: u64,
        mfa_serial: Option<String>,
    },
    AssumeRole {
        role_arn: String,
        session_name: Option<String>,
        external_id: Option<String>,
        duration: u64,
        mfa_serial: Option<String>,
        tags: Vec<(String, String)>,
        transitive_tags: Vec<String>,
        source_identity: Option<String>,
    },
    AssumeRoleWithWebIdentity {
        role_arn: String,
        token_file: String,
        session_name: Option<String>,
        duration: u64,
    },
    CredentialProcess {
        command: String,
    },
    /// IAM Identity Center: the role's credentials for the session's signed-in user.
    SsoGetRoleCredentials {
        /// The `[sso-session]` name; `None` for a legacy profile.
        session: Option<String>,
        start_url: String,
        sso_region: String,
        scopes: Vec<String>,
        account_id: String,
        role_name: String,
    },
    /// A sign-in session (`login_session`): its 15-minute credentials, refreshed with its
    /// DPoP-bound refresh token when 5 minutes or less are left.
    SignIn {
        /// The session's ARN (the profile's `login_session`).
        session: String,
    },
}

impl Call {
    /// aws-vault's names for sessions of each kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Call::GetSessionToken { .. } => "sts.GetSessionToken",
            Call::AssumeRole { .. } => "sts.AssumeRole",
            Call::AssumeRoleWithWebIdentity { .. } => "sts.AssumeRoleWithWebIdentity",
            Call::CredentialProcess { .. } => "credential_process",
            Call::SsoGetRoleCredentials { .. } => "sso.GetRoleCredentials",
            Call::SignIn { .. } => "signin.CreateOAuth2Token",
        }
    }

    pub fn mfa_serial(&self) -> Option<&str> {
        match self {
            Call::GetSessionToken { mfa_serial, .. } | Call::AssumeRole { mfa_serial, .. } => {
                mfa_serial.as_deref()
            }
            _ => None,
        }
    }
}

/// A call, the profile whose settings shaped it, and where its result is cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub profile: String,
    pub call: Call,
    /// The region and endpoint of the profile, for the STS client.
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub cache_key: SessionKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub source: Source,
    /// In order; each uses the previous one's credentials (the first, the source's).
    pub steps: Vec<Step>,
    /// Notes for `--debug` and `show` (caps applied, why GetSessionToken was skipped).
    pub notes: Vec<String>,
}

/// Plans the calls for `chain`.
pub fn plan(chain: &Chain, options: Options, ttls: Ttls) -> Result<Plan> {
    let base = chain.base.profile();
    let mut notes = Vec::new();
    let (source, mut steps, source_name) = match &chain.base {
        Base::StoredKeys { profile } => (
            Source::StoredKeys {
                entry: profile.name.clone(),
            },
            Vec::new(),
            profile.name.clone(),
        ),
        Base::PlaintextKeys {
            profile,
            access_key_id,
        } => (
            Source::PlaintextKeys {
                profile: profile.name.clone(),
            },
            Vec::new(),
            // Keys edited in the file must not reuse sessions made from the old ones.
            format!("plaintext:{}:{access_key_id}", profile.name),
        ),
        Base::NamedSource { profile, source } => match source.as_str() {
            "Environment" => (Source::Environment, Vec::new(), "environment".to_string()),
            "Ec2InstanceMetadata" => (
                Source::Ec2InstanceMetadata,
                Vec::new(),
                "ec2-instance-metadata".to_string(),
            ),
            "EcsContainer" => (
                Source::EcsContainer,
                Vec::new(),
                "ecs-container".to_string(),
            ),
            other => {
                return Err(Error::Unsupported {
                    profile: profile.name.clone(),
                    what: format!("credential_source = {other}"),
                });
            }
        },
        Base::WebIdentity {
            profile,
            role_arn,
            token_file,
            session_name,
        } => {
            let call = Call::AssumeRoleWithWebIdentity {
                role_arn: role_arn.clone(),
                token_file: token_file.clone(),
                session_name: session_name.clone(),
                duration: role_duration(profile, options, ttls, chain.roles.is_empty())?,
            };
            let step = step(profile, call, "web-identity", None);
            (Source::None, vec![step], "web-identity".to_string())
        }
        Base::CredentialProcess { profile, command } => {
            let call = Call::CredentialProcess {
                command: command.clone(),
            };
            let step = step(profile, call, "credential-process", None);
            (Source::None, vec![step], "credential-process".to_string())
        }
        Base::Sso { .. } => {
            let (profile, call) = sso_call(&chain.base)?;
            let source_name = crate::sso::Session::of(&call)
                .expect("sso_call makes an SSO call")
                .store_label();
            let mut step = step(profile, call, &source_name, None);
            // One role session per sign-in, account and role (the digest holds them), not
            // per profile: every profile that names the same three shares it, as they
            // share the sign-in's token.
            step.cache_key.profile = source_name.clone();
            (Source::None, vec![step], source_name)
        }
        Base::LoginSession { profile, session } => {
            let source_name = crate::signin::cache::store_label(session);
            let call = Call::SignIn {
                session: session.clone(),
            };
            let mut step = step(profile, call, &source_name, None);
            // One cached session per sign-in session, shared by the profiles that name it.
            step.cache_key.profile = source_name.clone();
            // Temporary credentials: STS refuses GetSessionToken with them, so a role with
            // `mfa_serial` on top is one AssumeRole with the code (below), and roles on top
            // are chained (1h at most).
            (Source::None, vec![step], source_name)
        }
    };
    let long_lived = matches!(
        source,
        Source::StoredKeys { .. } | Source::PlaintextKeys { .. }
    );
    // Serials whose MFA context the chain already carries.
    let mut mfa_done: Vec<String> = Vec::new();

    let Some((first, later)) = chain.roles.split_first() else {
        if long_lived && !options.no_session {
            let duration = options.duration.unwrap_or(ttls.session_token).as_secs();
            let mfa_serial = base.mfa_serial().map(str::to_string);
            let call = Call::GetSessionToken {
                duration,
                mfa_serial,
            };
            steps.push(step(base, call, &source_name, None));
        }
        return Ok(Plan {
            source,
            steps,
            notes,
        });
    };

    // The first role, assumed with the source's credentials.
    let asked = role_duration(first, options, ttls, later.is_empty())?;
    let mut first_mfa = first.mfa_serial().map(str::to_string);
    if long_lived && let Some(serial) = &first_mfa {
        let base_serial = base.mfa_serial();
        let same_device = base_serial.is_none_or(|s| s == serial);
        if options.no_session {
            notes.push("no GetSessionToken: --no-session".to_string());
        } else if asked > CHAINING_LIMIT.as_secs() {
            notes.push(format!(
                "no GetSessionToken: `{}` asks for {}, more than a role assumed from a session may last, so it is assumed with MFA straight from the keys",
                first.name,
                humantime::format_duration(Duration::from_secs(asked))
            ));
        } else if !same_device {
            notes.push(format!(
                "no GetSessionToken: `{}` and `{}` name different MFA devices",
                base.name, first.name
            ));
        } else {
            let call = Call::GetSessionToken {
                duration: ttls.chained_session_token.as_secs(),
                mfa_serial: Some(serial.clone()),
            };
            steps.push(step(base, call, &source_name, None));
            mfa_done.push(serial.clone());
            first_mfa = None;
        }
    }
    let riding_on_session = !steps.is_empty();
    let duration = if riding_on_session {
        cap(first, asked, &mut notes)
    } else {
        asked
    };
    if let Some(serial) = &first_mfa {
        mfa_done.push(serial.clone());
    }
    let call = assume_role(first, duration, first_mfa)?;
    let previous = steps.last().map(|s: &Step| s.cache_key.params.clone());
    steps.push(step(first, call, &source_name, previous));

    for role in later {
        let asked = role_duration(
            role,
            options,
            ttls,
            std::ptr::eq(role, later.last().expect("non-empty")),
        )?;
        let duration = cap(role, asked, &mut notes);
        let mfa = role
            .mfa_serial()
            .filter(|serial| !mfa_done.iter().any(|done| done == serial))
            .map(str::to_string);
        if let Some(serial) = &mfa {
            mfa_done.push(serial.clone());
        }
        let call = assume_role(role, duration, mfa)?;
        let previous = steps.last().map(|s| s.cache_key.params.clone());
        steps.push(step(role, call, &source_name, previous));
    }
    Ok(Plan {
        source,
        steps,
        notes,
    })
}

/// An SSO base's GetRoleCredentials, once its settings are complete: account and role,
/// start URL (https) and region, from the profile or its `[sso-session]`.
fn sso_call(base: &Base) -> Result<(&ResolvedProfile, Call)> {
    let Base::Sso {
        profile,
        session,
        account_id,
        role_name,
        region,
        start_url,
        scopes,
        places,
    } = base
    else {
        unreachable!("called for SSO bases only")
    };
    let (Some(account_id), Some(role_name)) = (account_id, role_name) else {
        let name = session.as_deref().unwrap_or("-");
        return Err(resolve::config_error(
            places.get("sso_session"),
            &profile.name,
            format!(
                "profile `{}` names the sso-session `{name}` but no `sso_account_id` and `sso_role_name`, so it can sign in (`vault sso login {}`) but gives no credentials",
                profile.name, profile.name
            ),
            Some(format!(
                "add `sso_account_id` and `sso_role_name` to `[profile {}]`; `vault sso populate --sso-session {name}` lists the ones you have",
                profile.name
            )),
        ));
    };
    let (section, header) = match session {
        Some(name) => (
            format!("`[sso-session {name}]`"),
            places.get(resolve::SESSION_HEADER),
        ),
        None => (
            format!("`[profile {}]`", profile.name),
            places.get(resolve::PROFILE_HEADER),
        ),
    };
    let url = start_url
        .as_deref()
        .map(|url| (url, places.get("sso_start_url")));
    let (start_url, region) =
        resolve::sso_start(&section, header, url, region.as_deref(), &profile.name)?;
    Ok((
        profile,
        Call::SsoGetRoleCredentials {
            session: session.clone(),
            start_url: start_url.to_string(),
            sso_region: region.to_string(),
            scopes: crate::sso::parse_scopes(scopes.as_deref()),
            account_id: account_id.clone(),
            role_name: role_name.clone(),
        },
    ))
}

/// The duration a role session is asked for: `-d` for the final role, else the profile's
/// `duration_seconds`, else `AWS_ASSUME_ROLE_TTL`.
fn role_duration(
    role: &ResolvedProfile,
    options: Options,
    ttls: Ttls,
    is_final: bool,
) -> Result<u64> {
    if is_final && let Some(asked) = options.duration {
        return Ok(asked.as_secs());
    }
    Ok(role
        .duration_seconds()?
        .unwrap_or(ttls.assume_role.as_secs()))
}

/// Roles assumed with a session's or another role's credentials last at most 1h.
fn cap(role: &ResolvedProfile, asked: u64, notes: &mut Vec<String>) -> u64 {
    let limit = CHAINING_LIMIT.as_secs();
    if asked > limit {
        notes.push(format!(
            "`{}` is assumed through another session, so it lasts 1h at most (AWS's limit for role chaining), not {}",
            role.name,
            humantime::format_duration(Duration::from_secs(asked))
        ));
        limit
    } else {
        asked
    }
}

fn assume_role(role: &ResolvedProfile, duration: u64, mfa_serial: Option<String>) -> Result<Call> {
    Ok(Call::AssumeRole {
        role_arn: role.role_arn().unwrap_or_default().to_string(),
        session_name: role.get("role_session_name").map(str::to_string),
        external_id: role.get("external_id").map(str::to_string),
        duration,
        mfa_serial,
        tags: role.session_tags()?,
        transitive_tags: role.transitive_session_tags()?,
        source_identity: role.get("source_identity").map(str::to_string),
    })
}

/// A step with its cache key: kind, profile, MFA serial, the source entry, and a digest of
/// everything that shaped the call, chained to the previous step's digest.
fn step(profile: &ResolvedProfile, call: Call, source: &str, previous: Option<String>) -> Step {
    let shape = serde_json::to_string(&(&call, &previous, source)).expect("a call serializes");
    let cache_key = SessionKey {
        kind: call.kind().to_string(),
        profile: profile.name.clone(),
        mfa_serial: call.mfa_serial().map(str::to_string),
        source: source.to_string(),
        params: digest(&shape),
    };
    Step {
        profile: profile.name.clone(),
        region: profile.region().map(str::to_string),
        endpoint_url: profile.get("endpoint_url").map(str::to_string),
        call,
        cache_key,
    }
}

fn digest(text: &str) -> String {
    use blake2::{Blake2s256, Digest};
    crate::store::crypto::hex(&Blake2s256::digest(text.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;
    use crate::config::profiles::ProfileSet;
    use crate::config::resolve::{Overrides, Resolver};

    const CONFIG: &str = "\
[profile gds-users]
region = eu-west-1
[profile mfa-base]
mfa_serial = arn:aws:iam::1:mfa/jane
[profile target]
source_profile = gds-users
role_arn = arn:aws:iam::2:role/admin
mfa_serial = arn:aws:iam::1:mfa/jane
[profile other-target]
source_profile = gds-users
role_arn = arn:aws:iam::3:role/admin
mfa_serial = arn:aws:iam::1:mfa/jane
[profile long]
source_profile = gds-users
role_arn = arn:aws:iam::2:role/admin
mfa_serial = arn:aws:iam::1:mfa/jane
duration_seconds = 14400
[profile plain-role]
source_profile = gds-users
role_arn = arn:aws:iam::2:role/ro
[profile deeper]
source_profile = target
role_arn = arn:aws:iam::4:role/deep
mfa_serial = arn:aws:iam::1:mfa/jane
duration_seconds = 7200
[profile partner]
source_profile = gds-users
role_arn = arn:aws:iam::5:role/partner
external_id = ext-1
role_session_name = jane
";

    fn plan_for(name: &str, options: Options) -> Plan {
        let set = ProfileSet::new(&parse(CONFIG).unwrap(), &[]);
        let stored = |n: &str| n == "gds-users" || n == "mfa-base";
        let chain = Resolver::new(&set, &stored)
            .chain(name, &Overrides::default())
            .unwrap();
        plan(&chain, options, Ttls::default()).unwrap()
    }

    /// The plan as `Call(profile, seconds, mfa?)` lines.
    fn check(name: &str, options: Options, expect: &[&str]) {
        let plan = plan_for(name, options);
        let got: Vec<String> = plan
            .steps
            .iter()
            .map(|s| {
                let (call, duration) = match &s.call {
                    Call::GetSessionToken { duration, .. } => ("GetSessionToken", *duration),
                    Call::AssumeRole { duration, .. } => ("AssumeRole", *duration),
                    _ => ("Other", 0),
                };
                let mfa = if s.call.mfa_serial().is_some() {
                    " mfa"
                } else {
                    ""
                };
                format!("{call}({}, {duration}{mfa})", s.profile)
            })
            .collect();
        assert_eq!(got, expect, "{name}: {:?}", plan.notes);
    }

    const D: Options = Options {
        duration: None,
        no_session: false,
    };

    /// A sign-in session's credentials are temporary: no GetSessionToken (STS refuses it
    /// with them), so a role with `mfa_serial` is one AssumeRole with the code, chained (1h
    /// at most), and every profile naming the session shares its cached credentials.
    #[test]
    fn a_role_with_mfa_on_a_sign_in_session_is_one_assume_role_with_the_code() {
        let config = "\
[profile gds-users]
login_session = arn:aws:iam::1:user/jane
region = eu-west-1
[profile other]
login_session = arn:aws:iam::1:user/jane
[profile target]
source_profile = gds-users
role_arn = arn:aws:iam::2:role/admin
mfa_serial = arn:aws:iam::1:mfa/jane
duration_seconds = 7200
";
        let set = ProfileSet::new(&parse(config).unwrap(), &[]);
        let none = |_: &str| false;
        let resolver = Resolver::new(&set, &none);
        let plan_of = |name: &str| {
            let chain = resolver.chain(name, &Overrides::default()).unwrap();
            plan(&chain, D, Ttls::default()).unwrap()
        };
        let p = plan_of("target");
        assert_eq!(p.source, Source::None);
        assert_eq!(p.steps.len(), 2, "{p:?}");
        assert_eq!(
            p.steps[0].call,
            Call::SignIn {
                session: "arn:aws:iam::1:user/jane".into()
            }
        );
        assert_eq!(p.steps[0].region.as_deref(), Some("eu-west-1"));
        match &p.steps[1].call {
            Call::AssumeRole {
                mfa_serial,
                duration,
                ..
            } => {
                assert_eq!(mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/jane"));
                assert_eq!(*duration, 3600, "chained: 1h at most");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            p.notes.iter().any(|n| n.contains("1h at most")),
            "{:?}",
            p.notes
        );
        let alone = plan_of("gds-users");
        assert_eq!(alone.steps.len(), 1, "no GetSessionToken: {alone:?}");
        assert_eq!(
            alone.steps[0].cache_key,
            plan_of("other").steps[0].cache_key
        );
        assert_eq!(alone.steps[0].cache_key.kind, "signin.CreateOAuth2Token");
    }

    #[test]
    fn plans() {
        check("gds-users", D, &["GetSessionToken(gds-users, 3600)"]);
        check("mfa-base", D, &["GetSessionToken(mfa-base, 3600 mfa)"]);
        check(
            "target",
            D,
            &[
                "GetSessionToken(gds-users, 28800 mfa)",
                "AssumeRole(target, 3600)",
            ],
        );
        check("long", D, &["AssumeRole(long, 14400 mfa)"]);
        check(
            "target",
            Options {
                duration: Some(Duration::from_secs(7200)),
                no_session: false,
            },
            &["AssumeRole(target, 7200 mfa)"],
        );
        check(
            "target",
            Options {
                duration: None,
                no_session: true,
            },
            &["AssumeRole(target, 3600 mfa)"],
        );
        check("plain-role", D, &["AssumeRole(plain-role, 3600)"]);
        check(
            "deeper",
            D,
            &[
                "GetSessionToken(gds-users, 28800 mfa)",
                "AssumeRole(target, 3600)",
                "AssumeRole(deeper, 3600)",
            ],
        );
        check(
            "gds-users",
            Options {
                duration: None,
                no_session: true,
            },
            &[],
        );
    }

    #[test]
    fn roles_with_one_serial_share_the_mfa_session() {
        let a = plan_for("target", D);
        let b = plan_for("other-target", D);
        assert_eq!(a.steps[0].cache_key, b.steps[0].cache_key);
        assert_ne!(a.steps[1].cache_key, b.steps[1].cache_key);
    }

    #[test]
    fn chained_roles_are_capped_with_a_note() {
        let plan = plan_for("deeper", D);
        assert!(
            plan.notes.iter().any(|n| n.contains("1h at most")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn assume_role_parameters() {
        let plan = plan_for("partner", D);
        let Call::AssumeRole {
            external_id,
            session_name,
            ..
        } = &plan.steps[0].call
        else {
            panic!("{plan:?}")
        };
        assert_eq!(external_id.as_deref(), Some("ext-1"));
        assert_eq!(session_name.as_deref(), Some("jane"));
    }

    /// Regression (issue 10): the role session was keyed by profile, so two profiles
    /// naming one sign-in, account and role each called GetRoleCredentials.
    #[test]
    fn sso_role_sessions_are_keyed_by_sign_in_account_and_role() {
        const SSO: &str = "\
[profile dev]
sso_session = my-sso
sso_account_id = 1
sso_role_name = readonly
region = eu-west-1
[profile dev-too]
sso_session = my-sso
sso_account_id = 1
sso_role_name = readonly
duration_seconds = 900
[profile dev-admin]
sso_session = my-sso
sso_account_id = 1
sso_role_name = admin
[profile legacy]
sso_start_url = https://d-1.awsapps.com/start#/
sso_region = eu-west-1
sso_account_id = 1
sso_role_name = readonly
[profile legacy-too]
sso_start_url = https://d-1.awsapps.com/start#/
sso_region = eu-west-1
sso_account_id = 1
sso_role_name = readonly
[profile partner]
source_profile = dev
role_arn = arn:aws:iam::2:role/partner
[sso-session my-sso]
sso_start_url = https://d-1.awsapps.com/start
sso_region = eu-west-1
";
        let set = ProfileSet::new(&parse(SSO).unwrap(), &[]);
        let key = |name: &str, step: usize| {
            let chain = Resolver::new(&set, &|_| false)
                .chain(name, &Overrides::default())
                .unwrap();
            plan(&chain, D, Ttls::default()).unwrap().steps[step]
                .cache_key
                .clone()
        };
        assert_eq!(key("dev", 0), key("dev-too", 0));
        assert_eq!(key("dev", 0).profile, "sso:my-sso");
        assert_ne!(key("dev", 0), key("dev-admin", 0));
        assert_eq!(key("legacy", 0), key("legacy-too", 0));
        assert_ne!(key("legacy", 0), key("dev", 0));
        // The store's name rules hold for a start URL with a `#`.
        assert_eq!(
            key("legacy", 0).source,
            "sso:https://d-1.awsapps.com/start%23/"
        );
        assert!(
            crate::store::EntryMeta {
                id: crate::store::EntryId::Session(key("legacy", 0)),
                expiration: None,
                source: Some(key("legacy", 0).source),
            }
            .is_valid()
        );
        // A role on top is the role profile's own session, made from the shared one.
        assert_eq!(key("partner", 0), key("dev", 0));
        assert_eq!(key("partner", 1).profile, "partner");
    }

    #[test]
    fn duration_shapes_the_cache_key() {
        let a = plan_for("plain-role", D);
        let b = plan_for(
            "plain-role",
            Options {
                duration: Some(Duration::from_secs(900)),
                no_session: false,
            },
        );
        assert_ne!(a.steps[0].cache_key, b.steps[0].cache_key);
    }
}
