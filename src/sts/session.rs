//! Credentials for a plan: each step's cached session when it is fresh, else one call
//! made under a lock on that step's cache key, so that many `vault` processes needing the
//! same expired session make one call between them.
//!
//! The warm path (the last step cached and fresh) reads one entry and builds no SDK client.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Deserialize;

use super::plan::{Call, Plan, Source, Step};
use super::{aws, providers};
use crate::config::resolve::Chain;
use crate::error::{Error, Result};
use crate::mfa::MfaSource;
use crate::store::{self, Credentials, EntryId, SessionKey, Store};

/// Marks the `credential_process` commands vault runs, with the profiles being resolved, so
/// that a process that runs vault on the same profile again is refused instead of looping.
pub const RECURSION_VAR: &str = "VAULT_CREDENTIAL_PROCESS_PROFILES";

pub struct Sessions<'a> {
    pub store: &'a mut dyn Store,
    pub chain: &'a Chain,
    pub plan: &'a Plan,
    /// The profile asked for (for the recursion guard).
    pub selected: &'a str,
    /// `AWS_MIN_TTL`.
    pub min_ttl: Duration,
    pub mfa: MfaSource<'a>,
    /// Folder of the per-cache-key lock files.
    pub locks: PathBuf,
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// `sso_token_cache = shared`: SSO tokens also go to `~/.aws/sso/cache`.
    pub sso_shared_cache: bool,
    /// `login_token_cache = shared`: a sign-in vault makes goes to `~/.aws/login/cache`.
    pub login_shared_cache: bool,
}

