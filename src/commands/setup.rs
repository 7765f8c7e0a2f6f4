//! `vault setup PROFILE`: the base account in one command, and again to check it: keys
//! stored (asked as `vault add` asks), whose they are (GetCallerIdentity), the MFA device
//! found through IAM (ListMFADevices), `mfa_serial` (and `region`) written into
//! `[profile PROFILE]`, then one MFA session made and cached.
//! Must not: store keys AWS refused or that are not an IAM user's; change a config byte but
//! the keys it sets; leave a step half done: each step (keys, config, session) is whole or
//! not at all, so Ctrl-C anywhere leaves the config and the store as they were before it.

use crate::cli::SetupArgs;
use crate::config::editor;
use crate::config::profiles::is_valid_name;
use crate::error::{Error, Result};
use crate::prompt::{Prompt, Terminal};
use crate::store::{self, EntryId};
use crate::sts::aws;
use crate::sts::iam::{self, Iam};
use crate::sts::plan::Options;

use super::{Context, display_path};

/// Where to assign a device, in the words of GDS's guide.
const ASSIGN_MFA: &str = "To assign one: sign in to the AWS console, open IAM, Users, your user, the \"Security credentials\" tab, and under \"Multi-factor authentication (MFA)\" choose \"Assign MFA device\" (a virtual authenticator app works). Its ARN is shown there once assigned.";

pub fn run(context: &Context, args: &SetupArgs) -> Result<()> {
    let profile = args.profile.as_str();
    if !is_valid_name(profile) {
        return Err(Error::BadValue {
            name: "PROFILE",
            problem: format!(
                "`{profile}` is not a valid profile name (letters, digits and -/.%@_:+ only)"
            ),
        });
    }
    for (name, value) in [
        ("--region", &args.region),
        ("--mfa-serial", &args.mfa_serial),
    ] {
        if let Some(value) = value {
            editor::check_value("value", value).map_err(|e| Error::BadValue {
                name,
                problem: e.to_string(),
            })?;
        }
    }
    let config_path = crate::config::config_path(super::var);
    let edit = |error: editor::EditError| error.into_error(&config_path);
    // Refused (a link, read-only) before anything is asked or stored.
    let current = editor::read_for_edit(&config_path).map_err(edit)?;
    let config = super::load_config()?;
    let section = config.profiles.get(profile);
    if let Some(source) = section.and_then(|p| p.get("source_profile"))
        && source != profile
    {
        return Err(Error::AddToSourcedProfile {
            profile: profile.to_string(),
            source: source.to_string(),
        });
    }
    let mut changed = false;

    // 1. The keys: the stored ones, else asked for (and stored once AWS has said whose).
    let mut store = context.store()?;
    let id = EntryId::Keys {
        profile: profile.to_string(),
    };
    let stored = if store.list()?.has_keys(profile) {
        store.get(&id)?
    } else {
        None
    };
    let keys = match &stored {
        Some(keys) => keys.clone(),
        None => {
            eprintln!(
                "No keys are stored for `{}` yet: enter the IAM user's access key.",
                crate::text::printable(profile)
            );
            super::add::keys_from_terminal(&mut Terminal)?
        }
    };

    // 2. Whose keys these are.
    let region = args
        .region
        .clone()
        .or_else(|| section.and_then(|p| p.get("region")).map(str::to_string));
    let endpoint_url = section.and_then(|p| p.get("endpoint_url"));
    let sts_endpoint = aws::sts_endpoint(
        endpoint_url,
        section.and_then(|p| p.get("sts_regional_endpoints")),
        super::var,
    );
    let identity =
        iam::caller_identity_dated(&keys, region.as_deref(), sts_endpoint.as_deref(), profile)?;
    let Some(user) = user_name(&identity.arn) else {
        return Err(Error::NotIamUser {
            profile: profile.to_string(),
            arn: identity.arn,
            stored: stored.is_some(),
        });
    };
    // AWS's answer, shown escaped like any outside text.
    super::print(&crate::text::printable(&format!(
        "The keys are IAM user `{user}`'s in account {} (`{}`)\n",
        identity.account, identity.arn
    )))?;
    if stored.is_none() {
        store.put(&id, &keys)?;
        let cleared = store::remove_sessions(store.as_mut(), |key| key.source == profile)?;
        crate::debug!("cleared {cleared} old sessions of `{profile}`");
        super::print(&format!(
            "Added credentials to profile \"{profile}\" in vault\n"
        ))?;
        changed = true;
    }

    // 3. The MFA device.
    let configured = section
        .and_then(|p| p.get("mfa_serial"))
        .map(str::to_string);
    let serial = match &args.mfa_serial {
        Some(serial) => Some(serial.clone()),
        None => {
            let iam_endpoint = iam::endpoint(endpoint_url, super::var);
            let iam = Iam::new(&keys, region.as_deref(), iam_endpoint.as_deref(), profile)?;
            match iam.mfa_devices(Some(user)) {
                Ok(devices) => choose_device(user, configured.as_deref(), &devices)?,
                Err(e) => {
                    crate::text::warn(format_args!(
                        "IAM did not list the MFA devices of `{user}`: {e}"
                    ));
                    ask_device(user, configured.as_deref())?
                }
            }
        }
    };

    // 4. The config: `mfa_serial` and `region`, nothing else.
    let mut keys_to_set: Vec<(&str, &str)> = Vec::new();
    if let Some(serial) = &serial {
        keys_to_set.push(("mfa_serial", serial));
    }
    if let Some(region) = &args.region {
        keys_to_set.push(("region", region));
    }
    let in_config = section.is_some_and(|p| p.origin.file == crate::config::FileKind::Config);
    if !keys_to_set.is_empty() || !in_config {
        let (text, changes) = editor::set_keys(&current.text, profile, &keys_to_set)
            .map_err(|error| error.into_error(&config_path))?;
        if text != current.text {
            editor::write_edited(&current, &text)
                .map_err(|error| error.into_error(&config_path))?;
            let set: Vec<String> = keys_to_set
                .iter()
                .zip(&changes)
                .filter(|(_, c)| **c != editor::KeyChange::Unchanged)
                .map(|((k, v), _)| format!("{k} = {v}"))
                .collect();
            super::print(&crate::text::printable(&format!(
                "Wrote [profile {profile}] in `{}`{}\n",
                display_path(&config_path),
                if set.is_empty() {
                    String::new()
                } else {
                    format!(": {}", set.join(", "))
                }
            )))?;
            changed = true;
        }
    }

    // 5. One MFA session, cached (or the cached one, still fresh).
    if !args.no_verify {
        let mut prepared = super::credentials::prepare(context, profile, args.region.as_deref())?;
        // The length a role chained from this profile asks of it (8h unless
        // AWS_CHAINED_SESSION_TOKEN_TTL says otherwise): then the same cached session
        // serves every role sourced from it, with no second MFA code.
        let options = Options {
            duration: Some(crate::settings::ttls(super::var)?.chained_session_token),
            no_session: false,
        };
        let before = prepared.store.list()?.sessions().count();
        let session = prepared.credentials(profile, options, None)?;
        let made = prepared.store.list()?.sessions().count() != before;
        let left = session
            .seconds_left(store::now())
            .map(|s| crate::doctor::short(std::time::Duration::from_secs(s.max(0) as u64)))
            .unwrap_or_else(|| "-".to_string());
        super::print(&format!(
            "{} session for `{profile}` ({left} left)\n",
            if made {
                "Cached a new"
            } else {
                "Using the cached"
            },
        ))?;
        changed |= made;
    }
    if changed {
        super::print(
            "\nNext:\n  vault config add-role NAME --role-arn arn:aws:iam::ACCOUNT:role/ROLE   # one role\n  vault config sync team.ini                                              # your team's list\n  vault exec NAME -- aws sts get-caller-identity\n",
        )
    } else {
        super::print(&crate::text::printable(&format!(
            "`{profile}` is set up already: keys stored, `mfa_serial` {}, nothing changed\n",
            serial
                .as_deref()
                .map(|s| format!("`{s}`"))
                .unwrap_or_else(|| "not set".to_string())
        )))
    }
}

