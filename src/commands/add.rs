//! `vault add PROFILE`: store long-lived keys, clear the sessions made from the old ones,
//! and give the profile a section in the config file when it has none.

use secrecy::{ExposeSecret, SecretString};

use crate::cli::AddArgs;
use crate::config::FileKind;
use crate::config::edit::append_section;
use crate::config::profiles::is_valid_name;
use crate::error::{Error, Result};
use crate::prompt::{Prompt, Terminal};
use crate::store::{self, Credentials, EntryId};

pub fn run(context: &super::Context, args: &AddArgs) -> Result<()> {
    let profile = args.profile.as_str();
    if !is_valid_name(profile) {
        return Err(Error::BadValue {
            name: "PROFILE",
            problem: format!(
                "`{profile}` is not a valid profile name (letters, digits and -/.%@_:+ only)"
            ),
        });
    }
    let config = super::load_config()?;
    if let Some(source) = config
        .profiles
        .get(profile)
        .and_then(|p| p.get("source_profile"))
        && source != profile
    {
        return Err(Error::AddToSourcedProfile {
            profile: profile.to_string(),
            source: source.to_string(),
        });
    }
    let in_config = config
        .profiles
        .get(profile)
        .is_some_and(|p| p.origin.file == FileKind::Config);
    let add_section = !args.no_add_config && !in_config;
    if add_section {
        // Refused before the keys are asked for: nothing is stored.
        crate::config::edit::check(&config.config_path)?;
    }
    let keys = if args.env {
        keys_from_env()?
    } else {
        keys_from_terminal(&mut Terminal)?
    };
    for warning in key_warnings(&keys) {
        crate::text::warn(warning);
    }

    let mut store = context.store()?;
    let id = EntryId::Keys {
        profile: profile.to_string(),
    };
    store.put(&id, &keys)?;
    let cleared = store::remove_sessions(store.as_mut(), |key| key.source == profile)?;
    crate::debug!("cleared {cleared} sessions made from the old keys of `{profile}`");

    // `--add-config` is the default; `--no-add-config` (the last of the two given) turns it off.
    if add_section {
        append_section(&config.config_path, profile)?;
    }
    super::print(&format!(
        "Added credentials to profile \"{profile}\" in vault\n"
    ))
}

fn keys_from_env() -> Result<Credentials> {
    let get = |name: &'static str| {
        super::var(name).ok_or(Error::BadValue {
            name,
            problem:
                "missing: `--env` takes the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .to_string(),
        })
    };
    let id = get("AWS_ACCESS_KEY_ID")?;
    let secret = SecretString::from(get("AWS_SECRET_ACCESS_KEY")?);
    Ok(Credentials::keys(id.trim().to_string(), secret))
}

pub(super) fn keys_from_terminal(prompt: &mut dyn Prompt) -> Result<Credentials> {
    let id = prompt.ask("Enter Access Key ID: ", false)?;
    let secret = prompt.ask("Enter Secret Access Key: ", true)?;
    let (id, secret) = (id.trim(), secret.trim());
    if id.is_empty() || secret.is_empty() {
        return Err(Error::BadValue {
            name: "keys",
            problem: "the access key id and the secret access key must not be empty".to_string(),
        });
    }
    Ok(Credentials::keys(
        id.to_string(),
        SecretString::from(secret),
    ))
}

/// Keys that do not look like AWS long-lived keys are stored anyway (other services issue
/// other shapes), with a warning.
fn key_warnings(keys: &Credentials) -> Vec<String> {
    let mut warnings = Vec::new();
    let id = &keys.access_key_id;
    if id.starts_with("ASIA") {
        warnings.push(format!(
            "`{id}` looks like a temporary key id (ASIA...); vault expects long-lived keys (AKIA...)"
        ));
    } else if id.len() != 20 || !id.starts_with("AKIA") {
        warnings.push(format!(
            "`{id}` does not look like an AWS access key id (20 characters, AKIA...)"
        ));
    }
    if keys.secret_access_key.expose_secret().len() != 40 {
        warnings.push(
            "the secret access key is not 40 characters long, as AWS secret keys are".to_string(),
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::Scripted;

    #[test]
    fn asks_id_then_hidden_secret() {
        let mut prompt = Scripted::new(&[
            " AKIAIOSFODNN7EXAMPLE ",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ]);
        let keys = keys_from_terminal(&mut prompt).unwrap();
        assert_eq!(keys.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            prompt.asked,
            ["Enter Access Key ID: ", "Enter Secret Access Key: "]
        );
        assert!(key_warnings(&keys).is_empty());
    }

    #[test]
    fn odd_keys_warn() {
        let keys = Credentials::keys("ASIAXXXX".into(), SecretString::from("short"));
        assert_eq!(key_warnings(&keys).len(), 2);
    }
}