impl Sessions<'_> {
    /// The plan's final credentials.
    pub fn credentials(&mut self) -> Result<Credentials> {
        match self.plan.steps.len() {
            0 => Ok(self
                .source()?
                .expect("a plan with no steps starts from long-lived keys")),
            n => self.step(n - 1),
        }
    }

    /// A cached session that is not within `AWS_MIN_TTL` of expiry.
    fn fresh(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        let now = store::now();
        match self.store.get(id) {
            Ok(Some(credentials)) => {
                let left = credentials.seconds_left(now).unwrap_or(0);
                if left > self.min_ttl.as_secs() as i64 {
                    crate::debug!("cache hit: {} ({}s left)", id.text(), left);
                    Ok(Some(credentials))
                } else {
                    crate::debug!("cache stale: {} ({}s left)", id.text(), left);
                    Ok(None)
                }
            }
            Ok(None) => {
                crate::debug!("cache miss: {}", id.text());
                Ok(None)
            }
            Err(e @ Error::StoreCorrupt { .. }) => {
                // A damaged session is only a cache: make a new one over it.
                crate::text::warn(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Step `top`'s credentials: from the nearest step down the plan that is cached and
    /// fresh (or the source), each missing step made in order. A loop, not recursion: a
    /// plan's length comes from a config.
    fn step(&mut self, top: usize) -> Result<Credentials> {
        // Down: each missing step's lock is taken, top first, and held until it is made.
        let mut locks: Vec<Option<File>> = Vec::new();
        let mut index = top;
        let mut input = loop {
            let id = EntryId::Session(self.plan.steps[index].cache_key.clone());
            let found = match self.fresh(&id)? {
                Some(credentials) => Some(credentials),
                None => {
                    // The lock only spares duplicate calls: without one (a read-only
                    // folder), go on.
                    let held = lock(&self.locks, &id)
                        .inspect_err(|e| match e {
                            // A folder or file someone else could have planted: say so.
                            Error::UnsafeFolder { .. } | Error::UnsafeFile { .. } => {
                                crate::text::warn(format_args!("going on without a lock: {e}"))
                            }
                            _ => crate::debug!("no lock, going on without: {e}"),
                        })
                        .ok();
                    let made = self.fresh(&id)?;
                    match made {
                        Some(_) => {
                            crate::debug!("another vault made this session while this one waited")
                        }
                        None => locks.push(held),
                    }
                    made
                }
            };
            if let Some(credentials) = found {
                if index == top {
                    return Ok(credentials);
                }
                index += 1;
                break Some(credentials);
            }
            if index == 0 {
                break self.source()?;
            }
            index -= 1;
        };
        // Up: make each step from the one below.
        loop {
            let credentials = self.make(index, input.as_ref())?;
            locks.pop();
            if index == top {
                return Ok(credentials);
            }
            input = Some(credentials);
            index += 1;
        }
    }

    /// Makes step `index` from `input` (the step below, or the source) and caches it.
    fn make(&mut self, index: usize, input: Option<&Credentials>) -> Result<Credentials> {
        let step = self.plan.steps[index].clone();
        let id = EntryId::Session(step.cache_key.clone());
        let credentials = match &step.call {
            Call::CredentialProcess { command } => self.credential_process(&step, command)?,
            Call::SsoGetRoleCredentials {
                session,
                start_url,
                sso_region,
                scopes,
                account_id,
                role_name,
            } => {
                let session = crate::sso::Session {
                    name: session.clone(),
                    start_url: start_url.clone(),
                    region: sso_region.clone(),
                    scopes: scopes.clone(),
                };
                let var = self.var;
                // A login happens by itself only when a person can be asked to sign in.
                let login = crate::sso::login::person_present(var)
                    .then(crate::sso::login::Options::default);
                let mut context = crate::sso::Context {
                    store: &mut *self.store,
                    var,
                    shared_cache: self.sso_shared_cache,
                    locks: self.locks.clone(),
                    profile: step.profile.clone(),
                    login,
                };
                context.role_credentials(&session, account_id, role_name)?
            }
            Call::SignIn { session } => self.sign_in_session(&step, session)?,
            _ => self.call_sts(&step, input)?,
        };
        // Credentials that never expire (a credential_process may give such) are not cached.
        // The call is made (an MFA code perhaps spent): a session the store cannot keep (a
        // full disk, a read-only folder) is still used, with a warning.
        if credentials.expiration.is_some() {
            match self.store.put(&id, &credentials) {
                Ok(()) => {
                    if matches!(step.call, Call::SsoGetRoleCredentials { .. }) {
                        match remove_per_profile_sso(self.store, &step.cache_key) {
                            Ok(0) => {}
                            Ok(n) => crate::debug!("removed {n} per-profile SSO role sessions"),
                            Err(e) => crate::debug!("could not remove old SSO role sessions: {e}"),
                        }
                    }
                    match store::remove_expired_sessions(self.store) {
                        Ok(0) => {}
                        Ok(n) => crate::debug!("removed {n} expired sessions"),
                        Err(e) => crate::debug!("could not remove expired sessions: {e}"),
                    }
                }
                Err(e) => {
                    crate::text::warn(format_args!("the new session is used but not cached: {e}"))
                }
            }
        }
        Ok(credentials)
    }

    /// A sign-in session's credentials: its token's while more than 5 minutes are left, else
    /// refreshed (one refresh for every vault, under the session's lock).
    fn sign_in_session(&mut self, step: &Step, session: &str) -> Result<Credentials> {
        let var = self.var;
        let mut context = crate::signin::session::Context {
            store: &mut *self.store,
            var,
            home: crate::signin::cache::home(var),
            locks: self.locks.clone(),
            // The profile with `login_session`: the one `vault signin` signs in.
            profile: step.profile.clone(),
            region: step.region.clone(),
            refresher: &crate::signin::session::refresh_call,
        };
        let why = match context.token(session)? {
            Ok(found) => return Ok(found.token.credentials()),
            Err(why) => why,
        };
        // A sign-in happens by itself only when a person can be asked.
        if !crate::signin::login::person_present(var) {
            return Err(context.not_signed_in(session, &why));
        }
        eprintln!(
            "{}\nSigning in again.",
            crate::text::printable(&context.not_signed_in(session, &why).to_string())
        );
        let prompt = &mut *self.mfa.prompt;
        let mut ask = |question: &str| prompt.ask(question, false);
        let found = context.sign_in_now(
            session,
            &crate::signin::login::Options::default(),
            self.login_shared_cache,
            &mut ask,
        )?;
        Ok(found.token.credentials())
    }

    fn call_sts(&mut self, step: &Step, input: Option<&Credentials>) -> Result<Credentials> {
        let setting = |key: &str| {
            self.profile_of(&step.profile)
                .and_then(|p| p.get(key))
                .map(str::to_string)
        };
        let regional = setting("sts_regional_endpoints");
        let code = match step.call.mfa_serial() {
            Some(serial) => {
                let process = self.mfa_process(&step.profile, serial);
                Some(self.mfa.code(self.selected, serial, process.as_deref())?)
            }
            None => None,
        };
        let endpoint = aws::endpoint(step, regional.as_deref(), self.var);
        let started = Instant::now();
        crate::debug!(
            "STS {} for `{}` at {}",
            step.call.kind(),
            step.profile,
            endpoint.as_deref().unwrap_or("the default endpoint")
        );
        let result = aws::call(step, endpoint.as_deref(), input, code.as_deref());
        crate::debug!(
            "STS {} {} after {:.0} ms",
            step.call.kind(),
            if result.is_ok() {
                "succeeded"
            } else {
                "failed"
            },
            started.elapsed().as_secs_f64() * 1e3
        );
        result
    }

    /// The `mfa_process` for `serial`: the step's profile's, else that of the profile in
    /// the chain that names this serial (a GetSessionToken on the keys is made for a role).
    fn mfa_process(&self, profile: &str, serial: &str) -> Option<String> {
        let base = self.chain.base.profile();
        let profiles = || std::iter::once(base).chain(self.chain.roles.iter());
        profiles()
            .filter(|p| p.name == profile)
            .chain(profiles().filter(|p| p.mfa_serial() == Some(serial)))
            .find_map(|p| p.get("mfa_process"))
            .map(str::to_string)
    }

    fn profile_of(&self, name: &str) -> Option<&crate::config::resolve::ResolvedProfile> {
        let base = self.chain.base.profile();
        std::iter::once(base)
            .chain(self.chain.roles.iter())
            .find(|p| p.name == name)
    }

    /// The long-lived credentials the plan starts from, if it starts from any.
    fn source(&mut self) -> Result<Option<Credentials>> {
        match &self.plan.source {
            Source::StoredKeys { entry } => {
                let id = EntryId::Keys {
                    profile: entry.clone(),
                };
                let keys = self.store.get(&id)?.ok_or_else(|| Error::NoKeys {
                    profile: entry.clone(),
                    store: self.store.describe(),
                })?;
                Ok(Some(keys))
            }
            Source::PlaintextKeys { profile } => {
                let base = self.chain.base.profile();
                debug_assert_eq!(&base.name, profile);
                let get = |key: &str| base.get(key).map(str::to_string);
                Ok(Some(Credentials {
                    access_key_id: get("aws_access_key_id").unwrap_or_default(),
                    secret_access_key: SecretString::from(
                        get("aws_secret_access_key").unwrap_or_default(),
                    ),
                    session_token: get("aws_session_token").map(SecretString::from),
                    expiration: None,
                }))
            }
            Source::Environment => {
                let var = self.var;
                let id = var("AWS_ACCESS_KEY_ID");
                let secret = var("AWS_SECRET_ACCESS_KEY");
                match (id, secret) {
                    (Some(id), Some(secret)) => Ok(Some(Credentials {
                        access_key_id: id,
                        secret_access_key: SecretString::from(secret),
                        session_token: var("AWS_SESSION_TOKEN").map(SecretString::from),
                        expiration: None,
                    })),
                    _ => Err(Error::NoCredentials {
                        profile: self.chain.base.profile().name.clone(),
                        needed_by: None,
                    }),
                }
            }
            Source::Ec2InstanceMetadata | Source::EcsContainer => {
                let provider = match self.plan.source {
                    Source::Ec2InstanceMetadata => providers::Provider::Ec2InstanceMetadata,
                    _ => providers::Provider::EcsContainer,
                };
                let profile = &self.chain.base.profile().name;
                providers::credentials(provider, profile).map(Some)
            }
            Source::None => Ok(None),
        }
    }

    /// Runs `credential_process` and reads its JSON (the AWS CLI's format).
    fn credential_process(&self, step: &Step, command: &str) -> Result<Credentials> {
        let failed = |problem: String| Error::CredentialProcess {
            profile: step.profile.clone(),
            problem,
        };
        let mut profiles: Vec<String> = (self.var)(RECURSION_VAR)
            .map(|v| v.split('\n').map(str::to_string).collect())
            .unwrap_or_default();
        profiles.push(self.selected.to_string());
        crate::debug!("running credential_process of `{}`", step.profile);
        let mut process = crate::process::command("/bin/sh");
        process
            .arg("-c")
            .arg(command)
            .env(RECURSION_VAR, profiles.join("\n"))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        let output = crate::process::output(&mut process).map_err(|e| failed(e.to_string()))?;
        if !output.status.success() {
            return Err(failed(format!("it exited with {}", output.status)));
        }
        parse_process_output(&output.stdout).map_err(failed)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: u32,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// The `credential_process` JSON: `Version` 1, keys, optional token and RFC 3339 expiry.
pub fn parse_process_output(stdout: &[u8]) -> std::result::Result<Credentials, String> {
    let out: ProcessOutput = serde_json::from_slice(stdout)
        .map_err(|e| format!("its output is not credential_process JSON: {e}"))?;
    if out.version != 1 {
        return Err(format!("its output has Version {}, not 1", out.version));
    }
    let expiration = match out.expiration {
        Some(text) => Some(
            humantime::parse_rfc3339_weak(&text)
                .map_err(|e| format!("its Expiration `{text}` is not an RFC 3339 time: {e}"))?
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| format!("its Expiration `{text}` is before 1970"))?
                .as_secs(),
        ),
        None => None,
    };
    Ok(Credentials {
        access_key_id: out.access_key_id,
        secret_access_key: SecretString::from(out.secret_access_key),
        session_token: out.session_token.map(SecretString::from),
        expiration,
    })
}

/// Removes the SSO role sessions that earlier versions kept per profile (`key` under the
/// profile's name instead of the sign-in's): `key`, now shared, replaces them. Same kind,
/// sign-in and digest means the same sign-in, account and role.
fn remove_per_profile_sso(store: &mut dyn Store, key: &SessionKey) -> Result<usize> {
    store::remove_sessions(store, |old| {
        old.kind == key.kind
            && old.source == key.source
            && old.params == key.params
            && old.profile != key.profile
    })
}

/// An exclusive lock for one cache key, held until dropped.
fn lock(dir: &Path, id: &EntryId) -> Result<File> {
    use blake2::{Blake2s256, Digest};
    store::fs::private_dir(dir)?;
    let name = store::crypto::hex(&Blake2s256::digest(id.text().as_bytes())[..16]);
    let waited = Instant::now();
    let file = store::fs::lock(&dir.join(format!("{name}.lock")))?;
    if waited.elapsed() > Duration::from_millis(50) {
        crate::debug!(
            "waited {:.0} ms for another vault",
            waited.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// A store in memory: entries by id, listed with their expiry.
    #[derive(Default)]
    struct Memory(Vec<(EntryId, Credentials)>);

    impl Store for Memory {
        fn describe(&self) -> String {
            "memory".to_string()
        }
        fn list(&self) -> Result<store::Listing> {
            let entries = self
                .0
                .iter()
                .map(|(id, c)| store::EntryMeta {
                    id: id.clone(),
                    expiration: c.expiration,
                    source: None,
                })
                .collect();
            Ok(store::Listing {
                entries,
                problems: Vec::new(),
            })
        }
        fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
            Ok(self.0.iter().find(|(i, _)| i == id).map(|(_, c)| c.clone()))
        }
        fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
            self.remove(id)?;
            self.0.push((id.clone(), credentials.clone()));
            Ok(())
        }
        fn remove(&mut self, id: &EntryId) -> Result<bool> {
            let before = self.0.len();
            self.0.retain(|(i, _)| i != id);
            Ok(self.0.len() < before)
        }
    }

    fn key(kind: &str, profile: &str, source: &str, params: &str) -> SessionKey {
        SessionKey {
            kind: kind.to_string(),
            profile: profile.to_string(),
            mfa_serial: None,
            source: source.to_string(),
            params: params.to_string(),
        }
    }

    #[test]
    fn a_shared_sso_role_session_replaces_the_per_profile_ones() {
        let role = "sso.GetRoleCredentials";
        let shared = key(role, "sso:my-sso", "sso:my-sso", "d1");
        let old = [
            key(role, "dev", "sso:my-sso", "d1"),
            key(role, "dev-again", "sso:my-sso", "d1"),
        ];
        let kept = [
            // Another account or role (another digest), another sign-in, another kind.
            key(role, "prod", "sso:my-sso", "d2"),
            key(role, "other", "sso:other-sso", "d1"),
            key("sts.AssumeRole", "partner", "sso:my-sso", "d1"),
        ];
        let mut store = Memory::default();
        let credentials = Credentials {
            access_key_id: "A".to_string(),
            secret_access_key: SecretString::from("S"),
            session_token: None,
            expiration: Some(store::now() + 3600),
        };
        for k in old.iter().chain(&kept).chain([&shared]) {
            store
                .put(&EntryId::Session(k.clone()), &credentials)
                .unwrap();
        }
        assert_eq!(remove_per_profile_sso(&mut store, &shared).unwrap(), 2);
        let left: Vec<SessionKey> = store
            .list()
            .unwrap()
            .sessions()
            .map(|(k, _)| k.clone())
            .collect();
        let mut expect = kept.to_vec();
        expect.push(shared);
        assert_eq!(left, expect);
    }

    #[test]
    fn process_output() {
        let c = parse_process_output(
            br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","SessionToken":"T","Expiration":"2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "A");
        assert_eq!(c.secret_access_key.expose_secret(), "S");
        assert_eq!(c.expiration, Some(1_893_456_000));
        assert!(
            parse_process_output(br#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"S"}"#)
                .is_err()
        );
        assert!(parse_process_output(b"nope").is_err());
    }
}