/// `jane` from `arn:aws:iam::123456789012:user/path/jane`; `None` for anything that is not
/// an IAM user (root, an assumed role, a federated user).
pub fn user_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let path = resource.strip_prefix("user/")?;
    path.rsplit('/').next().filter(|name| !name.is_empty())
}

/// The device to use: the only one, the configured one when it is among several, else
/// asked; with none, the guide's words and a question.
fn choose_device(
    user: &str,
    configured: Option<&str>,
    devices: &[String],
) -> Result<Option<String>> {
    match devices {
        [] => {
            eprintln!(
                "No MFA device is assigned to IAM user `{}`.",
                crate::text::printable(user)
            );
            ask_device(user, configured)
        }
        [one] => {
            eprintln!("MFA device: `{}`", crate::text::printable(one));
            Ok(Some(one.clone()))
        }
        several => {
            if let Some(configured) = configured.filter(|c| several.iter().any(|d| d == c)) {
                eprintln!(
                    "MFA device: `{}` (already set)",
                    crate::text::printable(configured)
                );
                return Ok(Some(configured.to_string()));
            }
            let mut prompt = Terminal;
            let mut list = format!("IAM user `{user}` has {} MFA devices:", several.len());
            for (i, device) in several.iter().enumerate() {
                list.push_str(&format!("\n  {}. {device}", i + 1));
            }
            drop(prompt.notice(&list));
            loop {
                let question = format!("Which one? (1-{}): ", several.len());
                let answer = prompt.ask(&question, false)?;
                match answer.trim().parse::<usize>() {
                    Ok(n) if (1..=several.len()).contains(&n) => {
                        return Ok(Some(several[n - 1].clone()));
                    }
                    _ => drop(prompt.notice(&format!("type a number from 1 to {}", several.len()))),
                }
            }
        }
    }
}

/// The ARN of a device IAM did not list, or none.
fn ask_device(_user: &str, configured: Option<&str>) -> Result<Option<String>> {
    let mut prompt = Terminal;
    drop(prompt.notice(ASSIGN_MFA));
    let question = match configured {
        Some(c) => format!("MFA device ARN (Enter keeps `{c}`): "),
        None => "MFA device ARN (Enter goes on without MFA): ".to_string(),
    };
    let answer = prompt.ask(&question, false)?;
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(configured.map(str::to_string));
    }
    editor::check_value("mfa_serial", answer).map_err(|e| Error::BadValue {
        name: "mfa_serial",
        problem: e.to_string(),
    })?;
    Ok(Some(answer.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_iam_users_have_a_user_name() {
        assert_eq!(
            user_name("arn:aws:iam::123456789012:user/jane"),
            Some("jane")
        );
        assert_eq!(
            user_name("arn:aws:iam::123456789012:user/ops/jane"),
            Some("jane")
        );
        assert_eq!(user_name("arn:aws:iam::123456789012:root"), None);
        assert_eq!(
            user_name("arn:aws:sts::123456789012:assumed-role/admin/s"),
            None
        );
        assert_eq!(
            user_name("arn:aws:sts::123456789012:federated-user/x"),
            None
        );
    }
}
