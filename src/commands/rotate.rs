//! `vault rotate PROFILE`: a new IAM access key for the keys stored under a profile, checked
//! with STS, stored in place of the old one, and then the old key deleted (aws-vault's
//! order). Until the new key is stored, a failure deletes it again and leaves the old key.

use std::time::{Duration, Instant};

use crate::cli::RotateArgs;
use crate::config::resolve::{Base, Chain};
use crate::error::{Error, Result};
use crate::store::{self, Credentials, EntryId};
use crate::sts::aws;
use crate::sts::iam::{self, Iam};
use crate::sts::plan::Options;

use super::credentials::prepare;
use super::show::mask;

/// How long a new key may take to be accepted (AWS is eventually consistent).
const NEW_KEY_WAIT: Duration = Duration::from_secs(15);

pub fn run(context: &super::Context, args: &RotateArgs) -> Result<()> {
    if let Some(code) = &args.mfa_token {
        crate::mfa::check(code, "--mfa-token")?;
    }
    let profile = args.profile.as_str();
    let mut prepared = prepare(context, profile, None)?;
    let no_keys = |store: &dyn store::Store| Error::NoKeys {
        profile: profile.to_string(),
        store: store.describe(),
    };
    if !prepared.store.list()?.has_keys(profile) {
        return Err(no_keys(prepared.store.as_ref()));
    }
    let id = EntryId::Keys {
        profile: profile.to_string(),
    };
    let Some(old) = prepared.store.get(&id)? else {
        return Err(no_keys(prepared.store.as_ref()));
    };
    // The profile on its own: its keys, no role (the top of the chain is the profile).
    let top = match prepared.chain.roles.pop() {
        Some(role) => role,
        None => prepared.chain.base.profile().clone(),
    };
    prepared.chain = Chain {
        base: Base::StoredKeys { profile: top },
        roles: Vec::new(),
    };
    super::print(&format!(
        "Rotating access key {}\n",
        mask(&old.access_key_id)
    ))?;

    // IAM refuses sessions made without MFA, so a session is only worth making with MFA.
    let has_mfa = prepared.chain.base.profile().mfa_serial().is_some();
    if !args.no_session && !has_mfa {
        crate::debug!("`{profile}` has no mfa_serial: calling IAM with its long-lived keys");
    }
    let options = Options {
        duration: None,
        no_session: args.no_session || !has_mfa,
    };
    let caller = prepared.credentials(profile, options, args.mfa_token.clone())?;

    let base = prepared.chain.base.profile();
    let region = prepared.region();
    let endpoint_url = base.get("endpoint_url");
    let iam_endpoint = iam::endpoint(endpoint_url, super::var);
    let sts_endpoint =
        aws::sts_endpoint(endpoint_url, base.get("sts_regional_endpoints"), super::var);
    crate::debug!(
        "IAM at {}",
        iam_endpoint.as_deref().unwrap_or("the default endpoint")
    );
    let iam = Iam::new(&caller, region.as_deref(), iam_endpoint.as_deref(), profile)?;
    let user = iam.user_name()?;
    crate::debug!("the keys belong to IAM user `{user}`");
    let new = iam.create_access_key(&user)?;
    super::print(&format!(
        "Created new access key {}\n",
        mask(&new.access_key_id)
    ))?;

    // Until the new key is stored, a failure deletes it again.
    let abort = |step: &'static str, cause: Error| Error::RotateAborted {
        profile: profile.to_string(),
        user: user.clone(),
        new_key: mask(&new.access_key_id),
        step,
        cause: Box::new(cause),
        cleanup: iam
            .delete_access_key(&user, &new.access_key_id)
            .err()
            .map(|e| e.to_string()),
    };
    wait_until_accepted(&new, region.as_deref(), sts_endpoint.as_deref(), profile)
        .map_err(|e| abort("check the new access key", e))?;
    prepared
        .store
        .put(&id, &new)
        .map_err(|e| abort("store the new access key", e))?;
    match store::remove_sessions(prepared.store.as_mut(), |key| key.source == profile) {
        Ok(n) => crate::debug!("cleared {n} sessions made from the old keys of `{profile}`"),
        Err(e) => crate::text::warn(format_args!(
            "the sessions made from the old key were not cleared: {e}"
        )),
    }

    iam.delete_access_key(&user, &old.access_key_id)
        .map_err(|e| Error::OldKeyNotDeleted {
            profile: profile.to_string(),
            user: user.clone(),
            old_key: mask(&old.access_key_id),
            cause: Box::new(e),
        })?;
    super::print(&format!(
        "Deleted old access key {}\nFinished rotating access key\n",
        mask(&old.access_key_id)
    ))
}

/// Waits until STS accepts `keys`, retrying with a growing pause for up to `NEW_KEY_WAIT`.
fn wait_until_accepted(
    keys: &Credentials,
    region: Option<&str>,
    endpoint: Option<&str>,
    profile: &str,
) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match aws::caller_identity(keys, region, endpoint, profile) {
            Ok(arn) => {
                crate::debug!(
                    "the new key works (`{arn}`) after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            Err(e @ Error::KeysRefused { .. }) if started.elapsed() + pause < NEW_KEY_WAIT => {
                crate::debug!("the new key is not accepted yet ({e}); again in {pause:?}");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            Err(e) => return Err(e),
        }
    }
}
