//! Sources read one name at a time (the macOS Keychain through `security`, Windows
//! Credential Manager through the keyring crate): which names to look for, and what each
//! lookup gave. The names are the `--profile`s given, else every profile of the AWS config
//! and credentials files, since these sources are not listed. Platform-neutral: nothing here
//! touches a store, and nothing here imports from `commands/` or `cli.rs`, the rooms above it.

use zeroize::Zeroizing;

use super::Found;
use crate::config::ProfileSet;
use crate::error::Result;

/// What one lookup in a store gave. (Only the macOS and Windows lookups find anything.)
#[cfg_attr(not(any(target_os = "macos", windows)), allow(dead_code))]
pub enum Lookup {
    /// The stored bytes (aws-vault's credential JSON, if it is one).
    Found(Zeroizing<Vec<u8>>),
    /// No item of that name: most profiles (roles, SSO) have none.
    Missing,
    /// The store did not answer, or refused; why, without the secret.
    Failed(String),
}

/// The names to look for: `wanted`, else every profile of the AWS files.
pub fn names(wanted: &[String]) -> Result<Vec<String>> {
    if !wanted.is_empty() {
        let mut names = wanted.to_vec();
        names.sort();
        names.dedup();
        return Ok(names);
    }
    let config = crate::config::load_from_env()?;
    Ok(names_in(&config.profiles))
}

/// Every profile name, sorted, once.
pub fn names_in(profiles: &ProfileSet) -> Vec<String> {
    let mut names: Vec<String> = profiles.profiles().iter().map(|p| p.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// Looks each name up; missing items, sessions, tokens and payloads that are not aws-vault's
/// credential JSON are left out.
pub fn read(names: &[String], mut lookup: impl FnMut(&str) -> Lookup) -> Vec<Found> {
    let mut found = Vec::new();
    for name in names {
        if super::kind(name) != super::Kind::Credential {
            continue;
        }
        match lookup(name) {
            Lookup::Found(bytes) => found.extend(super::raw_found(name, &bytes)),
            Lookup::Missing => crate::debug!("import: no item for `{name}`"),
            Lookup::Failed(why) => found.push(Found::failed(name, &why)),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;

    #[test]
    fn names_come_from_both_files() {
        let config = parse(
            "[default]\n[profile dev]\nregion = eu-west-1\n[profile team/b]\n[sso-session s]\n",
        )
        .unwrap();
        let credentials = parse("[dev]\n[plain]\n").unwrap();
        let profiles = ProfileSet::new(&config, &credentials);
        assert_eq!(
            names_in(&profiles),
            ["default", "dev", "plain", "team/b"].map(String::from)
        );
        assert_eq!(
            names(&["b".into(), "a".into(), "b".into()]).unwrap(),
            ["a", "b"].map(String::from)
        );
    }

    #[test]
    fn keeps_credentials_and_names_failures() {
        let v2 = br#"{"AccessKeyID":"AKIAV2","SecretAccessKey":"s","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}"#;
        let names = ["a", "b", "c", "d", "oidc:https://x"].map(String::from);
        let mut asked = Vec::new();
        let found = read(&names, |name| {
            asked.push(name.to_string());
            match name {
                "a" => Lookup::Found(Zeroizing::new(v2.to_vec())),
                "b" => Lookup::Missing,
                "c" => Lookup::Failed("locked".into()),
                _ => Lookup::Found(Zeroizing::new(b"not json".to_vec())),
            }
        });
        assert_eq!(asked, ["a", "b", "c", "d"]);
        let shown: Vec<_> = found
            .iter()
            .map(|f| match &f.keys {
                Ok(keys) => format!("{}={}", f.name, keys.access_key_id),
                Err(why) => format!("{}: {why}", f.name),
            })
            .collect();
        assert_eq!(shown, ["a=AKIAV2", "c: locked"]);
    }
}
