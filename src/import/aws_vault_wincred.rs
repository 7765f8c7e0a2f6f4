//! aws-vault's `wincred` backend as a source: Windows Credential Manager generic credentials
//! named `aws-vault:aws-vault:<profile>`, each blob the credential JSON itself (UTF-8 bytes,
//! not UTF-16), read with the keyring crate one profile at a time (names from `by_name`).
//! Untested: no Windows where vault is tested. It only reads: it must not write or delete a
//! credential.

use super::Found;
use super::by_name::{self, Lookup};
use crate::error::{Error, Result};

pub fn source() -> String {
    "aws-vault's Windows Credential Manager entries `aws-vault:aws-vault:*` (looked up by profile name; vault's reader for them is untested)".to_string()
}

/// aws-vault's target name: `WinCredPrefix:ServiceName:key`.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn target(name: &str) -> String {
    format!("aws-vault:aws-vault:{name}")
}

/// Every credential stored under a name of `wanted`, else of a profile of the AWS files.
pub fn read(wanted: &[String]) -> Result<Vec<Found>> {
    if !cfg!(windows) {
        return Err(Error::ImportSource {
            source: source(),
            problem: "Windows Credential Manager exists only on Windows".into(),
            hint: "run the import on the Windows machine that holds aws-vault's keys".into(),
        });
    }
    let names = by_name::names(wanted)?;
    crate::debug!(
        "import: vault's reader of Credential Manager is untested; looking up {} names",
        names.len()
    );
    Ok(by_name::read(&names, lookup))
}

#[cfg(windows)]
fn lookup(name: &str) -> Lookup {
    // `new_with_target` writes nothing; `get_secret` gives the blob's bytes as stored
    // (`get_password` would read them as UTF-16).
    let entry = match keyring::Entry::new_with_target(&target(name), "aws-vault", name) {
        Ok(entry) => entry,
        Err(e) => return Lookup::Failed(format!("Credential Manager: {e}")),
    };
    match entry.get_secret() {
        Ok(bytes) => Lookup::Found(zeroize::Zeroizing::new(bytes)),
        Err(keyring::Error::NoEntry) => Lookup::Missing,
        Err(e) => Lookup::Failed(format!("Credential Manager refused: {e}")),
    }
}

#[cfg(not(windows))]
fn lookup(_: &str) -> Lookup {
    Lookup::Failed("Windows Credential Manager exists only on Windows".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn target_names_are_aws_vaults() {
        assert_eq!(super::target("team/dev"), "aws-vault:aws-vault:team/dev");
    }
}
