//! aws-vault's `pass` backend as a source: `<dir>/<prefix>/<key>.gpg`, each the keyring
//! `Item` JSON, decrypted by `pass show` (gpg-agent asks for the passphrase). It only reads:
//! it must not run any `pass` command that writes, nor wait on `pass` without a bound.

use std::path::Path;

use super::{Found, Kind};
use crate::error::{Error, Result};
use crate::store::pass::{self, RunError};

fn source(dir: &Path, prefix: &str) -> String {
    let shown = crate::paths::display_path(dir);
    if prefix.is_empty() {
        format!("aws-vault's pass store `{shown}`")
    } else {
        format!("aws-vault's pass store `{shown}` (prefix `{prefix}`)")
    }
}

/// Key names under `root`: relative paths of `*.gpg` files, without the suffix. Links are
/// not followed; hidden folders (`.git`) are not entered.
fn names(root: &Path, relative: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(root)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        let path = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        if kind.is_dir() {
            names(&entry.path(), &path, out)?;
        } else if kind.is_file()
            && let Some(key) = path.strip_suffix(".gpg")
        {
            out.push(key.to_string());
        }
    }
    Ok(())
}

/// Every credential under `<dir>/<prefix>`.
pub fn read(cmd: &str, dir: &Path, prefix: &str) -> Result<Vec<Found>> {
    let prefix = prefix.trim_matches('/');
    let root = if prefix.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(prefix)
    };
    let mut keys = Vec::new();
    if let Err(e) = names(&root, "", &mut keys) {
        return Err(Error::ImportSource {
            source: source(dir, prefix),
            problem: format!("cannot read `{}`: {e}", crate::paths::display_path(&root)),
            hint:
                "name the password store with `--dir` and aws-vault's prefix with `--pass-prefix`"
                    .into(),
        });
    }
    let mut found = Vec::new();
    for key in keys {
        if super::kind(&key) != Kind::Credential {
            crate::debug!("import: skipping the cached session or token `{key}`");
            continue;
        }
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}/{key}")
        };
        match pass::run(cmd, dir, &["show", "--", &name], None, pass::TIMEOUT) {
            Ok(output) if output.status.success() => {
                let bytes = zeroize::Zeroizing::new(output.stdout);
                // The name aws-vault gave the item, so that a store read without its prefix
                // (or with another) still gives the profile's name.
                match super::item_credentials(&bytes) {
                    Some((Some(name), keys)) if key.ends_with(name.as_str()) => {
                        found.push(Found::keys(&name, keys))
                    }
                    Some((_, keys)) => found.push(Found::keys(&key, keys)),
                    None => {
                        crate::debug!("import: `{key}` is not an aws-vault credential; left out")
                    }
                }
            }
            Ok(output) => found.push(Found::failed(
                &key,
                &format!("`{cmd} show` failed: {}", pass::first_line(&output)),
            )),
            Err(RunError::NotFound(cmd)) => {
                return Err(Error::ImportSource {
                    source: source(dir, prefix),
                    problem: format!("`{cmd}` is not installed (not found on PATH)"),
                    hint: "install pass (Debian: `apt install pass`), or name the command with AWS_VAULT_PASS_CMD"
                        .into(),
                });
            }
            Err(e) => found.push(Found::failed(&key, &e.to_string())),
        }
    }
    Ok(found)
}

/// The credential names under `<dir>/<prefix>`, for `vault doctor`: file names only, nothing
/// decrypted, no `pass` run. `None` when there is no such folder.
pub fn names_in(dir: &Path, prefix: &str) -> Option<std::result::Result<Vec<String>, String>> {
    let prefix = prefix.trim_matches('/');
    let root = if prefix.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(prefix)
    };
    if !std::fs::symlink_metadata(&root).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let mut keys = Vec::new();
    if let Err(e) = names(&root, "", &mut keys) {
        return Some(Err(format!(
            "cannot read `{}`: {e}",
            crate::paths::display_path(&root)
        )));
    }
    keys.retain(|key| super::kind(key) == Kind::Credential);
    Some(Ok(keys))
}
