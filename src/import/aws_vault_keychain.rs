//! aws-vault's macOS Keychain as a source: generic passwords with service `aws-vault` and
//! account = profile in the keychain file `~/Library/Keychains/aws-vault.keychain-db`, each
//! the credential JSON itself. Read with `security find-generic-password -w`, one profile at a
//! time (names from `by_name`): the secret comes on its stdout, never in argv. macOS asks once
//! per item, since aws-vault wrote them untrusted. Untested: no macOS where vault is tested.
//! It only reads: it must not run a `security` command that changes a keychain.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Found;
use super::by_name::{self, Lookup};
use crate::error::{Error, Result};

/// `security`'s exit status for "The specified item could not be found in the keychain".
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
const NOT_FOUND: i32 = 44;

pub fn source() -> String {
    "aws-vault's macOS Keychain `aws-vault.keychain-db` (looked up by profile name; vault's reader for it is untested)"
        .to_string()
}

/// aws-vault's keychain file under `home`: `.keychain-db` since macOS 10.12, `.keychain`
/// before.
pub fn keychain_path(home: &Path) -> PathBuf {
    let dir = home.join("Library/Keychains");
    let modern = dir.join("aws-vault.keychain-db");
    let old = dir.join("aws-vault.keychain");
    if !modern.exists() && old.exists() {
        old
    } else {
        modern
    }
}

/// What `security find-generic-password -w` said: the password and a newline on stdout,
/// exit 44 when there is no such item. (Unit-tested everywhere, called on macOS only.)
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub fn interpret(code: Option<i32>, stdout: Vec<u8>, stderr: &[u8]) -> Lookup {
    let mut stdout = Zeroizing::new(stdout);
    match code {
        Some(0) => {
            if stdout.last() == Some(&b'\n') {
                stdout.pop();
            }
            Lookup::Found(stdout)
        }
        Some(NOT_FOUND) => Lookup::Missing,
        _ => {
            let why = String::from_utf8_lossy(stderr);
            let why = why.lines().map(str::trim).find(|l| !l.is_empty());
            Lookup::Failed(format!(
                "`security` could not read it: {}",
                why.unwrap_or("no reason given")
            ))
        }
    }
}

/// Every credential stored under a name of `wanted`, else of a profile of the AWS files.
pub fn read(wanted: &[String]) -> Result<Vec<Found>> {
    let home = dirs::home_dir().unwrap_or_default();
    let path = keychain_path(&home);
    if !cfg!(target_os = "macos") {
        return Err(Error::ImportSource {
            source: source(),
            problem: "the macOS Keychain exists only on macOS".into(),
            hint: "run the import on the Mac that holds aws-vault's keychain".into(),
        });
    }
    if !path.exists() {
        return Err(Error::ImportSource {
            source: source(),
            problem: format!(
                "there is no keychain file `{}`",
                crate::paths::display_path(&path)
            ),
            hint: "if aws-vault used another store, name it with `--from` (e.g. `--from file`)"
                .into(),
        });
    }
    let names = by_name::names(wanted)?;
    crate::debug!(
        "import: vault's reader of the macOS Keychain is untested; looking up {} names",
        names.len()
    );
    Ok(by_name::read(&names, |name| lookup(&path, name)))
}

#[cfg(target_os = "macos")]
fn lookup(path: &Path, name: &str) -> Lookup {
    use crate::store::pass::{self, RunError};
    let keychain = path.to_string_lossy();
    let args = [
        "find-generic-password",
        "-s",
        "aws-vault",
        "-a",
        name,
        "-w",
        keychain.as_ref(),
    ];
    // pass's runner: stdin null, output captured, a time limit (the person may be looking at
    // the Keychain's "allow access" dialog). It also sets PASSWORD_STORE_DIR, which
    // `security` ignores.
    let dir = path.parent().unwrap_or(path);
    match pass::run("security", dir, &args, None, pass::TIMEOUT) {
        Ok(output) => interpret(output.status.code(), output.stdout, &output.stderr),
        Err(RunError::TimedOut) => {
            Lookup::Failed("the Keychain did not answer in time (was a dialog left open?)".into())
        }
        Err(e) => Lookup::Failed(e.to_string()),
    }
}

#[cfg(not(target_os = "macos"))]
fn lookup(_: &Path, _: &str) -> Lookup {
    Lookup::Failed("the macOS Keychain exists only on macOS".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_security_says() {
        let json = br#"{"AccessKeyID":"AKIAK","SecretAccessKey":"s"}"#;
        let mut out = json.to_vec();
        out.push(b'\n');
        match interpret(Some(0), out, b"") {
            Lookup::Found(bytes) => assert_eq!(&bytes[..], &json[..]),
            _ => panic!("not found"),
        }
        assert!(matches!(
            interpret(Some(44), Vec::new(), b"security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n"),
            Lookup::Missing
        ));
        match interpret(
            Some(51),
            Vec::new(),
            b"\nUser interaction is not allowed.\n",
        ) {
            Lookup::Failed(why) => assert_eq!(
                why,
                "`security` could not read it: User interaction is not allowed."
            ),
            _ => panic!("not a failure"),
        }
    }

    #[test]
    fn prefers_the_modern_keychain_file() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("Library/Keychains");
        assert!(keychain_path(home.path()).ends_with("aws-vault.keychain-db"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("aws-vault.keychain"), b"").unwrap();
        assert!(keychain_path(home.path()).ends_with("aws-vault.keychain"));
        std::fs::write(dir.join("aws-vault.keychain-db"), b"").unwrap();
        assert!(keychain_path(home.path()).ends_with("aws-vault.keychain-db"));
    }
}
